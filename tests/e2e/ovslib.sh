# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# A private Open vSwitch per test VM, for the flow filter scenarios, sourced
# after lib.sh:
#   source "$(dirname "$0")/ovslib.sh"
# Debian's own programs (package openvswitch-switch) run inside the VM's
# namespace: ovsdb-server on RUNDIR/db.sock and ovs-vswitchd with the
# userspace datapath only (--disable-system: no kernel module here). RUNDIR is
# $NF_WORK/VM/ovs and every OVS_*DIR points into it, so nothing lands in
# /run/openvswitch, /etc/openvswitch or /var/log/openvswitch; ovs-ofctl and
# ovs-vsctl run with the same environment and so find the bridges' management
# sockets (RUNDIR/BRIDGE.mgmt) and db.sock by default, as ovs-save needs.
# Daemons start the way Debian's ovs-ctl starts them (--detach, which returns
# once the daemon is ready), except for two options left out on purpose:
# --monitor (it would restart a daemon that ovs_kill kills) and --mlockall (5
# people share this machine's memory). The EXIT trap stops every daemon
# started here before lib.sh's cleanup runs, and keeps their logs.

OVS_SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
OVS_SAVE=/usr/share/openvswitch/scripts/ovs-save
for _p in ovsdb-tool ovsdb-server ovs-vswitchd ovs-vsctl ovs-ofctl ovs-appctl; do
	command -v "$_p" >/dev/null || fail "'$_p' is missing: apt-get install openvswitch-switch"
done
unset _p
[[ -r $OVS_SCHEMA && -x $OVS_SAVE ]] || fail "$OVS_SCHEMA or $OVS_SAVE is missing: apt-get install openvswitch-switch"

declare -A NF_OVS_VMS=() # VMs whose OVS ovs_start has started (and the cleanup stops)

# ovs_rundir VM: VM's Open vSwitch run dir (db.sock, BRIDGE.mgmt, pid files, logs).
ovs_rundir() {
	echo "$NF_WORK/${1:?ovs_rundir VM}/ovs"
}

# _ovs VM CMD...: CMD with VM's OVS environment, inside VM's namespace.
_ovs() {
	local vm=$1 dir
	dir=$(ovs_rundir "$vm")
	shift
	OVS_RUNDIR=$dir OVS_DBDIR=$dir OVS_LOGDIR=$dir OVS_SYSCONFDIR=$dir/etc \
		OVS_PKGDATADIR=/usr/share/openvswitch TMPDIR=$dir vm_exec "$vm" "$@"
}

# ovs_vsctl VM ARGS...: ovs-vsctl on VM's ovsdb-server.
ovs_vsctl() {
	local vm=$1
	shift
	_ovs "$vm" ovs-vsctl --timeout=10 "$@"
}

# ovs_ofctl VM ARGS...: ovs-ofctl -O OpenFlow13; a bridge name in ARGS means
# RUNDIR/BRIDGE.mgmt.
ovs_ofctl() {
	local vm=$1
	shift
	_ovs "$vm" ovs-ofctl -O OpenFlow13 --timeout=10 "$@"
}

# _ovs_pid VM DAEMON: the daemon's pid from its pid file, if it runs.
_ovs_pid() {
	local f pid
	f=$(ovs_rundir "$1")/$2.pid
	[[ -r $f ]] || return 1
	pid=$(<"$f") || return 1
	[[ $pid =~ ^[0-9]+$ ]] && _running "$pid" && echo "$pid"
}

_ovsdb_start() {
	local vm=$1 dir
	dir=$(ovs_rundir "$vm")
	# ovs-ctl's start_ovsdb, minus the SSL remotes and the manager_options
	# remote (no managers here).
	_ovs "$vm" ovsdb-server "$dir/conf.db" --remote="punix:$dir/db.sock" \
		-vconsole:emer -vsyslog:off -vfile:info --no-chdir \
		--log-file="$dir/ovsdb-server.log" --pidfile="$dir/ovsdb-server.pid" --detach ||
		return 1
}

