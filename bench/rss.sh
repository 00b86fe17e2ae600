#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# rss.sh [BIN_DIR] [AGENTS]: memory with AGENTS (20) agents in as many
# namespaces, all converged: the VmRSS of each agent (min, median, max) and of
# the controller, against the anchor of one wireguard-go process (the
# userspace WireGuard each agent drives). Prints the figures and ratios.
# convergence.sh sources this file with --report-only at its end.
# Figures only; nothing is asserted.

# report: prints the memory figures for the running fleet (fleet_names).
rss_report() {
	local v pid agent_kb=() wg_kb=() ctl_kb
	for v in "${fleet_names[@]}"; do
		agent_kb+=("$(rss_kb "${NF_AGENT_PID[$v]}")")
		pid=$(wg_go_pid "$v") && wg_kb+=("$(rss_kb "$pid")")
	done
	ctl_kb=$(rss_kb "$NF_CTL_PID")
	local am wm
	am=$(median "${agent_kb[@]}")
	wm=$(median "${wg_kb[@]}")
	printf '\nrss: %d agents converged (VmRSS, KiB)\n' "${#fleet_names[@]}"
	printf '  agent:        median %6d  min %6d  max %6d\n' "$am" \
		"$(percentile 1 "${agent_kb[@]}")" "$(percentile 100 "${agent_kb[@]}")"
	printf '  controller:   %6d\n' "$ctl_kb"
	printf '  anchor, one wireguard-go: median %6d  (of %d)\n' "$wm" "${#wg_kb[@]}"
	printf '  ratio agent/wireguard-go: %s   controller/wireguard-go: %s\n' \
		"$(ratio "$am" "$wm")" "$(ratio "$ctl_kb" "$wm")"
}

if [[ ${1:-} == --report-only ]]; then
	rss_report
	return 0 2>/dev/null || exit 0
fi

# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh" "${1:-}"
agents=${2:-20}

ctl_start
net_create bench 10.150.0.0/16
step "$agents agents join"
fleet bench "$agents" a
fleet_names=()
for ((i = 1; i <= agents; i++)); do
	fleet_names+=("a$i")
done
rss_report
