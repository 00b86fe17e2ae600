# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Helpers of the package tests (tests/pkg/*.sh), sourced after tests/e2e/lib.sh
# (which gives them log/step/fail/assert, the work dir, the watchdog and the
# cleanup) as
#   source "$(dirname "$0")/lib.sh" "$BUILD_DIR"
#
# - pkg_build DIR [VERSION]: the .debs of this build tree, made by CPack.
# - root_make DIR: a clean Debian 12 root (debootstrap --variant=minbase, plus
#   systemd, which every real Debian VM has and `systemd-analyze verify`
#   needs). debootstrap runs once per build tree: the root is cached as a
#   tarball in $BUILD/tests/pkg-cache/, and so are the .debs apt downloads.
# - in_root DIR CMD...: CMD chrooted in DIR, with /proc mounted in a private
#   mount namespace, so no mount outlives CMD or shows outside it.
#
# Everything needs root and the Debian mirror ($NETFN_DEBIAN_MIRROR, default
# http://deb.debian.org/debian).

NF_BUILD=$(cd "${1:?usage: lib.sh BUILD_DIR}" && pwd)
NF_PKG_CACHE=$NF_BUILD/tests/pkg-cache
NF_MIRROR=${NETFN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
NF_SUITE=bookworm
# The options cloud-init gives apt-get on Debian (cloudinit/distros/debian.py).
# shellcheck disable=SC2034 # for the scripts that source this
NF_CLOUD_APT=(apt-get --option=Dpkg::Options::=--force-confold
	--option=Dpkg::options::=--force-unsafe-io --assume-yes --quiet)

for _p in cpack debootstrap dpkg-deb systemd-analyze setpriv unshare python3; do
	command -v "$_p" >/dev/null || fail "'$_p' is missing: run scripts/deps.sh"
done
unset _p

# pkg_version: the version this tree's packages get (the project's).
pkg_version() {
	sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$NF_BUILD/CPackConfig.cmake"
}

# pkg_build DIR [VERSION]: builds the .debs of this tree into DIR (CPack; the
# build itself must be done), at VERSION if given. Prints nothing.
pkg_build() {
	local dir=$1 args=(-G DEB -B "$1" --config "$NF_BUILD/CPackConfig.cmake")
	[[ -z ${2:-} ]] || args+=(-D "CPACK_PACKAGE_VERSION=$2")
	mkdir -p "$dir"
	(cd "$NF_BUILD" && cpack "${args[@]}") >>"$NF_LOGS/cpack.log" 2>&1 ||
		fail "cpack failed: $(tail -n 20 "$NF_LOGS/cpack.log")"
	rm -rf "$dir/_CPack_Packages"
}

# _root_cache: makes the cached root tarball, NF_ROOT_TAR, if it is missing
# (under a lock, so two tests never debootstrap into the same place).
NF_ROOT_TAR=$NF_PKG_CACHE/$NF_SUITE-minbase.tar
_root_cache() {
	local tar=$NF_ROOT_TAR tmp _lock
	mkdir -p "$NF_PKG_CACHE/archives"
	exec {_lock}>"$NF_PKG_CACHE/lock"
	flock "$_lock"
	if [[ ! -s $tar ]]; then
		tmp=$NF_PKG_CACHE/root.tmp
		rm -rf "$tmp"
		log "debootstrap --variant=minbase --include=systemd $NF_SUITE (once per build tree)"
		debootstrap --variant=minbase --include=systemd "$NF_SUITE" "$tmp" "$NF_MIRROR" \
			>>"$NF_LOGS/debootstrap.log" 2>&1 ||
			fail "debootstrap failed (mirror $NF_MIRROR): $(tail -n 5 "$NF_LOGS/debootstrap.log")"
		rm -f "$tmp"/var/cache/apt/archives/*.deb
		tar -C "$tmp" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
		rm -rf "$tmp"
	fi
	exec {_lock}>&-
}

# root_make DIR: a fresh copy of the clean root in DIR, with apt's package
# cache primed from earlier runs and services kept from starting (no init runs
# in a chroot; policy-rc.d is what Debian's image builders use for that).
root_make() {
	local dir=$1
	_root_cache
	mkdir -p "$dir"
	tar -C "$dir" -xf "$NF_ROOT_TAR"
	cp -a "$NF_PKG_CACHE/archives/." "$dir/var/cache/apt/archives/" 2>/dev/null || true
	printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
	chmod 0755 "$dir/usr/sbin/policy-rc.d"
	# Some runs take minutes: apt must not decide the lists are too old to trust.
	echo 'Acquire::Check-Valid-Until "false";' >"$dir/etc/apt/apt.conf.d/99netfn-test"
}

# root_save_archives DIR: keeps the .debs apt downloaded into DIR for the next run.
root_save_archives() {
	cp -an "$1"/var/cache/apt/archives/*.deb "$NF_PKG_CACHE/archives/" 2>/dev/null || true
}

# in_root DIR CMD...: runs CMD inside DIR (chroot), /proc mounted for it alone.
in_root() {
	local dir=$1
	shift
	# shellcheck disable=SC2016 # $0, $1 and $@ of the inner shell
	unshare -m --propagation private sh -c \
		'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$dir" \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C \
		DEBIAN_FRONTEND=noninteractive "$@"
}

# unit_value DIR UNIT KEY: the value of KEY= in the installed unit file.
unit_value() {
	sed -n "s/^$3=//p" "$1/lib/systemd/system/$2" | tail -n 1
}

# unit_caps DIR UNIT: the unit's CapabilityBoundingSet as setpriv wants it
# ("-all,+net_admin"), to run a program with what the unit would give it.
unit_caps() {
	local caps c out=-all
	caps=$(unit_value "$1" "$2" CapabilityBoundingSet)
	for c in $caps; do
		c=${c#CAP_}
		out+=",+${c,,}"
	done
	echo "$out"
}

# stat_is DIR PATH OWNER:GROUP MODE: PATH in the root has this owner and mode
# (names resolved inside the root).
stat_is() {
	local got want="$3 $4"
	got=$(in_root "$1" stat -c '%U:%G %a' "$2" 2>&1) || fail "$2: $got"
	[[ $got == "$want" ]] || fail "$2: owner and mode are '$got', expected '$want'"
}

# hashes DIR PATH...: sha256 of each file (inside the root), one line each.
hashes() {
	local dir=$1 p
	shift
	for p in "$@"; do
		[[ -f $dir$p ]] || fail "$p is missing"
		sha256sum "$dir$p" | sed "s|$dir||"
	done
}
