#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# firewall.sh [BIN_DIR] [RULES]: how fast the agent puts a big firewall into
# the kernel, and a one-rule change into a big firewall. RULES (default
# 10000) rules, rule i accepting tcp dst port 10000+i from 10.x.y.z/32, go to
# one VM through policies made with --rules-file; the agent's own figure is
# its log line "firewall revision N applied: R rules in X.Y ms" for that
# revision, and the end-to-end figure runs from the API call to the node
# reporting the revision applied (polled every ~20 ms). Anchor, in this
# script: `nft -f` of the same rules (same matches, a counter each) into a
# fresh namespace, median of 3. Then ~5 one-rule changes (a rule added to the
# first of those policies): the agent's figure for each revision, and end to
# end; anchor: `nft -f` of that one rule into the anchor table.
# Targets: big apply <= the anchor (ratio <= 1.0), a one-rule change <= 10 ms
# in the agent. Figures only; nothing is asserted.
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh" "${1:-}"
rules=${2:-10000}
changes=${FW_BENCH_CHANGES:-5}
# The controller keeps one policy to this many rules (FW_MAX_POLICY_RULES is
# 256); more rules go into several policies that select the VM together.
chunk=${FW_BENCH_CHUNK:-250}
# The one-rule changes go into the first of those policies, which has room for them.
((chunk + changes <= 256)) || fail "FW_BENCH_CHUNK + FW_BENCH_CHANGES must be <= 256 (a policy's rules)"
((rules >= 1 && rules <= 55000)) || fail "RULES must be 1-55000 (ports 10000+i), got $rules"

now_us() {
	echo "${EPOCHREALTIME/./}"
}

# ms_since T0_US: milliseconds since T0 (microseconds), one decimal.
ms_since() {
	awk -v a="$1" -v b="$(now_us)" 'BEGIN {printf "%.1f", (b - a) / 1000}'
}

# rule_src I / rule_port I: rule I's source address and port.
rule_src() {
	echo "10.$((16 + $1 / 65536)).$(($1 / 256 % 256)).$(($1 % 256))"
}
rule_port() {
	echo $((10000 + $1))
}

# rules_json FIRST COUNT: a --rules-file array of rules FIRST..FIRST+COUNT-1.
rules_json() {
	awk -v first="$1" -v count="$2" 'BEGIN {
		printf "["
		for (i = first; i < first + count; i++)
			printf "%s{\"direction\":\"in\",\"protocol\":\"tcp\",\"src\":[\"10.%d.%d.%d/32\"],\"dst_port\":\"%d\",\"action\":\"accept\"}",
				(i > first ? "," : ""), 16 + int(i / 65536), int(i / 256) % 256, i % 256, 10000 + i
		print "]"
	}'
}

# anchor_nft: the same rules as one nft -f file.
anchor_nft() {
	awk -v n="$rules" 'BEGIN {
		print "table inet anchor {"
		print "\tchain input {"
		print "\t\ttype filter hook input priority filter; policy accept;"
		for (i = 0; i < n; i++)
			printf "\t\tip saddr 10.%d.%d.%d tcp dport %d counter accept\n",
				16 + int(i / 65536), int(i / 256) % 256, i % 256, 10000 + i
		print "\t}"
		print "}"
	}'
}

# applied_after REV: the node's firewall is applied at a revision newer than REV.
applied_after() {
	nfctl --json node show fw | jq -e --argjson r "$1" '.sections.firewall as $f |
		$f.desired_revision > $r and $f.applied_revision == $f.desired_revision' >/dev/null
}

# wait_applied REV: polls (every ~20 ms, 300 s at most) until applied_after REV.
wait_applied() {
	local end=$(($(now_ms) + 300000))
	until applied_after "$1"; do
		(($(now_ms) < end)) || fail "the firewall of fw was not applied past revision $1 in 300 s: \
$(nfctl --json node show fw | jq -c .sections) $(tail -n 3 "$NF_LOGS/agent-fw.log")"
		sleep 0.02
	done
}

