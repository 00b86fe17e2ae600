// SPDX-License-Identifier: Apache-2.0
/*
 * Kernel WireGuard over generic netlink: the one owner of the "wireguard"
 * family socket. Both directions span several messages once a device has more
 * than a few dozen peers: the kernel's get dump continues a peer whose allowed
 * IPs did not fit in the next message (public key first, nothing else but the
 * remaining IPs), and a set is split the same way here. Links are created and
 * deleted over rtnetlink (rtnl.c), which owns that socket.
 */
#include "netfns/kernel/wg_genl.h"

#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include <linux/genetlink.h>
#include <linux/wireguard.h>
#include <sodium.h>

#include "netfns/common/log.h"
#include "netfns/kernel/nl.h"
#include "netfns/kernel/rtnl.h"

struct genl {
	struct nl_sock *nl;
	uint16_t family;
};

/* Same layout as the kernel's struct __kernel_timespec in WGPEER_A_LAST_HANDSHAKE_TIME. */
struct kts {
	int64_t sec;
	int64_t nsec;
};

/* ---- encoders ---- */

static struct nlmsghdr *put_genl(void *buf, uint16_t type, uint16_t flags, uint8_t cmd,
                                 uint8_t version)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

struct nlmsghdr *wg_genl_encode_getfamily(void *buf)
{
	struct nlmsghdr *nlh = put_genl(buf, GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY, 1);

	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	return nlh;
}

struct nlmsghdr *wg_genl_encode_get(void *buf, uint16_t family, const char *ifname)
{
	struct nlmsghdr *nlh;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return NULL;
	nlh = put_genl(buf, family, NLM_F_DUMP, WG_CMD_GET_DEVICE, WG_GENL_VERSION);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
	return nlh;
}

/* The device attributes, which only the first message of a set carries. */
static bool put_device_attrs(struct nlmsghdr *nlh, size_t len, const struct wg_device *dev)
{
	if ((dev->flags & WG_DEV_HAS_PRIVATE_KEY) &&
	    !mnl_attr_put_check(nlh, len, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN, dev->private_key))
		return false;
	if ((dev->flags & WG_DEV_HAS_LISTEN_PORT) &&
	    !mnl_attr_put_u16_check(nlh, len, WGDEVICE_A_LISTEN_PORT, dev->listen_port))
		return false;
	if ((dev->flags & WG_DEV_HAS_FWMARK) &&
	    !mnl_attr_put_u32_check(nlh, len, WGDEVICE_A_FWMARK, dev->fwmark))
		return false;
	if ((dev->flags & WG_DEV_REPLACE_PEERS) &&
	    !mnl_attr_put_u32_check(nlh, len, WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS))
		return false;
	return true;
}

/* A peer's first part: everything but the allowed IPs. */
static bool put_peer_head(struct nlmsghdr *nlh, size_t len, const struct wg_peer *p)
{
	uint32_t flags = 0;
	size_t salen = 0;

	if (p->flags & WG_PEER_REMOVE_ME)
		flags |= WGPEER_F_REMOVE_ME;
	if (p->flags & WG_PEER_REPLACE_ALLOWEDIPS)
		flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
	if (flags && !mnl_attr_put_u32_check(nlh, len, WGPEER_A_FLAGS, flags))
		return false;
	if (p->flags & WG_PEER_REMOVE_ME)
		return true;
	if (p->endpoint.addr.sa_family == AF_INET)
		salen = sizeof(p->endpoint.addr4);
	else if (p->endpoint.addr.sa_family == AF_INET6)
		salen = sizeof(p->endpoint.addr6);
	if (salen && !mnl_attr_put_check(nlh, len, WGPEER_A_ENDPOINT, salen, &p->endpoint))
		return false;
	if ((p->flags & WG_PEER_HAS_KEEPALIVE) &&
	    !mnl_attr_put_u16_check(nlh, len, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, p->keepalive))
		return false;
	return true;
}

