#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Cloud-init: `netfnctl bootstrap cloud-init` against a real controller. Bad
# flags are refused, naming the flag, before any token is made; the user-data
# of each install path passes `cloud-init schema`. Then a clean Debian root
# plays the new VM: the user-data's write_files, packages and runcmd are run
# in it as cloud-init would run them (the .deb fetched from a file:// URL,
# apt-get with cloud-init's own options, so wireguard-go and
# openvswitch-switch come as Recommends), and instead of systemd starting the
# unit, the agent is started in a namespace VM by netfn-agent.service's
# ExecStart inside the unit's sandbox (its one capability, no new privileges,
# read-only system but for ReadWritePaths, private /tmp, no /home). It must
# join the overlay (on a WireGuard port below 1024) with the token's labels
# and ping the VMs joined the usual way; stopped as systemd stops it (KillMode=process: the agent alone), the
# overlay stays up, and it comes back without a token.
#
#   bash tests/pkg/cloudinit.sh BUILD_DIR
NF_TIME_LIMIT=${NF_TIME_LIMIT:-400}
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/../e2e/lib.sh" "${1:?usage: $0 BUILD_DIR}/bin"
# shellcheck source=tests/pkg/lib.sh
source "$(dirname "$0")/lib.sh" "$1"

R=$NF_WORK/root
V=$(pkg_version)
arch=$(dpkg --print-architecture)
deb_url=file:///srv/netfn/netfn-agent_${V}_$arch.deb

# yaml_json FILE: the YAML document as JSON (python3-yaml comes with cloud-init).
yaml_json() {
	python3 -c 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)' "$1"
}

# token_count: how many join tokens the controller has.
token_count() {
	nfctl --json token list | jq length
}

# refused FLAG ARGS...: bootstrap with ARGS exits 2 naming FLAG, printing nothing.
refused() {
	local flag=$1 out rc=0
	shift
	out=$(nfctl bootstrap cloud-init "$@" 2>"$NF_WORK/stderr") || rc=$?
	log "  refused: $(head -n 1 "$NF_WORK/stderr")"
	assert_eq "$rc" 2 "exit status of bootstrap $*"
	assert_contains "$(head -n 1 "$NF_WORK/stderr")" "$flag" "bootstrap $*"
	[[ -z $out ]] || fail "bootstrap $* printed user-data although it failed: $out"
}

# A port below 1024: the sandboxed agent's wireguard-go must still bind it.
NF_WG_PORT=500
# shellcheck disable=SC2119 # no arguments for the controller
ctl_start
net_create prod 10.110.0.0/24

step "two VMs join the usual way"
for v in vm1 vm2; do
	vm_create "$v"
	agent_join "$v" "$(token_new prod)"
done

step "bad flags are refused, naming the flag, before a token is made"
n0=$(token_count)
refused --network
refused --labels --network prod --labels 'role=a b'
refused --labels --network prod --labels $'role=web\nruncmd: [reboot]'
refused --labels --network prod --labels "role=it's"
refused --package-url --network prod --package-url ftp://example.com/netfn-agent.deb
refused --package-url --network prod --package-url $'https://example.com/a.deb\n- reboot'
refused --apt-source --network prod --apt-source $'deb http://example.com/ bookworm main\nruncmd: [reboot]'
refused --apt-source --network prod --apt-source 'http://example.com/ bookworm main'
refused "--package-url and --apt-source" --network prod --package-url "$deb_url" \
	--apt-source 'deb http://example.com/ bookworm main'
refused --ttl --network prod --ttl soon
assert_api_error NOT_FOUND network nfctl bootstrap cloud-init --network nosuch
assert_eq "$(token_count)" "$n0" "join tokens after refused bootstraps"

step "the user-data of each install path passes cloud-init schema"
# bootstrap FILE ARGS...: user-data into FILE; the new token's id into $tid.
bootstrap() {
	local file=$1
	shift
	nfctl bootstrap cloud-init --network prod "$@" >"$NF_WORK/$file" 2>"$NF_WORK/stderr" ||
		fail "bootstrap cloud-init $* failed: $(cat "$NF_WORK/stderr")"
	log "  $(cat "$NF_WORK/stderr")"
	tid=$(sed -n 's/.*single-use join token \([0-9a-f]*\) created.*/\1/p' "$NF_WORK/stderr")
	[[ -n $tid ]] || fail "bootstrap cloud-init $*: no token id in: $(cat "$NF_WORK/stderr")"
}
bootstrap user-data --labels role=web,zone=z1 --ttl 1h --package-url "$deb_url"
t_run=$tid
# An apt source with a quote in it: the quote must stay inside its scalar.
apt_line="deb [trusted=yes] https://apt.example.com/it's bookworm main"
bootstrap user-data.apt --apt-source "$apt_line"
t_apt=$tid
bootstrap user-data.plain
t_plain=$tid
for f in user-data user-data.apt user-data.plain; do
	out=$(cloud-init schema --config-file "$NF_WORK/$f" 2>&1) ||
		fail "cloud-init schema rejects $f: $out"
	assert_contains "$out" "Valid cloud-config" "cloud-init schema of $f"
	log "  $f: $out"
