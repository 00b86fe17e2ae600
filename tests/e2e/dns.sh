#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Overlay DNS: an "upstream" namespace on the underlay runs a dnsmasq of the
# test's own (it answers up.example.test); four VMs whose resolv.conf points at
# it join a network with two DNS replicas. Every VM's resolver then answers
# the names of all nodes (getent and dig), custom CNAME, SRV, TXT, A and AAAA
# records, and still up.example.test, which the overlay servers forward to the
# upstream. A lookup loop sees no failed lookup while records are added and
# deleted. Bad records are refused naming the field, and nothing of them is
# stored or served. A deleted node's name stops resolving, a renamed node
# resolves under its new name only. An agent stopped with --cleanup-on-exit
# leaves its VM's resolv.conf byte for byte as it was; the host's own
# resolv.conf is never touched.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"
# shellcheck source=tests/e2e/dnslib.sh
source "$(dirname "$0")/dnslib.sh"

host_resolv0=$(sha256sum </etc/resolv.conf)
up_name=up.example.test
up_addr=192.0.2.55

step "the upstream resolver: dnsmasq in its own namespace, answering $up_name"
vm_create upstream
upstream_start upstream "$up_name=$up_addr"
up_ip=$(vm_ip upstream)

ctl_start
net_create prod 10.100.0.0/24 --dns-replicas 2

step "four VMs with their own resolv.conf (the upstream) join; agents with --cleanup-on-exit"
vms=(alpha bravo charlie delta)
for v in "${vms[@]}"; do
	vm_create "$v"
	vm_resolv "$v" "# $v's resolver before netfn: the test's upstream" "search example.test" \
		"nameserver $up_ip" "options edns0"
	cp "$(vm_resolv_path "$v")" "$NF_WORK/$v/resolv.orig"
	wait_for 10 "$v to resolve $up_name through the upstream" getent_is "$v" "$up_name" "$up_addr"
	agent_join "$v" "$(token_new prod)" --cleanup-on-exit
done
declare -A addr=()
for v in "${vms[@]}"; do
	node_wait_converged "$v" 60
	addr[$v]=$(overlay_addr "$v")
done

step "dns show: the zone, two servers on two nodes, an A record per node"
zone=$(dns_zone) || fail "dns show failed: $zone"
assert_eq "$zone" prod.netfn.internal "the zone of network prod (default domain)"
wait_for 20 "two DNS servers to be placed" dns_servers_count 2
mapfile -t servers < <(dns_servers)
log "  servers: ${servers[*]}"
declare -A is_server=()
srv_addrs=()
for s in "${servers[@]}"; do
	n=${s%% *}
	a=${s#* }
	[[ -n ${addr[$n]:-} ]] || fail "dns show: a server on '$n', which is not a node"
	[[ -z ${is_server[$n]:-} ]] || fail "dns show: both replicas on $n"
	assert_eq "$a" "${addr[$n]}" "dns show: the address of the server on $n"
	is_server[$n]=1
	srv_addrs+=("$a")
done
recs=$(dns_records) || fail "dns show failed"
for v in "${vms[@]}"; do
	jq -e --arg n "$v" --arg a "${addr[$v]}" 'any(.[]; .rel == $n and .type == "A" and
		.value == $a and .automatic)' <<<"$recs" >/dev/null ||
		fail "dns show: no automatic A record $v -> ${addr[$v]}: $recs"
done
# The roles of the VMs: the deleted and the torn down ones serve nothing, so
# that neither step moves a server; a serving node is renamed.
nonsrv=()
for v in "${vms[@]}"; do
	[[ -n ${is_server[$v]:-} ]] || nonsrv+=("$v")
done
tgt=${servers[0]%% *} # the CNAME and SRV target: stays to the end
ren=${servers[1]%% *} # renamed
td=${nonsrv[0]}       # its agent torn down at the end
del=${nonsrv[1]}      # deleted
log "  CNAME/SRV target $tgt, renamed $ren, torn down $td, deleted $del"

