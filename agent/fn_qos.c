// SPDX-License-Identifier: Apache-2.0
/*
 * The traffic classes row of the reconcile table: glue between the protobuf
 * QosSection and the qos agent half. It validates the section with
 * conv_qos_from_pb (nothing unvalidated reaches tc or nftables), applies it,
 * and reports each class's counters in the qos SectionStatus.
 *
 * Nothing is opened until a qos section arrives; a section with no classes
 * leaves (or makes) the overlay interface and nftables without anything of
 * ours.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/reconcile.h"
#include "netfns/flow/flow_dp.h"
#include "netfns/qos/qos_agent.h"
#include "proto/conv_qos.h"

/* The one nftables table the agent's traffic classes own (family ip). */
#define QOS_TABLE "netfn_qos"

struct qos_fn {
	char wg[64];
	bool ovs; /* the flow datapath puts the overlay through a bridge: shape before it */
	struct qos_agent *qa; /* opened at the first apply */
	bool applied;         /* classes were applied by this process: counters mean something */
	struct qos_counter *ctr;
	Netfn__QosClassCounter *pb;
	Netfn__QosClassCounter **pb_ptrs;
};

static int qos_fn_open(const struct reconcile_env *env, void **priv)
{
	struct qos_fn *qf = calloc(1, sizeof(*qf));

	if (!qf)
		return -ENOMEM;
	snprintf(qf->wg, sizeof(qf->wg), "%s", env->wg_ifname ? env->wg_ifname : "");
	qf->ovs = env->ovs_rundir != NULL;
	*priv = qf;
	return 0;
}

/* "qos gold" when the message names a class ("classes[gold]" or "class gold"). */
static void name_object(struct reconcile_error *err)
{
	const char *p = strstr(err->message, "classes[");
	size_t len;

	if (p) {
		p += strlen("classes[");
		len = strcspn(p, "]");
	} else if ((p = strstr(err->message, "class "))) {
		p += strlen("class ");
		len = strcspn(p, ": ");
	} else {
		return;
	}
	snprintf(err->object, sizeof(err->object), "qos %.*s", (int)len, p);
}

static int qos_fn_apply(void *priv, const ProtobufCMessage *section, struct reconcile_error *err)
{
	const Netfn__QosSection *pb = (const Netfn__QosSection *)section;
	struct qos_fn *qf = priv;
	struct qos_config cfg = {0};
	int ret;

	/* A section that does not validate is refused before the kernel is touched. */
	ret = conv_qos_from_pb(pb, &cfg, err->message, sizeof(err->message));
	if (ret < 0) {
		name_object(err);
		goto cleanup;
	}
	/* Nothing was ever shaped by us and nothing is wanted: no sockets needed. */
	if (!qf->qa && cfg.n == 0)
		goto cleanup;
	if (!qf->qa) {
		ret = qos_agent_open(QOS_TABLE, qf->wg[0] ? qf->wg : NULL, &qf->qa);
		/*
		 * With the flow datapath, packets leave the host through its tx
		 * veth first (priority intact, the flow row runs before this one);
		 * on the way back from the bridge to wg they have lost it.
		 */
		if (!ret && qf->ovs && (ret = qos_agent_shape_on(qf->qa, FLOW_DP_TX)) < 0) {
			qos_agent_close(qf->qa);
			qf->qa = NULL;
		}
		if (ret < 0) {
			snprintf(err->message, sizeof(err->message),
			         "cannot open the traffic classes: %s", strerror(-ret));
			goto cleanup;
		}
	}
	ret = qos_agent_apply(qf->qa, &cfg, err->message, sizeof(err->message));
	if (ret < 0) {
		name_object(err);
		goto cleanup;
	}
	qf->applied = cfg.n > 0;
cleanup:
	qos_config_free(&cfg);
	return ret;
}

static void counters_free(struct qos_fn *qf)
{
	free(qf->ctr);
	free(qf->pb);
	free(qf->pb_ptrs);
	qf->ctr = NULL;
	qf->pb = NULL;
	qf->pb_ptrs = NULL;
}

static int qos_fn_observe(void *priv, Netfn__SyncRequest *req)
{
	struct qos_fn *qf = priv;
	Netfn__SectionStatus *st = NULL;
	size_t n = 0;
	int ret;

	counters_free(qf);
	if (!qf->applied)
		return 0;
	for (size_t i = 0; i < req->n_sections && !st; i++)
		if (strcmp(req->sections[i]->function, reconcile_fn_qos.name) == 0)
			st = req->sections[i];
	if (!st)
		return -ENOENT;
	ret = qos_agent_counters(qf->qa, &qf->ctr, &n);
	if (ret < 0 || n == 0)
		return ret;
	qf->pb = calloc(n, sizeof(*qf->pb));
	qf->pb_ptrs = calloc(n, sizeof(*qf->pb_ptrs));
	if (!qf->pb || !qf->pb_ptrs) {
		counters_free(qf);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		netfn__qos_class_counter__init(&qf->pb[i]);
		qf->pb[i].name = qf->ctr[i].name;
		qf->pb[i].packets = qf->ctr[i].packets;
		qf->pb[i].bytes = qf->ctr[i].bytes;
		qf->pb[i].drops = qf->ctr[i].drops;
		qf->pb[i].rate_bps = qf->ctr[i].rate_bps;
		qf->pb_ptrs[i] = &qf->pb[i];
	}
	st->n_classes = n;
	st->classes = qf->pb_ptrs;
	return 0;
}

static int qos_fn_teardown(void *priv)
{
	struct qos_fn *qf = priv;

	/* No section was ever applied by this process: there is nothing of ours to remove. */
	if (!qf->qa)
		return 0;
	qf->applied = false;
	return qos_agent_teardown(qf->qa);
}

static void qos_fn_close(void *priv)
{
	struct qos_fn *qf = priv;

	if (!qf)
		return;
	qos_agent_close(qf->qa);
	counters_free(qf);
	free(qf);
}

const struct reconcile_fn reconcile_fn_qos = {
    .name = "qos",
    .open = qos_fn_open,
    .apply = qos_fn_apply,
    .observe = qos_fn_observe,
    .teardown = qos_fn_teardown,
    .close = qos_fn_close,
};
