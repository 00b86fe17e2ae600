// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for wg_device_diff: the same state gives no request at all, and
 * each kind of change gives exactly the fields that changed.
 */
#include "netfns/kernel/wg.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void key(uint8_t k[WG_KEY_LEN], uint8_t fill)
{
	memset(k, fill, WG_KEY_LEN);
}

static struct wg_peer *peer(struct wg_device *dev, uint8_t fill, const char *ep, uint16_t ka)
{
	struct wg_peer *p = wg_device_add_peer(dev);

	key(p->public_key, fill);
	p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_KEEPALIVE;
	p->keepalive = ka;
	if (ep) {
		p->endpoint.addr4.sin_family = AF_INET;
		p->endpoint.addr4.sin_port = htons(51820);
		inet_pton(AF_INET, ep, &p->endpoint.addr4.sin_addr);
	}
	return p;
}

static void aip(struct wg_peer *p, const char *addr, uint8_t cidr)
{
	struct wg_allowedip a = {.cidr = cidr};

	a.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	inet_pton(a.family, addr, a.ip.bytes);
	CHECK(wg_peer_add_allowedip(p, &a) == 0);
}

/* wanted: key 0x11, port 51820, peers 0xaa (two IPs) and 0xbb (one IP, endpoint). */
static struct wg_device *wanted(void)
{
	struct wg_device *d = wg_new_device("wgt0");
	struct wg_peer *p;

	d->flags = WG_DEV_HAS_PRIVATE_KEY | WG_DEV_HAS_LISTEN_PORT;
	key(d->private_key, 0x11);
	d->listen_port = 51820;
	p = peer(d, 0xbb, "192.0.2.2", 25);
	aip(p, "10.9.0.2", 32);
	p = peer(d, 0xaa, NULL, 0);
	aip(p, "10.9.0.3", 32);
	aip(p, "fd00:9::", 64);
	return d;
}

/* What a backend reports for wanted(): peers and IPs in another order, masked. */
static struct wg_device *running(void)
{
	struct wg_device *d = wg_new_device("wgt0");
	struct wg_peer *p;

	d->flags = WG_DEV_HAS_PRIVATE_KEY | WG_DEV_HAS_LISTEN_PORT | WG_DEV_HAS_PUBLIC_KEY;
	key(d->private_key, 0x11);
	key(d->public_key, 0x12);
	d->listen_port = 51820;
	p = peer(d, 0xaa, "198.51.100.7", 0); /* roamed: wanted has no endpoint */
	p->rx_bytes = 1000;
	aip(p, "fd00:9::", 64);
	aip(p, "10.9.0.3", 32);
	p = peer(d, 0xbb, "192.0.2.2", 25);
	p->last_handshake.tv_sec = 1700000000;
	aip(p, "10.9.0.2", 32);
	return d;
}

static void test_same(void)
{
	struct wg_device *r = running(), *w = wanted(), *d = (struct wg_device *)1;

	CHECK(wg_device_diff(r, w, &d) == 0 && d == NULL);
	/* Duplicate and unmasked wanted IPs still mean the same set. */
	aip(&w->peers[1], "fd00:9::1", 64);
	aip(&w->peers[1], "10.9.0.3", 32);
	CHECK(wg_device_diff(r, w, &d) == 0 && d == NULL);
	wg_free_device(r);
	wg_free_device(w);
}

static void test_from_empty(void)
{
	struct wg_device *w = wanted(), *d = NULL;

	CHECK(wg_device_diff(NULL, w, &d) == 0 && d);
	CHECK(d->flags == (WG_DEV_HAS_PRIVATE_KEY | WG_DEV_HAS_LISTEN_PORT));
	CHECK(d->private_key[0] == 0x11 && d->listen_port == 51820);
	CHECK(d->n_peers == 2);
	/* Key order: 0xaa first. */
	CHECK(d->peers[0].public_key[0] == 0xaa && d->peers[1].public_key[0] == 0xbb);
	CHECK(d->peers[0].flags == (WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REPLACE_ALLOWEDIPS));
	CHECK(d->peers[0].n_allowedips == 2 && d->peers[0].endpoint.addr.sa_family == 0);
	CHECK(d->peers[1].flags ==
	      (WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REPLACE_ALLOWEDIPS | WG_PEER_HAS_KEEPALIVE));
	CHECK(d->peers[1].keepalive == 25 && d->peers[1].endpoint.addr.sa_family == AF_INET);
	CHECK(!strcmp(d->name, "wgt0"));
	wg_free_device(d);
	wg_free_device(w);
}

