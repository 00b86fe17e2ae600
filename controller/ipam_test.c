// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the overlay address book against a real SQLite store in a
 * temp dir: nodes, load balancer vips and external clients all hold
 * addresses, a load balancer without a vip holds none, another network's
 * holders do not count, the lowest free host address is handed out, and a
 * full network is -ENOSPC.
 */
#include "controller/ipam.h"
#include "controller/store/store_test_util.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct store *s;

static uint32_t ip(const char *text)
{
	struct in_addr a = {0};

	CHECK(inet_pton(AF_INET, text, &a) == 1);
	return a.s_addr;
}

static struct st_network add_network(const char *name, const char *cidr)
{
	struct st_network n = {.port = 51820, .mtu = 1420, .created = 1, .dns_replicas = 1};

	snprintf(n.name, sizeof(n.name), "%s", name);
	snprintf(n.cidr, sizeof(n.cidr), "%s", cidr);
	strcpy(n.topology, "mesh");
	strcpy(n.domain, "netfn.internal");
	CHECK(s->ops->network_insert(s, &n) == 0);
	return n;
}

static void add_node(int64_t net, const char *name, const char *addr)
{
	struct st_node n = {.network_id = net, .created = 1};

	snprintf(n.name, sizeof(n.name), "%s", name);
	memset(n.id_pk, name[0] + (int)net, sizeof(n.id_pk));
	memset(n.wg_pk, name[0] + (int)net + 100, sizeof(n.wg_pk));
	n.overlay_addr = ip(addr);
	CHECK(s->ops->node_insert(s, &n) == 0);
}

static void add_lb(int64_t net, const char *name, const char *vip)
{
	struct st_lb lb = {.network_id = net, .port = 80, .replicas = 1, .created = 1};

	snprintf(lb.name, sizeof(lb.name), "%s", name);
	strcpy(lb.protocol, "tcp");
	strcpy(lb.algorithm, "round-robin");
	lb.vip = vip ? ip(vip) : 0;
	lb.backend_port = 80;
	CHECK(s->ops->lb_insert(s, &lb) == 0);
}

static void add_client(int64_t net, const char *name, const char *addr)
{
	struct st_client c = {.network_id = net, .created = 1};

	snprintf(c.name, sizeof(c.name), "%s", name);
	memset(c.wg_pk, name[0] + (int)net + 50, sizeof(c.wg_pk));
	c.overlay_addr = ip(addr);
	CHECK(s->ops->client_insert(s, &c) == 0);
}

static bool taken(int64_t net, const char *addr)
{
	bool t = false;

	CHECK(ipam_taken(s, net, ip(addr), &t) == 0);
	return t;
}

static const char *alloc(const struct st_network *net, char *buf)
{
	struct in_addr a;
	int ret = ipam_alloc(s, net, &a);

	if (ret)
		return ret == -ENOSPC ? "full" : "error";
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

int main(void)
{
	char dir[] = "/tmp/netfn-ipam-XXXXXX", buf[INET_ADDRSTRLEN];
	struct st_network blue, red, tiny;
	struct in_addr *used = NULL;
	size_t n = 0;

	CHECK(mkdtemp(dir) != NULL);
	CHECK(store_open(dir, &s) == 0);
	if (!s)
		return check_result();
	CHECK(s->ops->begin(s) == 0);
	blue = add_network("blue", "10.7.0.0/24");
	red = add_network("red", "10.7.0.0/24");
	tiny = add_network("tiny", "10.9.0.0/30");

	/* Empty: the first host address, nothing taken. */
	CHECK(strcmp(alloc(&blue, buf), "10.7.0.1") == 0);
	CHECK(ipam_used(s, blue.id, &used, &n) == 0 && n == 0 && used == NULL);
	CHECK(!taken(blue.id, "10.7.0.1"));

	/* A node, a vip and a client each hold theirs. */
	add_node(blue.id, "a1", "10.7.0.1");
	add_lb(blue.id, "web", "10.7.0.2");
	add_client(blue.id, "laptop", "10.7.0.3");
	add_node(blue.id, "b1", "10.7.0.5");
	CHECK(taken(blue.id, "10.7.0.1") && taken(blue.id, "10.7.0.2"));
	CHECK(taken(blue.id, "10.7.0.3") && !taken(blue.id, "10.7.0.4"));
	CHECK(strcmp(alloc(&blue, buf), "10.7.0.4") == 0);
	CHECK(ipam_used(s, blue.id, &used, &n) == 0 && n == 4);
	free(used);
	used = NULL;

	/* A load balancer without a vip holds nothing. */
	add_lb(blue.id, "dns", NULL);
	CHECK(ipam_used(s, blue.id, &used, &n) == 0 && n == 4);
	free(used);
	used = NULL;

	/* The next free one after the client. */
	add_client(blue.id, "phone", "10.7.0.4");
	CHECK(strcmp(alloc(&blue, buf), "10.7.0.6") == 0);

	/* Another network's holders do not count, even in the same range. */
	CHECK(!taken(red.id, "10.7.0.1") && strcmp(alloc(&red, buf), "10.7.0.1") == 0);

	/* A /30 has two host addresses: a node and a client fill it. */
	add_node(tiny.id, "t1", "10.9.0.1");
	CHECK(strcmp(alloc(&tiny, buf), "10.9.0.2") == 0);
	add_client(tiny.id, "t2", "10.9.0.2");
	CHECK(strcmp(alloc(&tiny, buf), "full") == 0);

	/* A cidr that does not parse is damage, not a full network. */
	strcpy(tiny.cidr, "nonsense");
	CHECK(strcmp(alloc(&tiny, buf), "error") == 0);
	CHECK(s->ops->commit(s) == 0);

	store_close(s);
	CHECK(store_test_dir_remove(dir) == 0);
	return check_result();
}
