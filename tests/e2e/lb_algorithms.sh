#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Load balancer algorithms, with real connections over the overlay: a client
# VM, three backend VMs labelled role=web each running a server that answers
# with its VM's name, and the frontends placed on a fifth VM labelled lb=yes,
# so every connection crosses WireGuard twice (client -> frontend -> backend).
# round-robin: 9 sequential connections give each backend exactly 3, in a
# strict rotation; source-hash: every connection from one client lands on one
# backend; random: 60 connections reach all three; explicit backends weighted
# 3,1,1 over round-robin: 10 connections give exactly 6/2/2; UDP round-robin
# rotates per new flow. Invalid specs are refused with the field named, and
# the list of load balancers and the audit log do not change.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"
# shellcheck source=tests/e2e/lblib.sh
source "$(dirname "$0")/lblib.sh"

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

step "each backend serves its name on its overlay address, tcp and udp port 9000"
for v in "${webs[@]}"; do
	lb_serve "$v" "${addr[$v]}" 9000 "$v"
	lb_serve "$v" "${addr[$v]}" 9000 "$v" --udp
done
for v in "${webs[@]}"; do
	wait_for 20 "cli to reach $v's server directly over the overlay" \
		lb_answers cli "${addr[$v]}" 9000 1
done

step "four load balancers on lb: round-robin, source-hash, random (selector), weighted (explicit)"
mark=$(lb_applied lb)
sel=(--network prod --placement lb=yes --backend-selector role=web --backend-port 9000)
assert_ok "lb create rr" nfctl lb create rr "${sel[@]}" --port 8001 --algorithm round-robin
assert_ok "lb create sh" nfctl lb create sh "${sel[@]}" --port 8002 --algorithm source-hash
assert_ok "lb create rnd" nfctl lb create rnd "${sel[@]}" --port 8003 --algorithm random
assert_ok "lb create wt" nfctl lb create wt --network prod --placement lb=yes --port 8004 \
	--algorithm round-robin --backend "${addr[web1]}:9000@3" --backend "${addr[web2]}:9000@1" \
	--backend "${addr[web3]}:9000@1"
assert_ok "lb create udp" nfctl lb create udp "${sel[@]}" --port 8005 --protocol udp \
	--algorithm round-robin --no-check
for l in rr sh rnd wt udp; do
	wait_for 20 "lb $l to be placed on lb" lb_host_is "$l" lb
done
lb_wait lb "$mark"
show=$(lb_json rr) || fail "lb show rr failed"
log "  lb show rr: $(jq -c . <<<"$show")"
assert_eq "$(jq -r '.port' <<<"$show")" 8001 "lb show rr: port"
assert_eq "$(jq -r '[.placements[] | select(.node != "")] | length' <<<"$show")" 1 \
	"lb show rr: one placement"
assert_eq "$(jq -r '.placements[0].address' <<<"$show")" "$lbaddr" \
	"lb show rr: the frontend address (the host's overlay address, no vip)"
list=$(nfctl --json lb list) || fail "lb list failed"
assert_eq "$(jq -r '(if type == "array" then . else .lbs end) | map(.name) | sort | join(",")' \
	<<<"$list")" "rnd,rr,sh,udp,wt" "lb list: names"
nfctl lb list >"$NF_WORK/lb-list.txt" || fail "lb list (table) failed"
log "  lb list:"$'\n'"$(cat "$NF_WORK/lb-list.txt")"

# Every backend healthy (checked by lb) before counting: a backend not yet
# up would be left out of the rotation.
for l in rr sh rnd; do
	for v in "${webs[@]}"; do
		wait_for 20 "backend $v of $l to be reported up" lb_backend_health_is "$l" "$v" up
	done
done
for p in 8001 8002 8003 8004; do
	wait_for 20 "cli to connect through lb:$p" lb_answers cli "$lbaddr" "$p" 1
done

