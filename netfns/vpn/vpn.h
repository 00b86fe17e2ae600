/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vpn network function as plain C values: the controller half compiles a
 * network and its members into one node's vpn_config; the agent half applies a
 * vpn_config to a WireGuard interface and reads back peer statistics. No
 * protobuf here: conversion happens at the RPC edge (proto/conv_vpn.c).
 */
#ifndef NETFN_VPN_H
#define NETFN_VPN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netfns/common/prefix.h"

#define VPN_NAME_MAX      64 /* node and network names: 1-63 chars + NUL */
#define VPN_ENDPOINT_MAX  64 /* "[v6]:port" fits */
#define VPN_MAX_ENDPOINTS 4
#define VPN_KEY_LEN       32
#define VPN_KEEPALIVE     25 /* seconds, for peers behind NAT */

enum vpn_topology { VPN_MESH = 0, VPN_HUB = 1 };

struct vpn_peer {
	uint8_t public_key[VPN_KEY_LEN];
	char name[VPN_NAME_MAX];
	char endpoint[VPN_ENDPOINT_MAX]; /* "" when the peer has none */
	size_t n_allowed;
	struct nf_prefix *allowed; /* owned */
	uint16_t keepalive;
};

/* One node's desired vpn section. */
struct vpn_config {
	uint64_t revision;
	struct nf_prefix address; /* the node's overlay address, with the network prefix length */
	uint16_t listen_port;
	uint32_t mtu;
	bool forward;
	size_t n_peers;
	struct vpn_peer *peers; /* owned, sorted by public key */
	size_t n_routes;
	struct nf_prefix *routes; /* owned */
};

/* A network as the compiler sees it. */
struct vpn_network {
	struct nf_prefix cidr;
	uint16_t port;
	uint32_t mtu;
	enum vpn_topology topology;
	int64_t hub_node_id; /* 0: none */
};

/*
 * A member as the compiler sees it: a node, or an external client (a machine
 * with no agent, never compiled for) that only its gateway node peers with.
 */
struct vpn_member {
	int64_t id;         /* unique among the members; a client's never a node's */
	int64_t gateway_id; /* a client's gateway node; 0 for a node */
	char name[VPN_NAME_MAX];
	uint8_t public_key[VPN_KEY_LEN];
	struct in_addr address;
	size_t n_endpoints;
	char endpoints[VPN_MAX_ENDPOINTS][VPN_ENDPOINT_MAX];
	/* More prefixes routed to this member (a load balancer vip it hosts); not owned. */
	size_t n_extra;
	const struct nf_prefix *extra;
};

/*
 * Compiles the vpn section of member self_id of net, whose members are
 * members[0..n). Mesh: a peer for every other member. Hub: spokes get one
 * peer, the hub, routing the whole network; the hub gets every spoke and
 * forwards. A peer routes its member's address and extra prefixes. A client
 * is a peer of its gateway only (its address, no endpoint: it dials in), and
 * a gateway forwards; the others reach a client through the gateway's extra
 * prefixes, which the caller fills with its clients' addresses. Returns 0 or
 * -errno (-ENOENT when self_id is not a member, or is a client).
 */
int vpn_compile(const struct vpn_network *net, const struct vpn_member *members, size_t n,
                int64_t self_id, struct vpn_config *out);

/* Frees what a vpn_config owns and zeroes it; accepts a zeroed config. */
void vpn_config_free(struct vpn_config *cfg);

/*
 * Picks the lowest free host address of cidr (IPv4) not in used[0..n),
 * skipping the network and broadcast addresses. -ENOSPC when full.
 */
int vpn_ipam_alloc(const struct nf_prefix *cidr, const struct in_addr *used, size_t n,
                   struct in_addr *out);

#endif
