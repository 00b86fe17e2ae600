// SPDX-License-Identifier: Apache-2.0
/*
 * The qos row of the compiler (compile_int.h): every node gets a qos
 * section with all of the network's traffic classes (each node shapes its
 * own overlay egress), their matches resolved for that node; empty when
 * there are none, which removes the node's shaping.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/compile_int.h"
#include "proto/conv_qos.h"

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

const struct compile_fn compile_fn_qos = {
    .name = "qos",
    .open = qos_open,
    .build = qos_build,
    .attach = qos_attach,
    .pb_free = qos_pb_free,
    .close = qos_close,
};
