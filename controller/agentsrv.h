/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent endpoint: sealed Enroll and long-poll Sync. A Sync whose node has
 * nothing newer is parked until a change wakes it or the heartbeat interval
 * passes. The latest WireGuard statistics and firewall rule counters each
 * agent reported are kept in memory for the API.
 */
#ifndef NETFN_CONTROLLER_AGENTSRV_H
#define NETFN_CONTROLLER_AGENTSRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controller/ctl.h"
#include "netfns/firewall/fw.h"
#include "netfns/lb/lb.h"
#include "netfns/flow/flow.h"
#include "netfns/qos/qos.h"
#include "netfns/vpn/vpn_agent.h"

struct agentsrv;

/* One peer as an agent last reported it. */
struct agentsrv_peer {
	struct vpn_peer_stat stat;
	char name[VPN_NAME_MAX];
};

/* Starts serving agents on urls. */
int agentsrv_start(struct ctl *c, const char *const *urls, size_t n, struct agentsrv **out);

/* Wakes the parked syncs of these nodes (call with ctl->lock held, after commit). */
void agentsrv_wake(struct agentsrv *a, const int64_t *ids, size_t n);

/* Copies the peer statistics node_id last reported; *out is malloc'd. */
int agentsrv_peer_stats(struct agentsrv *a, int64_t node_id, struct agentsrv_peer **out, size_t *n);

/*
 * Sums, over every node, the firewall counters each last reported for the
 * rules ids[0..n): out[i] gets ids[i]'s (zero when none reported it).
 * Accepts a NULL a (no agents: all zero).
 */
void agentsrv_fw_counters(struct agentsrv *a, const uint64_t *ids, size_t n,
                          struct fw_counter *out);

/* One backend of a load balancer as one hosting node last reported it. */
struct agentsrv_lb_report {
	int64_t host_node_id;
	struct lb_report r;
};

/*
 * Copies what every node last reported about load balancer lb_id's backends;
 * *out is malloc'd (NULL with *n 0 when nothing). Accepts a NULL a.
 */
int agentsrv_lb_reports(struct agentsrv *a, uint64_t lb_id, struct agentsrv_lb_report **out,
                        size_t *n);

/* One traffic class's counters as one node last reported them. */
struct agentsrv_qos_counter {
	int64_t node_id;
	struct qos_counter c;
};

/*
 * Copies what every node last reported about the traffic class called name
 * (callers keep the nodes of its network); *out is malloc'd (NULL with *n 0
 * when nothing). Accepts a NULL a.
 */
int agentsrv_qos_counters(struct agentsrv *a, const char *name, struct agentsrv_qos_counter **out,
                          size_t *n);

/* A node's flow counters as it last reported them: per filter, id 0 its whole bridge. */
struct agentsrv_flow_counter {
	int64_t node_id;
	int64_t at; /* when the report arrived (unix seconds) */
	struct flow_counter c;
};

/*
 * Copies what node_id (0: every node) last reported of its flow filters'
 * counters, ordered by node then as reported; *out is malloc'd (NULL with *n
 * 0 when nothing). Accepts a NULL a.
 */
int agentsrv_flow_counters(struct agentsrv *a, int64_t node_id, struct agentsrv_flow_counter **out,
                           size_t *n);

/*
 * Whether node_id counts as live for the scheduler: a sync or enroll from it
 * arrived within the last CTL_DEAD_BEATS heartbeats. For the first
 * CTL_DEAD_BEATS heartbeats after the endpoint started every node counts as
 * live (its agents have not had the time to call). ctx is the agentsrv;
 * matches sched_alive_fn.
 */
bool agentsrv_alive(void *ctx, int64_t node_id);

/* Stops the endpoint; accepts NULL. */
void agentsrv_stop(struct agentsrv *a);

#endif
