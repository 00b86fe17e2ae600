// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the kernel WireGuard message layer, without a kernel: a set
 * split over many small messages is parsed back into the device it came
 * from, and a get reply shaped like the kernel's dump (a peer continued in
 * the next message) is merged into one device.
 */
#include "netfns/kernel/wg_genl.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include <linux/genetlink.h>
#include <linux/wireguard.h>

#define FAMILY 0x1d

static struct wg_device *big_device(size_t peers, size_t ips)
{
	struct wg_device *d = wg_new_device("wgt0");

	d->flags = WG_DEV_HAS_PRIVATE_KEY | WG_DEV_HAS_LISTEN_PORT | WG_DEV_REPLACE_PEERS;
	memset(d->private_key, 0x42, WG_KEY_LEN);
	d->listen_port = 51820;
	for (size_t i = 0; i < peers; i++) {
		struct wg_peer *p = wg_device_add_peer(d);

		memset(p->public_key, (int)i + 1, WG_KEY_LEN);
		p->flags =
		    WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REPLACE_ALLOWEDIPS | WG_PEER_HAS_KEEPALIVE;
		p->keepalive = (uint16_t)i;
		p->endpoint.addr6.sin6_family = AF_INET6;
		p->endpoint.addr6.sin6_port = htons((uint16_t)(40000 + i));
		inet_pton(AF_INET6, "2001:db8::5", &p->endpoint.addr6.sin6_addr);
		for (size_t j = 0; j < ips; j++) {
			struct wg_allowedip a = {.family = AF_INET, .cidr = 32};

			a.ip.ip4.s_addr = htonl(0x0a000000u | (uint32_t)(i << 12) | (uint32_t)j);
			CHECK(wg_peer_add_allowedip(p, &a) == 0);
		}
	}
	return d;
}

static bool same_device(const struct wg_device *a, const struct wg_device *b)
{
	if (a->n_peers != b->n_peers || a->listen_port != b->listen_port ||
	    memcmp(a->private_key, b->private_key, WG_KEY_LEN))
		return false;
	for (size_t i = 0; i < a->n_peers; i++) {
		const struct wg_peer *p = &a->peers[i], *q = &b->peers[i];

		if (memcmp(p->public_key, q->public_key, WG_KEY_LEN) ||
		    p->keepalive != q->keepalive ||
		    !wg_endpoint_equal(&p->endpoint, &q->endpoint) ||
		    p->n_allowedips != q->n_allowedips || p->flags != q->flags)
			return false;
		for (size_t j = 0; j < p->n_allowedips; j++)
			if (p->allowedips[j].cidr != q->allowedips[j].cidr ||
			    memcmp(p->allowedips[j].ip.bytes, q->allowedips[j].ip.bytes, 16))
				return false;
	}
	return true;
}

/* Looks inside one set message: has device attrs? peer keys with REPLACE flags. */
struct seen {
	bool private_key;
	int peers;
	int replace;
};

static int peek_peer(const struct nlattr *nest, struct seen *s)
{
	const struct nlattr *a;

	s->peers++;
	mnl_attr_for_each_nested(a, nest)
	{
		if (mnl_attr_get_type(a) == WGPEER_A_FLAGS &&
		    (mnl_attr_get_u32(a) & WGPEER_F_REPLACE_ALLOWEDIPS))
			s->replace++;
	}
	return 0;
}

static void peek(const struct nlmsghdr *nlh, struct seen *s)
{
	const struct nlattr *a, *p;

	memset(s, 0, sizeof(*s));
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr))
	{
		if (mnl_attr_get_type(a) == WGDEVICE_A_PRIVATE_KEY)
			s->private_key = true;
		if (mnl_attr_get_type(a) != WGDEVICE_A_PEERS)
			continue;
		mnl_attr_for_each_nested(p, a)
		{
			peek_peer(p, s);
		}
	}
}

