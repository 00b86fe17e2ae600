// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the scheduler against a real SQLite store in a temp dir, with
 * a fake liveness function: load balancers spread over the nodes (fewest
 * replicas first, ties to the lowest id, never two replicas of one object on
 * one node); a replica moves when its node dies, is deleted or loses the
 * placement labels, and stays where it went when the dead node comes back;
 * more replicas than eligible nodes leave slots empty; fewer replicas
 * release slots; and every change, and only a change, is an audit entry.
 * Client gateways: only on nodes with an endpoint, none for an expired key.
 * Every network also wants its DNS servers (dns_replicas of them, 0 meaning
 * 1), which count as load like any replica: two land on two distinct nodes
 * and a dead one moves to a node the other does not hold, even when that
 * one hosts fewer; they go with their network.
 */
#include "controller/sched.h"
#include "controller/ctl.h"
#include "controller/store/store_test_util.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct store *s;
static int64_t net;
static bool dead[64]; /* by node id */

static bool fake_alive(void *ctx, int64_t node_id)
{
	CHECK(ctx == &dead);
	return node_id < 0 || node_id >= 64 || !dead[node_id];
}

static int64_t add_node(const char *name, int host, const char *key, const char *value)
{
	struct st_node n = {.network_id = net, .created = 1};

	snprintf(n.name, sizeof(n.name), "%s", name);
	memset(n.id_pk, host, sizeof(n.id_pk));
	memset(n.wg_pk, host + 100, sizeof(n.wg_pk));
	n.overlay_addr = htonl(0x0a070000 | (uint32_t)host);
	if (key) {
		snprintf(n.labels[0].key, ST_NAME_MAX, "%s", key);
		snprintf(n.labels[0].value, ST_NAME_MAX, "%s", value);
		n.n_labels = 1;
	}
	CHECK(s->ops->node_insert(s, &n) == 0);
	return n.id;
}

static void relabel(int64_t id, const char *key, const char *value)
{
	struct st_node n;

	CHECK(s->ops->node_get_id(s, id, &n) == 0);
	n.n_labels = 0;
	if (key) {
		snprintf(n.labels[0].key, ST_NAME_MAX, "%s", key);
		snprintf(n.labels[0].value, ST_NAME_MAX, "%s", value);
		n.n_labels = 1;
	}
	CHECK(s->ops->node_update(s, &n) == 0);
}

static int64_t add_lb(const char *name, uint32_t replicas, const char *key, const char *value)
{
	struct st_lb lb = {.network_id = net, .port = 80, .replicas = replicas, .created = 1};

	snprintf(lb.name, sizeof(lb.name), "%s", name);
	strcpy(lb.protocol, "tcp");
	strcpy(lb.algorithm, "round-robin");
	if (key) {
		snprintf(lb.placement[0].key, ST_NAME_MAX, "%s", key);
		snprintf(lb.placement[0].value, ST_NAME_MAX, "%s", value);
		lb.n_placement = 1;
	}
	CHECK(s->ops->lb_insert(s, &lb) == 0);
	return lb.id;
}

static void set_replicas(int64_t id, uint32_t replicas)
{
	struct st_lb lb;

	CHECK(s->ops->lb_get_id(s, id, &lb) == 0);
	lb.replicas = replicas;
	CHECK(s->ops->lb_update(s, &lb) == 0);
}

/* One scheduling pass in its own transaction; whether anything changed. */
static bool run(void)
{
	bool changed = true;

	CHECK(s->ops->begin(s) == 0);
	CHECK(sched_network(s, net, &changed) == 0);
	CHECK(s->ops->commit(s) == 0);
	return changed;
}

struct where {
	const char *kind; /* NULL: "lb" */
	int n;
	int64_t node[8]; /* by slot; 0 when the slot is empty */
	char reason[8][128];
};

