#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Mesh: four VMs join with tokens and every ordered pair pings over the
# overlay; a fifth joins later and is reachable from all the others within
# 10 s with no other change; a deleted node becomes unreachable and its peer
# entry disappears from every other VM's WireGuard interface.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"

ctl_start
net_create prod 10.100.0.0/24

step "four VMs join"
for v in vm1 vm2 vm3 vm4; do
	vm_create "$v"
	agent_join "$v" "$(token_new prod)"
done
for v in vm1 vm2 vm3 vm4; do
	node_wait_converged "$v" 60
done

step "overlay addresses come from 10.100.0.0/24, lowest free first, all distinct"
declare -A addr=()
for v in vm1 vm2 vm3 vm4; do
	addr[$v]=$(overlay_addr "$v")
	log "  $v: ${addr[$v]}"
done
sorted=$(printf '%s\n' "${addr[@]}" | sort -t. -k4,4n | tr '\n' ' ')
assert_eq "$sorted" "10.100.0.1 10.100.0.2 10.100.0.3 10.100.0.4 " "overlay addresses of 4 nodes"
assert_eq "$(nfctl --json network show prod | jq -r .nodes)" 4 "network show prod: nodes"

step "each VM's interface has the address and the 3 other nodes as peers"
for v in vm1 vm2 vm3 vm4; do
	a=$(vm_exec "$v" ip -4 -o addr show dev "$(vm_if "$v")")
	grep -qF " ${addr[$v]}/24 " <<<"$a" || fail "$v: $(vm_if "$v") lacks ${addr[$v]}/24: $a"
	peers=$(wg_peers "$v")
	assert_eq "$(wc -l <<<"$peers")" 3 "$v: number of WireGuard peers"
	for w in vm1 vm2 vm3 vm4; do
		[[ $v != "$w" ]] || continue
		key=$(node_field "$w" .wg_public_key)
		grep -qxF "$key" <<<"$peers" || fail "$v lacks $w's key $key among its peers: $peers"
	done
done

step "every ordered pair pings over the overlay"
ping_mesh vm1 vm2 vm3 vm4

step "the controller sees each node's peers, with handshakes"
peers_reported() {
	node_json vm1 | jq -e '(.peers | length) == 3 and all(.peers[]; .last_handshake > 0)'
}
wait_for 30 "vm1's 3 peers with handshakes in 'node show vm1'" peers_reported

step "a fifth VM joins and is reachable from all within 10 s"
vm_create vm5
t0=$(_now_ms)
agent_join vm5 "$(token_new prod)"
wait_for 10 "vm5 to get an overlay address" overlay_addr vm5
a5=$(overlay_addr vm5)
assert_eq "$a5" 10.100.0.5 "vm5's overlay address"
for v in vm1 vm2 vm3 vm4; do
	left=$((10 - ($(_now_ms) - t0) / 1000))
	((left > 0)) || left=1
	wait_for "$left" "$v to reach vm5 ($a5) within 10 s of vm5's agent start" vm_ping "$v" "$a5"
done
log "vm5 reachable from vm1..vm4 $(($(_now_ms) - t0)) ms after its agent started"
ping_mesh vm1 vm2 vm3 vm4 vm5
node_wait_converged vm5 30

step "vm3 is deleted: unreachable, and gone from every other VM's peers"
key3=$(node_field vm3 .wg_public_key)
a3=${addr[vm3]}
assert_ok "node delete vm3" nfctl node delete vm3
assert_api_error NOT_FOUND - nfctl node show vm3
peer_gone() {
	local p
	p=$(wg_peers "$1") && ! grep -qxF "$2" <<<"$p"
}
for v in vm1 vm2 vm4 vm5; do
	wait_for 20 "vm3's key to leave $v's peers" peer_gone "$v" "$key3"
	assert_eq "$(wg_peers "$v" | wc -l)" 3 "$v: peers after vm3's deletion"
done
for v in vm1 vm2 vm4 vm5; do
	assert_fails "$v must not reach deleted vm3 ($a3)" vm_ping "$v" "$a3"
done
# vm3's agent has no peers left to talk to either way.
assert_fails "deleted vm3 must not reach vm1" vm_ping vm3 "${addr[vm1]}"
ping_mesh vm1 vm2 vm4 vm5
assert_eq "$(nfctl --json network show prod | jq -r .nodes)" 4 "network show prod: nodes after delete"
assert_eq "$(nfctl --json node list | jq -r '[.. | objects | select(has("overlay_address")) | .name] | sort | join(",")')" \
	"vm1,vm2,vm4,vm5" "node list after delete"

step "a new node takes the lowest free address (vm3's)"
vm_create vm6
vm_join vm6 prod
assert_eq "$(overlay_addr vm6)" "$a3" "vm6 reuses the freed address"
ping_mesh vm1 vm6
