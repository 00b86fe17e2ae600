// SPDX-License-Identifier: Apache-2.0
/*
 * The flow row of the compiler (compile_int.h): every node gets a flow
 * section with its own filters only (a filter acts on one node's overlay
 * traffic, through that node's bridge), by id; empty when it has none,
 * which leaves the node's bridge passing everything.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "controller/compile_int.h"
#include "proto/conv_flow.h"

/* The network's filters, loaded once, by id; each node takes its own. */
struct flow_priv {
	size_t n, cap;
	struct st_flow_filter *v;
};

static void flow_close(void *priv)
{
	struct flow_priv *fp = priv;

	if (!fp)
		return;
	free(fp->v);
	free(fp);
}

static int flow_collect(void *ctx, const struct st_flow_filter *f)
{
	struct flow_priv *fp = ctx;

	if (fp->n == fp->cap) {
		size_t cap = fp->cap ? 2 * fp->cap : 16;
		struct st_flow_filter *v = realloc(fp->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		fp->v = v;
		fp->cap = cap;
	}
	fp->v[fp->n++] = *f;
	return 0;
}

static int flow_open(struct store *s, const struct netctx *nc, void **priv)
{
	struct flow_priv *fp = calloc(1, sizeof(*fp));
	int ret;

	if (!fp)
		return -ENOMEM;
	ret = s->ops->flow_list(s, nc->net.id, 0, flow_collect, fp);
	if (ret) {
		flow_close(fp);
		return ret;
	}
	*priv = fp;
	return 0;
}

/*
 * A stored filter as the agent's model; false when it does not convert.
 * The API stored it valid, so that is damage, and the filter is left out
 * rather than the whole node's section failing.
 */
static bool flow_filter_of(const struct st_flow_filter *sf, struct flow_filter *out)
{
	char why[160];

	memset(out, 0, sizeof(*out));
	if (sf->id < 1 || sf->dst_port > 65535)
		return false;
	out->id = (uint64_t)sf->id;
	out->priority = sf->priority;
	out->dst_port = (uint16_t)sf->dst_port;
	return flow_protocol_parse(sf->protocol, &out->protocol, why, sizeof(why)) &&
	       flow_action_parse(sf->action, &out->action, why, sizeof(why)) &&
	       flow_cidr_parse(sf->src, &out->src_any, &out->src, why, sizeof(why)) &&
	       flow_cidr_parse(sf->dst, &out->dst_any, &out->dst, why, sizeof(why)) &&
	       flow_filter_check(out, why, sizeof(why));
}

/* node_id's section: its own filters, by id (the store lists them so). */
static int flow_build(void *priv, int64_t node_id, uint64_t revision, ProtobufCMessage **out)
{
	const struct flow_priv *fp = priv;
	struct flow_config cfg = {.revision = revision};
	Netfn__FlowSection *pb = NULL;
	size_t mine = 0;
	int ret;

	*out = NULL;
	for (size_t i = 0; i < fp->n; i++)
		mine += fp->v[i].node_id == node_id;
	if (mine) {
		cfg.filters = calloc(mine, sizeof(*cfg.filters));
		if (!cfg.filters)
			return -ENOMEM;
	}
	/* The API refuses more than FLOW_MAX_FILTERS per node; past that the
	 * agent would refuse the whole section, so the cap keeps the rest. */
	for (size_t i = 0; i < fp->n && cfg.n < FLOW_MAX_FILTERS; i++)
		if (fp->v[i].node_id == node_id && flow_filter_of(&fp->v[i], &cfg.filters[cfg.n]))
			cfg.n++;
	ret = conv_flow_to_pb(&cfg, &pb);
	flow_config_free(&cfg);
	*out = ret ? NULL : &pb->base;
	return ret;
}

static void flow_attach(Netfn__NodeConfig *cfg, ProtobufCMessage *pb)
{
	cfg->flow = (Netfn__FlowSection *)pb;
}

static void flow_pb_free(ProtobufCMessage *pb)
{
	conv_flow_pb_free((Netfn__FlowSection *)pb);
}

const struct compile_fn compile_fn_flow = {
    .name = "flow",
    .open = flow_open,
    .build = flow_build,
    .attach = flow_attach,
    .pb_free = flow_pb_free,
    .close = flow_close,
};
