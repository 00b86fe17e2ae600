// SPDX-License-Identifier: Apache-2.0
/*
 * The flow filters row of the reconcile table: glue between the protobuf
 * FlowSection and the two halves of the function, the datapath that puts
 * the overlay through the node's Open vSwitch bridge (flow_dp.h) and the
 * bridge's flows (flow_ovs.h). The section is validated with
 * conv_flow_from_pb before anything is touched.
 *
 * Only an agent given --ovs-rundir has a bridge. Without one, a section
 * with filters is refused with the reason (the controller shows it as the
 * filters' status) and an empty one is a no-op. With one, the datapath and
 * the bridge are made at the first section, filters or not: the node's
 * totals through the bridge are reported either way.
 *
 * observe runs at every sync: it reads the counters, which is also when a
 * restarted ovs-vswitchd or a recreated overlay interface is noticed and
 * repaired (flow_ovs_stats resyncs the flows; flow_dp_check/ensure the
 * programs).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/reconcile.h"
#include "netfns/common/log.h"
#include "netfns/flow/flow_dp.h"
#include "netfns/flow/flow_ovs.h"
#include "proto/conv_flow.h"

/* The bridge the agent owns in the node's Open vSwitch. */
#define FLOW_BRIDGE "nf-br"

struct flow_fn {
	char wg[IFNAMSIZ];
	char rundir[128];     /* "" : no Open vSwitch on this node */
	struct flow_ovs *ovs; /* opened at the first section */
	bool applied;         /* the bridge was programmed by this process */
	time_t warned;        /* the last observe failure logged (rate limit) */
	struct flow_counter *ctr;
	Netfn__FlowCounter *pb;
	Netfn__FlowCounter **pb_ptrs;
};

static int flow_fn_open(const struct reconcile_env *env, void **priv)
{
	struct flow_fn *ff = calloc(1, sizeof(*ff));

	if (!ff)
		return -ENOMEM;
	snprintf(ff->wg, sizeof(ff->wg), "%s", env->wg_ifname ? env->wg_ifname : "");
	if (env->ovs_rundir && strlen(env->ovs_rundir) >= sizeof(ff->rundir)) {
		free(ff);
		return -ENAMETOOLONG;
	}
	snprintf(ff->rundir, sizeof(ff->rundir), "%s", env->ovs_rundir ? env->ovs_rundir : "");
	*priv = ff;
	return 0;
}

/* "flow 7" when the message names a filter ("filters[7]..."). */
static void name_object(struct reconcile_error *err)
{
	const char *p = strstr(err->message, "filters[");

	if (!p)
		return;
	p += strlen("filters[");
	snprintf(err->object, sizeof(err->object), "flow %.*s", (int)strcspn(p, "]"), p);
}

static int ovs_open(struct flow_fn *ff)
{
	static const char *const ports[] = {FLOW_DP_RX_PORT, FLOW_DP_TX_PORT};
	struct flow_ovs_opts o = {
	    .rundir = ff->rundir,
	    .bridge = FLOW_BRIDGE,
	    .ports = ports,
	    .n_ports = sizeof(ports) / sizeof(ports[0]),
	};

	return ff->ovs ? 0 : flow_ovs_open(&o, &ff->ovs);
}

static int flow_fn_apply(void *priv, const ProtobufCMessage *section, struct reconcile_error *err)
{
	const Netfn__FlowSection *pb = (const Netfn__FlowSection *)section;
	struct flow_fn *ff = priv;
	struct flow_config cfg = {0};
	int ret;

	ret = conv_flow_from_pb(pb, &cfg, err->message, sizeof(err->message));
	if (ret < 0) {
		name_object(err);
		goto cleanup;
	}
	if (!ff->rundir[0]) {
		if (cfg.n > 0) {
			ret = -EOPNOTSUPP;
			snprintf(
			    err->message, sizeof(err->message),
			    "no Open vSwitch on this node (the agent's ovs-rundir is not set)");
		}
		goto cleanup;
	}
	if (!ff->wg[0]) {
		ret = -EINVAL;
		snprintf(err->message, sizeof(err->message), "no overlay interface to filter");
		goto cleanup;
	}
	ret = ovs_open(ff);
	if (ret < 0) {
		snprintf(err->message, sizeof(err->message), "cannot open Open vSwitch at %s: %s",
		         ff->rundir, strerror(-ret));
		goto cleanup;
	}
	/*
	 * The datapath first: it makes the veth pairs the bridge's ports are.
	 * Until the flows are in, overlay packets wait on the bridge (fail
	 * closed), which only happens at the first section of a node.
	 */
	ret = flow_dp_ensure(ff->wg, err->message, sizeof(err->message));
	if (ret < 0)
		goto cleanup;
	ret = flow_ovs_apply(ff->ovs, &cfg, err->message, sizeof(err->message));
	if (ret < 0) {
		name_object(err);
		goto cleanup;
	}
	ff->applied = true;
cleanup:
	flow_config_free(&cfg);
	return ret;
}

