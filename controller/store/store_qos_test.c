// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the SQLite store's traffic classes: a network's link rate
 * through insert, get and update; classes through insert, get, list (by
 * priority, then id) and delete, a second name or minor in a network and a
 * class of a network that does not exist refused; matches through insert,
 * list and delete; classes dropped with their network and matches with
 * their class; and a schema-version-6 file with data walked forward with
 * no link rate. Each test works in its own mkdtemp directory; no root.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "controller/store/store_test_util.h"
#include "tests/check.h"

static struct st_qos_class make_class(int64_t network_id, const char *name, uint32_t priority,
                                      uint32_t minor)
{
	struct st_qos_class c = {.network_id = network_id,
	                         .min_bps = 1000000,
	                         .max_bps = 5000000,
	                         .priority = priority,
	                         .minor = minor,
	                         .created = 3000};

	snprintf(c.name, sizeof(c.name), "%s", name);
	return c;
}

struct seen {
	int n;
	struct st_qos_class c[8];
	struct st_qos_match m[8];
};

static int collect_class(void *ctx, const struct st_qos_class *c)
{
	struct seen *seen = ctx;

	if (seen->n < 8)
		seen->c[seen->n] = *c;
	seen->n++;
	return 0;
}

static int collect_match(void *ctx, const struct st_qos_match *m)
{
	struct seen *seen = ctx;

	if (seen->n < 8)
		seen->m[seen->n] = *m;
	seen->n++;
	return 0;
}

static int classes(struct store *s, int64_t network_id, struct seen *out)
{
	memset(out, 0, sizeof(*out));
	CHECK(s->ops->qos_class_list(s, network_id, collect_class, out) == 0);
	return out->n;
}

static int matches(struct store *s, int64_t class_id, struct seen *out)
{
	memset(out, 0, sizeof(*out));
	CHECK(s->ops->qos_match_list(s, class_id, collect_match, out) == 0);
	return out->n;
}

static void test_link(void)
{
	struct store *s = store_test_open();
	struct st_network n, got;

	store_test_network_init(&n, "blue");
	n.qos_link_bps = 100000000;
	CHECK(s->ops->network_insert(s, &n) == 0);
	CHECK(s->ops->network_get(s, "blue", &got) == 0 && got.qos_link_bps == 100000000);
	got.qos_link_bps = 0;
	CHECK(s->ops->network_update(s, &got) == 0);
	CHECK(s->ops->network_get_id(s, n.id, &got) == 0 && got.qos_link_bps == 0);
	store_close(s);
}

static void test_classes(void)
{
	struct store *s = store_test_open();
	struct st_qos_class gold, silver, bronze, dup, got;
	struct seen seen;
	int64_t net, other;

	net = store_test_network_add(s, "blue");
	other = store_test_network_add(s, "red");
	gold = make_class(net, "gold", 0, 2);
	silver = make_class(net, "silver", 3, 3);
	bronze = make_class(net, "bronze", 0, 4);
	CHECK(s->ops->qos_class_insert(s, &silver) == 0 && silver.id > 0);
	CHECK(s->ops->qos_class_insert(s, &gold) == 0 && gold.id > silver.id);
	CHECK(s->ops->qos_class_insert(s, &bronze) == 0);

	CHECK(s->ops->qos_class_get(s, net, "silver", &got) == 0);
	CHECK(got.id == silver.id && got.network_id == net && got.min_bps == 1000000 &&
	      got.max_bps == 5000000 && got.priority == 3 && got.minor == 3 && got.created == 3000);
	CHECK(s->ops->qos_class_get(s, other, "silver", &got) == -ENOENT);
	CHECK(s->ops->qos_class_get(s, net, "none", &got) == -ENOENT);

	/* Priority first, then the order of creation. */
	CHECK(classes(s, net, &seen) == 3);
	CHECK(strcmp(seen.c[0].name, "gold") == 0 && strcmp(seen.c[1].name, "bronze") == 0 &&
	      strcmp(seen.c[2].name, "silver") == 0);
	CHECK(classes(s, other, &seen) == 0);

	/* A name or a minor is one class's in a network, not across networks. */
	dup = make_class(net, "gold", 1, 9);
	CHECK(s->ops->qos_class_insert(s, &dup) == -EEXIST);
	dup = make_class(net, "iron", 1, 2);
	CHECK(s->ops->qos_class_insert(s, &dup) == -EEXIST);
	dup = make_class(other, "gold", 1, 2);
	CHECK(s->ops->qos_class_insert(s, &dup) == 0);
	dup = make_class(4242, "lost", 1, 2);
	CHECK(s->ops->qos_class_insert(s, &dup) == -ENOENT);

	CHECK(s->ops->qos_class_delete(s, bronze.id) == 0);
	CHECK(s->ops->qos_class_delete(s, bronze.id) == -ENOENT);
	CHECK(classes(s, net, &seen) == 2);

	/* A network's classes go with it. */
	CHECK(s->ops->network_delete(s, net) == 0);
	CHECK(store_test_int("SELECT count(*) FROM qos_classes") == 1);
	store_close(s);
}

