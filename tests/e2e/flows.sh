#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Flow filters on Open vSwitch, with real packets over the overlay. vm1 and
# vm2 each run a private Open vSwitch (ovslib.sh) and an agent started with
# --ovs-rundir, so their overlay traffic goes through bridge nf-br; vm3 has
# no Open vSwitch. TCP listeners on vm1 (8080, 8081, 7777); vm2 is the client.
# Checked: the bridges carry the overlay (node totals grow); one `flow add`
# blocks TCP 8080 to vm1 (connects time out, not refused; 8081 still opens;
# the delay is logged); a UDP drop filter counts exactly the 50 datagrams
# sent, bytes = 50 IP packets; deleting a filter unblocks; a flow added by
# hand (another cookie) survives the agent's resync and its restart and an
# Open vSwitch restart the Debian way (ovs-save, flow-restore-wait), while
# the agent's flows stay exactly once and are enforced and counted again;
# after ovs-vswitchd and ovsdb-server are killed and started again (flows
# lost) the agent brings its flows back within a few heartbeats; bad filters
# are refused with the field named and nothing stored; a filter on vm3 is
# accepted but reported failed (no Open vSwitch) while vm3 keeps working.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"
# shellcheck source=tests/e2e/ovslib.sh
source "$(dirname "$0")/ovslib.sh"

command -v ncat >/dev/null || fail "ncat is missing: run scripts/deps.sh"
command -v ss >/dev/null || fail "ss is missing: run scripts/deps.sh"

BR=nf-br
COOKIE_TAG=0x6e66000000000000
UDP_N=50
UDP_PAYLOAD=100
UDP_IP_BYTES=$((20 + 8 + UDP_PAYLOAD))

# ---- helpers -------------------------------------------------------------------

# flow_add ARGS...: `flow add --network prod --json ARGS`; prints the new id.
flow_add() {
	local j
	j=$(nfctl --json flow add --network prod "$@") || fail "flow add $*: $j"
	jq -er '.id | tostring' <<<"$j" || fail "flow add $*: no id in: $j"
}

# flow_field REF JQ_FILTER: one field of `flow show REF --json`.
flow_field() {
	local j
	j=$(nfctl --json flow show --network prod "$1") || {
		echo "flow show $1 failed: $j"
		return 1
	}
	jq -r "$2" <<<"$j"
}

# flow_status_is REF STATUS_PREFIX: (for wait_for).
flow_status_is() {
	local st
	st=$(flow_field "$1" '.status // ""') || return 1
	[[ $st == "$2"* ]] || {
		echo "filter $1 is '$st', waiting for '$2'"
		return 1
	}
}

# flow_counter REF FIELD: the filter's counter field (packets, bytes, ...);
# fails while the node has not reported one.
flow_counter() {
	flow_field "$1" ".counter.$2 // empty | tonumber" | grep -E '^[0-9]+$'
}

# flow_counter_is REF FIELD N: (for wait_for).
flow_counter_is() {
	local v
	v=$(flow_counter "$1" "$2") || {
		echo "filter $1: no counter yet"
		return 1
	}
	[[ $v == "$3" ]] || {
		echo "filter $1: $2 $v, expected $3"
		return 1
	}
}

# flow_counter_stable REF: prints the filter's packets once two readings more
# than a heartbeat apart agree.
flow_counter_stable() {
	local a b
	a=$(flow_counter "$1" packets) || return 1
	sleep 1.5
	b=$(flow_counter "$1" packets) || return 1
	[[ $a == "$b" ]] || {
		echo "filter $1: packets still moving ($a -> $b)"
		return 1
	}
	echo "$b"
}

# node_total NODE FIELD: FIELD of the node's whole-bridge counter in `flow list`.
node_total() {
	local j
	j=$(nfctl --json flow list --network prod) || return 1
	jq -er --arg n "$1" --arg f "$2" \
		'[(.nodes // [])[] | select(.node == $n)][0][$f] // error("no total for \($n)") |
			tonumber' <<<"$j"
}

# node_total_above NODE N: the node's total packets exceed N (for wait_for).
node_total_above() {
	local v
	v=$(node_total "$1" packets) || {
		echo "no bridge total for $1 in flow list"
		return 1
	}
	((v > $2)) || {
		echo "$1: bridge total $v packets, not above $2"
		return 1
	}
}

# flows_snapshot FILE: `flow list` of prod without counters and statuses.
flows_snapshot() {
	nfctl --json flow list --network prod |
		jq -S '{filters: [(.filters // [])[] | del(.counter, .status)]}' >"$1" ||
		fail "cannot take a snapshot of the filters"
}

