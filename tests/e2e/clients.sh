#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# External clients: a "laptop" namespace on the underlay, configured only
# from the wg-quick file `netfnctl client create --output` writes, brought up
# with Debian's wg-quick and wireguard-go. Its key is made by netfnctl here
# and the controller's store and logs never see the private key. Through the
# gateway (placed on the gw=yes node) the laptop pings two VMs and resolves
# their names through the overlay DNS the file names. A default-deny firewall
# policy accepting tcp/8080 from role=laptop lets the laptop (a client with
# that label) in and keeps the VMs without the label out. `client delete`
# cuts the laptop off within a few seconds; a client created with --ttl 3s
# works, then stops at its expiry and is listed as expired; `client list`
# flags a key expiring within 14 days; --qr prints a QR code; bad input is
# refused naming the field, with nothing stored.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"
# shellcheck source=tests/e2e/dnslib.sh
source "$(dirname "$0")/dnslib.sh"

for _p in wg-quick ncat nft; do
	command -v "$_p" >/dev/null || fail "'$_p' is missing: run scripts/deps.sh"
done
revoke_limit_ms=5000

# resolvconf(8), which wg-quick pipes a DNS= line to, is not namespace-aware
# (it keeps its state in /run/resolvconf, shared with the host) and is not
# installed here. A stand-in of the test's own takes its place on the laptop's
# PATH: it writes exactly what wg-quick passes it (the file's DNS= line as
# nameserver/search lines) to the laptop's resolv.conf and restores it on -d.
mkdir -p "$NF_WORK/bin"
cat >"$NF_WORK/bin/resolvconf" <<'EOF'
#!/bin/bash
# resolvconf stand-in for wg-quick in a test namespace: -a IFACE reads
# resolv.conf lines on stdin, -d IFACE restores. The file is $NF_RESOLV_FILE
# (written in place: it is bind-mounted over the namespace's /etc/resolv.conf).
set -euo pipefail
echo "resolvconf stand-in: $*" >&2
case $1 in
-a)
	[[ -e $NF_RESOLV_SAVE ]] || cat "$NF_RESOLV_FILE" >"$NF_RESOLV_SAVE"
	cat >"$NF_RESOLV_FILE"
	;;
-d)
	[[ ! -e $NF_RESOLV_SAVE ]] || cat "$NF_RESOLV_SAVE" >"$NF_RESOLV_FILE"
	rm -f "$NF_RESOLV_SAVE"
	;;
*) exit 0 ;;
esac
EOF
chmod 755 "$NF_WORK/bin/resolvconf"

# wgq VM up|down FILE: Debian's wg-quick in VM with wireguard-go, the
# resolvconf stand-in on the PATH for the file's DNS= line.
wgq() {
	local vm=$1
	ip netns exec "$(vm_ns "$vm")" env PATH="$NF_WORK/bin:$PATH" \
		WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go \
		NF_RESOLV_FILE="$(vm_resolv_path "$vm")" NF_RESOLV_SAVE="$NF_WORK/$vm/resolv.saved" \
		wg-quick "$2" "$3" >>"$NF_LOGS/wg-quick-$vm.log" 2>&1
}

# conf_get FILE SECTION KEY: KEY's value in SECTION of a wg-quick file.
conf_get() {
	awk -v want="[$2]" -v key="$3" '
		/^[ \t]*\[/ { gsub(/[ \t]/, ""); sec = $0; next }
		sec == want {
			line = $0
			k = line; sub(/[ \t]*=.*/, "", k); gsub(/^[ \t]+/, "", k)
			if (tolower(k) != tolower(key)) next
			v = line; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t]+$/, "", v)
			print v; exit
		}' "$1"
}

# client_json NAME: `client show NAME --json`.
client_json() {
	nfctl --json client show "$1"
}

# clients_json: `client list --json` as one array.
clients_json() {
	local j
	j=$(nfctl --json client list) || return 1
	jq -c 'if type == "array" then . else .clients end' <<<"$j"
}

