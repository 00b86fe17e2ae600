#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# flows.sh [BIN_DIR] [N] [ROUNDS]: programming N flow filters (default
# 1000) on Open vSwitch with netfn's flow_ovs (the agent's code), against
# ovs-ofctl writing the same flows. One namespace "VM" runs a private
# Open vSwitch (tests/e2e/ovslib.sh: ovsdb-server, ovs-vswitchd with the
# userspace datapath) with bridge nf-br on two veth ends, nf-ovs-rx-p and
# nf-ovs-tx-p, as the agent's datapath has it. bench/nf-flowbench generates
# the filters: "first" is filters 1..N, "second" filters 2..N+1 (one
# removed, one added: a diff of 2 flow mods); every one differs in its
# match. The bridge always holds netfn's two base flows (priority 0, one per
# port); before each run our flows are deleted (cookie-masked del-flows)
# and the base flows added back, not timed.
#   A  netfn, in process: nf-flowbench series, one process and connection,
#      times flow_ovs_apply none -> first (install N: one bundle + barrier),
#      first -> second (change), second again (no-op: a dump and an empty
#      diff) and flow_ovs_stats over the N flows.
#   A' netfn, a fresh nf-flowbench per operation (apply first, apply second,
#      apply second, stats second), timed from outside like B: process
#      start, OVSDB and OpenFlow connects included. A fresh process must
#      apply before it reads stats (or it would resync to an empty config),
#      so its read is a no-op apply plus the stats call.
#   B  ovs-ofctl -O OpenFlow13: --bundle add-flows of the N filter flows,
#      --bundle replace-flows of the base flows + second (it dumps and diffs
#      too), the same replace-flows again (no-op), dump-flows (the read; its
#      text goes to a log file). Each is a process start.
# Before the timed rounds the script checks once that A and B install
# byte-identical tables (dump-flows --no-stats, sorted) for both sets, and
# fails loudly if not. Rounds run A A' B, ROUNDS times (default 5); figures
# are medians in ms, with the ratios B/A and B/A' (> 1: netfn faster);
# nothing is asserted about timings. The timed commands run in the script's
# own namespace, not under `ip netns exec` (a mount namespace and bind
# mounts per command would be timed too): they reach the daemons through
# their unix sockets in the run dir, which network namespaces do not
# separate.
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh" "${1:-}"
n=${2:-1000}
rounds=${3:-5}
# shellcheck source=tests/e2e/ovslib.sh
source "$NF_ROOT/tests/e2e/ovslib.sh"

NF_FLOWBENCH=${NF_FLOWBENCH:-$NF_BIN/../bench/nf-flowbench}
[[ -x $NF_FLOWBENCH ]] || fail "$NF_FLOWBENCH is missing: build the nf-flowbench target"
if [[ ! $n =~ ^[0-9]+$ ]] || ((n < 1 || n > 60000)); then
	fail "N must be 1..60000"
fi
if [[ ! $rounds =~ ^[0-9]+$ ]] || ((rounds < 1)); then
	fail "ROUNDS must be >= 1"
fi

BR=nf-br
COOKIE_TAG=0x6e66000000000000
COOKIE_MASK=0xffff000000000000

step "a namespace with a private Open vSwitch, bridge $BR on nf-ovs-rx-p and nf-ovs-tx-p"
vm_create ovs
for p in rx tx; do
	vm_exec ovs ip link add "nf-ovs-$p" type veth peer name "nf-ovs-$p-p"
	vm_exec ovs ip link set "nf-ovs-$p" up
	vm_exec ovs ip link set "nf-ovs-$p-p" up
done
ovs_start ovs
dir=$(ovs_rundir ovs)
files=$NF_WORK/flows
mkdir -p "$files"

# ofctl ARGS...: ovs-ofctl -O OpenFlow13 on this run's daemons (BR means
# RUNDIR/BR.mgmt), from the script's namespace.
ofctl() {
	OVS_RUNDIR=$dir OVS_DBDIR=$dir OVS_LOGDIR=$dir OVS_SYSCONFDIR=$dir/etc \
		ovs-ofctl -O OpenFlow13 --timeout=30 "$@"
}

# bench ARGS...: nf-flowbench on this run's bridge.
bench() {
	"$NF_FLOWBENCH" --rundir "$dir" --bridge "$BR" --port nf-ovs-rx-p --port nf-ovs-tx-p "$n" "$@"
}

