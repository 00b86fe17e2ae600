#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Agent restart: an agent stopped with SIGTERM leaves its interface and
# wireguard-go running, so the overlay keeps working while it is down; started
# again without a token it does not enroll again, keeps its keys and address,
# catches up with what changed meanwhile, and re-applies without tearing
# anything down (a ping running across the restart loses nothing). With
# --cleanup-on-exit, SIGTERM removes the interface instead.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"

ctl_start
net_create prod 10.100.0.0/24
for v in vm1 vm2; do
	vm_create "$v"
	vm_join "$v" prod
done
ping_mesh vm1 vm2
a1=$(overlay_addr vm1)
a2=$(overlay_addr vm2)
created1=$(node_field vm1 .created)
key1=$(node_field vm1 .wg_public_key)
if1=$(vm_if vm1)
enrolls=$(audit_count enroll)
assert_eq "$enrolls" 2 "enroll entries in the audit log"

step "vm1's agent stops on SIGTERM; interface and wireguard-go stay; the overlay works"
rc=0
agent_stop vm1 TERM || rc=$?
assert_eq "$rc" 0 "vm1's agent exit status on SIGTERM"
if_exists vm1 || fail "SIGTERM removed vm1's interface $if1"
[[ -S /var/run/wireguard/$if1.sock ]] || fail "wireguard-go's socket for $if1 is gone"
assert_eq "$(vm_exec vm1 wg show "$if1" public-key)" "$key1" "vm1's WireGuard key while stopped"
for pair in "vm1 $a2" "vm2 $a1"; do
	# shellcheck disable=SC2086 # pair is "VM ADDR"
	out=$(vm_exec ${pair% *} ping -n -q -i 0.2 -c 10 -W 2 "${pair#* }" 2>&1) ||
		fail "ping ${pair% *} -> ${pair#* } with vm1's agent stopped: $out"
	grep -q ' 10 received' <<<"$out" || fail "ping ${pair% *} -> ${pair#* } lost packets: $out"
done

step "while vm1's agent is down: it goes offline, and vm3 joins"
wait_for 20 "vm1 to be reported offline (3 missed heartbeats)" node_status_is vm1 offline
vm_create vm3
vm_join vm3 prod
a3=$(overlay_addr vm3)
assert_fails "vm1 cannot reach vm3 before its agent is back" vm_ping vm1 "$a3"

step "vm1's agent starts again without a token"
agent_start vm1
node_wait_converged vm1 30
assert_eq "$(audit_count enroll)" $((enrolls + 1)) "enroll entries (only vm3's was added)"
assert_eq "$(node_field vm1 .created)" "$created1" "vm1's creation time"
assert_eq "$(node_field vm1 .wg_public_key)" "$key1" "vm1's WireGuard key"
assert_eq "$(overlay_addr vm1)" "$a1" "vm1's overlay address"
assert_eq "$(vm_exec vm1 wg show "$if1" public-key)" "$key1" "vm1's interface key"
ping_mesh vm1 vm2 vm3

step "a ping across an agent restart loses nothing (no teardown on re-apply)"
vm_exec vm2 ping -n -i 0.2 -c 40 -W 2 "$a1" >"$NF_LOGS/ping.log" 2>&1 &
ping_pid=$!
sleep 1
agent_stop vm1 TERM || fail "vm1's agent did not exit cleanly on SIGTERM"
agent_start vm1
node_wait_converged vm1 30
rc=0
wait "$ping_pid" || rc=$?
grep -q ' 40 received, 0% packet loss' "$NF_LOGS/ping.log" ||
	fail "ping across vm1's agent restart lost packets: $(tail -n 3 "$NF_LOGS/ping.log")"
((rc == 0)) || fail "ping exited $rc"
assert_eq "$(audit_count enroll)" $((enrolls + 1)) "enroll entries after a second restart"

step "--cleanup-on-exit: SIGTERM removes the interface and stops wireguard-go"
agent_stop vm1 TERM || fail "vm1's agent did not exit cleanly on SIGTERM"
agent_start vm1 --cleanup-on-exit
node_wait_converged vm1 30
rc=0
agent_stop vm1 TERM || rc=$?
assert_eq "$rc" 0 "exit status on SIGTERM with --cleanup-on-exit"
wait_for 10 "vm1's interface $if1 to be removed" not if_exists vm1
wait_for 10 "wireguard-go of $if1 to exit (its socket to go)" \
	not test -e "/var/run/wireguard/$if1.sock"
assert_fails "vm2 must not reach vm1 once its interface is gone" vm_ping vm2 "$a1"

step "started again, the agent recreates the interface from its state"
agent_start vm1
node_wait_converged vm1 30
ping_mesh vm1 vm2 vm3
assert_eq "$(audit_count enroll)" $((enrolls + 1)) "enroll entries at the end"
