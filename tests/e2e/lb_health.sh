#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Load balancer health checks and a changing backend set, with real
# connections over the overlay. Backends are chosen by label (role=web), the
# frontend is placed on a VM labelled lb=yes, checks run every 500 ms, a
# backend goes after 2 failures and comes back after 2 successes. Checked:
# per-backend connection counters grow by exactly the connections sent; a
# killed backend server stops getting new connections within fall*interval
# (+ slack for a loaded machine) and `lb backends` shows it down; a new VM
# joining with role=web gets traffic without any lb edit; the restarted
# server is back after rise; and one connection held open all along (a line
# echoed every 100 ms) survives every one of those changes.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"
# shellcheck source=tests/e2e/lblib.sh
source "$(dirname "$0")/lblib.sh"

interval_ms=500
fall=2
rise=2
slack_ms=1500 # a loaded CI machine, or a sanitizer build

ctl_start
net_create prod 10.100.0.0/24

step "five VMs join: cli, lb (lb=yes), web1-3 (role=web)"
vm_create cli
vm_create lb
webs=(web1 web2 web3)
for v in "${webs[@]}"; do
	vm_create "$v"
done
agent_join cli "$(token_new prod)"
agent_join lb "$(token_new prod --labels lb=yes)"
for v in "${webs[@]}"; do
	agent_join "$v" "$(token_new prod --labels role=web)"
done
for v in cli lb "${webs[@]}"; do
	node_wait_converged "$v" 60
done
declare -A addr=()
for v in cli lb "${webs[@]}"; do
	addr[$v]=$(overlay_addr "$v")
done
lbaddr=${addr[lb]}
for v in "${webs[@]}"; do
	lb_serve "$v" "${addr[$v]}" 9000 "$v"
done

step "lb web: role=web:9000, round-robin, checks every ${interval_ms}ms, fall $fall, rise $rise"
mark=$(lb_applied lb)
assert_ok "lb create web" nfctl lb create web --network prod --port 8080 --placement lb=yes \
	--backend-selector role=web --backend-port 9000 --algorithm round-robin \
	--check-interval "${interval_ms}ms" --check-timeout 300ms --fall "$fall" --rise "$rise"
wait_for 20 "lb web to be placed on lb" lb_host_is web lb
lb_wait lb "$mark"
spec=$(lb_json web | jq -S 'del(.placements)') || fail "lb show web failed"
log "  lb show web (without placements): $(jq -c . <<<"$spec")"
for v in "${webs[@]}"; do
	wait_for 20 "backend $v to be reported up" lb_backend_health_is web "$v" up
done
wait_for 20 "cli to connect through lb:8080" lb_answers cli "$lbaddr" 8080 1
seq=$(lb_answers cli "$lbaddr" 8080 6) || fail "not every connection answered: $seq"
assert_eq "$(lb_tally <<<"$seq" | tr '\n' ' ')" "web1 2 web2 2 web3 2 " "6 connections over 3 backends"

step "per-backend connection counters grow by exactly the connections sent"
# counters: "node count" per backend, as the hosting node last reported them.
counters() {
	lb_backends web | jq -r 'map("\(.node) \(.connections)") | sort | join(" ")'
}
# The agent reports with each sync (a heartbeat at most): wait until two
# reads a heartbeat and more apart agree.
stable() {
	local a b
	a=$(counters) || return 1
	sleep 1.2
	b=$(counters) || return 1
	[[ $a == "$b" ]] || {
		echo "counters still moving: $a -> $b"
		return 1
	}
	echo "$b"
}
wait_for 20 "the connection counters to settle" stable
base=$(stable) || fail "the connection counters keep moving: $base"
log "  counters before: $base"
seq=$(lb_answers cli "$lbaddr" 8080 30) || fail "not every connection answered: $seq"
declare -A sent=()
while read -r name n; do
	sent[$name]=$n
