#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Default deny keeps what a VM needs: a TCP session opened before the policy
# still passes data after it; the overlay still carries pings (the policy
# accepts icmp; default deny itself keeps the WireGuard port, so a node that
# joins afterwards still gets through); the agent's controller session stays
# up (new revisions keep arriving); SSH (tcp/22) stays reachable unless the
# policy says --block-ssh; any other port is dropped. The VM's own nftables
# tables, made before the agent starts, are byte-for-byte unchanged after the
# apply, a re-apply, an agent exit, and an exit with --cleanup-on-exit, which
# removes table inet netfn and nothing else.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"

command -v ncat >/dev/null || fail "ncat is missing: run scripts/deps.sh"
command -v nft >/dev/null || fail "nft is missing: run scripts/deps.sh"

ctl_start
net_create prod 10.100.0.0/24

step "app's own nftables tables exist before its agent starts"
vm_create app
vm_create cli
cat >"$NF_WORK/mine.nft" <<'EOF'
table inet mine {
	set blocked {
		type ipv4_addr
		elements = { 192.0.2.1, 192.0.2.2 }
	}
	chain input {
		type filter hook input priority 10; policy accept;
		ip saddr @blocked drop
		tcp dport 5999 jump tagged
	}
	chain tagged {
		meta mark set 0x2a
	}
}
table ip mine4 {
	chain output {
		type filter hook output priority 0; policy accept;
		ip daddr 198.51.100.7 drop
	}
}
EOF
assert_ok "nft -f mine.nft in app" vm_exec app nft -f "$NF_WORK/mine.nft"
mine_now() {
	vm_exec app nft list table inet mine && vm_exec app nft list table ip mine4
}
mine0=$(mine_now) || fail "cannot list app's own tables"
log "  app's own tables:"$'\n'"$mine0"
# mine_unchanged WHEN: app's own tables are byte-for-byte what the test made,
# and the only other table is the firewall's (when EXPECT_NETFN is 1). The
# agent's other functions own tables of their own (ip netfn_dns on the node
# serving the overlay DNS, ip netfn_lb on a frontend host): not counted here.
mine_unchanged() {
	local when=$1 expect_netfn=$2 now tables want
	now=$(mine_now) || fail "app's own tables are gone $when: $(vm_exec app nft list ruleset 2>&1)"
	[[ $now == "$mine0" ]] ||
		fail "app's own tables changed $when: $(diff <(echo "$mine0") <(echo "$now"))"
	tables=$(vm_exec app nft list tables | grep -Ev '^table ip netfn_(dns|lb)$' | sort | tr '\n' ';')
	want="table inet mine;table ip mine4;"
	((expect_netfn)) && want="table inet mine;table inet netfn;table ip mine4;"
	assert_eq "$tables" "$want" "app's nftables tables $when"
	log "  app's own tables unchanged $when"
}

step "app (role=app) and cli (role=cli) join"
vm_join app prod --labels role=app
vm_join cli prod --labels role=cli
app=$(overlay_addr app)
app_ul=$(vm_ip app)
ping_mesh app cli
for p in 22 8080; do
	vm_listen app "$p"
done
for p in 22 8080; do
	wait_for 20 "cli to connect to app:$p before the policy" tcp_expect cli "$app" "$p" open
done

step "a long-lived TCP session from cli to app:7000 over the overlay, opened before the policy"
ip netns exec "$(vm_ns app)" ncat -l --recv-only -p 7000 >"$NF_WORK/session.txt" \
	2>>"$NF_LOGS/ncat-app.log" </dev/null &
sess_srv=$!
wait_for 10 "app to listen on 7000" _listening app 7000
mkfifo "$NF_WORK/session.fifo"
ip netns exec "$(vm_ns cli)" ncat --send-only "$app" 7000 <"$NF_WORK/session.fifo" \
	>/dev/null 2>>"$NF_LOGS/ncat-cli.log" &
sess_cli=$!
exec {sess}>"$NF_WORK/session.fifo"
# session_passes WORD WHEN: a line sent on the session arrives at app.
session_passes() {
	_running "$sess_cli" || fail "the session's client (ncat on cli) exited $2"
	printf '%s\n' "$1" >&"$sess" || fail "cannot write to the session $2"
	local end=$(($(_now_ms) + 10000))
	until grep -qx "$1" "$NF_WORK/session.txt"; do
		(($(_now_ms) < end)) || fail "'$1' did not arrive over the session (opened before the \
policy) $2 within 10 s; app received: $(tr '\n' ' ' <"$NF_WORK/session.txt"); app's table inet netfn: \
$(fw_table app 2>&1)"
		sleep 0.2
	done
	_running "$sess_srv" || fail "the session's server (ncat on app) exited $2"
	log "  the session opened before the policy passes data $2"
}
session_passes before "before the policy"
log "  app's table inet netfn before the policy:"$'\n'"$(fw_table app 2>&1)"