static void counters_free(struct flow_fn *ff)
{
	free(ff->ctr);
	free(ff->pb);
	free(ff->pb_ptrs);
	ff->ctr = NULL;
	ff->pb = NULL;
	ff->pb_ptrs = NULL;
}

/* Logs an observe failure at most once a minute: it repeats at every sync. */
static void warn_limited(struct flow_fn *ff, const char *what, const char *why)
{
	time_t now = time(NULL);

	if (now - ff->warned < 60)
		return;
	ff->warned = now;
	nf_warn("flow: %s: %s", what, why);
}

static int flow_fn_observe(void *priv, Netfn__SyncRequest *req)
{
	struct flow_fn *ff = priv;
	Netfn__SectionStatus *st = NULL;
	char why[256] = "";
	size_t n = 0;
	int ret;

	counters_free(ff);
	if (!ff->applied)
		return 0;
	for (size_t i = 0; i < req->n_sections && !st; i++)
		if (strcmp(req->sections[i]->function, reconcile_fn_flow.name) == 0)
			st = req->sections[i];
	if (!st)
		return -ENOENT;
	/* The overlay interface may have been recreated (a new ifindex): re-attach. */
	ret = flow_dp_check(ff->wg);
	if (ret == 0)
		ret = flow_dp_ensure(ff->wg, why, sizeof(why));
	if (ret < 0)
		warn_limited(ff, "datapath", why[0] ? why : strerror(-ret));
	ret = flow_ovs_stats(ff->ovs, &ff->ctr, &n, why, sizeof(why));
	if (ret < 0) {
		warn_limited(ff, "Open vSwitch", why);
		return ret;
	}
	if (n == 0)
		return 0;
	ff->pb = calloc(n, sizeof(*ff->pb));
	ff->pb_ptrs = calloc(n, sizeof(*ff->pb_ptrs));
	if (!ff->pb || !ff->pb_ptrs) {
		counters_free(ff);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		netfn__flow_counter__init(&ff->pb[i]);
		ff->pb[i].id = ff->ctr[i].id;
		ff->pb[i].packets = ff->ctr[i].packets;
		ff->pb[i].bytes = ff->ctr[i].bytes;
		ff->pb[i].packets_per_s = ff->ctr[i].pps;
		ff->pb[i].bits_per_s = ff->ctr[i].bps;
		ff->pb_ptrs[i] = &ff->pb[i];
	}
	st->n_flows = n;
	st->flows = ff->pb_ptrs;
	return 0;
}

static int flow_fn_teardown(void *priv)
{
	struct flow_fn *ff = priv;
	char why[256] = "";
	int ret = 0;

	/* Nothing was made by this process: nothing of ours to remove. */
	if (!ff->ovs)
		return 0;
	ff->applied = false;
	/* The datapath first, so the overlay does not wait on a bridge about to go. */
	if (ff->wg[0] && flow_dp_teardown(ff->wg, why, sizeof(why)) < 0) {
		nf_warn("flow: datapath teardown: %s", why);
		ret = -EIO;
	}
	if (flow_ovs_teardown(ff->ovs, why, sizeof(why)) < 0) {
		nf_warn("flow: bridge teardown: %s", why);
		ret = -EIO;
	}
	return ret;
}

static void flow_fn_close(void *priv)
{
	struct flow_fn *ff = priv;

	if (!ff)
		return;
	flow_ovs_close(ff->ovs);
	counters_free(ff);
	free(ff);
}

const struct reconcile_fn reconcile_fn_flow = {
    .name = "flow",
    .open = flow_fn_open,
    .apply = flow_fn_apply,
    .observe = flow_fn_observe,
    .teardown = flow_fn_teardown,
    .close = flow_fn_close,
};
