// SPDX-License-Identifier: Apache-2.0
/*
 * flow_ovs.c against a real ovsdb-server and ovs-vswitchd (userspace
 * datapath), started in a private run directory inside a private network
 * namespace (needs root). The bridge's two ports are veth ends; the test
 * sends real frames into one with a packet socket on its peer. Checked:
 * ensure is idempotent and leaves a second bridge alone; apply installs
 * exactly the base flows and the filters with our cookies (our dump and
 * ovs-ofctl's); a hand flow with cookie 0x1234 survives; removing a filter
 * deletes only its flow; an unchanged flow keeps its counters and age; a
 * killed and restarted ovs-vswitchd gets our flows back from the next
 * stats call and they count again; SIGTERM/SIGINT stay blocked through all
 * of it; teardown keeps a bridge with foreign flows and deletes an empty one.
 */
#include "netfns/flow/flow_ovs.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>

#define BR     "nf-br"
#define RX     "nf-ovs-rx"
#define RX_P   "nf-ovs-rx-p"
#define TX     "nf-ovs-tx"
#define TX_P   "nf-ovs-tx-p"
#define SCHEMA "/usr/share/openvswitch/vswitch.ovsschema"
#define IP_LEN 38 /* 20 IP + 8 UDP + 10 payload */

extern char **environ;

static char dir[64];
static pid_t db_pid = -1, vs_pid = -1;

