# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Harness for the end-to-end scenarios, sourced by each tests/e2e/*.sh as
#   source "$(dirname "$0")/lib.sh" "$1"      # $1: the build's bin dir
#
# Each "VM" is a network namespace with one veth into an "underlay" bridge that
# lives in a namespace of its own; the controller gets a namespace on the same
# bridge. Everything a run creates carries one random prefix (NF_RUN): the
# namespaces, the WireGuard interface names (wireguard-go's sockets live in
# the shared /var/run/wireguard) and the work dir in /tmp, so runs cannot
# collide, and the EXIT trap removes exactly those things: it stops the
# processes inside this run's namespaces by pid, deletes the namespaces, the
# stale sockets of this run's interfaces and the work dir. Traffic only ever
# goes to addresses inside these namespaces.
#
# Logs (one per program instance, plus the harness's own) are kept under
# $NF_E2E_LOGS/<scenario>/ in the build tree; on failure their tails, the
# controller's view and every VM's addresses, routes and `wg show` are printed.

set -euo pipefail
export LC_ALL=C

if [[ $# -lt 1 || ! -d $1 ]]; then
	echo "usage: $0 BIN_DIR   (the build's bin dir, holding netfn-controller etc.)" >&2
	exit 2
fi
NF_BIN=$(cd "$1" && pwd)
NF_TEST=${NF_TEST:-$(basename "$0" .sh)}
NF_RUN=nf$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
NF_WORK=/tmp/$NF_RUN
NF_LOGS=${NF_E2E_LOGS:-$NF_BIN/../tests/e2e-logs}/$NF_TEST
NF_RAWSEND=${NF_RAWSEND:-$NF_BIN/../tests/nf-rawsend}
NF_TIME_LIMIT=${NF_TIME_LIMIT:-240} # seconds; + 15 s grace + cleanup stays below the ctest TIMEOUT

# The underlay, inside this run's namespaces only.
NF_UNDERLAY=10.201.0
NF_CTL_IP=$NF_UNDERLAY.2
NF_CTL_PORT=7400
NF_CTL_URL=tcp://$NF_CTL_IP:$NF_CTL_PORT
NF_WG_PORT=51820 # the port every test network is created with
NF_NS_BR=$NF_RUN-br
NF_NS_CTL=$NF_RUN-ctl
NF_DATA=$NF_WORK/ctl
NF_API=ipc://$NF_WORK/api.sock
export NF_API NETFN_API=$NF_API

declare -A NF_VM_NS=() NF_VM_IP=() NF_VM_IF=() NF_AGENT_PID=()
# A node name other than the VM name, for an agent (default: the VM name).
declare -A NF_NODE_NAME=()
NF_VMS=()
NF_VM_COUNT=0
NF_CTL_PID=
NF_WATCHDOG=
NF_FAILED=0
NF_NS_MADE=()

# ---- messages --------------------------------------------------------------

_now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}
NF_T0=$(_now_ms)

log() {
	local t
	t=$(($(_now_ms) - NF_T0))
	printf '[%s %3d.%03ds] %s\n' "$NF_TEST" $((t / 1000)) $((t % 1000)) "$*" |
		tee -a "$NF_LOGS/harness.log" >&2
}

step() {
	log "---- $*"
}

# fail MESSAGE: prints the failure and ends the test (the EXIT trap cleans up).
fail() {
	NF_FAILED=1
	log "FAIL: $*"
	exit 1
}

# ---- assertions ------------------------------------------------------------

# assert_eq ACTUAL EXPECTED WHAT
assert_eq() {
	[[ $1 == "$2" ]] || fail "$3: expected '$2', got '$1'"
}

# assert_ok WHAT CMD...: CMD must succeed; its output is shown if it does not.
assert_ok() {
	local what=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	((rc == 0)) || fail "$what: '$*' exited $rc: $out"
}

# assert_fails WHAT CMD...: CMD must exit non-zero.
assert_fails() {
	local what=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	((rc != 0)) || fail "$what: '$*' succeeded but should not have: $out"
}

# assert_contains HAYSTACK NEEDLE WHAT (case-insensitive)
assert_contains() {
	grep -qiF -- "$2" <<<"$1" || fail "$3: '$2' not found in: $1"
}

# assert_api_error STATUS FIELD CMD...: CMD (a netfnctl call) must exit 1 with
# "netfnctl: error: STATUS: FIELD: message" on stderr and print nothing on stdout.
# FIELD "-" skips the field check. Matches FIELD or a dotted path ending in it.
assert_api_error() {
	local status=$1 field=$2 out err rc=0 line got
	shift 2
	out=$("$@" 2>"$NF_WORK/stderr") || rc=$?
	err=$(cat "$NF_WORK/stderr")
	log "  expecting $status: exit $rc: $err"
	((rc == 1)) || fail "'$*' should exit 1 with $status, exited $rc (stdout: $out; stderr: $err)"
	line=$(grep -m1 '^netfnctl: error: ' <<<"$err") ||
		fail "'$*': no 'netfnctl: error: ' line on stderr: $err"
	got=${line#netfnctl: error: }
	[[ ${got%%:*} == "$status" ]] || fail "'$*': expected status $status, got: $line"
	if [[ $field != - ]]; then
		got=${got#*: }
		got=${got%%:*}
		[[ $got == "$field" || $got == *."$field" ]] ||
			fail "'$*': expected the error to name field '$field', got: $line"
	fi
	[[ -z $out ]] || fail "'$*': printed on stdout although it failed: $out"
}

# ---- waiting ---------------------------------------------------------------

# wait_for SECONDS WHAT CMD...: polls CMD (every 0.2 s) until it succeeds; fails
# the test with WHAT and CMD's last output once SECONDS have passed.
wait_for() {
	local secs=$1 what=$2 out end
	shift 2
	end=$(($(_now_ms) + secs * 1000))
	while :; do
		if out=$("$@" 2>&1); then
			return 0
		fi
		if (($(_now_ms) >= end)); then
			((${#out} <= 800)) || out="...${out:${#out}-800}"
			fail "timed out after ${secs}s waiting for: $what (last output of '$*': $out)"
		fi
		sleep 0.2
	done
}

# not CMD...: succeeds when CMD fails (for wait_for).
not() {
	! "$@"
}

# ---- underlay --------------------------------------------------------------

_ns_add() {
	ip netns add "$1"
	NF_NS_MADE+=("$1")
	ip -n "$1" link set lo up
}

_underlay_create() {
	_ns_add "$NF_NS_BR"
	ip -n "$NF_NS_BR" link add br0 type bridge
	ip -n "$NF_NS_BR" link set br0 up
	_ns_add "$NF_NS_CTL"
	ip -n "$NF_NS_BR" link add vc type veth peer name eth0 netns "$NF_NS_CTL"
	ip -n "$NF_NS_BR" link set vc master br0 up
	ip -n "$NF_NS_CTL" addr add "$NF_CTL_IP/24" dev eth0
	ip -n "$NF_NS_CTL" link set eth0 up
}

# vm_create NAME: a namespace "VM" on the underlay, at $NF_UNDERLAY.(10+n).
vm_create() {
	local name=$1 n ns
	[[ -z ${NF_VM_NS[$name]:-} ]] || fail "vm_create: $name exists"
	n=$((++NF_VM_COUNT))
	((n <= 200)) || fail "vm_create: too many VMs"
	ns=$NF_RUN-vm-$name
	_ns_add "$ns"
	ip -n "$NF_NS_BR" link add "v$n" type veth peer name eth0 netns "$ns"
	ip -n "$NF_NS_BR" link set "v$n" master br0 up
	ip -n "$ns" addr add "$NF_UNDERLAY.$((10 + n))/24" dev eth0
	ip -n "$ns" link set eth0 up
	NF_VM_NS[$name]=$ns
	NF_VM_IP[$name]=$NF_UNDERLAY.$((10 + n))
	NF_VM_IF[$name]=${NF_RUN}w$n # <= 15 chars; unique across namespaces
	NF_VMS+=("$name")
	mkdir -p "$NF_WORK/$name"
	mkdir -p "/etc/netns/$ns"
	cat /etc/resolv.conf >"/etc/netns/$ns/resolv.conf" 2>/dev/null || :
}

# Each VM has its own /etc/resolv.conf: `ip netns exec`, which runs every
# program of a VM (its agent too), bind-mounts /etc/netns/<ns>/resolv.conf
# over /etc/resolv.conf when that file exists. So an agent managing the VM's
# resolver edits the VM's file, never the host's. vm_create makes it a copy of
# the host's file; the cleanup removes /etc/netns/<ns> of every namespace of
# the run.

# vm_resolv NAME LINE...: VM NAME's /etc/resolv.conf becomes these lines. Call
# it before the VM's agent starts: the agent may remember the file as it was.
vm_resolv() {
	local f
	f=$(vm_resolv_path "$1")
	shift
	# In place: the bind mounts of running processes follow the inode.
	printf '%s\n' "$@" >"$f"
}

# vm_resolv_path NAME: the host's path of VM NAME's /etc/resolv.conf.
vm_resolv_path() {
	echo "/etc/netns/$(vm_ns "$1")/resolv.conf"
}

vm_ns() { echo "${NF_VM_NS[$1]:?no VM $1}"; }
vm_ip() { echo "${NF_VM_IP[$1]:?no VM $1}"; }
vm_if() { echo "${NF_VM_IF[$1]:?no VM $1}"; }

# vm_exec NAME CMD...: runs CMD inside VM NAME's namespace.
vm_exec() {
	local ns
	ns=$(vm_ns "$1")
	shift
	ip netns exec "$ns" "$@"
}

# vm_ping NAME ADDR: one echo request from VM NAME to ADDR, 1 s deadline.
vm_ping() {
	vm_exec "$1" ping -n -q -c 1 -W 1 "$2" >/dev/null
}

# wg_peers NAME: the public keys of the peers on VM NAME's WireGuard interface.
wg_peers() {
	vm_exec "$1" wg show "$(vm_if "$1")" peers
}

# if_exists NAME: VM NAME's WireGuard interface exists.
if_exists() {
	ip -n "$(vm_ns "$1")" link show "$(vm_if "$1")" >/dev/null 2>&1
}

# ---- controller ------------------------------------------------------------

# nfctl ARGS...: netfnctl on this run's API socket (NETFN_TOKEN from the env).
# timeout: a hung client must fail the test, not stall it.
nfctl() {
	timeout -k 5 60 "$NF_BIN/netfnctl" --api "$NF_API" "$@"
}

# ctl_start [SERVE ARGS...]: creates the store, exports NETFN_TOKEN, serves.
ctl_start() {
	mkdir -p "$NF_DATA"
	echo "=== $(date +%T.%N) init" >>"$NF_LOGS/controller.log"
	NETFN_TOKEN=$("$NF_BIN/netfn-controller" --data-dir "$NF_DATA" init \
		2>>"$NF_LOGS/controller.log") || fail "controller init failed (see controller.log)"
	[[ -n $NETFN_TOKEN && $NETFN_TOKEN != *$'\n'* ]] ||
		fail "controller init should print one token line, printed: '$NETFN_TOKEN'"
	export NETFN_TOKEN
	ctl_serve "$@"
}

# ctl_serve [ARGS...]: (re)starts the controller on the existing data dir.
ctl_serve() {
	echo "=== $(date +%T.%N) serve $*" >>"$NF_LOGS/controller.log"
	ip netns exec "$NF_NS_CTL" "$NF_BIN/netfn-controller" --data-dir "$NF_DATA" \
		--agents "$NF_CTL_URL" --api "$NF_API" --heartbeat-ms 1000 --log-level debug \
		"$@" >>"$NF_LOGS/controller.log" 2>&1 &
	NF_CTL_PID=$!
	wait_for 30 "the controller to answer 'netfnctl status'" _ctl_up
	ctl_alive || fail "the controller exited at start (see controller.log)"
}

_ctl_up() {
	ctl_alive || return 0 # exited: ctl_serve reports it
	nfctl status >/dev/null
}

ctl_alive() {
	[[ -n $NF_CTL_PID ]] && _running "$NF_CTL_PID"
}

# ctl_check: the controller is still running and answers.
ctl_check() {
	ctl_alive || fail "the controller is not running any more (see controller.log)"
	assert_ok "controller answers after $*" nfctl status
}

# ctl_kill [SIGNAL]: stops the controller and reaps it; returns its exit status.
ctl_kill() {
	local sig=${1:-TERM} rc=0
	kill -"$sig" "$NF_CTL_PID"
	_reap "$NF_CTL_PID" 20 || rc=$?
	NF_CTL_PID=
	return "$rc"
}

# _running PID: the process exists and is not a zombie.
_running() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $st != Z* ]]
}

# _reap PID SECONDS: waits for our child PID to exit (SIGKILL after SECONDS);
# returns its exit status.
_reap() {
	local pid=$1 end rc=0
	end=$(($(_now_ms) + $2 * 1000))
	while _running "$pid"; do
		if ((end && $(_now_ms) >= end)); then
			log "pid $pid did not exit within $2 s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
			end=0
		fi
		sleep 0.1
	done
	wait "$pid" 2>/dev/null || rc=$?
	return "$rc"
}

# net_create NAME CIDR [ARGS...]: a network on the test WireGuard port.
net_create() {
	local name=$1 cidr=$2
	shift 2
	assert_ok "network create $name" nfctl network create "$name" --cidr "$cidr" \
		--port "$NF_WG_PORT" "$@"
}

# token_new NETWORK [ARGS...]: prints a fresh join token.
token_new() {
	local t
	t=$(nfctl token create --network "$@" 2>"$NF_WORK/token.err") ||
		fail "token create --network $* failed: $(cat "$NF_WORK/token.err")"
	[[ -n $t && $t != *$'\n'* ]] || fail "token create should print one line, printed: '$t'"
	echo "$t"
}

# ---- agents ----------------------------------------------------------------

# The arguments every agent of VM NAME gets (into _agent_args).
_agent_args=()
_agent_prepare() {
	local name=$1
	_agent_args=(--controller "$NF_CTL_URL" --state-dir "$NF_WORK/$name/state"
		--name "${NF_NODE_NAME[$name]:-$name}" --wg-interface "$(vm_if "$name")"
		--endpoint "$(vm_ip "$name"):$NF_WG_PORT" --log-level debug)
}

# agent_start NAME [ARGS...]: starts VM NAME's agent in the background, named
# NAME, with its state in the work dir, logging to agent-NAME.log. Without a
# token argument this is a restart.
agent_start() {
	local name=$1
	shift
	[[ -z ${NF_AGENT_PID[$name]:-} ]] || fail "agent_start: $name's agent is running"
	_agent_prepare "$name"
	echo "=== $(date +%T.%N) start $*" >>"$NF_LOGS/agent-$name.log"
	# Not through vm_exec: $! must be the agent's own pid (ip netns exec execs it).
	ip netns exec "$(vm_ns "$name")" "$NF_BIN/netfn-agent" "${_agent_args[@]}" "$@" \
		>>"$NF_LOGS/agent-$name.log" 2>&1 &
	NF_AGENT_PID[$name]=$!
}

# agent_join NAME TOKEN [ARGS...]: first start of NAME's agent with a join
# token (passed in a file, so it does not show in the process list).
agent_join() {
	local name=$1 token=$2
	shift 2
	(umask 077 && printf '%s\n' "$token" >"$NF_WORK/$name/token")
	agent_start "$name" --join-token-file "$NF_WORK/$name/token" "$@"
}

# agent_run SECONDS NAME [ARGS...]: runs NAME's agent in the foreground and
# returns its exit status (124 if it was still running after SECONDS); its
# stderr is left in $NF_WORK/NAME/stderr and appended to its log.
agent_run() {
	local secs=$1 name=$2 rc=0
	shift 2
	_agent_prepare "$name"
	echo "=== $(date +%T.%N) run (foreground) $*" >>"$NF_LOGS/agent-$name.log"
	timeout -k 5 "$secs" ip netns exec "$(vm_ns "$name")" "$NF_BIN/netfn-agent" \
		"${_agent_args[@]}" "$@" >>"$NF_LOGS/agent-$name.log" 2>"$NF_WORK/$name/stderr" ||
		rc=$?
	cat "$NF_WORK/$name/stderr" >>"$NF_LOGS/agent-$name.log"
	return "$rc"
}

# agent_stop NAME [SIGNAL]: signals NAME's agent, waits for it, returns its status.
agent_stop() {
	local name=$1 sig=${2:-TERM} pid rc=0
	pid=${NF_AGENT_PID[$name]:?agent $1 is not running}
	kill -"$sig" "$pid" 2>/dev/null || true
	_reap "$pid" 20 || rc=$?
	unset "NF_AGENT_PID[$name]"
	echo "=== $(date +%T.%N) stopped with SIG$sig, status $rc" >>"$NF_LOGS/agent-$name.log"
	return "$rc"
}

agent_alive() {
	[[ -n ${NF_AGENT_PID[$1]:-} ]] && _running "${NF_AGENT_PID[$1]}"
}

# vm_join NAME NETWORK [TOKEN ARGS...]: a new token for NETWORK, NAME's agent
# started with it, and waits until the node is online with its config applied.
vm_join() {
	local name=$1 net=$2 token
	shift 2
	token=$(token_new "$net" "$@")
	agent_join "$name" "$token"
	node_wait_converged "$name" 60
}

# ---- the controller's view of nodes -------------------------------------------

node_json() {
	nfctl --json node show "$1"
}

# node_field NAME JQ_FILTER: one field of 'node show NAME --json'.
node_field() {
	local j
	j=$(node_json "$1") || {
		echo "node show $1 failed" >&2
		return 1
	}
	jq -r "$2" <<<"$j"
}

# node_status_is NAME STATUS: the controller reports NAME online/offline.
node_status_is() {
	local st
	st=$(node_field "$1" .status) || return 1
	[[ $st == "$2" ]] || {
		echo "node $1 is $st"
		return 1
	}
}

# overlay_addr NAME: NAME's overlay address, without the prefix length.
overlay_addr() {
	local a
	a=$(node_field "$1" .overlay_address) || return 1
	[[ -n $a && $a != null ]] || {
		echo "node $1 has no overlay address" >&2
		return 1
	}
	echo "${a%%/*}"
}

# node_converged NAME: online, and the applied revision is the desired one.
node_converged() {
	node_json "$1" | jq -e '.status == "online" and .desired_revision > 0
		and .applied_revision == .desired_revision' >/dev/null || {
		node_json "$1" 2>&1
		return 1
	}
}

# node_wait_converged NAME [SECONDS]: waits for node_converged, failing at
# once if NAME's agent exits meanwhile.
node_wait_converged() {
	local name=$1 secs=${2:-60}
	wait_for "$secs" "node $name online with its config applied" _converged_or_dead "$name"
	agent_alive "$name" || fail "agent $name exited: $(tail -n 5 "$NF_LOGS/agent-$name.log")"
}

_converged_or_dead() {
	! agent_alive "$1" || node_converged "$1"
}

# audit_count REGEX: the number of audit entries whose method matches REGEX.
audit_count() {
	nfctl --json audit list --limit 10000 |
		jq --arg re "$1" '[.. | objects | select(has("method")) |
			select(.method | test($re))] | length'
}

# ping_mesh NAME...: every ordered pair of the named VMs pings over the overlay.
ping_mesh() {
	local a b addr
	declare -A addrs=()
	for a in "$@"; do
		addrs[$a]=$(overlay_addr "$a")
	done
	for a in "$@"; do
		for b in "$@"; do
			[[ $a != "$b" ]] || continue
			addr=${addrs[$b]}
			wait_for 20 "$a to ping $b ($addr) over the overlay" vm_ping "$a" "$addr"
		done
	done
	log "all $(($# * ($# - 1))) ordered pairs of {$*} ping over the overlay"
}

# ---- firewall ----------------------------------------------------------------

# fw_applied NAME: the firewall revision NAME's agent reports applied (0: none yet).
fw_applied() {
	node_field "$1" '.sections.firewall.applied_revision // 0'
}

# fw_converged NAME [AFTER]: NAME is online and its firewall section is applied
# at the desired revision, which is newer than AFTER (default 0), with no error.
fw_converged() {
	local j
	j=$(node_json "$1") || return 1
	jq -e --argjson after "${2:-0}" '.status == "online" and
		(.sections.firewall // {}) as $f | ($f.desired_revision // 0) > $after and
		$f.applied_revision == $f.desired_revision and ($f.error // "") == ""' \
		<<<"$j" >/dev/null || {
		jq -c '{status, firewall: .sections.firewall}' <<<"$j"
		return 1
	}
}

# fw_mark NAME...: remembers each node's applied firewall revision, for fw_wait.
declare -A NF_FW_MARK=()
fw_mark() {
	local name
	for name in "$@"; do
		NF_FW_MARK[$name]=$(fw_applied "$name") || fail "cannot read $name's firewall revision"
	done
}

# fw_wait NAME [SECONDS]: waits until NAME has applied, without error, a
# firewall revision newer than the one fw_mark saw (any, without a mark);
# fails at once if NAME's agent exits meanwhile.
fw_wait() {
	local name=$1 secs=${2:-60} mark=${NF_FW_MARK[$1]:-0}
	wait_for "$secs" "node $name to apply a firewall revision newer than $mark" \
		_fw_converged_or_dead "$name" "$mark"
	agent_alive "$name" || fail "agent $name exited: $(tail -n 5 "$NF_LOGS/agent-$name.log")"
	NF_FW_MARK[$name]=$(fw_applied "$name")
	log "  $name: firewall revision ${NF_FW_MARK[$name]} applied"
}

_fw_converged_or_dead() {
	! agent_alive "$1" || fw_converged "$1" "$2"
}

# fw_change NODES CMD...: runs CMD (a netfnctl call that must succeed), then
# waits until every node in NODES (space-separated) has applied a newer
# firewall revision.
fw_change() {
	local nodes=$1 name
	shift
	# shellcheck disable=SC2086 # a list of names
	fw_mark $nodes
	assert_ok "$(printf '%q ' "${@:2}")" "$@"
	for name in $nodes; do
		fw_wait "$name"
	done
}

# fw_table NAME: the agent's nftables table on VM NAME (inet netfn), as nft lists it.
fw_table() {
	vm_exec "$1" nft list table inet netfn
}

# fw_table_has NAME STRING: VM NAME's inet netfn table mentions STRING (a word,
# e.g. an address or a port).
fw_table_has() {
	local t
	t=$(fw_table "$1" 2>&1) || {
		echo "$t"
		return 1
	}
	grep -qwF -- "$2" <<<"$t" || {
		echo "'$2' not in $1's table inet netfn"
		return 1
	}
}

# fw_apply_ms NAME REVISION: the X.Y of the agent's last "firewall revision N
# applied: R rules in X.Y ms" log line for REVISION (empty when none).
fw_apply_ms() {
	sed -nE "s/.*firewall revision $2 applied: [0-9]+ rules in ([0-9.]+) ms.*/\1/p" \
		"$NF_LOGS/agent-$1.log" | tail -n 1
}

# fw_rules POLICY: the policy's rules, with counters, as one JSON array.
fw_rules() {
	local j
	j=$(nfctl --json firewall rule list "$1") || return 1
	jq -c 'if type == "array" then . else .rules end' <<<"$j"
}

# fw_rule_id POLICY JQ_CONDITION: the id of the policy's first rule for which
# the condition holds, e.g. '.dst_port == "8081"'.
fw_rule_id() {
	local r
	r=$(fw_rules "$1") || return 1
	jq -er "[.[] | select($2)][0].id" <<<"$r" || {
		echo "no rule of $1 with $2 in: $r"
		return 1
	}
}

# fw_counter POLICY ID [FIELD]: the rule's packets (or FIELD) counter.
fw_counter() {
	local r
	r=$(fw_rules "$1") || return 1
	jq -er --arg id "$2" --arg f "${3:-packets}" \
		'[.[] | select((.id | tostring) == $id)][0][$f] // error("no rule \($id)")' <<<"$r"
}

# fw_counter_atleast POLICY ID N [FIELD]: the counter has reached N (for wait_for).
fw_counter_atleast() {
	local v
	v=$(fw_counter "$1" "$2" "${4:-packets}") || return 1
	((v >= $3)) || {
		echo "rule $2 of $1: ${4:-packets} $v < $3"
		return 1
	}
}

# vm_listen NAME PORT: a TCP listener on PORT on every address of VM NAME (ncat:
# keeps accepting, discards what it reads); waits until it listens.
vm_listen() {
	ip netns exec "$(vm_ns "$1")" ncat -lk --recv-only -p "$2" </dev/null >/dev/null \
		2>>"$NF_LOGS/ncat-$1.log" &
	wait_for 10 "a TCP listener on $1 port $2" _listening "$1" "$2"
}

_listening() {
	vm_exec "$1" ss -Hltn "sport = :$2" | grep -q LISTEN
}

# tcp_probe NAME ADDR PORT [SECONDS]: one TCP connect from VM NAME to ADDR:PORT;
# prints "open", "refused" (a reset or ICMP unreachable came back), "timeout"
# (no answer within SECONDS, default 3) or "error(STATUS): MESSAGE".
tcp_probe() {
	local out rc=0
	# shellcheck disable=SC2016 # $0 and $1 of the inner bash
	out=$(ip netns exec "$(vm_ns "$1")" timeout -k 1 "${4:-3}" \
		bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$2" "$3" 2>&1) || rc=$?
	case $rc in
	0) echo open ;;
	124 | 137) echo timeout ;;
	*)
		case $out in
		*refused*) echo refused ;;
		*) echo "error($rc): ${out//$'\n'/ }" ;;
		esac
		;;
	esac
}

