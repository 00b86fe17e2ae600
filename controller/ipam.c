// SPDX-License-Identifier: Apache-2.0
/*
 * Overlay addresses in use in a network (see ipam.h): the nodes' addresses,
 * the load balancers' vips and the external clients' addresses, read from
 * the store inside the caller's transaction, so the address handed out is
 * still free when the record holding it is written. An expired client keeps
 * its address until it is deleted: "expired" shows in the API, and a client
 * whose address came back to someone else could reach them again with its
 * old file were it ever renewed.
 */
#include "controller/ipam.h"

#include <errno.h>
#include <stdlib.h>

#include "netfns/common/log.h"
#include "netfns/common/prefix.h"
#include "netfns/vpn/vpn.h"

/* The addresses collected so far. */
struct used {
	size_t n, cap;
	struct in_addr *v;
};

static int used_add(struct used *u, uint32_t addr)
{
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 64;
		struct in_addr *v = realloc(u->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		u->v = v;
		u->cap = cap;
	}
	u->v[u->n++].s_addr = addr;
	return 0;
}

static int add_node(void *ctx, const struct st_node *n)
{
	return used_add(ctx, n->overlay_addr);
}

/* A load balancer without a vip serves on its hosts' own addresses: nothing to hold. */
static int add_vip(void *ctx, const struct st_lb *lb)
{
	return lb->vip ? used_add(ctx, lb->vip) : 0;
}

static int add_client(void *ctx, const struct st_client *c)
{
	return used_add(ctx, c->overlay_addr);
}

int ipam_used(struct store *s, int64_t network_id, struct in_addr **out, size_t *n)
{
	struct used u = {0};
	int ret;

	*out = NULL;
	*n = 0;
	ret = s->ops->node_list(s, network_id, add_node, &u);
	if (!ret)
		ret = s->ops->lb_list(s, network_id, add_vip, &u);
	if (!ret)
		ret = s->ops->client_list(s, network_id, add_client, &u);
	if (ret) {
		free(u.v);
		return ret;
	}
	*out = u.v;
	*n = u.n;
	return 0;
}

int ipam_taken(struct store *s, int64_t network_id, uint32_t addr, bool *taken)
{
	struct in_addr *v = NULL;
	size_t n = 0;
	int ret;

	*taken = false;
	ret = ipam_used(s, network_id, &v, &n);
	for (size_t i = 0; !ret && i < n && !*taken; i++)
		*taken = v[i].s_addr == addr;
	free(v);
	return ret;
}

int ipam_alloc(struct store *s, const struct st_network *net, struct in_addr *out)
{
	struct in_addr *v = NULL;
	struct nf_prefix cidr;
	size_t n = 0;
	int ret;

	/* Only what validated is ever stored; anything else is damage to the file. */
	if (!nf_prefix_parse(net->cidr, false, &cidr) || cidr.family != AF_INET) {
		nf_err("network %s: stored cidr '%s' does not parse", net->name, net->cidr);
		return -EIO;
	}
	ret = ipam_used(s, net->id, &v, &n);
	if (!ret)
		ret = vpn_ipam_alloc(&cidr, v, n, out);
	free(v);
	return ret;
}
