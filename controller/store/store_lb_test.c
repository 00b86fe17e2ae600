// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the SQLite store's load balancers and placements: a load
 * balancer through insert, get, list, update and delete with its selectors
 * and explicit backends; its name unique per network; placements put,
 * replaced, listed and deleted, and dropped with their load balancer and
 * with its network; and a schema-version-3 file with data walked forward to
 * version 4 without losing any. Each test works in its own mkdtemp
 * directory; no root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "controller/store/store_test_util.h"
#include "tests/check.h"

static struct st_lb make_lb(int64_t network_id, const char *name)
{
	struct st_lb lb = {.network_id = network_id, .port = 80, .created = 3000};

	snprintf(lb.name, sizeof(lb.name), "%s", name);
	strcpy(lb.protocol, "tcp");
	strcpy(lb.algorithm, "round-robin");
	lb.vip = htonl(0x0a1400fe);
	lb.n_backend_selector = 2;
	store_test_label(&lb.backend_selector[0], "role", "web");
	store_test_label(&lb.backend_selector[1], "zone", "a");
	lb.backend_port = 8080;
	lb.backend_weight = 3;
	lb.n_backends = 2;
	lb.backends[0] = (struct st_lb_backend){htonl(0xc0000201), 443, 7};
	lb.backends[1] = (struct st_lb_backend){htonl(0x0a140005), 8443, 100};
	lb.hc_interval_ms = 2000;
	lb.hc_timeout_ms = 1000;
	lb.hc_rise = 2;
	lb.hc_fall = 3;
	lb.hc_port = 9000;
	lb.n_placement = 1;
	store_test_label(&lb.placement[0], "edge", "yes");
	lb.replicas = 1;
	return lb;
}

/* Field by field: memcmp would compare the padding and the unused tails. */
static bool lb_equal(const struct st_lb *a, const struct st_lb *b)
{
	bool eq = a->id == b->id && a->network_id == b->network_id && !strcmp(a->name, b->name) &&
	          !strcmp(a->protocol, b->protocol) && !strcmp(a->algorithm, b->algorithm) &&
	          a->vip == b->vip && a->port == b->port && a->backend_port == b->backend_port &&
	          a->backend_weight == b->backend_weight &&
	          a->hc_interval_ms == b->hc_interval_ms && a->hc_timeout_ms == b->hc_timeout_ms &&
	          a->hc_rise == b->hc_rise && a->hc_fall == b->hc_fall &&
	          a->hc_port == b->hc_port && a->replicas == b->replicas &&
	          a->created == b->created && a->n_backend_selector == b->n_backend_selector &&
	          a->n_placement == b->n_placement && a->n_backends == b->n_backends;

	for (size_t i = 0; eq && i < a->n_backend_selector; i++)
		eq = !strcmp(a->backend_selector[i].key, b->backend_selector[i].key) &&
		     !strcmp(a->backend_selector[i].value, b->backend_selector[i].value);
	for (size_t i = 0; eq && i < a->n_placement; i++)
		eq = !strcmp(a->placement[i].key, b->placement[i].key) &&
		     !strcmp(a->placement[i].value, b->placement[i].value);
	for (size_t i = 0; eq && i < a->n_backends; i++)
		eq = a->backends[i].addr == b->backends[i].addr &&
		     a->backends[i].port == b->backends[i].port &&
		     a->backends[i].weight == b->backends[i].weight;
	return eq;
}

struct lb_seen {
	int n;
	int64_t ids[8];
};

static int collect_lb(void *ctx, const struct st_lb *lb)
{
	struct lb_seen *seen = ctx;

	if (seen->n < 8)
		seen->ids[seen->n++] = lb->id;
	return 0;
}

struct pl_seen {
	int n;
	struct st_placement v[8];
};

static int collect_placement(void *ctx, const struct st_placement *p)
{
	struct pl_seen *seen = ctx;

	if (seen->n < 8)
		seen->v[seen->n++] = *p;
	return 0;
}

static int placements(struct store *s, const char *kind, int64_t object_id, struct pl_seen *out)
{
	memset(out, 0, sizeof(*out));
	CHECK(s->ops->placement_list(s, kind, object_id, collect_placement, out) == 0);
	return out->n;
}

