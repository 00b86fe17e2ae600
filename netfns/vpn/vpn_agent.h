/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent half of the vpn function: keeps one WireGuard interface in the
 * state a vpn_config asks for. The interface is driven through the kernel's
 * generic netlink WireGuard family when the kernel has it, otherwise through
 * a wireguard-go process and its UAPI socket; addresses, MTU, link state and
 * routes go over rtnetlink. Applying is a diff against what is running, so
 * applying the same config twice changes nothing.
 */
#ifndef NETFN_VPN_AGENT_H
#define NETFN_VPN_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "netfns/vpn/vpn.h"

struct vpn_agent;

/* What observe reports for one peer. */
struct vpn_peer_stat {
	uint8_t public_key[VPN_KEY_LEN];
	char endpoint[VPN_ENDPOINT_MAX];
	int64_t last_handshake; /* unix seconds; 0 never */
	uint64_t rx_bytes;
	uint64_t tx_bytes;
};

/*
 * Opens the agent half for interface ifname with the node's WireGuard
 * private key (copied, wiped on close). Creates nothing yet.
 */
int vpn_agent_open(const char *ifname, const uint8_t private_key[VPN_KEY_LEN],
                   struct vpn_agent **out);

/*
 * Brings the interface to cfg: creates it if missing (never tears down an
 * existing one first), sets key, port, peers (one set call, only the
 * difference), address, MTU, up, routes and forwarding. On failure returns
 * -errno and writes the reason (naming the object, e.g. a peer or route)
 * into err.
 */
int vpn_agent_apply(struct vpn_agent *va, const struct vpn_config *cfg, char *err, size_t errlen);

/* Reads per-peer statistics; *stats is malloc'd. */
int vpn_agent_observe(struct vpn_agent *va, struct vpn_peer_stat **stats, size_t *n);

/* Removes the interface (and stops wireguard-go): for --cleanup-on-exit. */
int vpn_agent_teardown(struct vpn_agent *va);

/* Frees the handle, leaving the interface as it is; accepts NULL. */
void vpn_agent_close(struct vpn_agent *va);

#endif
