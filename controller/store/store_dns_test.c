// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the SQLite store's overlay DNS: a network's domain and
 * server count through insert, get, list and update; records through
 * insert, get, list (by name, type, id) and delete, exact duplicates and
 * records of a network that does not exist refused; a network's records and
 * DNS server placements dropped with it (and kept when its delete is
 * refused); and a schema-version-4 file with data walked forward without
 * losing any, its networks given the default domain and one server. Each
 * test works in its own mkdtemp directory; no root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "controller/store/store_test_util.h"
#include "tests/check.h"

/* A network on 10.30.0.0/16 with its own domain and server count. */
static int64_t add_network(struct store *s, const char *name, const char *domain, uint32_t replicas)
{
	struct st_network n;

	store_test_network_init(&n, name);
	snprintf(n.cidr, sizeof(n.cidr), "10.30.0.0/16");
	snprintf(n.domain, sizeof(n.domain), "%s", domain);
	n.dns_replicas = replicas;
	CHECK(s->ops->network_insert(s, &n) == 0);
	return n.id;
}

static struct st_dns_record make_record(int64_t network_id, const char *name, const char *type,
                                        const char *value)
{
	struct st_dns_record r = {.network_id = network_id, .ttl = 60, .created = 2000};

	snprintf(r.name, sizeof(r.name), "%s", name);
	snprintf(r.type, sizeof(r.type), "%s", type);
	snprintf(r.value, sizeof(r.value), "%s", value);
	return r;
}

struct seen {
	int n;
	struct st_dns_record v[8];
};

static int collect(void *ctx, const struct st_dns_record *r)
{
	struct seen *seen = ctx;

	if (seen->n < 8)
		seen->v[seen->n] = *r;
	seen->n++;
	return 0;
}

static int records(struct store *s, int64_t network_id, struct seen *out)
{
	memset(out, 0, sizeof(*out));
	CHECK(s->ops->dns_record_list(s, network_id, collect, out) == 0);
	return out->n;
}

static void test_network_fields(void)
{
	struct store *s = store_test_open();
	struct st_network got;
	int64_t id;

	id = add_network(s, "blue", "corp.example", 2);
	CHECK(s->ops->network_get(s, "blue", &got) == 0);
	CHECK(strcmp(got.domain, "corp.example") == 0 && got.dns_replicas == 2);
	strcpy(got.domain, "netfn.internal");
	got.dns_replicas = 1;
	CHECK(s->ops->network_update(s, &got) == 0);
	CHECK(s->ops->network_get_id(s, id, &got) == 0);
	CHECK(strcmp(got.domain, "netfn.internal") == 0 && got.dns_replicas == 1);
	store_close(s);
}

