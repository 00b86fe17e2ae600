// SPDX-License-Identifier: Apache-2.0
/*
 * The dns row of the compiler (compile_int.h): every node gets a dns
 * section with the network's zone and where its servers are, and the
 * zone's records (every node's and live client's own name, then the stored
 * records) only on the nodes the scheduler placed a server on, so a record
 * change wakes only those.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/compile_int.h"
#include "netfns/common/log.h"
#include "proto/conv_dns.h"

int compile_dns_zone(const struct st_network *net, char *out, size_t len)
{
	const char *domain = net->domain[0] ? net->domain : DNS_DEFAULT_ZONE;
	int n = snprintf(out, len, "%s.%s", net->name, domain);

	return n < 0 || (size_t)n >= len || n > DNS_NAME_MAX - 1 ? -ENAMETOOLONG : 0;
}

/*
 * The network's zone, where its servers are and, for the serving nodes,
 * every record fully qualified and sorted, built once; a node's section
 * takes what it needs of it.
 */
struct dns_priv {
	const struct netctx *nc;
	char zone[DNS_NAME_MAX];
	size_t n_servers;
	int64_t server_nodes[DNS_MAX_SERVERS]; /* in slot order */
	struct in_addr servers[DNS_MAX_SERVERS];
	size_t n_records, cap_records;
	struct dns_record *records;
};

static void dns_close(void *priv)
{
	struct dns_priv *dp = priv;

	if (!dp)
		return;
	free(dp->records);
	free(dp);
}