static bool put_aip(struct nlmsghdr *nlh, size_t len, const struct wg_allowedip *a)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, len, 0);
	size_t alen = a->family == AF_INET ? 4 : 16;

	if (!nest)
		return false;
	if (!mnl_attr_put_u16_check(nlh, len, WGALLOWEDIP_A_FAMILY, (uint16_t)a->family) ||
	    !mnl_attr_put_check(nlh, len, WGALLOWEDIP_A_IPADDR, alen, a->ip.bytes) ||
	    !mnl_attr_put_u8_check(nlh, len, WGALLOWEDIP_A_CIDR_MASK, a->cidr)) {
		mnl_attr_nest_cancel(nlh, nest);
		return false;
	}
	mnl_attr_nest_end(nlh, nest);
	return true;
}

/*
 * Puts as much of the cursor's peer as fits. Returns true when the peer is
 * complete, false when the message is full; *progress tells whether anything
 * of it went in.
 */
static bool put_peer(struct nlmsghdr *nlh, size_t len, const struct wg_peer *p,
                     struct wg_genl_cursor *cur, bool *progress)
{
	struct nlattr *pn, *an = NULL;
	size_t placed = 0;
	bool head = false;

	*progress = false;
	pn = mnl_attr_nest_start_check(nlh, len, 0);
	if (!pn)
		return false;
	if (!mnl_attr_put_check(nlh, len, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, p->public_key))
		goto cancel;
	if (!cur->cont) {
		if (!put_peer_head(nlh, len, p))
			goto cancel;
		head = true;
	}
	if (cur->aip < p->n_allowedips) {
		an = mnl_attr_nest_start_check(nlh, len, WGPEER_A_ALLOWEDIPS);
		while (an && cur->aip < p->n_allowedips &&
		       put_aip(nlh, len, &p->allowedips[cur->aip])) {
			cur->aip++;
			placed++;
		}
		if (an && placed)
			mnl_attr_nest_end(nlh, an);
		else if (an)
			mnl_attr_nest_cancel(nlh, an);
	}
	if (!head && !placed)
		goto cancel; /* a bare key would be no progress */
	mnl_attr_nest_end(nlh, pn);
	*progress = true;
	if (cur->aip < p->n_allowedips) {
		cur->cont = true; /* the rest follows, appended, in the next message */
		return false;
	}
	return true;
cancel:
	mnl_attr_nest_cancel(nlh, pn);
	return false;
}

int wg_genl_encode_set(void *buf, size_t buflen, uint16_t family, const struct wg_device *dev,
                       struct wg_genl_cursor *cur, struct nlmsghdr **out)
{
	struct nlmsghdr *nlh;
	struct nlattr *peers;
	bool first = !cur->started, any = false, progress;

	*out = NULL;
	if (cur->started && cur->peer >= dev->n_peers)
		return 0;
	if (buflen < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct genlmsghdr)) + 64)
		return -EMSGSIZE;
	memset(buf, 0, buflen);
	nlh = put_genl(buf, family, 0, WG_CMD_SET_DEVICE, WG_GENL_VERSION);
	if (!mnl_attr_put_strz_check(nlh, buflen, WGDEVICE_A_IFNAME, dev->name))
		return -EMSGSIZE;
	if (first && !put_device_attrs(nlh, buflen, dev))
		return -EMSGSIZE;
	cur->started = true;
	if (cur->peer < dev->n_peers) {
		peers = mnl_attr_nest_start_check(nlh, buflen, WGDEVICE_A_PEERS);
		while (peers && cur->peer < dev->n_peers) {
			bool done = put_peer(nlh, buflen, &dev->peers[cur->peer], cur, &progress);

			any |= progress;
			if (!done)
				break;
			cur->peer++;
			cur->aip = 0;
			cur->cont = false;
		}
		if (peers && any)
			mnl_attr_nest_end(nlh, peers);
		else if (peers)
			mnl_attr_nest_cancel(nlh, peers);
	}
	if (!first && !any)
		return -EMSGSIZE; /* one peer's key and first IP exceed an empty message */
	*out = nlh;
	return 1;
}

/* ---- decoders ---- */

struct attrs {
	const struct nlattr *tb[16];
};

static int collect(const struct nlattr *attr, void *data)
{
	struct attrs *a = data;
	unsigned type = mnl_attr_get_type(attr);

	if (type < sizeof(a->tb) / sizeof(a->tb[0]))
		a->tb[type] = attr;
	return MNL_CB_OK;
}