static void test_records(void)
{
	struct store *s = store_test_open();
	struct st_dns_record r, got;
	struct seen seen;
	int64_t net, other, www, first;

	net = add_network(s, "blue", "netfn.internal", 1);
	other = add_network(s, "red", "netfn.internal", 1);

	/* Ids from the store; get gives back every field. */
	r = make_record(net, "www", "CNAME", "web1.blue.netfn.internal");
	r.ttl = 300;
	CHECK(s->ops->dns_record_insert(s, &r) == 0 && r.id > 0);
	www = r.id;
	CHECK(s->ops->dns_record_get(s, www, &got) == 0);
	CHECK(got.id == www && got.network_id == net && strcmp(got.name, "www") == 0 &&
	      strcmp(got.type, "CNAME") == 0 &&
	      strcmp(got.value, "web1.blue.netfn.internal") == 0 && got.ttl == 300 &&
	      got.created == 2000);

	/* Listed by name, then type, then id; only the network's own. */
	r = make_record(net, "_http._tcp", "SRV", "10 5 80 www.blue.netfn.internal");
	CHECK(s->ops->dns_record_insert(s, &r) == 0);
	r = make_record(net, "api", "TXT", "v=1");
	CHECK(s->ops->dns_record_insert(s, &r) == 0);
	r = make_record(net, "api", "A", "10.30.0.9");
	CHECK(s->ops->dns_record_insert(s, &r) == 0);
	first = r.id;
	r = make_record(net, "api", "A", "10.30.0.8");
	CHECK(s->ops->dns_record_insert(s, &r) == 0);
	r = make_record(net, "@", "TXT", "zone");
	CHECK(s->ops->dns_record_insert(s, &r) == 0);
	r = make_record(other, "api", "A", "10.30.0.9"); /* the same record in another network */
	CHECK(s->ops->dns_record_insert(s, &r) == 0);
	CHECK(records(s, net, &seen) == 6);
	CHECK(strcmp(seen.v[0].name, "@") == 0 && strcmp(seen.v[1].name, "_http._tcp") == 0);
	CHECK(strcmp(seen.v[2].name, "api") == 0 && strcmp(seen.v[2].type, "A") == 0 &&
	      seen.v[2].id == first && strcmp(seen.v[3].value, "10.30.0.8") == 0);
	CHECK(strcmp(seen.v[4].type, "TXT") == 0 && seen.v[5].id == www);
	CHECK(records(s, other, &seen) == 1 && seen.v[0].network_id == other);

	/* An exact duplicate is refused, whatever its ttl; a record of no network too. */
	r = make_record(net, "api", "A", "10.30.0.9");
	r.ttl = 5;
	CHECK(s->ops->dns_record_insert(s, &r) == -EEXIST);
	r = make_record(999, "x", "A", "10.30.0.1");
	CHECK(s->ops->dns_record_insert(s, &r) == -ENOENT);
	CHECK(records(s, net, &seen) == 6);

	/* Delete: gone, and a second delete or a get finds nothing. */
	CHECK(s->ops->dns_record_delete(s, www) == 0);
	CHECK(s->ops->dns_record_delete(s, www) == -ENOENT);
	CHECK(s->ops->dns_record_get(s, www, &got) == -ENOENT);
	CHECK(records(s, net, &seen) == 5);

	/* Inside a transaction that rolls back, nothing stays. */
	CHECK(s->ops->begin(s) == 0);
	r = make_record(net, "tmp", "A", "10.30.0.7");
	CHECK(s->ops->dns_record_insert(s, &r) == 0);
	s->ops->rollback(s);
	CHECK(records(s, net, &seen) == 5);
	store_close(s);
}

static void test_network_delete(void)
{
	struct store *s = store_test_open();
	struct st_placement p = {.slot = 0, .node_id = 7, .since = 5};
	struct st_dns_record r;
	struct seen seen;
	int64_t net, keep;

	strcpy(p.kind, "dns");
	strcpy(p.reason, "test");
	net = add_network(s, "gone", "netfn.internal", 1);
	keep = add_network(s, "keep", "netfn.internal", 1);
	r = make_record(net, "a", "A", "10.30.0.1");
	CHECK(s->ops->dns_record_insert(s, &r) == 0);
	r = make_record(keep, "a", "A", "10.30.0.1");
	CHECK(s->ops->dns_record_insert(s, &r) == 0);
	p.object_id = net;
	CHECK(s->ops->placement_put(s, &p) == 0);
	p.object_id = keep;
	CHECK(s->ops->placement_put(s, &p) == 0);
	/* An lb placement whose object id happens to be the network's stays. */
	strcpy(p.kind, "lb");
	p.object_id = net;
	CHECK(s->ops->placement_put(s, &p) == 0);

	CHECK(s->ops->network_delete(s, net) == 0);
	CHECK(records(s, net, &seen) == 0 && records(s, keep, &seen) == 1);
	CHECK(store_test_placements(s, "dns", 0) == 1 && store_test_placements(s, "lb", 0) == 1);
	CHECK(store_test_int("SELECT count(*) FROM dns_records") == 1);

	/* A network with nodes is refused, and its records and servers stay. */
	store_test_node_add(s, keep, "n1", 0x0a1e0001);
	CHECK(s->ops->network_delete(s, keep) == -ENOTEMPTY);
	CHECK(records(s, keep, &seen) == 1 && store_test_placements(s, "dns", 0) == 1);
	store_close(s);
}

/*
 * Turns the current file into a version-4 one: every object a later step
 * made goes (triggers first, then tables, whose indexes go with them), then
 * the columns step 5 added to networks. Later steps only add objects.
 */
