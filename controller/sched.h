/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The scheduler: places every object that runs on some of a network's nodes
 * (load balancer frontends today; the DNS server, the client gateway and the
 * hub later) on eligible, live nodes, and moves a replica when its node dies,
 * is deleted or stops being eligible.
 *
 * Kinds of placed objects are rows of a const table (struct sched_kind): each
 * lists its objects' wants (a label selector and a replica count), so a new
 * kind adds a row, not code in the placement loop. A replica stays where it
 * is while its node is live and eligible (no churn when a node comes back);
 * an empty slot goes to the eligible live node hosting the fewest replicas of
 * any kind in the network, ties to the lowest node id, never two replicas of
 * one object on one node. Every placement made or dropped is an audit entry
 * (actor "scheduler") with its reason, in the same transaction.
 */
#ifndef NETFN_CONTROLLER_SCHED_H
#define NETFN_CONTROLLER_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "controller/store/store.h"

/* Whether node_id is live (heard from recently); ctx as registered. */
typedef bool (*sched_alive_fn)(void *ctx, int64_t node_id);

/*
 * Registers how liveness is known (the agent server's last contact times);
 * until then, or with NULL, every node counts as live. Process-wide: set
 * once at start, before serving.
 */
void sched_set_liveness(sched_alive_fn fn, void *ctx);

/* One object that wants placing. */
struct sched_want {
	int64_t object_id;
	char name[ST_NAME_MAX]; /* for audit entries */
	size_t n_selector;      /* eligible nodes carry all of these; 0: any node */
	struct st_label selector[ST_MAX_LABELS];
	uint32_t replicas;
	bool need_endpoint; /* only nodes with an endpoint others can reach (a gateway) */
};

typedef int (*sched_want_cb)(void *ctx, const struct sched_want *w);

/* A kind of placed object. */
struct sched_kind {
	const char *kind; /* st_placement.kind */
	/* Calls cb for each object of the kind in network_id. */
	int (*list)(struct store *s, int64_t network_id, sched_want_cb cb, void *ctx);
};

/*
 * Brings the placements of every object of network_id to what the rules
 * above say; inside the caller's transaction. *changed (may be NULL) says
 * whether any placement moved, appeared or went: the caller then recompiles.
 */
int sched_network(struct store *s, int64_t network_id, bool *changed);

#endif
