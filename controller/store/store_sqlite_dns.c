// SPDX-License-Identifier: Apache-2.0
/*
 * The SQLite engine's DNS records (schema version 5): one row of dns_records
 * per custom record of a network's zone, kept as the API canonicalised it.
 * The table, its cascade from networks and the trigger that drops a
 * network's DNS server placements with it are migration step 5 in
 * store_sqlite.c; a network's domain and server count are columns of
 * networks, read and written there.
 */
#include <string.h>

#include "controller/store/store_sqlite_int.h"

#define DNS_COLS "id, network_id, name, type, value, ttl, created"

/* clang-format off */
enum dns_stmt_id {
	D_INSERT, D_DELETE, D_GET, D_LIST,
	D_COUNT
};
/* clang-format on */

_Static_assert(SQ_EXT_DNS + D_COUNT <= SQ_EXT_CLIENT, "our statements fit in our cache slots");

static const struct sq_stmt stmts[D_COUNT] = {
    [D_INSERT] = {"insert dns record",
                  "INSERT INTO dns_records (network_id, name, type, value, ttl, created) "
                  "VALUES (?, ?, ?, ?, ?, ?)"},
    [D_DELETE] = {"delete dns record", "DELETE FROM dns_records WHERE id = ?"},
    [D_GET] = {"get dns record", "SELECT " DNS_COLS " FROM dns_records WHERE id = ?"},
    /* The order a zone is shown and compiled in; id keeps it total. */
    [D_LIST] = {"list dns records", "SELECT " DNS_COLS " FROM dns_records WHERE network_id = ? "
                                    "ORDER BY name, type, id"},
};

/* Runs statement id of this file; see sq_vsql. */
static int sql(struct sq *q, enum dns_stmt_id id, unsigned mode, reader read, void *out, ...)
{
	va_list ap;
	int ret;

	va_start(ap, out);
	ret = sq_vsql(q, &stmts[id], sq_ext_slot(q, SQ_EXT_DNS + id), mode, read, out, ap);
	va_end(ap);
	return ret;
}

static struct sq *sq(struct store *s)
{
	return (struct sq *)s;
}

static int read_record(struct sq *q, sqlite3_stmt *st, void *out)
{
	struct st_dns_record *r = out;

	(void)q;
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->network_id = sqlite3_column_int64(st, 1);
	sq_col_str(st, 2, r->name, sizeof(r->name));
	sq_col_str(st, 3, r->type, sizeof(r->type));
	sq_col_str(st, 4, r->value, sizeof(r->value));
	r->ttl = (uint32_t)sqlite3_column_int64(st, 5);
	r->created = sqlite3_column_int64(st, 6);
	return 0;
}

int sqlite_dns_record_insert(struct store *s, struct st_dns_record *r)
{
	struct sq *q = sq(s);
	int ret;

	/* A network that does not exist trips the foreign key: -ENOENT; the
	 * same name, type and value twice in a network: -EEXIST. */
	ret = sql(q, D_INSERT, 0, NULL, NULL, I(r->network_id), T(r->name), T(r->type), T(r->value),
	          I(r->ttl), I(r->created), END);
	if (!ret)
		r->id = sq_last_id(q);
	return ret;
}

int sqlite_dns_record_delete(struct store *s, int64_t id)
{
	return sql(sq(s), D_DELETE, CHANGE, NULL, NULL, I(id), END);
}

int sqlite_dns_record_get(struct store *s, int64_t id, struct st_dns_record *out)
{
	return sql(sq(s), D_GET, ONE, read_record, out, I(id), END);
}

struct each_record {
	store_dns_record_cb cb;
	void *ctx;
};

static int each_record(struct sq *q, sqlite3_stmt *st, void *arg)
{
	struct each_record *e = arg;
	struct st_dns_record r;

	read_record(q, st, &r);
	return e->cb(e->ctx, &r);
}

int sqlite_dns_record_list(struct store *s, int64_t network_id, store_dns_record_cb cb, void *ctx)
{
	struct each_record e = {cb, ctx};

	return sql(sq(s), D_LIST, ALL | FRESH, each_record, &e, I(network_id), END);
}
