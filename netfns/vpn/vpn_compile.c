// SPDX-License-Identifier: Apache-2.0
/*
 * The controller half of the vpn function: one node's WireGuard section from
 * the network and its members. Pure and deterministic (peers sorted by key),
 * so the controller can hash the result and bump a node's revision only when
 * its section really changed.
 */
#include "netfns/vpn/vpn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_peer(const void *a, const void *b)
{
	return memcmp(((const struct vpn_peer *)a)->public_key,
	              ((const struct vpn_peer *)b)->public_key, VPN_KEY_LEN);
}

static void host_prefix(struct in_addr a, struct nf_prefix *out)
{
	memset(out, 0, sizeof(*out));
	out->family = AF_INET;
	out->addr.v4 = a;
	out->len = 32;
}

/*
 * Fills peer from member m, routing allowed (copied) and, with extra, m's
 * extra prefixes after it.
 */
static int fill_peer(struct vpn_peer *peer, const struct vpn_member *m,
                     const struct nf_prefix *allowed, bool extra, uint16_t keepalive)
{
	size_t n_extra = extra ? m->n_extra : 0;

	memcpy(peer->public_key, m->public_key, VPN_KEY_LEN);
	snprintf(peer->name, sizeof(peer->name), "%s", m->name);
	if (m->n_endpoints)
		snprintf(peer->endpoint, sizeof(peer->endpoint), "%s", m->endpoints[0]);
	peer->allowed = calloc(1 + n_extra, sizeof(*peer->allowed));
	if (!peer->allowed)
		return -ENOMEM;
	peer->allowed[0] = *allowed;
	if (n_extra)
		memcpy(&peer->allowed[1], m->extra, n_extra * sizeof(*m->extra));
	peer->n_allowed = 1 + n_extra;
	peer->keepalive = keepalive;
	return 0;
}

/*
 * Adds a peer for each client whose gateway self is: its address only, no
 * endpoint (a laptop dials in from wherever it is) and no keepalive (the
 * client's own keeps its NAT open). A gateway forwards between its clients
 * and the overlay. out->peers has room for every member.
 */
static int add_clients(struct vpn_config *out, const struct vpn_member *self,
                       const struct vpn_member *members, size_t n)
{
	struct nf_prefix allowed;
	int ret;

	for (size_t i = 0; i < n; i++) {
		const struct vpn_member *m = &members[i];

		if (m->gateway_id != self->id)
			continue;
		host_prefix(m->address, &allowed);
		ret = fill_peer(&out->peers[out->n_peers], m, &allowed, false, 0);
		if (ret)
			return ret;
		out->n_peers++;
		out->forward = true;
	}
	return 0;
}

int vpn_compile(const struct vpn_network *net, const struct vpn_member *members, size_t n,
                int64_t self_id, struct vpn_config *out)
{
	const struct vpn_member *self = NULL, *hub = NULL;
	struct nf_prefix allowed;
	uint16_t keepalive;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		if (members[i].id == self_id)
			self = &members[i];
		if (net->topology == VPN_HUB && members[i].id == net->hub_node_id &&
		    !members[i].gateway_id)
			hub = &members[i];
	}
	if (!self || self->gateway_id)
		return -ENOENT;

	host_prefix(self->address, &out->address);
	out->address.len = net->cidr.len;
	out->listen_port = net->port;
	out->mtu = net->mtu;
	/* A node nobody can dial keeps its NAT mapping open for the others. */
	keepalive = self->n_endpoints ? 0 : VPN_KEEPALIVE;

	out->peers = calloc(n ? n : 1, sizeof(*out->peers));
	if (!out->peers)
		return -ENOMEM;

	if (net->topology == VPN_HUB && self != hub) {
		/* A spoke talks to the hub only, which routes the whole network
		 * (the hub's extra prefixes are overlay addresses, inside it). */
		if (hub) {
			ret = fill_peer(&out->peers[0], hub, &net->cidr, false, VPN_KEEPALIVE);
			if (ret)
				goto cleanup;
			out->n_peers = 1;
		}
		/* A spoke may still be some clients' gateway. */
		ret = add_clients(out, self, members, n);
		if (ret)
			goto cleanup;
		qsort(out->peers, out->n_peers, sizeof(*out->peers), cmp_peer);
		return 0;
	}

	out->forward = net->topology == VPN_HUB;
	for (size_t i = 0; i < n; i++) {
		if (&members[i] == self || members[i].gateway_id)
			continue;
		host_prefix(members[i].address, &allowed);
		ret = fill_peer(&out->peers[out->n_peers], &members[i], &allowed, true, keepalive);
		if (ret)
			goto cleanup;
		out->n_peers++;
	}
	ret = add_clients(out, self, members, n);
	if (ret)
		goto cleanup;
	qsort(out->peers, out->n_peers, sizeof(*out->peers), cmp_peer);
	return 0;

cleanup:
	vpn_config_free(out);
	return ret;
}

void vpn_config_free(struct vpn_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_peers; i++)
		free(cfg->peers[i].allowed);
	free(cfg->peers);
	free(cfg->routes);
	memset(cfg, 0, sizeof(*cfg));
}