static int collect(void *ctx, const struct st_placement *p)
{
	struct where *w = ctx;

	CHECK(strcmp(p->kind, w->kind ? w->kind : "lb") == 0 && p->since > 0);
	if (p->slot < 8) {
		w->node[p->slot] = p->node_id;
		snprintf(w->reason[p->slot], sizeof(w->reason[0]), "%s", p->reason);
	}
	w->n++;
	return 0;
}

static struct where placed_kind(const char *kind, int64_t object)
{
	struct where w = {.kind = kind};

	CHECK(s->ops->placement_list(s, kind, object, collect, &w) == 0);
	return w;
}

static struct where placed(int64_t lb)
{
	return placed_kind("lb", lb);
}

/* The audit entries, newest first. */
struct audits {
	int n;
	struct st_audit v[16];
};

static int collect_audit(void *ctx, const struct st_audit *a)
{
	struct audits *au = ctx;

	if (au->n < 16)
		au->v[au->n++] = *a;
	return 0;
}

static int audit_count(void)
{
	struct audits au = {0};

	CHECK(s->ops->audit_list(s, 1000, collect_audit, &au) == 0);
	return au.n;
}

static struct audits audits(void)
{
	struct audits au = {0};

	CHECK(s->ops->audit_list(s, 16, collect_audit, &au) == 0);
	return au;
}

/* True when one of the newest n audit entries is about object and has detail. */
static bool audited(int n, const char *object, const char *detail)
{
	struct audits au = audits();

	for (int i = 0; i < n && i < au.n; i++) {
		CHECK(strcmp(au.v[i].actor, "scheduler") == 0);
		CHECK(strcmp(au.v[i].method, "sched.place") == 0);
		if (strcmp(au.v[i].object, object) == 0 && strstr(au.v[i].detail, detail))
			return true;
	}
	return false;
}

/* A node of the current network with an endpoint (NULL: none) and one label (NULL: none). */
static int64_t add_node_ep(const char *name, int host, const char *endpoint, const char *key,
                           const char *value)
{
	int64_t id = add_node(name, host, key, value);
	struct st_node n;

	CHECK(s->ops->node_get_id(s, id, &n) == 0);
	if (endpoint) {
		snprintf(n.endpoints[0], sizeof(n.endpoints[0]), "%s", endpoint);
		n.n_endpoints = 1;
		CHECK(s->ops->node_update(s, &n) == 0);
	}
	return id;
}

static int64_t add_client(const char *name, int host, int64_t expires, const char *key,
                          const char *value)
{
	struct st_client c = {.network_id = net, .expires = expires, .created = 1};

	snprintf(c.name, sizeof(c.name), "%s", name);
	memset(c.wg_pk, host + 100, sizeof(c.wg_pk));
	c.overlay_addr = htonl(0x0a070000 | (uint32_t)host);
	if (key) {
		snprintf(c.gateway_selector[0].key, ST_NAME_MAX, "%s", key);
		snprintf(c.gateway_selector[0].value, ST_NAME_MAX, "%s", value);
		c.n_gateway_selector = 1;
	}
	CHECK(s->ops->client_insert(s, &c) == 0);
	return c.id;
}

static int gateway_of_cb(void *ctx, const struct st_placement *p)
{
	CHECK(p->slot == 0);
	*(struct st_placement *)ctx = *p;
	return 0;
}

/* The gateway placed for a client (node 0 when none), with its reason. */
static struct st_placement gateway_of(int64_t client)
{
	struct st_placement p = {0};

	CHECK(s->ops->placement_list(s, "gateway", client, gateway_of_cb, &p) == 0);
	return p;
}

/*
 * Client gateways in a network of their own: one per client whose key has
 * not expired, only on a node with an endpoint that matches the client's
 * gateway selector, moved or released when the node loses its endpoint.
 */
