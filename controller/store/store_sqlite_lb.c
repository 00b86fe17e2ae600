// SPDX-License-Identifier: Apache-2.0
/*
 * The SQLite engine's load balancers and placements (schema version 4). A
 * load balancer is one row of lbs plus its selector labels and explicit
 * backends in child tables, written together under a savepoint; a placement
 * is one row per (kind, object, slot), which the scheduler rewrites when a
 * replica moves. The tables and the trigger that drops a load balancer's
 * placements with it are migration step 4 in store_sqlite.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "controller/store/store_sqlite_int.h"

#define LB_COLS                                                                                    \
	"id, network_id, name, protocol, algorithm, vip, port, backend_port, backend_weight, "     \
	"hc_interval_ms, hc_timeout_ms, hc_rise, hc_fall, hc_port, replicas, created"
#define PL_COLS "kind, object_id, slot, node_id, since, reason"

/* The two label sets of a load balancer, as lb_labels.role spells them. */
#define ROLE_BACKEND   "backend"
#define ROLE_PLACEMENT "placement"

/* clang-format off */
enum lb_stmt_id {
	L_LB_INSERT, L_LB_UPDATE, L_LB_DELETE, L_LB_GET, L_LB_GET_ID, L_LB_LIST,
	L_LABEL_DEL, L_LABEL_ADD, L_LABEL_GET, L_BE_DEL, L_BE_ADD, L_BE_GET,
	L_PL_PUT, L_PL_DELETE, L_PL_LIST,
	L_COUNT
};
/* clang-format on */

_Static_assert(SQ_EXT_LB + L_COUNT <= SQ_EXT_DNS, "our statements fit in our cache slots");

