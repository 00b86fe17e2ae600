// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the SQLite store's external clients: a client through
 * insert, get, get by id, list and delete with its labels and gateway
 * selector kept apart and in order; its name, WireGuard key and address
 * unique per network but not across networks; its gateway placement dropped
 * with it and with its network (the others' kept); and a schema-version-5
 * file with data walked forward to version 6. Each test works in its own
 * mkdtemp directory; no root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "controller/store/store_test_util.h"
#include "tests/check.h"

/* A client whose key and address follow from host. */
static struct st_client make_client(int64_t network_id, const char *name, int host)
{
	struct st_client c = {.network_id = network_id, .expires = 5000, .created = 2000};

	snprintf(c.name, sizeof(c.name), "%s", name);
	memset(c.wg_pk, host, sizeof(c.wg_pk));
	c.wg_pk[0] = 0x42; /* not all one byte: the whole key is kept */
	c.overlay_addr = htonl(0x0a140000 | (uint32_t)host);
	c.n_labels = 2;
	store_test_label(&c.labels[0], "role", "laptop");
	store_test_label(&c.labels[1], "team", "ops");
	c.n_gateway_selector = 1;
	store_test_label(&c.gateway_selector[0], "edge", "yes");
	return c;
}

/* Field by field: memcmp would compare the padding and the unused tails. */
static bool client_equal(const struct st_client *a, const struct st_client *b)
{
	if (a->id != b->id || a->network_id != b->network_id || strcmp(a->name, b->name) ||
	    memcmp(a->wg_pk, b->wg_pk, ST_KEY_LEN) || a->overlay_addr != b->overlay_addr ||
	    a->expires != b->expires || a->created != b->created || a->n_labels != b->n_labels ||
	    a->n_gateway_selector != b->n_gateway_selector)
		return false;
	for (size_t i = 0; i < a->n_labels; i++)
		if (strcmp(a->labels[i].key, b->labels[i].key) ||
		    strcmp(a->labels[i].value, b->labels[i].value))
			return false;
	for (size_t i = 0; i < a->n_gateway_selector; i++)
		if (strcmp(a->gateway_selector[i].key, b->gateway_selector[i].key) ||
		    strcmp(a->gateway_selector[i].value, b->gateway_selector[i].value))
			return false;
	return true;
}

struct seen {
	int n;
	int64_t ids[8];
};

static int collect_client(void *ctx, const struct st_client *c)
{
	struct seen *s = ctx;

	if (s->n < 8)
		s->ids[s->n] = c->id;
	s->n++;
	return 0;
}

static int clients(struct store *s, int64_t network_id, struct seen *out)
{
	memset(out, 0, sizeof(*out));
	CHECK(s->ops->client_list(s, network_id, collect_client, out) == 0);
	return out->n;
}

static void place(struct store *s, const char *kind, int64_t object, int64_t node)
{
	struct st_placement p = {.object_id = object, .node_id = node, .since = 5};

	snprintf(p.kind, sizeof(p.kind), "%s", kind);
	snprintf(p.reason, sizeof(p.reason), "test");
	CHECK(s->ops->placement_put(s, &p) == 0);
}

static void test_clients(void)
{
	struct store *s = store_test_open();
	struct st_client a, b, got;
	struct seen seen;
	int64_t net, other;

	CHECK(s->ops->begin(s) == 0);
	net = store_test_network_add(s, "blue");
	other = store_test_network_add(s, "red");
	a = make_client(net, "laptop", 10);
	CHECK(s->ops->client_insert(s, &a) == 0 && a.id > 0);
	CHECK(s->ops->client_get(s, net, "laptop", &got) == 0 && client_equal(&got, &a));
	CHECK(s->ops->client_get_id(s, a.id, &got) == 0 && client_equal(&got, &a));
	/* The labels come back in the caller's order, each set on its own. */
	CHECK(strcmp(got.labels[1].key, "team") == 0 && got.n_gateway_selector == 1);
	CHECK(strcmp(got.gateway_selector[0].key, "edge") == 0);
	CHECK(s->ops->client_get(s, other, "laptop", &got) == -ENOENT);
	CHECK(s->ops->client_get_id(s, a.id + 100, &got) == -ENOENT);

	/* Name, key and address are each one client's in a network... */
	b = make_client(net, "laptop", 11);
	CHECK(s->ops->client_insert(s, &b) == -EEXIST);
	b = make_client(net, "phone", 10);
	CHECK(s->ops->client_insert(s, &b) == -EEXIST);
	b = make_client(net, "phone", 11);
	b.overlay_addr = a.overlay_addr;
	CHECK(s->ops->client_insert(s, &b) == -EEXIST);
	/* ... and a refused insert left nothing behind, labels included. */
	CHECK(clients(s, 0, &seen) == 1);
	/* ... but not across networks. */
	b = make_client(other, "laptop", 10);
	CHECK(s->ops->client_insert(s, &b) == 0 && b.id > a.id);
	/* No such network: the foreign key. */
	got = make_client(net + 100, "ghost", 12);
	CHECK(s->ops->client_insert(s, &got) == -ENOENT);
	/* Too many labels is refused before anything is written. */
	got = make_client(net, "many", 13);
	got.n_labels = ST_MAX_LABELS + 1;
	CHECK(s->ops->client_insert(s, &got) == -EINVAL);

	/* No labels at all, and no expiry. */
	got = make_client(net, "ci", 14);
	got.n_labels = got.n_gateway_selector = 0;
	got.expires = 0;
	CHECK(s->ops->client_insert(s, &got) == 0);
	CHECK(s->ops->client_get(s, net, "ci", &b) == 0 && client_equal(&b, &got));

	/* Listing: by id, per network or all. */
	CHECK(clients(s, net, &seen) == 2 && seen.ids[0] == a.id && seen.ids[1] == got.id);
	CHECK(clients(s, other, &seen) == 1);
	CHECK(clients(s, 0, &seen) == 3 && seen.ids[0] == a.id);

	CHECK(s->ops->client_delete(s, a.id) == 0);
	CHECK(s->ops->client_delete(s, a.id) == -ENOENT);
	CHECK(s->ops->client_get(s, net, "laptop", &b) == -ENOENT);
	CHECK(s->ops->commit(s) == 0);
	/* Its labels went with it: only "red"'s laptop has labels now. */
	CHECK(store_test_int("SELECT count(*) FROM client_labels") == 3);
	store_close(s);
}

static void test_placements(void)
{
	struct store *s = store_test_open();
	struct st_client a, b, c;
	struct seen seen;
	int64_t net, other;

	CHECK(s->ops->begin(s) == 0);
	net = store_test_network_add(s, "blue");
	other = store_test_network_add(s, "red");
	a = make_client(net, "a", 10);
	b = make_client(net, "b", 11);
	c = make_client(other, "c", 12);
	CHECK(s->ops->client_insert(s, &a) == 0 && s->ops->client_insert(s, &b) == 0);
	CHECK(s->ops->client_insert(s, &c) == 0);
	place(s, "gateway", a.id, 7);
	place(s, "gateway", b.id, 7);
	place(s, "gateway", c.id, 8);
	/* A load balancer with a's id: only the "gateway" kind goes with a client. */
	place(s, "lb", a.id, 7);
	CHECK(store_test_placements(s, "gateway", 0) == 3);

	/* A client's delete drops its gateway placement, no other. */
	CHECK(s->ops->client_delete(s, a.id) == 0);
	CHECK(store_test_placements(s, "gateway", a.id) == 0 &&
	      store_test_placements(s, "gateway", 0) == 2);
	CHECK(store_test_placements(s, "lb", a.id) == 1);

	/* A network's delete takes its clients and their placements. */
	CHECK(s->ops->network_delete(s, other) == 0);
	CHECK(clients(s, 0, &seen) == 1 && seen.ids[0] == b.id);
	CHECK(store_test_placements(s, "gateway", c.id) == 0 &&
	      store_test_placements(s, "gateway", b.id) == 1);

	/* A network with a node still refuses; its clients stay with it. */
	store_test_node_add(s, net, "n1", 0x0a140001);
	CHECK(s->ops->network_delete(s, net) == -ENOTEMPTY);
	CHECK(clients(s, net, &seen) == 1);
	CHECK(s->ops->commit(s) == 0);
	store_close(s);
}

/* A version-5 file (before clients) with data walks forward to version 6. */
static void test_migration(void)
{
	struct store *s = store_test_open();
	struct st_network got;
	struct st_client c;
	int v = 0;
	int64_t net;

	CHECK(s->ops->schema_version(s, &v) == 0 && v >= 6);
	CHECK(s->ops->begin(s) == 0);
	net = store_test_network_add(s, "old");
	CHECK(s->ops->commit(s) == 0);
	store_close(s);
	/* Steps 6 to 8 only add: taking their objects away leaves exactly a version-5 file. */
	CHECK(store_test_exec(
	          "DROP TABLE flow_filters; DROP TABLE qos_matches; DROP TABLE qos_classes;"
	          "ALTER TABLE networks DROP COLUMN qos_link_bps;") == SQLITE_OK);
	CHECK(store_test_exec("DROP TRIGGER clients_placements; DROP TABLE client_labels;"
	                      "DROP TABLE clients; PRAGMA user_version = 5;") == SQLITE_OK);
	CHECK(store_test_int("SELECT count(*) FROM sqlite_master WHERE name LIKE '%client%'") == 0);

	s = store_test_open();
	CHECK(s->ops->schema_version(s, &v) == 0 && v >= 6);
	CHECK(s->ops->network_get(s, "old", &got) == 0 && got.id == net);
	c = make_client(net, "new", 10);
	CHECK(s->ops->begin(s) == 0 && s->ops->client_insert(s, &c) == 0);
	place(s, "gateway", c.id, 1);
	CHECK(s->ops->client_delete(s, c.id) == 0 && store_test_placements(s, "gateway", 0) == 0);
	CHECK(s->ops->commit(s) == 0);
	store_close(s);
	CHECK(store_test_int("PRAGMA user_version") >= 6);
}

int main(void)
{
	static void (*const tests[])(void) = {test_clients, test_placements, test_migration};

	return store_test_run("store_client_test", tests, sizeof(tests) / sizeof(tests[0]));
}