static void test_gateways(void)
{
	struct st_network n = {.port = 51820, .mtu = 1420, .created = 1, .dns_replicas = 1};
	int64_t g1, g2, g3, laptop, ci, old, hidden, saved = net;
	struct st_node node;
	struct st_placement p;

	strcpy(n.name, "green");
	strcpy(n.cidr, "10.7.0.0/24");
	strcpy(n.topology, "mesh");
	strcpy(n.domain, "netfn.internal");
	CHECK(s->ops->network_insert(s, &n) == 0);
	net = n.id;
	g1 = add_node_ep("g1", 11, NULL, "edge", "yes");
	g2 = add_node_ep("g2", 12, "192.0.2.12:51820", "edge", "yes");
	g3 = add_node_ep("g3", 13, "192.0.2.13:51820", NULL, NULL);

	laptop = add_client("laptop", 100, 0, NULL, NULL);
	ci = add_client("ci", 101, ctl_now() + 3600, "edge", "yes");
	old = add_client("old", 102, ctl_now() - 1, NULL, NULL);
	hidden = add_client("hidden", 103, 0, "zone", "nowhere");
	CHECK(run());
	/* Any node with an endpoint; never g1, which has none. */
	p = gateway_of(laptop);
	CHECK(p.node_id == g2 || p.node_id == g3);
	/* The selector and an endpoint: g2 only. */
	CHECK(gateway_of(ci).node_id == g2);
	CHECK(audited(8, "gateway ci", "slot 0: node g2 (was unplaced)"));
	/* An expired key wants no gateway, and nothing matching is no gateway either. */
	CHECK(gateway_of(old).node_id == 0 && gateway_of(hidden).node_id == 0);

	/* g2 loses its endpoint: ci has nowhere to go, laptop moves to g3. */
	CHECK(s->ops->node_get_id(s, g2, &node) == 0);
	node.n_endpoints = 0;
	CHECK(s->ops->node_update(s, &node) == 0);
	CHECK(run());
	CHECK(gateway_of(ci).node_id == 0 && gateway_of(laptop).node_id == g3);
	CHECK(audited(4, "gateway ci",
	              "slot 0: no eligible live node (was node g2: node g2 has no endpoint "
	              "others can reach)"));
	/* It gets one back: ci returns there; laptop stays where it is. */
	snprintf(node.endpoints[0], sizeof(node.endpoints[0]), "192.0.2.22:51820");
	node.n_endpoints = 1;
	CHECK(s->ops->node_update(s, &node) == 0);
	CHECK(run() && gateway_of(ci).node_id == g2 && gateway_of(laptop).node_id == g3);

	/* A deleted client's gateway goes with it. */
	CHECK(s->ops->client_delete(s, ci) == 0);
	CHECK(gateway_of(ci).node_id == 0 && gateway_of(laptop).node_id == g3);
	(void)g1;
	net = saved;
}

/*
 * DNS servers in a network of their own with two of them: on two distinct
 * nodes; when one dies, its slot moves to a live node the other slot does
 * not hold, though that one hosts fewer replicas; and they go with the
 * network.
 */
