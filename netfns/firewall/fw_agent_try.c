// SPDX-License-Identifier: Apache-2.0
/*
 * fw-agent-try: a manual driver for the firewall's agent half, for trying it
 * by hand or from a script in a network namespace (needs root). It reads
 * configs from small text files and applies them in turn in one process, so
 * the second and later applies go through the diff path as in the agent;
 * "pause" between files waits for a line on stdin, so a script can look at
 * the kernel in between.
 *
 *   fw-agent-try [-v] [-c] [-t TABLE] apply FILE|pause...
 *   fw-agent-try [-t TABLE] counters|teardown
 *   fw-agent-try [-t TABLE] hold
 *
 * hold stands for another program: it creates table inet TABLE with the
 * owner flag (only its socket may change it) and keeps it until stdin ends,
 * so one can see what the agent does when it cannot have its table.
 *
 * -c prints the counters after each apply. A config file has one item per line
 * ('#' starts a comment):
 *
 *   revision N
 *   default_deny | keep_ssh
 *   wg_port PORT
 *   keep ADDR:PORT                   (a controller endpoint, [v6]:port too)
 *   rule ID DIR PROTO ACTION [src=P,P|any] [dst=P,P|any] [ports=22,80-90]
 *        [rate=N/UNIT] [log=PREFIX]  (src/dst default any; all on one line)
 */
#include "netfns/firewall/fw_agent.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "netfns/common/log.h"
#include "netfns/firewall/nft.h"

static int usage(void)
{
	fprintf(stderr, "usage: fw-agent-try [-v] [-c] [-t TABLE] apply FILE|pause...\n"
	                "       fw-agent-try [-t TABLE] counters|teardown|hold\n");
	return 2;
}

static int word(const char *s, const char *const *w, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(s, w[i]))
			return i;
	return -1;
}

