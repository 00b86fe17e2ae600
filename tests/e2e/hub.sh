#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Hub topology: the network is created naming its hub node before that node
# exists (the controller resolves the hub by name when nodes join). Spokes
# that join before the hub have no peers; once the hub joins, every spoke's
# only peer is the hub, the hub has every spoke, and spokes reach each other
# through the hub (replies arrive with the TTL decremented once).
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"

ctl_start

step "a hub network naming a hub node that has not joined yet"
net_create star 10.120.0.0/24 --topology hub --hub hub
net=$(nfctl --json network show star)
assert_eq "$(jq -r .topology <<<"$net")" hub "network show star: topology"
assert_eq "$(jq -r .hub <<<"$net")" hub "network show star: hub"

step "two spokes join before the hub: no peers yet"
for v in s1 s2; do
	vm_create "$v"
	vm_join "$v" star
	assert_eq "$(wg_peers "$v" | grep -c .)" 0 "$v's peers before the hub joined"
done

step "the hub joins, then a third spoke"
vm_create hub
vm_join hub star
vm_create s3
vm_join s3 star
hubkey=$(node_field hub .wg_public_key)

step "each spoke's only peer is the hub; the hub has every spoke"
hub_only() {
	local p
	p=$(wg_peers "$1") || return 1
	[[ $p == "$hubkey" ]] || {
		echo "$1's peers: $p"
		return 1
	}
}
for v in s1 s2 s3; do
	wait_for 20 "$v's only WireGuard peer to be the hub ($hubkey)" hub_only "$v"
done
hubpeers=$(wg_peers hub | sort)
want=$(for v in s1 s2 s3; do node_field "$v" .wg_public_key; done | sort)
assert_eq "$hubpeers" "$want" "the hub's peers"
# The spoke's one peer routes the whole network.
allowed=$(vm_exec s1 wg show "$(vm_if s1)" allowed-ips)
assert_contains "$allowed" "10.120.0.0/24" "s1's allowed IPs for the hub"

step "spokes ping each other through the hub"
ping_mesh s1 s2 s3 hub
a2=$(overlay_addr s2)
out=$(vm_exec s1 ping -n -c 1 -W 2 "$a2")
grep -q 'ttl=63' <<<"$out" || fail "s1 -> s2 should cross one router (the hub, ttl=63): $out"
for v in s1 s2 s3; do
	node_wait_converged "$v" 20
done

step "the hub is deleted: the spokes lose their only peer"
assert_ok "node delete hub" nfctl node delete hub
no_peers() {
	local p
	p=$(wg_peers "$1") && [[ -z $p ]]
}
for v in s1 s2 s3; do
	wait_for 20 "$v to have no peer once the hub is deleted" no_peers "$v"
done
assert_fails "s1 must not reach s2 without a hub" vm_ping s1 "$a2"