static void test_dns(void)
{
	struct st_network n = {.port = 51820, .mtu = 1420, .created = 1, .dns_replicas = 2};
	int64_t t1, t2, t3, lb, saved = net;
	struct where w;

	strcpy(n.name, "teal");
	strcpy(n.cidr, "10.7.0.0/24");
	strcpy(n.topology, "mesh");
	strcpy(n.domain, "netfn.internal");
	CHECK(s->ops->network_insert(s, &n) == 0);
	net = n.id;
	t1 = add_node("t1", 21, NULL, NULL);
	t2 = add_node("t2", 22, NULL, NULL);
	CHECK(run());
	w = placed_kind("dns", net);
	CHECK(w.n == 2 && w.node[0] == t1 && w.node[1] == t2);
	CHECK(audited(2, "dns teal", "slot 1: node t2 (was unplaced)"));
	/* A third node, and a load balancer on it: every node hosts one. */
	t3 = add_node("t3", 23, NULL, NULL);
	lb = add_lb("teal-web", 1, NULL, NULL);
	CHECK(run() && placed(lb).node[0] == t3);

	/* t2 dies: its slot cannot go to t1, which holds slot 0 and hosts as
	 * few as t3 with a lower id; it goes to t3. */
	dead[t2] = true;
	CHECK(run());
	w = placed_kind("dns", net);
	CHECK(w.n == 2 && w.node[0] == t1 && w.node[1] == t3);
	CHECK(strcmp(w.reason[1], "moved: node t2 missed 2 heartbeats") == 0);
	CHECK(audited(1, "dns teal", "slot 1: node t3 (was node t2: node t2 missed 2 heartbeats)"));
	dead[t2] = false;
	CHECK(!run());

	/* The network goes (its nodes and load balancer first): so do its servers. */
	CHECK(s->ops->lb_delete(s, lb) == 0);
	CHECK(s->ops->node_delete(s, t1) == 0 && s->ops->node_delete(s, t2) == 0 &&
	      s->ops->node_delete(s, t3) == 0);
	CHECK(s->ops->network_delete(s, net) == 0);
	CHECK(placed_kind("dns", net).n == 0);
	net = saved;
}

