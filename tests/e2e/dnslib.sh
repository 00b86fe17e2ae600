# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Overlay DNS and external client helpers for dns.sh, dns_failover.sh and
# clients.sh, sourced after lib.sh:
#   source "$(dirname "$0")/dnslib.sh"
# Lookups run inside the VMs with the real resolver (`getent hosts`, glibc
# reading the VM's /etc/resolv.conf, see vm_resolv in lib.sh) and with dig
# (the same file, or one server named). The controller's view comes from
# `netfnctl --json dns show` and `client list|show`. An "upstream" resolver,
# a dnsmasq of the test's own in a namespace on the underlay, plays the
# resolver a VM had before it joined.

for _p in dnsmasq dig getent; do
	command -v "$_p" >/dev/null || fail "'$_p' is missing: run scripts/deps.sh"
done
unset _p

# ---- the upstream resolver ---------------------------------------------------

# upstream_start VM NAME=ADDR...: a dnsmasq in VM (a namespace on the underlay
# with no agent) on VM's underlay address, port 53, answering exactly the
# given names with A records and nothing else (no upstream of its own, no
# /etc/hosts, no pid file outside the work dir); waits until it answers.
upstream_start() {
	local vm=$1 ip rec args=()
	shift
	ip=$(vm_ip "$vm")
	for rec in "$@"; do
		args+=("--host-record=${rec%%=*},${rec#*=}")
	done
	# In the background; the cleanup stops it with everything in the namespace.
	ip netns exec "$(vm_ns "$vm")" dnsmasq --keep-in-foreground --conf-file=/dev/null \
		--no-resolv --no-hosts --bind-interfaces --listen-address="$ip" --port=53 \
		--pid-file="$NF_WORK/$vm/dnsmasq.pid" --log-queries --log-facility=- "${args[@]}" \
		>>"$NF_LOGS/dnsmasq-$vm.log" 2>&1 &
	rec=${1%%=*}
	wait_for 10 "the upstream dnsmasq on $vm ($ip) to answer $rec" \
		dig_is "$vm" "$rec" "${1#*=}" "@$ip"
	log "  upstream dnsmasq on $vm ($ip) answers: $*"
}

# ---- lookups -----------------------------------------------------------------

# dig_short VM NAME [TYPE] [@SERVER]: `dig +short` in VM (1 s, one try),
# through VM's resolv.conf unless a server is given; fails when dig does
# (no answer at all), prints the answer (empty for NXDOMAIN or no data).
dig_short() {
	local vm=$1 name=$2 type=${3:-A} server=${4:-}
	# shellcheck disable=SC2086 # $server: empty or @ADDR
	vm_exec "$vm" dig +short +time=1 +tries=1 $server "$name" "$type"
}

# dig_is VM NAME EXPECTED [@SERVER] [TYPE]: dig's answer (all lines, joined by
# spaces) is EXPECTED (for wait_for).
dig_is() {
	local out
	out=$(dig_short "$1" "$2" "${5:-A}" "${4:-}" 2>&1) || {
		echo "dig ${4:-} $2 ${5:-A} in $1 failed: $out"
		return 1
	}
	out=$(tr '\n' ' ' <<<"$out")
	out=${out% }
	[[ $out == "$3" ]] || {
		echo "dig ${4:-} $2 ${5:-A} in $1: '$out', expected '$3'"
		return 1
	}
}

# getent_is VM NAME ADDR: the VM's own resolver (glibc, `getent hosts`, 5 s at
# most) gives NAME the address ADDR (for wait_for).
getent_is() {
	local out
	out=$(vm_exec "$1" timeout 5 getent hosts "$2" 2>&1) || {
		echo "getent hosts $2 in $1 failed: $out"
		return 1
	}
	[[ $(awk '{print $1; exit}' <<<"$out") == "$3" ]] || {
		echo "getent hosts $2 in $1: '$out', expected $3"
		return 1
	}
}

# resolves VM NAME ADDR: both getent and dig (VM's resolv.conf) give ADDR.
resolves() {
	getent_is "$1" "$2" "$3" && dig_is "$1" "$2" "$3"
}

