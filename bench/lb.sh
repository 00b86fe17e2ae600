#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# lb.sh [BIN_DIR] [ROUNDS]: new TCP connections per second through netfn's
# load balancer, against HAProxy in the same place. Topology (namespaces on
# the harness's underlay bridge): a client, a load balancer VM (a joined
# netfn agent) and three backends running nf-lbtool serve, which writes its
# name on each new connection. The client (bench/nf-connbench) keeps
# LB_BENCH_CONC connections in flight for LB_BENCH_SECONDS: connect, read
# the first line, close with a reset (so neither the client nor the load
# balancer piles up TIME_WAIT; the client and the load balancer also get the
# whole port range), and reports connections/s and latency (connect to first
# byte) p50/p99.
#   run A, netfn: `lb create` round-robin over the three backends (explicit
#     addresses, no health checks), frontend on the LB VM's overlay address;
#     the kernel DNATs each new connection (nftables, conntrack).
#   run B, HAProxy (the Debian package): mode tcp, balance roundrobin, the
#     same three servers, no checks, nbthread 2, option nolinger, bound to
#     the same address and port in the same namespace once the lb is deleted.
# Both paths cross the underlay only (the client routes the frontend address
# to the LB VM's underlay address; the backends are underlay addresses), so
# the figures measure the load balancer, not wireguard-go. Runs alternate
# A B A B ... ROUNDS times each (default 3); the figures are medians, and
# the ratio netfn/HAProxy of connections/s is printed (target >= 2), never
# asserted.
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh" "${1:-}"
rounds=${2:-3}
secs=${LB_BENCH_SECONDS:-10}
conc=${LB_BENCH_CONC:-64}
threads=${LB_BENCH_THREADS:-1}
warmup_ms=${LB_BENCH_WARMUP_MS:-1000}
port=80

NF_LBTOOL=${NF_LBTOOL:-$NF_BIN/../tests/nf-lbtool}
NF_CONNBENCH=${NF_CONNBENCH:-$NF_BIN/../bench/nf-connbench}
# shellcheck source=tests/e2e/lblib.sh
source "$NF_ROOT/tests/e2e/lblib.sh"
[[ -x $NF_CONNBENCH ]] || fail "$NF_CONNBENCH is missing: build the nf-connbench target"
command -v haproxy >/dev/null || fail "haproxy is missing: run scripts/deps.sh"
((rounds >= 1)) || fail "ROUNDS must be >= 1"

ctl_start
net_create bench 10.150.0.0/24

step "topology: cli, lb (a netfn agent, lb=yes), web1-3 (servers on the underlay)"
vm_create lb
vm_create cli
webs=(web1 web2 web3)
for v in "${webs[@]}"; do
	vm_create "$v"
done
vm_join lb bench --labels lb=yes
lbaddr=$(overlay_addr lb)
lbu=$(vm_ip lb)
for v in cli lb; do
	# The whole port range, and TIME_WAIT reuse for HAProxy's server side.
	vm_exec "$v" sysctl -q -w net.ipv4.ip_local_port_range="1024 65535" \
		net.ipv4.tcp_tw_reuse=1
done
# The client reaches the frontend address over the underlay; the backends
# route the overlay back through the LB VM (whatever address it SNATs to).
vm_exec cli ip route add "$lbaddr/32" via "$lbu"
backends=()
for v in "${webs[@]}"; do
	vm_exec "$v" ip route add 10.150.0.0/24 via "$lbu"
	lb_serve "$v" "$(vm_ip "$v")" 9000 "$v"
	backends+=("$(vm_ip "$v"):9000")
done

# HAProxy wants about two descriptors per connection and refuses to start
# when its maxconn does not fit the hard limit.
hap_max=$(($(ulimit -Hn) / 2 - 100))
((hap_max <= 100000)) || hap_max=100000
cat >"$NF_WORK/haproxy.cfg" <<EOF
global
	nbthread 2
	maxconn $hap_max
defaults
	mode tcp
	timeout connect 2s
	timeout client 10s
	timeout server 10s
	option nolinger
	maxconn $hap_max
frontend fe
	bind $lbaddr:$port
	default_backend be
backend be
	balance roundrobin
	server web1 ${backends[0]}
	server web2 ${backends[1]}
	server web3 ${backends[2]}
EOF
haproxy -c -q -f "$NF_WORK/haproxy.cfg" || fail "haproxy rejects $NF_WORK/haproxy.cfg"