/* Children get an empty mask and default dispositions, whatever this test blocked. */
static posix_spawnattr_t *attr(void)
{
	static posix_spawnattr_t a;
	static bool done;
	sigset_t none, all;

	if (!done) {
		sigemptyset(&none);
		sigfillset(&all);
		posix_spawnattr_init(&a);
		posix_spawnattr_setsigmask(&a, &none);
		posix_spawnattr_setsigdefault(&a, &all);
		posix_spawnattr_setflags(&a, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
		done = true;
	}
	return &a;
}

/* Runs argv (argv[0] an absolute path) with out capturing stdout; its exit status or -1. */
static int run(char *const argv[], char *out, size_t outlen)
{
	posix_spawn_file_actions_t fa;
	int fds[2], status = -1;
	size_t len = 0;
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	if (posix_spawn(&pid, argv[0], &fa, attr(), argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	for (;;) {
		char buf[4096];
		ssize_t r = read(fds[0], buf, sizeof(buf));

		if (r <= 0)
			break;
		for (ssize_t i = 0; out && i < r && len + 1 < outlen; i++)
			out[len++] = buf[i];
	}
	close(fds[0]);
	if (out && outlen)
		out[len] = '\0';
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		return WEXITSTATUS(status);
	return -1;
}

/* Starts a daemon in the foreground (we keep its pid); stdout/stderr to its log. */
static pid_t start(char *const argv[])
{
	pid_t pid;

	return posix_spawn(&pid, argv[0], NULL, attr(), argv, environ) == 0 ? pid : -1;
}

static void stop(pid_t *pid, int sig)
{
	if (*pid > 0) {
		kill(*pid, sig);
		waitpid(*pid, NULL, 0);
	}
	*pid = -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* Kills the daemons and removes the run directory; runs at exit and on abort (ASan). */
static void cleanup(void)
{
	stop(&vs_pid, SIGTERM);
	stop(&db_pid, SIGTERM);
	if (dir[0])
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	dir[0] = '\0';
}

static void on_abort(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static bool wait_file(const char *path, int ms)
{
	for (int i = 0; i < ms / 20; i++) {
		if (access(path, F_OK) == 0)
			return true;
		poll(NULL, 0, 20);
	}
	return false;
}

static void start_vswitchd(void)
{
	char db[128], pid[128], ctl[128], log[128];

	snprintf(db, sizeof(db), "unix:%s/db.sock", dir);
	snprintf(pid, sizeof(pid), "--pidfile=%s/ovs-vswitchd.pid", dir);
	snprintf(ctl, sizeof(ctl), "--unixctl=%s/ovs-vswitchd.ctl", dir);
	snprintf(log, sizeof(log), "--log-file=%s/ovs-vswitchd.log", dir);
	vs_pid = start((char *[]){"/usr/sbin/ovs-vswitchd", db, pid, ctl, log, "--no-chdir",
	                          "-vconsole:off", NULL});
}

static int vsctl(const char *a1, const char *a2, const char *a3, char *out, size_t outlen)
{
	char db[128];

	snprintf(db, sizeof(db), "--db=unix:%s/db.sock", dir);
	return run((char *[]){"/usr/bin/ovs-vsctl", db, "--timeout=5", (char *)a1, (char *)a2,
	                      (char *)a3, NULL},
	           out, outlen);
}

static int ofctl(const char *cmd, const char *arg, char *out, size_t outlen)
{
	char target[128];

	snprintf(target, sizeof(target), "unix:%s/%s.mgmt", dir, BR);
	return run((char *[]){"/usr/bin/ovs-ofctl", "-O", "OpenFlow13", (char *)cmd, target,
	                      (char *)arg, NULL},
	           out, outlen);
}

/* Lines of ovs-ofctl dump-flows holding needle. */
static int count_lines(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The duration in seconds of the flow with the given cookie text, or -1. */
static double duration_of(const char *text, const char *cookie)
{
	const char *p = strstr(text, cookie), *d = p ? strstr(p, "duration=") : NULL;

	return d ? strtod(d + strlen("duration="), NULL) : -1;
}

static uint16_t csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* Sends n UDP frames to 10.99.0.5:5555 into the bridge's port RX_P (through its peer RX). */
static int send_frames(int n)
{
	struct sockaddr_ll sll = {
	    .sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(RX), .sll_halen = ETH_ALEN};
	uint8_t f[ETH_HLEN + IP_LEN] = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00};
	uint8_t *ip = f + ETH_HLEN, *udp = ip + 20;
	int fd = socket(AF_PACKET, SOCK_RAW, 0), sent = 0;

	if (fd < 0)
		return -1;
	ip[0] = 0x45;
	ip[3] = IP_LEN;
	ip[8] = 64;
	ip[9] = 17;
	inet_pton(AF_INET, "10.98.7.1", ip + 12);
	inet_pton(AF_INET, "10.99.0.5", ip + 16);
	*(uint16_t *)(ip + 10) = csum(ip, 20);
	udp[0] = 0x30, udp[1] = 0x39; /* 12345 */
	udp[2] = 5555 >> 8, udp[3] = 5555 & 0xff;
	udp[5] = 18;
	for (int i = 0; i < n; i++)
		if (sendto(fd, f, sizeof(f), 0, (struct sockaddr *)&sll, sizeof(sll)) == sizeof(f))
			sent++;
	close(fd);
	return sent;
}

static const struct flow_counter *find(const struct flow_counter *c, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].id == id)
			return &c[i];
	return NULL;
}

/* Filter id's packets once they reach want (the datapath reads asynchronously), within 3 s. */
static uint64_t packets_of(struct flow_ovs *o, uint64_t id, uint64_t want, uint64_t *bytes)
{
	uint64_t p = 0;
	char err[256];

	for (int i = 0; i < 150; i++) {
		struct flow_counter *c = NULL;
		size_t n = 0;

		if (flow_ovs_stats(o, &c, &n, err, sizeof(err)) == 0 && find(c, n, id)) {
			p = find(c, n, id)->packets;
			*bytes = find(c, n, id)->bytes;
		} else {
			fprintf(stderr, "stats: %s\n", err);
		}
		free(c);
		if (p >= want)
			break;
		poll(NULL, 0, 20);
	}
	poll(NULL, 0, 100); /* and nothing more arrives */
	return p;
}

static void filter(struct flow_filter *f, uint64_t id, uint32_t prio, uint8_t proto, uint16_t port,
                   const char *src, const char *dst, enum flow_action action)
{
	memset(f, 0, sizeof(*f));
	f->id = id;
	f->priority = prio;
	f->protocol = proto;
	f->dst_port = port;
	f->src_any = !src;
	f->dst_any = !dst;
	if (src)
		nf_prefix_parse(src, true, &f->src);
	if (dst)
		nf_prefix_parse(dst, true, &f->dst);
	f->action = action;
}

int main(void)
{
	const char *ports[] = {RX_P, TX_P};
	struct flow_filter fl[3];
	struct flow_config cfg = {.revision = 1, .n = 3, .filters = fl};
	struct flow_ovs *o = NULL;
	struct flow_counter *c = NULL;
	char err[512], out[16384], path[128], next1[32], next2[32];
	sigset_t term, cur;
	uint64_t bytes = 0;
	size_t n = 0;
	int sig = 0;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigprocmask(SIG_BLOCK, &term, NULL); /* as the agent does */
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s (the test needs root)\n",
		        strerror(errno));
		return 1;
	}
	strcpy(dir, "/tmp/nf-ovs-test-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	atexit(cleanup);
	signal(SIGABRT, on_abort);
	setenv("OVS_RUNDIR", dir, 1);
	setenv("OVS_DBDIR", dir, 1);
	setenv("OVS_LOGDIR", dir, 1);

	run((char *[]){"/usr/sbin/ip", "link", "set", "lo", "up", NULL}, NULL, 0);
	CHECK(run((char *[]){"/usr/sbin/ip", "link", "add", RX, "type", "veth", "peer", "name",
	                     RX_P, NULL},
	          NULL, 0) == 0);
	CHECK(run((char *[]){"/usr/sbin/ip", "link", "add", TX, "type", "veth", "peer", "name",
	                     TX_P, NULL},
	          NULL, 0) == 0);
	for (const char *const *l = (const char *const[]){RX, RX_P, TX, TX_P, NULL}; *l; l++)
		run((char *[]){"/usr/sbin/ip", "link", "set", (char *)*l, "up", NULL}, NULL, 0);

	snprintf(path, sizeof(path), "%s/conf.db", dir);
	CHECK(run((char *[]){"/usr/bin/ovsdb-tool", "create", path, SCHEMA, NULL}, NULL, 0) == 0);
	{
		char remote[128], pid[128], ctl[128], log[128];

		snprintf(remote, sizeof(remote), "--remote=punix:%s/db.sock", dir);
		snprintf(pid, sizeof(pid), "--pidfile=%s/ovsdb-server.pid", dir);
		snprintf(ctl, sizeof(ctl), "--unixctl=%s/ovsdb-server.ctl", dir);
		snprintf(log, sizeof(log), "--log-file=%s/ovsdb-server.log", dir);
		db_pid = start((char *[]){"/usr/sbin/ovsdb-server", path, remote, pid, ctl, log,
		                          "--no-chdir", "-vconsole:off", NULL});
	}
	snprintf(path, sizeof(path), "%s/db.sock", dir);
	CHECK(db_pid > 0 && wait_file(path, 5000));
	start_vswitchd();
	CHECK(vs_pid > 0);

	/* ensure: twice, the second changing nothing; a second bridge is left alone */
	CHECK(
	    flow_ovs_open(
	        &(struct flow_ovs_opts){.rundir = dir, .bridge = BR, .ports = ports, .n_ports = 2},
	        &o) == 0);
	CHECK((o && flow_ovs_ensure(o, err, sizeof(err)) == 0) ||
	      (fprintf(stderr, "%s\n", err), 0));
	{
		char db[128];

		snprintf(db, sizeof(db), "--db=unix:%s/db.sock", dir);
		CHECK(
		    run((char *[]){"/usr/bin/ovs-vsctl", db, "--timeout=5", "add-br", "other-br",
		                   "--", "set", "Bridge", "other-br", "datapath_type=netdev", NULL},
		        NULL, 0) == 0);
		CHECK(run((char *[]){"/usr/bin/ovs-vsctl", db, "get", "Open_vSwitch", ".",
		                     "next_cfg", NULL},
		          next1, sizeof(next1)) == 0);
		CHECK(flow_ovs_ensure(o, err, sizeof(err)) == 0 ||
		      (fprintf(stderr, "%s\n", err), 0));
		CHECK(run((char *[]){"/usr/bin/ovs-vsctl", db, "get", "Open_vSwitch", ".",
		                     "next_cfg", NULL},
		          next2, sizeof(next2)) == 0);
		CHECK(strcmp(next1, next2) == 0); /* nothing written */
		CHECK(run((char *[]){"/usr/bin/ovs-vsctl", db, "br-exists", "other-br", NULL}, NULL,
		          0) == 0);
		CHECK(run((char *[]){"/usr/bin/ovs-vsctl", db, "list-ports", BR, NULL}, out,
		          sizeof(out)) == 0);
		CHECK(strcmp(out, RX_P "\n" TX_P "\n") == 0);
		CHECK(run((char *[]){"/usr/bin/ovs-vsctl", db, "get", "Bridge", BR, "fail_mode",
		                     NULL},
		          out, sizeof(out)) == 0 &&
		      strcmp(out, "secure\n") == 0);
		CHECK(run((char *[]){"/usr/bin/ovs-vsctl", db, "get", "Bridge", BR, "datapath_type",
		                     NULL},
		          out, sizeof(out)) == 0 &&
		      strcmp(out, "netdev\n") == 0);
	}

	/* apply: base flows + filters; a hand flow survives */
	CHECK(ofctl("add-flow", "cookie=0x1234,priority=5,udp,tp_dst=9,actions=drop", NULL, 0) ==
	      0);
	filter(&fl[0], 1, 200, 17, 5555, NULL, "10.99.0.0/24", FLOW_DROP);
	filter(&fl[1], 2, 100, 6, 22, NULL, NULL, FLOW_ALLOW);
	filter(&fl[2], 3, 300, 1, 0, "10.98.0.1", NULL, FLOW_DROP);
	CHECK(flow_ovs_apply(o, &cfg, err, sizeof(err)) == 0 || (fprintf(stderr, "%s\n", err), 0));
	CHECK(ofctl("dump-flows", NULL, out, sizeof(out)) == 0);
	CHECK(count_lines(out, "cookie=0x6e66") == 5);
	CHECK(count_lines(out, "cookie=0x6e66000000000000,") == 2);
	CHECK(count_lines(out, "cookie=0x6e66000000000001,") == 1);
	CHECK(strstr(out, "priority=200,udp,nw_dst=10.99.0.0/24,tp_dst=5555 actions=drop"));
	CHECK(strstr(out, "priority=100,tcp,tp_dst=22 actions=IN_PORT"));
	CHECK(strstr(out, "priority=300,icmp,nw_src=10.98.0.1 actions=drop"));
	CHECK(count_lines(out, "priority=0,in_port=") == 2);
	CHECK(count_lines(out, "cookie=0x1234,") == 1);
	CHECK(flow_ovs_stats(o, &c, &n, err, sizeof(err)) == 0);
	CHECK(n == 4 && c[0].id == 1 && c[1].id == 2 && c[2].id == 3 && c[3].id == 0);
	free(c);

	/* counters: frames matching the drop filter 1 */
	CHECK(send_frames(5) == 5);
	CHECK(packets_of(o, 1, 5, &bytes) == 5);
	CHECK(bytes == 5 * IP_LEN);

	/* the same config again changes nothing: flows keep their age; then filter 3 goes */
	poll(NULL, 0, 1100);
	CHECK(flow_ovs_apply(o, &cfg, err, sizeof(err)) == 0);
	CHECK(ofctl("dump-flows", NULL, out, sizeof(out)) == 0);
	CHECK(duration_of(out, "cookie=0x6e66000000000001,") >= 1.0);
	cfg.n = 2;
	cfg.revision = 2;
	CHECK(flow_ovs_apply(o, &cfg, err, sizeof(err)) == 0 || (fprintf(stderr, "%s\n", err), 0));
	CHECK(ofctl("dump-flows", NULL, out, sizeof(out)) == 0);
	CHECK(count_lines(out, "cookie=0x6e66") == 4);
	CHECK(count_lines(out, "cookie=0x6e66000000000003,") == 0);
	CHECK(count_lines(out, "cookie=0x1234,") == 1);
	CHECK(duration_of(out, "cookie=0x6e66000000000001,") >= 1.0);
	CHECK(packets_of(o, 1, 5, &bytes) == 5); /* kept */

	/* ovs-vswitchd killed and restarted plainly: its flows are gone; stats resyncs ours */
	stop(&vs_pid, SIGKILL);
	start_vswitchd();
	CHECK(vs_pid > 0);
	CHECK(flow_ovs_stats(o, &c, &n, err, sizeof(err)) == 0 ||
	      (fprintf(stderr, "%s\n", err), 0));
	CHECK(n == 3 && c[0].id == 1 && c[0].packets == 0);
	free(c);
	CHECK(ofctl("dump-flows", NULL, out, sizeof(out)) == 0);
	CHECK(count_lines(out, "cookie=0x6e66") == 4);
	CHECK(count_lines(out, "cookie=0x1234,") == 0);
	CHECK(send_frames(3) == 3);
	CHECK(packets_of(o, 1, 3, &bytes) == 3);

	/* teardown: a bridge with a foreign flow stays, an empty one goes */
	CHECK(ofctl("add-flow", "cookie=0x1234,priority=5,udp,tp_dst=9,actions=drop", NULL, 0) ==
	      0);
	CHECK(flow_ovs_teardown(o, err, sizeof(err)) == 0 || (fprintf(stderr, "%s\n", err), 0));
	CHECK(ofctl("dump-flows", NULL, out, sizeof(out)) == 0);
	CHECK(count_lines(out, "cookie=0x6e66") == 0 && count_lines(out, "cookie=0x1234,") == 1);
	CHECK(ofctl("del-flows", NULL, NULL, 0) == 0);
	CHECK(flow_ovs_teardown(o, err, sizeof(err)) == 0 || (fprintf(stderr, "%s\n", err), 0));
	CHECK(vsctl("br-exists", BR, NULL, NULL, 0) == 2);
	CHECK(vsctl("br-exists", "other-br", NULL, NULL, 0) == 0);
	flow_ovs_close(o);

	/* SIGTERM and SIGINT are still blocked and still taken by sigwait */
	CHECK(sigprocmask(SIG_BLOCK, NULL, &cur) == 0 && sigismember(&cur, SIGTERM) &&
	      sigismember(&cur, SIGINT));
	raise(SIGTERM);
	CHECK(sigwait(&term, &sig) == 0 && sig == SIGTERM);

	cleanup();
	return check_result();
}
