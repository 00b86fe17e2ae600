// SPDX-License-Identifier: Apache-2.0
/*
 * Compiler driver. Network functions are rows of a table (vpn, firewall):
 * each loads what it needs of a network once, then builds any node's
 * section as its protobuf message. For each node of a changed network the
 * driver builds every function's section at revision 0, hashes the packed
 * message, and bumps that (node, function) desired revision only when the
 * hash differs from the stored one: a change that does not alter a node's
 * section does not wake that node, and a revision never moves for nothing.
 * Runs inside the caller's transaction so revisions and the change that
 * caused them commit together.
 *
 * Every node gets a firewall section, empty when no policy selects it: that
 * empty section is what tells an agent to clear its table when its node
 * stops being selected. Likewise every node gets an lb section, empty when
 * it hosts no load balancer frontend, and a dns section: the zone and where
 * its servers are, with the zone's records only on the nodes the scheduler
 * placed a server on, so a record change wakes only those.
 * Every node also gets a qos section with all of the network's traffic
 * classes (each node shapes its own overlay egress), empty when there are
 * none, which removes the node's shaping.
 *
 * External clients get no section (they run no agent): their gateway node
 * peers with them, every other node routes their addresses to it, and
 * firewall selectors resolve to their addresses like to nodes'. A client
 * whose key expired is left out of every section.
 *
 * Where frontends run is the scheduler's (sched.h): compile_network places
 * first, so a change that moves a replica (a node enrolled, deleted or
 * relabelled, a load balancer created or deleted) is compiled with it.
 */
#include "controller/compile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "controller/sched.h"
#include "netfns/common/log.h"
#include "netfns/firewall/fw_compile.h"
#include "proto/conv_dns.h"
#include "proto/conv_fw.h"
#include "proto/conv_lb.h"
#include "proto/conv_qos.h"
#include "proto/conv_vpn.h"
#include "proto/rpc.h"

struct nodevec {
	size_t n, cap;
	struct st_node *v;
};

/* A network, its nodes and its placed load balancers, loaded once for every function. */
struct netctx {
	struct st_network net;
	struct nodevec nodes; /* by id */
	size_t n_lbs, cap_lbs;
	struct st_lb *lbs; /* by id */
	size_t n_pl, cap_pl;
	struct st_placement *pl; /* of those load balancers, by lb id then slot */
	size_t n_clients, cap_clients;
	struct st_client *clients; /* external clients whose key has not expired, by id */
	size_t n_gw, cap_gw;
	struct st_placement *gw; /* those clients' gateways, by client id */
	int64_t now;             /* what "expired" is measured against */
};

/* One network function's controller half, as the driver calls it. */
struct compile_fn {
	const char *name; /* the sections table's function */
	/* Loads what the function needs of the network. */
	int (*open)(struct store *s, const struct netctx *nc, void **priv);
	/* Builds node_id's section at revision, malloc'd. */
	int (*build)(void *priv, int64_t node_id, uint64_t revision, ProtobufCMessage **out);
	/* Hands a built section to cfg, which owns it from then on. */
	void (*attach)(Netfn__NodeConfig *cfg, ProtobufCMessage *pb);
	void (*pb_free)(ProtobufCMessage *pb);
	void (*close)(void *priv);
};

