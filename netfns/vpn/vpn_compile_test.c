// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the vpn compiler (mesh, hub, extra prefixes, clients) and overlay address
 * allocation. */
#include "netfns/vpn/vpn.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static void member(struct vpn_member *m, int64_t id, const char *addr, bool endpoint)
{
	memset(m, 0, sizeof(*m));
	m->id = id;
	snprintf(m->name, sizeof(m->name), "n%lld", (long long)id);
	memset(m->public_key, (int)(0x50 - id), VPN_KEY_LEN); /* keys sort in reverse id order */
	inet_pton(AF_INET, addr, &m->address);
	if (endpoint) {
		snprintf(m->endpoints[0], sizeof(m->endpoints[0]), "192.0.2.%lld:51820",
		         (long long)id);
		m->n_endpoints = 1;
	}
}

static void test_mesh(void)
{
	struct vpn_network net = {.port = 51820, .mtu = 1420, .topology = VPN_MESH};
	struct vpn_member m[4];
	struct vpn_config cfg;
	char buf[NF_PREFIX_STRLEN];

	nf_prefix_parse("10.9.0.0/24", false, &net.cidr);
	member(&m[0], 1, "10.9.0.1", true);
	member(&m[1], 2, "10.9.0.2", true);
	member(&m[2], 3, "10.9.0.3", false);
	member(&m[3], 4, "10.9.0.4", true);

	CHECK(vpn_compile(&net, m, 4, 1, &cfg) == 0);
	CHECK(cfg.n_peers == 3 && !cfg.forward && cfg.listen_port == 51820 && cfg.mtu == 1420);
	CHECK(strcmp(nf_prefix_format(&cfg.address, buf, sizeof(buf)), "10.9.0.1/24") == 0);
	/* Sorted by key: node 4 has the lowest key. */
	CHECK(strcmp(cfg.peers[0].name, "n4") == 0 && strcmp(cfg.peers[2].name, "n2") == 0);
	CHECK(cfg.peers[0].n_allowed == 1 && cfg.peers[0].allowed[0].len == 32);
	CHECK(strcmp(nf_prefix_format(&cfg.peers[0].allowed[0], buf, sizeof(buf)), "10.9.0.4/32") ==
	      0);
	CHECK(strcmp(cfg.peers[0].endpoint, "192.0.2.4:51820") == 0);
	CHECK(cfg.peers[1].endpoint[0] == '\0'); /* n3 has no endpoint */
	CHECK(cfg.peers[0].keepalive == 0);
	vpn_config_free(&cfg);

	/* The node without an endpoint keeps its NAT mapping alive. */
	CHECK(vpn_compile(&net, m, 4, 3, &cfg) == 0);
	CHECK(cfg.n_peers == 3 && cfg.peers[0].keepalive == VPN_KEEPALIVE);
	vpn_config_free(&cfg);

	CHECK(vpn_compile(&net, m, 4, 99, &cfg) == -ENOENT);
	vpn_config_free(&cfg);
}

static void test_hub(void)
{
	struct vpn_network net = {.port = 51820, .mtu = 1420, .topology = VPN_HUB};
	struct vpn_member m[3];
	struct vpn_config cfg;
	char buf[NF_PREFIX_STRLEN];

	nf_prefix_parse("10.9.0.0/24", false, &net.cidr);
	member(&m[0], 1, "10.9.0.1", true);
	member(&m[1], 2, "10.9.0.2", false);
	member(&m[2], 3, "10.9.0.3", false);
	net.hub_node_id = 1;

	CHECK(vpn_compile(&net, m, 3, 1, &cfg) == 0);
	CHECK(cfg.forward && cfg.n_peers == 2);
	vpn_config_free(&cfg);

	CHECK(vpn_compile(&net, m, 3, 2, &cfg) == 0);
	CHECK(!cfg.forward && cfg.n_peers == 1 && strcmp(cfg.peers[0].name, "n1") == 0);
	CHECK(strcmp(nf_prefix_format(&cfg.peers[0].allowed[0], buf, sizeof(buf)), "10.9.0.0/24") ==
	      0);
	CHECK(cfg.peers[0].keepalive == VPN_KEEPALIVE);
	vpn_config_free(&cfg);

	/* Before the hub joins, spokes have no peer at all. */
	net.hub_node_id = 42;
	CHECK(vpn_compile(&net, m, 3, 2, &cfg) == 0 && cfg.n_peers == 0);
	vpn_config_free(&cfg);
}