# flow_refused FIELD CMD...: a netfnctl call refused naming FIELD (or a dotted
# path ending in it): the API's "netfnctl: error: STATUS: FIELD: message"
# (exit 1), or netfnctl's own refusal before sending (exit 2) whose error line
# names the field. Nothing on stdout.
flow_refused() {
	local field=$1 out err rc=0 line
	shift
	out=$("$@" 2>"$NF_WORK/stderr") || rc=$?
	err=$(cat "$NF_WORK/stderr")
	line=$(grep -m1 '^netfnctl: error: ' <<<"$err") ||
		fail "'$*' (exit $rc): no 'netfnctl: error: ' line: $err"
	log "  $(printf '%q ' "${@:2}")-> exit $rc: $line"
	[[ -z $out ]] || fail "'$*' printed on stdout: $out"
	if [[ $line =~ ^netfnctl:\ error:\ [A-Z_]+:\ ([][A-Za-z0-9_.-]+): ]]; then
		((rc == 1)) || fail "'$*' should exit 1 on an API error, exited $rc: $err"
		[[ ${BASH_REMATCH[1]} =~ ^(.*\.)?$field$ ]] ||
			fail "'$*' should name field '$field', named '${BASH_REMATCH[1]}': $line"
	else
		((rc == 1 || rc == 2)) || fail "'$*' should exit 1 or 2, exited $rc: $err"
		grep -qE -- "(^|[^a-z_])$field([^a-z_]|$)" <<<"${line#netfnctl: error: }" ||
			fail "'$*' should name field '$field': $line"
	fi
}

# cookie ID: the cookie of filter ID's flow as ovs-ofctl prints it.
cookie() {
	printf '0x%x' $((COOKIE_TAG | $1))
}