# reaches VM ADDR...: VM pings every ADDR (for wait_for).
reaches() {
	local vm=$1 a
	shift
	for a in "$@"; do
		vm_ping "$vm" "$a" || {
			echo "$vm does not reach $a"
			return 1
		}
	done
}

# reaches_none VM ADDR...: VM pings none of ADDR (for wait_for).
reaches_none() {
	local vm=$1 a
	shift
	for a in "$@"; do
		! vm_ping "$vm" "$a" || {
			echo "$vm still reaches $a"
			return 1
		}
	done
}

# ping_stops VM ADDR T0: pings ADDR from VM every 100 ms until one goes
# unanswered (1 s deadline); prints when that ping was sent, in ms after T0
# (the ms clock of _now_ms). Fails if ADDR still answers 15 s after T0.
ping_stops() {
	local t
	while t=$(_now_ms) && vm_ping "$1" "$2"; do
		((t - $3 < 15000)) || return 1
		sleep 0.1
	done
	echo $((t - $3))
}

# gw_has_peer VM KEY [ALLOWED]: VM's WireGuard has the peer KEY (whose
# allowed ips include ALLOWED).
gw_has_peer() {
	local out
	out=$(vm_exec "$1" wg show "$(vm_if "$1")" allowed-ips) || return 1
	grep -F -- "$2" <<<"$out" | grep -qF -- "${3:-}" || {
		echo "$1: no peer $2 ${3:+with $3}: $out"
		return 1
	}
}

ctl_start
net_create prod 10.100.0.0/24 --dns-replicas 1

step "three VMs join: gw (gw=yes), web1 (role=web), web2 (role=batch); a laptop namespace"
vm_create gw
vm_create web1
vm_create web2
vm_join gw prod --labels gw=yes
vm_join web1 prod --labels role=web
vm_join web2 prod --labels role=batch
gw=gw
declare -A addr=()
for v in gw web1 web2; do
	addr[$v]=$(overlay_addr "$v")
done
ping_mesh gw web1 web2
wait_for 20 "the DNS server to be placed" dns_servers_count 1
zone=$(dns_zone) || fail "dns show failed: $zone"
read -r dns_node dns_addr <<<"$(dns_servers)"
log "  zone $zone, served on $dns_node ($dns_addr)"
vm_create laptop
vm_resolv laptop "# the laptop's resolver before the tunnel" "nameserver 127.0.0.1"
lif=$(vm_if laptop)
conf=$NF_WORK/laptop/$lif.conf # wg-quick names the interface after the file

step "client create laptop: the key is made here, the file is a wg-quick configuration"
out=$(nfctl client create laptop --network prod --labels role=laptop --gateway-selector gw=yes \
	--output "$conf" 2>&1) || fail "client create laptop failed: $out"
[[ -s $conf ]] || fail "client create --output $conf wrote nothing"
mode=$(stat -c %a "$conf")
[[ $mode == 600 || $mode == 400 ]] || fail "the wg-quick file (a private key) has mode $mode, not 600"
priv=$(conf_get "$conf" Interface PrivateKey)
[[ $priv =~ ^[A-Za-z0-9+/]{43}=$ ]] || fail "the file's [Interface] PrivateKey is not a key"
log "  client create printed: ${out//$priv/(the private key)}"
pub=$(wg pubkey <<<"$priv") || fail "wg pubkey rejects the file's private key"
log "  the file, private key hidden:"$'\n'"$(sed -E 's,^(PrivateKey *= *).*,\1(hidden),' "$conf")"
show=$(client_json laptop) || fail "client show laptop failed: $show"
log "  client show laptop: $(jq -c . <<<"$show")"
assert_eq "$(jq -r .public_key <<<"$show")" "$pub" "the client's public key (the file's private key's)"
assert_eq "$(jq -r .gateway <<<"$show")" "$gw" "the client's gateway (the only gw=yes node)"
caddr=$(jq -r '.address | sub("/.*"; "")' <<<"$show")
[[ $caddr =~ ^10\.100\.0\.[0-9]+$ ]] || fail "the client's address '$caddr' is not in 10.100.0.0/24"
for v in gw web1 web2; do
	[[ $caddr != "${addr[$v]}" ]] || fail "the client got $v's address $caddr"