static int collect_node(void *ctx, const struct st_node *n)
{
	struct nodevec *nv = ctx;

	if (nv->n == nv->cap) {
		size_t cap = nv->cap ? nv->cap * 2 : 16;
		struct st_node *v = realloc(nv->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		nv->v = v;
		nv->cap = cap;
	}
	nv->v[nv->n++] = *n;
	return 0;
}

static int collect_lb(void *ctx, const struct st_lb *lb)
{
	struct netctx *nc = ctx;

	if (nc->n_lbs == nc->cap_lbs) {
		size_t cap = nc->cap_lbs ? nc->cap_lbs * 2 : 8;
		struct st_lb *v = realloc(nc->lbs, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		nc->lbs = v;
		nc->cap_lbs = cap;
	}
	nc->lbs[nc->n_lbs++] = *lb;
	return 0;
}

static const struct st_lb *find_lb(const struct netctx *nc, int64_t id)
{
	for (size_t lo = 0, hi = nc->n_lbs; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (nc->lbs[mid].id == id)
			return &nc->lbs[mid];
		if (nc->lbs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Keeps the placements of this network's load balancers. */
static int collect_placement(void *ctx, const struct st_placement *p)
{
	struct netctx *nc = ctx;

	if (!find_lb(nc, p->object_id))
		return 0;
	if (nc->n_pl == nc->cap_pl) {
		size_t cap = nc->cap_pl ? nc->cap_pl * 2 : 8;
		struct st_placement *v = realloc(nc->pl, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		nc->pl = v;
		nc->cap_pl = cap;
	}
	nc->pl[nc->n_pl++] = *p;
	return 0;
}

/* ---- external clients ---- */

static int collect_client(void *ctx, const struct st_client *c)
{
	struct netctx *nc = ctx;

	/* An expired key is out of every section: the gateway drops its peer. */
	if (c->expires && c->expires <= nc->now)
		return 0;
	if (nc->n_clients == nc->cap_clients) {
		size_t cap = nc->cap_clients ? nc->cap_clients * 2 : 8;
		struct st_client *v = realloc(nc->clients, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		nc->clients = v;
		nc->cap_clients = cap;
	}
	nc->clients[nc->n_clients++] = *c;
	return 0;
}

static const struct st_client *find_client(const struct netctx *nc, int64_t id)
{
	for (size_t lo = 0, hi = nc->n_clients; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (nc->clients[mid].id == id)
			return &nc->clients[mid];
		if (nc->clients[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Keeps the gateways of this network's live clients (one slot each). */
static int collect_gateway(void *ctx, const struct st_placement *p)
{
	struct netctx *nc = ctx;

	if (p->slot != 0 || !find_client(nc, p->object_id))
		return 0;
	if (nc->n_gw == nc->cap_gw) {
		size_t cap = nc->cap_gw ? nc->cap_gw * 2 : 8;
		struct st_placement *v = realloc(nc->gw, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		nc->gw = v;
		nc->cap_gw = cap;
	}
	nc->gw[nc->n_gw++] = *p;
	return 0;
}

/* The network's clients whose key has not expired, and where their gateways are. */
static int clients_load(struct store *s, struct netctx *nc)
{
	int ret;

	nc->now = ctl_now();
	ret = s->ops->client_list(s, nc->net.id, collect_client, nc);
	if (!ret && nc->n_clients)
		ret = s->ops->placement_list(s, "gateway", 0, collect_gateway, nc);
	return ret;
}

static void netctx_free(struct netctx *nc)
{
	free(nc->nodes.v);
	free(nc->lbs);
	free(nc->pl);
	free(nc->clients);
	free(nc->gw);
	memset(nc, 0, sizeof(*nc));
}

static int netctx_load(struct store *s, int64_t network_id, struct netctx *nc)
{
	int ret;

	memset(nc, 0, sizeof(*nc));
	ret = s->ops->network_get_id(s, network_id, &nc->net);
	if (!ret)
		ret = s->ops->node_list(s, network_id, collect_node, &nc->nodes);
	if (!ret)
		ret = s->ops->lb_list(s, network_id, collect_lb, nc);
	if (!ret && nc->n_lbs)
		ret = s->ops->placement_list(s, "lb", 0, collect_placement, nc);
	if (!ret)
		ret = clients_load(s, nc);
	return ret;
}

/* ---- vpn ---- */

struct vpn_priv {
	struct vpn_network net;
	size_t n;
	struct vpn_member *members;
	struct nf_prefix *extra; /* the members' vips, grouped by member */
	size_t n_hosts;
	int64_t *hosts; /* nodes hosting any lb frontend, sorted */
};

static void vpn_close(void *priv)
{
	struct vpn_priv *vp = priv;

	if (!vp)
		return;
	free(vp->members);
	free(vp->extra);
	free(vp->hosts);
	free(vp);
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* A load balancer's vip, or a client's address, and the node it is routed to. */
struct vip_host {
	int64_t node_id;
	int64_t lb_id;
	uint32_t vip;
	int64_t client_id; /* a client's address (its gateway is node_id); 0 for a vip */
};

static int cmp_vip_host(const void *a, const void *b)
{
	const struct vip_host *x = a, *y = b;

	if (x->node_id != y->node_id)
		return x->node_id < y->node_id ? -1 : 1;
	if (x->client_id != y->client_id)
		return x->client_id < y->client_id ? -1 : 1;
	return (x->lb_id > y->lb_id) - (x->lb_id < y->lb_id);
}

/*
 * Gives each member the vips it hosts as extra /32s, so every peer routes
 * them to it. WireGuard routes a prefix to one peer only: a vip goes to the
 * host of its load balancer's lowest slot (a vip has one replica anyway).
 */
static int vpn_vips(const struct netctx *nc, struct vpn_priv *vp)
{
	struct vip_host *v = calloc(nc->n_pl + nc->n_gw + 1, sizeof(*v));
	size_t n = 0, k = 0;

	vp->hosts = calloc(nc->n_pl ? nc->n_pl : 1, sizeof(*vp->hosts));
	if (!v || !vp->hosts) {
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nc->n_pl; i++) {
		const struct st_placement *p = &nc->pl[i];
		const struct st_lb *lb = find_lb(nc, p->object_id);

		vp->hosts[vp->n_hosts++] = p->node_id;

		if (lb->vip && (i == 0 || nc->pl[i - 1].object_id != p->object_id))
			v[n++] = (struct vip_host){p->node_id, lb->id, lb->vip, 0};
	}
	/* A client's address goes to its gateway, like a vip to its host. */
	for (size_t i = 0; i < nc->n_gw; i++) {
		const struct st_client *c = find_client(nc, nc->gw[i].object_id);

		v[n++] = (struct vip_host){nc->gw[i].node_id, 0, c->overlay_addr, c->id};
	}
	qsort(v, n, sizeof(*v), cmp_vip_host);
	qsort(vp->hosts, vp->n_hosts, sizeof(*vp->hosts), cmp_id);
	vp->extra = calloc(n ? n : 1, sizeof(*vp->extra));
	if (!vp->extra) {
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		vp->extra[i].family = AF_INET;
		vp->extra[i].addr.v4.s_addr = v[i].vip;
		vp->extra[i].len = 32;
	}
	/* Node members are in node id order, like v; clients come after them. */
	for (size_t i = 0; i < vp->n; i++) {
		struct vpn_member *m = &vp->members[i];

		if (m->gateway_id)
			continue;

		while (k < n && v[k].node_id < m->id)
			k++;
		m->extra = &vp->extra[k];
		for (; k < n && v[k].node_id == m->id; k++)
			m->n_extra++;
	}
	free(v);
	return 0;
}

/*
 * Appends the clients that have a gateway to vp's members, ids negated so
 * they never meet a node's; one without a gateway has nobody to peer with.
 */
static void vpn_clients(const struct netctx *nc, struct vpn_priv *vp)
{
	for (size_t i = 0; i < nc->n_gw; i++) {
		const struct st_client *c = find_client(nc, nc->gw[i].object_id);
		struct vpn_member *m = &vp->members[vp->n++];

		m->id = -c->id;
		m->gateway_id = nc->gw[i].node_id;
		snprintf(m->name, sizeof(m->name), "%s", c->name);
		memcpy(m->public_key, c->wg_pk, VPN_KEY_LEN);
		m->address.s_addr = c->overlay_addr;
	}
}

/* The network and its members as the vpn compiler sees them. */
static int vpn_open(struct store *s, const struct netctx *nc, void **priv)
{
	const struct st_network *sn = &nc->net;
	struct vpn_priv *vp = calloc(1, sizeof(*vp));
	int ret;

	(void)s;
	if (!vp)
		return -ENOMEM;
	if (!nf_prefix_parse(sn->cidr, false, &vp->net.cidr)) {
		nf_err("network %s: stored cidr '%s' does not parse", sn->name, sn->cidr);
		vpn_close(vp);
		return -EIO;
	}
	vp->net.port = sn->port;
	vp->net.mtu = sn->mtu;
	vp->net.topology = strcmp(sn->topology, "hub") == 0 ? VPN_HUB : VPN_MESH;
	vp->members = calloc(nc->nodes.n + nc->n_gw + 1, sizeof(*vp->members));
	if (!vp->members) {
		vpn_close(vp);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nc->nodes.n; i++) {
		const struct st_node *n = &nc->nodes.v[i];
		struct vpn_member *m = &vp->members[i];

		m->id = n->id;
		snprintf(m->name, sizeof(m->name), "%s", n->name);
		memcpy(m->public_key, n->wg_pk, VPN_KEY_LEN);
		m->address.s_addr = n->overlay_addr;
		m->n_endpoints =
		    n->n_endpoints < VPN_MAX_ENDPOINTS ? n->n_endpoints : VPN_MAX_ENDPOINTS;
		for (size_t k = 0; k < m->n_endpoints; k++)
			snprintf(m->endpoints[k], sizeof(m->endpoints[k]), "%s", n->endpoints[k]);
		/* The hub is named, not numbered: it may have joined after the network. */
		if (vp->net.topology == VPN_HUB && strcmp(n->name, sn->hub_name) == 0)
			vp->net.hub_node_id = n->id;
	}
	vp->n = nc->nodes.n;
	vpn_clients(nc, vp);
	ret = vpn_vips(nc, vp);
	if (ret) {
		vpn_close(vp);
		return ret;
	}
	*priv = vp;
	return 0;
}

static int vpn_config(void *priv, int64_t node_id, uint64_t revision, struct vpn_config *out)
{
	struct vpn_priv *vp = priv;
	int ret = vpn_compile(&vp->net, vp->members, vp->n, node_id, out);

	if (ret)
		return ret;
	out->revision = revision;
	/*
	 * A node hosting a frontend forwards between the overlay peers (client
	 * in, backend out). The section says so, else the vpn function turns
	 * forwarding off at each revision under the lb function's feet.
	 */
	if (bsearch(&node_id, vp->hosts, vp->n_hosts, sizeof(node_id), cmp_id))
		out->forward = true;
	return 0;
}

static int vpn_build(void *priv, int64_t node_id, uint64_t revision, ProtobufCMessage **out)
{
	struct vpn_config cfg;
	Netfn__VpnSection *pb = NULL;
	int ret = vpn_config(priv, node_id, revision, &cfg);

	if (ret)
		return ret;
	ret = conv_vpn_to_pb(&cfg, &pb);
	vpn_config_free(&cfg);
	*out = ret ? NULL : &pb->base;
	return ret;
}

static void vpn_attach(Netfn__NodeConfig *cfg, ProtobufCMessage *pb)
{
	cfg->vpn = (Netfn__VpnSection *)pb;
}

static void vpn_pb_free(ProtobufCMessage *pb)
{
	conv_vpn_pb_free((Netfn__VpnSection *)pb);
}

/* ---- firewall ---- */

/* A network's policies with their parsed rules, as fw_compile_prepare takes them. */
struct fw_load {
	struct store *s;
	const struct st_network *net;
	size_t n, cap;
	struct fw_policy_spec *v;
	struct fw_rule_spec *rules; /* of the policy being read */
	size_t n_rules, cap_rules;
	int64_t policy_id;
};

static int load_rule(void *ctx, const struct st_fw_rule *r)
{
	struct fw_load *l = ctx;
	struct fw_policy_spec *p = &l->v[l->n - 1];
	struct fw_rule_text t = {.id = (uint64_t)r->id,
	                         .direction = r->direction,
	                         .protocol = r->protocol,
	                         .src = r->src,
	                         .dst = r->dst,
	                         .dst_port = r->dst_port,
	                         .action = r->action,
	                         .rate = r->rate,
	                         .log_prefix = r->log_prefix};
	struct fw_rule_spec *rules = (struct fw_rule_spec *)p->rules;
	struct fw_error err;

	if (p->n_rules == l->cap_rules) {
		size_t cap = l->cap_rules ? l->cap_rules * 2 : 8;

		rules = realloc(rules, cap * sizeof(*rules));
		if (!rules)
			return -ENOMEM;
		p->rules = rules;
		l->cap_rules = cap;
	}
	/* Only what parsed is ever stored; anything else is damage to the file. */
	if (fw_rule_parse(&t, &rules[p->n_rules], &err)) {
		nf_err("network %s: policy %s: stored rule %" PRId64
		       " does not parse: %s '%.64s' %s",
		       l->net->name, p->name, r->id, err.field, err.value, err.reason);
		return -EIO;
	}
	p->n_rules++;
	return 0;
}

static int load_policy(void *ctx, const struct st_fw_policy *sp)
{
	struct fw_load *l = ctx;
	struct fw_policy_spec *p;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct fw_policy_spec *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	p = &l->v[l->n++];
	memset(p, 0, sizeof(*p));
	p->id = sp->id;
	snprintf(p->name, sizeof(p->name), "%s", sp->name);
	p->n_selector = sp->n_selector < FW_MAX_LABELS ? sp->n_selector : FW_MAX_LABELS;
	for (size_t i = 0; i < p->n_selector; i++) {
		snprintf(p->selector[i].key, FW_NAME_MAX, "%s", sp->selector[i].key);
		snprintf(p->selector[i].value, FW_NAME_MAX, "%s", sp->selector[i].value);
	}
	p->default_deny = sp->default_deny;
	p->block_ssh = sp->block_ssh;
	l->cap_rules = 0;
	return l->s->ops->fw_rule_list(l->s, sp->id, load_rule, l);
}

/*
 * The clients as firewall members (out has room for them all), so a
 * selector in a rule resolves to the clients carrying its labels as well as
 * the nodes. Ids negated: never a node's, and never compiled for.
 */
static void fw_clients(const struct netctx *nc, struct fw_member *out)
{
	for (size_t i = 0; i < nc->n_clients; i++) {
		const struct st_client *c = &nc->clients[i];
		struct fw_member *m = &out[i];

		m->id = -c->id;
		m->address.s_addr = c->overlay_addr;
		m->n_labels = c->n_labels < FW_MAX_LABELS ? c->n_labels : FW_MAX_LABELS;
		for (size_t k = 0; k < m->n_labels; k++) {
			snprintf(m->labels[k].key, FW_NAME_MAX, "%s", c->labels[k].key);
			snprintf(m->labels[k].value, FW_NAME_MAX, "%s", c->labels[k].value);
		}
	}
}

/*
 * The firewall's compiler, plus what the controller itself keeps open on a
 * node under default deny: the overlay DNS server's ports on the nodes that
 * serve it (a managed service must not die of a policy that never named it).
 */
struct fw_priv {
	struct fw_compiler *fc;
	struct nf_prefix cidr;
	size_t n_dns;
	int64_t dns_nodes[DNS_MAX_SERVERS];
};

/*
 * Rule ids of the rules the controller adds: far above any stored rule's
 * (SQLite rowids), never reported as a policy's.
 */
#define FW_KEEP_DNS_UDP (UINT64_C(1) << 62)
#define FW_KEEP_DNS_TCP (FW_KEEP_DNS_UDP + 1)

static int collect_dns_node(void *ctx, const struct st_placement *p)
{
	struct fw_priv *fp = ctx;

	if (fp->n_dns < DNS_MAX_SERVERS)
		fp->dns_nodes[fp->n_dns++] = p->node_id;
	return 0;
}

static void fw_close(void *priv)
{
	struct fw_priv *fp = priv;

	if (!fp)
		return;
	fw_compile_free(fp->fc);
	free(fp);
}

static int fw_open_rules(struct store *s, const struct netctx *nc, struct fw_compiler **out);

static int fw_open(struct store *s, const struct netctx *nc, void **priv)
{
	struct fw_priv *fp = calloc(1, sizeof(*fp));
	int ret;

	if (!fp)
		return -ENOMEM;
	if (!nf_prefix_parse(nc->net.cidr, false, &fp->cidr)) {
		nf_err("network %s: stored cidr '%s' does not parse", nc->net.name, nc->net.cidr);
		free(fp);
		return -EIO;
	}
	ret = s->ops->placement_list(s, "dns", nc->net.id, collect_dns_node, fp);
	if (!ret)
		ret = fw_open_rules(s, nc, &fp->fc);
	if (ret) {
		fw_close(fp);
		return ret;
	}
	*priv = fp;
	return 0;
}

/* One accept rule for the DNS server's ports from the overlay, first in the list. */
static int fw_keep_dns(const struct fw_priv *fp, struct fw_config *cfg)
{
	struct fw_rule *rules = calloc(cfg->n_rules + 2, sizeof(*rules));

	if (!rules)
		return -ENOMEM;
	for (int i = 0; i < 2; i++) {
		struct fw_rule *r = &rules[i];

		r->id = i ? FW_KEEP_DNS_TCP : FW_KEEP_DNS_UDP;
		r->dir = FW_IN;
		r->proto = i ? FW_TCP : FW_UDP;
		r->src = calloc(1, sizeof(*r->src));
		r->ports = calloc(2, sizeof(*r->ports));
		if (!r->src || !r->ports) {
			for (int k = 0; k <= i; k++) {
				free(rules[k].src);
				free(rules[k].ports);
			}
			free(rules);
			return -ENOMEM;
		}
		r->src[0] = fp->cidr;
		r->n_src = 1;
		r->dst_any = true;
		r->ports[0] = (struct fw_port_range){DNS_PORT, DNS_PORT};
		r->ports[1] = (struct fw_port_range){DNS_SLOT_PORT, DNS_SLOT_PORT + DNS_SLOTS - 1};
		r->n_ports = 2;
		r->action = FW_ACCEPT;
		snprintf(r->policy, sizeof(r->policy), "netfn-dns");
	}
	if (cfg->n_rules)
		memcpy(&rules[2], cfg->rules, cfg->n_rules * sizeof(*rules));
	free(cfg->rules);
	cfg->rules = rules;
	cfg->n_rules += 2;
	return 0;
}

/* node_id's firewall config: its policies' rules, and the controller's own keeps. */
static int fw_node_config(const struct fw_priv *fp, int64_t node_id, struct fw_config *out)
{
	int ret = fw_compile_node(fp->fc, node_id, out);
	bool serves_dns = false;

	for (size_t i = 0; i < fp->n_dns; i++)
		serves_dns |= fp->dns_nodes[i] == node_id;
	if (!ret && out->default_deny && serves_dns)
		ret = fw_keep_dns(fp, out);
	if (ret)
		fw_config_free(out);
	return ret;
}

static int fw_open_rules(struct store *s, const struct netctx *nc, struct fw_compiler **out)
{
	struct fw_load l = {.s = s, .net = &nc->net};
	struct fw_member *members = NULL;
	struct fw_compiler *fc = NULL;
	int ret;

	ret = s->ops->fw_policy_list(s, nc->net.id, load_policy, &l);
	if (ret)
		goto cleanup;
	members = calloc(nc->nodes.n + nc->n_clients + 1, sizeof(*members));
	if (!members) {
		ret = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < nc->nodes.n; i++) {
		const struct st_node *n = &nc->nodes.v[i];
		struct fw_member *m = &members[i];

		m->id = n->id;
		m->address.s_addr = n->overlay_addr;
		m->n_labels = n->n_labels < FW_MAX_LABELS ? n->n_labels : FW_MAX_LABELS;
		for (size_t k = 0; k < m->n_labels; k++) {
			snprintf(m->labels[k].key, FW_NAME_MAX, "%s", n->labels[k].key);
			snprintf(m->labels[k].value, FW_NAME_MAX, "%s", n->labels[k].value);
		}
	}
	fw_clients(nc, &members[nc->nodes.n]);
	ret = fw_compile_prepare(l.v, l.n, members, nc->nodes.n + nc->n_clients, nc->net.port, &fc);
	if (!ret)
		*out = fc;
cleanup:
	for (size_t i = 0; i < l.n; i++)
		free((void *)l.v[i].rules);
	free(l.v);
	free(members);
	return ret;
}

static int fw_build(void *priv, int64_t node_id, uint64_t revision, ProtobufCMessage **out)
{
	struct fw_config cfg;
	Netfn__FirewallSection *pb = NULL;
	int ret = fw_node_config(priv, node_id, &cfg);

	if (ret)
		return ret;
	cfg.revision = revision;
	ret = conv_fw_to_pb(&cfg, &pb);
	fw_config_free(&cfg);
	*out = ret ? NULL : &pb->base;
	return ret;
}

static void fw_attach(Netfn__NodeConfig *cfg, ProtobufCMessage *pb)
{
	cfg->firewall = (Netfn__FirewallSection *)pb;
}

static void fw_pb_free(ProtobufCMessage *pb)
{
	conv_fw_pb_free((Netfn__FirewallSection *)pb);
}

/* ---- lb ---- */

/* The network's load balancers and placements are in the netctx already. */
struct lb_priv {
	const struct netctx *nc;
};

static int lb_open(struct store *s, const struct netctx *nc, void **priv)
{
	struct lb_priv *lp = calloc(1, sizeof(*lp));

	(void)s;
	if (!lp)
		return -ENOMEM;
	lp->nc = nc;
	*priv = lp;
	return 0;
}

static void lb_close(void *priv)
{
	free(priv);
}

/* True when node carries every label of sel[0..n). */
static bool carries(const struct st_node *node, const struct st_label *sel, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (size_t k = 0; k < node->n_labels && !found; k++)
			found = strcmp(node->labels[k].key, sel[i].key) == 0 &&
			        strcmp(node->labels[k].value, sel[i].value) == 0;
		if (!found)
			return false;
	}
	return true;
}

static uint16_t lb_weight(uint16_t w)
{
	return w == 0 ? 1 : w > LB_WEIGHT_MAX ? LB_WEIGHT_MAX : w;
}

static int cmp_lb_backend(const void *a, const void *b)
{
	const struct lb_backend *x = a, *y = b;
	uint32_t xa = ntohl(x->addr.s_addr), ya = ntohl(y->addr.s_addr);

	if (xa != ya)
		return xa < ya ? -1 : 1;
	return (x->port > y->port) - (x->port < y->port);
}

/*
 * lb's backends: every node carrying the backend selector (when it has a
 * backend port), then the explicit ones; sorted, each address and port once
 * with the larger of its weights.
 */
static int lb_backends(const struct netctx *nc, const struct st_lb *lb, struct lb_frontend *f)
{
	size_t cap = lb->n_backends + (lb->backend_port ? nc->nodes.n : 0), n = 0, k = 0;
	struct lb_backend *v = calloc(cap ? cap : 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; lb->backend_port && i < nc->nodes.n; i++) {
		const struct st_node *node = &nc->nodes.v[i];

		if (!carries(node, lb->backend_selector, lb->n_backend_selector))
			continue;
		v[n].addr.s_addr = node->overlay_addr;
		v[n].port = lb->backend_port;
		v[n++].weight = lb_weight(lb->backend_weight);
	}
	for (size_t i = 0; i < lb->n_backends; i++) {
		v[n].addr.s_addr = lb->backends[i].addr;
		v[n].port = lb->backends[i].port;
		v[n++].weight = lb_weight(lb->backends[i].weight);
	}
	qsort(v, n, sizeof(*v), cmp_lb_backend);
	for (size_t i = 0; i < n; i++) {
		if (k && cmp_lb_backend(&v[k - 1], &v[i]) == 0) {
			if (v[i].weight > v[k - 1].weight)
				v[k - 1].weight = v[i].weight;
			continue;
		}
		v[k++] = v[i];
	}
	/* More would make the agent refuse the whole section. */
	if (k > LB_MAX_BACKENDS) {
		nf_warn("network %s: lb %s: %zu backends, only the first %d are used", nc->net.name,
		        lb->name, k, LB_MAX_BACKENDS);
		k = LB_MAX_BACKENDS;
	}
	f->backends = v;
	f->n_backends = k;
	return 0;
}

/* lb's frontend on host. */
static int lb_frontend_of(const struct netctx *nc, const struct st_lb *lb,
                          const struct st_node *host, struct lb_frontend *f)
{
	memset(f, 0, sizeof(*f));
	f->id = (uint64_t)lb->id;
	snprintf(f->name, sizeof(f->name), "%s", lb->name);
	/* Only what validated is ever stored; anything else is damage to the file. */
	if (lb_proto_parse(lb->protocol, &f->proto) || lb_algo_parse(lb->algorithm, &f->algo)) {
		nf_err("network %s: lb %s: stored protocol '%s' or algorithm '%s' does not parse",
		       nc->net.name, lb->name, lb->protocol, lb->algorithm);
		return -EIO;
	}
	f->addr.s_addr = lb->vip ? lb->vip : host->overlay_addr;
	f->port = lb->port;
	f->health.interval_ms = lb->hc_interval_ms;
	f->health.timeout_ms = lb->hc_timeout_ms;
	f->health.rise = lb->hc_rise;
	f->health.fall = lb->hc_fall;
	f->health.port = lb->hc_port;
	return lb_backends(nc, lb, f);
}

/* The frontends placed on node_id, in load balancer id order (the placements' own). */
static int lb_config_of(const struct netctx *nc, int64_t node_id, uint64_t revision,
                        struct lb_config *out)
{
	const struct st_node *host = NULL;
	size_t n = 0;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->revision = revision;
	for (size_t i = 0; i < nc->nodes.n && !host; i++)
		if (nc->nodes.v[i].id == node_id)
			host = &nc->nodes.v[i];
	if (!host)
		return -ENOENT;
	for (size_t i = 0; i < nc->n_pl; i++)
		n += nc->pl[i].node_id == node_id;
	out->frontends = calloc(n ? n : 1, sizeof(*out->frontends));
	if (!out->frontends)
		return -ENOMEM;
	for (size_t i = 0; i < nc->n_pl && !ret; i++) {
		const struct st_placement *p = &nc->pl[i];

		/* One frontend per load balancer, even if two slots ever met here. */
		if (p->node_id != node_id ||
		    (out->n && out->frontends[out->n - 1].id == (uint64_t)p->object_id))
			continue;
		if (out->n == LB_MAX_FRONTENDS) {
			nf_warn("network %s: node %s hosts more than %d load balancers; the rest "
			        "are left out",
			        nc->net.name, host->name, LB_MAX_FRONTENDS);
			break;
		}
		ret = lb_frontend_of(nc, find_lb(nc, p->object_id), host, &out->frontends[out->n]);
		if (!ret)
			out->n++;
	}
	if (ret)
		lb_config_free(out);
	return ret;
}

static int lb_build(void *priv, int64_t node_id, uint64_t revision, ProtobufCMessage **out)
{
	struct lb_priv *lp = priv;
	struct lb_config cfg;
	Netfn__LbSection *pb = NULL;
	int ret = lb_config_of(lp->nc, node_id, revision, &cfg);

	if (ret)
		return ret;
	ret = conv_lb_to_pb(&cfg, &pb);
	lb_config_free(&cfg);
	*out = ret ? NULL : &pb->base;
	return ret;
}

static void lb_attach(Netfn__NodeConfig *cfg, ProtobufCMessage *pb)
{
	cfg->lb = (Netfn__LbSection *)pb;
}

static void lb_pb_free(ProtobufCMessage *pb)
{
	conv_lb_pb_free((Netfn__LbSection *)pb);
}

/* ---- dns ---- */

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

/* ---- qos ---- */

/* One stored class with its stored matches. */
struct qos_stored {
	struct st_qos_class c;
	size_t n_matches, cap_matches;
	struct st_qos_match *matches;
};

/* The network's traffic classes, loaded once; every node shapes with all of them. */
struct qos_priv {
	const struct netctx *nc;
	size_t n, cap;
	struct qos_stored *classes;
};

static void qos_close(void *priv)
{
	struct qos_priv *qp = priv;

	if (!qp)
		return;
	for (size_t i = 0; i < qp->n; i++)
		free(qp->classes[i].matches);
	free(qp->classes);
	free(qp);
}

static int qos_collect_class(void *ctx, const struct st_qos_class *c)
{
	struct qos_priv *qp = ctx;

	if (qp->n == qp->cap) {
		size_t cap = qp->cap ? 2 * qp->cap : 8;
		struct qos_stored *v = realloc(qp->classes, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		qp->classes = v;
		qp->cap = cap;
	}
	memset(&qp->classes[qp->n], 0, sizeof(qp->classes[qp->n]));
	qp->classes[qp->n++].c = *c;
	return 0;
}

static int qos_collect_match(void *ctx, const struct st_qos_match *m)
{
	struct qos_stored *qs = ctx;

	if (qs->n_matches == qs->cap_matches) {
		size_t cap = qs->cap_matches ? 2 * qs->cap_matches : 4;
		struct st_qos_match *v = realloc(qs->matches, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		qs->matches = v;
		qs->cap_matches = cap;
	}
	qs->matches[qs->n_matches++] = *m;
	return 0;
}

static int qos_open(struct store *s, const struct netctx *nc, void **priv)
{
	struct qos_priv *qp = calloc(1, sizeof(*qp));
	int ret;

	if (!qp)
		return -ENOMEM;
	qp->nc = nc;
	ret = s->ops->qos_class_list(s, nc->net.id, qos_collect_class, qp);
	for (size_t i = 0; i < qp->n && !ret; i++)
		ret = s->ops->qos_match_list(s, qp->classes[i].c.id, qos_collect_match,
		                             &qp->classes[i]);
	if (ret) {
		qos_close(qp);
		return ret;
	}
	*priv = qp;
	return 0;
}

static const struct st_node *qos_node(const struct netctx *nc, const char *name)
{
	for (size_t i = 0; i < nc->nodes.n; i++)
		if (strcmp(nc->nodes.v[i].name, name) == 0)
			return &nc->nodes.v[i];
	return NULL;
}

/*
 * Resolves a stored match for node_id into out; false when it matches
 * nothing there: its peer is the node itself (its own traffic never leaves
 * towards itself) or no longer exists. The API stored it valid, so a field
 * that does not parse is damage and drops the match too.
 */
static bool qos_match_of(const struct netctx *nc, int64_t node_id, const struct st_qos_match *sm,
                         struct qos_match *out)
{
	unsigned first = 0, last = 0;
	char tail;

	memset(out, 0, sizeof(*out));
	out->protocol = !strcmp(sm->protocol, "tcp") ? 6 : !strcmp(sm->protocol, "udp") ? 17 : 0;
	if (sm->port[0]) {
		int n = sscanf(sm->port, "%u-%u%c", &first, &last, &tail);

		if (n == 1)
			last = first;
		else if (n != 2)
			return false;
		if (!out->protocol || !first || first > last || last > 65535)
			return false;
		out->port_first = (uint16_t)first;
		out->port_last = (uint16_t)last;
	}
	out->dst_any = true;
	if (sm->peer[0]) {
		const struct st_node *peer = qos_node(nc, sm->peer);

		if (!peer || peer->id == node_id)
			return false;
		out->dst_any = false;
		out->dst.family = AF_INET;
		out->dst.addr.v4.s_addr = peer->overlay_addr;
		out->dst.len = 32;
	} else if (sm->cidr[0]) {
		if (!nf_prefix_parse(sm->cidr, false, &out->dst) || out->dst.family != AF_INET)
			return false;
		out->dst_any = false;
	}
	return true;
}

static int qos_cmp_minor(const void *a, const void *b)
{
	const struct qos_class *x = a, *y = b;

	return (x->minor > y->minor) - (x->minor < y->minor);
}

/* node_id's section: every class of the network, its matches resolved for that node. */
static int qos_build(void *priv, int64_t node_id, uint64_t revision, ProtobufCMessage **out)
{
	const struct qos_priv *qp = priv;
	struct qos_config cfg = {.revision = revision};
	Netfn__QosSection *pb = NULL;
	int ret = 0;

	*out = NULL;
	/* No classes: an empty section, which removes the node's shaping. */
	if (qp->n) {
		cfg.link_bps = qp->nc->net.qos_link_bps;
		cfg.classes = calloc(qp->n, sizeof(*cfg.classes));
		if (!cfg.classes)
			return -ENOMEM;
	}
	for (size_t i = 0; i < qp->n && !ret; i++) {
		const struct qos_stored *qs = &qp->classes[i];
		struct qos_class *k = &cfg.classes[cfg.n++];

		k->minor = qs->c.minor;
		snprintf(k->name, sizeof(k->name), "%s", qs->c.name);
		k->min_bps = qs->c.min_bps;
		k->max_bps = qs->c.max_bps;
		k->priority = qs->c.priority;
		if (!qs->n_matches)
			continue;
		k->matches = calloc(qs->n_matches, sizeof(*k->matches));
		if (!k->matches) {
			ret = -ENOMEM;
			break;
		}
		for (size_t m = 0; m < qs->n_matches; m++)
			if (qos_match_of(qp->nc, node_id, &qs->matches[m],
			                 &k->matches[k->n_matches]))
				k->n_matches++;
	}
	if (!ret) {
		if (cfg.n)
			qsort(cfg.classes, cfg.n, sizeof(*cfg.classes), qos_cmp_minor);
		ret = conv_qos_to_pb(&cfg, &pb);
	}
	qos_config_free(&cfg);
	*out = ret ? NULL : &pb->base;
	return ret;
}

static void qos_attach(Netfn__NodeConfig *cfg, ProtobufCMessage *pb)
{
	cfg->qos = (Netfn__QosSection *)pb;
}

static void qos_pb_free(ProtobufCMessage *pb)
{
	conv_qos_pb_free((Netfn__QosSection *)pb);
}

/* ---- the driver ---- */

static const struct compile_fn fns[] = {
    {"vpn", vpn_open, vpn_build, vpn_attach, vpn_pb_free, vpn_close},
    {"firewall", fw_open, fw_build, fw_attach, fw_pb_free, fw_close},
    {"lb", lb_open, lb_build, lb_attach, lb_pb_free, lb_close},
    {"dns", dns_open, dns_build, dns_attach, dns_pb_free, dns_close},
    {"qos", qos_open, qos_build, qos_attach, qos_pb_free, qos_close},
};

#define N_FNS (sizeof(fns) / sizeof(fns[0]))

/* Opens every function on nc; priv[i] is fns[i]'s. */
static int open_all(struct store *s, const struct netctx *nc, void *priv[N_FNS])
{
	int ret = 0;

	memset(priv, 0, N_FNS * sizeof(priv[0]));
	for (size_t i = 0; i < N_FNS && !ret; i++)
		ret = fns[i].open(s, nc, &priv[i]);
	return ret;
}

static void close_all(void *priv[N_FNS])
{
	for (size_t i = 0; i < N_FNS; i++)
		if (priv[i])
			fns[i].close(priv[i]);
}

/* BLAKE2b of function f's section for node_id, built at revision 0. */
static int section_hash(const struct compile_fn *f, void *priv, int64_t node_id,
                        uint8_t hash[ST_HASH_LEN])
{
	ProtobufCMessage *pb = NULL;
	uint8_t *buf = NULL;
	size_t len;
	int ret;

	ret = f->build(priv, node_id, 0, &pb);
	if (ret)
		return ret;
	ret = nf_pb_pack(pb, &buf, &len);
	if (!ret)
		crypto_generichash(hash, ST_HASH_LEN, buf, len, NULL, 0);
	free(buf);
	f->pb_free(pb);
	return ret;
}

/* Bumps node's section of f when its hash changed; *bumped says whether it did. */
static int update_section(struct store *s, const struct compile_fn *f, void *priv,
                          const struct st_node *node, bool *bumped)
{
	uint8_t hash[ST_HASH_LEN];
	struct st_section sec;
	int ret;

	*bumped = false;
	ret = section_hash(f, priv, node->id, hash);
	if (ret)
		return ret;
	ret = s->ops->section_get(s, node->id, f->name, &sec);
	if (ret == -ENOENT) {
		memset(&sec, 0, sizeof(sec));
		sec.node_id = node->id;
		snprintf(sec.function, sizeof(sec.function), "%s", f->name);
	} else if (ret) {
		return ret;
	} else if (memcmp(sec.hash, hash, ST_HASH_LEN) == 0) {
		return 0;
	}
	ret = s->ops->next_revision(s, &sec.desired_rev);
	if (ret)
		return ret;
	memcpy(sec.hash, hash, ST_HASH_LEN);
	ret = s->ops->section_put(s, &sec);
	if (ret)
		return ret;
	nf_debug("node %s: %s desired revision %" PRIu64, node->name, f->name, sec.desired_rev);
	*bumped = true;
	return 0;
}

int compile_network(struct store *s, int64_t network_id, struct idvec *changed)
{
	struct netctx nc = {0};
	void *priv[N_FNS] = {0};
	int ret;

	/* Placing first: what moved is compiled in the same pass. */
	ret = sched_network(s, network_id, NULL);
	if (!ret)
		ret = netctx_load(s, network_id, &nc);
	if (!ret)
		ret = open_all(s, &nc, priv);
	for (size_t i = 0; i < nc.nodes.n && !ret; i++) {
		bool any = false;

		for (size_t f = 0; f < N_FNS && !ret; f++) {
			bool bumped;

			ret = update_section(s, &fns[f], priv[f], &nc.nodes.v[i], &bumped);
			any |= bumped;
		}
		if (!ret && any && changed)
			ret = idvec_push(changed, nc.nodes.v[i].id);
	}
	close_all(priv);
	netctx_free(&nc);
	return ret;
}

int compile_node_vpn(struct store *s, const struct st_node *node, struct vpn_config *out)
{
	struct netctx nc;
	struct st_section sec;
	void *priv = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = s->ops->section_get(s, node->id, "vpn", &sec);
	if (!ret)
		ret = netctx_load(s, node->network_id, &nc);
	else
		memset(&nc, 0, sizeof(nc));
	if (!ret)
		ret = vpn_open(s, &nc, &priv);
	if (!ret)
		ret = vpn_config(priv, node->id, sec.desired_rev, out);
	vpn_close(priv);
	netctx_free(&nc);
	return ret;
}

int compile_node_firewall(struct store *s, const struct st_node *node, struct fw_config *out)
{
	struct netctx nc;
	struct st_section sec;
	void *priv = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = s->ops->section_get(s, node->id, "firewall", &sec);
	if (!ret)
		ret = netctx_load(s, node->network_id, &nc);
	else
		memset(&nc, 0, sizeof(nc));
	if (!ret)
		ret = fw_open(s, &nc, &priv);
	if (!ret)
		ret = fw_node_config(priv, node->id, out);
	if (!ret)
		out->revision = sec.desired_rev;
	fw_close(priv);
	netctx_free(&nc);
	return ret;
}

int compile_node_config(struct store *s, const struct st_node *node, Netfn__NodeConfig **out)
{
	Netfn__NodeConfig *cfg = NULL;
	struct netctx nc;
	void *priv = NULL;
	int ret;

	*out = NULL;
	ret = netctx_load(s, node->network_id, &nc);
	if (ret)
		goto cleanup;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		ret = -ENOMEM;
		goto cleanup;
	}
	netfn__node_config__init(cfg);
	cfg->name = strdup(node->name);
	cfg->network = strdup(nc.net.name);
	if (!cfg->name || !cfg->network) {
		ret = -ENOMEM;
		goto cleanup;
	}
	/* Each function's section at its desired revision; a function the
	 * node has no section of yet is left out, and the agent keeps what
	 * it has for it. */
	for (size_t f = 0; f < N_FNS; f++) {
		ProtobufCMessage *pb = NULL;
		struct st_section sec;

		ret = s->ops->section_get(s, node->id, fns[f].name, &sec);
		if (ret == -ENOENT)
			continue;
		if (!ret)
			ret = fns[f].open(s, &nc, &priv);
		if (!ret)
			ret = fns[f].build(priv, node->id, sec.desired_rev, &pb);
		if (priv)
			fns[f].close(priv);
		priv = NULL;
		if (ret)
			goto cleanup;
		fns[f].attach(cfg, pb);
	}
	*out = cfg;
	cfg = NULL;
cleanup:
	compile_config_free(cfg);
	netctx_free(&nc);
	return ret;
}

void compile_config_free(Netfn__NodeConfig *cfg)
{
	if (!cfg)
		return;
	if (cfg->name != protobuf_c_empty_string)
		free(cfg->name);
	if (cfg->network != protobuf_c_empty_string)
		free(cfg->network);
	conv_vpn_pb_free(cfg->vpn);
	conv_fw_pb_free(cfg->firewall);
	conv_lb_pb_free(cfg->lb);
	conv_dns_pb_free(cfg->dns);
	conv_qos_pb_free(cfg->qos);
	free(cfg);
}