# tcp_expect NAME ADDR PORT RESULT [SECONDS]: tcp_probe gives RESULT (for wait_for).
tcp_expect() {
	local got
	got=$(tcp_probe "$1" "$2" "$3" "${5:-3}")
	[[ $got == "$4" ]] || {
		echo "$1 -> $2:$3: $got, expected $4"
		return 1
	}
}

# assert_tcp NAME ADDR PORT RESULT WHAT: one probe must give RESULT.
assert_tcp() {
	local got
	got=$(tcp_probe "$1" "$2" "$3")
	[[ $got == "$4" ]] || fail "$5: TCP $1 -> $2:$3 gave '$got', expected '$4'"
	log "  $1 -> $2:$3: $got ($5)"
}

# ---- cleanup ---------------------------------------------------------------

_diagnose() {
	local name ns
	{
		echo "==== controller view"
		nfctl --json node list 2>&1 | head -c 20000
		nfctl --json network list 2>&1 | head -c 5000
		nfctl --json firewall policy list 2>&1 | head -c 20000
		for name in "${NF_VMS[@]}"; do
			ns=${NF_VM_NS[$name]}
			echo "==== $name ($ns)"
			ip -n "$ns" -br addr 2>&1
			ip -n "$ns" route 2>&1
			timeout 5 ip netns exec "$ns" wg show "${NF_VM_IF[$name]}" 2>&1
			echo "-- /etc/resolv.conf"
			cat "/etc/netns/$ns/resolv.conf" 2>&1
			! command -v nft >/dev/null || timeout 5 ip netns exec "$ns" nft list ruleset 2>&1
		done
	} >"$NF_LOGS/diag.txt" 2>&1 || true
}