done
assert_eq "$(conf_get "$conf" Interface Address)" "$caddr/32" "[Interface] Address"
assert_eq "$(conf_get "$conf" Peer PublicKey)" "$(node_field "$gw" .wg_public_key)" \
	"[Peer] PublicKey (the gateway's)"
assert_eq "$(conf_get "$conf" Peer Endpoint)" "$(vm_ip "$gw"):$NF_WG_PORT" "[Peer] Endpoint"
assert_eq "$(conf_get "$conf" Peer AllowedIPs)" 10.100.0.0/24 "[Peer] AllowedIPs"
[[ $(conf_get "$conf" Peer PersistentKeepalive) =~ ^[1-9][0-9]*$ ]] ||
	fail "[Peer] PersistentKeepalive: '$(conf_get "$conf" Peer PersistentKeepalive)'"
[[ $(conf_get "$conf" Interface MTU) =~ ^[1-9][0-9]+$ ]] ||
	fail "[Interface] MTU: '$(conf_get "$conf" Interface MTU)'"
dns_line=$(conf_get "$conf" Interface DNS)
dns_line=${dns_line// /}
assert_eq "$dns_line" "$dns_addr,$zone" "[Interface] DNS (the overlay server, then the zone)"

step "the controller never saw the private key: its store, logs and audit log"
ctlfiles=("$NF_LOGS/controller.log" "$NF_LOGS"/agent-*.log)
mapfile -t -O ${#ctlfiles[@]} ctlfiles < <(find "$NF_DATA" -type f)
if grep -laF -- "$priv" "${ctlfiles[@]}"; then
	fail "the client's private key is in the files above"
fi
audit=$(nfctl --json audit list --limit 10000) || fail "audit list failed"
! grep -qF -- "$priv" <<<"$audit" || fail "the client's private key is in the audit log"
log "  the private key is in none of: ${ctlfiles[*]##*/} and the audit log"

step "bad input is refused naming the field; nothing is stored"
before=$(clients_json | jq -S 'sort_by(.name)') || fail "client list failed"
refused public_key nfctl client create bad1 --network prod --public-key notakey
refused public_key nfctl client create bad2 --network prod --public-key "$(head -c 31 /dev/urandom | base64)"
refused network nfctl client create bad3 --network nosuch
refused name nfctl client create laptop --network prod --public-key "$(wg genkey | wg pubkey)"
after=$(clients_json | jq -S 'sort_by(.name)') || fail "client list failed"
[[ $after == "$before" ]] || fail "client list changed after refused creates: $(diff <(echo "$before") <(echo "$after"))"

step "the laptop comes up from the file alone: wg-quick with wireguard-go"
if command -v resolvconf >/dev/null; then
	log "  resolvconf is installed but not namespace-aware: the test's stand-in applies the DNS= line"
else
	log "  resolvconf is not installed: the test's stand-in applies the file's DNS= line to the laptop's resolv.conf"
fi
t0=$(_now_ms)
wgq laptop up "$conf" || fail "wg-quick up failed: $(tail -n 20 "$NF_LOGS/wg-quick-laptop.log")"
log "  wg-quick up: $(grep -c '^\[#\]' "$NF_LOGS/wg-quick-laptop.log") commands, $(($(_now_ms) - t0)) ms"
resolv=$(cat "$(vm_resolv_path laptop)")
log "  the laptop's resolv.conf:"$'\n'"$resolv"
assert_eq "$(awk '$1 == "nameserver" {print $2}' <<<"$resolv" | tr '\n' ' ')" "$dns_addr " \
	"the laptop's nameservers (from the file's DNS= line)"
assert_eq "$(awk '$1 == "search" {print $2}' <<<"$resolv")" "$zone" \
	"the laptop's search domain (from the file's DNS= line)"
wait_for 10 "the gateway to have the laptop's peer" gw_has_peer "$gw" "$pub" "$caddr/32"
wait_for 20 "the laptop to ping web1 and web2 through the gateway" \
	reaches laptop "${addr[web1]}" "${addr[web2]}"
log "  the laptop reaches web1 and web2 $(($(_now_ms) - t0)) ms after wg-quick up"
assert_ok "the laptop reaches the gateway" reaches laptop "${addr[gw]}"
hs=$(vm_exec laptop wg show "$lif" latest-handshakes | awk '{print $2}')
((hs > 0)) || fail "the laptop's interface has no handshake: $(vm_exec laptop wg show "$lif")"
for v in web1 web2; do
	wait_for 10 "the laptop to resolve $v.$zone" resolves laptop "$v.$zone" "${addr[$v]}"
done
log "  the laptop resolves web1.$zone and web2.$zone"

step "a default-deny policy on role=web accepts tcp/8080 from role=laptop (the client's label)"
vm_listen web1 8080
assert_tcp laptop "${addr[web1]}" 8080 open "before the policy"
cat >"$NF_WORK/rules.json" <<'EOF'
[{"direction": "in", "protocol": "icmp", "action": "accept"},
 {"direction": "in", "protocol": "tcp", "src": ["role=laptop"], "dst_port": "8080", "action": "accept"}]
EOF
fw_change web1 nfctl firewall policy create laptops --network prod --selector role=web \
	--default-deny --rules-file "$NF_WORK/rules.json"
assert_ok "web1's table lists the client's address" fw_table_has web1 "$caddr"
assert_tcp laptop "${addr[web1]}" 8080 open "the laptop (role=laptop) to web1"
assert_tcp web2 "${addr[web1]}" 8080 timeout "web2 (role=batch) to web1"
assert_tcp gw "${addr[web1]}" 8080 timeout "gw (the laptop's gateway, no label) to web1"

step "client delete laptop: the laptop reaches nothing, within a few seconds"
t0=$(_now_ms)
assert_ok "client delete laptop" nfctl client delete laptop
ms=$(ping_stops laptop "${addr[web1]}" "$t0") || fail "the laptop still reaches web1 after client delete"
log "  the laptop's pings to web1 go unanswered from $ms ms after client delete" \
	"(limit $revoke_limit_ms ms)"
((ms <= revoke_limit_ms)) || fail "revocation took $ms ms; expected <= $revoke_limit_ms ms"
assert_ok "the gateway drops the laptop's peer" not gw_has_peer "$gw" "$pub"
sleep 2
assert_ok "the laptop reaches nothing 2 s later" reaches_none laptop "${addr[web1]}" \
	"${addr[web2]}" "${addr[gw]}" "$dns_addr"
assert_tcp laptop "${addr[web1]}" 8080 timeout "the deleted laptop to web1"
assert_ok "the laptop cannot resolve web1.$zone any more" not dig_is laptop "web1.$zone" "${addr[web1]}"
! clients_json | jq -e 'any(.[]; .name == "laptop")' >/dev/null ||
	fail "client list still shows laptop"
wgq laptop down "$conf" || fail "wg-quick down failed: $(tail -n 20 "$NF_LOGS/wg-quick-laptop.log")"
assert_eq "$(cat "$(vm_resolv_path laptop)")" "$(printf '%s\n' "# the laptop's resolver before the tunnel" \
	"nameserver 127.0.0.1")" "the laptop's resolv.conf after wg-quick down"

step "a client with --ttl 3s works, then stops at its expiry and is listed as expired"
vm_create laptop2
l2if=$(vm_if laptop2)
conf2=$NF_WORK/laptop2/$l2if.conf
t0=$(_now_ms)
assert_ok "client create tmp --ttl 3s" nfctl client create tmp --network prod --ttl 3s \
	--output "$conf2"
pub2=$(wg pubkey <<<"$(conf_get "$conf2" Interface PrivateKey)")
j=$(client_json tmp) || fail "client show tmp failed: $j"
exp=$(jq -r .expires <<<"$j")
gw2=$(jq -r .gateway <<<"$j")
log "  tmp: gateway $gw2, expires $exp"
((exp > 0)) || fail "client show tmp: expires is $exp"
wgq laptop2 up "$conf2" || fail "wg-quick up tmp failed: $(tail -n 20 "$NF_LOGS/wg-quick-laptop2.log")"
worked=0
while (($(_now_ms) < exp * 1000)); do
	if vm_ping laptop2 "${addr[web1]}"; then
		worked=1
		break
	fi
done
((worked)) || fail "the --ttl 3s client never reached web1 before its expiry"
log "  tmp reached web1 $(($(_now_ms) - t0)) ms after client create (it expires at $exp," \
	"$((exp * 1000 - t0)) ms after)"
ms=$(ping_stops laptop2 "${addr[web1]}" $((exp * 1000))) || fail "tmp still reaches web1 after its expiry"
log "  tmp's pings go unanswered from $ms ms after its expiry time"
wait_for 10 "the gateway to drop the expired peer" not gw_has_peer "$gw2" "$pub2"
sleep 2
assert_ok "the expired client reaches nothing" reaches_none laptop2 "${addr[web1]}" "${addr[web2]}"
j=$(clients_json) || fail "client list failed"
assert_eq "$(jq -r '.[] | select(.name == "tmp") | .expired' <<<"$j")" true "client list --json: tmp expired"
list=$(nfctl client list) || fail "client list failed"
log "  client list:"$'\n'"$list"
assert_contains "$(grep -w tmp <<<"$list")" expired "client list: tmp's row"

step "client list flags keys expiring within 14 days; --qr prints a QR code"
assert_ok "client create soon --ttl 10d" nfctl client create soon --network prod --ttl 10d \
	--public-key "$(wg genkey | wg pubkey)"
assert_ok "client create later --ttl 30d" nfctl client create later --network prod --ttl 30d \
	--public-key "$(wg genkey | wg pubkey)"
list=$(nfctl client list) || fail "client list failed"
log "  client list:"$'\n'"$list"
soon_row=$(grep -w soon <<<"$list") || fail "client list has no row for soon"
later_row=$(grep -w later <<<"$list") || fail "client list has no row for later"
assert_contains "$soon_row" "expires in 10 days" "client list: soon's row (10 days left)"
! grep -qi expire <<<"$later_row" || fail "client list flags later (30 days left): $later_row"
j=$(clients_json) || fail "client list failed"
left=$(jq -r '.[] | select(.name == "soon") | .expires' <<<"$j")
((left - $(date +%s) > 9 * 86400 && left - $(date +%s) <= 10 * 86400)) ||
	fail "client list --json: soon expires at $left, not in 10 days"
qr=$(nfctl client create qr1 --network prod --public-key "$(wg genkey | wg pubkey)" --qr) ||
	fail "client create --qr failed: $qr"
# A QR block: rows of block characters (half blocks: two module rows per
# line) or ANSI colour cells, each one column wide, all rows equally wide;
# the smallest code (21 modules) makes at least 10 such rows.
rows=$(sed -E 's/\x1b\[[0-9;]*m/#/g; s/█|▀|▄/#/g' <<<"$qr" | grep -E '^[ #]+$' | grep '#' |
	awk '{print length($0)}' | sort | uniq -c | sort -rn | head -n 1)
log "  --qr printed $(wc -l <<<"$qr") lines; rows of blocks (count, width): $rows"
read -r n w <<<"$rows"
if [[ -z $rows ]] || ((n < 10 || w < 21)); then
	fail "client create --qr printed no QR block: $qr"
fi
ctl_check "the whole scenario"