static struct st_placement make_placement(const char *kind, int64_t object, uint32_t slot,
                                          int64_t node)
{
	struct st_placement p = {.object_id = object, .slot = slot, .node_id = node, .since = 5};

	snprintf(p.kind, sizeof(p.kind), "%s", kind);
	snprintf(p.reason, sizeof(p.reason), "slot %u on node %lld", slot, (long long)node);
	return p;
}

static void test_lbs(void)
{
	struct store *s = store_test_open();
	int64_t net, other;
	struct st_lb a, b, c, got;
	struct lb_seen seen = {0};

	CHECK(s->ops->begin(s) == 0);
	net = store_test_network_add(s, "blue");
	other = store_test_network_add(s, "red");
	a = make_lb(net, "web");
	CHECK(s->ops->lb_insert(s, &a) == 0 && a.id > 0);
	CHECK(s->ops->lb_get(s, net, "web", &got) == 0 && lb_equal(&got, &a));
	CHECK(s->ops->lb_get_id(s, a.id, &got) == 0 && lb_equal(&got, &a));
	/* The selectors come back in the caller's order, each in its own set. */
	CHECK(strcmp(got.backend_selector[1].key, "zone") == 0);
	CHECK(strcmp(got.placement[0].key, "edge") == 0);

	/* The name is unique in its network, not across networks. */
	b = make_lb(net, "web");
	CHECK(s->ops->lb_insert(s, &b) == -EEXIST);
	b = make_lb(other, "web");
	CHECK(s->ops->lb_insert(s, &b) == 0 && b.id > a.id);
	c = make_lb(net, "dns");
	c.vip = 0;
	c.n_backend_selector = c.n_placement = c.n_backends = 0;
	c.backend_port = 0;
	strcpy(c.protocol, "udp");
	CHECK(s->ops->lb_insert(s, &c) == 0);
	CHECK(s->ops->lb_get(s, net, "dns", &got) == 0 && lb_equal(&got, &c));
	CHECK(s->ops->lb_get(s, net, "nope", &got) == -ENOENT);
	CHECK(s->ops->lb_get_id(s, 9999, &got) == -ENOENT);
	/* A network that does not exist trips its key. */
	struct st_lb orphan = make_lb(9999, "x");
	CHECK(s->ops->lb_insert(s, &orphan) == -ENOENT);
	/* More than the record holds is refused, nothing written. */
	struct st_lb big = make_lb(net, "big");
	big.n_backends = ST_LB_MAX_BACKENDS + 1;
	CHECK(s->ops->lb_insert(s, &big) == -EINVAL);
	CHECK(s->ops->commit(s) == 0);

	/* Listed by id, per network or all. */
	CHECK(s->ops->lb_list(s, net, collect_lb, &seen) == 0);
	CHECK(seen.n == 2 && seen.ids[0] == a.id && seen.ids[1] == c.id);
	memset(&seen, 0, sizeof(seen));
	CHECK(s->ops->lb_list(s, 0, collect_lb, &seen) == 0);
	CHECK(seen.n == 3 && seen.ids[0] == a.id && seen.ids[1] == b.id && seen.ids[2] == c.id);

	/* An update rewrites the fields and replaces the children. */
	a.port = 443;
	a.vip = 0;
	a.n_backend_selector = 0;
	a.backend_port = 0;
	a.n_backends = 1;
	a.backends[0] = (struct st_lb_backend){htonl(0x0a140009), 9, 1};
	a.n_placement = 2;
	store_test_label(&a.placement[1], "zone", "b");
	a.replicas = 3;
	strcpy(a.algorithm, "source-hash");
	a.created = 1; /* stays as inserted */
	CHECK(s->ops->lb_update(s, &a) == 0);
	a.created = 3000;
	CHECK(s->ops->lb_get_id(s, a.id, &got) == 0 && lb_equal(&got, &a));
	/* Renaming onto a taken name is refused and changes nothing. */
	strcpy(a.name, "dns");
	CHECK(s->ops->lb_update(s, &a) == -EEXIST);
	CHECK(s->ops->lb_get_id(s, a.id, &got) == 0 && strcmp(got.name, "web") == 0);
	CHECK(got.n_backends == 1 && got.n_placement == 2);
	strcpy(a.name, "web");
	a.id = 9999;
	CHECK(s->ops->lb_update(s, &a) == -ENOENT);

	CHECK(s->ops->lb_delete(s, c.id) == 0);
	CHECK(s->ops->lb_delete(s, c.id) == -ENOENT);
	CHECK(s->ops->lb_get_id(s, c.id, &got) == -ENOENT);
	/* Its selectors went with it; a's and b's stay. */
	CHECK(store_test_int("SELECT count(*) FROM lb_labels") == 2 + 3);
	store_close(s);
}

