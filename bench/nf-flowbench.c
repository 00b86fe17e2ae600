// SPDX-License-Identifier: Apache-2.0
/*
 * nf-flowbench: bench/flows.sh's driver. Programs N flow filters on a
 * running Open vSwitch through netfns/flow/flow_ovs.h, the way the agent
 * does, and times the calls in process (CLOCK_MONOTONIC). Two filter sets
 * of N each: "first" holds filters 1..N, "second" filters 2..N+1 (filter 1
 * removed, filter N+1 added: a diff of two flow mods); "none" is no filter
 * (the bridge's base flows only). Every filter differs from every other in
 * its match (destination 10.(i/256).(i%256).0/24), and protocols, ports,
 * sources, priorities and actions vary with i.
 *
 *   nf-flowbench --rundir DIR [--bridge BR] [--port P]... N OP [SET]
 *
 * OP:
 *   series      one process, one connection: apply none (not timed), then
 *               apply first (install), apply second (change), apply second
 *               again (no-op) and stats, then flow_ovs_ensure alone (the
 *               OVSDB round trip every apply starts with). Prints
 *               "series install_ms=X change_ms=X noop_ms=X stats_ms=X stats_n=K
 *               ensure_ms=X".
 *   apply SET   one apply of SET in a fresh process ("apply apply_ms=X").
 *   stats SET   apply SET (meant to be what is installed: a no-op), then
 *               stats ("stats apply_ms=X stats_ms=X stats_n=K"): a fresh
 *               process must apply before it reads, or its first stats call
 *               would resync the bridge to an empty config.
 *   flows SET   prints SET's filter flows as ovs-ofctl add-flows lines
 *               (no I/O): the same cookies, priorities, matches and actions
 *               flow_ovs.c installs.
 * Defaults: --bridge nf-br, ports nf-ovs-rx-p and nf-ovs-tx-p. Exit 0; 1 on
 * a usage error or a failed call (its message on stderr).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netfns/flow/flow.h"
#include "netfns/flow/flow_ovs.h"

#define MAX_N     60000 /* distinct /24 destinations and ports below 65536 */
#define MAX_PORTS 8

enum set { SET_NONE, SET_FIRST, SET_SECOND };

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Filter i of the bench (1-based): see the file comment. */
static void make_filter(struct flow_filter *f, uint64_t i)
{
	static const uint8_t protos[] = {6, 17, 1, 0};

	memset(f, 0, sizeof(*f));
	f->id = i;
	f->priority = FLOW_PRIO_DEFAULT + (uint32_t)(i % 1000);
	f->protocol = protos[i % 4];
	f->dst_port = f->protocol == 6 || f->protocol == 17 ? (uint16_t)(1024 + i) : 0;
	f->src_any = i % 3 != 0;
	if (!f->src_any) {
		f->src.family = AF_INET;
		f->src.len = 12;
		f->src.addr.v4.s_addr = htonl(0xac100000); /* 172.16.0.0/12 */
	}
	f->dst.family = AF_INET;
	f->dst.len = 24;
	f->dst.addr.v4.s_addr =
	    htonl(0x0a000000 | (uint32_t)(i / 256 % 256) << 16 | (uint32_t)(i % 256) << 8);
	f->action = i % 2 ? FLOW_DROP : FLOW_ALLOW;
}

/* cfg gets SET's filters (malloc'd); -ENOMEM. */
static int make_config(struct flow_config *cfg, enum set set, size_t n)
{
	uint64_t first = set == SET_SECOND ? 2 : 1;

	memset(cfg, 0, sizeof(*cfg));
	cfg->revision = (uint64_t)set + 1;
	if (set == SET_NONE)
		return 0;
	cfg->filters = calloc(n, sizeof(*cfg->filters));
	if (!cfg->filters)
		return -ENOMEM;
	cfg->n = n;
	for (size_t i = 0; i < n; i++)
		make_filter(&cfg->filters[i], first + i);
	return 0;
}

/* SET's filters as ovs-ofctl flow lines, matching what flow_ovs.c installs. */
static void print_flows(const struct flow_config *cfg)
{
	for (size_t i = 0; i < cfg->n; i++) {
		const struct flow_filter *f = &cfg->filters[i];
		char buf[INET_ADDRSTRLEN];

		printf("table=0,cookie=0x%llx,priority=%u,%s",
		       (unsigned long long)(FLOW_COOKIE_TAG | f->id), f->priority,
		       f->protocol ? flow_protocol_name(f->protocol) : "ip");
		if (!f->src_any)
			printf(",nw_src=%s/%u",
			       inet_ntop(AF_INET, &f->src.addr.v4, buf, sizeof(buf)),
			       (unsigned)f->src.len);
		if (!f->dst_any)
			printf(",nw_dst=%s/%u",
			       inet_ntop(AF_INET, &f->dst.addr.v4, buf, sizeof(buf)),
			       (unsigned)f->dst.len);
		if (f->dst_port)
			printf(",tp_dst=%u", f->dst_port);
		printf(",actions=%s\n", f->action == FLOW_ALLOW ? "in_port" : "drop");
	}
}

/* One timed apply; -errno with the message printed. */
static int timed_apply(struct flow_ovs *o, const struct flow_config *cfg, double *ms)
{
	char err[512];
	double t0 = now_ms();
	int rc = flow_ovs_apply(o, cfg, err, sizeof(err));

	*ms = now_ms() - t0;
	if (rc)
		fprintf(stderr, "nf-flowbench: apply of %zu filters: %s\n", cfg->n, err);
	return rc;
}

