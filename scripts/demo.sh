#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# A tour of netfn on one machine: installs the dependencies, builds, starts a
# controller and three "VMs" (network namespaces) whose agents join with
# tokens, shows what netfnctl reports, pings across the encrypted overlay,
# then removes everything it made. Run as root on Debian 12.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)"

# The end-to-end harness does the plumbing (namespaces, bridge, processes,
# cleanup on exit); its logs go to build/demo-logs/demo/.
NF_TEST=demo
NF_E2E_LOGS=$root/build/demo-logs
NF_TIME_LIMIT=600
# shellcheck source=tests/e2e/lib.sh
source tests/e2e/lib.sh "$root/build/bin"

show() {
	printf '\n$ netfnctl %s\n' "$*"
	nfctl "$@"
}

step "a controller (its own namespace; API on $NF_API, agents on $NF_CTL_URL)"
ctl_start
show network create demo --cidr 10.200.0.0/24 --port "$NF_WG_PORT"

step "three VMs, each with an agent enrolled by a one-use join token"
for v in vm1 vm2 vm3; do
	vm_create "$v"
	token=$(token_new demo --uses 1 --ttl 10m --labels "role=demo")
	log "$v: underlay $(vm_ip "$v"), join token ${token:0:20}... (${#token} chars)"
	agent_join "$v" "$token"
done
for v in vm1 vm2 vm3; do
	node_wait_converged "$v" 60
done

show network list
show node list
show token list

step "pings over the overlay (WireGuard, encrypted)"
for a in vm1 vm2 vm3; do
	for b in vm1 vm2 vm3; do
		[[ $a != "$b" ]] || continue
		addr=$(overlay_addr "$b")
		wait_for 20 "$a to reach $b" vm_ping "$a" "$addr"
		printf '%s -> %s (%s): %s\n' "$a" "$b" "$addr" \
			"$(vm_exec "$a" ping -n -q -c 3 -i 0.2 "$addr" | grep -E 'packets|rtt' | tr '\n' ' ')"
	done
done

step "what WireGuard on vm1 looks like"
vm_exec vm1 wg show "$(vm_if vm1)"

show status
show audit list --limit 20

step "cleaning up: stopping the agents and the controller, removing the namespaces"
