#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Load balancer failover: a frontend on a vip (--vip auto), placed on one of
# three VMs labelled lb=yes, two backend VMs (role=web), a client VM, and a
# controller with a short heartbeat. The hosting VM dies (its agent and its
# wireguard-go killed, its underlay link down): the scheduler moves the
# frontend to another eligible VM, the vip follows it over WireGuard, and new
# connections to the vip succeed again within 3 heartbeats of the kill; `lb
# show` names the new host and the audit log has the scheduler's entry for
# the move. Then the new host is deleted (`node delete`) and the frontend
# moves to the last eligible VM.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"
# shellcheck source=tests/e2e/lblib.sh
source "$(dirname "$0")/lblib.sh"

hb_ms=1500 # the controller's heartbeat: a node is dead after CTL_DEAD_BEATS (2) missed
limit_ms=$((3 * hb_ms))

ctl_start --heartbeat-ms "$hb_ms"
net_create prod 10.100.0.0/24

step "six VMs join: cli, web1-2 (role=web), lb1-3 (lb=yes); heartbeat $hb_ms ms"
lbs=(lb1 lb2 lb3)
webs=(web1 web2)
for v in cli "${webs[@]}" "${lbs[@]}"; do
	vm_create "$v"
done
agent_join cli "$(token_new prod)"
for v in "${webs[@]}"; do
	agent_join "$v" "$(token_new prod --labels role=web)"
done
for v in "${lbs[@]}"; do
	agent_join "$v" "$(token_new prod --labels lb=yes)"
done
for v in cli "${webs[@]}" "${lbs[@]}"; do
	node_wait_converged "$v" 60
done
for v in "${webs[@]}"; do
	lb_serve "$v" "$(overlay_addr "$v")" 9000 "$v"
done

step "lb front: --vip auto, placement lb=yes, backends role=web:9000"
assert_ok "lb create front" nfctl lb create front --network prod --port 80 --vip auto \
	--placement lb=yes --backend-selector role=web --backend-port 9000 \
	--check-interval 500ms --check-timeout 300ms --fall 2 --rise 2
wait_for 20 "lb front to be placed" lb_host front
show=$(lb_json front) || fail "lb show front failed"
log "  lb show front: $(jq -c . <<<"$show")"
vip=$(jq -r .vip <<<"$show")
[[ $vip =~ ^10\.100\.0\.[0-9]+$ ]] || fail "lb front: vip '$vip' is not an address of 10.100.0.0/24"
host=$(lb_host front)
[[ " ${lbs[*]} " == *" $host "* ]] || fail "lb front placed on $host, which is not labelled lb=yes"
assert_eq "$(jq -r '.placements[0].address' <<<"$show")" "$vip" "lb show front: the frontend address"
for v in "${lbs[@]}"; do
	[[ $v == "$host" ]] || ! vm_exec "$v" ip -br addr | grep -qw "$vip" ||
		fail "the vip $vip is on $v, which does not host the frontend"
done
wait_for 20 "cli to connect to the vip $vip:80" lb_answers cli "$vip" 80 1
seq=$(lb_answers cli "$vip" 80 4) || fail "not every connection to the vip answered: $seq"
assert_eq "$(sort -u <<<"$seq" | tr '\n' ' ')" "web1 web2 " "backends reached through the vip on $host"
log "  the vip $vip answers on $host"

# moves [AFTER_ID]: the scheduler's placement entries in the audit log with
# an id above AFTER_ID (default 0), oldest first.
moves() {
	nfctl --json audit list --limit 10000 | jq -c --argjson after "${1:-0}" \
		'[.. | objects | select(has("method")) | select(.actor == "scheduler" and
			.method == "sched.place" and .id > $after)] | sort_by(.id)'
}
# last_id: the newest audit entry's id.
last_id() {
	nfctl --json audit list --limit 10000 | jq '[.. | objects | select(has("method")) | .id] | max // 0'
}
entry=$(moves) || fail "audit list failed"
log "  scheduler entries so far: $entry"

