/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-node compiler driver: turns the stored network, its nodes, its
 * firewall policies, its load balancers and its DNS records into each
 * node's sections (one per network function: vpn, firewall, lb, dns, qos), bumps
 * a node's desired revision of a function only when that section really
 * changed (by hash), and builds the NodeConfig sent to an agent.
 */
#ifndef NETFN_CONTROLLER_COMPILE_H
#define NETFN_CONTROLLER_COMPILE_H

#include "controller/ctl.h"
#include "netfns/firewall/fw.h"
#include "netfns/vpn/vpn.h"
#include "proto/netfn.pb-c.h"

/*
 * Recompiles every function's section of every node of network_id; inside a
 * store transaction. Each section that changed gets a new desired revision;
 * nodes with any changed section are appended to changed (when not NULL).
 */
int compile_network(struct store *s, int64_t network_id, struct idvec *changed);

/* Compiles node's vpn section at its desired revision into out. */
int compile_node_vpn(struct store *s, const struct st_node *node, struct vpn_config *out);

/* Compiles node's firewall section at its desired revision into out. */
int compile_node_firewall(struct store *s, const struct st_node *node, struct fw_config *out);

/*
 * Builds the NodeConfig for node, each function's section at its desired
 * revision; functions the node has no section of are left out (free with
 * compile_config_free).
 */
int compile_node_config(struct store *s, const struct st_node *node, Netfn__NodeConfig **out);

/*
 * Writes net's overlay DNS zone, "<name>.<domain>" (the default domain when
 * none is stored), into out; -ENAMETOOLONG when it is not a valid length.
 */
int compile_dns_zone(const struct st_network *net, char *out, size_t len);

/* Frees what compile_node_config built; accepts NULL. */
void compile_config_free(Netfn__NodeConfig *cfg);

#endif
