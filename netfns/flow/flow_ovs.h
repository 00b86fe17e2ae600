/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's Open vSwitch bridge, programmed with libopenvswitch: the
 * bridge and its ports through OVSDB (JSON-RPC on db.sock), flows through
 * OpenFlow 1.3 on the bridge's management socket (<rundir>/<bridge>.mgmt).
 *
 * Flows (table 0): per port a base flow, priority 0, in_port=PORT,
 * actions=in_port (packets go back where they came from: the datapath,
 * flow_dp.h, returns them to the overlay interface); per filter a flow at
 * the filter's priority, ip plus its matches, actions=in_port (allow) or
 * none (drop). All carry FLOW_COOKIE_TAG | id (flow.h).
 *
 * Every change is one OpenFlow bundle (ordered, atomic) of only what
 * differs from what is installed (unchanged flows keep their counters),
 * followed by a barrier: flow_ovs_apply returns 0 only after the barrier
 * reply. Flows with other cookies are never modified or deleted. When the
 * connection drops or ovs-vswitchd restarts, the next call reconnects,
 * re-ensures the bridge and brings the flows back to the last applied
 * config.
 */
#ifndef NETFN_FLOW_OVS_H
#define NETFN_FLOW_OVS_H

#include <stddef.h>

#include "netfns/flow/flow.h"

struct flow_ovs;

struct flow_ovs_opts {
	const char *rundir;       /* holds db.sock and <bridge>.mgmt, e.g. /run/openvswitch */
	const char *bridge;       /* e.g. "nf-br" */
	const char *const *ports; /* system ports of the bridge (the datapath's veth ends) */
	size_t n_ports;
};

/* Copies opts; no I/O. -EINVAL on a bad option. */
int flow_ovs_open(const struct flow_ovs_opts *opts, struct flow_ovs **out);

/*
 * Makes the bridge (datapath_type netdev, fail_mode secure, OpenFlow13 only)
 * and its ports exist in OVSDB, leaving other bridges and anything else of
 * the bridge as it is, and connects OpenFlow. Idempotent. -errno with the
 * reason in err ("ovsdb unix:/run/openvswitch/db.sock: Connection refused").
 */
int flow_ovs_ensure(struct flow_ovs *o, char *err, size_t errlen);

/*
 * Brings the bridge's flows with our cookie to exactly the base flows plus
 * cfg's filters (see above); ensures first. On failure nothing changed
 * (the bundle is discarded) and the last applied config stays the one
 * resynced to. -errno with the reason in err.
 */
int flow_ovs_apply(struct flow_ovs *o, const struct flow_config *cfg, char *err, size_t errlen);

/*
 * Reads the counters of our flows (OpenFlow flow statistics, our cookie
 * only): one per filter of the last applied config, then id 0 for the
 * whole bridge (the sum over all our flows). *out is malloc'd. Reconnects
 * and resyncs first when the connection dropped or ovs-vswitchd restarted.
 */
int flow_ovs_stats(struct flow_ovs *o, struct flow_counter **out, size_t *n, char *err,
                   size_t errlen);

/* Deletes our flows, then the bridge if no other flows remain on it. */
int flow_ovs_teardown(struct flow_ovs *o, char *err, size_t errlen);

/* Closes the connections, leaving the bridge and flows as they are; accepts NULL. */
void flow_ovs_close(struct flow_ovs *o);

#endif