step "every VM's resolv.conf: the servers first, then the VM's own lines"
for v in "${vms[@]}"; do
	wait_for 20 "$v's resolver to answer $tgt.$zone" resolves "$v" "$tgt.$zone" "${addr[$tgt]}"
	f=$(cat "$(vm_resolv_path "$v")")
	first=$(awk '$1 == "nameserver" {print $2; exit}' <<<"$f")
	[[ " ${srv_addrs[*]} " == *" $first "* ]] ||
		fail "$v's resolv.conf: the first nameserver is '$first', not a DNS server (${srv_addrs[*]}): $f"
	[[ $f == *"$(cat "$NF_WORK/$v/resolv.orig")" ]] ||
		fail "$v's resolv.conf does not end with the VM's own lines: $f"
done
log "  $td's resolv.conf:"$'\n'"$(cat "$(vm_resolv_path "$td")")"

step "names of all nodes resolve from every node (getent hosts, dig), and at each server"
for v in "${vms[@]}"; do
	for n in "${vms[@]}"; do
		wait_for 10 "$v to resolve $n.$zone" resolves "$v" "$n.$zone" "${addr[$n]}"
	done
done
for s in "${srv_addrs[@]}"; do
	for n in "${vms[@]}"; do
		assert_ok "server $s answers $n.$zone" dig_is "$td" "$n.$zone" "${addr[$n]}" "@$s"
	done
done
log "  all ${#vms[@]} names resolve from all ${#vms[@]} nodes"

step "a non-overlay name still resolves: the servers forward $up_name to the upstream"
for v in "${vms[@]}"; do
	assert_ok "$v resolves $up_name" getent_is "$v" "$up_name" "$up_addr"
done
for s in "${srv_addrs[@]}"; do
	assert_ok "server $s forwards $up_name" dig_is "$td" "$up_name" "$up_addr" "@$s"
done

# change_wait WHAT CHECK...: waits (10 s at most, the foundation's figure for a
# change to reach every node) until CHECK holds at every server (CHECK
# gets the server's "@addr" appended) and logs how long that took.
change_wait() {
	local what=$1 t0 s
	shift
	t0=$(_now_ms)
	for s in "${srv_addrs[@]}"; do
		wait_for 10 "$what at server $s" "$@" "@$s"
	done
	log "  $what at every server $(($(_now_ms) - t0)) ms after the change"
}
# dig_at NAME TYPE EXPECTED @SERVER: dig from $td at SERVER (for change_wait).
dig_at() {
	dig_is "$td" "$1" "$3" "$4" "$2"
}

step "custom records: CNAME www -> $tgt, SRV _http._tcp, A, AAAA, TXT"
assert_ok "dns record add www CNAME" nfctl dns record add www CNAME "$tgt" --network prod
change_wait "www CNAME" dig_at "www.$zone" CNAME "$tgt.$zone."
assert_ok "dns record add _http._tcp SRV" nfctl dns record add _http._tcp SRV "10 5 8080 $tgt" \
	--network prod --ttl 30
change_wait "_http._tcp SRV" dig_at "_http._tcp.$zone" SRV "10 5 8080 $tgt.$zone."
assert_ok "dns record add api A" nfctl dns record add api A 10.100.0.200 --network prod
assert_ok "dns record add api6 AAAA" nfctl dns record add api6 AAAA fd00:0:0::7 --network prod
assert_ok "dns record add @ TXT" nfctl dns record add @ TXT "netfn test zone" --network prod
change_wait "api A" dig_at "api.$zone" A 10.100.0.200
change_wait "api6 AAAA" dig_at "api6.$zone" AAAA fd00::7
change_wait "apex TXT" dig_at "$zone" TXT '"netfn test zone"'
for v in "${vms[@]}"; do
	assert_ok "$v resolves www.$zone (CNAME)" dig_is "$v" "www.$zone" "$tgt.$zone. ${addr[$tgt]}"
	assert_ok "$v resolves www.$zone with getent" getent_is "$v" "www.$zone" "${addr[$tgt]}"
	assert_ok "$v resolves the SRV record" dig_is "$v" "_http._tcp.$zone" "10 5 8080 $tgt.$zone." "" SRV