# ours_exactly_once VM ID...: VM's bridge holds the base flows (as many as
# at the baseline) and one flow per given filter id, and no other flow with
# our cookie tag.
ours_exactly_once() {
	local vm=$1 d id n
	shift
	d=$(ovs_dump "$vm" "$BR") || {
		echo "dump-flows $BR on $vm failed: $d"
		return 1
	}
	n=$(grep -c "cookie=$COOKIE_TAG," <<<"$d" || :)
	[[ $n == "$base_flows" ]] || {
		echo "$vm: $n base flows, expected $base_flows: $d"
		return 1
	}
	for id in "$@"; do
		n=$(grep -c "cookie=$(cookie "$id")," <<<"$d" || :)
		[[ $n == 1 ]] || {
			echo "$vm: filter $id has $n flows: $d"
			return 1
		}
	done
	n=$(grep -c "cookie=0x6e66" <<<"$d" || :)
	[[ $n == $((base_flows + $#)) ]] || {
		echo "$vm: $n flows with our tag, expected $((base_flows + $#)): $d"
		return 1
	}
}

# has_hand_flow VM: the flow added by hand (cookie 0x1234) is on VM's bridge.
has_hand_flow() {
	ovs_dump "$1" "$BR" | grep -q 'cookie=0x1234,'
}

# udp_send N: N datagrams of UDP_PAYLOAD bytes from vm2 to vm1:9999, one
# socket each (bash's /dev/udp).
udp_send() {
	# shellcheck disable=SC2016 # $0 $1 $2 of the inner bash
	vm_exec vm2 bash -c 'p=$(printf "%0${2}d" 0); for ((i = 0; i < $1; i++)); do
		printf %s "$p" >"/dev/udp/$0/9999"; done' "$a1" "$1" "$UDP_PAYLOAD" ||
		fail "sending $1 UDP datagrams from vm2 failed"
}

# blocked_after T0 PORT: probes vm2 -> vm1:PORT every 100 ms until a connect
# times out; prints the ms from T0 to the start of that probe.
blocked_after() {
	local t0=$1 port=$2 t r
	while :; do
		t=$(_now_ms)
		r=$(tcp_probe vm2 "$a1" "$port" 1)
		[[ $r != timeout ]] || break
		[[ $r == open ]] || fail "vm2 -> $a1:$port: $r while waiting for the block"
		((t - t0 < 20000)) || fail "vm2 -> $a1:$port still opens 20 s after the filter was added"
		sleep 0.1
	done
	echo $((t - t0))
}

# open_after T0 PORT: the same until a connect opens.
open_after() {
	local t0=$1 port=$2 t
	while :; do
		t=$(_now_ms)
		[[ $(tcp_probe vm2 "$a1" "$port" 1) != open ]] || break
		((t - t0 < 20000)) || fail "vm2 -> $a1:$port still blocked 20 s later"
		sleep 0.1
	done
	echo $((t - t0))
}

# ---- setup ----------------------------------------------------------------------

ctl_start
net_create prod 10.100.0.0/24

step "vm1 and vm2 with an Open vSwitch each and agents with --ovs-rundir; vm3 without"
for v in vm1 vm2 vm3; do
	vm_create "$v"
done
ovs_start vm1
ovs_start vm2
agent_join vm1 "$(token_new prod)" --ovs-rundir "$(ovs_rundir vm1)"
agent_join vm2 "$(token_new prod)" --ovs-rundir "$(ovs_rundir vm2)"
agent_join vm3 "$(token_new prod)"
for v in vm1 vm2 vm3; do
	node_wait_converged "$v" 60
done
a1=$(overlay_addr vm1)
a2=$(overlay_addr vm2)
a3=$(overlay_addr vm3)
log "  vm1 $a1, vm2 $a2, vm3 $a3"
for v in 8080 8081 7777; do
	vm_listen vm1 "$v"
done

# ---- 1. baseline ----------------------------------------------------------------

step "baseline: the overlay goes through both bridges"
for v in vm1 vm2; do
	wait_for 20 "$v's agent to make bridge $BR" ovs_vsctl "$v" br-exists "$BR"
	ports=$(ovs_vsctl "$v" list-ports "$BR" | tr '\n' ' ')
	assert_eq "$ports" "nf-ovs-rx-p nf-ovs-tx-p " "$v: ports of $BR"
	br=$(ovs_vsctl "$v" get bridge "$BR" datapath_type fail_mode protocols | tr '\n' ' ')
	assert_eq "$br" 'netdev secure [OpenFlow13] ' "$v: $BR's datapath_type fail_mode protocols"
done
wait_for 20 "vm2 to ping vm1 over the overlay" vm_ping vm2 "$a1"
wait_for 20 "vm1 to ping vm2 over the overlay" vm_ping vm1 "$a2"
assert_tcp vm2 "$a1" 8080 open "no filter yet"
assert_tcp vm2 "$a1" 8081 open "no filter yet"
d=$(ovs_dump vm1 "$BR")
log "  vm1's $BR: $(tr '\n' ';' <<<"$d")"
base_flows=$(grep -c "cookie=$COOKIE_TAG," <<<"$d" || :)
((base_flows >= 1)) || fail "vm1's $BR has no base flow with cookie $COOKIE_TAG: $d"
wait_for 20 "vm1's bridge total in flow list" node_total vm1 packets
t1=$(node_total vm1 packets)
t2=$(node_total vm2 packets)
for _ in 1 2 3 4 5; do
	vm_ping vm2 "$a1" || fail "vm2 lost vm1 during the baseline"
done
wait_for 15 "vm1's bridge total to grow past $t1" node_total_above vm1 "$((t1 + 9))"
wait_for 15 "vm2's bridge total to grow past $t2" node_total_above vm2 "$((t2 + 9))"
log "  bridge totals: vm1 $t1 -> $(node_total vm1 packets), vm2 $t2 -> $(node_total vm2 packets) packets (5 pings and replies)"
log "  flow list: $(nfctl --json flow list --network prod | jq -c .nodes)"

# ---- 2. one call blocks TCP 8080 to vm1 -----------------------------------------------

step "flow add --node vm1 --protocol tcp --dst-port 8080 --dst $a1/32 --action drop"
t0=$(_now_ms)
f8080=$(flow_add --node vm1 --name block-8080 --protocol tcp --dst-port 8080 --dst "$a1/32" \
	--action drop)
t_added=$(($(_now_ms) - t0))
block_ms=$(blocked_after "$t0" 8080)
wait_for 20 "filter $f8080 to be active" flow_status_is "$f8080" active
log "  filter $f8080: the call took $t_added ms; vm2 -> vm1:8080 blocked $block_ms ms after the call began"
assert_tcp vm2 "$a1" 8080 timeout "filter $f8080 drops TCP 8080 (a time-out, not a refusal)"
assert_tcp vm2 "$a1" 8081 open "8081 is not filtered"
vm_ping vm2 "$a1" || fail "vm2 cannot ping vm1 with only TCP 8080 dropped"
show=$(nfctl flow show --network prod "$f8080") || fail "flow show $f8080 failed"
log "  flow show $f8080: $(tr '\n' ';' <<<"$show")"
assert_eq "$(flow_field block-8080 .id)" "$f8080" "flow show by name"
assert_contains "$(ovs_dump vm1 "$BR")" "cookie=$(cookie "$f8080")," "vm1's $BR: filter $f8080's flow"

# ---- 3. counters -----------------------------------------------------------------

step "a UDP 9999 drop filter counts exactly $UDP_N datagrams of $UDP_PAYLOAD bytes"
fudp=$(flow_add --node vm1 --name udp-9999 --protocol udp --dst-port 9999 --action drop)
wait_for 20 "filter $fudp to be active" flow_status_is "$fudp" active
wait_for 20 "filter $fudp's counter at 0 packets" flow_counter_is "$fudp" packets 0
t0=$(_now_ms)
udp_send "$UDP_N"
wait_for 20 "filter $fudp's counter at $UDP_N packets" flow_counter_is "$fudp" packets "$UDP_N"
count_ms=$(($(_now_ms) - t0))
sleep 2.5 # more than two heartbeats: nothing else is counted
assert_eq "$(flow_counter "$fudp" packets)" "$UDP_N" "filter $fudp's packets 2.5 s later"
assert_eq "$(flow_counter "$fudp" bytes)" $((UDP_N * UDP_IP_BYTES)) \
	"filter $fudp's bytes ($UDP_N IP packets of $UDP_IP_BYTES bytes)"
log "  filter $fudp: $(flow_field "$fudp" '.counter | tostring')"
log "  filter $fudp: $UDP_N packets, $((UDP_N * UDP_IP_BYTES)) bytes, reported $count_ms ms after the first datagram"

# ---- 4. delete ------------------------------------------------------------------------

step "flow del $f8080: 8080 connects again"
t0=$(_now_ms)
assert_ok "flow del $f8080" nfctl flow del --network prod "$f8080"
open_ms=$(open_after "$t0" 8080)
log "  vm2 -> vm1:8080 open again $open_ms ms after the delete began"
assert_api_error NOT_FOUND - nfctl flow show --network prod "$f8080"
! ovs_dump vm1 "$BR" | grep -q "cookie=$(cookie "$f8080")," ||
	fail "filter $f8080's flow is still on vm1's bridge"

# ---- 5. a flow of someone else's, resyncs and restarts ------------------------------

step "a flow added by hand (cookie 0x1234, tcp 7777 dropped) survives the agent's resyncs"
assert_tcp vm2 "$a1" 7777 open "before the hand flow"
ovs_ofctl vm1 add-flow "$BR" "cookie=0x1234,priority=40000,tcp,tp_dst=7777,actions=drop" ||
	fail "ovs-ofctl add-flow on vm1 failed"
assert_tcp vm2 "$a1" 7777 timeout "the hand flow drops 7777"
fresync=$(flow_add --node vm1 --name resync --protocol udp --dst-port 9998 --action drop)
wait_for 20 "filter $fresync to be active" flow_status_is "$fresync" active
has_hand_flow vm1 || fail "the agent's apply of filter $fresync removed the hand flow"
wait_for 10 "our flows exactly once on vm1" ours_exactly_once vm1 "$fudp" "$fresync"
assert_tcp vm2 "$a1" 7777 timeout "the hand flow still drops 7777 after the apply"
agent_stop vm1
agent_start vm1 --ovs-rundir "$(ovs_rundir vm1)"
node_wait_converged vm1 60
sleep 2.5 # two heartbeats and more: the restarted agent has synced and read its flows
has_hand_flow vm1 || fail "the restarted agent removed the hand flow"
wait_for 10 "our flows exactly once on vm1 after the agent's restart" \
	ours_exactly_once vm1 "$fudp" "$fresync"
assert_tcp vm2 "$a1" 7777 timeout "the hand flow still drops 7777 after the agent's restart"
log "  vm1's $BR after the agent's restart: $(ovs_dump vm1 "$BR" | tr '\n' ';')"

step "Open vSwitch on vm1 restarted the Debian way: flows kept, filters enforced and counted"
ovs_restart vm1
has_hand_flow vm1 || fail "the hand flow did not survive ovs-vswitchd's restart"
wait_for 20 "our flows exactly once on vm1 after the OVS restart" \
	ours_exactly_once vm1 "$fudp" "$fresync"
wait_for 20 "vm2 to ping vm1 after the OVS restart" vm_ping vm2 "$a1"
assert_tcp vm2 "$a1" 7777 timeout "the hand flow still drops 7777 after the OVS restart"
t0=$(_now_ms)
f8081=$(flow_add --node vm1 --name block-8081 --protocol tcp --dst-port 8081 --dst "$a1/32" \
	--action drop)
block_ms=$(blocked_after "$t0" 8081)
wait_for 20 "filter $f8081 to be active" flow_status_is "$f8081" active
log "  filter $f8081 (after the OVS restart): vm2 -> vm1:8081 blocked $block_ms ms after the call began"
assert_tcp vm2 "$a1" 8081 timeout "filter $f8081 drops TCP 8081"
assert_tcp vm2 "$a1" 8080 open "8080 is not filtered any more"
wait_for 20 "filter $fudp's counter to settle" flow_counter_stable "$fudp"
before=$(flow_counter_stable "$fudp") || fail "filter $fudp's counter keeps moving"
udp_send "$UDP_N"
wait_for 20 "filter $fudp's counter at $before + $UDP_N" flow_counter_is "$fudp" packets \
	$((before + UDP_N))
log "  filter $fudp counts again after the OVS restart: $before -> $((before + UDP_N)) packets"

step "Open vSwitch on vm1 killed and started again: the agent brings its flows back"
ovs_kill vm1
# No ovs-vswitchd, no forwarding: vm1's filters fail closed (flow_dp.h).
! vm_ping vm2 "$a1" || fail "vm2 pings vm1 while vm1's ovs-vswitchd is dead: the bridge is bypassed"
ovs_start vm1
t0=$(_now_ms)
# ovs-vswitchd starts with the bridge from the database and no flows: in
# fail_mode secure nothing passes until the agent has put its flows back.
wait_for 30 "vm2 to ping vm1 once the agent has resynced vm1's bridge" vm_ping vm2 "$a1"
resync_ms=$(($(_now_ms) - t0))
wait_for 20 "our flows exactly once on vm1 after the OVS crash" \
	ours_exactly_once vm1 "$fudp" "$f8081" "$fresync"
log "  vm1's bridge resynced by the agent $resync_ms ms after Open vSwitch came back"
assert_tcp vm2 "$a1" 8081 timeout "filter $f8081 drops TCP 8081 after the resync"
assert_tcp vm2 "$a1" 8080 open "8080 after the resync"
# The hand flow lived only in the killed ovs-vswitchd (nobody saved it) and
# is not the agent's to restore: it is gone, and 7777 opens again.
! has_hand_flow vm1 || fail "a hand flow survived SIGKILL of ovs-vswitchd?"
assert_tcp vm2 "$a1" 7777 open "the hand flow is gone with the killed ovs-vswitchd"

# ---- 6. bad filters -------------------------------------------------------------------

step "bad filters are refused with the field named; nothing is stored"
flows_snapshot "$NF_WORK/before"
add=(nfctl flow add --network prod --node vm1)
flow_refused dst "${add[@]}" --action drop --dst 10.0.0.300/24
flow_refused src "${add[@]}" --action drop --src 10.1.2.3/24
flow_refused dst_port "${add[@]}" --action drop --protocol tcp --dst-port 70000
flow_refused dst_port "${add[@]}" --action drop --protocol icmp --dst-port 80
flow_refused node nfctl flow add --network prod --node nosuch --action drop --protocol tcp
flow_refused priority "${add[@]}" --action drop --protocol tcp --priority 70000
flow_refused action "${add[@]}" --action reject --protocol tcp
flows_snapshot "$NF_WORK/after"
diff -u "$NF_WORK/before" "$NF_WORK/after" >"$NF_LOGS/snapshot.diff" ||
	fail "refused filters changed the flow list: $(head -c 3000 "$NF_LOGS/snapshot.diff")"
log "  flow list unchanged after the bad filters: PASS"

# ---- 7. a node without Open vSwitch ---------------------------------------------------

step "a filter on vm3 (no Open vSwitch) is accepted and reported failed; vm3 keeps working"
f3=$(flow_add --node vm3 --protocol tcp --dst-port 8080 --action drop)
wait_for 20 "filter $f3 on vm3 to be reported failed" flow_status_is "$f3" "failed:"
st=$(flow_field "$f3" .status)
log "  filter $f3 on vm3: $st"
grep -qiE 'open ?vswitch|ovs' <<<"$st" || fail "vm3's failure should mention Open vSwitch: $st"
wait_for 20 "vm2 to ping vm3" vm_ping vm2 "$a3"
wait_for 20 "vm3 to ping vm1" vm_ping vm3 "$a1"
assert_tcp vm3 "$a1" 8080 open "vm3 -> vm1:8080"
assert_eq "$(flow_field "$fudp" .status)" active "vm1's filters are not affected by vm3"
log "  flow list: $(nfctl flow list --network prod | tr '\n' ';')"
ctl_check "the whole scenario"
