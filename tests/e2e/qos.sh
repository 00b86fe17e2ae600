#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Traffic classes, measured with iperf3 over the overlay: a sender and a
# receiver VM, iperf3 servers on the receiver's overlay address (ports 5201
# and 5202). An unshaped run first gives the overlay's capacity here; when it
# is below 60 Mbit/s every rate below is scaled down by the same factor. With
# the link at 40 Mbit/s, class "silver" (max 10 Mbit/s, tcp port 5201) caps a
# stream to within 10 % of 10 Mbit/s, and its counters grow by at least the
# bytes iperf3 sent. Class "gold" (min 25, max 40, port 5202) keeps its floor
# (>= 90 % of 25 Mbit/s) while "bronze" (min 5, max 40, port 5201) runs at the
# same time, and the two together stay within the link. Bad classes and
# matches are refused with the field named and nothing is stored. Deleting
# every class removes the HTB qdisc and the nftables table from the sender.
#
# With NF_QOS_OVS=1 (tests/e2e/qos_ovs.sh) both VMs run Open vSwitch and their
# agents put the overlay through it (flow filters' datapath): the same rates
# must hold, shaped on the datapath's tx veth, where packets still carry
# their class, instead of the WireGuard interface.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"
ovs=${NF_QOS_OVS:-0}
if ((ovs)); then
	# shellcheck source=tests/e2e/ovslib.sh
	source "$(dirname "$0")/ovslib.sh"
fi

command -v iperf3 >/dev/null || fail "iperf3 is missing: run scripts/deps.sh"
command -v tc >/dev/null || fail "tc is missing: run scripts/deps.sh"
command -v ss >/dev/null || fail "ss is missing: run scripts/deps.sh"

# ---- helpers -------------------------------------------------------------------

