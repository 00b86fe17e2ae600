#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Tokens: join tokens are single- or limited-use, expire and can be revoked;
# a refused agent exits 1 naming the token, and leaves no node and no
# interface behind. API tokens: a reader can list but not mutate (nor mint
# tokens); a missing, garbage, unknown or revoked API token is UNAUTHENTICATED.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"

ctl_start
net_create prod 10.100.0.0/24

# refused NAME TOKEN WHY: NAME's agent, given TOKEN, must be refused.
refused() {
	local name=$1 token=$2 why=$3 rc=0 err
	vm_create "$name"
	(umask 077 && printf '%s\n' "$token" >"$NF_WORK/$name/token")
	agent_run 60 "$name" --join-token-file "$NF_WORK/$name/token" || rc=$?
	err=$(cat "$NF_WORK/$name/stderr")
	log "  $name: exit $rc: $(tail -n 1 <<<"$err")"
	assert_eq "$rc" 1 "exit status of an agent with $why"
	assert_contains "$err" refused "stderr of an agent with $why"
	assert_contains "$err" token "stderr of an agent with $why"
	assert_api_error NOT_FOUND - nfctl node show "$name"
	if_exists "$name" && fail "the refused agent $name left its interface $(vm_if "$name")"
	[[ ! -e /var/run/wireguard/$(vm_if "$name").sock ]] ||
		fail "the refused agent $name left wireguard-go running"
	return 0
}

step "a single-use token: the first agent joins, a second is refused"
t1=$(token_new prod --uses 1)
vm_create a
agent_join a "$t1"
node_wait_converged a 60
enrolls=$(audit_count enroll)
refused b "$t1" "a used single-use token"
assert_eq "$(audit_count enroll)" "$enrolls" "enroll entries after a refused enrollment"

step "the refused VM joins later with a fresh token (its state dir is not poisoned)"
agent_join b "$(token_new prod)"
node_wait_converged b 60
ping_mesh a b

step "an expired token is refused"
t2=$(token_new prod --ttl 1s)
sleep 2.5 # the token's lifetime, plus the controller's one-second clock granularity
refused c "$t2" "an expired token"

step "a two-use token with labels: two agents join (labelled), the third is refused"
t3=$(token_new prod --uses 2 --labels role=web,zone=z1)
for v in d e; do
	vm_create "$v"
	agent_join "$v" "$t3"
done
for v in d e; do
	node_wait_converged "$v" 60
	assert_eq "$(node_field "$v" '.labels.role + "/" + .labels.zone')" web/z1 "$v's labels"
done
refused f "$t3" "an exhausted two-use token"

step "a revoked token is refused"
j=$(nfctl --json token create --network prod --uses 5)
id=$(jq -r .id <<<"$j")
t4=$(jq -r .token <<<"$j")
[[ -n $id && $id != null && $t4 == nfj1.* ]] || fail "token create --json gave: $j"
assert_ok "token revoke $id" nfctl token revoke "$id"
assert_eq "$(nfctl --json token list | jq -r --arg id "$id" '.[] | select(.id == $id) | .revoked')" \
	true "token list: revoked"
refused g "$t4" "a revoked token"

step "token list shows uses left and never the secret"
tl=$(nfctl --json token list)
assert_eq "$(jq -r --arg t "$t3" 'tostring | contains($t[5:])' <<<"$tl")" false \
	"token list leaks a token"
assert_eq "$(jq '[.[] | select(.uses == 2)][0].uses_left' <<<"$tl")" 0 "uses left of the two-use token"

step "a malformed join token is rejected by the agent"
vm_create h
rc=0
agent_run 30 h --join-token "nfj1.not-a-token" || rc=$?
((rc != 0)) || fail "an agent with a malformed token exited 0"
assert_api_error NOT_FOUND - nfctl node show h

step "a reader API token can list but not mutate"
reader=$(nfctl apitoken create --role reader)
[[ $reader == nfa1.* ]] || fail "apitoken create printed '$reader'"
assert_api_error PERMISSION_DENIED - nfctl --token "$reader" network create x --cidr 10.9.0.0/24
assert_api_error PERMISSION_DENIED - nfctl --token "$reader" token create --network prod
assert_api_error PERMISSION_DENIED - nfctl --token "$reader" node delete a
assert_api_error PERMISSION_DENIED - nfctl --token "$reader" apitoken create --role admin
out=$(nfctl --token "$reader" --json network list) || fail "a reader cannot list networks"
assert_eq "$(jq -r '.[].name' <<<"$out")" prod "networks listed by a reader"
assert_ok "reader: node list" nfctl --token "$reader" node list
assert_ok "reader: status" nfctl --token "$reader" status
assert_api_error NOT_FOUND - nfctl --json network show x

step "a missing, garbage, unknown or revoked API token is UNAUTHENTICATED"
# With no token at all, netfnctl stops before calling (a usage error, exit 2,
# naming the token); the controller's own answer to a request without a token
# is checked on the raw request below.
rc=0
out=$(env -u NETFN_TOKEN "$NF_BIN/netfnctl" --api "$NF_API" network list 2>&1) || rc=$?
log "  no token: exit $rc: $out"
if [[ $out == *"netfnctl: error: UNAUTHENTICATED"* ]]; then
	assert_eq "$rc" 1 "netfnctl exit status without a token"
else
	assert_eq "$rc" 2 "netfnctl exit status without a token (refused before calling)"
	assert_contains "$out" token "netfnctl's message without a token"
fi
if [[ -x $NF_RAWSEND ]]; then
	# netfn.Request{method: "network.list"}, no token: the reply's status (field 2) is 5.
	out=$(timeout -k 5 30 "$NF_RAWSEND" "$NF_API" --hex "$(printf '\x0a\x0cnetwork.list' |
		od -An -v -tx1 | tr -d ' \n')" --timeout 5000) || fail "no reply to a request without token: $out"
	log "  raw network.list without a token: $out"
	[[ $out =~ ^reply\ [0-9]+\ (08[0-9a-f]{2})?1005 ]] ||
		fail "a request without a token should get UNAUTHENTICATED (status 5): $out"
fi
assert_api_error UNAUTHENTICATED - nfctl --token garbage network list
assert_api_error UNAUTHENTICATED - nfctl --token "nfa1.$(head -c 32 /dev/urandom | base64 -w0 |
	tr '+/' '-_' | tr -d =)" network list
assert_api_error UNAUTHENTICATED - nfctl --token "$t1" network list # a join token
j=$(nfctl --json apitoken create --role admin)
admin2=$(jq -r .token <<<"$j")
id2=$(jq -r .id <<<"$j")
[[ $admin2 == nfa1.* && -n $id2 && $id2 != null ]] || fail "apitoken create --json gave: $j"
assert_ok "second admin token works" nfctl --token "$admin2" network list
assert_ok "apitoken revoke $id2" nfctl apitoken revoke "$id2"
assert_api_error UNAUTHENTICATED - nfctl --token "$admin2" network list
assert_ok "the first admin token still works" nfctl network list
assert_eq "$(nfctl --json apitoken list | jq -r --arg id "$id2" '.[] | select(.id == $id) | .revoked')" \
	true "apitoken list: revoked"
