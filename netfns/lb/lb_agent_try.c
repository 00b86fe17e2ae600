// SPDX-License-Identifier: Apache-2.0
/*
 * lb-agent-try: a manual driver for the load balancer's agent half, for
 * trying it by hand or from a script in a network namespace (needs root).
 * It stays up, with its health checker running, and reads commands from
 * stdin, one per line, so a script can make connections in between:
 *
 *   apply FILE    validate FILE (through conv_lb_from_pb, as the agent does) and apply it
 *   reports       print each backend's health and connection counter
 *   teardown      delete the table
 *   quit          (or end of input) close, leaving the kernel as it is
 *
 *   lb-agent-try [-v] [-t TABLE] [-w IFNAME]
 *
 * -w names the overlay interface (forwarding is turned on there). A config
 * file has one item per line ('#' starts a comment):
 *
 *   revision N
 *   frontend ID NAME tcp|udp ADDR PORT ALGO [health=INTERVAL,TIMEOUT,RISE,FALL[,PORT]]
 *   backend ADDR PORT [WEIGHT]      (of the frontend above)
 */
#include "netfns/lb/lb_agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netfns/common/log.h"
#include "proto/conv_lb.h"

#define MAX_FE 16
#define MAX_BE 64

/* A section read from a file, with storage for what its fields point to. */
struct file_cfg {
	Netfn__LbSection pb;
	Netfn__LbFrontend fe[MAX_FE];
	Netfn__LbFrontend *fe_ptrs[MAX_FE];
	Netfn__LbHealthCheck hc[MAX_FE];
	Netfn__LbBackend be[MAX_FE][MAX_BE];
	Netfn__LbBackend *be_ptrs[MAX_FE][MAX_BE];
	char text[MAX_FE * (MAX_BE + 1)][6][64];
	size_t n_text;
};

static char *keep(struct file_cfg *c, size_t field, const char *s)
{
	char *p = c->text[c->n_text][field];

	snprintf(p, 64, "%s", s);
	return p;
}

static int read_cfg(const char *path, struct file_cfg *c)
{
	char line[512];
	FILE *f = fopen(path, "r");
	int lineno = 0;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -errno;
	}
	memset(c, 0, sizeof(*c));
	netfn__lb_section__init(&c->pb);
	c->pb.frontends = c->fe_ptrs;
	while (fgets(line, sizeof(line), f)) {
		char *w[8] = {0}, *save = NULL, *hash = strchr(line, '#');
		int n = 0;

		lineno++;
		if (hash)
			*hash = '\0';
		for (char *t = strtok_r(line, " \t\n", &save); t && n < 8;
		     t = strtok_r(NULL, " \t\n", &save))
			w[n++] = t;
		if (n == 0)
			continue;
		if (!strcmp(w[0], "revision") && n == 2) {
			c->pb.revision = strtoull(w[1], NULL, 10);
		} else if (!strcmp(w[0], "frontend") && n >= 7 && c->pb.n_frontends < MAX_FE) {
			size_t i = c->pb.n_frontends++;
			Netfn__LbFrontend *fe = &c->fe[i];

			netfn__lb_frontend__init(fe);
			c->fe_ptrs[i] = fe;
			fe->id = strtoull(w[1], NULL, 10);
			fe->name = keep(c, 0, w[2]);
			fe->protocol = keep(c, 1, w[3]);
			fe->address = keep(c, 2, w[4]);
			fe->port = (uint32_t)strtoul(w[5], NULL, 10);
			fe->algorithm = keep(c, 3, w[6]);
			fe->backends = c->be_ptrs[i];
			c->n_text++;
			if (n >= 8 && !strncmp(w[7], "health=", 7)) {
				Netfn__LbHealthCheck *h = &c->hc[i];

				netfn__lb_health_check__init(h);
				sscanf(w[7] + 7, "%u,%u,%u,%u,%u", &h->interval_ms, &h->timeout_ms,
				       &h->rise, &h->fall, &h->port);
				fe->health = h;
			}
		} else if (!strcmp(w[0], "backend") && n >= 3 && c->pb.n_frontends &&
		           c->fe[c->pb.n_frontends - 1].n_backends < MAX_BE) {
			size_t i = c->pb.n_frontends - 1, k = c->fe[i].n_backends++;
			Netfn__LbBackend *be = &c->be[i][k];

			netfn__lb_backend__init(be);
			c->be_ptrs[i][k] = be;
			be->address = keep(c, 0, w[1]);
			be->port = (uint32_t)strtoul(w[2], NULL, 10);
			be->weight = n >= 4 ? (uint32_t)strtoul(w[3], NULL, 10) : 0;
			c->n_text++;
		} else {
			fprintf(stderr, "%s:%d: cannot read this line\n", path, lineno);
			fclose(f);
			return -EINVAL;
		}
	}
	fclose(f);
	return 0;
}

static int apply(struct lb_agent *la, const char *path)
{
	static struct file_cfg c;
	struct lb_config cfg = {0};
	char err[256];
	uint64_t bad = 0;
	int ret;

	ret = read_cfg(path, &c);
	if (ret < 0)
		return ret;
	ret = conv_lb_from_pb(&c.pb, &cfg, err, sizeof(err), &bad);
	if (ret == 0)
		ret = lb_agent_apply(la, &cfg, err, sizeof(err), &bad);
	if (ret < 0)
		printf("apply %s: failed (frontend %" PRIu64 "): %s\n", path, bad, err);
	else
		printf("apply %s: ok\n", path);
	lb_config_free(&cfg);
	return ret;
}

static int reports(struct lb_agent *la)
{
	struct lb_report *r = NULL;
	char a[INET_ADDRSTRLEN];
	size_t n = 0;
	int ret;

	ret = lb_agent_reports(la, &r, &n);
	if (ret < 0) {
		printf("reports: %s\n", strerror(-ret));
		return ret;
	}
	for (size_t i = 0; i < n; i++)
		printf("lb %" PRIu64 " %s:%u %s connections %" PRIu64 "\n", r[i].lb_id,
		       inet_ntop(AF_INET, &r[i].addr, a, sizeof(a)), r[i].port,
		       r[i].healthy ? "up" : "down", r[i].connections);
	printf("end\n");
	free(r);
	return 0;
}

int main(int argc, char **argv)
{
	const char *table = "netfn_lb", *wg = NULL;
	struct lb_agent *la = NULL;
	char line[1024];
	int ret, status = 0;

	nf_log_set_ident("lb-agent-try");
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v")) {
			nf_log_set_level(NF_LOG_DEBUG);
		} else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
			table = argv[++i];
		} else if (!strcmp(argv[i], "-w") && i + 1 < argc) {
			wg = argv[++i];
		} else {
			fprintf(stderr,
			        "usage: lb-agent-try [-v] [-t TABLE] [-w IFNAME] < commands\n");
			return 2;
		}
	}
	ret = lb_agent_open(table, wg, &la);
	if (ret < 0) {
		fprintf(stderr, "lb-agent-try: cannot open: %s\n", strerror(-ret));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		char *cmd = strtok(line, " \t\n"), *arg = strtok(NULL, " \t\n");

		if (!cmd)
			continue;
		if (!strcmp(cmd, "apply") && arg)
			ret = apply(la, arg);
		else if (!strcmp(cmd, "reports"))
			ret = reports(la);
		else if (!strcmp(cmd, "teardown"))
			ret = lb_agent_teardown(la);
		else if (!strcmp(cmd, "quit"))
			break;
		else
			ret = -EINVAL, printf("unknown command %s\n", cmd);
		if (ret < 0)
			status = 1;
	}
	lb_agent_close(la);
	return status;
}