static bool attr_is(const struct nlattr *attr, size_t len)
{
	return attr && mnl_attr_get_payload_len(attr) == len;
}

static int parse_aip(const struct nlattr *nest, struct wg_peer *peer)
{
	struct attrs a = {0};
	struct wg_allowedip aip = {0};
	size_t alen;

	if (mnl_attr_parse_nested(nest, collect, &a) < 0)
		return -EBADMSG;
	if (!attr_is(a.tb[WGALLOWEDIP_A_FAMILY], 2) || !attr_is(a.tb[WGALLOWEDIP_A_CIDR_MASK], 1))
		return -EBADMSG;
	aip.family = mnl_attr_get_u16(a.tb[WGALLOWEDIP_A_FAMILY]);
	if (aip.family != AF_INET && aip.family != AF_INET6)
		return -EBADMSG;
	alen = aip.family == AF_INET ? 4 : 16;
	aip.cidr = mnl_attr_get_u8(a.tb[WGALLOWEDIP_A_CIDR_MASK]);
	if (!attr_is(a.tb[WGALLOWEDIP_A_IPADDR], alen) || aip.cidr > alen * 8)
		return -EBADMSG;
	memcpy(aip.ip.bytes, mnl_attr_get_payload(a.tb[WGALLOWEDIP_A_IPADDR]), alen);
	return wg_peer_add_allowedip(peer, &aip);
}

static int parse_endpoint(const struct nlattr *attr, struct wg_peer *peer)
{
	size_t len = mnl_attr_get_payload_len(attr);
	const struct sockaddr *sa = mnl_attr_get_payload(attr);

	if (len < sizeof(sa->sa_family))
		return -EBADMSG;
	if ((sa->sa_family == AF_INET && len == sizeof(peer->endpoint.addr4)) ||
	    (sa->sa_family == AF_INET6 && len == sizeof(peer->endpoint.addr6)))
		memcpy(&peer->endpoint, sa, len);
	else if (sa->sa_family != AF_UNSPEC)
		return -EBADMSG;
	return 0;
}

static int parse_peer(const struct nlattr *nest, struct wg_device *dev, bool first_in_msg)
{
	struct attrs a = {0};
	const struct nlattr *attr;
	struct wg_peer *peer;
	int ret;

	if (mnl_attr_parse_nested(nest, collect, &a) < 0)
		return -EBADMSG;
	if (!attr_is(a.tb[WGPEER_A_PUBLIC_KEY], WG_KEY_LEN))
		return -EBADMSG;
	attr = a.tb[WGPEER_A_PUBLIC_KEY];
	if (first_in_msg && dev->n_peers &&
	    !memcmp(dev->peers[dev->n_peers - 1].public_key, mnl_attr_get_payload(attr),
	            WG_KEY_LEN)) {
		peer = &dev->peers[dev->n_peers - 1]; /* continued from the last message */
	} else {
		peer = wg_device_add_peer(dev);
		if (!peer)
			return -ENOMEM;
		memcpy(peer->public_key, mnl_attr_get_payload(attr), WG_KEY_LEN);
		peer->flags |= WG_PEER_HAS_PUBLIC_KEY;
	}
	if ((attr = a.tb[WGPEER_A_FLAGS])) {
		uint32_t f;

		if (!attr_is(attr, 4))
			return -EBADMSG;
		f = mnl_attr_get_u32(attr);
		if (f & WGPEER_F_REMOVE_ME)
			peer->flags |= WG_PEER_REMOVE_ME;
		if (f & WGPEER_F_REPLACE_ALLOWEDIPS)
			peer->flags |= WG_PEER_REPLACE_ALLOWEDIPS;
	}
	if ((attr = a.tb[WGPEER_A_ENDPOINT]) && (ret = parse_endpoint(attr, peer)) < 0)
		return ret;
	if ((attr = a.tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL])) {
		if (!attr_is(attr, 2))
			return -EBADMSG;
		peer->keepalive = mnl_attr_get_u16(attr);
		peer->flags |= WG_PEER_HAS_KEEPALIVE;
	}
	if ((attr = a.tb[WGPEER_A_LAST_HANDSHAKE_TIME])) {
		struct kts ts;

		if (!attr_is(attr, sizeof(ts)))
			return -EBADMSG;
		memcpy(&ts, mnl_attr_get_payload(attr), sizeof(ts));
		peer->last_handshake.tv_sec = (time_t)ts.sec;
		peer->last_handshake.tv_nsec = (long)ts.nsec;
	}
	if ((attr = a.tb[WGPEER_A_RX_BYTES])) {
		if (!attr_is(attr, 8))
			return -EBADMSG;
		peer->rx_bytes = mnl_attr_get_u64(attr);
	}
	if ((attr = a.tb[WGPEER_A_TX_BYTES])) {
		if (!attr_is(attr, 8))
			return -EBADMSG;
		peer->tx_bytes = mnl_attr_get_u64(attr);
	}
	if ((attr = a.tb[WGPEER_A_ALLOWEDIPS])) {
		const struct nlattr *ip;

		mnl_attr_for_each_nested(ip, attr)
		{
			if ((ret = parse_aip(ip, peer)) < 0)
				return ret;
		}
	}
	return 0;
}

