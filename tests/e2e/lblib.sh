# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Load balancer helpers for the lb_*.sh scenarios and bench/lb.sh, sourced
# after lib.sh:
#   source "$(dirname "$0")/lblib.sh"
# Servers and clients are nf-lbtool (tests/e2e/nf-lbtool.c): `serve` answers
# each connection with its name, `connect` prints the name that answered each
# of N new connections, `hold` keeps one connection talking. The lb's own
# view comes from `netfnctl --json lb show|backends` and the hosting node's
# "lb" section in `node show`.

NF_LBTOOL=${NF_LBTOOL:-$NF_BIN/../tests/nf-lbtool}
[[ -x $NF_LBTOOL ]] || fail "$NF_LBTOOL is missing: build the nf-lbtool target"
command -v ss >/dev/null || fail "ss is missing: run scripts/deps.sh"

declare -A NF_LB_SERVE_PID=() # server name -> pid

# lb_serve VM ADDR PORT NAME [--udp]: nf-lbtool serve in VM, answering NAME;
# waits until it listens (TCP) or is bound (UDP).
lb_serve() {
	local vm=$1 addr=$2 port=$3 name=$4 udp=${5:-}
	[[ -z ${NF_LB_SERVE_PID[$name$udp]:-} ]] || fail "lb_serve: $name$udp is running"
	# Not through vm_exec: $! must be the server's own pid (ip netns exec execs it).
	# shellcheck disable=SC2086 # $udp: empty or --udp
	ip netns exec "$(vm_ns "$vm")" "$NF_LBTOOL" serve $udp "$addr" "$port" "$name" \
		>>"$NF_LOGS/serve-$name.log" 2>&1 &
	NF_LB_SERVE_PID[$name$udp]=$!
	wait_for 10 "server $name$udp on $vm $addr:$port" _lb_bound "$vm" "$port" "$udp"
}

_lb_bound() {
	if [[ -n $3 ]]; then
		vm_exec "$1" ss -Hlun "sport = :$2" | grep -q .
	else
		vm_exec "$1" ss -Hltn "sport = :$2" | grep -q LISTEN
	fi
}

# lb_serve_stop NAME [--udp]: kills server NAME (SIGKILL: it dies like a crashed server).
lb_serve_stop() {
	local pid=${NF_LB_SERVE_PID[$1${2:-}]:?no server $1${2:-}}
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	unset "NF_LB_SERVE_PID[$1${2:-}]"
}

# lb_connect VM ADDR PORT COUNT [ARGS...]: nf-lbtool connect from VM; prints
# one line per connection (a server name, TIMEOUT, REFUSED, RESET, ERROR ...).
# Succeeds whether or not every connection was answered.
lb_connect() {
	local vm=$1 rc=0
	shift
	ip netns exec "$(vm_ns "$vm")" "$NF_LBTOOL" connect "$@" || rc=$?
	((rc == 0 || rc == 3)) || {
		echo "nf-lbtool connect $* exited $rc" >&2
		return 1
	}
}

# lb_answers VM ADDR PORT COUNT [ARGS...]: like lb_connect, but fails unless
# every connection was answered (for wait_for); prints the names.
lb_answers() {
	local out
	out=$(lb_connect "$@") || return 1
	echo "$out"
	! grep -qE '^(TIMEOUT|REFUSED|RESET|ERROR)' <<<"$out"
}

# lb_tally: "name count" lines, sorted by name, of the names on stdin.
lb_tally() {
	sort | uniq -c | awk '{print $2, $1}'
}

# lb_json NAME: `lb show NAME --json`.
lb_json() {
	nfctl --json lb show "$1"
}

# lb_host NAME [SLOT]: the node hosting replica SLOT (default the first) of NAME.
lb_host() {
	local j
	j=$(lb_json "$1") || return 1
	jq -er --argjson s "${2:-0}" '[.placements[] | select(.node != "")][$s].node' <<<"$j"
}

