#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The remote API is encrypted: the controller serves tls+tcp:// with a
# certificate from a test CA made here with openssl; netfnctl reaches it with
# that CA, is refused with another CA or none, and the controller refuses to
# serve a plain tcp:// API on a non-loopback address. Loopback only.
set -euo pipefail
bin=${1:?usage: api_tls.sh BIN_DIR}
dir=$(mktemp -d /tmp/netfn-tls.XXXXXX)
ctl_pid=
cleanup() {
	[[ -n $ctl_pid ]] && kill "$ctl_pid" 2>/dev/null && wait "$ctl_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
fail() {
	echo "api_tls: FAIL: $*" >&2
	[[ -f $dir/ctl.log ]] && tail -20 "$dir/ctl.log" >&2
	exit 1
}

cert() { # cert NAME CN [CA]: an EC key and certificate, signed by CA or self-signed
	local name=$1 cn=$2 ca=${3:-}
	if [[ -z $ca ]]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$dir/$name.key" -out "$dir/$name.pem" -days 2 -subj "/CN=$cn" 2>/dev/null
	else
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "/CN=$cn" 2>/dev/null
		printf 'subjectAltName=DNS:%s\n' "$cn" >"$dir/$name.ext"
		openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.pem" -CAkey "$dir/$ca.key" \
			-CAcreateserial -out "$dir/$name.pem" -days 2 -extfile "$dir/$name.ext" 2>/dev/null
	fi
}
cert ca netfn-test-ca
cert other other-ca
cert server localhost ca
cat "$dir/server.pem" "$dir/server.key" >"$dir/server-bundle.pem"

port=$((20000 + RANDOM % 20000))
token=$("$bin/netfn-controller" --data-dir "$dir/data" init)
"$bin/netfn-controller" --data-dir "$dir/data" --agents "tcp://127.0.0.1:$((port + 1))" \
	--api "ipc://$dir/api.sock" --api "tls+tcp://localhost:$port" \
	--tls-cert "$dir/server-bundle.pem" >"$dir/ctl.log" 2>&1 &
ctl_pid=$!
for _ in $(seq 50); do
	grep -q "listening on tls+tcp" "$dir/ctl.log" && break
	sleep 0.1
done

export NETFN_TOKEN=$token
nfctl() { "$bin/netfnctl" --api "tls+tcp://localhost:$port" --timeout 3000 "$@"; }

nfctl --ca "$dir/ca.pem" network create tls-net --cidr 10.123.0.0/24 >/dev/null ||
	fail "create over TLS with the right CA"
[[ $(nfctl --ca "$dir/ca.pem" --json network list | jq -r '.[0].name') == tls-net ]] ||
	fail "list over TLS"
if out=$(nfctl --ca "$dir/other.pem" network list 2>&1); then
	fail "a controller certificate from another CA was accepted: $out"
fi
if out=$(nfctl network list 2>&1); then
	fail "tls+tcp:// without --ca worked: $out"
fi
grep -q -- "--ca" <<<"$out" || fail "no-CA error does not name --ca: $out"
if out=$("$bin/netfn-controller" --data-dir "$dir/data" --agents tcp://127.0.0.1:1 \
	--api tcp://0.0.0.0:1 2>&1); then
	fail "a plain tcp:// API on a wildcard address was served"
fi
grep -q "encrypted" <<<"$out" || fail "refusal of a plain remote API says why: $out"
echo "api_tls: PASSED"