int wg_genl_parse_device(const struct nlmsghdr *nlh, struct wg_device *dev)
{
	struct attrs a = {0};
	const struct nlattr *attr;
	int ret;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct genlmsghdr)))
		return -EBADMSG;
	if (mnl_attr_parse(nlh, sizeof(struct genlmsghdr), collect, &a) < 0)
		return -EBADMSG;
	if ((attr = a.tb[WGDEVICE_A_IFINDEX]) && attr_is(attr, 4))
		dev->ifindex = mnl_attr_get_u32(attr);
	if ((attr = a.tb[WGDEVICE_A_IFNAME]) && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		snprintf(dev->name, sizeof(dev->name), "%s", mnl_attr_get_str(attr));
	if ((attr = a.tb[WGDEVICE_A_PRIVATE_KEY]) && attr_is(attr, WG_KEY_LEN)) {
		memcpy(dev->private_key, mnl_attr_get_payload(attr), WG_KEY_LEN);
		dev->flags |= WG_DEV_HAS_PRIVATE_KEY;
	}
	if ((attr = a.tb[WGDEVICE_A_PUBLIC_KEY]) && attr_is(attr, WG_KEY_LEN)) {
		memcpy(dev->public_key, mnl_attr_get_payload(attr), WG_KEY_LEN);
		dev->flags |= WG_DEV_HAS_PUBLIC_KEY;
	}
	if ((attr = a.tb[WGDEVICE_A_LISTEN_PORT]) && attr_is(attr, 2)) {
		dev->listen_port = mnl_attr_get_u16(attr);
		dev->flags |= WG_DEV_HAS_LISTEN_PORT;
	}
	if ((attr = a.tb[WGDEVICE_A_FWMARK]) && attr_is(attr, 4)) {
		dev->fwmark = mnl_attr_get_u32(attr);
		dev->flags |= WG_DEV_HAS_FWMARK;
	}
	if ((attr = a.tb[WGDEVICE_A_FLAGS]) && attr_is(attr, 4) &&
	    (mnl_attr_get_u32(attr) & WGDEVICE_F_REPLACE_PEERS))
		dev->flags |= WG_DEV_REPLACE_PEERS;
	if ((attr = a.tb[WGDEVICE_A_PEERS])) {
		const struct nlattr *p;
		bool first = true;

		mnl_attr_for_each_nested(p, attr)
		{
			if ((ret = parse_peer(p, dev, first)) < 0)
				return ret;
			first = false;
		}
	}
	return 0;
}

int wg_genl_parse_family(const struct nlmsghdr *nlh, uint16_t *id)
{
	struct attrs a = {0};

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct genlmsghdr)) ||
	    mnl_attr_parse(nlh, sizeof(struct genlmsghdr), collect, &a) < 0)
		return -EBADMSG;
	if (!attr_is(a.tb[CTRL_ATTR_FAMILY_ID], 2))
		return -ENOENT;
	*id = mnl_attr_get_u16(a.tb[CTRL_ATTR_FAMILY_ID]);
	return 0;
}

/* ---- the backend ---- */

