// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the wireguard-go UAPI text: the exact set request for a
 * diff, a get reply in wireguard-go's layout parsed into the model, errno
 * lines, and the malformed replies that must be refused.
 */
#include "netfns/kernel/wg_uapi.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define K1 "1111111111111111111111111111111111111111111111111111111111111111"
#define KA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define KB "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void test_format(void)
{
	struct wg_device *d = wg_new_device("wgt0");
	struct wg_allowedip a4 = {.family = AF_INET, .cidr = 32};
	struct wg_allowedip a6 = {.family = AF_INET6, .cidr = 64};
	struct wg_peer *p;
	char *text = NULL;
	size_t len = 0;

	d->flags = WG_DEV_HAS_PRIVATE_KEY | WG_DEV_HAS_LISTEN_PORT;
	memset(d->private_key, 0x11, WG_KEY_LEN);
	d->listen_port = 51820;
	p = wg_device_add_peer(d);
	memset(p->public_key, 0xaa, WG_KEY_LEN);
	p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REPLACE_ALLOWEDIPS | WG_PEER_HAS_KEEPALIVE;
	p->keepalive = 25;
	p->endpoint.addr6.sin6_family = AF_INET6;
	p->endpoint.addr6.sin6_port = htons(51820);
	inet_pton(AF_INET6, "2001:db8::1", &p->endpoint.addr6.sin6_addr);
	inet_pton(AF_INET, "10.9.0.2", &a4.ip.ip4);
	inet_pton(AF_INET6, "fd00:9::", &a6.ip.ip6);
	CHECK(wg_peer_add_allowedip(p, &a4) == 0);
	CHECK(wg_peer_add_allowedip(p, &a6) == 0);
	p = wg_device_add_peer(d);
	memset(p->public_key, 0xbb, WG_KEY_LEN);
	p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REMOVE_ME;

	CHECK(wg_uapi_format_set(d, &text, &len) == 0);
	CHECK(len == strlen(text));
	CHECK(!strcmp(text, "set=1\n"
	                    "private_key=" K1 "\n"
	                    "listen_port=51820\n"
	                    "public_key=" KA "\n"
	                    "endpoint=[2001:db8::1]:51820\n"
	                    "persistent_keepalive_interval=25\n"
	                    "replace_allowed_ips=true\n"
	                    "allowed_ip=10.9.0.2/32\n"
	                    "allowed_ip=fd00:9::/64\n"
	                    "public_key=" KB "\n"
	                    "remove=true\n"
	                    "\n"));
	free(text);

	/* A peer-only diff says nothing about the device. */
	d->flags = 0;
	d->n_peers = 1;
	d->peers[0].flags = WG_PEER_HAS_PUBLIC_KEY;
	d->peers[0].endpoint.addr.sa_family = AF_UNSPEC;
	CHECK(wg_uapi_format_set(d, &text, &len) == 0);
	CHECK(!strcmp(text, "set=1\npublic_key=" KA "\nallowed_ip=10.9.0.2/32\n"
	                    "allowed_ip=fd00:9::/64\n\n"));
	free(text);
	d->n_peers = 2;
	wg_free_device(d);
}