step "round-robin: 9 connections, each backend exactly 3, rotating"
seq=$(lb_answers cli "$lbaddr" 8001 9) || fail "round-robin: not every connection answered: $seq"
mapfile -t got <<<"$seq"
log "  round-robin order: ${got[*]}"
assert_eq "$(lb_tally <<<"$seq" | tr '\n' ' ')" "web1 3 web2 3 web3 3 " "round-robin: connections per backend"
[[ ${got[0]} != "${got[1]}" && ${got[1]} != "${got[2]}" && ${got[0]} != "${got[2]}" ]] ||
	fail "round-robin: the first three connections should reach three backends: ${got[*]}"
for ((i = 3; i < 9; i++)); do
	[[ ${got[i]} == "${got[i - 3]}" ]] || fail "round-robin: not a strict rotation: ${got[*]}"
done

step "source-hash: 10 connections from one client land on one backend"
seq=$(lb_answers cli "$lbaddr" 8002 10) || fail "source-hash: not every connection answered: $seq"
log "  source-hash from cli (${addr[cli]}): $(lb_tally <<<"$seq" | tr '\n' ' ')"
assert_eq "$(sort -u <<<"$seq" | wc -l)" 1 "source-hash: backends reached from one client"
first=$(head -n 1 <<<"$seq")
# A second client (another source address): sticky as well, to whichever backend.
seq2=$(lb_answers web1 "$lbaddr" 8002 10) || fail "source-hash from web1: not every connection answered: $seq2"
log "  source-hash from web1 (${addr[web1]}): $(lb_tally <<<"$seq2" | tr '\n' ' ')"
assert_eq "$(sort -u <<<"$seq2" | wc -l)" 1 "source-hash: backends reached from a second client"
seq=$(lb_answers cli "$lbaddr" 8002 5) || fail "source-hash: not every connection answered: $seq"
assert_eq "$(sort -u <<<"$seq")" "$first" "source-hash: cli's backend a moment later"

step "random: 60 connections reach all three backends"
seq=$(lb_answers cli "$lbaddr" 8003 60) || fail "random: not every connection answered: $seq"
log "  random: $(lb_tally <<<"$seq" | tr '\n' ' ')"
assert_eq "$(sort -u <<<"$seq" | tr '\n' ' ')" "web1 web2 web3 " "random: backends reached"

step "weights 3,1,1 on round-robin: 10 connections give 6/2/2"
seq=$(lb_answers cli "$lbaddr" 8004 10) || fail "weighted: not every connection answered: $seq"
log "  weighted order: $(tr '\n' ' ' <<<"$seq")"
assert_eq "$(lb_tally <<<"$seq" | tr '\n' ' ')" "web1 6 web2 2 web3 2 " "weighted: connections per backend"
back=$(lb_backends wt) || fail "lb backends wt failed"
log "  lb backends wt: $back"
assert_eq "$(jq -r 'map("\(.address):\(.port)@\(.weight)") | sort | join(" ")' <<<"$back")" \
	"$(printf '%s\n' "${addr[web1]}:9000@3" "${addr[web2]}:9000@1" "${addr[web3]}:9000@1" |
		sort | tr '\n' ' ' | sed 's/ $//')" "lb backends wt: addresses and weights"

step "lb backend remove/add on wt: 3,1 over 8 connections gives 6/2; web3 back: 6/2/2 again"
mark=$(lb_applied lb)
assert_ok "lb backend remove wt web3" nfctl lb backend remove wt "${addr[web3]}:9000"
lb_wait lb "$mark"
seq=$(lb_answers cli "$lbaddr" 8004 8) || fail "weighted, web3 removed: not every connection answered: $seq"
assert_eq "$(lb_tally <<<"$seq" | tr '\n' ' ')" "web1 6 web2 2 " "weighted, web3 removed: connections per backend"
assert_eq "$(lb_backends wt | jq -r 'map(.node) | sort | join(",")')" "web1,web2" \
	"lb backends wt after backend remove"