int main(void)
{
	char dir[] = "/tmp/netfn-sched-XXXXXX";
	struct st_network n = {.port = 51820, .mtu = 1420, .created = 1};
	int64_t a, b, c, d, web, api, big, edge;
	struct where w;
	int na;

	CHECK(mkdtemp(dir) != NULL);
	CHECK(store_open(dir, &s) == 0);
	if (!s)
		return check_result();
	strcpy(n.name, "blue");
	strcpy(n.cidr, "10.7.0.0/24");
	strcpy(n.topology, "mesh");
	CHECK(s->ops->network_insert(s, &n) == 0);
	net = n.id;

	/* No liveness registered: every node counts as live. The network's one
	 * DNS server (dns_replicas 0 means 1) goes on a too. */
	a = add_node("a", 1, NULL, NULL);
	web = add_lb("web", 1, NULL, NULL);
	CHECK(run() && placed(web).node[0] == a);
	CHECK(audited(2, "lb web", "slot 0: node a (was unplaced)"));
	w = placed_kind("dns", net);
	CHECK(w.n == 1 && w.node[0] == a);
	CHECK(audited(2, "dns blue", "slot 0: node a (was unplaced)"));
	CHECK(strstr(placed(web).reason[0], "1 eligible") != NULL);
	sched_set_liveness(fake_alive, &dead);

	/* Spread: fewest replicas first, ties to the lowest id; a hosts two
	 * (web and the DNS server), and never two slots of big on one node. */
	b = add_node("b", 2, NULL, NULL);
	c = add_node("c", 3, NULL, NULL);
	api = add_lb("api", 1, NULL, NULL);
	big = add_lb("big", 2, NULL, NULL);
	CHECK(run());
	CHECK(placed(web).node[0] == a && placed(api).node[0] == b);
	w = placed(big);
	CHECK(w.n == 2 && w.node[0] == c && w.node[1] == b);

	/* Nothing changed: nothing written, no audit entry. */
	na = audit_count();
	CHECK(!run() && audit_count() == na);

	/* a dies: its replicas move to the live nodes hosting fewest. */
	dead[a] = true;
	CHECK(run());
	CHECK(placed(web).node[0] == c); /* b hosts two, c one */
	CHECK(strcmp(placed(web).reason[0], "moved: node a missed 2 heartbeats") == 0);
	CHECK(placed_kind("dns", net).node[0] == b); /* b and c host two each: b, the lowest id */
	w = placed(big);
	CHECK(w.node[0] == c && w.node[1] == b);
	CHECK(audit_count() == na + 2);
	CHECK(audited(2, "lb web", "slot 0: node c (was node a: node a missed 2 heartbeats)"));
	CHECK(audited(2, "dns blue", "slot 0: node b (was node a: node a missed 2 heartbeats)"));

	/* a comes back: nothing moves back. */
	dead[a] = false;
	na = audit_count();
	CHECK(!run() && audit_count() == na);
	CHECK(placed(web).node[0] == c && placed(big).node[1] == b);

	/* b is deleted: its placements stay stored until the scheduler moves them. */
	CHECK(s->ops->node_delete(s, b) == 0);
	CHECK(placed(api).node[0] == b);
	CHECK(run());
	CHECK(placed(web).node[0] == c && placed(api).node[0] == a); /* a hosted nothing */
	w = placed(big);
	CHECK(w.node[0] == c && w.node[1] == a);
	CHECK(placed_kind("dns", net).node[0] == a); /* a and c host two each: a, the lowest id */
	char gone[96];
	snprintf(gone, sizeof(gone), "(was node id %lld: node id %lld deleted)", (long long)b,
	         (long long)b);
	CHECK(audited(3, "lb api", gone));

	/* A placement selector: only edge=yes nodes; d carries it. */
	d = add_node("d", 4, "edge", "yes");
	edge = add_lb("edge", 1, "edge", "yes");
	CHECK(run() && placed(edge).node[0] == d);
	/* d's label goes: no other node is eligible, so the slot is emptied. */
	relabel(d, "edge", "no");
	CHECK(run() && placed(edge).n == 0);
	CHECK(audited(1, "lb edge",
	              "slot 0: no eligible live node (was node d: node d no longer matches "
	              "the placement selector)"));
	/* And an empty slot with nothing eligible is no news. */
	na = audit_count();
	CHECK(!run() && audit_count() == na);
	/* c gets the label: the slot is filled there. */
	relabel(c, "edge", "yes");
	CHECK(run() && placed(edge).node[0] == c);
	/* c loses it, d regains it: the replica follows the labels. */
	relabel(c, NULL, NULL);
	relabel(d, "edge", "yes");
	CHECK(run() && placed(edge).node[0] == d);
	CHECK(audited(1, "lb edge", "(was node c: node c no longer matches"));

	/* More replicas than eligible live nodes: the rest of the slots stay empty. */
	set_replicas(big, 5);
	CHECK(run());
	w = placed(big);
	CHECK(w.n == 3 && w.node[0] == c && w.node[1] == a && w.node[2] == d);
	na = audit_count();
	CHECK(!run() && audit_count() == na);
	/* Fewer replicas release the slots beyond them. */
	set_replicas(big, 1);
	CHECK(run());
	w = placed(big);
	CHECK(w.n == 1 && w.node[0] == c);
	CHECK(audited(2, "lb big", "slot 2: node d released (replicas 1)"));

	/* Every node dead: every slot is emptied once, with its reason. */
	dead[a] = dead[c] = dead[d] = true;
	CHECK(run());
	CHECK(placed(web).n == 0 && placed(api).n == 0 && placed(big).n == 0 &&
	      placed(edge).n == 0 && placed_kind("dns", net).n == 0);
	CHECK(audited(5, "lb web", "slot 0: no eligible live node (was node c: node c missed"));
	na = audit_count();
	CHECK(!run() && audit_count() == na);
	/* One comes back: everything lands there, one slot per object. */
	dead[c] = false;
	CHECK(run());
	CHECK(placed(web).node[0] == c && placed(api).node[0] == c && placed(big).node[0] == c);
	CHECK(placed(edge).n == 0); /* c is not edge=yes */
	CHECK(placed_kind("dns", net).node[0] == c);

	/* A deleted load balancer's placements go with it; the others stay. */
	CHECK(s->ops->lb_delete(s, web) == 0);
	CHECK(placed(web).n == 0);
	CHECK(!run());

	test_gateways();
	test_dns();

	store_close(s);
	CHECK(store_test_dir_remove(dir) == 0);
	return check_result();
}