static void test_parse_get(void)
{
	static const char reply[] = "private_key=" K1 "\n"
	                            "listen_port=51820\n"
	                            "public_key=" KA "\n"
	                            "preshared_key=" K1 "\n"
	                            "protocol_version=1\n"
	                            "endpoint=192.0.2.7:51821\n"
	                            "last_handshake_time_sec=1700000000\n"
	                            "last_handshake_time_nsec=42\n"
	                            "tx_bytes=38333\n"
	                            "rx_bytes=2224\n"
	                            "persistent_keepalive_interval=25\n"
	                            "allowed_ip=10.9.0.2/32\n"
	                            "allowed_ip=fd00:9::/64\n"
	                            "public_key=" KB "\n"
	                            "endpoint=[fe80::1%eth0]:51820\n"
	                            "some_future_key=whatever\n"
	                            "last_handshake_time_sec=0\n"
	                            "persistent_keepalive_interval=0\n"
	                            "errno=0\n"
	                            "\n";
	struct wg_device *d = wg_new_device("wgt0");
	int remote = -1;

	CHECK(wg_uapi_parse(reply, sizeof(reply) - 1, d, &remote) == 0 && remote == 0);
	CHECK(d->flags == (WG_DEV_HAS_PRIVATE_KEY | WG_DEV_HAS_LISTEN_PORT));
	CHECK(d->private_key[0] == 0x11 && d->private_key[31] == 0x11 && d->listen_port == 51820);
	CHECK(d->n_peers == 2);
	CHECK(d->peers[0].public_key[0] == 0xaa && d->peers[0].keepalive == 25);
	CHECK(d->peers[0].endpoint.addr4.sin_family == AF_INET);
	CHECK(ntohs(d->peers[0].endpoint.addr4.sin_port) == 51821);
	CHECK(d->peers[0].rx_bytes == 2224 && d->peers[0].tx_bytes == 38333);
	CHECK(d->peers[0].last_handshake.tv_sec == 1700000000);
	CHECK(d->peers[0].last_handshake.tv_nsec == 42);
	CHECK(d->peers[0].n_allowedips == 2 && d->peers[0].allowedips[1].family == AF_INET6);
	CHECK(d->peers[0].allowedips[1].cidr == 64);
	/* A zoned link-local endpoint is skipped, not an error. */
	CHECK(d->peers[1].public_key[0] == 0xbb && d->peers[1].endpoint.addr.sa_family == 0);
	CHECK(d->peers[1].n_allowedips == 0);
	wg_free_device(d);
}

static int parse(const char *text, int *remote)
{
	struct wg_device *d = wg_new_device("wgt0");
	int ret = wg_uapi_parse(text, strlen(text), d, remote);

	wg_free_device(d);
	return ret;
}

static void test_parse_errors(void)
{
	int remote = 0;

	CHECK(parse("errno=0\n\n", &remote) == 0 && remote == 0);
	CHECK(parse("errno=22\n\n", &remote) == 0 && remote == 22);
	CHECK(parse("errno=-98\n\n", &remote) == 0 && remote == 98);
	/* Refused: no errno, junk errno, bad key, bad numbers, bad IP, no '=' */
	CHECK(parse("listen_port=1\n\n", &remote) == -EBADMSG);
	CHECK(parse("", &remote) == -EBADMSG);
	CHECK(parse("errno=abc\n\n", &remote) == -EBADMSG);
	CHECK(parse("errno=\n\n", &remote) == -EBADMSG);
	CHECK(parse("public_key=xyz\nerrno=0\n\n", &remote) == -EBADMSG);
	CHECK(parse("public_key=" KA "00\nerrno=0\n\n", &remote) == -EBADMSG);
	CHECK(parse("listen_port=65536\nerrno=0\n\n", &remote) == -EBADMSG);
	CHECK(parse("listen_port=-1\nerrno=0\n\n", &remote) == -EBADMSG);
	CHECK(parse("public_key=" KA "\nallowed_ip=10.0.0.1\nerrno=0\n\n", &remote) == -EBADMSG);
	CHECK(parse("public_key=" KA "\nrx_bytes=1x\nerrno=0\n\n", &remote) == -EBADMSG);
	CHECK(parse("garbage\nerrno=0\n\n", &remote) == -EBADMSG);
	CHECK(parse("listen_port=1\n", &remote) == -EBADMSG);
	/* An unterminated last line is not read past the buffer. */
	CHECK(parse("errno=0", &remote) == -EBADMSG);
}

static void test_ifname(void)
{
	CHECK(wg_uapi_valid_ifname("wg0"));
	CHECK(wg_uapi_valid_ifname("nf-vpn.1_a"));
	CHECK(!wg_uapi_valid_ifname(""));
	CHECK(!wg_uapi_valid_ifname("-f"));
	CHECK(!wg_uapi_valid_ifname(".."));
	CHECK(!wg_uapi_valid_ifname("a/b"));
	CHECK(!wg_uapi_valid_ifname("a b"));
	CHECK(!wg_uapi_valid_ifname("0123456789abcdef")); /* 16: over IFNAMSIZ - 1 */
	CHECK(!wg_uapi_valid_ifname(NULL));
}

int main(void)
{
	test_format();
	test_parse_get();
	test_parse_errors();
	test_ifname();
	return check_result();
}