# answered_since T0 WHAT: polls one connection to the vip (300 ms timeout)
# until one is answered, then 4 more must be; prints ms since T0.
answered_since() {
	local t0=$1 t out
	while :; do
		t=$(($(lb_now) - t0))
		out=$(lb_connect cli "$vip" 80 1 --timeout 300) || fail "nf-lbtool connect failed: $out"
		if [[ $out =~ ^web[0-9]$ ]]; then
			out=$(lb_connect cli "$vip" 80 4 --timeout 1000) || fail "nf-lbtool connect failed"
			! grep -qvE '^web[0-9]$' <<<"$out" || fail "$2: connections after the first: $out"
			echo "$t"
			return 0
		fi
		((t < limit_ms + 15000)) || fail "$2: the vip still does not answer $t ms later: $out"
	done
}

# vm_kill VM: the VM dies: its agent and whatever else runs in it (its
# wireguard-go) are killed, as lib.sh's cleanup stops them, and its underlay
# link goes down.
vm_kill() {
	local ns pids
	ns=$(vm_ns "$1")
	! agent_alive "$1" || agent_stop "$1" KILL || true
	mapfile -t pids < <(ip netns pids "$ns")
	((${#pids[@]} == 0)) || kill -KILL "${pids[@]}" 2>/dev/null || true
	ip -n "$ns" link set eth0 down
	log "  $1 killed (pids ${pids[*]:-none} besides the agent)"
}

# vip_routed_to VM: cli's WireGuard sends the vip to VM's peer.
vip_routed_to() {
	local key
	key=$(node_field "$1" .wg_public_key) || return 1
	vm_exec cli wg show "$(vm_if cli)" allowed-ips | grep -F -- "$key" | grep -qw -- "$vip" || {
		vm_exec cli wg show "$(vm_if cli)" allowed-ips
		return 1
	}
}

step "the host $host dies: agent and wireguard-go killed, underlay link down"
before=$(last_id) || fail "audit list failed"
t_kill=$(lb_now)
vm_kill "$host"
ms=$(answered_since "$t_kill" "failover from $host")
log "  the vip answers again $ms ms after the kill (limit: 3 heartbeats, $limit_ms ms)"
((ms <= limit_ms)) || fail "failover took $ms ms; expected <= 3 heartbeats ($limit_ms ms)"
new=$(lb_host front) || fail "lb front has no host after the failover: $new"
log "  lb front moved from $host to $new"
[[ $new != "$host" && " ${lbs[*]} " == *" $new "* ]] ||
	fail "lb front should have moved to another lb=yes VM, it is on $new"
assert_eq "$(lb_json front | jq -r '.vip + " " + .placements[0].address')" "$vip $vip" \
	"lb show front after the move: the vip kept"
wait_for 10 "cli to route the vip to $new over WireGuard" vip_routed_to "$new"
wait_for 10 "$host to be reported offline" node_status_is "$host" offline
entry=$(moves "$before") || fail "audit list failed"
log "  new scheduler entries: $entry"
jq -e --arg n "$new" 'map(.detail + " " + .object) | any(contains($n))' <<<"$entry" >/dev/null ||
	fail "no scheduler entry (actor scheduler, method sched.place) names the move to $new: $entry"
seq=$(lb_answers cli "$vip" 80 4) || fail "not every connection to the vip answered: $seq"
assert_eq "$(sort -u <<<"$seq" | tr '\n' ' ')" "web1 web2 " "backends reached through the vip on $new"

step "node delete $new: the frontend moves to the last lb=yes VM"
last=
for v in "${lbs[@]}"; do
	[[ $v == "$host" || $v == "$new" ]] || last=$v
done
before=$(last_id) || fail "audit list failed"
t_del=$(lb_now)
assert_ok "node delete $new" nfctl node delete "$new"
ms=$(answered_since "$t_del" "move after deleting $new")
log "  the vip answers again $ms ms after node delete $new"
wait_for 10 "lb front to be on $last" lb_host_is front "$last"
wait_for 10 "cli to route the vip to $last over WireGuard" vip_routed_to "$last"
# The deleted VM is decommissioned: the vip must not depend on anything left there.
vm_kill "$new"
entry=$(moves "$before") || fail "audit list failed"
log "  new scheduler entries: $entry"
jq -e --arg n "$last" 'map(.detail + " " + .object) | any(contains($n))' <<<"$entry" >/dev/null ||
	fail "no scheduler entry names the move to $last: $entry"
seq=$(lb_answers cli "$vip" 80 4) || fail "not every connection to the vip answered: $seq"
assert_eq "$(sort -u <<<"$seq" | tr '\n' ' ')" "web1 web2 " "backends reached through the vip on $last"
ctl_check "the whole scenario"