static int parse_addrs(char *v, bool *any, struct nf_prefix **out, size_t *n)
{
	char *save = NULL;

	if (!strcmp(v, "any")) {
		*any = true;
		return 0;
	}
	*any = false;
	for (char *t = strtok_r(v, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		struct nf_prefix *p = realloc(*out, (*n + 1) * sizeof(*p));

		if (!p)
			return -ENOMEM;
		*out = p;
		if (!nf_prefix_parse(t, true, &p[*n]))
			return -EINVAL;
		(*n)++;
	}
	return 0;
}

static int parse_ports(char *v, struct fw_rule *r)
{
	char *save = NULL;

	for (char *t = strtok_r(v, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		struct fw_port_range *p = realloc(r->ports, (r->n_ports + 1) * sizeof(*p));
		unsigned a = 0, b = 0;
		int k = sscanf(t, "%u-%u", &a, &b);

		if (!p)
			return -ENOMEM;
		r->ports = p;
		if (k < 1 || a > 65535 || (k == 2 && b > 65535))
			return -EINVAL;
		p[r->n_ports].first = (uint16_t)a;
		p[r->n_ports++].last = (uint16_t)(k == 2 ? b : a);
	}
	return 0;
}

static int parse_rule(char *line, struct fw_config *cfg)
{
	static const char *const dirs[] = {"in", "out", "forward"};
	static const char *const protos[] = {"any", "tcp", "udp", "icmp", "icmpv6"};
	static const char *const acts[] = {"accept", "drop", "reject"};
	static const char *const units[] = {"second", "minute", "hour"};
	char *save = NULL, *tok[5];
	struct fw_rule *r;
	int v;

	r = realloc(cfg->rules, (cfg->n_rules + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	cfg->rules = r;
	r = &cfg->rules[cfg->n_rules++];
	memset(r, 0, sizeof(*r));
	r->src_any = r->dst_any = true;
	snprintf(r->policy, sizeof(r->policy), "try");
	for (int i = 0; i < 5; i++)
		if (!(tok[i] = strtok_r(i ? NULL : line, " \t", &save)))
			return -EINVAL;
	r->id = strtoull(tok[1], NULL, 10);
	if ((v = word(tok[2], dirs, 3)) < 0)
		return -EINVAL;
	r->dir = (enum fw_dir)v;
	if ((v = word(tok[3], protos, 5)) < 0)
		return -EINVAL;
	r->proto = (enum fw_proto)v;
	if ((v = word(tok[4], acts, 3)) < 0)
		return -EINVAL;
	r->action = (enum fw_action)v;
	for (char *t = strtok_r(NULL, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		char *val = strchr(t, '=');
		char unit[16];
		int ret = 0;

		if (!val)
			return -EINVAL;
		*val++ = '\0';
		if (!strcmp(t, "src"))
			ret = parse_addrs(val, &r->src_any, &r->src, &r->n_src);
		else if (!strcmp(t, "dst"))
			ret = parse_addrs(val, &r->dst_any, &r->dst, &r->n_dst);
		else if (!strcmp(t, "ports"))
			ret = parse_ports(val, r);
		else if (!strcmp(t, "rate") && sscanf(val, "%u/%15s", &r->rate, unit) == 2 &&
		         (v = word(unit, units, 3)) >= 0)
			r->rate_unit = (enum fw_rate_unit)v;
		else if (!strcmp(t, "log") && strlen(val) < sizeof(r->log_prefix))
			strcpy(r->log_prefix, val);
		else
			ret = -EINVAL;
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int load(const char *path, struct fw_config *cfg)
{
	char line[1 << 16];
	FILE *f = fopen(path, "re");
	int lineno = 0;
	int ret = 0;

	memset(cfg, 0, sizeof(*cfg));
	if (!f)
		return -errno;
	while (ret == 0 && fgets(line, sizeof(line), f)) {
		char *hash = strchr(line, '#');
		char arg[128];

		lineno++;
		if (hash)
			*hash = '\0';
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, " %127s", arg) != 1)
			continue;
		if (!strcmp(arg, "revision"))
			ret = sscanf(line, " revision %" SCNu64, &cfg->revision) == 1 ? 0 : -EINVAL;
		else if (!strcmp(arg, "wg_port"))
			ret = sscanf(line, " wg_port %hu", &cfg->wg_port) == 1 ? 0 : -EINVAL;
		else if (!strcmp(arg, "keep"))
			ret = sscanf(line, " keep %127s", arg) == 1 && cfg->n_keep < FW_MAX_KEEP &&
			              nf_endpoint_parse(arg, &cfg->keep[cfg->n_keep++])
			          ? 0
			          : -EINVAL;
		else if (!strcmp(arg, "default_deny"))
			cfg->default_deny = true;
		else if (!strcmp(arg, "keep_ssh"))
			cfg->keep_ssh = true;
		else if (!strcmp(arg, "rule"))
			ret = parse_rule(line, cfg);
		else
			ret = -EINVAL;
	}
	fclose(f);
	if (ret < 0)
		fprintf(stderr, "fw-agent-try: %s:%d: cannot parse\n", path, lineno);
	return ret;
}

static int print_counters(struct fw_agent *fa)
{
	struct fw_counter *c = NULL;
	size_t n = 0;
	int ret = fw_agent_counters(fa, &c, &n);

	for (size_t i = 0; ret == 0 && i < n; i++)
		printf("rule %" PRIu64 " packets %" PRIu64 " bytes %" PRIu64 "\n", c[i].rule_id,
		       c[i].packets, c[i].bytes);
	fflush(stdout);
	free(c);
	return ret;
}

static int apply_all(struct fw_agent *fa, int argc, char **argv, bool counters)
{
	for (int i = 0; i < argc; i++) {
		struct fw_config cfg;
		char err[512];
		uint64_t bad = 0;
		int ret;

		if (!strcmp(argv[i], "pause")) {
			char line[64];

			printf("paused\n");
			fflush(stdout);
			if (!fgets(line, sizeof(line), stdin))
				return 0;
			continue;
		}
		ret = load(argv[i], &cfg);
		if (ret < 0)
			return ret;
		ret = fw_agent_apply(fa, &cfg, err, sizeof(err), &bad);
		if (ret < 0)
			printf("%s: refused (rule %" PRIu64 "): %s\n", argv[i], bad, err);
		else
			printf("%s: applied\n", argv[i]);
		fflush(stdout);
		fw_config_free(&cfg);
		if (counters && print_counters(fa) < 0)
			return -EIO;
	}
	return 0;
}

/* Holds an owned table until stdin ends. */
static int hold(const char *table)
{
	struct nft_sock *s = NULL;
	struct nft_batch *b = NULL;
	struct nftnl_table *t = NULL;
	struct nft_error e;
	struct nlmsghdr *nlh;
	char line[64];
	int ret;

	ret = nft_sock_open(&s);
	if (ret == 0)
		ret = nft_batch_new(s, &b);
	t = nftnl_table_alloc();
	if (ret == 0 && !t)
		ret = -ENOMEM;
	if (ret < 0)
		goto cleanup;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, NFT_TABLE_F_OWNER);
	nlh = nft_batch_add(b, NFT_MSG_NEWTABLE, NFPROTO_INET, NLM_F_CREATE, 1);
	if (!nlh) {
		ret = -ENOMEM;
		goto cleanup;
	}
	nftnl_table_nlmsg_build_payload(nlh, t);
	ret = nft_batch_commit(b, NULL, NULL, &e);
	if (ret < 0)
		goto cleanup;
	printf("holding table inet %s\n", table);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		;
cleanup:
	nftnl_table_free(t);
	nft_batch_free(b);
	nft_sock_close(s); /* the kernel drops an owned table with its owner's socket */
	return ret;
}

int main(int argc, char **argv)
{
	const char *table = "netfn";
	struct fw_agent *fa = NULL;
	bool counters = false;
	int i = 1;
	int ret;

	nf_log_set_ident("fw-agent-try");
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v"))
			nf_log_set_level(NF_LOG_DEBUG);
		else if (!strcmp(argv[i], "-c"))
			counters = true;
		else if (!strcmp(argv[i], "-t") && i + 1 < argc)
			table = argv[++i];
		else
			return usage();
	}
	if (i >= argc)
		return usage();
	if (!strcmp(argv[i], "hold")) {
		ret = hold(table);
		if (ret < 0)
			fprintf(stderr, "fw-agent-try: %s\n", strerror(-ret));
		return ret < 0;
	}
	ret = fw_agent_open(table, &fa);
	if (ret < 0) {
		fprintf(stderr, "fw-agent-try: %s\n", strerror(-ret));
		return 1;
	}
	if (!strcmp(argv[i], "apply"))
		ret = apply_all(fa, argc - i - 1, argv + i + 1, counters);
	else if (!strcmp(argv[i], "counters"))
		ret = print_counters(fa);
	else if (!strcmp(argv[i], "teardown"))
		ret = fw_agent_teardown(fa);
	else
		ret = -EINVAL;
	fw_agent_close(fa);
	if (ret < 0)
		fprintf(stderr, "fw-agent-try: %s\n", strerror(-ret));
	return ret < 0;
}