done
recs=$(dns_records) || fail "dns show failed"
log "  records: $(jq -c '[.[] | select(.automatic | not) | [.id, .rel, .type, .value, .ttl]]' <<<"$recs")"
assert_eq "$(jq -r '.[] | select(.rel == "_http._tcp") | .ttl' <<<"$recs")" 30 "the SRV record's ttl"
assert_eq "$(jq -r '.[] | select(.rel == "www") | .ttl' <<<"$recs")" 60 "the CNAME's default ttl"
list=$(nfctl dns record list --network prod) || fail "dns record list failed: $list"
for n in www _http._tcp api api6; do
	assert_contains "$list" "$n" "dns record list"
done

step "a lookup loop on $td sees no failure while records are added and deleted"
# _lookups STOP NAME ADDR CNAME_NAME CNAME_ANSWER SERVER...: runs in the VM;
# one line per lookup: "ok ..." or "FAIL time what: output".
_lookups() {
	local stop=$1 name=$2 addr=$3 cname=$4 canswer=$5 out s a
	shift 5
	while [[ ! -e $stop ]]; do
		out=$(timeout 5 getent hosts "$name" 2>&1)
		read -r a _ <<<"$out"
		if [[ $a == "$addr" ]]; then echo "ok getent"; else
			echo "FAIL $(date +%T.%N) getent hosts $name: $out"
		fi
		for s in "$@"; do
			out=$(dig +short +time=1 +tries=1 "@$s" "$cname" A 2>&1 | tr '\n' ' ')
			if [[ $out == "$canswer " ]]; then echo "ok dig @$s"; else
				echo "FAIL $(date +%T.%N) dig @$s $cname: $out"
			fi
		done
		sleep 0.05
	done
}
ip netns exec "$(vm_ns "$td")" bash -c "$(declare -f _lookups); _lookups \"\$@\"" _ \
	"$NF_WORK/loop.stop" "$tgt.$zone" "${addr[$tgt]}" "www.$zone" "$tgt.$zone. ${addr[$tgt]}" \
	"${srv_addrs[@]}" >"$NF_WORK/loop.out" 2>&1 &
