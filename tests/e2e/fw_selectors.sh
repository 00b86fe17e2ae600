#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Label selectors are kept current with no policy edit: a default-deny policy
# on role=db nodes accepts tcp/5432 from role=web only. A web node connects
# and a batch node does not; once the web node's label is removed it is
# denied, once the batch node is labelled role=web it gets in, a new node
# joining with role=web gains access and a new role=db node gets the policy.
# Deleted and unlabelled nodes' addresses leave the servers' tables. The
# policy itself and the firewall part of the audit log never change meanwhile.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"

command -v ncat >/dev/null || fail "ncat is missing: run scripts/deps.sh"
command -v nft >/dev/null || fail "nft is missing: run scripts/deps.sh"

ctl_start
net_create prod 10.100.0.0/24

step "db (role=db), web1 (role=web) and batch (role=batch) join"
vm_create db
vm_create web1
vm_create batch
vm_join db prod --labels role=db,env=prod
vm_join web1 prod --labels role=web,env=prod
vm_join batch prod --labels role=batch,env=prod
declare -A addr=()
for v in db web1 batch; do
	addr[$v]=$(overlay_addr "$v")
done
ping_mesh db web1 batch
vm_listen db 5432
for v in web1 batch; do
	wait_for 20 "$v to connect to db:5432 before any policy" tcp_expect "$v" "${addr[db]}" 5432 open
done

step "a default-deny policy on role=db accepting tcp/5432 from role=web,env=prod"
cat >"$NF_WORK/rules.json" <<'EOF'
[{"direction": "in", "protocol": "tcp", "src": ["role=web,env=prod"], "dst_port": "5432", "action": "accept"}]
EOF
fw_change db nfctl firewall policy create dbpol --network prod --selector role=db --default-deny \
	--rules-file "$NF_WORK/rules.json"
assert_tcp web1 "${addr[db]}" 5432 open "web1 (role=web) to db"
assert_tcp batch "${addr[db]}" 5432 timeout "batch (role=batch) to db"
assert_ok "db's table lists web1's address" fw_table_has db "${addr[web1]}"
if fw_table_has db "${addr[batch]}" >/dev/null; then
	fail "db's table lists batch's address ${addr[batch]}: $(fw_table db)"
fi

# The policy as stored, and how many firewall mutations the audit log holds:
# nothing below may change either.
policy_now() {
	nfctl --json firewall policy show dbpol |
		jq -S 'walk(if type == "object" then del(.packets, .bytes) else . end)'
}
pol0=$(policy_now) || fail "policy show dbpol failed"
fwaudit0=$(audit_count '^firewall')
log "  policy: $(jq -c . <<<"$pol0"); firewall entries in the audit log: $fwaudit0"
policy_unchanged() {
	local p
	p=$(policy_now) || fail "policy show dbpol failed"
	[[ $p == "$pol0" ]] || fail "the policy changed $1: $(diff <(echo "$pol0") <(echo "$p"))"
	assert_eq "$(audit_count '^firewall')" "$fwaudit0" "firewall entries in the audit log $1"
}

step "web1's role label is removed: it is denied, with no policy edit"
fw_change db nfctl node label web1 role-
assert_eq "$(node_field web1 '.labels.role // "none"')" none "web1's role label after 'role-'"
wait_for 30 "web1 to be denied by db once unlabelled" tcp_expect web1 "${addr[db]}" 5432 timeout
wait_for 10 "web1's address to leave db's table" not fw_table_has db "${addr[web1]}"
policy_unchanged "after web1's label was removed"

step "batch is labelled role=web: it gets in, with no policy edit"
fw_change db nfctl node label batch role=web
wait_for 30 "batch to reach db once labelled role=web" tcp_expect batch "${addr[db]}" 5432 open
assert_tcp web1 "${addr[db]}" 5432 timeout "web1 (still unlabelled) to db"
policy_unchanged "after batch was labelled"

step "a selector needs all its labels: env=prod removed from batch denies it"
fw_change db nfctl node label batch env-
wait_for 30 "batch (role=web, no env) to be denied" tcp_expect batch "${addr[db]}" 5432 timeout
fw_change db nfctl node label batch env=prod
wait_for 30 "batch (role=web,env=prod again) to get in" tcp_expect batch "${addr[db]}" 5432 open
policy_unchanged "after batch's env label went and came back"

step "a new node web2 joining with role=web,env=prod gains access"
vm_create web2
fw_mark db
t0=$(_now_ms)
agent_join web2 "$(token_new prod --labels role=web,env=prod)"
node_wait_converged web2 60
addr[web2]=$(overlay_addr web2)
wait_for 30 "web2 to reach db:5432 after joining" tcp_expect web2 "${addr[db]}" 5432 open
log "  web2 reached db $(($(_now_ms) - t0)) ms after its agent started"
fw_wait db
assert_ok "db's table lists web2's address" fw_table_has db "${addr[web2]}"
policy_unchanged "after web2 joined"

step "a new role=db node gets the policy: web2 and batch get in, web1 does not"
vm_create db2
vm_join db2 prod --labels role=db
addr[db2]=$(overlay_addr db2)
fw_wait db2
vm_listen db2 5432
for v in web2 batch; do
	wait_for 30 "$v to reach db2:5432" tcp_expect "$v" "${addr[db2]}" 5432 open
done
assert_tcp web1 "${addr[db2]}" 5432 timeout "web1 (unlabelled) to db2"
assert_ok "db2's table lists batch's address" fw_table_has db2 "${addr[batch]}"
policy_unchanged "after db2 joined"

step "web2 is deleted: its address leaves both servers' tables"
fw_mark db db2
assert_ok "node delete web2" nfctl node delete web2
fw_wait db
fw_wait db2
for v in db db2; do
	wait_for 10 "web2's address to leave $v's table" not fw_table_has "$v" "${addr[web2]}"
done
assert_tcp batch "${addr[db]}" 5432 open "batch still reaches db"
policy_unchanged "after web2 was deleted"

step "a node that is not role=db has no firewall rules of this policy"
if t=$(fw_table web1 2>/dev/null) && grep -qw 5432 <<<"$t"; then
	fail "web1 (not role=db) carries dbpol's rules: $t"
fi
assert_tcp batch "${addr[web1]}" 22 refused "web1 has no default deny (nothing listens on 22: a reset)"
ctl_check "the whole scenario"
