/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the compiler driver (compile.c) and its rows, one per network
 * function (compile_vpn.c, compile_fw.c, compile_lb.c, compile_dns.c,
 * compile_qos.c, compile_flow.c), share: the network context the driver loads once for
 * every row, the lookups rows make in it, and the row type itself. Not for
 * use outside the compiler.
 */
#ifndef NETFN_CONTROLLER_COMPILE_INT_H
#define NETFN_CONTROLLER_COMPILE_INT_H

#include <stdint.h>

#include "controller/compile.h"
#include "controller/store/store.h"
#include "proto/netfn.pb-c.h"

struct nodevec {
	size_t n, cap;
	struct st_node *v;
};

/* A network, its nodes and its placed load balancers, loaded once for every function. */
struct netctx {
	struct st_network net;
	struct nodevec nodes; /* by id */
	size_t n_lbs, cap_lbs;
	struct st_lb *lbs; /* by id */
	size_t n_pl, cap_pl;
	struct st_placement *pl; /* of those load balancers, by lb id then slot */
	size_t n_clients, cap_clients;
	struct st_client *clients; /* external clients whose key has not expired, by id */
	size_t n_gw, cap_gw;
	struct st_placement *gw; /* those clients' gateways, by client id */
	int64_t now;             /* what "expired" is measured against */
};

/* One network function's controller half, as the driver calls it. */
struct compile_fn {
	const char *name; /* the sections table's function */
	/* Loads what the function needs of the network. */
	int (*open)(struct store *s, const struct netctx *nc, void **priv);
	/* Builds node_id's section at revision, malloc'd. */
	int (*build)(void *priv, int64_t node_id, uint64_t revision, ProtobufCMessage **out);
	/* Hands a built section to cfg, which owns it from then on. */
	void (*attach)(Netfn__NodeConfig *cfg, ProtobufCMessage *pb);
	void (*pb_free)(ProtobufCMessage *pb);
	void (*close)(void *priv);
};

/* Loads network_id, its nodes, its placed load balancers and its live clients into nc. */
int compile_netctx_load(struct store *s, int64_t network_id, struct netctx *nc);

/* Frees what compile_netctx_load loaded and zeroes nc; safe on a zeroed nc. */
void compile_netctx_free(struct netctx *nc);

/* The load balancer of nc with that id, or NULL. */
const struct st_lb *compile_find_lb(const struct netctx *nc, int64_t id);

/* The live client of nc with that id, or NULL. */
const struct st_client *compile_find_client(const struct netctx *nc, int64_t id);

/* The rows, in compile_<fn>.c; the driver's table lists them in this order. */
extern const struct compile_fn compile_fn_vpn, compile_fn_firewall, compile_fn_lb, compile_fn_dns,
    compile_fn_qos, compile_fn_flow;

#endif
