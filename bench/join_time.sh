#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# join_time.sh [BIN_DIR] [RUNS]: how long a new VM takes from starting its
# agent (with a join token) to its first successful ping over the overlay to
# a VM already in the network. Anchor, in the same two namespaces: a tunnel
# built by hand (wg genkey, wireguard-go, wg set, ip) by this script, timed
# from its first command to its first ping. Prints the medians and the ratio.
# Target: a join within 2 s. Figures only; nothing is asserted.
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh" "${1:-}"
runs=${2:-5}

# first_ping NAME ADDR: polls until NAME pings ADDR; prints nothing, fails after 60 s.
first_ping() {
	local end=$(($(now_ms) + 60000))
	until vm_exec "$1" ping -n -q -c 1 -W 0.5 "$2" >/dev/null 2>&1; do
		(($(now_ms) < end)) || fail "no ping from $1 to $2 within 60 s"
		sleep 0.01
	done
}

# anchor A B N: a hand-built wireguard-go tunnel between VMs A and B (interfaces
# ...xN, subnet 10.151.N.0/24, port 52000+N); prints the ms to its first ping.
anchor() {
	local a=$1 b=$2 n=$3 t0 ka kb pa pb
	local ia=${NF_RUN}x$n ib=${NF_RUN}y$n port=$((52000 + n))
	t0=$(now_ms)
	ka=$(wg genkey)
	kb=$(wg genkey)
	pa=$(wg pubkey <<<"$ka")
	pb=$(wg pubkey <<<"$kb")
	vm_exec "$a" wireguard-go "$ia" >/dev/null 2>&1
	vm_exec "$b" wireguard-go "$ib" >/dev/null 2>&1
	vm_exec "$a" wg set "$ia" private-key <(echo "$ka") listen-port "$port" \
		peer "$pb" endpoint "$(vm_ip "$b"):$port" allowed-ips "10.151.$n.2/32"
	vm_exec "$b" wg set "$ib" private-key <(echo "$kb") listen-port "$port" \
		peer "$pa" endpoint "$(vm_ip "$a"):$port" allowed-ips "10.151.$n.1/32"
	vm_exec "$a" ip addr add "10.151.$n.1/24" dev "$ia"
	vm_exec "$b" ip addr add "10.151.$n.2/24" dev "$ib"
	vm_exec "$a" ip link set "$ia" up
	vm_exec "$b" ip link set "$ib" up
	first_ping "$b" "10.151.$n.1"
	echo $(($(now_ms) - t0))
	# Gone again, so the next runs see the same machine.
	vm_exec "$a" ip link del "$ia"
	vm_exec "$b" ip link del "$ib"
}

ctl_start
net_create bench 10.150.0.0/24
vm_create base
vm_join base bench
base_addr=$(overlay_addr base)

joins=()
anchors=()
for ((i = 1; i <= runs; i++)); do
	vm_create "j$i"
	token=$(token_new bench)
	t0=$(now_ms)
	agent_join "j$i" "$token"
	first_ping "j$i" "$base_addr"
	joins+=($(($(now_ms) - t0)))
	anchors+=("$(anchor base "j$i" "$i")")
	log "run $i: agent join -> first ping ${joins[-1]} ms; hand-built tunnel ${anchors[-1]} ms"
done

jm=$(median "${joins[@]}")
am=$(median "${anchors[@]}")
printf '\njoin_time (%d runs)\n' "$runs"
printf '  agent start -> first overlay ping:   median %5d ms  (runs: %s)\n' "$jm" "${joins[*]}"
printf '  anchor: hand-built wireguard-go tunnel: median %5d ms  (runs: %s)\n' "$am" "${anchors[*]}"
printf '  ratio agent/anchor: %s   target: join <= 2000 ms (%s)\n' "$(ratio "$jm" "$am")" \
	"$( ((jm <= 2000)) && echo met || echo "not met")"
