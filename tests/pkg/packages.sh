#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Packages: the .debs of this build tree (CPack) go into a clean Debian 12
# root with apt, which must find every dependency; then their files, owners
# and modes, the units (`systemd-analyze verify`), the controller's postinst
# (system user, data dir, first admin token), the controller run as its unit
# runs it (user netfn, no capabilities) with its API socket open to group
# netfn only; an upgrade to a higher version keeps every key, the store and
# an edited conffile; remove keeps them; purge removes them and the user.
#
#   bash tests/pkg/packages.sh BUILD_DIR
# shellcheck disable=SC2016 # dpkg-query's ${Field} formats are not shell
NF_TIME_LIMIT=${NF_TIME_LIMIT:-400}
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/../e2e/lib.sh" "${1:?usage: $0 BUILD_DIR}/bin"
# shellcheck source=tests/pkg/lib.sh
source "$(dirname "$0")/lib.sh" "$1"

R=$NF_WORK/root
V1=$(pkg_version)
V2=$V1+pkgtest1 # sorts after V1 for dpkg, whatever V1 is
[[ -n $V1 ]] || fail "no CPACK_PACKAGE_VERSION in $NF_BUILD/CPackConfig.cmake"

step "build the packages: $V1, and $V2 to upgrade to"
pkg_build "$NF_WORK/v1"
pkg_build "$NF_WORK/v2" "$V2"
arch=$(dpkg --print-architecture)
for f in "v1/netfn-agent_$V1" "v1/netfn-controller_$V1" "v2/netfn-agent_$V2" \
	"v2/netfn-controller_$V2"; do
	[[ -f $NF_WORK/${f}_$arch.deb ]] ||
		fail "cpack made no ${f}_$arch.deb: $(ls "$NF_WORK"/v1 "$NF_WORK"/v2)"
done
agent_deb=$NF_WORK/v1/netfn-agent_${V1}_$arch.deb
ctl_deb=$NF_WORK/v1/netfn-controller_${V1}_$arch.deb

step "control fields: Depends from the binaries, Recommends, conffiles, scripts"
depends=$(dpkg-deb -f "$agent_deb" Depends)
log "  netfn-agent Depends: $depends"
for lib in libc6 libsodium23 libnng1 libprotobuf-c1 libnftnl11 libmnl0; do
	assert_contains "$depends" "$lib" "netfn-agent's Depends"
done
assert_eq "$(dpkg-deb -f "$agent_deb" Recommends)" "wireguard-go, openvswitch-switch" \
	"netfn-agent's Recommends"
depends=$(dpkg-deb -f "$ctl_deb" Depends)
log "  netfn-controller Depends: $depends"
for lib in adduser libc6 libsodium23 libnng1 libprotobuf-c1 libsqlite3-0; do
	assert_contains "$depends" "$lib" "netfn-controller's Depends"
done
assert_eq "$(dpkg-deb -I "$agent_deb" conffiles)" /etc/netfn/agent.conf "netfn-agent's conffiles"
assert_eq "$(dpkg-deb -I "$ctl_deb" conffiles)" /etc/default/netfn-controller \
	"netfn-controller's conffiles"
assert_eq "$(dpkg-deb -f "$agent_deb" Version)" "$V1" "netfn-agent's version"

