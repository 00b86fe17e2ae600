#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Installs every Debian 12 package needed to build netfn and run its tests,
# demo and benchmarks. Non-interactive and idempotent: when everything is
# already installed it changes nothing and needs no network. Run as root.
set -euo pipefail

pkgs=(
	# build
	build-essential cmake pkg-config git
	libnng-dev libprotobuf-c-dev protobuf-c-compiler libsodium-dev libsqlite3-dev
	libmnl-dev libnftnl-dev libsystemd-dev
	# netfnctl client create --qr
	libqrencode-dev
	# data plane the agent drives (no WireGuard module in these kernels)
	nftables wireguard-go
	# overlay DNS: dnsmasq-base is the program alone (the dnsmasq package would start a
	# system-wide service of its own)
	dnsmasq-base
	# tests, demo and benchmarks: namespaces, packets, JSON, raw sockets, the store
	wireguard-tools iproute2 iputils-ping jq procps ncat sqlite3 coreutils openssl
	bind9-dnsutils
	# the load balancer benchmark's comparison
	haproxy
	# traffic classes: the rates the qos scenario measures
	iperf3
	# formatting check
	clang-format
	# flow filters: libopenvswitch.a is built from openvswitch-source in the build tree
	# (cmake/openvswitch.cmake; its configure needs python3), and the tests and demo run
	# ovsdb-server/ovs-vswitchd from openvswitch-switch (installing it starts no daemon
	# without systemd)
	openvswitch-source openvswitch-switch python3
	# packages (scripts/package.sh: dpkg-shlibdeps) and their tests (tests/pkg/):
	# a Debian root, unit checks, cloud-init's schema check and YAML for the user-data
	dpkg-dev debootstrap systemd cloud-init python3-yaml
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
if ((${#missing[@]} == 0)); then
	echo "deps.sh: all ${#pkgs[@]} packages are installed"
	exit 0
fi
if [[ $(id -u) != 0 ]]; then
	echo "deps.sh: run as root to install: ${missing[*]}" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${pkgs[@]}" </dev/null