# qos_section NODE: NODE's "qos" section status (an object; {} when none).
qos_section() {
	node_field "$1" '(.sections // {}) | if type == "array" then
		(map(select(.function == "qos"))[0] // {}) else (.qos // {}) end | tostring'
}

# qos_applied NODE: the qos revision NODE reports applied (0: none yet).
qos_applied() {
	local s
	s=$(qos_section "$1") || return 1
	jq -r '.applied_revision // 0' <<<"$s"
}

# qos_converged NODE AFTER: NODE's qos section is applied at its desired
# revision, newer than AFTER, without error.
qos_converged() {
	local s
	s=$(qos_section "$1") || return 1
	jq -e --argjson after "$2" '(.desired_revision // 0 | tonumber) > $after and
		.applied_revision == .desired_revision and (.error // "") == ""' <<<"$s" >/dev/null || {
		echo "qos section of $1: $s"
		return 1
	}
}

# qos_change CMD...: runs CMD (a netfnctl call that must succeed), then waits
# until both VMs have applied a newer qos revision.
qos_change() {
	local v
	declare -A mark=()
	for v in snd rcv; do
		mark[$v]=$(qos_applied "$v") || fail "cannot read $v's qos revision"
	done
	assert_ok "$(printf '%q ' "${@:2}")" "$@"
	for v in snd rcv; do
		wait_for 30 "node $v to apply a qos revision newer than ${mark[$v]}" \
			qos_converged "$v" "${mark[$v]}"
	done
	log "  $(printf '%q ' "${@:2}")-> applied (snd revision $(qos_applied snd))"
}

# qos_counter_bytes CLASS: the class's bytes, summed over the nodes' counters.
qos_counter_bytes() {
	nfctl --json qos class show "$1" --network prod |
		jq -e '[(.counters // [])[] | (.bytes // 0 | tonumber)] | add // 0'
}

# qos_counter_atleast CLASS N: (for wait_for).
qos_counter_atleast() {
	local b
	b=$(qos_counter_bytes "$1") || return 1
	((b >= $2)) || {
		echo "class $1: $b bytes < $2"
		return 1
	}
}

# qos_refused FIELD_RE CMD...: a netfnctl call refused naming a field that
# matches FIELD_RE (an ERE on the whole field, or on its last dotted part):
# the API's "netfnctl: error: STATUS: FIELD: message" (exit 1), or netfnctl's
# own refusal before sending (exit 2), whose error line must name the field.
# Nothing on stdout.
qos_refused() {
	local re=$1 out err rc=0 line got
	shift
	out=$("$@" 2>"$NF_WORK/stderr") || rc=$?
	err=$(cat "$NF_WORK/stderr")
	line=$(grep -m1 '^netfnctl: error: ' <<<"$err") ||
		fail "'$*' (exit $rc): no 'netfnctl: error: ' line: $err"
	log "  $(printf '%q ' "${@:2}")-> exit $rc: $line"
	[[ -z $out ]] || fail "'$*' printed on stdout: $out"
	if [[ $line =~ ^netfnctl:\ error:\ [A-Z_]+:\ ([][A-Za-z0-9_.-]+): ]]; then
		got=${BASH_REMATCH[1]}
		((rc == 1)) || fail "'$*' should exit 1 on an API error, exited $rc: $err"
		[[ $got =~ ^(.*\.)?($re)$ ]] || fail "'$*' should name field '$re', named '$got': $line"
	else
		((rc == 1 || rc == 2)) || fail "'$*' should exit 1 or 2, exited $rc: $err"
		grep -qE -- "$re" <<<"$line" || fail "'$*' should name field '$re': $line"
	fi
}

# iperf_serve PORT: an iperf3 server on the receiver's overlay address; waits
# until it listens. The cleanup stops it with everything else in the VM.
iperf_serve() {
	# Not through vm_exec: $! must be iperf3's own pid (ip netns exec execs it).
	ip netns exec "$(vm_ns rcv)" iperf3 -s -B "$raddr" -p "$1" \
		>>"$NF_LOGS/iperf3-server-$1.log" 2>&1 &
	wait_for 10 "iperf3 server on rcv $raddr:$1" _iperf_listening "$1"
}

_iperf_listening() {
	vm_exec rcv ss -Hltn "sport = :$1" | grep -q LISTEN
}

# iperf_run PORT SECONDS OUT: one TCP stream snd -> rcv:PORT, the first second
# (slow start, the bucket's initial burst) left out; iperf3's JSON in OUT.
iperf_run() {
	local rc=0
	ip netns exec "$(vm_ns snd)" timeout -k 2 $(($2 + 15)) iperf3 -c "$raddr" -p "$1" \
		-t "$2" -O 1 -J --connect-timeout 3000 >"$3" 2>>"$NF_LOGS/iperf3-client.log" || rc=$?
	cp "$3" "$NF_LOGS/$(basename "$3")" 2>/dev/null || :
	((rc == 0)) || {
		echo "iperf3 to port $1 exited $rc: $(jq -r '.error // empty' "$3" 2>/dev/null)"
		return 1
	}
}

# iperf_bps OUT: the receiver's bits per second; iperf_sent OUT: bytes sent.
iperf_bps() {
	jq -er '.end.sum_received.bits_per_second | floor' "$1"
}
iperf_sent() {
	jq -er '.end.sum_sent.bytes | floor' "$1"
}

mbit() {
	awk -v b="$1" 'BEGIN { printf "%.2f Mbit/s", b / 1e6 }'
}

# dp_attached VM: the flow datapath's program is on VM's WireGuard egress.
dp_attached() {
	vm_exec "$1" tc filter show dev "$(vm_if "$1")" egress | grep -q nf_push
}

# ---- setup ----------------------------------------------------------------------

ctl_start
net_create prod 10.100.0.0/24

step "two VMs join prod: snd (sends) and rcv (iperf3 servers)"
vm_create snd
vm_create rcv
for v in snd rcv; do
	extra=()
	if ((ovs)); then
		ovs_start "$v"
		extra=(--ovs-rundir "$(ovs_rundir "$v")")
	fi
	agent_join "$v" "$(token_new prod)" "${extra[@]}"
done
node_wait_converged snd 60
node_wait_converged rcv 60
raddr=$(overlay_addr rcv)
saddr=$(overlay_addr snd)
wgif=$(vm_if snd)
if ((ovs)); then
	wgif=nf-ovs-tx # the shaped device: see the header
	wait_for 20 "snd's overlay to go through its bridge" dp_attached snd
fi
log "  snd $saddr (shaped on $wgif), rcv $raddr"
wait_for 20 "snd to ping rcv over the overlay" vm_ping snd "$raddr"
iperf_serve 5201
iperf_serve 5202

step "baseline: 3 s unshaped"
wait_for 20 "an unshaped iperf3 run snd -> rcv:5201" iperf_run 5201 3 "$NF_WORK/baseline.json"
base=$(iperf_bps "$NF_WORK/baseline.json") || fail "baseline: no bits_per_second"
log "  baseline: $(mbit "$base") over the overlay"
# Rates in kbit/s, scaled down (per mille) when the overlay is slower than
# 60 Mbit/s: the classes below need 40 Mbit/s of link and some headroom.
scale=1000
if ((base < 60000000)); then
	scale=$((base / 60000))
	((scale >= 50)) || fail "baseline $(mbit "$base") is too slow to measure classes on"
	log "  the overlay is below 60 Mbit/s: every rate scaled by $scale/1000"
fi
# k MBIT: MBIT Mbit/s, scaled (in kbit/s when scaled).
k() {
	if ((scale == 1000)); then
		echo "${1}mbit"
	else
		echo "$(($1 * scale))kbit"
	fi
}
link=$(k 40)
silver_max=$((10 * scale * 1000))
gold_min=$((25 * scale * 1000))

step "link $link; class silver (max $(k 10)) on tcp port 5201"
assert_ok "qos link" nfctl qos link "$link" --network prod
assert_ok "qos class create silver" nfctl qos class create silver --network prod \
	--min "$(k 1)" --max "$(k 10)"
qos_change nfctl qos assign silver --network prod --protocol tcp --port 5201
show=$(nfctl --json qos class show silver --network prod) || fail "qos class show silver failed"
log "  qos class show silver: $(jq -c 'del(.counters)' <<<"$show")"
assert_eq "$(jq -r '.matches | length' <<<"$show")" 1 "silver: matches"
assert_eq "$(jq -r '.matches[0].port' <<<"$show")" 5201 "silver: the match's port"
tcq=$(vm_exec snd tc qdisc show dev "$wgif")
log "  tc qdisc on snd: $(tr '\n' ';' <<<"$tcq")"
assert_contains "$tcq" "qdisc htb 1: root" "snd's $wgif: the HTB root"
tcc=$(vm_exec snd tc class show dev "$wgif")
log "  tc classes on snd: $(tr '\n' ';' <<<"$tcc")"
assert_contains "$tcc" "1:ffff" "snd's $wgif: the default class"
nftq=$(vm_exec snd nft list table ip netfn_qos 2>&1) || fail "snd: no table ip netfn_qos: $nftq"
assert_contains "$nftq" 5201 "snd's table ip netfn_qos: silver's port"
assert_contains "$nftq" "meta priority set" "snd's table ip netfn_qos: the marking"

step "silver caps a 5 s stream to 5201 at $(k 10) (+-10 %)"
before=$(qos_counter_bytes silver) || fail "qos class show silver: no counters"
iperf_run 5201 5 "$NF_WORK/silver.json" || fail "silver: iperf3 failed"
got=$(iperf_bps "$NF_WORK/silver.json") || fail "silver: no bits_per_second"
sent=$(iperf_sent "$NF_WORK/silver.json") || fail "silver: no bytes sent"
log "  silver: $(mbit "$got") received (cap $(mbit "$silver_max")), $sent bytes sent"
((got >= silver_max * 9 / 10 && got <= silver_max * 11 / 10)) ||
	fail "silver: $(mbit "$got") is not within 10 % of $(mbit "$silver_max")"
log "  silver: within 10 % of the cap: PASS"

step "silver's counters grow by at least the $sent bytes iperf3 sent (from $before)"
wait_for 15 "silver's byte counter to reach $before + $sent" \
	qos_counter_atleast silver $((before + sent))
show=$(nfctl --json qos class show silver --network prod)
log "  silver counters: $(jq -c '.counters' <<<"$show")"
log "  silver: $(($(qos_counter_bytes silver) - before)) bytes counted >= $sent sent: PASS"

step "floors: silver's match unassigned and silver deleted; gold (min $(k 25), max $(k 40)) on 5202, bronze (min $(k 5), max $(k 40)) on 5201"
mid=$(jq -r '.matches[0].id' <<<"$show")
assert_ok "qos unassign silver $mid" nfctl qos unassign silver "$mid" --network prod
assert_eq "$(nfctl --json qos class show silver --network prod | jq -r '.matches // [] | length')" 0 \
	"silver's matches after unassign"
assert_ok "qos class delete silver" nfctl qos class delete silver --network prod
assert_api_error NOT_FOUND - nfctl qos class show silver --network prod
assert_ok "qos class create gold" nfctl qos class create gold --network prod \
	--min "$(k 25)" --max "$(k 40)" --priority 1
assert_ok "qos class create bronze" nfctl qos class create bronze --network prod \
	--min "$(k 5)" --max "$(k 40)" --priority 2
assert_ok "qos assign gold" nfctl qos assign gold --network prod --protocol tcp --port 5202
qos_change nfctl qos assign bronze --network prod --protocol tcp --port 5201
log "  tc classes on snd: $(vm_exec snd tc class show dev "$wgif" | tr '\n' ';')"

step "gold keeps its floor while bronze runs at the same time (5 s)"
iperf_run 5202 5 "$NF_WORK/gold.json" &
gpid=$!
iperf_run 5201 5 "$NF_WORK/bronze.json" &
bpid=$!
grc=0 brc=0
wait "$gpid" || grc=$?
wait "$bpid" || brc=$?
((grc == 0)) || fail "gold: iperf3 failed"
((brc == 0)) || fail "bronze: iperf3 failed"
g=$(iperf_bps "$NF_WORK/gold.json") || fail "gold: no bits_per_second"
b=$(iperf_bps "$NF_WORK/bronze.json") || fail "bronze: no bits_per_second"
log "  gold $(mbit "$g"), bronze $(mbit "$b") (floor $(mbit "$gold_min"), link $link)"
((b > 0)) || fail "bronze did not run alongside gold"
((g >= gold_min * 9 / 10)) ||
	fail "gold: $(mbit "$g") is below 90 % of its floor $(mbit "$gold_min") while bronze ran"
log "  gold keeps >= 90 % of its floor: PASS"
link_bps=$((40 * scale * 1000))
((g + b <= link_bps * 11 / 10)) ||
	fail "gold and bronze together: $(mbit $((g + b))) is above the link $(mbit "$link_bps") + 10 %"
log "  gold + bronze $(mbit $((g + b))) within the link: PASS"

# ---- invalid input ----------------------------------------------------------------

snapshot() {
	{
		local n
		for n in prod other; do
			echo "== $n"
			nfctl --json qos class list --network "$n" | jq -S 'walk(if type == "object" then
				del(.counters) else . end)'
		done
	} >"$1" || fail "cannot take a snapshot of the classes"
}

