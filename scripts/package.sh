#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Builds the Debian packages netfn-controller and netfn-agent: configures and
# builds the tree (RelWithDebInfo, as scripts/test.sh does), runs CPack's DEB
# generator in it, and prints the paths of the .deb files, one per line (the
# build's own output goes to stderr). Run from anywhere; needs dpkg-dev for
# dpkg-shlibdeps (scripts/deps.sh installs it).
#
#   bash scripts/package.sh [BUILD_DIR]      # default: build
#
# Environment: JOBS (parallel build jobs, default nproc); NETFN_PKG_VERSION
# overrides the project's version (the package test builds a higher one to
# test upgrades).
set -euo pipefail

cd "$(dirname "$0")/.."
dir=$(realpath -m "${1:-build}")
jobs=${JOBS:-$(nproc)}
cpack_args=(-G DEB -B "$dir")
[[ -z ${NETFN_PKG_VERSION:-} ]] || cpack_args+=(-D "CPACK_PACKAGE_VERSION=$NETFN_PKG_VERSION")

{
	cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build "$dir" -j "$jobs"
} >&2
log=$(cd "$dir" && cpack "${cpack_args[@]}" 2>&1) || {
	printf '%s\n' "$log" >&2
	echo "package.sh: cpack failed" >&2
	exit 1
}
printf '%s\n' "$log" >&2
# CPack says "CPack: - package: PATH generated." for each one.
sed -n 's/^CPack: - package: \(.*\) generated\.$/\1/p' <<<"$log"