# resolves_not VM NAME: neither getent nor dig (VM's resolv.conf) knows NAME.
resolves_not() {
	local out
	if out=$(vm_exec "$1" timeout 5 getent hosts "$2" 2>&1); then
		echo "getent hosts $2 in $1 still answers: $out"
		return 1
	fi
	dig_is "$1" "$2" ""
}

# ---- the controller's view -----------------------------------------------------

# dns_json [ARGS...]: `dns show --json` (ARGS: e.g. --network NET).
dns_json() {
	nfctl --json dns show "$@"
}

# dns_zone [ARGS...]: the zone `dns show` reports.
dns_zone() {
	local j
	j=$(dns_json "$@") || return 1
	jq -er '.zone | rtrimstr(".")' <<<"$j"
}

# dns_servers [ARGS...]: "node address" per placed server, by slot.
dns_servers() {
	local j
	j=$(dns_json "$@") || return 1
	jq -r '.servers | sort_by(.slot)[] | select(.node != "" and .address != "") |
		"\(.node) \(.address | sub("/.*"; ""))"' <<<"$j"
}

# dns_servers_count N [ARGS...]: N servers are placed (for wait_for).
dns_servers_count() {
	local s n
	s=$(dns_servers "${@:2}") || return 1
	n=$(grep -c . <<<"$s") || true
	((n == $1)) || {
		echo "$n servers placed, not $1: $s"
		return 1
	}
}

# dns_records [ARGS...]: the zone's records as one JSON array, each with
# "rel": its name relative to the zone ("@" for the apex).
dns_records() {
	local j
	j=$(dns_json "$@") || return 1
	jq -c '(.zone | rtrimstr(".")) as $z | [.records[] | (.name | rtrimstr(".")) as $n |
		. + {rel: (if $n == $z then "@" elif ($n | endswith("." + $z))
			then $n[0:($n | length) - ($z | length) - 1] else $n end)}]' <<<"$j"
}

# dns_record_id REL TYPE [ARGS...]: the id of the custom record REL TYPE.
dns_record_id() {
	local r
	r=$(dns_records "${@:3}") || return 1
	jq -er --arg n "$1" --arg t "$2" \
		'[.[] | select(.rel == $n and .type == $t and (.automatic | not))][0].id' <<<"$r" || {
		echo "no custom record $1 $2 in: $r"
		return 1
	}
}

# ---- refusals ----------------------------------------------------------------

# refused FIELD CMD...: a netfnctl call refused naming FIELD: the API's
# "netfnctl: error: STATUS: FIELD: message" (exit 1; FIELD may be a dotted
# path ending in it), or netfnctl's own refusal before sending (exit 2),
# whose error line must contain FIELD or its flag (public_key: --public-key).
# Nothing on stdout.
refused() {
	local field=$1 out err rc=0 line got
	shift
	out=$("$@" 2>"$NF_WORK/stderr") || rc=$?
	err=$(cat "$NF_WORK/stderr")
	line=$(grep -m1 '^netfnctl: error: ' <<<"$err") ||
		fail "'$*' (exit $rc): no 'netfnctl: error: ' line: $err"
	log "  $(printf '%q ' "${@:2}")-> exit $rc: $line"
	[[ -z $out ]] || fail "'$*' printed on stdout: $out"
	if [[ $line =~ ^netfnctl:\ error:\ [A-Z_]+:\ ([][A-Za-z0-9_.-]+): ]]; then
		got=${BASH_REMATCH[1]}
		((rc == 1)) || fail "'$*' should exit 1 on an API error, exited $rc: $err"
		[[ $got == "$field" || $got == *."$field" ]] ||
			fail "'$*' should name field '$field', named '$got': $line"
	else
		((rc == 1 || rc == 2)) || fail "'$*' should exit 1 or 2, exited $rc: $err"
		grep -qF -e "$field" -e "--${field//_/-}" <<<"$line" ||
			fail "'$*' should name field '$field': $line"
	fi
}