done < <(lb_tally <<<"$seq")
log "  sent: $(lb_tally <<<"$seq" | tr '\n' ' ')"
want=$(read -ra kv <<<"$base"
	for ((i = 0; i < ${#kv[@]}; i += 2)); do
		printf '%s %s ' "${kv[i]}" $((kv[i + 1] + ${sent[${kv[i]}]:-0}))
	done | sed 's/ $//')
counters_are() {
	local c
	c=$(counters) || return 1
	[[ $c == "$1" ]] || {
		echo "counters $c, expected $1"
		return 1
	}
}
wait_for 10 "the counters to grow by what was sent ($want)" counters_are "$want"
log "  counters after: $(counters)"

step "a connection held open from cli, a line echoed every 100 ms, all through what follows"
ip netns exec "$(vm_ns cli)" "$NF_LBTOOL" hold "$lbaddr" 8080 300 >"$NF_WORK/hold.out" \
	2>"$NF_LOGS/hold.log" &
hold_pid=$!
held() {
	[[ -s $NF_WORK/hold.out ]] || ! _running "$hold_pid"
}
wait_for 10 "the held connection to be answered" held
held_by=$(head -n 1 "$NF_WORK/hold.out")
_running "$hold_pid" || fail "the held connection ended at once: $held_by $(cat "$NF_LOGS/hold.log")"
log "  held connection answered by $held_by"
victim=
for v in "${webs[@]}"; do
	[[ $v == "$held_by" || -n $victim ]] || victim=$v
done
[[ -n $victim ]] || fail "the held connection was answered by '$held_by', not by a backend"

step "kill $victim's server: within fall*interval (+${slack_ms} ms slack) new connections stop reaching it"
lb_serve_stop "$victim"
t_kill=$(lb_now)
limit=$((fall * interval_ms + slack_ms))
last_bad=-1
gone_ms=
while :; do
	t=$(($(lb_now) - t_kill))
	out=$(lb_connect cli "$lbaddr" 8080 3 --timeout 300) || fail "nf-lbtool connect failed: $out"
	if grep -qvE '^web[0-9]$' <<<"$out"; then
		last_bad=$t
	elif [[ -z $gone_ms ]]; then
		# 3 answered in a row over a rotation of 3: it is out. Confirm with two more rounds.
		out=$(lb_connect cli "$lbaddr" 8080 6 --timeout 300) || fail "nf-lbtool connect failed: $out"
		if grep -qvE '^web[0-9]$' <<<"$out"; then
			last_bad=$t
		else
			gone_ms=$t
			break
		fi
	fi
	((t < limit + 8000)) || fail "connections still reach $victim's dead server $t ms after the kill: $out"
done
log "  $victim out of the rotation between $last_bad and $gone_ms ms after the kill (limit $limit ms)"
((gone_ms <= limit)) ||
	fail "$victim left the rotation only ${gone_ms} ms after its server died; expected <= $limit ms"
! grep -qx "$victim" <<<"$out" || fail "a connection still reached $victim: $out"
wait_for 10 "lb backends to show $victim down" lb_backend_health_is web "$victim" down
log "  lb backends: $(lb_backends web)"

step "a new VM with role=web joins and gets traffic, with no lb edit"
audit_lb=$(audit_count '^lb\.')
((audit_lb >= 1)) || fail "no lb audit entry (lb.create) before web4 joined"
vm_create web4
lb_serve web4 0.0.0.0 9000 web4
vm_join web4 prod --labels role=web
t_join=$(lb_now)
has_web4() {
	local out
	out=$(lb_connect cli "$lbaddr" 8080 3 --timeout 300) || return 1
	grep -qx web4 <<<"$out" || {
		echo "$out"
		return 1
	}
}
wait_for 20 "connections through lb to reach web4" has_web4
log "  web4 reached $(($(lb_now) - t_join)) ms after its node converged"
wait_for 10 "lb backends to show web4 up" lb_backend_health_is web web4 up
assert_eq "$(lb_json web | jq -S 'del(.placements)')" "$spec" "lb web's spec after web4 joined"
assert_eq "$(audit_count '^lb\.')" "$audit_lb" "lb audit entries after web4 joined"

step "restart $victim's server: back in the rotation after rise"
lb_serve "$victim" "${addr[$victim]}" 9000 "$victim"
t_back=$(lb_now)
has_victim() {
	local out
	out=$(lb_connect cli "$lbaddr" 8080 4 --timeout 300) || return 1
	grep -qx "$victim" <<<"$out" || {
		echo "$out"
		return 1
	}
}
wait_for 20 "connections to reach $victim again" has_victim
log "  $victim back $(($(lb_now) - t_back)) ms after its server restarted (rise*interval $((rise * interval_ms)) ms)"
wait_for 10 "lb backends to show $victim up" lb_backend_health_is web "$victim" up
seq=$(lb_answers cli "$lbaddr" 8080 8) || fail "not every connection answered: $seq"
assert_eq "$(lb_tally <<<"$seq" | tr '\n' ' ')" "web1 2 web2 2 web3 2 web4 2 " \
	"8 connections over 4 backends"

step "the held connection survived every change, answered by $held_by all along"
_running "$hold_pid" || {
	rc=0
	wait "$hold_pid" || rc=$?
	fail "the held connection ended early (exit $rc): $(cat "$NF_LOGS/hold.log")"
}
kill -TERM "$hold_pid"
rc=0
wait "$hold_pid" || rc=$?
log "  hold: $(cat "$NF_LOGS/hold.log")"
((rc == 0)) || fail "the held connection broke or moved (exit $rc): $(cat "$NF_LOGS/hold.log")"
ctl_check "the whole scenario"
