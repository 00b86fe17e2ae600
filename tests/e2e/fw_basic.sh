#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Firewall basics, with real packets over the overlay between two VMs: a
# policy selected by label puts accept, drop and reject rules on the server;
# the accepted port connects, the dropped one times out, the rejected one is
# refused at once (each port has a listener, so a refusal can only come from
# the firewall), and rule counters grow by at least the packets sent. Old
# platform rules given with --from-json ("acpt", "N:M" ranges, ip_range)
# work. Invalid rules and policies are refused with the offending field
# named, and neither the policies nor the audit log change.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"

command -v ncat >/dev/null || fail "ncat is missing: run scripts/deps.sh"
command -v nft >/dev/null || fail "nft is missing: run scripts/deps.sh"

ctl_start
net_create prod 10.100.0.0/24

step "two VMs join: srv (role=srv) and cli (role=cli)"
vm_create srv
vm_create cli
vm_join srv prod --labels role=srv
vm_join cli prod --labels role=cli
srv=$(overlay_addr srv)
cli=$(overlay_addr cli)
ping_mesh srv cli

step "listeners on srv; with no policy every port connects over the overlay"
ports=(8080 8081 8082 8083 9000 9001)
for p in "${ports[@]}"; do
	vm_listen srv "$p"
done
for p in "${ports[@]}"; do
	wait_for 20 "cli to connect to srv:$p before any policy" tcp_expect cli "$srv" "$p" open
done

step "a policy for role=srv: 8080 accepted from role=cli, 8081 dropped (rules file), 8082 rejected, icmp counted"
cat >"$NF_WORK/rules.json" <<'EOF'
[
  {"direction": "in", "protocol": "tcp", "src": ["role=cli"], "dst_port": "8080", "action": "accept"},
  {"direction": "in", "protocol": "tcp", "dst_port": "8081", "action": "drop"}
]
EOF
fw_mark srv
assert_ok "policy create web" nfctl firewall policy create web --network prod --selector role=srv \
	--rules-file "$NF_WORK/rules.json"
assert_ok "rule add: reject 8082" nfctl firewall rule add web --direction in --protocol tcp \
	--port 8082 --action reject --log-prefix "nf-rej "
assert_ok "rule add: icmp accept at position 1" nfctl firewall rule add web --direction in \
	--protocol icmp --action accept --position 1
fw_wait srv

policy=$(nfctl --json firewall policy show web) || fail "policy show web failed"
log "  policy show web: $(jq -c . <<<"$policy")"
assert_eq "$(jq -r '.name + " " + .network + " " + (.rules | length | tostring)' <<<"$policy")" \
	"web prod 4" "policy show web: name, network, rule count"
assert_eq "$(jq -r '.selector | to_entries | map("\(.key)=\(.value)") | join(",")' <<<"$policy")" \
	"role=srv" "policy show web: selector"
assert_eq "$(jq -r '[.rules[] | .protocol + ":" + .dst_port + ":" + .action] | join(" ")' <<<"$policy")" \
	"icmp::accept tcp:8080:accept tcp:8081:drop tcp:8082:reject" "policy show web: rules in order"
assert_eq "$(jq -r '.default_deny' <<<"$policy")" false "policy show web: default_deny"
list=$(nfctl --json firewall policy list --network prod) || fail "policy list failed"
assert_eq "$(jq -r '[.[].name] | join(",")' <<<"$list")" web "policy list --network prod"
t=$(fw_table srv) || fail "srv has no table inet netfn after the policy was applied"
log "  srv's table inet netfn: $(wc -l <<<"$t") lines"

step "real packets: 8080 connects, 8081 times out, 8082 is refused at once, 8083 (no rule) connects"
assert_tcp cli "$srv" 8080 open "the accepted port"
assert_tcp cli "$srv" 8081 timeout "the dropped port"
t0=$(_now_ms)
assert_tcp cli "$srv" 8082 refused "the rejected port"
dt=$(($(_now_ms) - t0))
((dt < 2000)) || fail "the rejected port took $dt ms to refuse; a reject answers at once"
log "  the rejected port was refused in $dt ms"
assert_tcp cli "$srv" 8083 open "a port no rule mentions (no default deny)"
assert_ok "srv still pings cli over the overlay" vm_ping srv "$cli"

