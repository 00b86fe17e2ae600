// SPDX-License-Identifier: Apache-2.0
/*
 * A manual driver for trying the traffic classes' agent half in a network
 * namespace (needs root):
 *
 *   qos-agent-try IFNAME LINK [NAME:MINOR:MIN:MAX:PRIO[:tcp|udp[:PORT[-PORT]]]]...
 *   qos-agent-try IFNAME teardown
 *
 * Rates as the API takes them ("10mbit"; MIN may be 0). Applies the classes
 * and prints their counters (apply the same classes again to read them), or
 * removes everything of ours.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netfns/qos/qos_agent.h"

static int rate(const char *s, uint64_t *v)
{
	char why[80];

	if (!strcmp(s, "0")) {
		*v = 0;
		return 0;
	}
	if (qos_rate_parse(s, v, why, sizeof(why)))
		return 0;
	fprintf(stderr, "%s: %s\n", s, why);
	return -EINVAL;
}

static int parse_class(char *s, struct qos_class *c)
{
	char *f[7] = {0};
	int n = 0;

	for (char *p = strtok(s, ":"); p && n < 7; p = strtok(NULL, ":"))
		f[n++] = p;
	if (n < 5)
		return -EINVAL;
	snprintf(c->name, sizeof(c->name), "%s", f[0]);
	c->minor = (uint32_t)strtoul(f[1], NULL, 0);
	if (rate(f[2], &c->min_bps) || rate(f[3], &c->max_bps))
		return -EINVAL;
	c->priority = (uint32_t)strtoul(f[4], NULL, 0);
	if (n > 5) {
		struct qos_match *m = calloc(1, sizeof(*m));

		if (!m)
			return -ENOMEM;
		m->dst_any = true;
		m->protocol = !strcmp(f[5], "udp") ? 17 : 6;
		if (n > 6) {
			char *dash = strchr(f[6], '-');

			m->port_first = (uint16_t)atoi(f[6]);
			m->port_last = dash ? (uint16_t)atoi(dash + 1) : m->port_first;
		}
		c->matches = m;
		c->n_matches = 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct qos_config cfg = {0};
	struct qos_agent *qa = NULL;
	struct qos_counter *ctr = NULL;
	char err[256] = "";
	size_t n = 0;
	int ret;

	if (argc < 3) {
		fprintf(stderr, "usage: qos-agent-try IFNAME LINK [CLASS]...|teardown...\n");
		return 2;
	}
	ret = qos_agent_open("netfn_qos", argv[1], &qa);
	if (ret < 0)
		goto cleanup;
	if (!strcmp(argv[2], "teardown")) {
		ret = qos_agent_teardown(qa);
		goto cleanup;
	}
	if (rate(argv[2], &cfg.link_bps)) {
		ret = -EINVAL;
		goto cleanup;
	}
	cfg.classes = calloc((size_t)argc, sizeof(*cfg.classes));
	if (!cfg.classes) {
		ret = -ENOMEM;
		goto cleanup;
	}
	for (int i = 3; i < argc; i++) {
		ret = parse_class(argv[i], &cfg.classes[cfg.n++]);
		if (ret < 0) {
			fprintf(stderr, "bad class %s\n", argv[i]);
			goto cleanup;
		}
	}
	ret = qos_agent_apply(qa, &cfg, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "apply: %s\n", err);
		goto cleanup;
	}
	ret = qos_agent_counters(qa, &ctr, &n);
	for (size_t i = 0; i < n; i++)
		printf("%s packets %" PRIu64 " bytes %" PRIu64 " drops %" PRIu64 " rate %" PRIu64
		       "\n",
		       ctr[i].name, ctr[i].packets, ctr[i].bytes, ctr[i].drops, ctr[i].rate_bps);
cleanup:
	if (ret < 0)
		fprintf(stderr, "qos-agent-try: %s\n", strerror(-ret));
	free(ctr);
	qos_config_free(&cfg);
	qos_agent_close(qa);
	return ret < 0 ? 1 : 0;
}