done
assert_eq "$(yaml_json "$NF_WORK/user-data.apt" | jq -r '.apt.sources["netfn.list"].source')" \
	"$apt_line" "the apt source line read back from the YAML"
assert_eq "$(yaml_json "$NF_WORK/user-data.plain" | jq -c '[.packages, .runcmd]')" \
	'[["netfn-agent"],[["systemctl","enable","--now","netfn-agent.service"]]]' \
	"packages and runcmd without --package-url or --apt-source"
assert_eq "$(token_count)" $((n0 + 3)) "join tokens after three bootstraps"
assert_eq "$(nfctl --json token list | jq -c --arg id "$t_run" \
	'.[] | select(.id == $id) | [.network, .uses, .uses_left, .labels]')" \
	'["prod",1,1,{"role":"web","zone":"z1"}]' "the bootstrap's token"
assert_ok "revoke the unused token $t_apt" nfctl token revoke "$t_apt"
assert_ok "revoke the unused token $t_plain" nfctl token revoke "$t_plain"
ud=$(yaml_json "$NF_WORK/user-data")
assert_eq "$(jq -c '.write_files[0] | [.path, .owner, .permissions]' <<<"$ud")" \
	'["/etc/netfn/join-token","root:root","0600"]' "the token file in write_files"
assert_contains "$(jq -r '.write_files[1].content' <<<"$ud")" "labels = role=web,zone=z1" \
	"agent.conf in write_files"

step "a clean Debian root plays the new VM: write_files, packages, runcmd"
root_make "$R"
pkg_build "$NF_WORK/debs"
mkdir -p "$R/srv/netfn"
cp "$NF_WORK/debs/netfn-agent_${V}_$arch.deb" "$R/srv/netfn/"
# write_files runs first, in cloud-init's init stage.
for i in $(seq 0 $(($(jq '.write_files | length' <<<"$ud") - 1))); do
	path=$(jq -r ".write_files[$i].path" <<<"$ud")
	mkdir -p "$R$(dirname "$path")"
	jq -j ".write_files[$i].content" <<<"$ud" >"$R$path"
	chmod "$(jq -r ".write_files[$i].permissions" <<<"$ud")" "$R$path"
	in_root "$R" chown "$(jq -r ".write_files[$i].owner" <<<"$ud")" "$path"
	log "  wrote $path"
done
[[ $(jq -r '.package_update' <<<"$ud") == true ]] || fail "user-data without package_update"
in_root "$R" "${NF_CLOUD_APT[@]}" update >>"$NF_LOGS/apt.log" 2>&1 ||
	fail "apt-get update failed: $(tail -n 20 "$NF_LOGS/apt.log")"
mapfile -t pkgs < <(jq -r '.packages[]' <<<"$ud")
log "  packages: ${pkgs[*]}"
in_root "$R" "${NF_CLOUD_APT[@]}" install "${pkgs[@]}" >>"$NF_LOGS/apt.log" 2>&1 ||
	fail "installing the user-data's packages failed: $(tail -n 20 "$NF_LOGS/apt.log")"
unit=
for i in $(seq 0 $(($(jq '.runcmd | length' <<<"$ud") - 1))); do
	mapfile -t cmd < <(jq -r ".runcmd[$i][]" <<<"$ud")
	log "  runcmd: ${cmd[*]}"
	if [[ ${cmd[0]} == systemctl && ${cmd[1]} == enable && ${cmd[2]} == --now ]]; then
		# No systemd runs here: enable as it would, then start the unit by hand below.
		in_root "$R" systemctl enable "${cmd[3]}" >>"$NF_LOGS/apt.log" 2>&1 ||
			fail "systemctl enable ${cmd[3]} failed: $(tail -n 5 "$NF_LOGS/apt.log")"
		unit=${cmd[3]}
		continue
	fi
	in_root "$R" "${cmd[@]}" >>"$NF_LOGS/apt.log" 2>&1 ||
		fail "runcmd '${cmd[*]}' failed: $(tail -n 20 "$NF_LOGS/apt.log")"
done
root_save_archives "$R"
assert_eq "$unit" netfn-agent.service "the unit the user-data starts"
for p in netfn-agent wireguard-go openvswitch-switch; do
	assert_ok "$p installed by the user-data" in_root "$R" dpkg-query -W "$p"
done
assert_eq "$(jq -j '.write_files[1].content' <<<"$ud" | sha256sum)" \
	"$(sha256sum <"$R/etc/netfn/agent.conf")" "agent.conf after the package came (confold)"
stat_is "$R" /etc/netfn/join-token root:root 600
[[ -L $R/etc/systemd/system/multi-user.target.wants/$unit ]] || fail "$unit is not enabled"

step "the agent starts as $unit would, in a namespace VM, inside the unit's sandbox"
read -ra exec_start <<<"$(unit_value "$R" "$unit" ExecStart)"
caps=$(unit_caps "$R" "$unit")
read -ra rw_paths <<<"$(unit_value "$R" "$unit" ReadWritePaths)"
assert_eq "$(unit_value "$R" "$unit" NoNewPrivileges)" yes "the unit's NoNewPrivileges"
assert_eq "$(unit_value "$R" "$unit" ProtectSystem)" strict "the unit's ProtectSystem"
log "  ExecStart: ${exec_start[*]}; capabilities $caps; writable: ${rw_paths[*]}"
vm_create cloud1