step "the dropped rule's counter grows by at least the SYNs sent; icmp's by the pings sent"
drop_id=$(fw_rule_id web '.dst_port == "8081"') || fail "no rule for 8081 in rule list: $drop_id"
icmp_id=$(fw_rule_id web '.protocol == "icmp"') || fail "no icmp rule in rule list: $icmp_id"
# Counters reach the controller with the agent's next sync; wait for them to settle.
sleep 2.5
d0=$(fw_counter web "$drop_id")
i0=$(fw_counter web "$icmp_id")
b0=$(fw_counter web "$drop_id" bytes)
log "  before: rule $drop_id (drop 8081) packets $d0 bytes $b0; rule $icmp_id (icmp) packets $i0"
for _ in 1 2 3; do
	assert_tcp cli "$srv" 8081 timeout "the dropped port (counted)"
done
vm_exec cli ping -n -q -c 5 -i 0.2 -W 1 "$srv" >/dev/null || fail "cli cannot ping srv (icmp accepted)"
wait_for 20 "rule $drop_id's packets to grow by >= 3 (3 connects, one SYN or more each)" \
	fw_counter_atleast web "$drop_id" $((d0 + 3))
wait_for 20 "rule $icmp_id's packets to grow by >= 5 (5 echo requests)" \
	fw_counter_atleast web "$icmp_id" $((i0 + 5))
wait_for 20 "rule $drop_id's bytes to grow by >= 3 * 40" \
	fw_counter_atleast web "$drop_id" $((b0 + 120)) bytes
log "  after: rule $drop_id packets $(fw_counter web "$drop_id"), rule $icmp_id packets $(fw_counter web "$icmp_id")"
nfctl firewall rule list web >"$NF_WORK/rule-list.txt" || fail "firewall rule list web (table) failed"
log "  firewall rule list web:"$'\n'"$(cat "$NF_WORK/rule-list.txt")"

step "old platform rules with --from-json: 'acpt', 'N:M' ranges, ip_range"
fw_change srv nfctl firewall rule add web --from-json \
	"{\"direction\":\"in\",\"protocol\":\"tcp\",\"dst_port\":\"9001\",\"dst_src\":\"src\",\"ip_range\":\"$cli/32\",\"action\":\"acpt\"}"
fw_change srv nfctl firewall rule add web --from-json \
	'{"direction":"in","protocol":"tcp","dst_port":"9000:9001","ip_range":"0.0.0.0/0","action":"drop"}'
rules=$(fw_rules web) || fail "rule list web failed"
log "  rules: $rules"
acpt=$(jq -c '[.[] | select(.dst_port == "9001")][0]' <<<"$rules")
assert_eq "$(jq -r .action <<<"$acpt")" accept "the 'acpt' rule's action"
assert_eq "$(jq -r '.src | join(",")' <<<"$acpt")" "$cli/32" "the 'acpt' rule's source (ip_range)"
range=$(jq -c '[.[] | select(.action == "drop" and (.dst_port | test("9000")))][0]' <<<"$rules")
assert_eq "$(jq -r .dst_port <<<"$range")" 9000-9001 "the '9000:9001' rule's dst_port"
assert_tcp cli "$srv" 9001 open "9001: accepted from cli by the old-shape rule"
assert_tcp cli "$srv" 9000 timeout "9000: dropped by the old-shape range"
assert_tcp cli "$srv" 8080 open "8080 still accepted"

step "rule del: the 8081 drop goes, and 8081 connects again"
fw_change srv nfctl firewall rule del web "$drop_id"
assert_tcp cli "$srv" 8081 open "8081 after its drop rule was deleted"
assert_api_error NOT_FOUND id nfctl firewall rule del web "$drop_id"

# ---- invalid input ----------------------------------------------------------

# snapshot FILE: the policies (without counters, which move with traffic) and the audit log.
snapshot() {
	{
		echo "== policies"
		nfctl --json firewall policy list | jq -S 'walk(if type == "object" then
			del(.packets, .bytes) else . end)'
		echo "== audit"
		nfctl --json audit list --limit 10000 | jq -S .
	} >"$1" || fail "cannot take a snapshot of the policies and the audit log"
}

