#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Bad input changes nothing: invalid networks, names, ports, tokens and labels
# are refused with the offending field named, and the store stays exactly as
# it was (netfnctl's lists, the audit log and an SQL dump of the database are
# compared before and after). Malformed, truncated and oversized messages
# sent raw to the API socket and to the agent port get an error or are
# dropped, and the controller keeps serving. An agent whose identity key was
# replaced is refused and changes nothing.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"

[[ -x $NF_RAWSEND ]] || fail "nf-rawsend not built at $NF_RAWSEND"

ctl_start
net_create base 10.50.0.0/16

# ---- snapshots of everything the controller stores --------------------------

db_dump() {
	local db
	command -v sqlite3 >/dev/null || return 0
	for db in "$NF_DATA"/*.db "$NF_DATA"/*.sqlite "$NF_DATA"/*.sqlite3; do
		[[ -f $db ]] || continue
		echo "== $db"
		sqlite3 -readonly "$db" .dump
	done
}

# snapshot FILE: the controller's whole visible state.
snapshot() {
	{
		echo "== networks"
		nfctl --json network list | jq -S .
		echo "== nodes"
		# status and last_seen move with time, not with input
		nfctl --json node list | jq -S 'map(del(.status, .last_seen, .peers))'
		echo "== join tokens"
		nfctl --json token list | jq -S .
		echo "== api tokens"
		nfctl --json apitoken list | jq -S .
		echo "== audit"
		nfctl --json audit list --limit 10000 | jq -S .
		db_dump
	} >"$1" || fail "cannot take a snapshot of the controller's state"
}

# unchanged WHAT: the state equals the last baseline.
unchanged() {
	snapshot "$NF_WORK/after"
	diff -u "$NF_WORK/before" "$NF_WORK/after" >"$NF_LOGS/snapshot.diff" ||
		fail "$1 changed the store: $(head -c 3000 "$NF_LOGS/snapshot.diff")"
	log "store unchanged after $1"
}

baseline() {
	snapshot "$NF_WORK/before"
}

# refused FIELD CMD...: a netfnctl call refused, naming FIELD. The controller
# answers "netfnctl: error: STATUS: FIELD: message" (exit 1); a value netfnctl
# itself cannot parse is refused before sending as a usage error (exit 2),
# whose message must name the flag.
refused() {
	local field=$1 out err rc=0 line
	shift
	out=$("$@" 2>"$NF_WORK/stderr") || rc=$?
	err=$(cat "$NF_WORK/stderr")
	line=$(grep -m1 '^netfnctl: error: ' <<<"$err") ||
		fail "'$*' (exit $rc): no 'netfnctl: error: ' line: $err"
	log "  $(printf '%q ' "${@:2}")-> exit $rc: $line"
	[[ -z $out ]] || fail "'$*' printed on stdout: $out"
	if [[ $line =~ ^netfnctl:\ error:\ [A-Z_]+:\ ([A-Za-z0-9_.-]+): ]]; then
		local got=${BASH_REMATCH[1]}
		((rc == 1)) || fail "'$*' should exit 1 on an API error, exited $rc: $err"
		[[ $got == "$field" || $got == *."$field" ]] ||
			fail "'$*' should name field '$field': $line"
	else
		((rc == 1 || rc == 2)) || fail "'$*' should exit 1 or 2, exited $rc: $err"
		grep -qiE -- "(--|\b)$field\b" <<<"$line" ||
			fail "'$*' should name field '$field': $line"
	fi
}

step "invalid networks are refused with the field named; nothing is stored"
baseline
for cidr in 300.1.2.3/24 10.0.0.0/33 10.0.0.1/24 abc "" 10.0.0.0 10.0.0.0/8/8 " 10.1.0.0/24" \
	"10.1.0.0/24 " 010.1.0.0/24 10.1.0.0/-1 "10.1.0.0/24;x" 0x0a.1.0.0/16 ::/64 10.1.0.0/31; do
	refused cidr nfctl network create bad --cidr "$cidr"
done
refused name nfctl network create base --cidr 10.60.0.0/24 # duplicate
refused cidr nfctl network create inner --cidr 10.50.3.0/24 # inside base
refused cidr nfctl network create outer --cidr 10.0.0.0/8   # contains base
long=$(printf 'n%.0s' {1..64})
# shellcheck disable=SC2016 # a literal '$(id)': it must be refused, never run
for name in 'a"b' "a'b" 'a;b' $'a\nb' 'a b' '' "$long" UPPER -lead trail- ../etc 'a$(id)' \
	$'a\tb' 'a\b' 'é'; do
	refused name nfctl network create --cidr 10.61.0.0/24 -- "$name" # "--": names like "-lead"
done
for port in 0 70000 -1 65536 abc 1e3 ""; do
	refused port nfctl network create p --cidr 10.62.0.0/24 --port "$port"
done
for mtu in 100 1279 9001 100000 abc; do
	refused mtu nfctl network create m --cidr 10.63.0.0/24 --mtu "$mtu"
done
refused topology nfctl network create t --cidr 10.64.0.0/24 --topology star
refused hub nfctl network create t --cidr 10.64.0.0/24 --topology hub
refused hub nfctl network create t --cidr 10.64.0.0/24 --topology mesh --hub x
refused hub nfctl network create t --cidr 10.64.0.0/24 --topology hub --hub 'x;y'
unchanged "invalid network creates"

step "invalid tokens, labels and roles are refused"
refused network nfctl token create --network nosuch
refused ttl nfctl token create --network base --ttl forever
refused ttl nfctl token create --network base --ttl -5s
refused labels nfctl token create --network base --labels 'bad key=v'
refused labels nfctl token create --network base --labels $'k=v\nx'
refused labels nfctl token create --network base --labels 'k=v;rm'
refused role nfctl apitoken create --role god
assert_api_error NOT_FOUND - nfctl node delete nosuch
assert_api_error NOT_FOUND - nfctl network delete nosuch
assert_api_error NOT_FOUND - nfctl token revoke nosuch
unchanged "invalid token, label and role requests"

# ---- raw messages ----------------------------------------------------------

hexof() {
	printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'
}

varint() {
	local v=$1 out=
	while ((v >= 128)); do
		out+=$(printf '%02x' $(((v & 127) | 128)))
		v=$((v >> 7))
	done
	printf '%s%02x' "$out" "$v"
}

# pb_bytes FIELD HEX / pb_str FIELD STRING / pb_uint FIELD N: one protobuf field, in hex.
pb_bytes() {
	printf '%02x%s%s' $((($1 << 3) | 2)) "$(varint $((${#2} / 2)))" "$2"
}
pb_str() {
	pb_bytes "$1" "$(hexof "$2")"
}
pb_uint() {
	printf '%02x%s' $(($1 << 3)) "$(varint "$2")"
}

# pb_varint_field HEX FIELD: the varint field's value in a message (0 if absent).
pb_varint_field() {
	local h=$1 want=$2 pos=0 n=${#1} tag v shift wt len
	_rv() { # reads a varint at pos into v
		v=0 shift=0
		local b
		while :; do
			b=$((16#${h:pos:2}))
			pos=$((pos + 2))
			v=$((v | ((b & 127) << shift)))
			shift=$((shift + 7))
			((b & 128)) || break
			((pos < n)) || break
		done
	}
	while ((pos < n)); do
		_rv
		tag=$v wt=$((v & 7))
		case $wt in
		0)
			_rv
			if (((tag >> 3) == want)); then
				echo "$v"
				return 0
			fi
			;;
		1) pos=$((pos + 16)) ;;
		2)
			_rv
			len=$v
			pos=$((pos + 2 * len))
			;;
		5) pos=$((pos + 8)) ;;
		*) break ;;
		esac
	done
	echo 0
}

declare -A STATUS_CODE=([OK]=0 [INVALID_ARGUMENT]=1 [NOT_FOUND]=2 [ALREADY_EXISTS]=3
	[PERMISSION_DENIED]=4 [UNAUTHENTICATED]=5 [FAILED_PRECONDITION]=6
	[RESOURCE_EXHAUSTED]=7 [INTERNAL]=8 [UNAVAILABLE]=9)

# raw EXPECT WHAT URL NF-RAWSEND-ARGS...: sends one raw message; EXPECT is a
# status name the reply must carry, or "rejected" (an error reply or no reply,
# anything but OK). Runs in the first VM's namespace for tcp:// URLs.
raw() {
	local expect=$1 what=$2 url=$3 out rc=0 st
	shift 3
	if [[ $1 == --hex ]]; then
		# Through a file: a long hex string would pass the kernel's limit on one argument.
		# shellcheck disable=SC2059 # the format is nothing but \xHH escapes
		printf "$(sed 's/../\\x&/g' <<<"$2")" >"$NF_WORK/raw.bin"
		set -- --file "$NF_WORK/raw.bin" "${@:3}"
	fi
	if [[ $url == tcp://* ]]; then
		out=$(timeout -k 5 30 ip netns exec "$(vm_ns raw)" "$NF_RAWSEND" "$url" "$@" \
			--timeout 3000 2>&1) || rc=$?
	else
		out=$(timeout -k 5 30 "$NF_RAWSEND" "$url" "$@" --timeout 3000 2>&1) || rc=$?
	fi
	case $rc in
	0)
		read -r _ len hex <<<"$out"
		st=$(pb_varint_field "$hex" 2)
		log "  $what: reply of $len bytes, status $st"
		if [[ $expect == rejected ]]; then
			((st != 0)) || fail "$what: the controller answered OK"
		else
			((st == STATUS_CODE[$expect])) ||
				fail "$what: expected $expect (${STATUS_CODE[$expect]}), got status $st: $out"
		fi
		;;
	2)
		log "  $what: no reply (${out#noreply })"
		[[ $expect == rejected ]] || fail "$what: expected a $expect reply, got none: $out"
		;;
	*) fail "$what: nf-rawsend failed ($rc): $out" ;;
	esac
	ctl_check "$what"
}

vm_create raw

step "raw messages to the API socket: errors or drops, and the controller keeps serving"
baseline
raw rejected "empty message" "$NF_API" --hex ""
raw rejected "1 KiB of random bytes" "$NF_API" --random 1024
raw rejected "64 KiB of zeros" "$NF_API" --zeros 65536
raw rejected "5 MiB of random bytes (over the frame limit)" "$NF_API" --random 5242880
raw rejected "an envelope with a 4 MiB body (over the frame limit)" "$NF_API" --frame 4194304
raw UNAUTHENTICATED "network.create without a token" "$NF_API" \
	--hex "$(pb_str 1 network.create)$(pb_bytes 4 "$(pb_str 1 raw)$(pb_str 2 10.74.0.0/24)")"
raw UNAUTHENTICATED "network.create with a forged token" "$NF_API" \
	--hex "$(pb_str 1 network.create)$(pb_str 3 "${NETFN_TOKEN%?????}AAAAA")$(pb_bytes 4 \
		"$(pb_str 1 raw)$(pb_str 2 10.74.0.0/24)")"
raw rejected "a truncated envelope" "$NF_API" --hex "$(pb_str 1 status | head -c 8)"
raw rejected "an envelope whose length runs past the end" "$NF_API" --hex "0a7f737461747573"
raw rejected "a field with wire type 7" "$NF_API" --hex "0f00"
raw rejected "a 10-byte varint overflow" "$NF_API" --hex "10ffffffffffffffffffff01"
raw rejected "an unknown method (admin)" "$NF_API" \
	--hex "$(pb_str 1 network.explode)$(pb_str 3 "$NETFN_TOKEN")"
raw rejected "an agent method on the API (admin)" "$NF_API" \
	--hex "$(pb_str 1 agent.enroll)$(pb_str 3 "$NETFN_TOKEN")"
raw INVALID_ARGUMENT "network.create with a garbage body (admin)" "$NF_API" \
	--hex "$(pb_str 1 network.create)$(pb_str 3 "$NETFN_TOKEN")$(pb_bytes 4 ffffffffff)"
raw INVALID_ARGUMENT "network.create, port 99999 (admin)" "$NF_API" \
	--hex "$(pb_str 1 network.create)$(pb_str 3 "$NETFN_TOKEN")$(pb_bytes 4 \
		"$(pb_str 1 raw)$(pb_str 2 10.70.0.0/24)$(pb_uint 3 99999)")"
raw INVALID_ARGUMENT "network.create, a name with a NUL byte (admin)" "$NF_API" \
	--hex "$(pb_str 1 network.create)$(pb_str 3 "$NETFN_TOKEN")$(pb_bytes 4 \
		"$(pb_bytes 1 "$(hexof ok)00$(hexof ';x')")$(pb_str 2 10.71.0.0/24)")"
raw INVALID_ARGUMENT "network.create, a 100 KB name (admin)" "$NF_API" \
	--hex "$(pb_str 1 network.create)$(pb_str 3 "$NETFN_TOKEN")$(pb_bytes 4 \
		"$(pb_str 1 "$(head -c 100000 /dev/zero | tr '\0' a)")$(pb_str 2 10.72.0.0/24)")"
raw INVALID_ARGUMENT "network.create, invalid UTF-8 in the name (admin)" "$NF_API" \
	--hex "$(pb_str 1 network.create)$(pb_str 3 "$NETFN_TOKEN")$(pb_bytes 4 \
		"$(pb_bytes 1 c328)$(pb_str 2 10.73.0.0/24)")"
if command -v ncat >/dev/null; then
	head -c 65536 /dev/urandom | timeout 10 ncat --send-only -U "${NF_API#ipc://}" || true
	ctl_check "64 KiB of random bytes on the API socket's stream"
fi
unchanged "raw messages to the API"

step "raw messages to the agent port: errors or drops, and the controller keeps serving"
raw rejected "empty message" "$NF_CTL_URL" --hex ""
raw rejected "1 KiB of random bytes" "$NF_CTL_URL" --random 1024
raw rejected "5 MiB of random bytes (over the frame limit)" "$NF_CTL_URL" --random 5242880
raw rejected "an unsealed agent.enroll" "$NF_CTL_URL" \
	--hex "$(pb_str 1 agent.enroll)$(pb_bytes 4 "$(pb_bytes 1 "$(head -c 32 /dev/urandom |
		od -An -v -tx1 | tr -d ' \n')")")"
rnd() {
	head -c "$1" /dev/urandom | od -An -v -tx1 | tr -d ' \n'
}
raw rejected "a sealed frame from an unknown key, garbage box" "$NF_CTL_URL" \
	--hex "$(pb_bytes 1 "$(rnd 32)")$(pb_bytes 2 "$(rnd 24)")$(pb_bytes 3 "$(rnd 200)")"
raw rejected "a sealed frame with a short key and nonce" "$NF_CTL_URL" \
	--hex "$(pb_bytes 1 "$(rnd 5)")$(pb_bytes 2 "$(rnd 3)")$(pb_bytes 3 "$(rnd 16)")"
raw rejected "a sealed frame with a huge box" "$NF_CTL_URL" \
	--hex "$(pb_bytes 1 "$(rnd 32)")$(pb_bytes 2 "$(rnd 24)")$(pb_bytes 3 "$(rnd 200000)")"
if command -v ncat >/dev/null; then
	head -c 65536 /dev/urandom |
		timeout 10 ip netns exec "$(vm_ns raw)" ncat --send-only "$NF_CTL_IP" "$NF_CTL_PORT" || true
	ctl_check "random bytes on the agent port's TCP stream"
	# An SP header for req0, then a message length of 2^63 - 1.
	printf '\x00SP\x00\x00\x30\x00\x00\x7f\xff\xff\xff\xff\xff\xff\xffxxxx' |
		timeout 10 ip netns exec "$(vm_ns raw)" ncat --send-only "$NF_CTL_IP" "$NF_CTL_PORT" || true
	ctl_check "an SP frame claiming 2^63 bytes on the agent port"
fi
unchanged "raw messages to the agent port"

step "agents with names the controller refuses are refused and consume nothing"
t=$(token_new base)
baseline
# 'bad;name' is refused by the agent itself; the others only by the controller.
n=0
for name in 'bad;name' Bad.Name -lead "$long"; do
	vm_create "badname$((++n))"
	NF_NODE_NAME[badname$n]=$name
	rc=0
	agent_run 30 "badname$n" --join-token "$t" || rc=$?
	log "  agent named '$name': exit $rc: $(tail -n 1 "$NF_WORK/badname$n/stderr")"
	((rc != 0 && rc != 124)) || fail "an agent named '$name' should exit with an error, got $rc"
	if_exists "badname$n" && fail "the refused agent '$name' left its interface"
done
unchanged "enrollments with invalid names"

step "an agent whose identity key was replaced is refused and changes nothing"
vm_create vm1
agent_join vm1 "$t"
node_wait_converged vm1 60
agent_stop vm1 TERM || fail "vm1's agent did not exit cleanly on SIGTERM"
wait_for 20 "vm1 to be reported offline" node_status_is vm1 offline
state=$NF_WORK/vm1/state
[[ -f $state/identity.key ]] || fail "no identity.key in the agent's state dir: $(ls "$state")"
cp -a "$state/identity.key" "$NF_WORK/identity.key.good"
baseline
(umask 077 && wg genkey >"$state/identity.key.new" && mv "$state/identity.key.new" "$state/identity.key")
logged=$(wc -l <"$NF_LOGS/agent-vm1.log")
agent_start vm1
wrong_key_refused() {
	agent_alive vm1 || return 0
	tail -n +$((logged + 1)) "$NF_LOGS/agent-vm1.log" |
		grep -iE 'refused|unauthenticated|permission|denied|unknown'
}
wait_for 30 "the agent with a replaced identity key to be refused" wrong_key_refused
sleep 2 # let it retry, if it does, to show retries change nothing either
if agent_alive vm1; then
	agent_stop vm1 TERM || true
else
	rc=0
	wait "${NF_AGENT_PID[vm1]}" || rc=$?
	unset "NF_AGENT_PID[vm1]"
	log "the agent with a wrong key exited with status $rc"
	((rc != 0)) || fail "the agent with a wrong key exited 0"
fi
unchanged "an agent with a replaced identity key"
assert_eq "$(node_field vm1 .status)" offline "vm1's status while its key is wrong"

step "with its own key back, the agent syncs again"
cp -a "$NF_WORK/identity.key.good" "$state/identity.key"
agent_start vm1
node_wait_converged vm1 30
ctl_check "the whole scenario"
