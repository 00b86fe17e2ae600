// SPDX-License-Identifier: Apache-2.0
/*
 * The WireGuard device model's helpers and the run-time choice of backend.
 * The choice is made from facts, not build options: a link that already is a
 * kernel WireGuard device, a generic netlink family that resolves, or a
 * "wireguard" link the kernel agrees to create means the kernel backend;
 * anything else means wireguard-go. Creating the link as a probe is not a
 * side effect to undo: ensure_link would create it next anyway.
 */
#include "netfns/kernel/wg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "netfns/common/log.h"
#include "netfns/kernel/rtnl.h"

/* True when an array of n elements (capacity as below) is full. */
static bool grows(size_t n)
{
	return n == 0 || (n >= 4 && (n & (n - 1)) == 0);
}

struct wg_device *wg_new_device(const char *name)
{
	struct wg_device *dev = calloc(1, sizeof(*dev));

	if (dev && name)
		snprintf(dev->name, sizeof(dev->name), "%s", name);
	return dev;
}

struct wg_peer *wg_device_add_peer(struct wg_device *dev)
{
	struct wg_peer *peers;

	/* Capacity is 4, then doubles at each power of two: hubs have thousands of peers. */
	if (grows(dev->n_peers)) {
		size_t cap = dev->n_peers ? dev->n_peers * 2 : 4;

		peers = realloc(dev->peers, cap * sizeof(*peers));
		if (!peers)
			return NULL;
		dev->peers = peers;
	}
	memset(&dev->peers[dev->n_peers], 0, sizeof(dev->peers[0]));
	return &dev->peers[dev->n_peers++];
}

int wg_peer_add_allowedip(struct wg_peer *peer, const struct wg_allowedip *aip)
{
	struct wg_allowedip *v;

	if (grows(peer->n_allowedips)) {
		size_t cap = peer->n_allowedips ? peer->n_allowedips * 2 : 4;

		v = realloc(peer->allowedips, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		peer->allowedips = v;
	}
	peer->allowedips[peer->n_allowedips++] = *aip;
	return 0;
}

void wg_free_device(struct wg_device *dev)
{
	if (!dev)
		return;
	for (size_t i = 0; i < dev->n_peers; i++)
		free(dev->peers[i].allowedips);
	free(dev->peers);
	sodium_memzero(dev->private_key, sizeof(dev->private_key));
	free(dev);
}

bool wg_endpoint_equal(const union wg_endpoint *a, const union wg_endpoint *b)
{
	if (a->addr.sa_family != b->addr.sa_family)
		return false;
	switch (a->addr.sa_family) {
	case AF_INET:
		return a->addr4.sin_port == b->addr4.sin_port &&
		       a->addr4.sin_addr.s_addr == b->addr4.sin_addr.s_addr;
	case AF_INET6:
		return a->addr6.sin6_port == b->addr6.sin6_port &&
		       a->addr6.sin6_scope_id == b->addr6.sin6_scope_id &&
		       !memcmp(&a->addr6.sin6_addr, &b->addr6.sin6_addr, 16);
	default:
		return true;
	}
}

int wg_backend_open_ops(struct rtnl *rt, const struct wg_backend_ops *ops, struct wg_backend **out)
{
	struct wg_backend *wb = NULL;
	int ret;

	wb = calloc(1, sizeof(*wb));
	if (!wb)
		return -ENOMEM;
	wb->ops = ops;
	wb->rt = rt;
	ret = ops->open(wb);
	if (ret < 0) {
		free(wb);
		return ret;
	}
	*out = wb;
	return 0;
}

void wg_backend_close(struct wg_backend *wb)
{
	if (!wb)
		return;
	wb->ops->close(wb);
	free(wb);
}

int wg_backend_open(struct rtnl *rt, const char *ifname, struct wg_backend **out)
{
	struct rtnl_link link;
	int ret;

	ret = rtnl_get_link(rt, ifname, &link);
	if (ret == 0) {
		/*
		 * An existing link decides: a kernel device stays with the
		 * kernel, anything else (wireguard-go's tun) with wireguard-go,
		 * whose ensure_link knows what to do with a stale one.
		 */
		if (!strcmp(link.kind, "wireguard"))
			return wg_backend_open_ops(rt, &wg_genl_ops, out);
		return wg_backend_open_ops(rt, &wg_uapi_ops, out);
	}
	if (ret != -ENODEV)
		return ret;
	if (wg_backend_open_ops(rt, &wg_genl_ops, out) == 0)
		return 0;
	/* Creating the link makes the kernel load the module if it has one. */
	ret = rtnl_create_link(rt, ifname, "wireguard");
	if (ret == 0) {
		if (wg_backend_open_ops(rt, &wg_genl_ops, out) == 0)
			return 0;
		if (rtnl_get_link(rt, ifname, &link) == 0)
			rtnl_delete_link(rt, link.index);
	} else {
		nf_debug("wg %s: no kernel WireGuard (%s), using wireguard-go", ifname,
		         strerror(-ret));
	}
	return wg_backend_open_ops(rt, &wg_uapi_ops, out);
}