static void downgrade_to_v4(void)
{
	static const char v4[] =
	    "('meta', 'networks', 'nodes', 'node_labels', 'node_endpoints', 'sections',"
	    " 'join_tokens', 'join_token_labels', 'api_tokens', 'audit', 'fw_policies',"
	    " 'fw_policy_labels', 'fw_rules', 'lbs', 'lb_labels', 'lb_backends', 'placements',"
	    " 'lbs_placements', 'sqlite_sequence')";
	char text[1024];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char names[32][64];
	char types[32][16];
	int n = 0;

	snprintf(text, sizeof(text),
	         "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'trigger') AND "
	         "name NOT IN %s ORDER BY type = 'table'",
	         v4);
	CHECK(sqlite3_open(store_test_db_path(), &db) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, text, -1, &st, NULL) == SQLITE_OK);
	while (n < 32 && sqlite3_step(st) == SQLITE_ROW) {
		snprintf(names[n], sizeof(names[n]), "%s", sqlite3_column_text(st, 0));
		snprintf(types[n], sizeof(types[n]), "%s", sqlite3_column_text(st, 1));
		n++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	CHECK(n >= 2); /* dns_records and its trigger at least */
	/* Children before the tables they refer to: drop in a loop until none is left. */
	for (int pass = 0; pass < 4; pass++) {
		for (int i = 0; i < n; i++) {
			if (!names[i][0])
				continue;
			snprintf(text, sizeof(text), "DROP %.15s %.63s", types[i], names[i]);
			if (store_test_exec(text) == SQLITE_OK)
				names[i][0] = '\0';
		}
	}
	for (int i = 0; i < n; i++)
		CHECK(names[i][0] == '\0');
	CHECK(
	    store_test_exec("ALTER TABLE networks DROP COLUMN qos_link_bps;"
	                    "ALTER TABLE networks DROP COLUMN dns_replicas;"
	                    "ALTER TABLE networks DROP COLUMN domain; PRAGMA user_version = 4;") ==
	    SQLITE_OK);
}

/* A version-4 file with data, as the previous release left it, opens as the latest version. */
static void test_migration(void)
{
	struct store *s = store_test_open();
	struct st_node ngot;
	struct st_network got;
	struct st_lb lb = {.port = 80, .replicas = 1, .created = 1}, lgot;
	struct st_dns_record r;
	struct seen seen;
	int64_t net, node;
	int v = 0, latest;

	latest = (int)store_test_int("PRAGMA user_version");
	CHECK(latest >= 5);
	net = add_network(s, "old", "", 0);
	node = store_test_node_add(s, net, "n1", 0x0a1e0001);
	lb.network_id = net;
	strcpy(lb.name, "web");
	strcpy(lb.protocol, "tcp");
	strcpy(lb.algorithm, "round-robin");
	lb.n_backends = 1;
	lb.backends[0] = (struct st_lb_backend){htonl(0x0a1e0001), 80, 1};
	CHECK(s->ops->lb_insert(s, &lb) == 0);
	store_close(s);
	downgrade_to_v4();
	CHECK(store_test_int("SELECT count(*) FROM sqlite_master WHERE name LIKE '%dns%'") == 0);

	s = store_test_open();
	CHECK(s->ops->schema_version(s, &v) == 0 && v == latest);
	CHECK(s->ops->network_get(s, "old", &got) == 0 && got.id == net);
	CHECK(strcmp(got.domain, "netfn.internal") == 0 && got.dns_replicas == 1);
	CHECK(s->ops->node_get_id(s, node, &ngot) == 0 && strcmp(ngot.name, "n1") == 0);
	CHECK(s->ops->lb_get_id(s, lb.id, &lgot) == 0 && strcmp(lgot.name, "web") == 0);
	r = make_record(got.id, "www", "A", "10.30.0.5");
	CHECK(s->ops->dns_record_insert(s, &r) == 0);
	CHECK(records(s, got.id, &seen) == 1);
	store_close(s);
	CHECK(store_test_int("PRAGMA user_version") == latest);
}

int main(void)
{
	static void (*const tests[])(void) = {test_network_fields, test_records,
	                                      test_network_delete, test_migration};

	return store_test_run("store_dns_test", tests, sizeof(tests) / sizeof(tests[0]));
}
