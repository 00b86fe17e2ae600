// SPDX-License-Identifier: Apache-2.0
/*
 * Compiler driver. Network functions are rows of a table (vpn, firewall,
 * lb, dns, qos, flow), each in its own compile_<fn>.c (compile_int.h): each loads
 * what it needs of a network once, then builds any node's section as its
 * protobuf message. For each node of a changed network the driver builds
 * every function's section at revision 0, hashes the packed message, and
 * bumps that (node, function) desired revision only when the hash differs
 * from the stored one: a change that does not alter a node's section does
 * not wake that node, and a revision never moves for nothing.
 * Runs inside the caller's transaction so revisions and the change that
 * caused them commit together.
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

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "controller/compile_int.h"
#include "controller/sched.h"
#include "netfns/common/log.h"
#include "proto/conv_dns.h"
#include "proto/conv_flow.h"
#include "proto/conv_fw.h"
#include "proto/conv_lb.h"
#include "proto/conv_qos.h"
#include "proto/conv_vpn.h"
#include "proto/rpc.h"

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

const struct st_lb *compile_find_lb(const struct netctx *nc, int64_t id)
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

	if (!compile_find_lb(nc, p->object_id))
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

const struct st_client *compile_find_client(const struct netctx *nc, int64_t id)
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

	if (p->slot != 0 || !compile_find_client(nc, p->object_id))
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

void compile_netctx_free(struct netctx *nc)
{
	free(nc->nodes.v);
	free(nc->lbs);
	free(nc->pl);
	free(nc->clients);
	free(nc->gw);
	memset(nc, 0, sizeof(*nc));
}

int compile_netctx_load(struct store *s, int64_t network_id, struct netctx *nc)
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

/* ---- the driver ---- */

static const struct compile_fn *const fns[] = {
    &compile_fn_vpn, &compile_fn_firewall, &compile_fn_lb,
    &compile_fn_dns, &compile_fn_qos,      &compile_fn_flow,
};

#define N_FNS (sizeof(fns) / sizeof(fns[0]))

/* Opens every function on nc; priv[i] is fns[i]'s. */
static int open_all(struct store *s, const struct netctx *nc, void *priv[N_FNS])
{
	int ret = 0;

	memset(priv, 0, N_FNS * sizeof(priv[0]));
	for (size_t i = 0; i < N_FNS && !ret; i++)
		ret = fns[i]->open(s, nc, &priv[i]);
	return ret;
}

static void close_all(void *priv[N_FNS])
{
	for (size_t i = 0; i < N_FNS; i++)
		if (priv[i])
			fns[i]->close(priv[i]);
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
		ret = compile_netctx_load(s, network_id, &nc);
	if (!ret)
		ret = open_all(s, &nc, priv);
	for (size_t i = 0; i < nc.nodes.n && !ret; i++) {
		bool any = false;

		for (size_t f = 0; f < N_FNS && !ret; f++) {
			bool bumped;

			ret = update_section(s, fns[f], priv[f], &nc.nodes.v[i], &bumped);
			any |= bumped;
		}
		if (!ret && any && changed)
			ret = idvec_push(changed, nc.nodes.v[i].id);
	}
	close_all(priv);
	compile_netctx_free(&nc);
	return ret;
}

int compile_node_config(struct store *s, const struct st_node *node, Netfn__NodeConfig **out)
{
	Netfn__NodeConfig *cfg = NULL;
	struct netctx nc;
	void *priv = NULL;
	int ret;

	*out = NULL;
	ret = compile_netctx_load(s, node->network_id, &nc);
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

		ret = s->ops->section_get(s, node->id, fns[f]->name, &sec);
		if (ret == -ENOENT)
			continue;
		if (!ret)
			ret = fns[f]->open(s, &nc, &priv);
		if (!ret)
			ret = fns[f]->build(priv, node->id, sec.desired_rev, &pb);
		if (priv)
			fns[f]->close(priv);
		priv = NULL;
		if (ret)
			goto cleanup;
		fns[f]->attach(cfg, pb);
	}
	*out = cfg;
	cfg = NULL;
cleanup:
	compile_config_free(cfg);
	compile_netctx_free(&nc);
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
	conv_flow_pb_free(cfg->flow);
	free(cfg);
}