_vswitchd_start() {
	local vm=$1 dir
	dir=$(ovs_rundir "$vm")
	# The control socket keeps its default name, RUNDIR/ovs-vswitchd.PID.ctl:
	# that is where ovs-appctl (as ovs-save calls it) looks.
	_ovs "$vm" ovs-vswitchd "unix:$dir/db.sock" --disable-system \
		-vconsole:emer -vsyslog:off -vfile:info --no-chdir \
		--log-file="$dir/ovs-vswitchd.log" --pidfile="$dir/ovs-vswitchd.pid" --detach ||
		return 1
}

# _ovs_stop VM DAEMON: ovs-ctl's stop_daemon: `ovs-appctl exit`, then TERM,
# then KILL, each after a while; returns once the daemon is gone.
_ovs_stop() {
	local vm=$1 d=$2 dir pid i
	dir=$(ovs_rundir "$vm")
	pid=$(_ovs_pid "$vm" "$d") || return 0
	_ovs "$vm" ovs-appctl -T 1 -t "$dir/$d.$pid.ctl" exit >/dev/null 2>&1 || :
	for i in {1..20}; do
		_running "$pid" || return 0
		((i != 10)) || kill -TERM "$pid" 2>/dev/null || :
		sleep 0.1
	done
	log "  $vm: $d ($pid) did not exit; killing it"
	kill -KILL "$pid" 2>/dev/null || :
	for _ in {1..50}; do
		_running "$pid" || return 0
		sleep 0.1
	done
	fail "$vm: $d ($pid) survives SIGKILL"
}

# ovs_start VM: VM's ovsdb-server (its database created on first start) and
# ovs-vswitchd. Starting again after ovs_kill keeps the database (bridges,
# ports) but, as after any crash, no flows.
ovs_start() {
	local vm=$1 dir t0
	dir=$(ovs_rundir "$vm")
	t0=$(_now_ms)
	mkdir -p "$dir/etc"
	if [[ ! -e $dir/conf.db ]]; then
		ovsdb-tool create "$dir/conf.db" "$OVS_SCHEMA" >>"$NF_LOGS/ovs-$vm.log" 2>&1 ||
			fail "$vm: ovsdb-tool create failed (see ovs-$vm.log)"
	fi
	NF_OVS_VMS[$vm]=1
	_ovsdb_start "$vm" >>"$NF_LOGS/ovs-$vm.log" 2>&1 ||
		fail "$vm: ovsdb-server did not start (see ovs-$vm.log and $dir/ovsdb-server.log)"
	ovs_vsctl "$vm" --no-wait init >>"$NF_LOGS/ovs-$vm.log" 2>&1 ||
		fail "$vm: ovs-vsctl init failed (see ovs-$vm.log)"
	_vswitchd_start "$vm" >>"$NF_LOGS/ovs-$vm.log" 2>&1 ||
		fail "$vm: ovs-vswitchd did not start (see ovs-$vm.log and $dir/ovs-vswitchd.log)"
	log "  $vm: Open vSwitch up in $(($(_now_ms) - t0)) ms (ovsdb-server $(_ovs_pid "$vm" ovsdb-server), ovs-vswitchd $(_ovs_pid "$vm" ovs-vswitchd); $dir)"
}

# ovs_running VM: both daemons run.
ovs_running() {
	_ovs_pid "$1" ovsdb-server >/dev/null && _ovs_pid "$1" ovs-vswitchd >/dev/null
}