static void test_placements(void)
{
	struct store *s = store_test_open();
	struct st_placement p;
	struct pl_seen seen;
	int64_t net, web, api, node;
	struct st_lb lb;

	CHECK(s->ops->begin(s) == 0);
	net = store_test_network_add(s, "blue");
	lb = make_lb(net, "web");
	CHECK(s->ops->lb_insert(s, &lb) == 0);
	web = lb.id;
	lb = make_lb(net, "api");
	CHECK(s->ops->lb_insert(s, &lb) == 0);
	api = lb.id;

	/* Put in any order, listed by object then slot. */
	p = make_placement("lb", api, 0, 7);
	CHECK(s->ops->placement_put(s, &p) == 0);
	p = make_placement("lb", web, 1, 8);
	CHECK(s->ops->placement_put(s, &p) == 0);
	p = make_placement("lb", web, 0, 7);
	CHECK(s->ops->placement_put(s, &p) == 0);
	p = make_placement("dns", web, 0, 9); /* another kind, same object id */
	CHECK(s->ops->placement_put(s, &p) == 0);
	/* node_id is free: a node that never existed is the scheduler's business. */
	CHECK(s->ops->commit(s) == 0);
	CHECK(placements(s, "lb", 0, &seen) == 3);
	CHECK(seen.v[0].object_id == web && seen.v[0].slot == 0 && seen.v[0].node_id == 7);
	CHECK(seen.v[1].object_id == web && seen.v[1].slot == 1 && seen.v[1].node_id == 8);
	CHECK(seen.v[2].object_id == api && seen.v[2].node_id == 7);
	CHECK(strcmp(seen.v[1].reason, "slot 1 on node 8") == 0 && seen.v[1].since == 5);
	CHECK(strcmp(seen.v[1].kind, "lb") == 0);
	CHECK(placements(s, "lb", web, &seen) == 2);
	CHECK(placements(s, "dns", 0, &seen) == 1 && seen.v[0].node_id == 9);
	CHECK(placements(s, "gateway", 0, &seen) == 0);

	/* Put on a taken slot replaces it. */
	p = make_placement("lb", web, 1, 11);
	strcpy(p.reason, "moved");
	p.since = 6;
	CHECK(s->ops->placement_put(s, &p) == 0);
	CHECK(placements(s, "lb", web, &seen) == 2);
	CHECK(seen.v[1].node_id == 11 && seen.v[1].since == 6 &&
	      !strcmp(seen.v[1].reason, "moved"));

	CHECK(s->ops->placement_delete(s, "lb", web, 1) == 0);
	CHECK(s->ops->placement_delete(s, "lb", web, 1) == -ENOENT);
	CHECK(placements(s, "lb", web, &seen) == 1 && seen.v[0].slot == 0);

	/* A load balancer's placements go with it, another kind's stay. */
	CHECK(s->ops->lb_delete(s, web) == 0);
	CHECK(placements(s, "lb", 0, &seen) == 1 && seen.v[0].object_id == api);
	CHECK(placements(s, "dns", 0, &seen) == 1);

	/* And a network's load balancers, with their placements, go with it. */
	CHECK(s->ops->network_delete(s, net) == 0);
	CHECK(s->ops->lb_get_id(s, api, &lb) == -ENOENT);
	CHECK(placements(s, "lb", 0, &seen) == 0);
	CHECK(store_test_int("SELECT count(*) FROM lb_backends") == 0);

	/* A network with nodes is refused, and nothing of it goes. */
	CHECK(s->ops->begin(s) == 0);
	net = store_test_network_add(s, "green");
	node = store_test_node_add(s, net, "n1", 0x0a140001);
	lb = make_lb(net, "keep");
	CHECK(s->ops->lb_insert(s, &lb) == 0);
	p = make_placement("lb", lb.id, 0, node);
	CHECK(s->ops->placement_put(s, &p) == 0);
	CHECK(s->ops->commit(s) == 0);
	CHECK(s->ops->network_delete(s, net) == -ENOTEMPTY);
	CHECK(s->ops->lb_get_id(s, lb.id, &lb) == 0);
	CHECK(placements(s, "lb", 0, &seen) == 1);
	/* Deleting the node leaves its placement for the scheduler to see. */
	CHECK(s->ops->node_delete(s, node) == 0);
	CHECK(placements(s, "lb", 0, &seen) == 1 && seen.v[0].node_id == node);
	store_close(s);
}