static void test_changes(void)
{
	struct wg_device *r = running(), *w = wanted(), *d = NULL;
	struct wg_peer *p;

	/* Peer 0xbb leaves, 0xcc joins, 0xaa gets a new IP list. */
	free(w->peers[0].allowedips);
	w->peers[0] = w->peers[1];
	w->n_peers = 1;
	aip(&w->peers[0], "10.9.1.0", 24);
	p = peer(w, 0xcc, "192.0.2.3", 0);
	aip(p, "10.9.0.4", 32);
	CHECK(wg_device_diff(r, w, &d) == 0 && d);
	CHECK(d->flags == 0); /* key and port unchanged */
	CHECK(d->n_peers == 3);
	CHECK(d->peers[0].public_key[0] == 0xaa);
	CHECK(d->peers[0].flags == (WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REPLACE_ALLOWEDIPS));
	CHECK(d->peers[0].n_allowedips == 3);
	CHECK(d->peers[0].endpoint.addr.sa_family == 0); /* roamed endpoint left alone */
	CHECK(d->peers[1].public_key[0] == 0xbb);
	CHECK(d->peers[1].flags == (WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REMOVE_ME));
	CHECK(d->peers[2].public_key[0] == 0xcc);
	CHECK(d->peers[2].flags == (WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REPLACE_ALLOWEDIPS));
	CHECK(d->peers[2].n_allowedips == 1);
	wg_free_device(d);
	wg_free_device(r);
	wg_free_device(w);
}

static void test_fields(void)
{
	struct wg_device *r = running(), *w = wanted(), *d = NULL;

	/* Endpoint and keepalive of one peer; port; nothing about IPs. */
	w->peers[0].endpoint.addr4.sin_port = htons(51821);
	w->peers[0].keepalive = 0;
	w->listen_port = 51821;
	CHECK(wg_device_diff(r, w, &d) == 0 && d);
	CHECK(d->flags == WG_DEV_HAS_LISTEN_PORT && d->listen_port == 51821);
	CHECK(d->n_peers == 1 && d->peers[0].public_key[0] == 0xbb);
	CHECK(d->peers[0].flags == (WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_KEEPALIVE));
	CHECK(d->peers[0].keepalive == 0 && d->peers[0].n_allowedips == 0);
	CHECK(ntohs(d->peers[0].endpoint.addr4.sin_port) == 51821);
	wg_free_device(d);

	/* A new private key only. */
	wg_free_device(w);
	w = wanted();
	w->private_key[5] ^= 1;
	CHECK(wg_device_diff(r, w, &d) == 0 && d && d->flags == WG_DEV_HAS_PRIVATE_KEY);
	CHECK(d->n_peers == 0 && d->private_key[5] == (0x11 ^ 1));
	wg_free_device(d);

	/* A running device with no key yet (a fresh wireguard-go). */
	r->flags &= ~(uint32_t)WG_DEV_HAS_PRIVATE_KEY;
	CHECK(wg_device_diff(r, w, &d) == 0 && d && (d->flags & WG_DEV_HAS_PRIVATE_KEY));
	wg_free_device(d);

	/* The same key twice in wanted cannot be applied. */
	peer(w, 0xaa, NULL, 0);
	CHECK(wg_device_diff(r, w, &d) == -EINVAL && d == NULL);
	wg_free_device(r);
	wg_free_device(w);
}

static void test_remove_all(void)
{
	struct wg_device *r = running(), *w = wg_new_device("wgt0"), *d = NULL;

	CHECK(wg_device_diff(r, w, &d) == 0 && d && d->n_peers == 2);
	CHECK(d->peers[0].flags & WG_PEER_REMOVE_ME && d->peers[1].flags & WG_PEER_REMOVE_ME);
	wg_free_device(d);
	wg_free_device(r);
	wg_free_device(w);
}

int main(void)
{
	test_same();
	test_from_empty();
	test_changes();
	test_fields();
	test_remove_all();
	return check_result();
}