# netfn_up: the lb created and applied, answering from every backend.
netfn_up() {
	local mark args=()
	mark=$(lb_applied lb)
	for b in "${backends[@]}"; do
		args+=(--backend "$b")
	done
	assert_ok "lb create bench" nfctl lb create bench --network bench --port "$port" \
		--placement lb=yes --algorithm round-robin --no-check "${args[@]}"
	lb_wait lb "$mark"
	wait_for 20 "the client to reach the backends through netfn" _all_three
}

netfn_down() {
	local mark
	mark=$(lb_applied lb)
	assert_ok "lb delete bench" nfctl lb delete bench
	wait_for 30 "lb to apply the deletion" _lb_gone "$mark"
	wait_for 10 "the frontend port to be free" not _all_three
}

_lb_gone() {
	local s
	s=$(lb_section lb) || return 1
	jq -e --argjson m "$1" '(.applied_revision // 0) > $m or . == {}' <<<"$s" >/dev/null
}

_all_three() {
	local out
	out=$(lb_answers cli "$lbaddr" "$port" 3 --timeout 500) || return 1
	[[ $(sort -u <<<"$out" | wc -l) == 3 ]]
}

hap_pid=
haproxy_up() {
	ip netns exec "$(vm_ns lb)" haproxy -db -f "$NF_WORK/haproxy.cfg" \
		>>"$NF_LOGS/haproxy.log" 2>&1 &
	hap_pid=$!
	wait_for 20 "the client to reach the backends through HAProxy" _all_three
}

haproxy_down() {
	kill -TERM "$hap_pid" 2>/dev/null || true
	_reap "$hap_pid" 10 || true
	hap_pid=
}

# run WHAT: one nf-connbench run; prints its line and keeps it in $NF_LOGS.
run() {
	local out
	out=$(ip netns exec "$(vm_ns cli)" "$NF_CONNBENCH" "$lbaddr" "$port" --concurrency "$conc" \
		--seconds "$secs" --threads "$threads" --warmup "$warmup_ms" --timeout 2000) ||
		fail "nf-connbench failed: $out"
	echo "$1 $out" >>"$NF_LOGS/runs.txt"
	log "  $1: $out"
	echo "$out"
}

# field LINE KEY: KEY's value in an nf-connbench line.
field() {
	sed -nE "s/.* $2=([0-9.]+).*/\1/p" <<<"$1"
}

a_rate=() a_p50=() a_p99=() a_fail=()
b_rate=() b_p50=() b_p99=() b_fail=()
for ((r = 1; r <= rounds; r++)); do
	step "round $r of $rounds: A (netfn)"
	netfn_up
	out=$(run "A$r netfn")
	a_rate+=("$(field "$out" rate)") a_p50+=("$(field "$out" p50_us)")
	a_p99+=("$(field "$out" p99_us)") a_fail+=("$(field "$out" failures)")
	conntrack=$(vm_exec lb cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo "?")
	log "  conntrack entries in lb after the run: $conntrack"
	netfn_down

	step "round $r of $rounds: B (HAProxy)"
	haproxy_up
	log "  nftables tables in lb with the lb deleted: $(vm_exec lb nft list tables | tr '\n' ' ')"
	out=$(run "B$r haproxy")
	b_rate+=("$(field "$out" rate)") b_p50+=("$(field "$out" p50_us)")
	b_p99+=("$(field "$out" p99_us)") b_fail+=("$(field "$out" failures)")
	haproxy_down
done

ar=$(median "${a_rate[@]}")
br=$(median "${b_rate[@]}")
printf '\nlb: new TCP connections through the load balancer (%d s runs, %d in flight, %d client thread(s), %d rounds each, alternating)\n' \
	"$secs" "$conc" "$threads" "$rounds"
printf '  A netfn (nftables DNAT):  %7s conn/s  p50 %5s us  p99 %6s us  failures %s  (runs: %s)\n' \
	"$ar" "$(median "${a_p50[@]}")" "$(median "${a_p99[@]}")" "$(median "${a_fail[@]}")" "${a_rate[*]}"
printf '  B HAProxy (tcp, 2 thr):   %7s conn/s  p50 %5s us  p99 %6s us  failures %s  (runs: %s)\n' \
	"$br" "$(median "${b_p50[@]}")" "$(median "${b_p99[@]}")" "$(median "${b_fail[@]}")" "${b_rate[*]}"
printf '  ratio netfn/HAProxy (conn/s): %s   target: >= 2 (%s)\n' "$(ratio "$ar" "$br")" \
	"$(awk -v a="$ar" -v b="$br" 'BEGIN {print (b > 0 && a >= 2 * b) ? "met" : "not met"}')"