mark=$(lb_applied lb)
assert_ok "lb backend add wt web3@1" nfctl lb backend add wt "${addr[web3]}:9000@1"
lb_wait lb "$mark"
wait_for 20 "backend web3 of wt to be reported up" lb_backend_health_is wt web3 up
seq=$(lb_answers cli "$lbaddr" 8004 10) || fail "weighted, web3 back: not every connection answered: $seq"
assert_eq "$(lb_tally <<<"$seq" | tr '\n' ' ')" "web1 6 web2 2 web3 2 " "weighted, web3 back: connections per backend"
lb_refused 'port' nfctl lb backend add wt "${addr[web3]}:0"
assert_api_error NOT_FOUND - nfctl lb backend remove wt "${addr[web3]}:9999"

step "udp round-robin: 6 datagrams, each from a new source port: each backend twice, rotating"
wait_for 20 "cli to get an answer through lb:8005/udp" lb_answers cli "$lbaddr" 8005 1 --udp --timeout 500
seq=$(lb_answers cli "$lbaddr" 8005 6 --udp --timeout 1000) || fail "udp: not every datagram answered: $seq"
mapfile -t got <<<"$seq"
log "  udp order: ${got[*]}"
assert_eq "$(lb_tally <<<"$seq" | tr '\n' ' ')" "web1 2 web2 2 web3 2 " "udp round-robin: datagrams per backend"
for ((i = 3; i < 6; i++)); do
	[[ ${got[i]} == "${got[i - 3]}" ]] || fail "udp round-robin: not a strict rotation: ${got[*]}"
done

# ---- invalid specs ------------------------------------------------------------

snapshot() {
	{
		echo "== lbs"
		nfctl --json lb list | jq -S 'walk(if type == "object" then
			del(.connections, .health, .since) else . end)'
		echo "== audit"
		nfctl --json audit list --limit 10000 | jq -S .
	} >"$1" || fail "cannot take a snapshot of the load balancers and the audit log"
}

step "invalid specs are refused with the field named; nothing is stored"
snapshot "$NF_WORK/before"
mk=(nfctl lb create bad --network prod --backend-selector role=web --backend-port 9000)
lb_refused port "${mk[@]}" --port 0
lb_refused vip "${mk[@]}" --port 8100 --vip 10.99.0.5
lb_refused replicas "${mk[@]}" --port 8100 --vip auto --replicas 2
lb_refused algorithm "${mk[@]}" --port 8100 --algorithm least-connections
lb_refused 'backends[0].port' nfctl lb create bad --network prod --port 8100 \
	--backend "${addr[web1]}:70000"
lb_refused health.timeout_ms "${mk[@]}" --port 8100 --check-interval 500ms --check-timeout 500ms
lb_refused network nfctl lb create bad --network nosuch --port 8100 --backend-selector role=web \
	--backend-port 9000
lb_refused name nfctl lb create rr --network prod --port 8100 --backend-selector role=web \
	--backend-port 9000 # exists
assert_api_error NOT_FOUND - nfctl lb show nosuch
assert_api_error NOT_FOUND - nfctl lb delete nosuch
snapshot "$NF_WORK/after"
diff -u "$NF_WORK/before" "$NF_WORK/after" >"$NF_LOGS/snapshot.diff" ||
	fail "invalid specs changed the store: $(head -c 3000 "$NF_LOGS/snapshot.diff")"
log "load balancers and audit log unchanged after the invalid specs"

step "after all that, round-robin still rotates; delete removes the frontend"
seq=$(lb_answers cli "$lbaddr" 8001 3) || fail "round-robin after invalid specs: $seq"
assert_eq "$(sort -u <<<"$seq" | wc -l)" 3 "round-robin after invalid specs: backends in 3 connections"
mark=$(lb_applied lb)
assert_ok "lb delete rr" nfctl lb delete rr
lb_wait lb "$mark"
wait_for 10 "lb:8001 to stop answering once rr is deleted" not lb_answers cli "$lbaddr" 8001 1 --timeout 500
assert_eq "$(nfctl --json lb list | jq -r '(if type == "array" then . else .lbs end) | map(.name) |
	sort | join(",")')" "rnd,sh,udp,wt" "lb list after delete"
ctl_check "the whole scenario"
