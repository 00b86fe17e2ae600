// SPDX-License-Identifier: Apache-2.0
/*
 * dns-agent-try: a manual driver for the overlay DNS function's agent half,
 * for trying it by hand or from a script in a network namespace (needs
 * root). It stays up, with its thread running, and reads commands from
 * stdin, one per line, so a script can make lookups in between:
 *
 *   apply FILE    validate FILE (through conv_dns_from_pb, as the agent does) and apply it
 *   teardown      stop dnsmasq, delete the table, remove the resolver settings
 *   quit          (or end of input) close, leaving everything as it is
 *
 *   dns-agent-try [-v] [-t TABLE] [-w IFNAME] [-d DIR] [-r RESOLV_CONF] [-R] [-D DRAIN_MS]
 *
 * -d is where dnsmasq's files go (needed to serve), -r the resolv.conf to
 * manage (default /etc/resolv.conf, which `ip netns` bind-mounts per
 * namespace), -R never uses systemd-resolved. A config file has one item per
 * line ('#' starts a comment):
 *
 *   revision N
 *   zone ZONE
 *   server ADDR               (repeated: the servers this node's resolver uses)
 *   serve LISTEN              (this node serves the zone on LISTEN)
 *   record NAME TYPE TTL VALUE...    (VALUE: the rest of the line)
 */
#include "netfns/dns/dns_agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netfns/common/log.h"
#include "proto/conv_dns.h"

#define MAX_REC  2048
#define MAX_SERV 8
#define TEXT_MAX 600

/* A section read from a file, with storage for what its fields point to. */
struct file_cfg {
	Netfn__DnsSection pb;
	char zone[TEXT_MAX], listen[64];
	char servers[MAX_SERV][64];
	char *server_ptrs[MAX_SERV];
	Netfn__DnsEntry rec[MAX_REC];
	Netfn__DnsEntry *rec_ptrs[MAX_REC];
	char text[MAX_REC][3][TEXT_MAX];
};

static char *word(char **p)
{
	char *s = *p, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s || *s == '\n')
		return NULL;
	w = s;
	while (*s && *s != ' ' && *s != '\t' && *s != '\n')
		s++;
	if (*s)
		*s++ = '\0';
	*p = s;
	return w;
}

static int read_cfg(const char *path, struct file_cfg *c)
{
	char line[1024];
	FILE *f = fopen(path, "r");
	int lineno = 0;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -errno;
	}
	memset(c, 0, sizeof(*c));
	netfn__dns_section__init(&c->pb);
	c->pb.zone = c->zone;
	c->pb.listen = c->listen;
	c->pb.servers = c->server_ptrs;
	c->pb.records = c->rec_ptrs;
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *w, *hash = strchr(line, '#');

		lineno++;
		/* A TXT value may hold '#': only a line that starts with it is a comment. */
		if (hash && hash == line + strspn(line, " \t"))
			*hash = '\0';
		w = word(&p);
		if (!w)
			continue;
		if (!strcmp(w, "revision") && (w = word(&p))) {
			c->pb.revision = strtoull(w, NULL, 10);
		} else if (!strcmp(w, "zone") && (w = word(&p))) {
			snprintf(c->zone, sizeof(c->zone), "%s", w);
		} else if (!strcmp(w, "server") && (w = word(&p)) && c->pb.n_servers < MAX_SERV) {
			snprintf(c->servers[c->pb.n_servers], 64, "%s", w);
			c->server_ptrs[c->pb.n_servers] = c->servers[c->pb.n_servers];
			c->pb.n_servers++;
		} else if (!strcmp(w, "serve") && (w = word(&p))) {
			c->pb.serve = true;
			snprintf(c->listen, sizeof(c->listen), "%s", w);
		} else if (!strcmp(w, "record") && c->pb.n_records < MAX_REC) {
			size_t i = c->pb.n_records;
			Netfn__DnsEntry *e = &c->rec[i];
			char *name = word(&p), *type = word(&p), *ttl = word(&p);
			size_t len;

			if (!name || !type || !ttl)
				goto bad;
			while (*p == ' ' || *p == '\t')
				p++;
			len = strcspn(p, "\n");
			netfn__dns_entry__init(e);
			snprintf(c->text[i][0], TEXT_MAX, "%s", name);
			snprintf(c->text[i][1], TEXT_MAX, "%s", type);
			snprintf(c->text[i][2], TEXT_MAX, "%.*s", (int)len, p);
			e->name = c->text[i][0];
			e->type = c->text[i][1];
			e->value = c->text[i][2];
			e->ttl = (uint32_t)strtoul(ttl, NULL, 10);
			c->rec_ptrs[i] = e;
			c->pb.n_records++;
		} else {
			goto bad;
		}
	}
	fclose(f);
	return 0;
bad:
	fprintf(stderr, "%s:%d: cannot read this line\n", path, lineno);
	fclose(f);
	return -EINVAL;
}

static int apply(struct dns_agent *da, const char *path)
{
	static struct file_cfg c;
	struct dns_config cfg = {0};
	char err[256];
	int ret;

	ret = read_cfg(path, &c);
	if (ret < 0)
		return ret;
	ret = conv_dns_from_pb(&c.pb, &cfg, err, sizeof(err));
	if (ret == 0)
		ret = dns_agent_apply(da, &cfg, err, sizeof(err));
	if (ret < 0)
		printf("apply %s: failed: %s\n", path, err);
	else
		printf("apply %s: ok\n", path);
	dns_config_free(&cfg);
	return ret;
}

int main(int argc, char **argv)
{
	struct dns_agent_opts o = {.table = "netfn_dns"};
	struct dns_agent *da = NULL;
	char line[1024];
	int ret, status = 0;

	nf_log_set_ident("dns-agent-try");
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v")) {
			nf_log_set_level(NF_LOG_DEBUG);
		} else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
			o.table = argv[++i];
		} else if (!strcmp(argv[i], "-w") && i + 1 < argc) {
			o.wg_ifname = argv[++i];
		} else if (!strcmp(argv[i], "-d") && i + 1 < argc) {
			o.dir = argv[++i];
		} else if (!strcmp(argv[i], "-r") && i + 1 < argc) {
			o.resolv_conf = argv[++i];
		} else if (!strcmp(argv[i], "-R")) {
			o.no_resolved = true;
		} else if (!strcmp(argv[i], "-D") && i + 1 < argc) {
			o.drain_ms = atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: dns-agent-try [-v] [-t TABLE] [-w IFNAME] [-d DIR] "
			                "[-r RESOLV_CONF] [-R] [-D DRAIN_MS] < commands\n");
			return 2;
		}
	}
	ret = dns_agent_open(&o, &da);
	if (ret < 0) {
		fprintf(stderr, "dns-agent-try: cannot open: %s\n", strerror(-ret));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		char *cmd = strtok(line, " \t\n"), *arg = strtok(NULL, " \t\n");

		if (!cmd)
			continue;
		if (!strcmp(cmd, "apply") && arg) {
			ret = apply(da, arg);
		} else if (!strcmp(cmd, "teardown")) {
			ret = dns_agent_teardown(da);
			printf("teardown: %s\n", ret < 0 ? strerror(-ret) : "ok");
		} else if (!strcmp(cmd, "quit")) {
			break;
		} else {
			ret = -EINVAL;
			printf("unknown command %s\n", cmd);
		}
		if (ret < 0)
			status = 1;
	}
	dns_agent_close(da);
	return status;
}