/* A version-3 file with data, as the previous release left it, opens as the latest version. */
static void test_migration(void)
{
	struct store *s = store_test_open();
	struct st_fw_policy pol = {.created = 1};
	struct st_network got;
	struct st_node ngot;
	struct st_lb lb;
	struct pl_seen seen;
	int64_t net, node;
	int v = 0, latest;

	CHECK(s->ops->begin(s) == 0);
	net = store_test_network_add(s, "old");
	node = store_test_node_add(s, net, "n1", 0x0a140001);
	pol.network_id = net;
	strcpy(pol.name, "p");
	CHECK(s->ops->fw_policy_insert(s, &pol) == 0);
	CHECK(s->ops->commit(s) == 0);
	store_close(s);
	latest = (int)store_test_int("PRAGMA user_version");
	/* Steps 4 and later only add: taking their objects away leaves exactly
	 * a version-3 file (step 8: flow filters; step 7: traffic classes;
	 * step 6: external clients; step 5: the overlay DNS). */
	CHECK(store_test_exec(
	          "DROP TABLE flow_filters; DROP TABLE qos_matches; DROP TABLE qos_classes;"
	          "ALTER TABLE networks DROP COLUMN qos_link_bps;") == SQLITE_OK);
	CHECK(store_test_exec("DROP TRIGGER clients_placements; DROP TABLE client_labels;"
	                      "DROP TABLE clients;") == SQLITE_OK);
	CHECK(store_test_exec("DROP TRIGGER networks_dns_placements; DROP TABLE dns_records;"
	                      "ALTER TABLE networks DROP COLUMN dns_replicas;"
	                      "ALTER TABLE networks DROP COLUMN domain;") == SQLITE_OK);
	CHECK(store_test_exec(
	          "DROP TRIGGER lbs_placements; DROP TABLE placements; DROP TABLE lb_backends;"
	          "DROP TABLE lb_labels; DROP TABLE lbs; PRAGMA user_version = 3;") == SQLITE_OK);
	CHECK(store_test_int("SELECT count(*) FROM sqlite_master WHERE name LIKE '%lb%'") == 0);

	s = store_test_open();
	CHECK(s->ops->schema_version(s, &v) == 0 && v == latest);
	CHECK(s->ops->network_get(s, "old", &got) == 0 && got.id == net);
	CHECK(s->ops->node_get_id(s, node, &ngot) == 0 && strcmp(ngot.name, "n1") == 0);
	CHECK(s->ops->fw_policy_get_id(s, pol.id, &pol) == 0);
	lb = make_lb(got.id, "new");
	CHECK(s->ops->lb_insert(s, &lb) == 0);
	struct st_placement p = make_placement("lb", lb.id, 0, node);
	CHECK(s->ops->placement_put(s, &p) == 0);
	CHECK(placements(s, "lb", lb.id, &seen) == 1);
	CHECK(s->ops->lb_delete(s, lb.id) == 0 && placements(s, "lb", 0, &seen) == 0);
	store_close(s);
	CHECK(store_test_int("PRAGMA user_version") == latest);
}

int main(void)
{
	static void (*const tests[])(void) = {test_lbs, test_placements, test_migration};

	return store_test_run("store_lb_test", tests, sizeof(tests) / sizeof(tests[0]));
}
