/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The load balancer's agent half: keeps the agent's own nftables table
 * (family ip) in the state of the last lb_config applied and of its backends'
 * health, runs the health checker, and reports per backend its health and
 * the new connections this host sent it. Applies come from the reconcile
 * thread and, when a backend changes state, from the checker's thread; a
 * mutex makes them take turns, and each is one nftables transaction.
 */
#ifndef NETFN_LB_LB_AGENT_H
#define NETFN_LB_LB_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "netfns/lb/lb.h"

struct lb_agent;

/*
 * Opens the nftables and rtnetlink sockets and starts the health checker;
 * changes nothing. wg_ifname (may be NULL) is the overlay's interface, on
 * which a host with frontends forwards.
 */
int lb_agent_open(const char *table, const char *wg_ifname, struct lb_agent **out);

/*
 * Brings the table to cfg in one transaction; a config without frontends
 * deletes the table. With frontends, IPv4 forwarding is turned on on the
 * overlay's interface and on the interfaces leading to backends outside it.
 * On failure the kernel keeps the previous state, err says why and *bad_id
 * names the frontend at fault (0: none in particular).
 */
int lb_agent_apply(struct lb_agent *la, const struct lb_config *cfg, char *err, size_t errlen,
                   uint64_t *bad_id);

/*
 * Each backend of the applied config with its health and its counter of new
 * connections; *out is malloc'd (NULL when none).
 */
int lb_agent_reports(struct lb_agent *la, struct lb_report **out, size_t *n);

/* Deletes the table and stops checking; forwarding settings are left as they are. */
int lb_agent_teardown(struct lb_agent *la);

/* Stops the checker and closes the sockets, leaving the kernel as it is; accepts NULL. */
void lb_agent_close(struct lb_agent *la);

#endif