/* A member's extra prefixes (a vip it hosts) follow its address wherever peers route to it. */
static void test_extra(void)
{
	struct vpn_network net = {.port = 51820, .mtu = 1420, .topology = VPN_MESH};
	struct nf_prefix vips[2];
	struct vpn_member m[3];
	struct vpn_config cfg;
	char buf[NF_PREFIX_STRLEN];

	nf_prefix_parse("10.9.0.0/24", false, &net.cidr);
	nf_prefix_parse("10.9.0.200/32", false, &vips[0]);
	nf_prefix_parse("10.9.0.201/32", false, &vips[1]);
	member(&m[0], 1, "10.9.0.1", true);
	member(&m[1], 2, "10.9.0.2", true);
	member(&m[2], 3, "10.9.0.3", true);
	m[1].n_extra = 2;
	m[1].extra = vips;

	/* Mesh: n1's peer n2 routes n2's address, then both vips; n3 only its own. */
	CHECK(vpn_compile(&net, m, 3, 1, &cfg) == 0 && cfg.n_peers == 2);
	CHECK(strcmp(cfg.peers[0].name, "n3") == 0 && cfg.peers[0].n_allowed == 1);
	CHECK(strcmp(cfg.peers[1].name, "n2") == 0 && cfg.peers[1].n_allowed == 3);
	CHECK(strcmp(nf_prefix_format(&cfg.peers[1].allowed[0], buf, sizeof(buf)), "10.9.0.2/32") ==
	      0);
	CHECK(strcmp(nf_prefix_format(&cfg.peers[1].allowed[1], buf, sizeof(buf)),
	             "10.9.0.200/32") == 0);
	CHECK(strcmp(nf_prefix_format(&cfg.peers[1].allowed[2], buf, sizeof(buf)),
	             "10.9.0.201/32") == 0);
	vpn_config_free(&cfg);
	/* The host itself has no peer for its own vips. */
	CHECK(vpn_compile(&net, m, 3, 2, &cfg) == 0 && cfg.n_peers == 2);
	CHECK(cfg.peers[0].n_allowed == 1 && cfg.peers[1].n_allowed == 1);
	vpn_config_free(&cfg);

	/* Hub: the hub's peer for spoke n2 routes n2's vips; a spoke routes the whole
	 * network to the hub, vips of the hub or of other spokes included. */
	net.topology = VPN_HUB;
	net.hub_node_id = 1;
	CHECK(vpn_compile(&net, m, 3, 1, &cfg) == 0 && cfg.n_peers == 2);
	CHECK(strcmp(cfg.peers[1].name, "n2") == 0 && cfg.peers[1].n_allowed == 3);
	CHECK(strcmp(nf_prefix_format(&cfg.peers[1].allowed[2], buf, sizeof(buf)),
	             "10.9.0.201/32") == 0);
	vpn_config_free(&cfg);
	m[0].n_extra = 1;
	m[0].extra = vips;
	m[1].n_extra = 0;
	CHECK(vpn_compile(&net, m, 3, 3, &cfg) == 0 && cfg.n_peers == 1);
	CHECK(cfg.peers[0].n_allowed == 1 &&
	      strcmp(nf_prefix_format(&cfg.peers[0].allowed[0], buf, sizeof(buf)), "10.9.0.0/24") ==
	          0);
	vpn_config_free(&cfg);
}

