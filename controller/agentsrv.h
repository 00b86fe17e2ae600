/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent endpoint: sealed Enroll and long-poll Sync. A Sync whose node has
 * nothing newer is parked until a change wakes it or the heartbeat interval
 * passes. The latest WireGuard statistics and firewall rule counters each
 * agent reported are kept in memory for the API.
 */
#ifndef NETFN_CONTROLLER_AGENTSRV_H
#define NETFN_CONTROLLER_AGENTSRV_H

#include <stddef.h>
#include <stdint.h>

#include "controller/ctl.h"
#include "netfns/firewall/fw.h"
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

/* Stops the endpoint; accepts NULL. */
void agentsrv_stop(struct agentsrv *a);

#endif