# ovs_restart VM: what Debian's `ovs-ctl restart` does (ovs-lib's restart):
# save every bridge's flows with ovs-save, restart ovsdb-server, stop
# ovs-vswitchd, set other_config:flow-restore-wait=true (ovs-vswitchd then
# leaves the flow tables alone and talks to no controller), start it, run
# the saved flows back (replace-flows) and remove flow-restore-wait.
ovs_restart() {
	local vm=$1 dir bridges script t0 rc=0
	dir=$(ovs_rundir "$vm")
	t0=$(_now_ms)
	script=$dir/restore-flows.sh
	ovs_running "$vm" || fail "ovs_restart $vm: Open vSwitch is not running"
	# ovs-lib's ovs_save: the real bridges, saved only when there are some.
	bridges=$(ovs_vsctl "$vm" --no-wait -- --real list-br) || fail "$vm: ovs-vsctl list-br failed"
	if [[ -n $bridges ]]; then
		# shellcheck disable=SC2086 # a list of bridge names
		_ovs "$vm" sh "$OVS_SAVE" save-flows $bridges >"$script" 2>>"$NF_LOGS/ovs-$vm.log" ||
			fail "$vm: ovs-save save-flows failed (see ovs-$vm.log)"
		cp "$script" "$NF_LOGS/ovs-$vm-restore-flows.sh"
	fi
	{
		_ovs_stop "$vm" ovsdb-server
		_ovsdb_start "$vm" || fail "$vm: ovsdb-server did not restart"
		_ovs_stop "$vm" ovs-vswitchd
		ovs_vsctl "$vm" --no-wait set open_vswitch . other_config:flow-restore-wait=true ||
			fail "$vm: cannot set flow-restore-wait"
		_vswitchd_start "$vm" || fail "$vm: ovs-vswitchd did not restart"
		if [[ -n $bridges ]]; then
			# As ovs-ctl's restore_flows: a failure is reported, not fatal.
			_ovs "$vm" sh "$script" || rc=$?
			((rc == 0)) || log "  $vm: the saved flows' restore script exited $rc (see ovs-$vm.log)"
		fi
		ovs_vsctl "$vm" --no-wait --if-exists remove open_vswitch . other_config flow-restore-wait=true ||
			fail "$vm: cannot remove flow-restore-wait"
	} >>"$NF_LOGS/ovs-$vm.log" 2>&1
	log "  $vm: Open vSwitch restarted the Debian way in $(($(_now_ms) - t0)) ms (ovs-vswitchd now $(_ovs_pid "$vm" ovs-vswitchd))"
}

# ovs_kill VM: SIGKILL to both daemons, as in a crash; the flows are lost.
ovs_kill() {
	local vm=$1 d pid
	for d in ovs-vswitchd ovsdb-server; do
		pid=$(_ovs_pid "$vm" "$d") || continue
		kill -KILL "$pid" 2>/dev/null || :
		for _ in {1..50}; do
			_running "$pid" || break
			sleep 0.1
		done
		! _running "$pid" || fail "$vm: $d ($pid) survives SIGKILL"
	done
	log "  $vm: Open vSwitch killed (SIGKILL)"
}

# ovs_stop VM: both daemons stopped the way ovs-ctl stop does.
ovs_stop() {
	_ovs_stop "$1" ovs-vswitchd
	_ovs_stop "$1" ovsdb-server
}

# ovs_dump VM BRIDGE: the bridge's flows (ovs-ofctl dump-flows, no stats).
ovs_dump() {
	ovs_ofctl "$1" dump-flows --no-names --no-stats "$2"
}

# Before lib.sh's cleanup: on failure, each bridge's flows and ports into
# ovs-VM.txt; then every daemon stopped (pid-file based, so nothing that
# lib.sh's sweep of the namespaces could miss), and the daemons' logs kept.
_ovs_cleanup() {
	local vm dir br f
	for vm in "${!NF_OVS_VMS[@]}"; do
		dir=$(ovs_rundir "$vm")
		if ((NF_FAILED)) && ovs_running "$vm"; then
			{
				ovs_vsctl "$vm" show
				for br in $(ovs_vsctl "$vm" list-br); do
					echo "==== $br"
					ovs_ofctl "$vm" dump-flows "$br"
					ovs_ofctl "$vm" dump-ports "$br"
				done
			} >"$NF_LOGS/ovs-$vm.txt" 2>&1
		fi
		ovs_stop "$vm"
		for f in "$dir"/*.log; do
			[[ ! -f $f ]] || cp "$f" "$NF_LOGS/ovs-$vm-${f##*/}"
		done
	done
}

_ovs_exit() {
	local rc=$?
	set +e
	((rc == 0)) || NF_FAILED=1
	# shellcheck disable=SC2317 # from here on, fail() must not exit inside the trap
	fail() { log "FAIL (during cleanup): $*"; }
	_ovs_cleanup
	(exit "$rc")
	_cleanup
}
trap _ovs_exit EXIT