static void test_matches(void)
{
	struct store *s = store_test_open();
	struct st_qos_match m1 = {0}, m2 = {0}, bad = {.class_id = 4242};
	struct st_qos_class c;
	struct seen seen;
	int64_t net;

	net = store_test_network_add(s, "blue");
	c = make_class(net, "gold", 0, 2);
	CHECK(s->ops->qos_class_insert(s, &c) == 0);
	m1.class_id = c.id;
	strcpy(m1.protocol, "tcp");
	strcpy(m1.port, "8000-8100");
	m2.class_id = c.id;
	strcpy(m2.peer, "n2");
	strcpy(m2.cidr, "10.9.0.0/16");
	CHECK(s->ops->qos_match_insert(s, &m1) == 0 && m1.id > 0);
	CHECK(s->ops->qos_match_insert(s, &m2) == 0 && m2.id > m1.id);
	CHECK(s->ops->qos_match_insert(s, &bad) == -ENOENT);

	CHECK(matches(s, c.id, &seen) == 2);
	CHECK(seen.m[0].id == m1.id && seen.m[0].class_id == c.id &&
	      strcmp(seen.m[0].protocol, "tcp") == 0 && strcmp(seen.m[0].port, "8000-8100") == 0 &&
	      !seen.m[0].peer[0] && !seen.m[0].cidr[0]);
	CHECK(strcmp(seen.m[1].peer, "n2") == 0 && strcmp(seen.m[1].cidr, "10.9.0.0/16") == 0 &&
	      !seen.m[1].protocol[0] && !seen.m[1].port[0]);

	CHECK(s->ops->qos_match_delete(s, m1.id) == 0);
	CHECK(s->ops->qos_match_delete(s, m1.id) == -ENOENT);
	CHECK(matches(s, c.id, &seen) == 1 && seen.m[0].id == m2.id);

	/* A class's matches go with it. */
	CHECK(s->ops->qos_class_delete(s, c.id) == 0);
	CHECK(store_test_int("SELECT count(*) FROM qos_matches") == 0);
	store_close(s);
}

/* A version-6 file (before traffic classes) with data walks forward to the latest version. */
static void test_migration(void)
{
	struct store *s = store_test_open();
	struct st_network got;
	struct st_qos_class c;
	int v = 0, latest;
	int64_t net;

	CHECK(s->ops->begin(s) == 0);
	net = store_test_network_add(s, "old");
	CHECK(s->ops->commit(s) == 0);
	store_close(s);
	latest = (int)store_test_int("PRAGMA user_version");
	CHECK(latest >= 7);
	/* Steps 7 and 8 only add: taking their objects away leaves exactly a version-6 file. */
	CHECK(store_test_exec(
	          "DROP TABLE flow_filters; DROP TABLE qos_matches; DROP TABLE qos_classes;"
	          "ALTER TABLE networks DROP COLUMN qos_link_bps;"
	          "PRAGMA user_version = 6;") == SQLITE_OK);
	CHECK(store_test_int("SELECT count(*) FROM sqlite_master WHERE name LIKE '%qos%'") == 0);

	s = store_test_open();
	CHECK(s->ops->schema_version(s, &v) == 0 && v == latest);
	CHECK(s->ops->network_get(s, "old", &got) == 0 && got.id == net && got.qos_link_bps == 0);
	c = make_class(net, "gold", 0, 2);
	CHECK(s->ops->begin(s) == 0 && s->ops->qos_class_insert(s, &c) == 0);
	CHECK(s->ops->commit(s) == 0);
	store_close(s);
	CHECK(store_test_int("PRAGMA user_version") == latest);
}

int main(void)
{
	static void (*const tests[])(void) = {test_link, test_classes, test_matches,
	                                      test_migration};

	return store_test_run("store_qos_test", tests, sizeof(tests) / sizeof(tests[0]));
}