static void test_set_split(size_t bufsize, size_t peers, size_t ips)
{
	struct wg_device *d = big_device(peers, ips), *back = wg_new_device(NULL);
	struct wg_genl_cursor cur = {0};
	struct nlmsghdr *nlh;
	void *buf = malloc(bufsize);
	int n = 0, ret, continued = 0;
	struct seen s;

	while ((ret = wg_genl_encode_set(buf, bufsize, FAMILY, d, &cur, &nlh)) == 1) {
		CHECK(nlh->nlmsg_len <= bufsize);
		CHECK(nlh->nlmsg_type == FAMILY);
		CHECK(((struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->cmd == WG_CMD_SET_DEVICE);
		peek(nlh, &s);
		CHECK(s.private_key == (n == 0)); /* device attributes only in the first */
		/* A first peer with no REPLACE flag is the continuation of the last one. */
		if (n > 0 && s.peers > s.replace)
			continued++;
		CHECK(wg_genl_parse_device(nlh, back) == 0);
		n++;
		if (n > 10000)
			break;
	}
	CHECK(ret == 0);
	if (bufsize >= 4096)
		CHECK(n >= 1);
	if (ips > 100)
		CHECK(continued > 0); /* the test did exercise the split peer */
	CHECK(!strcmp(back->name, "wgt0"));
	CHECK((back->flags & WG_DEV_REPLACE_PEERS) && (back->flags & WG_DEV_HAS_PRIVATE_KEY));
	CHECK(same_device(d, back));
	free(buf);
	wg_free_device(d);
	wg_free_device(back);
}

static void test_set_limits(void)
{
	struct wg_device *d = big_device(1, 1), *empty = wg_new_device("wgt0");
	struct wg_genl_cursor cur = {0};
	struct nlmsghdr *nlh;
	char buf[4096];

	/* A buffer too small for even one peer fails rather than loop. */
	CHECK(wg_genl_encode_set(buf, 100, FAMILY, d, &cur, &nlh) == 1); /* device attrs */
	CHECK(wg_genl_encode_set(buf, 100, FAMILY, d, &cur, &nlh) == -EMSGSIZE);
	/* A device with nothing but its name is one message. */
	memset(&cur, 0, sizeof(cur));
	CHECK(wg_genl_encode_set(buf, sizeof(buf), FAMILY, empty, &cur, &nlh) == 1);
	CHECK(wg_genl_encode_set(buf, sizeof(buf), FAMILY, empty, &cur, &nlh) == 0);
	wg_free_device(d);
	wg_free_device(empty);
}

/* Builds one kernel-style get reply message. */
static struct nlmsghdr *reply(void *buf, bool first, const uint8_t *k1, int ip_from, int ip_to,
                              bool head, const uint8_t *k2)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	struct nlattr *peers, *peer, *ips, *ip;

	nlh->nlmsg_type = FAMILY;
	nlh->nlmsg_flags = NLM_F_MULTI;
	g->cmd = WG_CMD_GET_DEVICE;
	if (first) {
		uint8_t key[WG_KEY_LEN];

		memset(key, 0x42, sizeof(key));
		mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, 51820);
		mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, 0);
		mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, 4);
		mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wgt0");
		mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN, key);
		mnl_attr_put(nlh, WGDEVICE_A_PUBLIC_KEY, WG_KEY_LEN, key);
	}
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, k1);
	if (head) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(51820)};
		struct {
			int64_t sec, nsec;
		} ts = {1700000000, 5};

		inet_pton(AF_INET, "192.0.2.9", &sin.sin_addr);
		mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin), &sin);
		mnl_attr_put(nlh, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(ts), &ts);
		mnl_attr_put_u64(nlh, WGPEER_A_RX_BYTES, 1234);
		mnl_attr_put_u64(nlh, WGPEER_A_TX_BYTES, 5678);
		mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 25);
		mnl_attr_put_u32(nlh, WGPEER_A_PROTOCOL_VERSION, 1);
	}
	ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
	for (int i = ip_from; i < ip_to; i++) {
		uint32_t a = htonl(0x0a000000u | (uint32_t)i);

		ip = mnl_attr_nest_start(nlh, 0);
		mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET);
		mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, 4, &a);
		mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, 32);
		mnl_attr_nest_end(nlh, ip);
	}
	mnl_attr_nest_end(nlh, ips);
	mnl_attr_nest_end(nlh, peer);
	if (k2) {
		peer = mnl_attr_nest_start(nlh, 0);
		mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, k2);
		mnl_attr_nest_end(nlh, peer);
	}
	mnl_attr_nest_end(nlh, peers);
	return nlh;
}

