#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# convergence.sh [BIN_DIR] [AGENTS] [ROUNDS]: AGENTS (20) agents in as many
# namespaces; ROUNDS (10) times, a change that touches all of them: a new node
# joins (every agent gets a new peer), then it is deleted (every agent drops
# it). Each change is timed from the triggering command until every one of
# the AGENTS reports the new revision applied, by polling `netfnctl --json
# node list` every ~20 ms. Anchor: the same peer change pushed by this script
# with `wg set` into the AGENTS wireguard-go devices one after the other.
# Prints p50/p99 of both and their ratio, then the memory figures of rss.sh.
# Figures only; nothing is asserted.
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh" "${1:-}"
agents=${2:-20}
rounds=${3:-10}

ctl_start
net_create bench 10.150.0.0/16
step "$agents agents join"
fleet bench "$agents" a
fleet_names=()
for ((i = 1; i <= agents; i++)); do
	fleet_names+=("a$i")
done
names_json=$(printf '%s\n' "${fleet_names[@]}" | jq -R . | jq -s .)

# desired_now: {name: desired revision} of the fleet right now.
desired_now() {
	nfctl --json node list --network bench |
		jq -c --argjson n "$names_json" '[.[] | select(.name as $x | $n | index($x)) |
			{key: .name, value: .desired_revision}] | from_entries'
}

# wait_applied BEFORE: polls until every fleet node's desired revision has
# moved past the one in BEFORE and its applied revision equals it.
wait_applied() {
	local before=$1 end=$(($(now_ms) + 60000))
	while :; do
		if nfctl --json node list --network bench |
			jq -e --argjson n "$names_json" --argjson b "$before" '
				[.[] | select(.name as $x | $n | index($x))] as $f |
				($f | length) == ($n | length) and
				all($f[]; .desired_revision > $b[.name] and
					.applied_revision == .desired_revision)' >/dev/null; then
			return 0
		fi
		(($(now_ms) < end)) || fail "the fleet did not converge within 60 s"
		sleep 0.02
	done
}

join_ms=()
del_ms=()
for ((r = 1; r <= rounds; r++)); do
	vm_create "n$r"
	token=$(token_new bench)
	before=$(desired_now)
	t0=$(now_ms)
	agent_join "n$r" "$token"
	wait_applied "$before"
	join_ms+=($(($(now_ms) - t0)))

	before=$(desired_now)
	t0=$(now_ms)
	nfctl node delete "n$r" >/dev/null 2>&1 || fail "node delete n$r failed"
	wait_applied "$before"
	del_ms+=($(($(now_ms) - t0)))
	agent_stop "n$r" TERM || true
	log "round $r: join converged in ${join_ms[-1]} ms, delete in ${del_ms[-1]} ms"
done

step "anchor: the same peer change with 'wg set', sequentially into $agents devices"
add_ms=()
rm_ms=()
for ((r = 1; r <= rounds; r++)); do
	key=$(wg genkey | wg pubkey)
	t0=$(now_ms)
	for v in "${fleet_names[@]}"; do
		vm_exec "$v" wg set "$(vm_if "$v")" peer "$key" endpoint "$NF_UNDERLAY.250:$NF_WG_PORT" \
			allowed-ips "10.150.255.$r/32"
	done
	add_ms+=($(($(now_ms) - t0)))
	t0=$(now_ms)
	for v in "${fleet_names[@]}"; do
		vm_exec "$v" wg set "$(vm_if "$v")" peer "$key" remove
	done
	rm_ms+=($(($(now_ms) - t0)))
done

all=("${join_ms[@]}" "${del_ms[@]}")
anc=("${add_ms[@]}" "${rm_ms[@]}")
printf '\nconvergence: %d agents, %d rounds of join + delete (poll interval ~20 ms)\n' \
	"$agents" "$rounds"
printf '  join   -> all applied: p50 %5d ms  p99 %5d ms\n' \
	"$(percentile 50 "${join_ms[@]}")" "$(percentile 99 "${join_ms[@]}")"
printf '  delete -> all applied: p50 %5d ms  p99 %5d ms\n' \
	"$(percentile 50 "${del_ms[@]}")" "$(percentile 99 "${del_ms[@]}")"
printf '  anchor, wg set x%d sequential (add, remove): p50 %5d ms  p99 %5d ms\n' "$agents" \
	"$(percentile 50 "${anc[@]}")" "$(percentile 99 "${anc[@]}")"
printf '  ratio netfn/anchor: p50 %s  p99 %s\n' \
	"$(ratio "$(percentile 50 "${all[@]}")" "$(percentile 50 "${anc[@]}")")" \
	"$(ratio "$(percentile 99 "${all[@]}")" "$(percentile 99 "${anc[@]}")")"

source "$(dirname "$0")/rss.sh" --report-only
