// SPDX-License-Identifier: Apache-2.0
/*
 * The SQLite engine's flow filters (schema version 8): one row of
 * flow_filters per filter, kept as the API canonicalised it (protocol and
 * action names, "a.b.c.d/len" prefixes). The table, its partial name index
 * and its cascades from nodes and networks are migration step 8 in
 * store_sqlite_schema.c.
 */
#include <errno.h>
#include <string.h>

#include "controller/store/store_sqlite_int.h"

#define FF_COLS                                                                                    \
	"id, network_id, node_id, name, protocol, dst_port, src, dst, action, priority, created"

/* clang-format off */
enum flow_stmt_id {
	F_INSERT, F_DELETE, F_GET_ID, F_GET_NAME, F_LIST_NET, F_LIST_NODE,
	F_COUNT
};
/* clang-format on */

_Static_assert(SQ_EXT_FLOW + F_COUNT <= SQ_EXT_STMTS, "our statements fit in our cache slots");

static const struct sq_stmt stmts[F_COUNT] = {
    [F_INSERT] = {"insert flow filter",
                  "INSERT INTO flow_filters (network_id, node_id, name, protocol, dst_port, src, "
                  "dst, action, priority, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
    [F_DELETE] = {"delete flow filter", "DELETE FROM flow_filters WHERE id = ?"},
    [F_GET_ID] = {"get flow filter", "SELECT " FF_COLS " FROM flow_filters WHERE id = ?"},
    [F_GET_NAME] = {"get flow filter by name",
                    "SELECT " FF_COLS " FROM flow_filters WHERE network_id = ? AND name = ?"},
    /* Two statements rather than "? = 0 OR": each keeps its index. */
    [F_LIST_NET] = {"list flow filters",
                    "SELECT " FF_COLS " FROM flow_filters WHERE network_id = ? ORDER BY id"},
    [F_LIST_NODE] = {"list node flow filters",
                     "SELECT " FF_COLS " FROM flow_filters WHERE network_id = ? AND node_id = ? "
                     "ORDER BY id"},
};

/* Runs statement id of this file; see sq_vsql. */
static int sql(struct sq *q, enum flow_stmt_id id, unsigned mode, reader read, void *out, ...)
{
	va_list ap;
	int ret;

	va_start(ap, out);
	ret = sq_vsql(q, &stmts[id], sq_ext_slot(q, SQ_EXT_FLOW + id), mode, read, out, ap);
	va_end(ap);
	return ret;
}

static struct sq *sq(struct store *s)
{
	return (struct sq *)s;
}

static int read_filter(struct sq *q, sqlite3_stmt *st, void *out)
{
	struct st_flow_filter *f = out;

	(void)q;
	memset(f, 0, sizeof(*f));
	f->id = sqlite3_column_int64(st, 0);
	f->network_id = sqlite3_column_int64(st, 1);
	f->node_id = sqlite3_column_int64(st, 2);
	sq_col_str(st, 3, f->name, sizeof(f->name));
	sq_col_str(st, 4, f->protocol, sizeof(f->protocol));
	f->dst_port = (uint32_t)sqlite3_column_int64(st, 5);
	sq_col_str(st, 6, f->src, sizeof(f->src));
	sq_col_str(st, 7, f->dst, sizeof(f->dst));
	sq_col_str(st, 8, f->action, sizeof(f->action));
	f->priority = (uint32_t)sqlite3_column_int64(st, 9);
	f->created = sqlite3_column_int64(st, 10);
	return 0;
}

int sqlite_flow_insert(struct store *s, struct st_flow_filter *f)
{
	struct sq *q = sq(s);
	int ret;

	/* A network or node that does not exist trips a foreign key: -ENOENT;
	 * a name already in the network: -EEXIST. */
	ret = sql(q, F_INSERT, 0, NULL, NULL, I(f->network_id), I(f->node_id), T(f->name),
	          T(f->protocol), I(f->dst_port), T(f->src), T(f->dst), T(f->action),
	          I(f->priority), I(f->created), END);
	if (!ret)
		f->id = sq_last_id(q);
	return ret;
}

int sqlite_flow_delete(struct store *s, int64_t id)
{
	return sql(sq(s), F_DELETE, CHANGE, NULL, NULL, I(id), END);
}

int sqlite_flow_get_id(struct store *s, int64_t id, struct st_flow_filter *out)
{
	return sql(sq(s), F_GET_ID, ONE, read_filter, out, I(id), END);
}

int sqlite_flow_get_name(struct store *s, int64_t network_id, const char *name,
                         struct st_flow_filter *out)
{
	/* "" is no name: it must not find whichever unnamed filter comes first. */
	if (!name || !name[0])
		return -ENOENT;
	return sql(sq(s), F_GET_NAME, ONE, read_filter, out, I(network_id), TP(name, ST_NAME_MAX),
	           END);
}

struct each_filter {
	store_flow_filter_cb cb;
	void *ctx;
};

static int each_filter(struct sq *q, sqlite3_stmt *st, void *arg)
{
	struct each_filter *e = arg;
	struct st_flow_filter f;

	read_filter(q, st, &f);
	return e->cb(e->ctx, &f);
}

int sqlite_flow_list(struct store *s, int64_t network_id, int64_t node_id, store_flow_filter_cb cb,
                     void *ctx)
{
	struct each_filter e = {cb, ctx};

	if (node_id)
		return sql(sq(s), F_LIST_NODE, ALL | FRESH, each_filter, &e, I(network_id),
		           I(node_id), END);
	return sql(sq(s), F_LIST_NET, ALL | FRESH, each_filter, &e, I(network_id), END);
}