# timed CMD...: runs CMD, its output to a file (no subshell inside the timed
# span); T_MS gets its wall-clock time in ms (process start included), T_OUT
# its last line. Everything is appended to commands.log.
T_MS='' T_OUT=''
timed() {
	local t0 t1 d
	t0=${EPOCHREALTIME/./}
	"$@" >"$NF_WORK/timed.out" 2>>"$NF_LOGS/commands.log" || fail "'$*' failed (see commands.log)"
	t1=${EPOCHREALTIME/./}
	d=$((t1 - t0))
	printf -v T_MS '%d.%02d' $((d / 1000)) $((d % 1000 / 10))
	T_OUT=$(tail -n 1 "$NF_WORK/timed.out")
	{
		echo "$T_MS ms: $*"
		tail -n 2 "$NF_WORK/timed.out"
	} >>"$NF_LOGS/commands.log"
}

# field LINE KEY: KEY's value in an nf-flowbench line.
field() {
	sed -nE "s/.* $2=([0-9.]+).*/\1/p" <<<"$1"
}

# table: the bridge's flows without counters or ages, sorted.
table() {
	ofctl dump-flows --no-stats --no-names "$BR" | grep -v '^OFPST_FLOW' | sed 's/^ *//' | sort
}

# ours: how many flows carry our cookie tag.
ours() {
	ofctl dump-flows "$BR" "cookie=$COOKIE_TAG/$COOKIE_MASK" | grep -c 'cookie=0x6e66' || :
}

# reset: only the base flows (our flows deleted by cookie mask, base re-added).
reset() {
	ofctl del-flows "$BR" "cookie=$COOKIE_TAG/$COOKIE_MASK" || fail "del-flows failed"
	ofctl --bundle add-flows "$BR" "$files/base.txt" || fail "add-flows of the base flows failed"
	[[ $(ours) == 2 ]] || fail "reset: expected the 2 base flows, found $(ours)"
}

# expect_n COUNT WHAT: our flows on the bridge number COUNT.
expect_n() {
	local got
	got=$(ours)
	[[ $got == "$1" ]] || fail "$2: expected $1 flows with our cookie, found $got"
}

step "the bridge (nf-flowbench apply none) and the flow files"
assert_ok "nf-flowbench apply none" bench apply none
expect_n 2 "base flows"
: >"$files/base.txt"
for p in rx tx; do
	ofport=$(ovs_vsctl ovs get Interface "nf-ovs-$p-p" ofport)
	echo "table=0,cookie=$COOKIE_TAG,priority=0,in_port=$ofport,actions=in_port" >>"$files/base.txt"