# lb_host_is NAME NODE: NAME's (first) replica is on NODE (for wait_for).
lb_host_is() {
	local h
	h=$(lb_host "$1") || h="(none)"
	[[ $h == "$2" ]] || {
		echo "lb $1 is on $h, not $2"
		return 1
	}
}

# lb_backends NAME: `lb backends NAME --json`'s backends, one JSON array.
lb_backends() {
	local j
	j=$(nfctl --json lb backends "$1") || return 1
	jq -c 'if type == "array" then . else .backends end' <<<"$j"
}

# lb_backend_field LB NODE FIELD: FIELD (health, connections, ...) of LB's
# backend on node NODE (as the hosting node reports it).
lb_backend_field() {
	local b
	b=$(lb_backends "$1") || return 1
	jq -er --arg n "$2" --arg f "$3" '[.[] | select(.node == $n)][0][$f] //
		error("no backend on node \($n)")' <<<"$b"
}

# lb_backend_health_is LB NODE HEALTH: (for wait_for).
lb_backend_health_is() {
	local h
	h=$(lb_backend_field "$1" "$2" health) || return 1
	[[ $h == "$3" ]] || {
		echo "backend $2 of $1 is $h, not $3"
		return 1
	}
}

# lb_section NODE: NODE's "lb" section status (an object; {} when none).
lb_section() {
	node_field "$1" '(.sections // {}) | if type == "array" then
		(map(select(.function == "lb"))[0] // {}) else (.lb // {}) end | tostring'
}

# lb_applied NODE: the lb revision NODE reports applied (0: none yet).
lb_applied() {
	local s
	s=$(lb_section "$1") || return 1
	jq -r '.applied_revision // 0' <<<"$s"
}

# lb_converged NODE [AFTER]: NODE's lb section is applied at its desired
# revision, newer than AFTER (default 0), without error.
lb_converged() {
	local s
	s=$(lb_section "$1") || return 1
	jq -e --argjson after "${2:-0}" '(.desired_revision // 0) > $after and
		.applied_revision == .desired_revision and (.error // "") == ""' <<<"$s" >/dev/null || {
		echo "lb section of $1: $s"
		return 1
	}
}

# lb_wait NODE [AFTER] [SECONDS]: waits for lb_converged.
lb_wait() {
	wait_for "${3:-30}" "node $1 to apply an lb revision newer than ${2:-0}" lb_converged "$1" "${2:-0}"
	log "  $1: lb revision $(lb_applied "$1") applied"
}

# lb_refused FIELD CMD...: a netfnctl call refused naming FIELD: the API's
# "netfnctl: error: STATUS: FIELD: message" (exit 1; FIELD may be a dotted
# path ending in it), or netfnctl's own refusal before sending (exit 2), whose
# error line must contain FIELD. Nothing on stdout.
lb_refused() {
	local field=$1 out err rc=0 line got
	shift
	out=$("$@" 2>"$NF_WORK/stderr") || rc=$?
	err=$(cat "$NF_WORK/stderr")
	line=$(grep -m1 '^netfnctl: error: ' <<<"$err") ||
		fail "'$*' (exit $rc): no 'netfnctl: error: ' line: $err"
	log "  $(printf '%q ' "${@:3}")-> exit $rc: $line"
	[[ -z $out ]] || fail "'$*' printed on stdout: $out"
	if [[ $line =~ ^netfnctl:\ error:\ [A-Z_]+:\ ([][A-Za-z0-9_.-]+): ]]; then
		got=${BASH_REMATCH[1]}
		((rc == 1)) || fail "'$*' should exit 1 on an API error, exited $rc: $err"
		[[ $got == "$field" || $got == *."$field" ]] ||
			fail "'$*' should name field '$field', named '$got': $line"
	else
		((rc == 1 || rc == 2)) || fail "'$*' should exit 1 or 2, exited $rc: $err"
		grep -qF -- "$field" <<<"$line" || fail "'$*' should name field '$field': $line"
	fi
}

# now_ms: milliseconds on the harness's clock.
lb_now() {
	_now_ms
}