/* One timed stats call; -errno with the message printed. */
static int timed_stats(struct flow_ovs *o, double *ms, size_t *n)
{
	struct flow_counter *c = NULL;
	char err[512];
	double t0 = now_ms();
	int rc = flow_ovs_stats(o, &c, n, err, sizeof(err));

	*ms = now_ms() - t0;
	free(c);
	if (rc)
		fprintf(stderr, "nf-flowbench: stats: %s\n", err);
	return rc;
}

static int usage(void)
{
	fprintf(stderr, "usage: nf-flowbench --rundir DIR [--bridge BR] [--port P]... N "
	                "series | apply SET | stats SET | flows SET   (SET: none|first|second)\n");
	return 1;
}

static bool parse_set(const char *s, enum set *set)
{
	if (!s)
		return false;
	if (!strcmp(s, "none"))
		*set = SET_NONE;
	else if (!strcmp(s, "first"))
		*set = SET_FIRST;
	else if (!strcmp(s, "second"))
		*set = SET_SECOND;
	else
		return false;
	return true;
}

int main(int argc, char **argv)
{
	const char *rundir = NULL, *bridge = "nf-br", *ports[MAX_PORTS], *op = NULL;
	const char *pos[3] = {NULL};
	struct flow_config cfg[3] = {0};
	struct flow_ovs *o = NULL;
	size_t n_ports = 0, n_pos = 0, n = 0, stats_n = 0;
	enum set set = SET_NONE;
	double t[5] = {0};
	char err[512];
	char *end = NULL;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rundir") && i + 1 < argc)
			rundir = argv[++i];
		else if (!strcmp(argv[i], "--bridge") && i + 1 < argc)
			bridge = argv[++i];
		else if (!strcmp(argv[i], "--port") && i + 1 < argc && n_ports < MAX_PORTS)
			ports[n_ports++] = argv[++i];
		else if (argv[i][0] != '-' && n_pos < 3)
			pos[n_pos++] = argv[i];
		else
			return usage();
	}
	if (!n_ports) {
		ports[n_ports++] = "nf-ovs-rx-p";
		ports[n_ports++] = "nf-ovs-tx-p";
	}
	if (n_pos < 2)
		return usage();
	errno = 0;
	n = strtoul(pos[0], &end, 10);
	if (errno || *end || n < 1 || n > MAX_N) {
		fprintf(stderr, "nf-flowbench: N: '%s' is not a count of 1..%d\n", pos[0], MAX_N);
		return 1;
	}
	op = pos[1];
	if (strcmp(op, "series") && !parse_set(pos[2], &set))
		return usage();
	for (int s = SET_NONE; s <= SET_SECOND; s++)
		if (make_config(&cfg[s], (enum set)s, n)) {
			fprintf(stderr, "nf-flowbench: out of memory\n");
			goto cleanup;
		}
	if (!strcmp(op, "flows")) {
		print_flows(&cfg[set]);
		rc = 0;
		goto cleanup;
	}
	if (!rundir)
		return usage();
	if (flow_ovs_open(
	        &(struct flow_ovs_opts){
	            .rundir = rundir, .bridge = bridge, .ports = ports, .n_ports = n_ports},
	        &o)) {
		fprintf(stderr, "nf-flowbench: bad options (rundir %s, bridge %s)\n", rundir,
		        bridge);
		goto cleanup;
	}
	if (!strcmp(op, "series")) {
		if (timed_apply(o, &cfg[SET_NONE], &t[0]) ||
		    timed_apply(o, &cfg[SET_FIRST], &t[0]) ||
		    timed_apply(o, &cfg[SET_SECOND], &t[1]) ||
		    timed_apply(o, &cfg[SET_SECOND], &t[2]) || timed_stats(o, &t[3], &stats_n))
			goto cleanup;
		/* What every apply pays before its dump: the OVSDB ensure (connected already). */
		t[4] = now_ms();
		if (flow_ovs_ensure(o, err, sizeof(err))) {
			fprintf(stderr, "nf-flowbench: ensure: %s\n", err);
			goto cleanup;
		}
		t[4] = now_ms() - t[4];
		printf("series install_ms=%.3f change_ms=%.3f noop_ms=%.3f stats_ms=%.3f "
		       "stats_n=%zu ensure_ms=%.3f\n",
		       t[0], t[1], t[2], t[3], stats_n, t[4]);
	} else if (!strcmp(op, "apply")) {
		if (timed_apply(o, &cfg[set], &t[0]))
			goto cleanup;
		printf("apply apply_ms=%.3f\n", t[0]);
	} else if (!strcmp(op, "stats")) {
		if (timed_apply(o, &cfg[set], &t[0]) || timed_stats(o, &t[1], &stats_n))
			goto cleanup;
		printf("stats apply_ms=%.3f stats_ms=%.3f stats_n=%zu\n", t[0], t[1], stats_n);
	} else {
		usage();
		goto cleanup;
	}
	rc = 0;
cleanup:
	flow_ovs_close(o);
	for (int s = SET_NONE; s <= SET_SECOND; s++)
		flow_config_free(&cfg[s]);
	return rc;
}