done
bench flows first >"$files/first.txt" || fail "nf-flowbench flows first failed"
{
	cat "$files/base.txt"
	bench flows second
} >"$files/second.txt" || fail "nf-flowbench flows second failed"
cp "$files"/*.txt "$NF_LOGS/"

step "check: netfn and ovs-ofctl install byte-identical tables"
reset
assert_ok "nf-flowbench apply first" bench apply first
table >"$NF_LOGS/table-A-first.txt"
assert_ok "nf-flowbench apply second" bench apply second
table >"$NF_LOGS/table-A-second.txt"
reset
assert_ok "ovs-ofctl add-flows" ofctl --bundle add-flows "$BR" "$files/first.txt"
table >"$NF_LOGS/table-B-first.txt"
assert_ok "ovs-ofctl replace-flows" ofctl --bundle replace-flows "$BR" "$files/second.txt"
table >"$NF_LOGS/table-B-second.txt"
for s in first second; do
	a=$NF_LOGS/table-A-$s.txt b=$NF_LOGS/table-B-$s.txt
	lines=$(wc -l <"$a")
	((lines == n + 2)) || fail "netfn's table ($s) has $lines flows, not $((n + 2)): $a"
	cmp -s "$a" "$b" || fail "the flow tables differ ($s): $(diff "$a" "$b" | head -n 10)"
	log "  $s: $lines flows, identical ($a, $b)"
done

a_ins=() a_chg=() a_nop=() a_st=() a_ens=()
f_ins=() f_chg=() f_nop=() f_st=()
b_ins=() b_chg=() b_nop=() b_st=()
for ((r = 1; r <= rounds; r++)); do
	step "round $r of $rounds: A (netfn, in process)"
	reset
	out=$(bench series) || fail "nf-flowbench series failed"
	echo "A$r $out" >>"$NF_LOGS/runs.txt"
	log "  $out"
	[[ $(field "$out" stats_n) == $((n + 1)) ]] || fail "stats: expected $((n + 1)) counters: $out"
	a_ins+=("$(field "$out" install_ms)") a_chg+=("$(field "$out" change_ms)")
	a_nop+=("$(field "$out" noop_ms)") a_st+=("$(field "$out" stats_ms)")
	a_ens+=("$(field "$out" ensure_ms)")
	expect_n $((n + 2)) "after A"

	step "round $r of $rounds: A' (netfn, a fresh process per operation)"
	reset
	timed bench apply first
	f_ins+=("$T_MS")
	timed bench apply second
	f_chg+=("$T_MS")
	timed bench apply second
	f_nop+=("$T_MS")
	timed bench stats second
	f_st+=("$T_MS")
	echo "A'$r install=${f_ins[-1]} change=${f_chg[-1]} noop=${f_nop[-1]} stats=${f_st[-1]} ($T_OUT)" >>"$NF_LOGS/runs.txt"
	log "  install ${f_ins[-1]} ms, change ${f_chg[-1]} ms, no-op ${f_nop[-1]} ms, read ${f_st[-1]} ms ($T_OUT)"
	expect_n $((n + 2)) "after A'"

	step "round $r of $rounds: B (ovs-ofctl)"
	reset
	timed ofctl --bundle add-flows "$BR" "$files/first.txt"
	b_ins+=("$T_MS")
	timed ofctl --bundle replace-flows "$BR" "$files/second.txt"
	b_chg+=("$T_MS")
	timed ofctl --bundle replace-flows "$BR" "$files/second.txt"
	b_nop+=("$T_MS")
	timed ofctl dump-flows "$BR"
	b_st+=("$T_MS")
	echo "B$r install=${b_ins[-1]} change=${b_chg[-1]} noop=${b_nop[-1]} dump=${b_st[-1]}" >>"$NF_LOGS/runs.txt"
	log "  install ${b_ins[-1]} ms, change ${b_chg[-1]} ms, no-op ${b_nop[-1]} ms, read ${b_st[-1]} ms"
	expect_n $((n + 2)) "after B"
done

declare -A med=()
for v in a_ins a_chg a_nop a_st a_ens f_ins f_chg f_nop f_st b_ins b_chg b_nop b_st; do
	declare -n _arr=$v
	med[$v]=$(median "${_arr[@]}")
	unset -n _arr
done
row() {
	printf '  %-44s %9s %9s %9s %9s\n' "$@"
}
printf '\nflows: %d filters on a private Open vSwitch (userspace datapath), %d rounds, alternating A A'"'"' B; medians in ms\n' \
	"$n" "$rounds"
row "" "install N" "change 1" "no-op" "read N"
row "A  netfn flow_ovs, in process" "${med[a_ins]}" "${med[a_chg]}" "${med[a_nop]}" "${med[a_st]}"
row "A' netfn nf-flowbench, process per operation" "${med[f_ins]}" "${med[f_chg]}" "${med[f_nop]}" "${med[f_st]}"
row "B  ovs-ofctl (process per operation)" "${med[b_ins]}" "${med[b_chg]}" "${med[b_nop]}" "${med[b_st]}"
row "ratio B/A  (> 1: netfn faster)" "$(ratio "${med[b_ins]}" "${med[a_ins]}")" \
	"$(ratio "${med[b_chg]}" "${med[a_chg]}")" "$(ratio "${med[b_nop]}" "${med[a_nop]}")" \
	"$(ratio "${med[b_st]}" "${med[a_st]}")"
row "ratio B/A' (both start a process)" "$(ratio "${med[b_ins]}" "${med[f_ins]}")" \
	"$(ratio "${med[b_chg]}" "${med[f_chg]}")" "$(ratio "${med[b_nop]}" "${med[f_nop]}")" \
	"$(ratio "${med[b_st]}" "${med[f_st]}")"
printf '  A: each apply starts with flow_ovs_ensure (an OVSDB connect and transaction): %s ms of it\n' \
	"${med[a_ens]}"
printf '  B and A'"'"' include process start (and, for A'"'"', the OVSDB ensure and OpenFlow connect);\n'
printf '  A'"'"' read = a no-op apply + flow_ovs_stats; B read = dump-flows (text to a file);\n'
printf '  B install/change/no-op = --bundle add-flows / replace-flows / replace-flows again.\n'
printf '  runs (install, ms): A %s | A'"'"' %s | B %s\n' "${a_ins[*]}" "${f_ins[*]}" "${b_ins[*]}"
