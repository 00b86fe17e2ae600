// SPDX-License-Identifier: Apache-2.0
/*
 * The lb row of the compiler (compile_int.h): each node's section lists the
 * frontends the scheduler placed on it, with their backends (the nodes
 * carrying a load balancer's backend selector, then its explicit ones).
 * Every node gets an lb section, empty when it hosts no frontend.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/compile_int.h"
#include "netfns/common/log.h"
#include "proto/conv_lb.h"

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
		ret = lb_frontend_of(nc, compile_find_lb(nc, p->object_id), host,
		                     &out->frontends[out->n]);
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

const struct compile_fn compile_fn_lb = {
    .name = "lb",
    .open = lb_open,
    .build = lb_build,
    .attach = lb_attach,
    .pb_free = lb_pb_free,
    .close = lb_close,
};