# agent_ms REV: the agent's own time for REV, from its log (waits up to 10 s for the line).
agent_ms() {
	local ms end=$(($(now_ms) + 10000))
	until ms=$(fw_apply_ms fw "$1") && [[ -n $ms ]]; do
		(($(now_ms) < end)) || fail "no 'firewall revision $1 applied' line in agent-fw.log: \
$(grep -i firewall "$NF_LOGS/agent-fw.log" | tail -n 5)"
		sleep 0.1
	done
	echo "$ms"
}

# recv_ms REV: the agent's time from the config frame's arrival (decrypt, decode,
# validate, apply) to the kernel having REV: its reconcile line for REV.
recv_ms() {
	sed -nE "s/.*firewall revision $1 applied \(was [0-9]+\), ([0-9.]+) ms after the config arrived.*/\1/p" \
		"$NF_LOGS/agent-fw.log" | tail -n 1
}

# agent_split REV: "plan P kernel K" from the agent's debug line for REV ("-" when it has none).
agent_split() {
	local l
	l=$(sed -nE "s/.*firewall revision $1: .*plan ([0-9.]+) ms, kernel ([0-9.]+) ms.*/plan \1 kernel \2/p" \
		"$NF_LOGS/agent-fw.log" | tail -n 1)
	echo "${l:--}"
}

fmed() {
	printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}

ctl_start
net_create bench 10.150.0.0/24
vm_create fw
vm_join fw bench --labels role=fw

# ---- the big firewall through the agent ---------------------------------------

n_pol=$(((rules + chunk - 1) / chunk))
log "building $rules rules in $n_pol policies of at most $chunk"
for ((p = 0; p < n_pol; p++)); do
	first=$((p * chunk))
	count=$((rules - first < chunk ? rules - first : chunk))
	rules_json "$first" "$count" >"$NF_WORK/rules-$p.json"
done
wait_for 60 "fw to report its (empty) firewall applied" fw_converged fw
if ((n_pol == 1)); then
	how="one policy; end to end: policy create -> applied"
	target=big
	rev0=$(fw_applied fw)
	t0=$(now_us)
	assert_ok "policy create big" nfctl firewall policy create big --network bench --selector role=fw \
		--rules-file "$NF_WORK/rules-0.json"
else
	# The policies select role=fw,bench=on; the VM gets bench=on once they are
	# all stored, so all the rules reach it in one revision.
	how="$n_pol policies; end to end: node label -> applied"
	target=big0
	for ((p = 0; p < n_pol; p++)); do
		assert_ok "policy create big$p" nfctl firewall policy create "big$p" --network bench \
			--selector role=fw,bench=on --rules-file "$NF_WORK/rules-$p.json"
	done
	rev0=$(fw_applied fw)
	t0=$(now_us)
	assert_ok "node label fw bench=on" nfctl node label fw bench=on
fi
wait_applied "$rev0"
e2e=$(ms_since "$t0")
rev=$(fw_applied fw)
big_ms=$(agent_ms "$rev")
big_split=$(agent_split "$rev")
big_line=$(grep -E "firewall revision $rev applied:" "$NF_LOGS/agent-fw.log" | tail -n 1)
log "revision $rev: $big_line; end to end $e2e ms"
# Not a timing check: the rules are there (one port of each end, and a count).
fw_table fw >"$NF_WORK/fw-table.nft" || fail "no table inet netfn on fw"
for i in 0 $((rules - 1)); do
	grep -qw "$(rule_port "$i")" "$NF_WORK/fw-table.nft" ||
		fail "port $(rule_port "$i") (rule $i) is not in fw's table inet netfn"
done
# The agent's rules each carry a named counter and the comment "rule ID".
in_kernel=$(grep -c 'comment "rule [0-9]*"' "$NF_WORK/fw-table.nft" || true)

# ---- the anchor: nft -f of the same rules --------------------------------------

