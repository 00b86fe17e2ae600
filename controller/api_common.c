// SPDX-License-Identifier: Apache-2.0
/*
 * What the object handlers (load balancers, DNS, clients) read alike:
 * store listings copied into the call's arena before anything else reads
 * the store, the network a call names (or the only one there is), and each
 * replica slot of a scheduled object as a Placement message, the node
 * holding it or the reason it is empty.
 */
#include "controller/api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "controller/validate.h"

/* Why a slot has no node: the scheduler found none it could use. */
#define UNPLACED "no eligible live node"

void *api_vec_push(struct api_call *c, struct api_vec *v, size_t size)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		void *nv = api_alloc(c, cap * size);

		if (!nv)
			return NULL;
		if (v->n)
			memcpy(nv, v->v, v->n * size);
		v->v = nv;
		v->cap = cap;
	}
	return memset((char *)v->v + v->n++ * size, 0, size);
}

int api_collect(void *ctx, const void *row, size_t size)
{
	struct api_collect *col = ctx;
	void *slot = api_vec_push(col->c, col->out, size);

	if (!slot)
		return -ENOMEM;
	memcpy(slot, row, size);
	return 0;
}

static int push_node(void *ctx, const struct st_node *n)
{
	return api_collect(ctx, n, sizeof(*n));
}

static int push_placement(void *ctx, const struct st_placement *p)
{
	return api_collect(ctx, p, sizeof(*p));
}

int api_nodes_of(struct api_call *c, int64_t network_id, struct api_vec *out)
{
	struct store *s = c->ctl->store;
	struct api_collect col = {c, out};

	return s->ops->node_list(s, network_id, push_node, &col);
}

int api_placements_of(struct api_call *c, const char *kind, int64_t object_id, struct api_vec *out)
{
	struct store *s = c->ctl->store;
	struct api_collect col = {c, out};

	return s->ops->placement_list(s, kind, object_id, push_placement, &col);
}

/* Counts networks, keeping the first. */
struct only {
	int count;
	struct st_network *net;
};

static int count_network(void *ctx, const struct st_network *n)
{
	struct only *o = ctx;

	if (o->count++ == 0)
		*o->net = *n;
	return 0;
}

int api_network_or_only(struct api_call *c, const char *name, const char *what,
                        struct st_network *out)
{
	struct store *s = c->ctl->store;
	struct only o = {0, out};
	char p[72];

	if (name[0]) {
		if (s->ops->network_get(s, name, out))
			return api_fail(c, NETFN__STATUS__NOT_FOUND, "network",
			                "network '%s' not found", printable(name, p, sizeof(p)));
		return 0;
	}
	if (s->ops->network_list(s, count_network, &o))
		return -EIO;
	if (o.count != 1)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "network",
		                "%s belongs to a network and there are %d: name one", what,
		                o.count);
	return 0;
}

static Netfn__Placement *placement_pb(struct api_call *c, uint32_t slot, const char *node,
                                      const char *address, int64_t since, const char *reason)
{
	Netfn__Placement *pb = api_alloc(c, sizeof(*pb));

	if (!pb)
		return NULL;
	netfn__placement__init(pb);
	pb->slot = slot;
	pb->node = api_strdup(c, node);
	pb->address = api_strdup(c, address);
	pb->since = since;
	pb->reason = api_strdup(c, reason);
	return pb->node && pb->address && pb->reason ? pb : NULL;
}

static const char *ip_str(uint32_t addr, char *buf, size_t len)
{
	struct in_addr a = {.s_addr = addr};

	return inet_ntop(AF_INET, &a, buf, (socklen_t)len) ? buf : "?";
}

int api_placements_pb(struct api_call *c, const char *kind, int64_t object_id, uint32_t replicas,
                      uint32_t vip, Netfn__Placement ***out, size_t *n_out)
{
	struct store *s = c->ctl->store;
	struct api_list list = {.c = c};
	struct api_vec placed = {0};
	const struct st_placement *v;
	struct st_node node;
	char a[INET_ADDRSTRLEN];
	uint32_t slot = 0;
	size_t i = 0;
	int ret;

	ret = api_placements_of(c, kind, object_id, &placed);
	if (ret)
		return ret;
	v = placed.v;
	while (slot < replicas || i < placed.n) {
		Netfn__Placement *p;

		if (i < placed.n && v[i].slot < slot) {
			i++; /* a second record for one slot: the store's uniqueness forbids it */
			continue;
		}
		if (i < placed.n && v[i].slot == slot) {
			bool gone = s->ops->node_get_id(s, v[i].node_id, &node) != 0;

			if (vip)
				ip_str(vip, a, sizeof(a));
			else if (gone)
				a[0] = '\0';
			else
				ip_str(node.overlay_addr, a, sizeof(a));
			p = placement_pb(c, slot, gone ? "" : node.name, a, v[i].since,
			                 v[i].reason);
			i++;
		} else if (slot < replicas) {
			p = placement_pb(c, slot, "", "", 0, UNPLACED);
		} else {
			slot = v[i].slot;
			continue;
		}
		ret = api_list_push(&list, p);
		if (ret)
			return ret;
		slot++;
	}
	*out = (Netfn__Placement **)list.v;
	*n_out = list.n;
	return 0;
}