static const struct sq_stmt stmts[L_COUNT] = {
    [L_LB_INSERT] = {"insert load balancer",
                     "INSERT INTO lbs (network_id, name, protocol, algorithm, vip, port, "
                     "backend_port, backend_weight, hc_interval_ms, hc_timeout_ms, hc_rise, "
                     "hc_fall, hc_port, replicas, created) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
    /* The network and creation time are the record's identity: they stay. */
    [L_LB_UPDATE] = {"update load balancer",
                     "UPDATE lbs SET name = ?, protocol = ?, algorithm = ?, vip = ?, port = ?, "
                     "backend_port = ?, backend_weight = ?, hc_interval_ms = ?, "
                     "hc_timeout_ms = ?, hc_rise = ?, hc_fall = ?, hc_port = ?, replicas = ? "
                     "WHERE id = ?"},
    [L_LB_DELETE] = {"delete load balancer", "DELETE FROM lbs WHERE id = ?"},
    [L_LB_GET] = {"get load balancer",
                  "SELECT " LB_COLS " FROM lbs WHERE network_id = ? AND name = ?"},
    [L_LB_GET_ID] = {"get load balancer by id", "SELECT " LB_COLS " FROM lbs WHERE id = ?"},
    [L_LB_LIST] = {"list load balancers",
                   "SELECT " LB_COLS " FROM lbs WHERE ?1 = 0 OR network_id = ?1 ORDER BY id"},
    [L_LABEL_DEL] = {"clear load balancer selectors", "DELETE FROM lb_labels WHERE lb_id = ?"},
    [L_LABEL_ADD] = {"add load balancer selector label",
                     "INSERT INTO lb_labels (lb_id, role, pos, key, value) "
                     "VALUES (?, ?, ?, ?, ?)"},
    [L_LABEL_GET] = {"get load balancer selectors",
                     "SELECT role, key, value FROM lb_labels WHERE lb_id = ? "
                     "ORDER BY role, pos"},
    [L_BE_DEL] = {"clear load balancer backends", "DELETE FROM lb_backends WHERE lb_id = ?"},
    [L_BE_ADD] = {"add load balancer backend",
                  "INSERT INTO lb_backends (lb_id, pos, addr, port, weight) "
                  "VALUES (?, ?, ?, ?, ?)"},
    [L_BE_GET] = {"get load balancer backends",
                  "SELECT addr, port, weight FROM lb_backends WHERE lb_id = ? ORDER BY pos"},

    [L_PL_PUT] = {"put placement", "INSERT INTO placements (" PL_COLS ") VALUES (?, ?, ?, ?, ?, ?) "
                                   "ON CONFLICT (kind, object_id, slot) DO UPDATE SET "
                                   "node_id = excluded.node_id, since = excluded.since, "
                                   "reason = excluded.reason"},
    [L_PL_DELETE] = {"delete placement",
                     "DELETE FROM placements WHERE kind = ? AND object_id = ? AND slot = ?"},
    [L_PL_LIST] = {"list placements", "SELECT " PL_COLS " FROM placements WHERE kind = ?1 "
                                      "AND (?2 = 0 OR object_id = ?2) ORDER BY object_id, slot"},
};

/* Runs statement id of this file; see sq_vsql. */
static int sql(struct sq *q, enum lb_stmt_id id, unsigned mode, reader read, void *out, ...)
{
	va_list ap;
	int ret;

	va_start(ap, out);
	ret = sq_vsql(q, &stmts[id], sq_ext_slot(q, SQ_EXT_LB + id), mode, read, out, ap);
	va_end(ap);
	return ret;
}

static struct sq *sq(struct store *s)
{
	return (struct sq *)s;
}

/* ---- load balancers ---- */

static int read_label(struct sq *q, sqlite3_stmt *st, void *out)
{
	struct st_lb *lb = out;
	char role[16];
	struct st_label *l;
	size_t *n;

	(void)q;
	sq_col_str(st, 0, role, sizeof(role));
	if (strcmp(role, ROLE_PLACEMENT) == 0) {
		l = lb->placement;
		n = &lb->n_placement;
	} else {
		l = lb->backend_selector;
		n = &lb->n_backend_selector;
	}
	sq_col_label(st, 1, l, n);
	return 0;
}

static int read_backend(struct sq *q, sqlite3_stmt *st, void *out)
{
	struct st_lb *lb = out;
	struct st_lb_backend *b;

	(void)q;
	if (lb->n_backends == ST_LB_MAX_BACKENDS)
		return 0;
	b = &lb->backends[lb->n_backends++];
	b->addr = htonl((uint32_t)sqlite3_column_int64(st, 0));
	b->port = (uint16_t)sqlite3_column_int(st, 1);
	b->weight = (uint16_t)sqlite3_column_int(st, 2);
	return 0;
}

/* Reads a load balancer row, then its selectors and explicit backends. */
static int read_lb(struct sq *q, sqlite3_stmt *st, void *out)
{
	struct st_lb *lb = out;
	int ret;

	memset(lb, 0, sizeof(*lb));
	lb->id = sqlite3_column_int64(st, 0);
	lb->network_id = sqlite3_column_int64(st, 1);
	sq_col_str(st, 2, lb->name, sizeof(lb->name));
	sq_col_str(st, 3, lb->protocol, sizeof(lb->protocol));
	sq_col_str(st, 4, lb->algorithm, sizeof(lb->algorithm));
	lb->vip = htonl((uint32_t)sqlite3_column_int64(st, 5));
	lb->port = (uint16_t)sqlite3_column_int(st, 6);
	lb->backend_port = (uint16_t)sqlite3_column_int(st, 7);
	lb->backend_weight = (uint16_t)sqlite3_column_int(st, 8);
	lb->hc_interval_ms = (uint32_t)sqlite3_column_int64(st, 9);
	lb->hc_timeout_ms = (uint32_t)sqlite3_column_int64(st, 10);
	lb->hc_rise = (uint32_t)sqlite3_column_int64(st, 11);
	lb->hc_fall = (uint32_t)sqlite3_column_int64(st, 12);
	lb->hc_port = (uint16_t)sqlite3_column_int(st, 13);
	lb->replicas = (uint32_t)sqlite3_column_int64(st, 14);
	lb->created = sqlite3_column_int64(st, 15);
	ret = sql(q, L_LABEL_GET, ALL, read_label, lb, I(lb->id), END);
	return ret ? ret : sql(q, L_BE_GET, ALL, read_backend, lb, I(lb->id), END);
}

static int labels_add(struct sq *q, int64_t id, const char *role, const struct st_label *l,
                      size_t n)
{
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++)
		ret = sql(q, L_LABEL_ADD, 0, NULL, NULL, I(id), TP(role, strlen(role) + 1), I(i),
		          T(l[i].key), T(l[i].value), END);
	return ret;
}

/* Replaces load balancer id's selectors and explicit backends with lb's. */
static int lb_children_put(struct sq *q, int64_t id, const struct st_lb *lb)
{
	int ret = sql(q, L_LABEL_DEL, 0, NULL, NULL, I(id), END);

	if (!ret)
		ret = labels_add(q, id, ROLE_BACKEND, lb->backend_selector, lb->n_backend_selector);
	if (!ret)
		ret = labels_add(q, id, ROLE_PLACEMENT, lb->placement, lb->n_placement);
	if (!ret)
		ret = sql(q, L_BE_DEL, 0, NULL, NULL, I(id), END);
	for (size_t i = 0; i < lb->n_backends && !ret; i++) {
		const struct st_lb_backend *b = &lb->backends[i];

		ret = sql(q, L_BE_ADD, 0, NULL, NULL, I(id), I(i), I(ntohl(b->addr)), I(b->port),
		          I(b->weight), END);
	}
	return ret;
}

static bool lb_fits(const struct st_lb *lb)
{
	return lb->n_backend_selector <= ST_MAX_LABELS && lb->n_placement <= ST_MAX_LABELS &&
	       lb->n_backends <= ST_LB_MAX_BACKENDS;
}

