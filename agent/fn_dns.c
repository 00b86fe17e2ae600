// SPDX-License-Identifier: Apache-2.0
/*
 * The overlay DNS row of the reconcile table: glue between the protobuf
 * DnsSection and the DNS function's agent half. It validates the section
 * with conv_dns_from_pb (no name, address or text reaches the resolver
 * settings or dnsmasq's config unchecked) and applies it. dnsmasq's files
 * live in "dns" under the agent's state directory.
 *
 * The agent half is opened at the first dns section, even one without a
 * zone: an earlier run may have left resolver settings or a server that
 * such a section must remove.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/reconcile.h"
#include "netfns/common/log.h"
#include "netfns/dns/dns_agent.h"
#include "proto/conv_dns.h"

/* The one nftables table the agent's DNS function owns (family ip). */
#define DNS_TABLE "netfn_dns"

struct dns_fn {
	char wg[64];
	char dir[PATH_MAX];   /* "" : no state dir, this node cannot serve */
	struct dns_agent *da; /* opened at the first apply */
};

static int dns_fn_open(const struct reconcile_env *env, void **priv)
{
	struct dns_fn *df = calloc(1, sizeof(*df));
	char *abs = NULL;

	if (!df)
		return -ENOMEM;
	snprintf(df->wg, sizeof(df->wg), "%s", env->wg_ifname ? env->wg_ifname : "");
	/* Absolute: the path goes into dnsmasq's config, which runs from "/". */
	if (env->state_dir && (abs = realpath(env->state_dir, NULL)))
		snprintf(df->dir, sizeof(df->dir), "%s/dns", abs);
	free(abs);
	*priv = df;
	return 0;
}

static int dns_fn_apply(void *priv, const ProtobufCMessage *section, struct reconcile_error *err)
{
	struct dns_fn *df = priv;
	struct dns_config cfg = {0};
	int ret;

	/* A section that does not validate is refused before anything changes. */
	ret = conv_dns_from_pb((const Netfn__DnsSection *)section, &cfg, err->message,
	                       sizeof(err->message));
	if (ret < 0)
		goto cleanup;
	if (cfg.zone[0])
		snprintf(err->object, sizeof(err->object), "zone %.120s", cfg.zone);
	if (!df->da) {
		struct dns_agent_opts o = {
		    .dir = df->dir[0] ? df->dir : NULL,
		    .wg_ifname = df->wg[0] ? df->wg : NULL,
		    .table = DNS_TABLE,
		};

		ret = dns_agent_open(&o, &df->da);
		if (ret < 0) {
			snprintf(err->message, sizeof(err->message),
			         "cannot open the DNS function (state dir %.120s): %s",
			         df->dir[0] ? df->dir : "none", strerror(-ret));
			goto cleanup;
		}
	}
	ret = dns_agent_apply(df->da, &cfg, err->message, sizeof(err->message));
cleanup:
	dns_config_free(&cfg);
	return ret;
}

static int dns_fn_teardown(void *priv)
{
	struct dns_fn *df = priv;

	/* No section was ever applied by this process: there is nothing of ours to remove. */
	if (!df->da)
		return 0;
	return dns_agent_teardown(df->da);
}

static void dns_fn_close(void *priv)
{
	struct dns_fn *df = priv;

	if (!df)
		return;
	dns_agent_close(df->da);
	free(df);
}

const struct reconcile_fn reconcile_fn_dns = {
    .name = "dns",
    .open = dns_fn_open,
    .apply = dns_fn_apply,
    .observe = NULL,
    .teardown = dns_fn_teardown,
    .close = dns_fn_close,
};
