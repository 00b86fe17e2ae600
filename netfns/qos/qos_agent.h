/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The traffic classes' agent half: brings the overlay interface's HTB tree
 * (over rtnetlink, netfns/kernel/tc.h) and the agent's own nftables table of
 * packet marks (`meta priority set 1:<minor>`, family ip) to a qos_config,
 * and reads each class's counters back. The interface is ours: a root qdisc
 * found on it that is not our HTB is replaced.
 */
#ifndef NETFN_QOS_AGENT_H
#define NETFN_QOS_AGENT_H

#include <stddef.h>

#include "netfns/firewall/nft.h"
#include "netfns/qos/qos.h"

/* The HTB qdisc's major number: every class id is 1:<minor>. */
#define QOS_MAJOR 1
/* The root class under the qdisc, at the link rate. */
#define QOS_MINOR_ROOT 1

struct qos_agent;

/* Opens the sockets; changes nothing. wg_ifname is the interface to shape. */
int qos_agent_open(const char *table, const char *wg_ifname, struct qos_agent **out);

/*
 * Shapes ifname instead of the overlay interface: the first device the
 * overlay's packets leave through when the flow filters' datapath is there
 * (FLOW_DP_TX; past the bridge they have lost their marks). The marks still
 * match on the overlay interface. -EINVAL on a bad name.
 */
int qos_agent_shape_on(struct qos_agent *qa, const char *ifname);

/*
 * Brings the interface and the table to cfg (no classes: neither has
 * anything of ours). -errno with the reason, naming the class, in err.
 */
int qos_agent_apply(struct qos_agent *qa, const struct qos_config *cfg, char *err, size_t errlen);

/* Reads every class's counters, named; *out malloc'd (NULL when none). */
int qos_agent_counters(struct qos_agent *qa, struct qos_counter **out, size_t *n);

/* Removes our root qdisc and our table. */
int qos_agent_teardown(struct qos_agent *qa);

/* Closes the sockets leaving the system as it is; accepts NULL. */
void qos_agent_close(struct qos_agent *qa);

/*
 * Adds to b the messages that make table (family ip) mark cfg's traffic
 * leaving wg: the table, its postrouting chain, all its old rules deleted,
 * one rule per match (cookie: the class's minor). Exposed for unit tests.
 */
int qos_nft_put_apply(struct nft_batch *b, const char *table, const char *wg,
                      const struct qos_config *cfg);

/* The HTB rate of the default class: what the floors leave, but at least 1% of the link. */
uint64_t qos_default_rate(const struct qos_config *cfg);

#endif