anchor_nft >"$NF_WORK/anchor.nft"
anchors=()
for run in 1 2 3; do
	ns=$NF_RUN-anchor$run
	_ns_add "$ns"
	t0=$(now_us)
	ip netns exec "$ns" nft -f "$NF_WORK/anchor.nft" || fail "nft -f anchor.nft failed"
	anchors+=("$(ms_since "$t0")")
	log "anchor run $run: nft -f of $rules rules: ${anchors[-1]} ms"
done
anchor_ms=$(fmed "${anchors[@]}")

# ---- one-rule changes ---------------------------------------------------------

small=()
small_e2e=()
small_anchor=()
small_recv=()
small_plan=()
small_kernel=()
for ((c = 1; c <= changes; c++)); do
	rev0=$(fw_applied fw)
	t0=$(now_us)
	assert_ok "rule add to $target" nfctl firewall rule add "$target" --direction in --protocol tcp \
		--src "10.250.0.$c/32" --port $((60000 + c)) --action accept
	wait_applied "$rev0"
	small_e2e+=("$(ms_since "$t0")")
	rev=$(fw_applied fw)
		small+=("$(agent_ms "$rev")")
	small_recv+=("$(recv_ms "$rev")")
	split=$(agent_split "$rev")
	if [[ $split != - ]]; then
		read -r _ p _ k <<<"$split"
		small_plan+=("$p")
		small_kernel+=("$k")
	fi
	echo "add rule inet anchor input ip saddr 10.250.0.$c tcp dport $((60000 + c)) counter accept" \
		>"$NF_WORK/one.nft"
	t0=$(now_us)
	ip netns exec "$NF_RUN-anchor1" nft -f "$NF_WORK/one.nft" || fail "nft -f one.nft failed"
	small_anchor+=("$(ms_since "$t0")")
		log "change $c: revision $rev: agent ${small[-1]} ms (from receipt ${small_recv[-1]:-?} ms), end to end ${small_e2e[-1]} ms; \
nft -f of one rule ${small_anchor[-1]} ms"
	sleep 0.3
done
small_ms=$(fmed "${small[@]}")

printf '\nfirewall: %d rules on one VM (%s)\n' "$rules" "$how"
printf '  agent apply (its log):            %9s ms  (%s user rules in table inet netfn)\n' \
	"$big_ms" "$in_kernel"
[[ $big_split == - ]] || printf '    of which (agent debug line):     %s ms\n' "$big_split"
printf '  end to end:                       %9s ms\n' "$e2e"
printf '  anchor: nft -f, fresh namespace:  %9s ms  (median of 3: %s)\n' "$anchor_ms" "${anchors[*]}"
printf '  ratio agent/anchor: %s   target: <= 1.0 (%s)\n' "$(ratio "$big_ms" "$anchor_ms")" \
	"$(awk -v a="$big_ms" -v b="$anchor_ms" 'BEGIN {print (a <= b) ? "met" : "not met"}')"
printf '  one-rule change, agent apply:     %9s ms  median of %d (runs: %s), after decode and validation\n' \
	"$small_ms" "$changes" "${small[*]}"
recv_med=$(fmed "${small_recv[@]}")
printf '  one-rule change, frame received -> kernel has it: %s ms  median (runs: %s)   target: <= 10 ms (%s)\n' \
	"$recv_med" "${small_recv[*]}" \
	"$(awk -v a="$recv_med" 'BEGIN {print (a <= 10) ? "met" : "not met"}')"
((${#small_plan[@]} == 0)) || printf '    of which (agent debug line):     plan %s ms, kernel %s ms (medians)\n' \
	"$(fmed "${small_plan[@]}")" "$(fmed "${small_kernel[@]}")"
printf '  one-rule change, end to end:      %9s ms  median (runs: %s)\n' \
	"$(fmed "${small_e2e[@]}")" "${small_e2e[*]}"
printf '  anchor: nft -f of one rule:       %9s ms  median (runs: %s)\n' \
	"$(fmed "${small_anchor[@]}")" "${small_anchor[*]}"
