#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Controller restart: while a ping runs over the overlay between two VMs, the
# controller is killed with SIGKILL and restarted on the same data dir. The
# ping loses nothing, no agent enrolls again (same nodes, same creation
# times, no new enroll audit entries), the agents reconnect on their own, and
# a change made after the restart still reaches them.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"

ctl_start
net_create prod 10.100.0.0/24
for v in vm1 vm2; do
	vm_create "$v"
	vm_join "$v" prod
done
ping_mesh vm1 vm2
a2=$(overlay_addr vm2)

nodes_before=$(nfctl --json node list | jq -S '[.. | objects | select(has("overlay_address"))
	| {name, created, overlay_address, wg_public_key}] | sort_by(.name)')
enrolls_before=$(audit_count enroll)
audit_before=$(nfctl --json audit list --limit 10000 | jq -S .)
log "nodes: $(jq -c . <<<"$nodes_before")"
assert_eq "$enrolls_before" 2 "enroll entries in the audit log"

step "ping vm1 -> vm2 runs while the controller is killed (SIGKILL) and restarted"
vm_exec vm1 ping -n -i 0.2 -c 50 -W 2 "$a2" >"$NF_LOGS/ping.log" 2>&1 &
ping_pid=$!
sleep 1 # a few replies before the kill
ctl_kill KILL || true
log "controller killed"
killed_at=$(date +%s)
sleep 2 # the agents' syncs fail meanwhile; the data plane must not care
ctl_serve
log "controller restarted"
rc=0
wait "$ping_pid" || rc=$?
log "ping: $(tail -n 2 "$NF_LOGS/ping.log" | head -n 1)"
grep -q ' 50 received, 0% packet loss' "$NF_LOGS/ping.log" ||
	fail "ping over the overlay lost packets across the controller restart: $(tail -n 3 "$NF_LOGS/ping.log")"
((rc == 0)) || fail "ping exited $rc"

step "the agents reconnect by themselves: nodes seen after the restart"
seen_since() {
	node_json "$1" | jq -e --argjson t "$killed_at" '.last_seen > $t and .status == "online"'
}
for v in vm1 vm2; do
	wait_for 30 "$v to sync with the restarted controller" seen_since "$v"
	agent_alive "$v" || fail "agent $v exited during the controller restart"
done

step "no agent enrolled again"
nodes_after=$(nfctl --json node list | jq -S '[.. | objects | select(has("overlay_address"))
	| {name, created, overlay_address, wg_public_key}] | sort_by(.name)')
assert_eq "$nodes_after" "$nodes_before" "nodes (name, created, address, key) after the restart"
assert_eq "$(audit_count enroll)" "$enrolls_before" "enroll entries after the restart"
audit_after=$(nfctl --json audit list --limit 10000 | jq -S .)
[[ $audit_after == "$audit_before" ]] ||
	log "note: the audit log changed across the restart: $(diff <(echo "$audit_before") \
		<(echo "$audit_after") | grep '^>' | head -n 20)"

step "a change after the restart reaches the running agents"
vm_create vm3
vm_join vm3 prod
ping_mesh vm1 vm2 vm3

step "a second SIGKILL right after a write: the acknowledged write survives"
assert_ok "network create after restart" nfctl network create dev --cidr 10.101.0.0/24 \
	--port "$NF_WG_PORT"
ctl_kill KILL || true
ctl_serve
assert_eq "$(nfctl --json network show dev | jq -r .cidr)" 10.101.0.0/24 \
	"network created just before SIGKILL"
for v in vm1 vm2 vm3; do
	node_wait_converged "$v" 30
done
ping_mesh vm1 vm2 vm3
