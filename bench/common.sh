# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Shared by the benchmarks: sources the end-to-end harness (namespaces,
# controller, agents, cleanup) with bench-sized limits, and adds a few
# statistics helpers. Usage, from bench/NAME.sh:
#   source "$(dirname "$0")/common.sh" "${1:-}"      # $1: bin dir (default build/bin)
# Benchmarks print figures; they never assert timings.

NF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NF_TEST=${NF_TEST:-$(basename "$0" .sh)}
NF_E2E_LOGS=${NF_E2E_LOGS:-$NF_ROOT/build/bench-logs}
NF_TIME_LIMIT=${NF_TIME_LIMIT:-1200}
# shellcheck source=tests/e2e/lib.sh
source "$NF_ROOT/tests/e2e/lib.sh" "${1:-$NF_ROOT/build/bin}"

now_ms() {
	_now_ms
}

# median N...: the median of integers (the lower middle for an even count).
median() {
	printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}

# percentile P N...: nearest-rank percentile of integers.
percentile() {
	local p=$1
	shift
	printf '%s\n' "$@" | sort -n |
		awk -v p="$p" '{v[NR] = $1} END {r = int((p * NR + 99) / 100); if (r < 1) r = 1; print v[r]}'
}

# ratio A B: A / B with two decimals.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'
}

# rss_kb PID: the process's resident set, in KiB.
rss_kb() {
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}

# wg_go_pid NAME: the wireguard-go process serving VM NAME's interface.
wg_go_pid() {
	local pid
	for pid in $(ip netns pids "$(vm_ns "$1")"); do
		[[ $(cat "/proc/$pid/comm" 2>/dev/null) == wireguard-go ]] || continue
		tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qw -- "$(vm_if "$1")" || continue
		echo "$pid"
		return 0
	done
	return 1
}

# fleet NETWORK N PREFIX: N VMs PREFIX1..PREFIXN joined to NETWORK, converged.
fleet() {
	local net=$1 n=$2 prefix=$3 i
	for ((i = 1; i <= n; i++)); do
		vm_create "$prefix$i"
		agent_join "$prefix$i" "$(token_new "$net")"
	done
	for ((i = 1; i <= n; i++)); do
		node_wait_converged "$prefix$i" 120
	done
}