_print_logs() {
	local f
	for f in "$NF_LOGS"/*.log "$NF_LOGS/diag.txt"; do
		[[ -f $f ]] || continue
		[[ $f != */harness.log ]] || continue
		echo "======== tail of $f" >&2
		tail -n 60 "$f" >&2
	done
}

_cleanup() {
	local rc=$? name pid ns pids=() reports=()
	set +e
	trap - EXIT INT TERM
	if [[ -n $NF_WATCHDOG ]]; then
		kill "$NF_WATCHDOG" 2>/dev/null
		wait "$NF_WATCHDOG" 2>/dev/null
	fi
	((rc == 0)) || NF_FAILED=1
	((NF_FAILED == 0)) || _diagnose

	# Graceful stops first, so sanitizer builds get to report leaks.
	for name in "${!NF_AGENT_PID[@]}"; do
		kill -TERM "${NF_AGENT_PID[$name]}" 2>/dev/null
	done
	for name in "${!NF_AGENT_PID[@]}"; do
		_reap "${NF_AGENT_PID[$name]}" 10
		pid=$?
		((pid == 0)) || echo "=== agent exit status at cleanup: $pid" >>"$NF_LOGS/agent-$name.log"
	done
	if [[ -n $NF_CTL_PID ]]; then
		kill -TERM "$NF_CTL_PID" 2>/dev/null
		_reap "$NF_CTL_PID" 10
		pid=$?
		((pid == 0)) || echo "=== controller exit status at cleanup: $pid" >>"$NF_LOGS/controller.log"
	fi
	# Whatever still runs in this run's namespaces (wireguard-go, pings) is ours.
	mapfile -t pids < <(for ns in "${NF_NS_MADE[@]}"; do ip netns pids "$ns" 2>/dev/null; done)
	if ((${#pids[@]})); then
		kill -TERM "${pids[@]}" 2>/dev/null
		for _ in {1..30}; do
			kill -0 "${pids[@]}" 2>/dev/null || break
			sleep 0.1
		done
		for pid in "${pids[@]}"; do
			! kill -0 "$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
		done
		for _ in {1..30}; do
			kill -0 "${pids[@]}" 2>/dev/null || break
			sleep 0.1
		done
	fi
	for ns in "${NF_NS_MADE[@]}"; do
		ip netns del "$ns" 2>/dev/null
		[[ -z $ns ]] || rm -rf "/etc/netns/$ns"
	done
	for name in "${NF_VMS[@]}"; do
		rm -f "/var/run/wireguard/${NF_VM_IF[$name]}.sock"
	done
	rm -rf "$NF_WORK"

	mapfile -t reports < <(ls "$NF_LOGS"/asan.* "$NF_LOGS"/ubsan.* 2>/dev/null
		grep -lE '^==[0-9]+==ERROR: |runtime error: ' "$NF_LOGS"/*.log 2>/dev/null)
	if ((${#reports[@]})); then
		log "FAIL: sanitizer reports in: ${reports[*]}"
		head -n 60 "${reports[@]}" >&2
		NF_FAILED=1
	fi
	if ((NF_FAILED)); then
		_print_logs
		log "FAILED (logs: $NF_LOGS)"
		exit 1
	fi
	log "PASSED in $((($(_now_ms) - NF_T0) / 1000)) s"
	exit 0
}

_on_signal() {
	NF_FAILED=1
	log "FAIL: interrupted (time limit of ${NF_TIME_LIMIT}s or a signal)"
	exit 1
}

# ---- setup -----------------------------------------------------------------

[[ $(id -u) == 0 ]] || {
	echo "$NF_TEST: needs root (network namespaces)" >&2
	exit 1
}
for _p in netfn-controller netfn-agent netfnctl; do
	[[ -x $NF_BIN/$_p ]] || {
		echo "$NF_TEST: $NF_BIN/$_p is missing: build first" >&2
		exit 1
	}
done
for _p in ip wireguard-go wg jq ping timeout; do
	command -v "$_p" >/dev/null || {
		echo "$NF_TEST: '$_p' is missing: run scripts/deps.sh" >&2
		exit 1
	}
done
unset _p

rm -rf "$NF_LOGS"
mkdir -p "$NF_LOGS"
# Sanitizer builds: every instrumented process of this run (controller, agents,
# netfnctl) writes its reports to files here, which the cleanup looks for.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$NF_LOGS/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$NF_LOGS/ubsan"
mkdir -m 0700 "$NF_WORK"
trap _cleanup EXIT
trap _on_signal INT TERM
# set -e ends the test on an unchecked failure; say which command it was.
trap '((BASH_SUBSHELL)) || log "FAIL: \"$BASH_COMMAND\" failed (status $?) at ${BASH_SOURCE[0]##*/}:$LINENO"' ERR
# A watchdog ends the test (through the trap, so cleanup runs) before ctest's
# own timeout would kill it without one.
# Bash runs the trap only once the current foreground command returns, so if
# the test is still there 15 s later, the watchdog also signals every process
# the test started (by pid), which unblocks it.
(
	trap 'kill "$_s" 2>/dev/null; exit 0' TERM
	sleep "$NF_TIME_LIMIT" &
	_s=$!
	wait "$_s" || exit 0
	kill -TERM $$ 2>/dev/null || exit 0
	sleep 15 &
	_s=$!
	wait "$_s" || exit 0
	_tree() {
		local c
		for c in $(ps -o pid= --ppid "$1"); do
			[[ $c == "$BASHPID" ]] || {
				echo "$c"
				_tree "$c"
			}
		done
	}
	_t=$(_tree $$)
	# shellcheck disable=SC2086 # a list of pids
	[[ -z $_t ]] || kill -TERM $_t 2>/dev/null
	exit 0
) &
NF_WATCHDOG=$!
log "run $NF_RUN, logs in $NF_LOGS"
_underlay_create
