// SPDX-License-Identifier: Apache-2.0
/*
 * The SQLite engine's traffic classes (schema version 7): one row of
 * qos_classes per class of a network and one row of qos_matches per match
 * of a class, kept as the API canonicalised them. The tables and their
 * cascades are migration step 7 in store_sqlite_schema.c; a network's link
 * rate is a column of networks, read and written in store_sqlite.c.
 */
#include <string.h>

#include "controller/store/store_sqlite_int.h"

#define QC_COLS "id, network_id, name, min_bps, max_bps, priority, minor, created"
#define QM_COLS "id, class_id, protocol, port, peer, cidr"

/* clang-format off */
enum qos_stmt_id {
	Q_INSERT, Q_DELETE, Q_GET, Q_LIST, Q_M_INSERT, Q_M_DELETE, Q_M_LIST,
	Q_COUNT
};
/* clang-format on */

_Static_assert(SQ_EXT_QOS + Q_COUNT <= SQ_EXT_FLOW, "our statements fit in our cache slots");

static const struct sq_stmt stmts[Q_COUNT] = {
    [Q_INSERT] = {"insert qos class",
                  "INSERT INTO qos_classes (network_id, name, min_bps, max_bps, priority, minor, "
                  "created) VALUES (?, ?, ?, ?, ?, ?, ?)"},
    [Q_DELETE] = {"delete qos class", "DELETE FROM qos_classes WHERE id = ?"},
    [Q_GET] = {"get qos class",
               "SELECT " QC_COLS " FROM qos_classes WHERE network_id = ? AND name = ?"},
    /* The order classes are shown and compiled in; id keeps it total. */
    [Q_LIST] = {"list qos classes", "SELECT " QC_COLS " FROM qos_classes WHERE network_id = ? "
                                    "ORDER BY priority, id"},
    [Q_M_INSERT] = {"insert qos match", "INSERT INTO qos_matches (class_id, protocol, port, peer, "
                                        "cidr) VALUES (?, ?, ?, ?, ?)"},
    [Q_M_DELETE] = {"delete qos match", "DELETE FROM qos_matches WHERE id = ?"},
    [Q_M_LIST] = {"list qos matches",
                  "SELECT " QM_COLS " FROM qos_matches WHERE class_id = ? ORDER BY id"},
};

/* Runs statement id of this file; see sq_vsql. */
static int sql(struct sq *q, enum qos_stmt_id id, unsigned mode, reader read, void *out, ...)
{
	va_list ap;
	int ret;

	va_start(ap, out);
	ret = sq_vsql(q, &stmts[id], sq_ext_slot(q, SQ_EXT_QOS + id), mode, read, out, ap);
	va_end(ap);
	return ret;
}

static struct sq *sq(struct store *s)
{
	return (struct sq *)s;
}

static int read_class(struct sq *q, sqlite3_stmt *st, void *out)
{
	struct st_qos_class *c = out;

	(void)q;
	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(st, 0);
	c->network_id = sqlite3_column_int64(st, 1);
	sq_col_str(st, 2, c->name, sizeof(c->name));
	c->min_bps = (uint64_t)sqlite3_column_int64(st, 3);
	c->max_bps = (uint64_t)sqlite3_column_int64(st, 4);
	c->priority = (uint32_t)sqlite3_column_int64(st, 5);
	c->minor = (uint32_t)sqlite3_column_int64(st, 6);
	c->created = sqlite3_column_int64(st, 7);
	return 0;
}

static int read_match(struct sq *q, sqlite3_stmt *st, void *out)
{
	struct st_qos_match *m = out;

	(void)q;
	memset(m, 0, sizeof(*m));
	m->id = sqlite3_column_int64(st, 0);
	m->class_id = sqlite3_column_int64(st, 1);
	sq_col_str(st, 2, m->protocol, sizeof(m->protocol));
	sq_col_str(st, 3, m->port, sizeof(m->port));
	sq_col_str(st, 4, m->peer, sizeof(m->peer));
	sq_col_str(st, 5, m->cidr, sizeof(m->cidr));
	return 0;
}

int sqlite_qos_class_insert(struct store *s, struct st_qos_class *c)
{
	struct sq *q = sq(s);
	int ret;

	/* A network that does not exist trips the foreign key: -ENOENT; a name
	 * or minor already in the network: -EEXIST. */
	ret = sql(q, Q_INSERT, 0, NULL, NULL, I(c->network_id), T(c->name), I(c->min_bps),
	          I(c->max_bps), I(c->priority), I(c->minor), I(c->created), END);
	if (!ret)
		c->id = sq_last_id(q);
	return ret;
}

int sqlite_qos_class_delete(struct store *s, int64_t id)
{
	return sql(sq(s), Q_DELETE, CHANGE, NULL, NULL, I(id), END);
}

int sqlite_qos_class_get(struct store *s, int64_t network_id, const char *name,
                         struct st_qos_class *out)
{
	return sql(sq(s), Q_GET, ONE, read_class, out, I(network_id), TP(name, ST_NAME_MAX), END);
}

struct each_class {
	store_qos_class_cb cb;
	void *ctx;
};

static int each_class(struct sq *q, sqlite3_stmt *st, void *arg)
{
	struct each_class *e = arg;
	struct st_qos_class c;

	read_class(q, st, &c);
	return e->cb(e->ctx, &c);
}

int sqlite_qos_class_list(struct store *s, int64_t network_id, store_qos_class_cb cb, void *ctx)
{
	struct each_class e = {cb, ctx};

	return sql(sq(s), Q_LIST, ALL | FRESH, each_class, &e, I(network_id), END);
}

int sqlite_qos_match_insert(struct store *s, struct st_qos_match *m)
{
	struct sq *q = sq(s);
	int ret;

	/* A class that does not exist trips the foreign key: -ENOENT. */
	ret = sql(q, Q_M_INSERT, 0, NULL, NULL, I(m->class_id), T(m->protocol), T(m->port),
	          T(m->peer), T(m->cidr), END);
	if (!ret)
		m->id = sq_last_id(q);
	return ret;
}

int sqlite_qos_match_delete(struct store *s, int64_t id)
{
	return sql(sq(s), Q_M_DELETE, CHANGE, NULL, NULL, I(id), END);
}

struct each_match {
	store_qos_match_cb cb;
	void *ctx;
};

static int each_match(struct sq *q, sqlite3_stmt *st, void *arg)
{
	struct each_match *e = arg;
	struct st_qos_match m;

	read_match(q, st, &m);
	return e->cb(e->ctx, &m);
}

int sqlite_qos_match_list(struct store *s, int64_t class_id, store_qos_match_cb cb, void *ctx)
{
	struct each_match e = {cb, ctx};

	return sql(sq(s), Q_M_LIST, ALL | FRESH, each_match, &e, I(class_id), END);
}