unchanged() {
	snapshot "$NF_WORK/after"
	diff -u "$NF_WORK/before" "$NF_WORK/after" >"$NF_LOGS/snapshot.diff" ||
		fail "$1 changed the store: $(head -c 3000 "$NF_LOGS/snapshot.diff")"
	log "policies and audit log unchanged after $1"
}

# refused FIELDS CMD...: a netfnctl call refused, naming one of FIELDS
# ("a|b"). The controller's refusal is "netfnctl: error: STATUS: FIELD:
# message" (exit 1; FIELD may be a dotted path ending in the field); a value
# netfnctl cannot parse itself may be refused before sending (exit 2), naming
# the flag or field.
refused() {
	local fields=$1 out err rc=0 line f ok=0
	shift
	out=$("$@" 2>"$NF_WORK/stderr") || rc=$?
	err=$(cat "$NF_WORK/stderr")
	line=$(grep -m1 '^netfnctl: error: ' <<<"$err") ||
		fail "'$*' (exit $rc): no 'netfnctl: error: ' line: $err"
	log "  $(printf '%q ' "${@:2}")-> exit $rc: $line"
	[[ -z $out ]] || fail "'$*' printed on stdout: $out"
	IFS='|' read -ra fs <<<"$fields"
	if [[ $line =~ ^netfnctl:\ error:\ [A-Z_]+:\ ([][A-Za-z0-9_.-]+): ]]; then
		local got=${BASH_REMATCH[1]}
		((rc == 1)) || fail "'$*' should exit 1 on an API error, exited $rc: $err"
		for f in "${fs[@]}"; do
			[[ $got == "$f" || $got == *."$f" ]] && ok=1
		done
	else
		((rc == 1 || rc == 2)) || fail "'$*' should exit 1 or 2, exited $rc: $err"
		for f in "${fs[@]}"; do
			grep -qiE -- "(--|\b)(${f}|${f//_/-})\b" <<<"$line" && ok=1
		done
	fi
	((ok)) || fail "'$*' should name field '$fields': $line"
}

step "invalid rules are refused with the field named; the policies and the audit log are unchanged"
snapshot "$NF_WORK/before"
add=(nfctl firewall rule add web --direction in)
refused dst_port "${add[@]}" --protocol tcp --port 70000 --action accept
refused dst_port "${add[@]}" --protocol tcp --port 65536 --action accept
refused dst_port "${add[@]}" --protocol udp --port 9000-8000 --action accept
refused dst_port "${add[@]}" --protocol tcp --port 80,abc --action accept
refused dst_port "${add[@]}" --protocol tcp --port "80;rm -rf /" --action accept
refused dst_port "${add[@]}" --protocol icmp --port 22 --action accept
refused dst_port "${add[@]}" --protocol icmpv6 --port 22 --action drop
refused src "${add[@]}" --protocol tcp --src 10.0.0.300/32 --action accept
refused src "${add[@]}" --protocol tcp --src 10.0.0.0/33 --action accept
refused src "${add[@]}" --protocol tcp --src "10.0.0.0/8;id" --action accept
refused src "${add[@]}" --protocol tcp --src 'role="web"' --action accept
refused dst "${add[@]}" --protocol tcp --dst abc/8 --action accept
refused dst "${add[@]}" --protocol tcp --dst 2001:db8::/129 --action accept
refused protocol "${add[@]}" --protocol foo --action accept
refused protocol "${add[@]}" --protocol 'tcp;udp' --action accept
refused direction nfctl firewall rule add web --direction sideways --protocol tcp --action accept
refused action "${add[@]}" --protocol tcp --port 80 --action explode
refused rate "${add[@]}" --protocol tcp --action accept --rate abc
refused rate "${add[@]}" --protocol tcp --action accept --rate 10/fortnight
refused log_prefix "${add[@]}" --protocol tcp --action drop --log-prefix 'say "hi"'
refused log_prefix "${add[@]}" --protocol tcp --action drop --log-prefix "it's"
refused log_prefix "${add[@]}" --protocol tcp --action drop --log-prefix 'a; drop'
refused log_prefix "${add[@]}" --protocol tcp --action drop --log-prefix $'line\nbreak'
refused log_prefix "${add[@]}" --protocol tcp --action drop --log-prefix "$(printf 'x%.0s' {1..200})"
refused position "${add[@]}" --protocol tcp --action accept --position 99
refused dst_port nfctl firewall rule add web --from-json \
	'{"direction":"in","protocol":"tcp","dst_port":"70000","ip_range":"0.0.0.0/0","action":"drop"}'
