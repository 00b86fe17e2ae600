// SPDX-License-Identifier: Apache-2.0
/*
 * The store tests' scaffolding: one mkdtemp dir per test function (so no
 * test sees another's rows), the store and the raw file in it, and the rows
 * most tests need before they get to what they test. The dir is the
 * program's one current dir: the tests run one after another.
 */
#include "controller/store/store_test_util.h"

#include <arpa/inet.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/check.h"

static char dir[64];
static char db_path[128];

static void dir_make(const char *name)
{
	snprintf(dir, sizeof(dir), "/tmp/%s.XXXXXX", name);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(db_path, sizeof(db_path), "%s/netfn.db", dir);
}

int store_test_dir_remove(const char *path)
{
	static const char *const files[] = {"netfn.db", "netfn.db-wal", "netfn.db-shm",
	                                    "netfn.db-journal"};
	char p[160];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", path, files[i]);
		unlink(p);
	}
	return rmdir(path);
}

int store_test_run(const char *name, void (*const *tests)(void), size_t n)
{
	for (size_t i = 0; i < n; i++) {
		dir_make(name);
		tests[i]();
		store_test_dir_remove(dir);
	}
	return check_result();
}

struct store *store_test_open(void)
{
	struct store *s = NULL;

	if (store_open(dir, &s)) {
		fprintf(stderr, "store_open failed in %s\n", dir);
		exit(1);
	}
	return s;
}

const char *store_test_db_path(void)
{
	return db_path;
}

int store_test_exec(const char *sql)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(db_path, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		fprintf(stderr, "store_test_exec: %s\n", sqlite3_errmsg(db));
	sqlite3_close(db);
	return rc;
}

int64_t store_test_int(const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_open(db_path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

void store_test_network_init(struct st_network *n, const char *name)
{
	memset(n, 0, sizeof(*n));
	n->port = 51820;
	n->mtu = 1420;
	n->created = 1000;
	n->dns_replicas = 1;
	snprintf(n->name, sizeof(n->name), "%s", name);
	snprintf(n->cidr, sizeof(n->cidr), "10.20.0.0/16");
	snprintf(n->topology, sizeof(n->topology), "mesh");
	snprintf(n->domain, sizeof(n->domain), "netfn.internal");
}

int64_t store_test_network_add(struct store *s, const char *name)
{
	struct st_network n;

	store_test_network_init(&n, name);
	CHECK(s->ops->network_insert(s, &n) == 0);
	return n.id;
}

int64_t store_test_node_add(struct store *s, int64_t network_id, const char *name, uint32_t addr)
{
	struct st_node n = {.network_id = network_id, .created = 1, .overlay_addr = htonl(addr)};
	int key = name[0] + name[strlen(name) - 1];

	snprintf(n.name, sizeof(n.name), "%s", name);
	memset(n.id_pk, key, sizeof(n.id_pk));
	memset(n.wg_pk, key + 100, sizeof(n.wg_pk));
	CHECK(s->ops->node_insert(s, &n) == 0);
	return n.id;
}

void store_test_label(struct st_label *l, const char *key, const char *value)
{
	snprintf(l->key, sizeof(l->key), "%s", key);
	snprintf(l->value, sizeof(l->value), "%s", value);
}

static int count_placement(void *ctx, const struct st_placement *p)
{
	(void)p;
	(*(int *)ctx)++;
	return 0;
}

int store_test_placements(struct store *s, const char *kind, int64_t object_id)
{
	int n = 0;

	CHECK(s->ops->placement_list(s, kind, object_id, count_placement, &n) == 0);
	return n;
}