# unit_start VM: the agent of VM (a namespace), chrooted in $R, with its own
# host name (so the node is named VM) and the unit's sandbox rebuilt by hand.
# The VM's /run is $R/run, on disk: like a real /run it outlives the agent,
# and with it wireguard-go's socket.
unit_start() {
	local name=$1
	[[ -z ${NF_AGENT_PID[$name]:-} ]] || fail "unit_start: $name's agent is running"
	echo "=== $(date +%T.%N) unit start" >>"$NF_LOGS/agent-$name.log"
	# shellcheck disable=SC2016 # the inner shell's own variables
	ip netns exec "$(vm_ns "$name")" unshare -m -u --propagation private bash -c '
		set -e
		root=$1 host=$2 caps=$3 rw=$4
		shift 4
		hostname "$host"
		mount --bind "$root" "$root"       # its own mount, made read-only last
		mount -t proc proc "$root/proc"
		mount -t sysfs -o ro sysfs "$root/sys"
		mount --bind /dev "$root/dev"       # not PrivateDevices: /dev/net/tun
		mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"      # PrivateTmp
		mount -t tmpfs -o ro,mode=0755 tmpfs "$root/home"  # ProtectHome
		mount -t tmpfs -o ro,mode=0700 tmpfs "$root/root"
		mkdir -p -m 0700 "$root/var/lib/netfn"             # StateDirectory, 0700
		mkdir -p -m 0755 "$root/run/wireguard"             # RuntimeDirectory
		for p in $rw; do                                   # ReadWritePaths
			case $p in -*) p=${p#-}; [ -e "$root$p" ] || continue ;; esac  # "-": if it exists
			mount --bind "$root$p" "$root$p"
		done
		mount -o remount,bind,ro "$root"                   # ProtectSystem=strict
		exec chroot "$root" setpriv --bounding-set="$caps" --inh-caps=-all \
			--no-new-privs -- "$@"' \
		sandbox "$R" "$name" "$caps" "${rw_paths[*]}" "${exec_start[@]}" \
		>>"$NF_LOGS/agent-$name.log" 2>&1 &
	NF_AGENT_PID[$name]=$!
}

unit_start cloud1
node_wait_converged cloud1 60
pid=${NF_AGENT_PID[cloud1]}
status=$(grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs):' "/proc/$pid/status" | tr -s '\t\n' ' ')
log "  agent process: $status"
# CAP_NET_ADMIN (12), CAP_NET_BIND_SERVICE (10) and CAP_BPF (39), nothing else.
assert_contains "$status" "CapEff: 0000008000001400" "the agent's capabilities"
assert_contains "$status" "CapBnd: 0000008000001400" "the agent's bounding set"
assert_contains "$status" "NoNewPrivs: 1" "the agent's no_new_privs"
assert_eq "$(readlink "/proc/$pid/root")" "$R" "the agent's root"
wg_pid=$(for p in $(ip netns pids "$(vm_ns cloud1)"); do
	[[ $(cat "/proc/$p/comm" 2>/dev/null) == wireguard-go ]] && echo "$p"
done | head -n 1)
[[ -n $wg_pid ]] || fail "no wireguard-go runs in cloud1"
assert_eq "$(readlink "/proc/$wg_pid/root")" "$R" "wireguard-go's root (the package's Recommends)"
[[ -n $(vm_exec cloud1 ss -Hlun "sport = :$NF_WG_PORT") ]] ||
	fail "nothing in cloud1 listens on UDP port $NF_WG_PORT: $(vm_exec cloud1 ss -Hlun)"
assert_eq "$(node_field cloud1 '.labels | to_entries | map("\(.key)=\(.value)") | join(",")')" \
	"role=web,zone=z1" "cloud1's labels"
assert_eq "$(nfctl --json token list | jq --arg id "$t_run" '.[] | select(.id == $id) | .uses_left')" \
	0 "uses left of the bootstrap's token"
node_wait_converged vm1 60
node_wait_converged vm2 60
ping_mesh vm1 vm2 cloud1

step "stopped as systemd stops it (KillMode=process), the overlay stays up; restarted, it needs no token"
a=$(overlay_addr cloud1)
agent_stop cloud1 || fail "the agent exited $? on SIGTERM"
_running "$wg_pid" || fail "wireguard-go stopped with the agent"
wait_for 10 "vm1 to ping cloud1 ($a) with cloud1's agent stopped" vm_ping vm1 "$a"
rm -f "$R/etc/netfn/join-token" # used up; a restart must not need it
unit_start cloud1
wait_for 30 "cloud1's agent back, online" node_status_is cloud1 online
node_wait_converged cloud1 60
assert_eq "$(cat "/proc/$wg_pid/comm")" wireguard-go "the same wireguard-go after the restart"
ping_mesh vm1 cloud1
