// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the SQLite store: every record type through create, read,
 * list, update and delete (firewall rules also through their ordering);
 * unique keys and rollback; the revision counter;
 * schema migrations from a frozen version-1 file and refusal of a newer one;
 * two handles racing for a single-use join token; durability across
 * close and reopen. Each test works in its own mkdtemp directory; no root.
 */
#include "controller/store/store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/check.h"

static char dir[64];
static char db_path[128];

static void dir_make(void)
{
	snprintf(dir, sizeof(dir), "/tmp/store_test.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(db_path, sizeof(db_path), "%s/netfn.db", dir);
}

static void db_remove(void)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char p[160];

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", db_path, suffix[i]);
		unlink(p);
	}
}

static void dir_remove(void)
{
	db_remove();
	rmdir(dir);
}

static struct store *open_store(void)
{
	struct store *s = NULL;
	int ret = store_open(dir, &s);

	CHECK(ret == 0);
	if (ret) {
		fprintf(stderr, "store_open: %d\n", ret);
		exit(1);
	}
	return s;
}

/* Runs one SQL text on the file with raw sqlite3, as an older binary or a
 * curious admin would; returns the sqlite result code. */
static int raw_exec(const char *text)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(db_path, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, text, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/* The first integer the query yields, or -1. */
static int64_t raw_int(const char *text)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_open(db_path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, text, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/*
 * The schema as sqlite sees it: every column (type, not null, key, default),
 * index (unique, origin, columns) and foreign key of every table, sorted, so
 * two files built by different routes can be compared.
 */
static char *schema_of(void)
{
	static const char q[] =
	    "SELECT group_concat(x, '|') FROM (SELECT x FROM ("
	    " SELECT m.name || '.' || p.name || ' ' || p.type || ' ' || p.\"notnull\" || ' ' ||"
	    "  p.pk || ' ' || ifnull(p.dflt_value, '-') AS x"
	    "  FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'"
	    " UNION ALL SELECT m.name || ' index ' || il.\"unique\" || ' ' || il.origin || ' ' ||"
	    "  (SELECT group_concat(ii.name) FROM pragma_index_info(il.name) ii)"
	    "  FROM sqlite_master m, pragma_index_list(m.name) il WHERE m.type = 'table'"
	    " UNION ALL SELECT m.name || ' fk ' || f.\"table\" || ' ' || f.\"from\" || ' ' ||"
	    "  ifnull(f.\"to\", '-') || ' ' || f.on_delete"
	    "  FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'"
	    " UNION ALL SELECT name || ' ' || type || ' ' || (instr(sql, 'WITHOUT ROWID') > 0)"
	    "  FROM sqlite_master WHERE name NOT LIKE 'sqlite_autoindex%'"
	    ") ORDER BY x)";
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *out = NULL;

	if (sqlite3_open(db_path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		out = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

static struct st_network make_network(const char *name)
{
	struct st_network n = {.port = 51820, .mtu = 1420, .hub_node_id = 0, .created = 1000};

	snprintf(n.name, sizeof(n.name), "%s", name);
	snprintf(n.cidr, sizeof(n.cidr), "10.20.0.0/16");
	snprintf(n.topology, sizeof(n.topology), "mesh");
	return n;
}

static struct st_node make_node(int64_t network_id, const char *name, uint8_t key, uint32_t host)
{
	struct st_node n = {.network_id = network_id, .created = 2000};

	snprintf(n.name, sizeof(n.name), "%s", name);
	memset(n.id_pk, key, sizeof(n.id_pk));
	memset(n.wg_pk, key + 100, sizeof(n.wg_pk));
	n.overlay_addr = htonl(0x0a140000 | host);
	return n;
}

static int count_cb(void *ctx, const void *rec)
{
	(void)rec;
	(*(int *)ctx)++;
	return 0;
}

static int count_networks(void *ctx, const struct st_network *n)
{
	return count_cb(ctx, n);
}

static int count_nodes(void *ctx, const struct st_node *n)
{
	return count_cb(ctx, n);
}

static int count_sections(void *ctx, const struct st_section *s)
{
	return count_cb(ctx, s);
}

static int network_count(struct store *s)
{
	int n = 0;

	CHECK(s->ops->network_list(s, count_networks, &n) == 0);
	return n;
}

static int64_t ids[8];
static int n_ids;

static int collect_network(void *ctx, const struct st_network *n)
{
	(void)ctx;
	if (n_ids < 8)
		ids[n_ids++] = n->id;
	return 0;
}

static int stop_at_first(void *ctx, const struct st_network *n)
{
	(void)n;
	(*(int *)ctx)++;
	return 7;
}

static void test_networks(void)
{
	struct store *s = open_store();
	struct st_network a = make_network("prod"), b = make_network("dev"), got;
	int calls = 0;

	CHECK(s->ops->network_insert(s, &a) == 0);
	CHECK(a.id > 0);
	CHECK(s->ops->network_insert(s, &b) == 0);
	CHECK(b.id > a.id);

	CHECK(s->ops->network_get(s, "prod", &got) == 0);
	CHECK(memcmp(&got, &a, sizeof(got)) == 0);
	CHECK(s->ops->network_get_id(s, b.id, &got) == 0);
	CHECK(strcmp(got.name, "dev") == 0 && got.port == 51820 && got.mtu == 1420);
	CHECK(s->ops->network_get(s, "nope", &got) == -ENOENT);
	CHECK(s->ops->network_get_id(s, 999, &got) == -ENOENT);

	n_ids = 0;
	CHECK(s->ops->network_list(s, collect_network, NULL) == 0);
	CHECK(n_ids == 2 && ids[0] == a.id && ids[1] == b.id);
	CHECK(s->ops->network_list(s, stop_at_first, &calls) == 7);
	CHECK(calls == 1);

	/* A taken name is -EEXIST, on insert and on rename. */
	struct st_network dup = make_network("prod");
	CHECK(s->ops->network_insert(s, &dup) == -EEXIST);
	b.mtu = 1380;
	b.hub_node_id = 42;
	snprintf(b.hub_name, sizeof(b.hub_name), "gw-1");
	snprintf(b.topology, sizeof(b.topology), "hub");
	CHECK(s->ops->network_update(s, &b) == 0);
	CHECK(s->ops->network_get_id(s, b.id, &got) == 0);
	CHECK(memcmp(&got, &b, sizeof(got)) == 0);
	snprintf(b.name, sizeof(b.name), "prod");
	CHECK(s->ops->network_update(s, &b) == -EEXIST);
	b.id = 999;
	CHECK(s->ops->network_update(s, &b) == -ENOENT);

	CHECK(s->ops->network_delete(s, a.id) == 0);
	CHECK(s->ops->network_get(s, "prod", &got) == -ENOENT);
	CHECK(s->ops->network_delete(s, a.id) == -ENOENT);
	CHECK(network_count(s) == 1);

	/* A name that fills its field unterminated is bound no further than
	 * the field and read back truncated and terminated. */
	struct st_network full = make_network("x");
	memset(full.name, 'z', sizeof(full.name));
	CHECK(s->ops->network_insert(s, &full) == 0);
	CHECK(s->ops->network_get_id(s, full.id, &got) == 0);
	CHECK(strlen(got.name) == sizeof(got.name) - 1 && got.name[0] == 'z');
	store_close(s);
}

static int nested_nodes;

/* Lists nodes from inside a network list: lists must be re-entrant. */
static int list_nodes_of(void *ctx, const struct st_network *n)
{
	struct store *s = ctx;

	return s->ops->node_list(s, n->id, count_nodes, &nested_nodes);
}

static void test_nodes(void)
{
	struct store *s = open_store();
	struct st_network net = make_network("prod"), other = make_network("dev");
	struct st_node a = make_node(0, "web-1", 1, 2), b, got;
	int n;

	CHECK(s->ops->network_insert(s, &net) == 0);
	CHECK(s->ops->network_insert(s, &other) == 0);
	a.network_id = net.id;
	a.n_labels = 3;
	snprintf(a.labels[0].key, ST_NAME_MAX, "role");
	snprintf(a.labels[0].value, ST_NAME_MAX, "web");
	snprintf(a.labels[1].key, ST_NAME_MAX, "zone");
	snprintf(a.labels[1].value, ST_NAME_MAX, "eu-west-1a");
	snprintf(a.labels[2].key, ST_NAME_MAX, "az"); /* out of key order on purpose */
	snprintf(a.labels[2].value, ST_NAME_MAX, "1");
	a.n_endpoints = 2;
	snprintf(a.endpoints[0], ST_ENDPOINT_MAX, "203.0.113.7:51820");
	snprintf(a.endpoints[1], ST_ENDPOINT_MAX, "[2001:db8::7]:51820");
	a.last_seen = 5;
	a.last_counter = UINT64_MAX - 1; /* above INT64_MAX: must round-trip */
	CHECK(s->ops->node_insert(s, &a) == 0);
	CHECK(a.id > 0);

	CHECK(s->ops->node_get_id(s, a.id, &got) == 0);
	CHECK(memcmp(&got, &a, sizeof(got)) == 0);
	CHECK(s->ops->node_get(s, net.id, "web-1", &got) == 0);
	CHECK(got.id == a.id && got.n_labels == 3 && strcmp(got.labels[2].key, "az") == 0);
	CHECK(strcmp(got.endpoints[1], "[2001:db8::7]:51820") == 0);
	CHECK(got.overlay_addr == htonl(0x0a140002));
	CHECK(s->ops->node_get_key(s, a.id_pk, &got) == 0 && got.id == a.id);
	CHECK(s->ops->node_get(s, other.id, "web-1", &got) == -ENOENT);
	uint8_t nokey[ST_KEY_LEN] = {0};
	CHECK(s->ops->node_get_key(s, nokey, &got) == -ENOENT);

	/* Each unique key refuses a second holder. */
	b = make_node(net.id, "web-1", 2, 3);
	CHECK(s->ops->node_insert(s, &b) == -EEXIST); /* name in network */
	b = make_node(net.id, "web-2", 1, 3);
	CHECK(s->ops->node_insert(s, &b) == -EEXIST); /* id_pk */
	b = make_node(net.id, "web-2", 2, 3);
	memcpy(b.wg_pk, a.wg_pk, ST_KEY_LEN);
	CHECK(s->ops->node_insert(s, &b) == -EEXIST); /* wg_pk */
	b = make_node(net.id, "web-2", 2, 2);
	CHECK(s->ops->node_insert(s, &b) == -EEXIST); /* overlay address in network */
	b = make_node(999, "web-2", 2, 3);
	CHECK(s->ops->node_insert(s, &b) == -ENOENT); /* no such network */
	b = make_node(net.id, "web-2", 2, 3);
	b.n_labels = ST_MAX_LABELS + 1;
	CHECK(s->ops->node_insert(s, &b) == -EINVAL);
	b.n_labels = 0;
	CHECK(s->ops->node_insert(s, &b) == 0);
	/* Same name and address in another network are fine. */
	struct st_node c = make_node(other.id, "web-1", 3, 2);
	CHECK(s->ops->node_insert(s, &c) == 0);

	n = 0;
	CHECK(s->ops->node_list(s, net.id, count_nodes, &n) == 0);
	CHECK(n == 2);
	n = 0; /* network 0 lists the nodes of every network */
	CHECK(s->ops->node_list(s, 0, count_nodes, &n) == 0);
	CHECK(n == 3);
	nested_nodes = 0;
	CHECK(s->ops->network_list(s, list_nodes_of, s) == 0);
	CHECK(nested_nodes == 3);

	/* Update replaces labels and endpoints, keeps the touch fields. */
	CHECK(s->ops->node_touch(s, a.id, 1234, 77) == 0);
	a.n_labels = 1;
	snprintf(a.labels[0].value, ST_NAME_MAX, "api");
	a.n_endpoints = 0;
	a.last_seen = 0;
	a.last_counter = 0;
	CHECK(s->ops->node_update(s, &a) == 0);
	CHECK(s->ops->node_get_id(s, a.id, &got) == 0);
	CHECK(got.n_labels == 1 && strcmp(got.labels[0].value, "api") == 0);
	CHECK(got.n_endpoints == 0);
	CHECK(got.last_seen == 1234 && got.last_counter == 77);
	CHECK(s->ops->node_touch(s, 999, 1, 1) == -ENOENT);
	struct st_node ghost = b;
	ghost.id = 999;
	CHECK(s->ops->node_update(s, &ghost) == -ENOENT);
	snprintf(a.name, sizeof(a.name), "web-2");
	CHECK(s->ops->node_update(s, &a) == -EEXIST);
	/* The failed update left the node whole. */
	CHECK(s->ops->node_get_id(s, a.id, &got) == 0);
	CHECK(strcmp(got.name, "web-1") == 0 && got.n_labels == 1);

	/* A network with nodes cannot be deleted. */
	CHECK(s->ops->network_delete(s, net.id) == -ENOTEMPTY);
	CHECK(s->ops->node_delete(s, a.id) == 0);
	CHECK(s->ops->node_delete(s, a.id) == -ENOENT);
	CHECK(s->ops->node_get_id(s, a.id, &got) == -ENOENT);
	CHECK(raw_int("SELECT count(*) FROM node_labels") == 0);
	CHECK(raw_int("SELECT count(*) FROM node_endpoints") == 0);
	CHECK(s->ops->node_delete(s, b.id) == 0);
	CHECK(s->ops->network_delete(s, net.id) == 0);
	store_close(s);
}

static void test_sections(void)
{
	struct store *s = open_store();
	struct st_network net = make_network("prod");
	struct st_node node;
	struct st_section sec = {.desired_rev = 5, .applied_rev = 4}, got;
	int n;

	CHECK(s->ops->network_insert(s, &net) == 0);
	node = make_node(net.id, "web-1", 1, 2);
	CHECK(s->ops->node_insert(s, &node) == 0);

	sec.node_id = node.id;
	snprintf(sec.function, sizeof(sec.function), "vpn");
	memset(sec.hash, 0xab, sizeof(sec.hash));
	CHECK(s->ops->section_put(s, &sec) == 0);
	CHECK(s->ops->section_get(s, node.id, "vpn", &got) == 0);
	CHECK(memcmp(&got, &sec, sizeof(got)) == 0);

	/* put again updates in place. */
	sec.applied_rev = 5;
	snprintf(sec.error, sizeof(sec.error), "nft: table busy");
	CHECK(s->ops->section_put(s, &sec) == 0);
	CHECK(s->ops->section_get(s, node.id, "vpn", &got) == 0);
	CHECK(got.applied_rev == 5 && strcmp(got.error, "nft: table busy") == 0);
	snprintf(sec.function, sizeof(sec.function), "firewall");
	CHECK(s->ops->section_put(s, &sec) == 0);
	n = 0;
	CHECK(s->ops->section_list(s, node.id, count_sections, &n) == 0);
	CHECK(n == 2);
	CHECK(s->ops->section_get(s, node.id, "dns", &got) == -ENOENT);
	sec.node_id = 999;
	CHECK(s->ops->section_put(s, &sec) == -ENOENT);

	/* Sections go with their node. */
	CHECK(s->ops->node_delete(s, node.id) == 0);
	CHECK(s->ops->section_get(s, node.id, "vpn", &got) == -ENOENT);
	CHECK(raw_int("SELECT count(*) FROM sections") == 0);
	store_close(s);
}

static int count_join(void *ctx, const struct st_join_token *t)
{
	return count_cb(ctx, t);
}

static int count_api(void *ctx, const struct st_api_token *t)
{
	return count_cb(ctx, t);
}

static struct st_join_token make_join(int64_t network_id, const char *id, uint8_t h)
{
	struct st_join_token t = {.network_id = network_id, .expires = 9999, .uses = 1};

	snprintf(t.id, sizeof(t.id), "%s", id);
	memset(t.hash, h, sizeof(t.hash));
	t.uses_left = 1;
	t.created = 100;
	return t;
}

static void test_tokens(void)
{
	struct store *s = open_store();
	struct st_network net = make_network("prod");
	struct st_join_token t, got;
	struct st_api_token a = {.created = 50}, agot;
	int n;

	CHECK(s->ops->network_insert(s, &net) == 0);
	t = make_join(net.id, "jt-1", 1);
	t.n_labels = 2;
	snprintf(t.labels[0].key, ST_NAME_MAX, "role");
	snprintf(t.labels[0].value, ST_NAME_MAX, "db");
	snprintf(t.labels[1].key, ST_NAME_MAX, "env");
	snprintf(t.labels[1].value, ST_NAME_MAX, "prod");
	CHECK(s->ops->join_token_insert(s, &t) == 0);
	CHECK(s->ops->join_token_get(s, "jt-1", &got) == 0);
	CHECK(memcmp(&got, &t, sizeof(got)) == 0);
	CHECK(s->ops->join_token_get_hash(s, t.hash, &got) == 0);
	CHECK(strcmp(got.id, "jt-1") == 0 && got.n_labels == 2);

	struct st_join_token d = make_join(net.id, "jt-1", 2);
	CHECK(s->ops->join_token_insert(s, &d) == -EEXIST); /* id */
	d = make_join(net.id, "jt-2", 1);
	CHECK(s->ops->join_token_insert(s, &d) == -EEXIST); /* hash */
	d = make_join(999, "jt-2", 2);
	CHECK(s->ops->join_token_insert(s, &d) == -ENOENT); /* network */
	d = make_join(net.id, "jt-0", 2);
	CHECK(s->ops->join_token_insert(s, &d) == 0);
	n = 0;
	CHECK(s->ops->join_token_list(s, count_join, &n) == 0);
	CHECK(n == 2);

	t.uses_left = 0;
	t.revoked = true;
	t.n_labels = 1;
	memset(&t.labels[1], 0, sizeof(t.labels[1]));
	CHECK(s->ops->join_token_update(s, &t) == 0);
	CHECK(s->ops->join_token_get(s, "jt-1", &got) == 0);
	CHECK(memcmp(&got, &t, sizeof(got)) == 0);
	d = make_join(net.id, "jt-9", 9);
	CHECK(s->ops->join_token_update(s, &d) == -ENOENT);
	CHECK(s->ops->join_token_get(s, "jt-9", &got) == -ENOENT);

	/* Deleting the network takes its tokens and their labels. */
	CHECK(s->ops->network_delete(s, net.id) == 0);
	CHECK(s->ops->join_token_get(s, "jt-1", &got) == -ENOENT);
	CHECK(raw_int("SELECT count(*) FROM join_token_labels") == 0);

	snprintf(a.id, sizeof(a.id), "at-1");
	snprintf(a.role, sizeof(a.role), "admin");
	snprintf(a.name, sizeof(a.name), "ci");
	memset(a.hash, 7, sizeof(a.hash));
	CHECK(s->ops->api_token_insert(s, &a) == 0);
	CHECK(s->ops->api_token_get(s, "at-1", &agot) == 0);
	CHECK(memcmp(&agot, &a, sizeof(agot)) == 0);
	CHECK(s->ops->api_token_get_hash(s, a.hash, &agot) == 0 && strcmp(agot.id, "at-1") == 0);
	CHECK(s->ops->api_token_insert(s, &a) == -EEXIST);
	a.revoked = true;
	snprintf(a.role, sizeof(a.role), "reader");
	CHECK(s->ops->api_token_update(s, &a) == 0);
	CHECK(s->ops->api_token_get(s, "at-1", &agot) == 0);
	CHECK(agot.revoked && strcmp(agot.role, "reader") == 0);
	snprintf(a.id, sizeof(a.id), "at-2");
	CHECK(s->ops->api_token_update(s, &a) == -ENOENT);
	CHECK(s->ops->api_token_insert(s, &a) == -EEXIST); /* same hash */
	memset(a.hash, 8, sizeof(a.hash));
	CHECK(s->ops->api_token_insert(s, &a) == 0);
	n = 0;
	CHECK(s->ops->api_token_list(s, count_api, &n) == 0);
	CHECK(n == 2);
	CHECK(s->ops->api_token_get(s, "at-3", &agot) == -ENOENT);
	store_close(s);
}

static int64_t audit_seen[8];
static int audit_n;

static int collect_audit(void *ctx, const struct st_audit *a)
{
	(void)ctx;
	if (audit_n < 8)
		audit_seen[audit_n++] = a->id;
	return 0;
}

static void test_audit(void)
{
	struct store *s = open_store();
	struct st_audit a = {.time = 10};
	int64_t first = 0;

	for (int i = 0; i < 5; i++) {
		a.time = 10 + i;
		snprintf(a.actor, sizeof(a.actor), "admin");
		snprintf(a.method, sizeof(a.method), "NetworkCreate");
		snprintf(a.object, sizeof(a.object), "network/n%d", i);
		CHECK(s->ops->audit_add(s, &a) == 0);
		if (i == 0)
			first = a.id;
	}
	CHECK(first > 0 && a.id == first + 4);
	audit_n = 0;
	CHECK(s->ops->audit_list(s, 3, collect_audit, NULL) == 0);
	CHECK(audit_n == 3);
	CHECK(audit_seen[0] == first + 4 && audit_seen[1] == first + 3 &&
	      audit_seen[2] == first + 2);
	audit_n = 0;
	CHECK(s->ops->audit_list(s, 100, collect_audit, NULL) == 0);
	CHECK(audit_n == 5);
	store_close(s);
}

static int64_t rule_ids[16];
static int n_rule_ids;

static int collect_rule(void *ctx, const struct st_fw_rule *r)
{
	(void)ctx;
	CHECK(r->position == (uint32_t)n_rule_ids + 1); /* listed by position, no gaps */
	if (n_rule_ids < 16)
		rule_ids[n_rule_ids++] = r->id;
	return 0;
}

static int list_rules(struct store *s, int64_t policy_id)
{
	n_rule_ids = 0;
	CHECK(s->ops->fw_rule_list(s, policy_id, collect_rule, NULL) == 0);
	return n_rule_ids;
}

static int count_policies(void *ctx, const struct st_fw_policy *p)
{
	return count_cb(ctx, p);
}

static struct st_fw_rule make_rule(int64_t policy_id, uint32_t position, const char *src)
{
	struct st_fw_rule r = {.policy_id = policy_id, .position = position};

	snprintf(r.direction, sizeof(r.direction), "in");
	snprintf(r.protocol, sizeof(r.protocol), "tcp");
	snprintf(r.src, sizeof(r.src), "%s", src);
	snprintf(r.dst_port, sizeof(r.dst_port), "80,443");
	snprintf(r.action, sizeof(r.action), "accept");
	return r;
}

static void test_firewall(void)
{
	struct store *s = open_store();
	struct st_network net = make_network("prod"), other = make_network("dev");
	struct st_fw_policy p = {.default_deny = true, .created = 77}, got;
	struct st_fw_rule r1, r2, r3, r4, rgot;
	int n;

	CHECK(s->ops->network_insert(s, &net) == 0);
	CHECK(s->ops->network_insert(s, &other) == 0);
	p.network_id = net.id;
	snprintf(p.name, sizeof(p.name), "web");
	p.n_selector = 2;
	snprintf(p.selector[0].key, ST_NAME_MAX, "role");
	snprintf(p.selector[0].value, ST_NAME_MAX, "web");
	snprintf(p.selector[1].key, ST_NAME_MAX, "env");
	snprintf(p.selector[1].value, ST_NAME_MAX, "prod");
	CHECK(s->ops->fw_policy_insert(s, &p) == 0 && p.id > 0);
	CHECK(s->ops->fw_policy_get(s, net.id, "web", &got) == 0);
	CHECK(memcmp(&got, &p, sizeof(got)) == 0);
	CHECK(s->ops->fw_policy_get_id(s, p.id, &got) == 0 && got.n_selector == 2);
	CHECK(strcmp(got.selector[1].value, "prod") == 0);
	CHECK(s->ops->fw_policy_get(s, other.id, "web", &got) == -ENOENT);
	CHECK(s->ops->fw_policy_get_id(s, 999, &got) == -ENOENT);

	/* Unique by name within a network only; a network must exist. */
	struct st_fw_policy dup = p, elsewhere = p, orphan = p;
	CHECK(s->ops->fw_policy_insert(s, &dup) == -EEXIST);
	elsewhere.network_id = other.id;
	elsewhere.n_selector = 0;
	CHECK(s->ops->fw_policy_insert(s, &elsewhere) == 0 && elsewhere.id > p.id);
	orphan.network_id = 999;
	snprintf(orphan.name, sizeof(orphan.name), "orphan");
	CHECK(s->ops->fw_policy_insert(s, &orphan) == -ENOENT);
	orphan.network_id = net.id;
	orphan.n_selector = ST_MAX_LABELS + 1;
	CHECK(s->ops->fw_policy_insert(s, &orphan) == -EINVAL);
	n = 0;
	CHECK(s->ops->fw_policy_list(s, net.id, count_policies, &n) == 0 && n == 1);
	n = 0;
	CHECK(s->ops->fw_policy_list(s, 0, count_policies, &n) == 0 && n == 2);

	/* Update replaces flags and selector. */
	p.block_ssh = true;
	p.n_selector = 1;
	CHECK(s->ops->fw_policy_update(s, &p) == 0);
	CHECK(s->ops->fw_policy_get_id(s, p.id, &got) == 0);
	CHECK(got.block_ssh && got.default_deny && got.n_selector == 1);
	CHECK(raw_int("SELECT count(*) FROM fw_policy_labels") == 1);
	dup.id = 999;
	CHECK(s->ops->fw_policy_update(s, &dup) == -ENOENT);

	/* Rules: appended, inserted in front and in the middle, ids stable. */
	r1 = make_rule(p.id, 0, "10.0.0.0/8");
	CHECK(s->ops->fw_rule_insert(s, &r1) == 0 && r1.id > 0 && r1.position == 1);
	r2 = make_rule(p.id, 99, "role=db"); /* past the end: appended */
	CHECK(s->ops->fw_rule_insert(s, &r2) == 0 && r2.position == 2);
	r3 = make_rule(p.id, 1, "");
	CHECK(s->ops->fw_rule_insert(s, &r3) == 0 && r3.position == 1);
	r4 = make_rule(p.id, 2, "192.0.2.0/24 role=web,env=prod");
	CHECK(s->ops->fw_rule_insert(s, &r4) == 0 && r4.position == 2);
	CHECK(list_rules(s, p.id) == 4);
	CHECK(rule_ids[0] == r3.id && rule_ids[1] == r4.id && rule_ids[2] == r1.id &&
	      rule_ids[3] == r2.id);
	CHECK(s->ops->fw_rule_get(s, r4.id, &rgot) == 0);
	CHECK(memcmp(&rgot, &r4, sizeof(rgot)) == 0);
	struct st_fw_rule bad = make_rule(999, 0, "");
	CHECK(s->ops->fw_rule_insert(s, &bad) == -ENOENT);

	/* Update rewrites fields, not the place. */
	snprintf(r1.action, sizeof(r1.action), "drop");
	snprintf(r1.rate, sizeof(r1.rate), "10/second");
	r1.position = 4;
	CHECK(s->ops->fw_rule_update(s, &r1) == 0);
	CHECK(s->ops->fw_rule_get(s, r1.id, &rgot) == 0);
	CHECK(strcmp(rgot.action, "drop") == 0 && strcmp(rgot.rate, "10/second") == 0);
	CHECK(rgot.position == 3);
	bad.id = 999;
	CHECK(s->ops->fw_rule_update(s, &bad) == -ENOENT);

	/* Delete closes the gap; a new rule never reuses an old id. */
	CHECK(s->ops->fw_rule_delete(s, r4.id) == 0);
	CHECK(s->ops->fw_rule_delete(s, r4.id) == -ENOENT);
	CHECK(list_rules(s, p.id) == 3);
	CHECK(rule_ids[0] == r3.id && rule_ids[1] == r1.id && rule_ids[2] == r2.id);
	CHECK(s->ops->fw_rule_delete(s, r3.id) == 0);
	CHECK(list_rules(s, p.id) == 2 && rule_ids[0] == r1.id);
	struct st_fw_rule r5 = make_rule(p.id, 0, "");
	CHECK(s->ops->fw_rule_insert(s, &r5) == 0 && r5.id > r4.id && r5.position == 3);

	/* Rules and selector go with their policy, policies with their network. */
	CHECK(s->ops->fw_policy_delete(s, p.id) == 0);
	CHECK(s->ops->fw_policy_delete(s, p.id) == -ENOENT);
	CHECK(s->ops->fw_rule_get(s, r1.id, &rgot) == -ENOENT);
	CHECK(raw_int("SELECT count(*) FROM fw_rules") == 0);
	CHECK(raw_int("SELECT count(*) FROM fw_policy_labels") == 0);
	struct st_fw_rule r6 = make_rule(elsewhere.id, 0, "");
	CHECK(s->ops->fw_rule_insert(s, &r6) == 0);
	CHECK(s->ops->network_delete(s, other.id) == 0);
	CHECK(s->ops->fw_policy_get_id(s, elsewhere.id, &got) == -ENOENT);
	CHECK(raw_int("SELECT count(*) FROM fw_rules") == 0);
	CHECK(raw_int("SELECT count(*) FROM fw_policies") == 0);
	store_close(s);
}

static void test_transactions(void)
{
	struct store *s = open_store();
	struct st_network a = make_network("a"), b = make_network("b"), got;
	uint64_t r1 = 0, r2 = 0, r3 = 0;

	/* Rollback discards everything since begin, the revision included. */
	CHECK(s->ops->begin(s) == 0);
	CHECK(s->ops->next_revision(s, &r1) == 0);
	CHECK(s->ops->network_insert(s, &a) == 0);
	CHECK(s->ops->network_get(s, "a", &got) == 0); /* visible inside */
	s->ops->rollback(s);
	CHECK(s->ops->network_get(s, "a", &got) == -ENOENT);
	CHECK(s->ops->begin(s) == 0);
	CHECK(s->ops->next_revision(s, &r2) == 0);
	CHECK(r2 == r1);
	CHECK(s->ops->commit(s) == 0);

	/* A unique violation mid-transaction, then rollback: nothing stays. */
	a = make_network("a");
	CHECK(s->ops->network_insert(s, &b) == 0);
	CHECK(s->ops->begin(s) == 0);
	CHECK(s->ops->network_insert(s, &a) == 0);
	struct st_network dup = make_network("b");
	CHECK(s->ops->network_insert(s, &dup) == -EEXIST);
	s->ops->rollback(s);
	CHECK(s->ops->network_get(s, "a", &got) == -ENOENT);
	CHECK(network_count(s) == 1);
	s->ops->rollback(s); /* harmless outside a transaction */

	/* A failed node insert inside a transaction leaves the transaction
	 * usable and nothing of the node behind. */
	CHECK(s->ops->begin(s) == 0);
	struct st_node n1 = make_node(b.id, "n1", 1, 1), n2 = make_node(b.id, "n1", 2, 2);
	n2.n_labels = 1;
	snprintf(n2.labels[0].key, ST_NAME_MAX, "k");
	snprintf(n2.labels[0].value, ST_NAME_MAX, "v");
	CHECK(s->ops->node_insert(s, &n1) == 0);
	CHECK(s->ops->node_insert(s, &n2) == -EEXIST);
	CHECK(s->ops->commit(s) == 0);
	CHECK(raw_int("SELECT count(*) FROM nodes") == 1);
	CHECK(raw_int("SELECT count(*) FROM node_labels") == 0);

	CHECK(s->ops->commit(s) == -EIO); /* no transaction */
	CHECK(s->ops->next_revision(s, &r3) == -EINVAL);
	CHECK(s->ops->begin(s) == 0);
	CHECK(s->ops->begin(s) == -EIO); /* no nesting */
	s->ops->rollback(s);
	store_close(s);
}

static void test_revisions(void)
{
	struct store *s = open_store();
	uint64_t prev = 0, r = 0;
	int v = 0;

	CHECK(s->ops->schema_version(s, &v) == 0);
	/* At least the overlay DNS step; later steps may follow. */
	CHECK(v >= 5);
	for (int i = 0; i < 10; i++) {
		CHECK(s->ops->begin(s) == 0);
		CHECK(s->ops->next_revision(s, &r) == 0);
		CHECK(r > prev);
		prev = r;
		CHECK(s->ops->commit(s) == 0);
	}
	store_close(s);

	s = open_store();
	CHECK(s->ops->begin(s) == 0);
	CHECK(s->ops->next_revision(s, &r) == 0);
	CHECK(r == prev + 1);
	CHECK(s->ops->commit(s) == 0);
	store_close(s);
}

/*
 * Schema version 1 as released, frozen here on purpose: a migration test
 * against the code's own step 1 would not notice an edit to it, which would
 * leave deployed files and fresh ones with different schemas.
 */
static const char schema_v1[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO meta (key, value) VALUES ('revision', 0);"
    "CREATE TABLE networks (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL "
    "UNIQUE, cidr TEXT NOT NULL, port INTEGER NOT NULL, mtu INTEGER NOT NULL, topology "
    "TEXT NOT NULL, hub_node_id INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
    "CREATE TABLE nodes (id INTEGER PRIMARY KEY AUTOINCREMENT, network_id INTEGER NOT NULL "
    "REFERENCES networks (id), name TEXT NOT NULL, id_pk BLOB NOT NULL "
    "UNIQUE, wg_pk BLOB NOT NULL UNIQUE, overlay_addr INTEGER NOT NULL, created INTEGER NOT "
    "NULL, last_seen INTEGER NOT NULL DEFAULT 0, last_counter INTEGER NOT NULL DEFAULT 0, "
    "UNIQUE (network_id, name), UNIQUE (network_id, overlay_addr));"
    "CREATE TABLE node_labels (node_id INTEGER NOT NULL REFERENCES nodes (id) ON DELETE "
    "CASCADE, pos INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY "
    "(node_id, pos)) WITHOUT ROWID;"
    "CREATE TABLE node_endpoints (node_id INTEGER NOT NULL REFERENCES nodes (id) ON DELETE "
    "CASCADE, pos INTEGER NOT NULL, endpoint TEXT NOT NULL, PRIMARY KEY (node_id, pos)) "
    "WITHOUT ROWID;"
    "CREATE TABLE sections (node_id INTEGER NOT NULL REFERENCES nodes (id) ON DELETE "
    "CASCADE, function TEXT NOT NULL, desired_rev INTEGER NOT NULL, hash BLOB NOT NULL, "
    "applied_rev INTEGER NOT NULL, error TEXT NOT NULL, PRIMARY KEY (node_id, function)) "
    "WITHOUT ROWID;"
    "CREATE TABLE join_tokens (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, network_id "
    "INTEGER NOT NULL REFERENCES networks (id) ON DELETE CASCADE, hash BLOB NOT NULL UNIQUE, "
    "expires INTEGER NOT NULL, uses INTEGER NOT NULL, uses_left INTEGER NOT NULL, revoked "
    "INTEGER NOT NULL, created INTEGER NOT NULL);"
    "CREATE TABLE join_token_labels (token_seq INTEGER NOT NULL REFERENCES join_tokens (seq) "
    "ON DELETE CASCADE, pos INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, "
    "PRIMARY KEY (token_seq, pos)) WITHOUT ROWID;"
    "CREATE TABLE api_tokens (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, role TEXT "
    "NOT NULL, name TEXT NOT NULL, hash BLOB NOT NULL UNIQUE, revoked INTEGER NOT NULL, "
    "created INTEGER NOT NULL);"
    "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, actor "
    "TEXT NOT NULL, method TEXT NOT NULL, object TEXT NOT NULL, detail TEXT NOT NULL);"
    "PRAGMA user_version = 1;";

static void test_migrations(void)
{
	struct store *s = NULL;
	struct st_network got;
	char *fresh = NULL, *migrated = NULL;
	uint64_t r = 0;
	int v = 0, pols = 0, latest;

	s = open_store();
	store_close(s);
	fresh = schema_of();
	latest = (int)raw_int("PRAGMA user_version");
	CHECK(latest >= 5);
	CHECK(fresh != NULL && strstr(fresh, "nodes.network_id INTEGER 1 0 -") != NULL);
	CHECK(fresh != NULL && strstr(fresh, "fw_rules.position INTEGER 1 0 -") != NULL);
	db_remove();

	/* A version-1 file with data, as an older controller left it. */
	CHECK(raw_exec(schema_v1) == SQLITE_OK);
	CHECK(raw_exec("INSERT INTO networks (name, cidr, port, mtu, topology, created) "
	               "VALUES ('old', '10.1.0.0/16', 51820, 1420, 'mesh', 1);"
	               "UPDATE meta SET value = 41 WHERE key = 'revision';") == SQLITE_OK);
	CHECK(raw_int("PRAGMA user_version") == 1);
	s = open_store();
	CHECK(s->ops->schema_version(s, &v) == 0 && v == latest);
	CHECK(s->ops->network_get(s, "old", &got) == 0 && got.mtu == 1420);
	CHECK(got.hub_name[0] == '\0'); /* the column step 2 added */
	/* The columns step 5 added, with their defaults. */
	CHECK(strcmp(got.domain, "netfn.internal") == 0 && got.dns_replicas == 1);
	CHECK(s->ops->fw_policy_list(s, 0, count_policies, &pols) == 0 && pols == 0); /* step 3 */
	CHECK(s->ops->begin(s) == 0);
	CHECK(s->ops->next_revision(s, &r) == 0 && r == 42);
	CHECK(s->ops->commit(s) == 0);
	store_close(s);
	CHECK(raw_int("SELECT count(*) FROM sqlite_master WHERE name IN "
	              "('join_tokens_network', 'audit_time')") == 2);
	/* Migrated and fresh files agree, which also proves step 1 still
	 * builds exactly the frozen version 1. */
	migrated = schema_of();
	CHECK(migrated != NULL && fresh != NULL && strcmp(migrated, fresh) == 0);
	if (migrated && fresh && strcmp(migrated, fresh) != 0)
		fprintf(stderr, "fresh:    %s\nmigrated: %s\n", fresh, migrated);
	free(fresh);
	free(migrated);
	/* Reopening a current file changes nothing. */
	s = open_store();
	store_close(s);
	CHECK(raw_int("PRAGMA user_version") == latest);

	/* A file from a newer build is refused and left as it was. */
	CHECK(raw_exec("PRAGMA user_version = 99") == SQLITE_OK);
	s = NULL;
	CHECK(store_open(dir, &s) == -EPROTO);
	CHECK(s == NULL);
	CHECK(raw_int("PRAGMA user_version") == 99);
	CHECK(raw_int("SELECT count(*) FROM networks") == 1);
}

static void test_file(void)
{
	struct store *s = open_store();
	struct st_network net = make_network("keep"), got;
	struct st_node node, ngot;
	struct stat st;

	/* Token hashes live here: the file is private. */
	CHECK(stat(db_path, &st) == 0 && (st.st_mode & 077) == 0);

	CHECK(s->ops->begin(s) == 0);
	CHECK(s->ops->network_insert(s, &net) == 0);
	node = make_node(net.id, "db-1", 5, 9);
	node.n_labels = 1;
	snprintf(node.labels[0].key, ST_NAME_MAX, "tier");
	snprintf(node.labels[0].value, ST_NAME_MAX, "data");
	CHECK(s->ops->node_insert(s, &node) == 0);
	CHECK(s->ops->node_touch(s, node.id, 1700000000, 12345) == 0);
	CHECK(s->ops->commit(s) == 0);
	store_close(s);

	s = open_store();
	CHECK(s->ops->network_get(s, "keep", &got) == 0);
	CHECK(memcmp(&got, &net, sizeof(got)) == 0);
	CHECK(s->ops->node_get_id(s, node.id, &ngot) == 0);
	CHECK(ngot.last_seen == 1700000000 && ngot.last_counter == 12345);
	CHECK(ngot.n_labels == 1 && strcmp(ngot.labels[0].value, "data") == 0);
	store_close(s);
	store_close(NULL);

	char bad[PATH_MAX + 16];
	memset(bad, 'a', sizeof(bad) - 1);
	bad[sizeof(bad) - 1] = '\0';
	s = NULL;
	CHECK(store_open(bad, &s) == -ENAMETOOLONG && s == NULL);
	CHECK(store_open("/nonexistent/dir", &s) == -ENOENT && s == NULL);
}

/* ---- two handles racing for one single-use token ---- */

struct racer {
	uint8_t hash[ST_HASH_LEN];
	pthread_barrier_t *start;
	int won;
	int err;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct store *s = NULL;
	struct st_join_token t;
	int ret;

	ret = store_open(dir, &s);
	pthread_barrier_wait(r->start);
	if (ret) {
		r->err = ret;
		return NULL;
	}
	ret = s->ops->begin(s);
	if (!ret)
		ret = s->ops->join_token_get_hash(s, r->hash, &t);
	if (!ret && t.uses_left > 0) {
		t.uses_left--;
		ret = s->ops->join_token_update(s, &t);
		if (!ret)
			ret = s->ops->commit(s);
		r->won = ret == 0;
	}
	if (ret || !r->won)
		s->ops->rollback(s);
	r->err = ret;
	store_close(s);
	return NULL;
}

static void test_token_race(void)
{
	struct store *s = open_store();
	struct st_network net = make_network("race");
	struct st_join_token t, got;
	pthread_barrier_t start;

	CHECK(s->ops->network_insert(s, &net) == 0);
	for (int round = 0; round < 20; round++) {
		char id[ST_ID_MAX];
		struct racer r[2] = {{.won = 0}, {.won = 0}};
		pthread_t th[2];

		snprintf(id, sizeof(id), "race-%d", round);
		t = make_join(net.id, id, (uint8_t)(round + 1));
		CHECK(s->ops->join_token_insert(s, &t) == 0);
		pthread_barrier_init(&start, NULL, 2);
		for (int i = 0; i < 2; i++) {
			memcpy(r[i].hash, t.hash, ST_HASH_LEN);
			r[i].start = &start;
			pthread_create(&th[i], NULL, race, &r[i]);
		}
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&start);
		CHECK(r[0].err == 0 && r[1].err == 0);
		CHECK(r[0].won + r[1].won == 1);
		CHECK(s->ops->join_token_get(s, id, &got) == 0 && got.uses_left == 0);
	}
	store_close(s);
}

int main(void)
{
	static void (*const tests[])(void) = {
	    test_networks,   test_nodes,    test_sections,     test_tokens,
	    test_audit,      test_firewall, test_transactions, test_revisions,
	    test_migrations, test_file,     test_token_race,
	};

	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		dir_make();
		tests[i]();
		dir_remove();
	}
	return check_result();
}