step "bad classes and matches are refused with the field named; nothing is stored"
net_create other 10.101.0.0/24
snapshot "$NF_WORK/before"
mk=(nfctl qos class create bad --network prod)
qos_refused 'max_rate|min_rate' "${mk[@]}" --min 20mbit --max 10mbit
qos_refused min_rate "${mk[@]}" --min 0
qos_refused min_rate "${mk[@]}" --min lots
qos_refused max_rate "${mk[@]}" --min 1mbit --max 5furlong
as=(nfctl qos assign gold --network prod)
qos_refused match.port "${as[@]}" --protocol tcp --port 0
qos_refused match.peer "${as[@]}" --peer nosuch
qos_refused match.cidr "${as[@]}" --cidr 10.0.0.300/24
qos_refused match.cidr "${as[@]}" --cidr garbage
qos_refused link_rate nfctl qos class create bad --network other --min 1mbit
snapshot "$NF_WORK/after"
diff -u "$NF_WORK/before" "$NF_WORK/after" >"$NF_LOGS/snapshot.diff" ||
	fail "invalid input changed the classes: $(head -c 3000 "$NF_LOGS/snapshot.diff")"
log "class lists of prod and other unchanged after the invalid input: PASS"

step "deleting every class removes the qdisc and the table from snd"
assert_ok "qos class delete gold" nfctl qos class delete gold --network prod
qos_change nfctl qos class delete bronze --network prod
tcq=$(vm_exec snd tc qdisc show dev "$wgif")
log "  tc qdisc on snd: $(tr '\n' ';' <<<"$tcq")"
! grep -qi htb <<<"$tcq" || fail "snd's $wgif still has an HTB qdisc with no classes: $tcq"
! vm_exec snd nft list table ip netfn_qos >/dev/null 2>&1 ||
	fail "snd still has table ip netfn_qos with no classes"
wait_for 20 "snd to ping rcv after the classes are gone" vm_ping snd "$raddr"
log "no HTB and no netfn_qos table on snd: PASS"
ctl_check "the whole scenario"