step "a clean Debian 12 root; apt installs both packages and their dependencies"
root_make "$R"
mkdir -p "$R/tmp/v1" "$R/tmp/v2"
cp "$NF_WORK"/v1/*.deb "$R/tmp/v1/"
cp "$NF_WORK"/v2/*.deb "$R/tmp/v2/"
# The cached root's package lists may be older than the mirror.
in_root "$R" apt-get update >>"$NF_LOGS/apt.log" 2>&1 ||
	fail "apt-get update failed: $(tail -n 20 "$NF_LOGS/apt.log")"
in_root "$R" apt-get install -y --no-install-recommends "/tmp/v1/netfn-agent_${V1}_$arch.deb" \
	"/tmp/v1/netfn-controller_${V1}_$arch.deb" >>"$NF_LOGS/apt.log" 2>&1 ||
	fail "apt-get install of the packages failed: $(tail -n 20 "$NF_LOGS/apt.log")"
root_save_archives "$R"
for p in netfn-agent netfn-controller; do
	assert_eq "$(in_root "$R" dpkg-query -W -f '${Status} ${Version}' "$p")" \
		"install ok installed $V1" "dpkg status of $p"
done
missing=$(in_root "$R" ldd /usr/sbin/netfn-agent /usr/sbin/netfn-controller /usr/bin/netfnctl |
	grep 'not found' || true)
[[ -z $missing ]] || fail "libraries the packages do not pull in: $missing"

step "files, owners and modes"
assert_eq "$(in_root "$R" dpkg-query -L netfn-agent | sort | tr '\n' ' ')" \
	"/etc /etc/netfn /etc/netfn/agent.conf /lib /lib/systemd /lib/systemd/system /lib/systemd/system/netfn-agent.service /usr /usr/sbin /usr/sbin/netfn-agent /usr/share /usr/share/doc /usr/share/doc/netfn-agent /usr/share/doc/netfn-agent/README.md " \
	"files of netfn-agent"
assert_eq "$(in_root "$R" dpkg-query -L netfn-controller | sort | tr '\n' ' ')" \
	"/etc /etc/default /etc/default/netfn-controller /lib /lib/systemd /lib/systemd/system /lib/systemd/system/netfn-controller.service /usr /usr/bin /usr/bin/netfnctl /usr/sbin /usr/sbin/netfn-controller /usr/share /usr/share/doc /usr/share/doc/netfn-controller /usr/share/doc/netfn-controller/README.md " \
	"files of netfn-controller"
stat_is "$R" /usr/sbin/netfn-agent root:root 755
stat_is "$R" /usr/sbin/netfn-controller root:root 755
stat_is "$R" /usr/bin/netfnctl root:root 755
stat_is "$R" /lib/systemd/system/netfn-agent.service root:root 644
stat_is "$R" /lib/systemd/system/netfn-controller.service root:root 644
stat_is "$R" /etc/netfn root:root 755
stat_is "$R" /etc/netfn/agent.conf root:root 644
stat_is "$R" /etc/default/netfn-controller root:root 644

step "the controller's postinst: system user netfn, data dir, key, store and first admin token"
pw=$(in_root "$R" getent passwd netfn) || fail "postinst made no user netfn"
log "  $pw"
IFS=: read -r _ _ uid gid _ home shell <<<"$pw"
((uid < 1000)) || fail "user netfn is not a system user (uid $uid)"
assert_eq "$home" /var/lib/netfn-controller "home of netfn"
assert_eq "$shell" /usr/sbin/nologin "shell of netfn"
assert_eq "$(in_root "$R" getent group netfn | cut -d: -f3)" "$gid" "group netfn"
stat_is "$R" /var/lib/netfn-controller netfn:netfn 700
stat_is "$R" /var/lib/netfn-controller/controller.key netfn:netfn 600
stat_is "$R" /var/lib/netfn-controller/netfn.db netfn:netfn 600
stat_is "$R" /var/lib/netfn-controller/admin-token root:root 600
admin=$(cat "$R/var/lib/netfn-controller/admin-token")
[[ $admin == nfa1* && $admin != *$'\n'* ]] || fail "admin-token holds '$admin', not one API token"
[[ -L $R/etc/systemd/system/multi-user.target.wants/netfn-controller.service ]] ||
	fail "netfn-controller.service was not enabled"
[[ ! -e $R/etc/systemd/system/multi-user.target.wants/netfn-agent.service ]] ||
	fail "netfn-agent.service is enabled before it has a join token"

step "systemd-analyze verify on the installed units"
out=$(systemd-analyze verify --root="$R" netfn-agent.service netfn-controller.service 2>&1) ||
	fail "systemd-analyze verify: $out"
[[ -z $out ]] || fail "systemd-analyze verify printed warnings: $out"

step "the controller runs as its unit says: user netfn, no capabilities, socket for group netfn"
# The unit's RuntimeDirectory (0750, netfn), UMask and EnvironmentFile, by hand.
in_root "$R" install -d -o netfn -g netfn -m 0750 /run/netfn-controller
# shellcheck disable=SC1091 # the packaged file, read the way systemd reads it
opts=$(. "$R/etc/default/netfn-controller" && echo "$NETFN_CONTROLLER_OPTS")
cmd=$(unit_value "$R" netfn-controller.service ExecStart)
cmd=${cmd//\$NETFN_CONTROLLER_OPTS/$opts}
log "  ExecStart: $cmd"
assert_eq "$(unit_value "$R" netfn-controller.service User)" netfn "the unit's User"
_ns_add "$NF_RUN-pkgctl"
# shellcheck disable=SC2016,SC2086 # $0 and $@ of the inner shell; cmd is a word list
ip netns exec "$NF_RUN-pkgctl" unshare -m --propagation private sh -c \
	'mount -t proc proc "$0/proc" && umask 077 && exec chroot "$0" "$@"' "$R" \
	setpriv --reuid=netfn --regid=netfn --init-groups --bounding-set=-all --inh-caps=-all \
	--no-new-privs -- $cmd >>"$NF_LOGS/controller-pkg.log" 2>&1 &
ctl_pid=$!
wait_for 20 "the packaged controller's API socket" test -S "$R/run/netfn-controller/api.sock"
stat_is "$R" /run/netfn-controller/api.sock netfn:netfn 660
status=$(grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs):' "/proc/$ctl_pid/status" | tr -s '\t\n' ' ')
log "  controller process: $status"
assert_contains "$status" "Uid: $uid $uid $uid $uid" "the controller's uids"
assert_contains "$status" "CapEff: 0000000000000000" "the controller's capabilities"
assert_contains "$status" "NoNewPrivs: 1" "the controller's no_new_privs"
in_root "$R" useradd --groups netfn alice
in_root "$R" useradd bob
wait_for 10 "root's netfnctl status" in_root "$R" netfnctl --token "$admin" status
assert_ok "netfnctl status as alice (group netfn)" in_root "$R" \
	setpriv --reuid=alice --regid=alice --init-groups netfnctl --token "$admin" status
rc=0
out=$(in_root "$R" setpriv --reuid=bob --regid=bob --init-groups \
	netfnctl --token "$admin" status 2>&1) || rc=$?
log "  bob (not in group netfn): exit $rc: $out"
assert_eq "$rc" 1 "netfnctl as a user outside group netfn"
assert_contains "$out" "cannot reach controller" "netfnctl as a user outside group netfn"
kill -TERM "$ctl_pid"
_reap "$ctl_pid" 20 || fail "the packaged controller exited $? on SIGTERM"

step "the agent makes its keys in /var/lib/netfn (it stops there: no join token yet)"
rc=0
out=$(timeout 20 chroot "$R" /usr/sbin/netfn-agent --config /etc/netfn/agent.conf 2>&1) || rc=$?
log "  netfn-agent: exit $rc: $(tail -n 1 <<<"$out")"
assert_eq "$rc" 2 "exit status of an agent with no join token"
assert_contains "$out" "not enrolled yet" "the agent's message without a join token"
stat_is "$R" /var/lib/netfn root:root 700
stat_is "$R" /var/lib/netfn/identity.key root:root 600
stat_is "$R" /var/lib/netfn/wg.key root:root 600

# What must survive an upgrade and a remove.
kept=(/var/lib/netfn/identity.key /var/lib/netfn/wg.key /var/lib/netfn-controller/controller.key
	/var/lib/netfn-controller/netfn.db /var/lib/netfn-controller/admin-token)
before=$(hashes "$R" "${kept[@]}")
echo "# edited by the admin" >>"$R/etc/netfn/agent.conf"
conf_before=$(sha256sum <"$R/etc/netfn/agent.conf")

step "upgrade to $V2 keeps keys, store, admin token and the edited agent.conf"
in_root "$R" apt-get install -y --no-install-recommends "/tmp/v2/netfn-agent_${V2}_$arch.deb" \
	"/tmp/v2/netfn-controller_${V2}_$arch.deb" >>"$NF_LOGS/apt.log" 2>&1 ||
	fail "upgrade failed: $(tail -n 20 "$NF_LOGS/apt.log")"
for p in netfn-agent netfn-controller; do
	assert_eq "$(in_root "$R" dpkg-query -W -f '${Status} ${Version}' "$p")" \
		"install ok installed $V2" "dpkg status of $p after the upgrade"
done
assert_eq "$(hashes "$R" "${kept[@]}")" "$before" "keys and state after the upgrade"
assert_eq "$(sha256sum <"$R/etc/netfn/agent.conf")" "$conf_before" "agent.conf after the upgrade"
assert_eq "$(in_root "$R" getent passwd netfn)" "$pw" "user netfn after the upgrade"

step "remove keeps keys, state, conffiles and the user"
in_root "$R" apt-get remove -y netfn-agent netfn-controller >>"$NF_LOGS/apt.log" 2>&1 ||
	fail "apt-get remove failed: $(tail -n 20 "$NF_LOGS/apt.log")"
for p in netfn-agent netfn-controller; do
	assert_eq "$(in_root "$R" dpkg-query -W -f '${Status}' "$p")" \
		"deinstall ok config-files" "dpkg status of $p after remove"
done
[[ ! -e $R/usr/sbin/netfn-agent && ! -e $R/usr/sbin/netfn-controller ]] ||
	fail "remove left the programs"
assert_eq "$(hashes "$R" "${kept[@]}")" "$before" "keys and state after remove"
[[ -f $R/etc/netfn/agent.conf && -f $R/etc/default/netfn-controller ]] ||
	fail "remove deleted a conffile"
assert_ok "user netfn after remove" in_root "$R" getent passwd netfn

step "purge removes keys, state, conffiles, the user and the group"
in_root "$R" dpkg --purge netfn-agent netfn-controller >>"$NF_LOGS/apt.log" 2>&1 ||
	fail "dpkg --purge failed: $(tail -n 20 "$NF_LOGS/apt.log")"
for p in /var/lib/netfn /var/lib/netfn-controller /etc/netfn /etc/default/netfn-controller; do
	[[ ! -e $R$p ]] || fail "purge left $p: $(ls -la "$R$p")"
done
assert_fails "user netfn after purge" in_root "$R" getent passwd netfn
assert_fails "group netfn after purge" in_root "$R" getent group netfn
left=$(find "$R/etc/systemd" "$R/var/lib/systemd" -name '*netfn*' 2>/dev/null || true)
[[ -z $left ]] || fail "purge left systemd state: $left"
log "packages $V1 -> $V2: install, upgrade, remove and purge as expected"
