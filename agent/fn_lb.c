// SPDX-License-Identifier: Apache-2.0
/*
 * The load balancer row of the reconcile table: glue between the protobuf
 * LbSection and the load balancer's agent half. It validates the section
 * with conv_lb_from_pb (nothing unvalidated reaches nftables or the health
 * checker), applies it, and reports each backend's health and new
 * connections in the lb SectionStatus.
 *
 * Nothing is opened or created until an lb section arrives; a section with
 * no frontends leaves (or makes) the node without a table of ours.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/reconcile.h"
#include "netfns/common/log.h"
#include "netfns/lb/lb_agent.h"
#include "proto/conv_lb.h"

/* The one nftables table the agent's load balancer owns (family ip). */
#define LB_TABLE "netfn_lb"

struct lb_fn {
	char wg[64];         /* the overlay interface, where a host of frontends forwards */
	struct lb_agent *la; /* opened at the first apply */
	bool applied;        /* frontends were applied by this process: reports mean something */
	Netfn__LbBackendHealth *hb;
	Netfn__LbBackendHealth **hb_ptrs;
	char (*addrs)[INET_ADDRSTRLEN];
};

static int lb_fn_open(const struct reconcile_env *env, void **priv)
{
	struct lb_fn *lf = calloc(1, sizeof(*lf));

	if (!lf)
		return -ENOMEM;
	snprintf(lf->wg, sizeof(lf->wg), "%s", env->wg_ifname ? env->wg_ifname : "");
	*priv = lf;
	return 0;
}

/* True for a name worth repeating: printable ASCII, as conv_lb accepts them. */
static bool printable(const char *s)
{
	if (strlen(s) >= LB_NAME_MAX)
		return false;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

/* "lb web" when one frontend is to blame (by name, else id), else the section's. */
static void name_object(struct reconcile_error *err, const Netfn__LbSection *pb, uint64_t bad_id)
{
	const char *name = "";

	if (!bad_id)
		return;
	for (size_t i = 0; i < pb->n_frontends && !name[0]; i++)
		if (pb->frontends[i]->id == bad_id && pb->frontends[i]->name)
			name = pb->frontends[i]->name;
	/* A name that failed validation is not repeated: it may be what was wrong. */
	if (name[0] && printable(name))
		snprintf(err->object, sizeof(err->object), "lb %s", name);
	else
		snprintf(err->object, sizeof(err->object), "lb %" PRIu64, bad_id);
}

static int lb_fn_apply(void *priv, const ProtobufCMessage *section, struct reconcile_error *err)
{
	const Netfn__LbSection *pb = (const Netfn__LbSection *)section;
	struct lb_fn *lf = priv;
	struct lb_config cfg = {0};
	uint64_t bad_id = 0;
	int ret;

	/* A section that does not validate is refused before the kernel is touched. */
	ret = conv_lb_from_pb(pb, &cfg, err->message, sizeof(err->message), &bad_id);
	if (ret < 0) {
		name_object(err, pb, bad_id);
		goto cleanup;
	}
	if (!lf->la) {
		ret = lb_agent_open(LB_TABLE, lf->wg[0] ? lf->wg : NULL, &lf->la);
		if (ret < 0) {
			snprintf(err->message, sizeof(err->message),
			         "cannot open the load balancer: %s", strerror(-ret));
			goto cleanup;
		}
	}
	ret = lb_agent_apply(lf->la, &cfg, err->message, sizeof(err->message), &bad_id);
	if (ret < 0) {
		name_object(err, pb, bad_id);
		goto cleanup;
	}
	lf->applied = cfg.n > 0;
cleanup:
	lb_config_free(&cfg);
	return ret;
}

static void reports_free(struct lb_fn *lf)
{
	free(lf->hb);
	free(lf->hb_ptrs);
	free(lf->addrs);
	lf->hb = NULL;
	lf->hb_ptrs = NULL;
	lf->addrs = NULL;
}

static int lb_fn_observe(void *priv, Netfn__SyncRequest *req)
{
	struct lb_fn *lf = priv;
	Netfn__SectionStatus *st = NULL;
	struct lb_report *r = NULL;
	size_t n = 0;
	int ret;

	reports_free(lf);
	if (!lf->applied)
		return 0;
	for (size_t i = 0; i < req->n_sections && !st; i++)
		if (strcmp(req->sections[i]->function, reconcile_fn_lb.name) == 0)
			st = req->sections[i];
	if (!st)
		return -ENOENT;
	ret = lb_agent_reports(lf->la, &r, &n);
	if (ret < 0 || n == 0)
		goto cleanup;
	lf->hb = calloc(n, sizeof(*lf->hb));
	lf->hb_ptrs = calloc(n, sizeof(*lf->hb_ptrs));
	lf->addrs = calloc(n, sizeof(*lf->addrs));
	if (!lf->hb || !lf->hb_ptrs || !lf->addrs) {
		reports_free(lf);
		ret = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		netfn__lb_backend_health__init(&lf->hb[i]);
		lf->hb[i].lb_id = r[i].lb_id;
		lf->hb[i].address =
		    (char *)inet_ntop(AF_INET, &r[i].addr, lf->addrs[i], sizeof(lf->addrs[i]));
		lf->hb[i].port = r[i].port;
		lf->hb[i].healthy = r[i].healthy;
		lf->hb[i].connections = r[i].connections;
		lf->hb_ptrs[i] = &lf->hb[i];
	}
	st->n_backends = n;
	st->backends = lf->hb_ptrs;
cleanup:
	free(r);
	return ret;
}

static int lb_fn_teardown(void *priv)
{
	struct lb_fn *lf = priv;

	/* No section was ever applied by this process: there is nothing of ours to remove. */
	if (!lf->la)
		return 0;
	lf->applied = false;
	return lb_agent_teardown(lf->la);
}

static void lb_fn_close(void *priv)
{
	struct lb_fn *lf = priv;

	if (!lf)
		return;
	lb_agent_close(lf->la);
	reports_free(lf);
	free(lf);
}

const struct reconcile_fn reconcile_fn_lb = {
    .name = "lb",
    .open = lb_fn_open,
    .apply = lb_fn_apply,
    .observe = lb_fn_observe,
    .teardown = lb_fn_teardown,
    .close = lb_fn_close,
};
