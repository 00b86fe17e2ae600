#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The whole test suite, as CI runs it (.ci/run): installs the dependencies,
# builds build/ (normal) and build-san/ (ASan + UBSan), checks the formatting
# of every C file, and runs ctest in both trees: unit tests and the
# end-to-end scenarios in network namespaces (as root). Every stage runs even
# when an earlier one failed, so one run reports everything; the exit status
# is non-zero if anything failed.
#
# Environment: JOBS (parallel build jobs, default nproc), NETFN_TEST_SKIP_SAN=1
# to skip the sanitizer tree, CTEST_ARGS (extra ctest arguments, e.g. "-L unit").
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
jobs=${JOBS:-$(nproc)}
failed=()
t_start=$SECONDS

stage() {
	printf '\n==== %s (%ds)\n' "$*" $((SECONDS - t_start))
}

stage "dependencies"
bash scripts/deps.sh || {
	echo "test.sh: installing dependencies failed" >&2
	exit 1
}

stage "formatting (clang-format --dry-run -Werror)"
# Tracked files, plus new ones not ignored: a fresh clone checks what is committed.
mapfile -t cfiles < <(git ls-files --cached --others --exclude-standard -- '*.c' '*.h' 2>/dev/null ||
	find . -path ./build\* -prune -o \( -name '*.c' -o -name '*.h' \) -print)
if ((${#cfiles[@]})); then
	if clang-format --dry-run -Werror "${cfiles[@]}"; then
		echo "${#cfiles[@]} files formatted"
	else
		failed+=(format)
	fi
fi

# build DIR CMAKE_ARGS...: configures and builds one tree.
build() {
	local dir=$1
	shift
	stage "build $dir $*"
	cmake -S . -B "$dir" "$@" && cmake --build "$dir" -j "$jobs"
}

# run_ctest DIR: unit tests in parallel, end-to-end scenarios one at a time (RUN_SERIAL).
run_ctest() {
	local dir=$1
	stage "ctest $dir"
	# shellcheck disable=SC2086 # CTEST_ARGS is a list of words
	ctest --test-dir "$dir" --output-on-failure -j "$jobs" ${CTEST_ARGS:-}
}

if build build -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
	run_ctest build || failed+=(ctest-build)
else
	failed+=(build)
fi

if [[ ${NETFN_TEST_SKIP_SAN:-0} != 1 ]]; then
	# Any sanitizer report fails the process; the e2e harness also collects them
	# (log_path) and fails the scenario. LeakSanitizer works inside namespaces as root.
	export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:print_summary=1
	export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
	# NETFN_OVS_DIR: the sanitizer tree links build/'s libopenvswitch.a instead of building it again.
	if build build-san -DCMAKE_BUILD_TYPE=Debug -DNETFN_SANITIZE=ON \
		-DNETFN_OVS_DIR="$PWD/build/openvswitch"; then
		run_ctest build-san || failed+=(ctest-build-san)
	else
		failed+=(build-san)
	fi
fi

stage "done"
if ((${#failed[@]})); then
	echo "test.sh: FAILED: ${failed[*]} ($((SECONDS - t_start)) s)" >&2
	exit 1
fi
echo "test.sh: all passed ($((SECONDS - t_start)) s)"