/* A client member: its gateway alone peers with it; the others route it there. */
static void test_clients(void)
{
	struct vpn_network net = {.port = 51820, .mtu = 1420, .topology = VPN_MESH};
	struct nf_prefix routed[2];
	struct vpn_member m[5];
	struct vpn_config cfg;
	char buf[NF_PREFIX_STRLEN];
	int seen = 0;

	nf_prefix_parse("10.9.0.0/24", false, &net.cidr);
	member(&m[0], 1, "10.9.0.1", true);
	member(&m[1], 2, "10.9.0.2", true);
	member(&m[2], 3, "10.9.0.3", false);
	/* Clients have ids no node has, no endpoint, and n2 as their gateway. */
	member(&m[3], -10, "10.9.0.10", false);
	member(&m[4], -11, "10.9.0.11", false);
	snprintf(m[3].name, sizeof(m[3].name), "laptop");
	snprintf(m[4].name, sizeof(m[4].name), "ci");
	m[3].gateway_id = m[4].gateway_id = 2;
	/* The caller gives the gateway its clients' addresses as extra prefixes. */
	nf_prefix_parse("10.9.0.10/32", false, &routed[0]);
	nf_prefix_parse("10.9.0.11/32", false, &routed[1]);
	m[1].n_extra = 2;
	m[1].extra = routed;

	/* The gateway: the two nodes and both clients, each client at its /32 with
	 * no endpoint and no keepalive; it forwards. */
	CHECK(vpn_compile(&net, m, 5, 2, &cfg) == 0 && cfg.n_peers == 4 && cfg.forward);
	for (size_t i = 0; i < cfg.n_peers; i++) {
		const struct vpn_peer *p = &cfg.peers[i];

		if (strcmp(p->name, "laptop") != 0 && strcmp(p->name, "ci") != 0)
			continue;
		seen++;
		CHECK(p->n_allowed == 1 && p->endpoint[0] == '\0' && p->keepalive == 0);
		CHECK(strcmp(nf_prefix_format(&p->allowed[0], buf, sizeof(buf)),
		             strcmp(p->name, "ci") ? "10.9.0.10/32" : "10.9.0.11/32") == 0);
	}
	CHECK(seen == 2);
	vpn_config_free(&cfg);

	/* Any other node: no client peer, the client addresses routed to n2. */
	CHECK(vpn_compile(&net, m, 5, 1, &cfg) == 0 && cfg.n_peers == 2 && !cfg.forward);
	CHECK(strcmp(cfg.peers[0].name, "n3") == 0 && strcmp(cfg.peers[1].name, "n2") == 0);
	CHECK(cfg.peers[1].n_allowed == 3);
	CHECK(strcmp(nf_prefix_format(&cfg.peers[1].allowed[1], buf, sizeof(buf)),
	             "10.9.0.10/32") == 0);
	vpn_config_free(&cfg);
	CHECK(vpn_compile(&net, m, 5, 3, &cfg) == 0 && cfg.n_peers == 2);
	vpn_config_free(&cfg);

	/* A client is never compiled for. */
	CHECK(vpn_compile(&net, m, 5, -10, &cfg) == -ENOENT);
	vpn_config_free(&cfg);

	/* Hub, n1 the hub, n2 a spoke and the gateway: n2 has the hub and its
	 * clients; the hub routes the clients to n2; n3 only has the hub. */
	net.topology = VPN_HUB;
	net.hub_node_id = 1;
	CHECK(vpn_compile(&net, m, 5, 2, &cfg) == 0 && cfg.n_peers == 3 && cfg.forward);
	CHECK(strcmp(cfg.peers[0].name, "n1") == 0 && cfg.peers[0].keepalive == VPN_KEEPALIVE);
	vpn_config_free(&cfg);
	CHECK(vpn_compile(&net, m, 5, 1, &cfg) == 0 && cfg.n_peers == 2 && cfg.forward);
	CHECK(strcmp(cfg.peers[1].name, "n2") == 0 && cfg.peers[1].n_allowed == 3);
	vpn_config_free(&cfg);
	CHECK(vpn_compile(&net, m, 5, 3, &cfg) == 0 && cfg.n_peers == 1);
	vpn_config_free(&cfg);
}

static void test_ipam(void)
{
	struct nf_prefix p;
	struct in_addr used[8], a;
	char s[INET_ADDRSTRLEN];
	size_t n = 0;

	nf_prefix_parse("10.1.2.0/29", false, &p);
	/* A /29 has 6 host addresses, .1 to .6. */
	for (int i = 0; i < 6; i++) {
		CHECK(vpn_ipam_alloc(&p, used, n, &a) == 0);
		inet_ntop(AF_INET, &a, s, sizeof(s));
		char want[16];
		snprintf(want, sizeof(want), "10.1.2.%d", i + 1);
		CHECK(strcmp(s, want) == 0);
		used[n++] = a;
	}
	CHECK(vpn_ipam_alloc(&p, used, n, &a) == -ENOSPC);
	/* A freed address in the middle is handed out again first. */
	used[2] = used[5];
	n--;
	CHECK(vpn_ipam_alloc(&p, used, n, &a) == 0);
	inet_ntop(AF_INET, &a, s, sizeof(s));
	CHECK(strcmp(s, "10.1.2.3") == 0);

	nf_prefix_parse("10.1.2.0/31", false, &p);
	CHECK(vpn_ipam_alloc(&p, NULL, 0, &a) == 0 && ntohl(a.s_addr) == 0x0a010200);
	nf_prefix_parse("10.1.2.7/32", true, &p);
	CHECK(vpn_ipam_alloc(&p, NULL, 0, &a) == 0 && ntohl(a.s_addr) == 0x0a010207);
	CHECK(vpn_ipam_alloc(&p, &a, 1, &a) == -ENOSPC);
	nf_prefix_parse("fd00::/64", false, &p);
	CHECK(vpn_ipam_alloc(&p, NULL, 0, &a) == -EINVAL);
}

int main(void)
{
	test_mesh();
	test_hub();
	test_extra();
	test_clients();
	test_ipam();
	return check_result();
}