static const struct st_node *dns_node(const struct netctx *nc, int64_t id)
{
	for (size_t lo = 0, hi = nc->nodes.n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (nc->nodes.v[mid].id == id)
			return &nc->nodes.v[mid];
		if (nc->nodes.v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Appends a record; name is relative to the zone ("@" the zone itself). */
static int dns_add(struct dns_priv *dp, const char *name, enum dns_type type, const char *value,
                   uint32_t ttl)
{
	struct dns_record *r;
	int n;

	if (dp->n_records == dp->cap_records) {
		size_t cap = dp->cap_records ? dp->cap_records * 2 : 16;
		struct dns_record *v = realloc(dp->records, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		dp->records = v;
		dp->cap_records = cap;
	}
	r = &dp->records[dp->n_records];
	memset(r, 0, sizeof(*r));
	if (strcmp(name, "@") == 0)
		n = snprintf(r->name, sizeof(r->name), "%s", dp->zone);
	else
		n = snprintf(r->name, sizeof(r->name), "%s.%s", name, dp->zone);
	if (n < 0 || (size_t)n >= sizeof(r->name))
		return -ENAMETOOLONG;
	r->type = type;
	snprintf(r->value, sizeof(r->value), "%s", value);
	r->ttl = ttl ? ttl : DNS_TTL_DEFAULT;
	dp->n_records++;
	return 0;
}

static int dns_add_addr(struct dns_priv *dp, const char *name, uint32_t addr)
{
	char a[INET_ADDRSTRLEN];
	struct in_addr in = {.s_addr = addr};

	inet_ntop(AF_INET, &in, a, sizeof(a));
	return dns_add(dp, name, DNS_A, a, DNS_TTL_DEFAULT);
}

static int dns_collect_server(void *ctx, const struct st_placement *p)
{
	struct dns_priv *dp = ctx;
	const struct st_node *n = dns_node(dp->nc, p->node_id);

	/* A server whose node is gone is the scheduler's to move. */
	if (!n || dp->n_servers == DNS_MAX_SERVERS)
		return 0;
	dp->server_nodes[dp->n_servers] = n->id;
	dp->servers[dp->n_servers++].s_addr = n->overlay_addr;
	return 0;
}

static int dns_collect_record(void *ctx, const struct st_dns_record *sr)
{
	struct dns_priv *dp = ctx;
	enum dns_type type;
	int ret;

	/* Only what validated is ever stored; anything else is damage to the file. */
	if (dns_type_parse(sr->type, &type)) {
		nf_err("network %s: stored dns record %" PRId64 " has type '%s'", dp->nc->net.name,
		       sr->id, sr->type);
		return -EIO;
	}
	/*
	 * A name that is an alias can have no other data, and a node's own name
	 * wins: a node that joined (or was renamed) under the name of a custom
	 * CNAME leaves the CNAME out until one of them goes.
	 */
	if (type == DNS_CNAME) {
		for (size_t i = 0; i < dp->nc->nodes.n; i++)
			if (strcmp(dp->nc->nodes.v[i].name, sr->name) == 0) {
				nf_warn("network %s: dns record %" PRId64 " (%s CNAME) left out: "
				        "node %s has that name",
				        dp->nc->net.name, sr->id, sr->name, sr->name);
				return 0;
			}
		for (size_t i = 0; i < dp->nc->n_clients; i++)
			if (strcmp(dp->nc->clients[i].name, sr->name) == 0) {
				nf_warn("network %s: dns record %" PRId64 " (%s CNAME) left out: "
				        "client %s has that name",
				        dp->nc->net.name, sr->id, sr->name, sr->name);
				return 0;
			}
	}
	ret = dns_add(dp, sr->name, type, sr->value, sr->ttl);
	if (ret == -ENAMETOOLONG) {
		nf_err("network %s: stored dns record %" PRId64 " '%s' is too long in zone %s",
		       dp->nc->net.name, sr->id, sr->name, dp->zone);
		ret = -EIO;
	}
	return ret;
}

/* The order of dns.h: name, type, value. */
static int dns_record_cmp(const void *a, const void *b)
{
	const struct dns_record *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return strcmp(x->value, y->value);
}

static int dns_open(struct store *s, const struct netctx *nc, void **priv)
{
	struct dns_priv *dp = calloc(1, sizeof(*dp));
	size_t k = 0;
	int ret;

	if (!dp)
		return -ENOMEM;
	dp->nc = nc;
	ret = compile_dns_zone(&nc->net, dp->zone, sizeof(dp->zone));
	if (ret) {
		nf_err("network %s: its zone (domain '%s') is too long", nc->net.name,
		       nc->net.domain);
		ret = -EIO;
		goto cleanup;
	}
	ret = s->ops->placement_list(s, "dns", nc->net.id, dns_collect_server, dp);
	/* Every node's own name, and every client's whose key has not expired. */
	for (size_t i = 0; i < nc->nodes.n && !ret; i++)
		ret = dns_add_addr(dp, nc->nodes.v[i].name, nc->nodes.v[i].overlay_addr);
	for (size_t i = 0; i < nc->n_clients && !ret; i++)
		ret = dns_add_addr(dp, nc->clients[i].name, nc->clients[i].overlay_addr);
	if (!ret)
		ret = s->ops->dns_record_list(s, nc->net.id, dns_collect_record, dp);
	if (ret)
		goto cleanup;
	if (dp->n_records) /* no nodes yet: records is still NULL, which qsort may not take */
		qsort(dp->records, dp->n_records, sizeof(*dp->records), dns_record_cmp);
	/* A record given twice (a custom A equal to a node's own) is served once. */
	for (size_t i = 0; i < dp->n_records; i++)
		if (!k || dns_record_cmp(&dp->records[k - 1], &dp->records[i]) != 0)
			dp->records[k++] = dp->records[i];
	dp->n_records = k;
	if (dp->n_records > DNS_MAX_RECORDS) {
		nf_warn("network %s: %zu dns records, only the first %d are served", nc->net.name,
		        dp->n_records, DNS_MAX_RECORDS);
		dp->n_records = DNS_MAX_RECORDS;
	}
	*priv = dp;
	dp = NULL;
cleanup:
	dns_close(dp);
	return ret;
}

/* node_id's section: where to resolve the zone and, on a serving node, what to serve. */
static int dns_build(void *priv, int64_t node_id, uint64_t revision, ProtobufCMessage **out)
{
	const struct dns_priv *dp = priv;
	const struct st_node *node = dns_node(dp->nc, node_id);
	struct dns_config cfg = {.revision = revision};
	Netfn__DnsSection *pb = NULL;
	int ret;

	*out = NULL;
	if (!node)
		return -ENOENT;
	snprintf(cfg.zone, sizeof(cfg.zone), "%s", dp->zone);
	cfg.n_servers = dp->n_servers;
	memcpy(cfg.servers, dp->servers, sizeof(cfg.servers));
	for (size_t i = 0; i < dp->n_servers; i++)
		cfg.serve |= dp->server_nodes[i] == node_id;
	/* The records only where they are served: the other sections stay
	 * small and do not change with every record. */
	if (cfg.serve) {
		cfg.listen.s_addr = node->overlay_addr;
		cfg.n_records = dp->n_records;
		cfg.records = dp->records; /* borrowed: not freed below */
	}
	ret = conv_dns_to_pb(&cfg, &pb);
	*out = ret ? NULL : &pb->base;
	return ret;
}

static void dns_attach(Netfn__NodeConfig *cfg, ProtobufCMessage *pb)
{
	cfg->dns = (Netfn__DnsSection *)pb;
}

static void dns_pb_free(ProtobufCMessage *pb)
{
	conv_dns_pb_free((Netfn__DnsSection *)pb);
}

const struct compile_fn compile_fn_dns = {
    .name = "dns",
    .open = dns_open,
    .build = dns_build,
    .attach = dns_attach,
    .pb_free = dns_pb_free,
    .close = dns_close,
};