loop_pid=$!
t_loop=$(_now_ms)
sleep 1
changes=(
	"loop1 A 10.100.0.201|10.100.0.201"
	"loop2 AAAA fd00::5|fd00::5"
	"loop3 CNAME $tgt|$tgt.$zone."
	"loop4 TXT v=1 loop|\"v=1 loop\""
	"_loop._udp SRV 1 1 53 $tgt|1 1 53 $tgt.$zone."
	"loop5 A 10.100.0.202|10.100.0.202"
)
for round in 1 2; do
	for c in "${changes[@]}"; do
		spec=${c%%|*}
		want=${c#*|}
		read -r n t val <<<"$spec"
		assert_ok "dns record add $spec" nfctl dns record add "$n" "$t" "$val" --network prod
		change_wait "$n $t added (round $round)" dig_at "$n.$zone" "$t" "$want"
	done
	for c in "${changes[@]}"; do
		read -r n t _ <<<"${c%%|*}"
		id=$(dns_record_id "$n" "$t") || fail "$id"
		assert_ok "dns record delete $id ($n $t)" nfctl dns record delete "$id" --network prod
		change_wait "$n $t deleted (round $round)" dig_at "$n.$zone" "$t" ""
	done
done
sleep 1
touch "$NF_WORK/loop.stop"
_reap "$loop_pid" 15 || fail "the lookup loop failed: $(tail -n 5 "$NF_WORK/loop.out")"
secs=$((($(_now_ms) - t_loop) / 1000))
total=$(grep -c . "$NF_WORK/loop.out") || true
fails=$(grep -c '^FAIL' "$NF_WORK/loop.out") || true
log "  $total lookups in ${secs} s during $((${#changes[@]} * 4)) record changes, $fails failed"
((fails == 0)) || fail "$fails of $total lookups failed during the record changes: \
$(grep '^FAIL' "$NF_WORK/loop.out" | head -n 10)"
((total >= 10 * secs)) || fail "only $total lookups in $secs s: the loop did not run at 10/s"

step "bad records are refused naming the field; nothing is stored or served"
before=$(dns_records | jq -S 'sort_by(.id)') || fail "dns show failed"
refused name nfctl dns record add a..b A 10.100.0.50 --network prod
refused name nfctl dns record add "$tgt" CNAME www --network prod
refused value nfctl dns record add bad3 A 1.2.3 --network prod
refused value nfctl dns record add _bad._tcp SRV "0 0 70000 $tgt" --network prod
refused value nfctl dns record add bad5 TXT $'bell\adings' --network prod
refused type nfctl dns record add bad6 MX "10 $tgt" --network prod
refused network nfctl dns record add bad7 A 10.100.0.51 --network nosuch
after=$(dns_records | jq -S 'sort_by(.id)') || fail "dns show failed"
[[ $after == "$before" ]] || fail "the zone changed after refused records: $(diff <(echo "$before") <(echo "$after"))"
for n in bad3 _bad._tcp bad5 bad6 bad7; do
	for s in "${srv_addrs[@]}"; do
		assert_ok "server $s serves nothing for $n" dig_is "$td" "$n.$zone" "" "@$s" ANY
	done
done
assert_ok "server ${srv_addrs[0]} still answers $tgt.$zone" \
	dig_is "$td" "$tgt.$zone" "${addr[$tgt]}" "@${srv_addrs[0]}"

step "node delete $del: its name stops resolving everywhere"
assert_ok "node delete $del" nfctl node delete "$del"
t0=$(_now_ms)
for v in "${vms[@]}"; do
	[[ $v == "$del" ]] && continue
	wait_for 10 "$del.$zone to stop resolving on $v" resolves_not "$v" "$del.$zone"
done
log "  $del.$zone gone everywhere $(($(_now_ms) - t0)) ms after the delete"
agent_stop "$del" || log "  $del's agent exited with status $? after its node was deleted"
recs=$(dns_records) || fail "dns show failed"
! jq -e --arg n "$del" 'any(.[]; .rel == $n)' <<<"$recs" >/dev/null ||
	fail "dns show still has a record for the deleted node $del: $recs"
live=()
for v in "${vms[@]}"; do
	[[ $v == "$del" ]] || live+=("$v")
done

step "node rename $ren renamed: the new name resolves, the old one no longer"
assert_ok "node rename $ren renamed" nfctl node rename "$ren" renamed
t0=$(_now_ms)
for v in "${live[@]}"; do
	wait_for 10 "renamed.$zone to resolve on $v" resolves "$v" "renamed.$zone" "${addr[$ren]}"
	wait_for 10 "$ren.$zone to stop resolving on $v" resolves_not "$v" "$ren.$zone"
done
log "  the rename reached every node in $(($(_now_ms) - t0)) ms"
assert_eq "$(node_field renamed .overlay_address | sed 's,/.*,,')" "${addr[$ren]}" \
	"node show renamed: the overlay address"
for v in "${live[@]}"; do
	[[ $v == "$ren" ]] && n=renamed || n=$v
	assert_ok "$td resolves $n.$zone after the rename" resolves "$td" "$n.$zone" "${addr[$v]}"
done
assert_ok "$td resolves $up_name after everything" getent_is "$td" "$up_name" "$up_addr"

step "$td's agent exits with --cleanup-on-exit: its resolv.conf is restored byte for byte"
agent_stop "$td" TERM || fail "$td's agent exited with status $? on SIGTERM"
cmp "$NF_WORK/$td/resolv.orig" "$(vm_resolv_path "$td")" ||
	fail "$td's resolv.conf differs from before the agent: $(diff "$NF_WORK/$td/resolv.orig" \
		"$(vm_resolv_path "$td")")"
assert_ok "$td still resolves $up_name (upstream only)" getent_is "$td" "$up_name" "$up_addr"
assert_ok "$td no longer resolves overlay names" resolves_not "$td" "$tgt.$zone"
for v in "${live[@]}"; do
	[[ $v == "$td" ]] && continue
	[[ $v == "$ren" ]] && n=renamed || n=$v
	assert_ok "$v still resolves $tgt.$zone" resolves "$v" "$tgt.$zone" "${addr[$tgt]}"
done
assert_eq "$(sha256sum </etc/resolv.conf)" "$host_resolv0" "the host's /etc/resolv.conf"
ctl_check "the whole scenario"
