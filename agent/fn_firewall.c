// SPDX-License-Identifier: Apache-2.0
/*
 * The firewall row of the reconcile table: glue between the protobuf
 * FirewallSection and the firewall's agent half. It validates the section
 * with conv_fw_from_pb (nothing unvalidated reaches nftables), adds the
 * controller endpoints the agent's own session uses (default deny must keep
 * them open, and only the agent knows them), applies it, and reports each
 * rule's counters in the firewall's SectionStatus.
 *
 * Nothing is opened or created until a firewall section arrives: an agent
 * whose node has no firewall never touches nftables.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/reconcile.h"
#include "netfns/common/log.h"
#include "netfns/firewall/fw_agent.h"
#include "proto/conv_fw.h"

/* The one nftables table the agent owns (family inet). */
#define FW_TABLE "netfn"

struct fw_fn {
	struct fw_agent *fa; /* opened at the first apply */
	size_t n_keep;
	struct sockaddr_storage keep[FW_MAX_KEEP];
	bool applied; /* a revision was applied by this process: counters mean something */
	Netfn__RuleCounter *ctr;
	Netfn__RuleCounter **ctr_ptrs;
};

/*
 * The endpoint of a controller URL ("tcp://192.0.2.1:7001",
 * "tls+tcp://[2001:db8::1]:7001"). A host name is not resolved here: the
 * session's connection is still kept by the established/related rule.
 */
static bool url_endpoint(const char *url, struct sockaddr_storage *out)
{
	const char *p = strstr(url, "://");

	return p && nf_endpoint_parse(p + 3, out);
}

static int fw_fn_open(const struct reconcile_env *env, void **priv)
{
	struct fw_fn *ff = calloc(1, sizeof(*ff));

	if (!ff)
		return -ENOMEM;
	for (size_t i = 0; i < env->n_controllers && ff->n_keep < FW_MAX_KEEP; i++) {
		if (url_endpoint(env->controllers[i], &ff->keep[ff->n_keep]))
			ff->n_keep++;
		else
			nf_info("firewall: controller %s is not an IP endpoint; default deny keeps "
			        "its session as an established connection only",
			        env->controllers[i]);
	}
	*priv = ff;
	return 0;
}

/* "rule 17" when one rule is to blame, else the section ("firewall" via the driver). */
static void name_object(struct reconcile_error *err, uint64_t bad_rule)
{
	if (bad_rule)
		snprintf(err->object, sizeof(err->object), "rule %" PRIu64, bad_rule);
}

static int fw_fn_apply(void *priv, const ProtobufCMessage *section, struct reconcile_error *err)
{
	struct fw_fn *ff = priv;
	struct fw_config cfg = {0};
	uint64_t bad_rule = 0;
	int ret;

	/* A section that does not validate is refused before nftables is touched. */
	ret = conv_fw_from_pb((const Netfn__FirewallSection *)section, &cfg, err->message,
	                      sizeof(err->message), &bad_rule);
	if (ret < 0) {
		name_object(err, bad_rule);
		goto cleanup;
	}
	cfg.n_keep = ff->n_keep;
	memcpy(cfg.keep, ff->keep, sizeof(cfg.keep));
	if (!ff->fa) {
		ret = fw_agent_open(FW_TABLE, &ff->fa);
		if (ret < 0) {
			snprintf(err->message, sizeof(err->message), "cannot open nftables: %s",
			         strerror(-ret));
			goto cleanup;
		}
	}
	if (cfg.n_rules == 0 && !cfg.default_deny) {
		/*
		 * No policy selects this node: it gets no table at all, so a VM
		 * without a firewall has no hooks of ours on its packet path.
		 */
		ret = fw_agent_teardown(ff->fa);
		if (ret < 0)
			snprintf(err->message, sizeof(err->message),
			         "cannot remove table inet %s: %s", FW_TABLE, strerror(-ret));
		else
			ff->applied = false;
		goto cleanup;
	}
	ret = fw_agent_apply(ff->fa, &cfg, err->message, sizeof(err->message), &bad_rule);
	if (ret < 0) {
		name_object(err, bad_rule);
		goto cleanup;
	}
	ff->applied = true;
cleanup:
	fw_config_free(&cfg);
	return ret;
}

static void counters_free(struct fw_fn *ff)
{
	free(ff->ctr);
	free(ff->ctr_ptrs);
	ff->ctr = NULL;
	ff->ctr_ptrs = NULL;
}

static int fw_fn_observe(void *priv, Netfn__SyncRequest *req)
{
	struct fw_fn *ff = priv;
	Netfn__SectionStatus *st = NULL;
	struct fw_counter *c = NULL;
	size_t n = 0;
	int ret;

	counters_free(ff);
	if (!ff->applied)
		return 0;
	for (size_t i = 0; i < req->n_sections && !st; i++)
		if (strcmp(req->sections[i]->function, reconcile_fn_firewall.name) == 0)
			st = req->sections[i];
	if (!st)
		return -ENOENT;
	ret = fw_agent_counters(ff->fa, &c, &n);
	if (ret < 0 || n == 0)
		goto cleanup;
	ff->ctr = calloc(n, sizeof(*ff->ctr));
	ff->ctr_ptrs = calloc(n, sizeof(*ff->ctr_ptrs));
	if (!ff->ctr || !ff->ctr_ptrs) {
		counters_free(ff);
		ret = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		netfn__rule_counter__init(&ff->ctr[i]);
		ff->ctr[i].rule_id = c[i].rule_id;
		ff->ctr[i].packets = c[i].packets;
		ff->ctr[i].bytes = c[i].bytes;
		ff->ctr_ptrs[i] = &ff->ctr[i];
	}
	st->n_counters = n;
	st->counters = ff->ctr_ptrs;
cleanup:
	free(c);
	return ret;
}

static int fw_fn_teardown(void *priv)
{
	struct fw_fn *ff = priv;

	/* No section was ever applied by this process: there is nothing of ours to remove. */
	if (!ff->fa)
		return 0;
	ff->applied = false;
	return fw_agent_teardown(ff->fa);
}

static void fw_fn_close(void *priv)
{
	struct fw_fn *ff = priv;

	if (!ff)
		return;
	fw_agent_close(ff->fa);
	counters_free(ff);
	free(ff);
}

const struct reconcile_fn reconcile_fn_firewall = {
    .name = "firewall",
    .open = fw_fn_open,
    .apply = fw_fn_apply,
    .observe = fw_fn_observe,
    .teardown = fw_fn_teardown,
    .close = fw_fn_close,
};
