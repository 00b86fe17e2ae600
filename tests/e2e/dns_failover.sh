#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Overlay DNS failover: one DNS replica in a network with its own domain, four
# VMs resolving through an upstream dnsmasq of the test's own, and a
# controller with a short heartbeat. The VM hosting the server dies (its
# agent, its wireguard-go and its dnsmasq killed, its underlay link down):
# the scheduler moves the server to another node and lookups from every
# other node (getent: the VMs' real resolvers, which the agents repoint) work
# again within 3 heartbeats of the kill. `dns show` names the new host; names
# and the forwarding to the upstream work from every surviving node.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"
# shellcheck source=tests/e2e/dnslib.sh
source "$(dirname "$0")/dnslib.sh"

hb_ms=1500 # the controller's heartbeat: a node is dead after 2 missed
limit_ms=$((3 * hb_ms))
up_name=up.example.test
up_addr=192.0.2.55

vm_create upstream
upstream_start upstream "$up_name=$up_addr"
ctl_start --heartbeat-ms "$hb_ms"
net_create prod 10.100.0.0/24 --domain corp.test --dns-replicas 1

step "four VMs join; heartbeat $hb_ms ms; one DNS replica"
vms=(n1 n2 n3 n4)
for v in "${vms[@]}"; do
	vm_create "$v"
	vm_resolv "$v" "# $v's own resolver" "nameserver $(vm_ip upstream)"
	agent_join "$v" "$(token_new prod)"
done
declare -A addr=()
for v in "${vms[@]}"; do
	node_wait_converged "$v" 60
	addr[$v]=$(overlay_addr "$v")
done
zone=$(dns_zone) || fail "dns show failed: $zone"
assert_eq "$zone" prod.corp.test "the zone of network prod (--domain corp.test)"
wait_for 20 "the DNS server to be placed" dns_servers_count 1
read -r host host_addr <<<"$(dns_servers)"
log "  the DNS server is on $host ($host_addr)"
for v in "${vms[@]}"; do
	for n in "${vms[@]}"; do
		wait_for 20 "$v to resolve $n.$zone" resolves "$v" "$n.$zone" "${addr[$n]}"
	done
	assert_ok "$v resolves $up_name" getent_is "$v" "$up_name" "$up_addr"
done
others=()
for v in "${vms[@]}"; do
	[[ $v == "$host" ]] || others+=("$v")
done

# _poll T_KILL NAME WANT: runs in a VM: one getent every 50 ms until NAME
# resolves to the address WANT (each given 0.5 s: an answered one takes a few
# ms, and a short timeout keeps the measure fine); prints "START END FAILED":
# the epoch ms at which the first successful lookup started and ended, and
# how many failed before.
_poll() {
	local t_kill=$1 name=$2 want=$3 start out a failed=0
	while :; do
		start=$(date +%s%3N)
		out=$(timeout 0.5 getent hosts "$name" 2>/dev/null)
		read -r a _ <<<"$out"
		if [[ $a == "$want" ]]; then
			echo "$start $(date +%s%3N) $failed"
			return 0
		fi
		failed=$((failed + 1))
		((start - t_kill < 30000)) || {
			echo "- - $failed"
			return 1
		}
		sleep 0.05
	done
}

step "the host $host dies: its agent, wireguard-go and dnsmasq killed, its link down"
ns=$(vm_ns "$host")
mapfile -t pids < <(ip netns pids "$ns")
procs=$(ps -o comm= -p "$(
	IFS=,
	echo "${pids[*]}"
)" | sort | tr '\n' ' ')
log "  processes in $host: $procs"
[[ $procs == *dnsmasq* ]] || fail "no dnsmasq runs in $host, which hosts the DNS server: $procs"
t_kill=$(_now_ms)
agent_stop "$host" KILL || true
mapfile -t pids < <(ip netns pids "$ns")
((${#pids[@]} == 0)) || kill -KILL "${pids[@]}" 2>/dev/null || true
ip -n "$ns" link set eth0 down
log "  $host killed (pids ${pids[*]:-none} besides the agent)"
declare -A poll_pid=()
for i in "${!others[@]}"; do
	v=${others[$i]}
	n=${others[$(((i + 1) % ${#others[@]}))]} # another survivor's name
	ip netns exec "$(vm_ns "$v")" bash -c "$(declare -f _poll); _poll \"\$@\"" _ \
		"$t_kill" "$n.$zone" "${addr[$n]}" >"$NF_WORK/$v/poll" 2>&1 &
	poll_pid[$v]=$!
done
worst=0
for v in "${others[@]}"; do
	wait "${poll_pid[$v]}" || fail "$v: lookups still fail 30 s after the kill"
	read -r start end failed <"$NF_WORK/$v/poll"
	ms=$((start - t_kill))
	log "  $v resolves again: a lookup started $ms ms after the kill succeeded" \
		"(in $((end - start)) ms; $failed failed before)"
	((ms <= worst)) || worst=$ms
done
log "  lookups work again from every other node within $worst ms of the kill" \
	"(limit: 3 heartbeats, $limit_ms ms)"
((worst <= limit_ms)) || fail "lookups came back after $worst ms; expected <= 3 heartbeats ($limit_ms ms)"

step "the server moved: dns show, names and forwarding from every survivor"
read -r new new_addr <<<"$(dns_servers)"
log "  the DNS server moved from $host to $new ($new_addr)"
[[ -n $new && $new != "$host" ]] || fail "the DNS server should have left $host: it is on '$new'"
assert_eq "$new_addr" "${addr[$new]}" "dns show: the new server's address"
log "  dns show: $(dns_json | jq -c .servers)"
wait_for 10 "$host to be reported offline" node_status_is "$host" offline
for v in "${others[@]}"; do
	for n in "${others[@]}"; do
		assert_ok "$v resolves $n.$zone" resolves "$v" "$n.$zone" "${addr[$n]}"
	done
	assert_ok "$v resolves $up_name" getent_is "$v" "$up_name" "$up_addr"
	assert_ok "$v: the new server forwards $up_name" dig_is "$v" "$up_name" "$up_addr" "@$new_addr"
	first=$(awk '$1 == "nameserver" {print $2; exit}' "$(vm_resolv_path "$v")")
	assert_eq "$first" "$new_addr" "$v's resolv.conf: the first nameserver"
done
ctl_check "the whole scenario"