refused dst_port nfctl firewall rule add web --from-json \
	'{"direction":"in","protocol":"tcp","dst_port":"9:8","ip_range":"0.0.0.0/0","action":"drop"}'
refused 'src|dst|ip_range' nfctl firewall rule add web --from-json \
	'{"direction":"in","protocol":"tcp","dst_port":"80","ip_range":"1.2.3.4/40","action":"drop"}'
refused action nfctl firewall rule add web --from-json \
	'{"direction":"in","protocol":"tcp","dst_port":"80","ip_range":"0.0.0.0/0","action":"acept"}'
assert_api_error NOT_FOUND - nfctl firewall rule add nosuch --direction in --protocol tcp --action accept
assert_api_error NOT_FOUND id nfctl firewall rule del web 999999
unchanged "invalid rules"

step "invalid policies are refused with the field named; nothing is stored"
mk=(nfctl firewall policy create)
# shellcheck disable=SC2016 # a literal '$(id)': it must be refused, never run
for name in 'a"b' "a'b" 'a;b' $'a\nb' 'a b' '' 'a$(id)' "$(printf 'n%.0s' {1..65})"; do
	refused name "${mk[@]}" --network prod -- "$name"
done
refused name "${mk[@]}" web --network prod # exists
refused network "${mk[@]}" p1 --network nosuch
refused selector "${mk[@]}" p1 --network prod --selector 'bad key=v'
refused selector "${mk[@]}" p1 --network prod --selector 'k=v;rm'
refused selector "${mk[@]}" p1 --network prod --selector $'k=v\nx=y'
cat >"$NF_WORK/bad-rules.json" <<'EOF'
[
  {"direction": "in", "protocol": "tcp", "dst_port": "80", "action": "accept"},
  {"direction": "in", "protocol": "tcp", "dst_port": "70000", "action": "accept"}
]
EOF
refused dst_port "${mk[@]}" p1 --network prod --rules-file "$NF_WORK/bad-rules.json"
cat >"$NF_WORK/bad-rules.json" <<'EOF'
[{"direction": "in", "protocol": "tcp", "src": ["10.1.2.3/99"], "action": "accept"}]
EOF
refused src "${mk[@]}" p1 --network prod --rules-file "$NF_WORK/bad-rules.json"
cat >"$NF_WORK/bad-rules.json" <<'EOF'
[{"direction": "in", "protocol": "tcp", "action": "drop", "log_prefix": "x\"; flush ruleset; \""}]
EOF
refused log_prefix "${mk[@]}" p1 --network prod --rules-file "$NF_WORK/bad-rules.json"
printf '[{"direction": "in", ' >"$NF_WORK/bad-rules.json"
assert_fails "a truncated rules file" "${mk[@]}" p1 --network prod --rules-file "$NF_WORK/bad-rules.json"
assert_api_error NOT_FOUND - nfctl firewall policy show nosuch
assert_api_error NOT_FOUND - nfctl firewall policy delete nosuch
unchanged "invalid policies"

step "after all that, the firewall on srv is as it was, and still converged"
assert_ok "srv's firewall converged" fw_converged srv
assert_tcp cli "$srv" 8080 open "8080 still accepted"
assert_tcp cli "$srv" 8082 refused "8082 still rejected"

step "policy delete: every port connects again"
fw_change srv nfctl firewall policy delete web
for p in 8080 8082 9000 9001; do
	wait_for 20 "cli to connect to srv:$p after the policy was deleted" tcp_expect cli "$srv" "$p" open
done
assert_eq "$(nfctl --json firewall policy list | jq 'length')" 0 "policies after delete"
# No policy selects srv any more: the agent removes its table, no hook of ours is left.
no_table() { ! fw_table srv >/dev/null 2>&1; }
wait_for 20 "srv's table inet netfn to be removed once no policy selects it" no_table
ctl_check "the whole scenario"