static int on_family(const struct nlmsghdr *nlh, void *data)
{
	int ret = wg_genl_parse_family(nlh, data);

	if (ret < 0) {
		errno = -ret;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int genl_open(struct wg_backend *wb)
{
	alignas(struct nlmsghdr) char buf[256];
	struct genl *g = NULL;
	int ret;

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	ret = nl_sock_open(NETLINK_GENERIC, &g->nl);
	if (ret < 0)
		goto cleanup;
	ret = nl_sock_request(g->nl, wg_genl_encode_getfamily(buf), on_family, &g->family);
	if (ret == 0 && !g->family)
		ret = -ENOENT;
	if (ret < 0)
		goto cleanup;
	wb->priv = g;
	g = NULL;
cleanup:
	if (g)
		nl_sock_close(g->nl);
	free(g);
	return ret;
}

static void genl_close(struct wg_backend *wb)
{
	struct genl *g = wb->priv;

	if (!g)
		return;
	nl_sock_close(g->nl);
	free(g);
	wb->priv = NULL;
}

static int genl_ensure_link(struct wg_backend *wb, const char *ifname)
{
	struct rtnl_link link;
	int ret;

	for (int attempt = 0; attempt < 2; attempt++) {
		ret = rtnl_get_link(wb->rt, ifname, &link);
		if (ret == 0) {
			if (strcmp(link.kind, "wireguard")) {
				nf_err("wg %s: link exists and is a \"%s\", not WireGuard", ifname,
				       link.kind);
				return -EEXIST;
			}
			return 0;
		}
		if (ret != -ENODEV)
			return ret;
		ret = rtnl_create_link(wb->rt, ifname, "wireguard");
		if (ret != -EEXIST) /* EEXIST: created meanwhile, look again */
			return ret;
	}
	return ret;
}

static int genl_delete_link(struct wg_backend *wb, const char *ifname)
{
	struct rtnl_link link;
	int ret;

	ret = rtnl_get_link(wb->rt, ifname, &link);
	if (ret == -ENODEV)
		return 0;
	if (ret < 0)
		return ret;
	return rtnl_delete_link(wb->rt, link.index);
}

static int on_device(const struct nlmsghdr *nlh, void *data)
{
	int ret = wg_genl_parse_device(nlh, data);

	if (ret < 0) {
		errno = -ret;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int genl_get_device(struct wg_backend *wb, const char *ifname, struct wg_device **out)
{
	alignas(struct nlmsghdr) char buf[256];
	struct genl *g = wb->priv;
	struct wg_device *dev = NULL;
	struct nlmsghdr *nlh;
	int ret;

	nlh = wg_genl_encode_get(buf, g->family, ifname);
	if (!nlh)
		return -EINVAL;
	dev = wg_new_device(ifname);
	if (!dev)
		return -ENOMEM;
	ret = nl_sock_request(g->nl, nlh, on_device, dev);
	if (ret < 0)
		goto cleanup;
	*out = dev;
	dev = NULL;
cleanup:
	wg_free_device(dev);
	return ret;
}

static int genl_set_device(struct wg_backend *wb, const struct wg_device *dev)
{
	struct genl *g = wb->priv;
	struct wg_genl_cursor cur = {0};
	struct nlmsghdr *nlh;
	void *buf = NULL;
	int n = 0, ret;

	buf = malloc(WG_GENL_SET_SIZE);
	if (!buf)
		return -ENOMEM;
	while ((ret = wg_genl_encode_set(buf, WG_GENL_SET_SIZE, g->family, dev, &cur, &nlh)) > 0) {
		ret = nl_sock_request(g->nl, nlh, NULL, NULL);
		if (ret < 0) {
			nf_err("wg %s: set message %d: %s%s%s", dev->name, n + 1, strerror(-ret),
			       g->nl->ext_ack[0] ? ": " : "", g->nl->ext_ack);
			break;
		}
		n++;
	}
	sodium_memzero(buf, WG_GENL_SET_SIZE); /* the first message held the private key */
	free(buf);
	return ret;
}

const struct wg_backend_ops wg_genl_ops = {
    .name = "kernel",
    .open = genl_open,
    .close = genl_close,
    .ensure_link = genl_ensure_link,
    .delete_link = genl_delete_link,
    .get_device = genl_get_device,
    .set_device = genl_set_device,
};