int sqlite_lb_insert(struct store *s, struct st_lb *lb)
{
	struct sq *q = sq(s);
	int64_t id;
	int ret;

	if (!lb_fits(lb))
		return -EINVAL;
	ret = sq_savepoint(q);
	if (ret)
		return ret;
	/* Addresses in host order, so they sort as numbers. A network that
	 * does not exist trips the foreign key: -ENOENT. */
	ret =
	    sql(q, L_LB_INSERT, 0, NULL, NULL, I(lb->network_id), T(lb->name), T(lb->protocol),
	        T(lb->algorithm), I(ntohl(lb->vip)), I(lb->port), I(lb->backend_port),
	        I(lb->backend_weight), I(lb->hc_interval_ms), I(lb->hc_timeout_ms), I(lb->hc_rise),
	        I(lb->hc_fall), I(lb->hc_port), I(lb->replicas), I(lb->created), END);
	id = sq_last_id(q);
	if (!ret)
		ret = lb_children_put(q, id, lb);
	ret = sq_savepoint_end(q, ret);
	if (!ret)
		lb->id = id;
	return ret;
}

int sqlite_lb_update(struct store *s, const struct st_lb *lb)
{
	struct sq *q = sq(s);
	int ret;

	if (!lb_fits(lb))
		return -EINVAL;
	ret = sq_savepoint(q);
	if (ret)
		return ret;
	ret = sql(q, L_LB_UPDATE, CHANGE, NULL, NULL, T(lb->name), T(lb->protocol),
	          T(lb->algorithm), I(ntohl(lb->vip)), I(lb->port), I(lb->backend_port),
	          I(lb->backend_weight), I(lb->hc_interval_ms), I(lb->hc_timeout_ms),
	          I(lb->hc_rise), I(lb->hc_fall), I(lb->hc_port), I(lb->replicas), I(lb->id), END);
	if (!ret)
		ret = lb_children_put(q, lb->id, lb);
	return sq_savepoint_end(q, ret);
}

int sqlite_lb_delete(struct store *s, int64_t id)
{
	/* Its selectors and backends cascade; the lbs_placements trigger
	 * drops its placements. */
	return sql(sq(s), L_LB_DELETE, CHANGE, NULL, NULL, I(id), END);
}

int sqlite_lb_get(struct store *s, int64_t network_id, const char *name, struct st_lb *out)
{
	return sql(sq(s), L_LB_GET, ONE, read_lb, out, I(network_id), TP(name, ST_NAME_MAX), END);
}

int sqlite_lb_get_id(struct store *s, int64_t id, struct st_lb *out)
{
	return sql(sq(s), L_LB_GET_ID, ONE, read_lb, out, I(id), END);
}

struct each_lb {
	store_lb_cb cb;
	void *ctx;
};

static int each_lb(struct sq *q, sqlite3_stmt *st, void *arg)
{
	struct each_lb *e = arg;
	struct st_lb *lb = malloc(sizeof(*lb)); /* 5 KiB, off the stack of a nested walk */
	int ret;

	if (!lb)
		return -ENOMEM;
	ret = read_lb(q, st, lb);
	if (!ret)
		ret = e->cb(e->ctx, lb);
	free(lb);
	return ret;
}

int sqlite_lb_list(struct store *s, int64_t network_id, store_lb_cb cb, void *ctx)
{
	struct each_lb e = {cb, ctx};

	return sql(sq(s), L_LB_LIST, ALL | FRESH, each_lb, &e, I(network_id), END);
}

/* ---- placements ---- */

int sqlite_placement_put(struct store *s, const struct st_placement *p)
{
	return sql(sq(s), L_PL_PUT, 0, NULL, NULL, T(p->kind), I(p->object_id), I(p->slot),
	           I(p->node_id), I(p->since), T(p->reason), END);
}

int sqlite_placement_delete(struct store *s, const char *kind, int64_t object_id, uint32_t slot)
{
	return sql(sq(s), L_PL_DELETE, CHANGE, NULL, NULL, TP(kind, ST_KIND_MAX), I(object_id),
	           I(slot), END);
}

struct each_placement {
	store_placement_cb cb;
	void *ctx;
};

static int each_placement(struct sq *q, sqlite3_stmt *st, void *arg)
{
	struct each_placement *e = arg;
	struct st_placement p;

	(void)q;
	memset(&p, 0, sizeof(p));
	sq_col_str(st, 0, p.kind, sizeof(p.kind));
	p.object_id = sqlite3_column_int64(st, 1);
	p.slot = (uint32_t)sqlite3_column_int64(st, 2);
	p.node_id = sqlite3_column_int64(st, 3);
	p.since = sqlite3_column_int64(st, 4);
	sq_col_str(st, 5, p.reason, sizeof(p.reason));
	return e->cb(e->ctx, &p);
}

int sqlite_placement_list(struct store *s, const char *kind, int64_t object_id,
                          store_placement_cb cb, void *ctx)
{
	struct each_placement e = {cb, ctx};

	return sql(sq(s), L_PL_LIST, ALL | FRESH, each_placement, &e, TP(kind, ST_KIND_MAX),
	           I(object_id), END);
}