static void test_get_reply(void)
{
	alignas(struct nlmsghdr) char buf[8192];
	struct wg_device *d = wg_new_device(NULL);
	uint8_t k1[WG_KEY_LEN], k2[WG_KEY_LEN];
	struct nlmsghdr *nlh;

	memset(k1, 1, sizeof(k1));
	memset(k2, 2, sizeof(k2));
	/* Peer 1 with IPs 0-99, continued with 100-149, then peer 2 starts. */
	CHECK(wg_genl_parse_device(reply(buf, true, k1, 0, 100, true, NULL), d) == 0);
	CHECK(wg_genl_parse_device(reply(buf, false, k1, 100, 150, false, k2), d) == 0);
	CHECK(d->n_peers == 2);
	CHECK(d->ifindex == 4 && !strcmp(d->name, "wgt0") && d->listen_port == 51820);
	CHECK(d->flags & WG_DEV_HAS_PRIVATE_KEY && d->private_key[0] == 0x42);
	CHECK(d->peers[0].n_allowedips == 150);
	CHECK(d->peers[0].allowedips[149].ip.ip4.s_addr == htonl(0x0a000000u | 149));
	CHECK(d->peers[0].rx_bytes == 1234 && d->peers[0].tx_bytes == 5678);
	CHECK(d->peers[0].last_handshake.tv_sec == 1700000000 && d->peers[0].keepalive == 25);
	CHECK(d->peers[0].endpoint.addr4.sin_family == AF_INET &&
	      ntohs(d->peers[0].endpoint.addr4.sin_port) == 51820);
	CHECK(d->peers[1].public_key[0] == 2 && d->peers[1].n_allowedips == 0);

	/* A malformed allowed IP (cidr 33) is refused, not stored. */
	nlh = reply(buf, false, k2, 0, 1, false, NULL);
	{
		uint8_t *tail = (uint8_t *)nlh + nlh->nlmsg_len;
		/* The cidr u8 is the last attribute: payload byte 4 bytes before the end. */
		tail[-4] = 33;
	}
	CHECK(wg_genl_parse_device(nlh, d) == -EBADMSG);
	wg_free_device(d);
}

static void test_family(void)
{
	alignas(struct nlmsghdr) char buf[256];
	struct nlmsghdr *nlh = wg_genl_encode_getfamily(buf);
	uint16_t id = 0;

	CHECK(nlh->nlmsg_type == GENL_ID_CTRL);
	/* The controller answers with the same shape plus CTRL_ATTR_FAMILY_ID. */
	CHECK(wg_genl_parse_family(nlh, &id) == -ENOENT);
	mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, 0x1d);
	CHECK(wg_genl_parse_family(nlh, &id) == 0 && id == 0x1d);

	nlh = wg_genl_encode_get(buf, 0x1d, "wgt0");
	CHECK(nlh && nlh->nlmsg_type == 0x1d && (nlh->nlmsg_flags & NLM_F_DUMP));
	CHECK(wg_genl_encode_get(buf, 0x1d, "") == NULL);
}

int main(void)
{
	test_set_split(WG_GENL_SET_SIZE, 3, 2);
	test_set_split(WG_GENL_SET_SIZE, 200, 3);  /* many peers, several messages */
	test_set_split(WG_GENL_SET_SIZE, 2, 2000); /* one peer spans many messages */
	test_set_split(512, 30, 40);               /* tiny messages, every boundary */
	test_set_limits();
	test_get_reply();
	test_family();
	return check_result();
}