step "a default-deny policy on role=app (icmp accepted): app's own tables untouched"
cat >"$NF_WORK/rules.json" <<'EOF'
[{"direction": "in", "protocol": "icmp", "action": "accept"}]
EOF
fw_change app nfctl firewall policy create lock --network prod --selector role=app --default-deny \
	--rules-file "$NF_WORK/rules.json"
assert_eq "$(nfctl --json firewall policy show lock | jq -r '[.default_deny, .block_ssh] | join(",")')" \
	"true,false" "policy show lock: default_deny, block_ssh"
mine_unchanged "after the apply" 1
assert_ok "app's table keeps the WireGuard port $NF_WG_PORT open" fw_table_has app "$NF_WG_PORT"

step "under default deny: other ports dropped, the session, the overlay and SSH kept"
assert_tcp cli "$app" 8080 timeout "8080 on the overlay"
assert_tcp cli "$app_ul" 8080 timeout "8080 on the underlay"
session_passes after-deny "after default deny"
assert_tcp cli "$app" 22 open "SSH on the overlay"
assert_tcp cli "$app_ul" 22 open "SSH on the underlay"
ping_mesh app cli
assert_ok "app is still online" node_status_is app online

step "a node that joins after the policy reaches app over the overlay (a new WireGuard flow)"
vm_create late
vm_join late prod --labels role=cli
ping_mesh late app
assert_tcp late "$app" 8080 timeout "8080 from the late node"
assert_tcp late "$app" 22 open "SSH from the late node"

step "re-apply (a rule added: 8080 from role=cli): the controller session carries it; own tables untouched"
fw_change app nfctl firewall rule add lock --direction in --protocol tcp --port 8080 \
	--src role=cli --action accept
assert_tcp cli "$app" 8080 open "8080 from role=cli after the rule was added"
assert_tcp cli "$app_ul" 8080 timeout "8080 on the underlay (cli's underlay address is no role=cli node address)"
session_passes after-reapply "after a re-apply"
mine_unchanged "after a re-apply" 1

step "--block-ssh: SSH is dropped too; the session and the controller session are kept"
fw_change app nfctl firewall policy delete lock
fw_change app nfctl firewall policy create lock --network prod --selector role=app --default-deny \
	--block-ssh --rules-file "$NF_WORK/rules.json"
assert_eq "$(nfctl --json firewall policy show lock | jq -r '[.default_deny, .block_ssh] | join(",")')" \
	"true,true" "policy show lock: default_deny, block_ssh"
assert_tcp cli "$app" 22 timeout "SSH on the overlay with --block-ssh"
assert_tcp cli "$app_ul" 22 timeout "SSH on the underlay with --block-ssh"
assert_tcp cli "$app" 8080 timeout "8080 (its rule went with the old policy)"
session_passes after-block-ssh "with --block-ssh"
ping_mesh app cli
mine_unchanged "with --block-ssh" 1
fw_change app nfctl firewall rule add lock --direction in --protocol tcp --port 8080 --action accept
assert_tcp cli "$app" 8080 open "8080 after a rule change under --block-ssh"
exec {sess}>&-

step "the agent exits (SIGTERM): the policy stays in force, own tables untouched"
agent_stop app TERM || fail "app's agent did not exit cleanly on SIGTERM"
mine_unchanged "after the agent exited" 1
assert_tcp cli "$app_ul" 22 timeout "SSH while the agent is stopped (the policy stays)"
assert_tcp cli "$app_ul" 8080 open "8080 while the agent is stopped (the policy stays)"

step "restart with --cleanup-on-exit, exit: table inet netfn goes, nothing else"
fw_mark app
agent_start app --cleanup-on-exit
node_wait_converged app 60
wait_for 60 "app's firewall to converge after the restart" fw_converged app
mine_unchanged "after a restart" 1
agent_stop app TERM || fail "app's agent (--cleanup-on-exit) did not exit cleanly on SIGTERM"
mine_unchanged "after an exit with --cleanup-on-exit" 0
assert_tcp cli "$app_ul" 22 open "SSH on the underlay once the agent's table is gone"
assert_tcp cli "$app_ul" 8080 open "8080 on the underlay once the agent's table is gone"
ctl_check "the whole scenario"
