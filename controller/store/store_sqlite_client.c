// SPDX-License-Identifier: Apache-2.0
/*
 * The SQLite engine's external clients (schema version 6). A client is one
 * row of clients plus its labels and gateway selector in client_labels
 * (role 'label' or 'gateway'), written together under a savepoint. There is
 * no update: a client's key, address and expiry are what was issued, and
 * reissuing one is delete and create. The tables, and the trigger that drops
 * a client's "gateway" placement with it, are migration step 6 in
 * store_sqlite.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "controller/store/store_sqlite_int.h"

#define CL_COLS "id, network_id, name, wg_pk, overlay_addr, expires, created"

/* The two label sets of a client, as client_labels.role spells them. */
#define ROLE_LABEL   "label"
#define ROLE_GATEWAY "gateway"

/* clang-format off */
enum client_stmt_id {
	C_INSERT, C_DELETE, C_GET, C_GET_ID, C_LIST, C_LABEL_ADD, C_LABEL_GET,
	C_COUNT
};
/* clang-format on */

_Static_assert(SQ_EXT_CLIENT + C_COUNT <= SQ_EXT_QOS, "our statements fit in our cache slots");

static const struct sq_stmt stmts[C_COUNT] = {
    [C_INSERT] = {"insert client", "INSERT INTO clients (network_id, name, wg_pk, overlay_addr, "
                                   "expires, created) VALUES (?, ?, ?, ?, ?, ?)"},
    [C_DELETE] = {"delete client", "DELETE FROM clients WHERE id = ?"},
    [C_GET] = {"get client", "SELECT " CL_COLS " FROM clients WHERE network_id = ? AND name = ?"},
    [C_GET_ID] = {"get client by id", "SELECT " CL_COLS " FROM clients WHERE id = ?"},
    [C_LIST] = {"list clients",
                "SELECT " CL_COLS " FROM clients WHERE ?1 = 0 OR network_id = ?1 ORDER BY id"},
    [C_LABEL_ADD] = {"add client label", "INSERT INTO client_labels (client_id, role, pos, key, "
                                         "value) VALUES (?, ?, ?, ?, ?)"},
    [C_LABEL_GET] = {"get client labels", "SELECT role, key, value FROM client_labels "
                                          "WHERE client_id = ? ORDER BY role, pos"},
};

/* Runs statement id of this file; see sq_vsql. */
static int sql(struct sq *q, enum client_stmt_id id, unsigned mode, reader read, void *out, ...)
{
	va_list ap;
	int ret;

	va_start(ap, out);
	ret = sq_vsql(q, &stmts[id], sq_ext_slot(q, SQ_EXT_CLIENT + id), mode, read, out, ap);
	va_end(ap);
	return ret;
}

static struct sq *sq(struct store *s)
{
	return (struct sq *)s;
}

static int read_label(struct sq *q, sqlite3_stmt *st, void *out)
{
	struct st_client *c = out;
	char role[16];
	struct st_label *l;
	size_t *n;

	(void)q;
	sq_col_str(st, 0, role, sizeof(role));
	if (strcmp(role, ROLE_GATEWAY) == 0) {
		l = c->gateway_selector;
		n = &c->n_gateway_selector;
	} else {
		l = c->labels;
		n = &c->n_labels;
	}
	sq_col_label(st, 1, l, n);
	return 0;
}

/* Reads a client row, then its labels. */
static int read_client(struct sq *q, sqlite3_stmt *st, void *out)
{
	struct st_client *c = out;
	const void *pk;

	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(st, 0);
	c->network_id = sqlite3_column_int64(st, 1);
	sq_col_str(st, 2, c->name, sizeof(c->name));
	pk = sqlite3_column_blob(st, 3);
	/* A short key (damage) leaves zeros rather than reading past it. */
	if (pk && sqlite3_column_bytes(st, 3) == ST_KEY_LEN)
		memcpy(c->wg_pk, pk, ST_KEY_LEN);
	c->overlay_addr = htonl((uint32_t)sqlite3_column_int64(st, 4));
	c->expires = sqlite3_column_int64(st, 5);
	c->created = sqlite3_column_int64(st, 6);
	return sql(q, C_LABEL_GET, ALL, read_label, c, I(c->id), END);
}

static int labels_add(struct sq *q, int64_t id, const char *role, const struct st_label *l,
                      size_t n)
{
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++)
		ret = sql(q, C_LABEL_ADD, 0, NULL, NULL, I(id), TP(role, strlen(role) + 1), I(i),
		          T(l[i].key), T(l[i].value), END);
	return ret;
}

int sqlite_client_insert(struct store *s, struct st_client *c)
{
	struct sq *q = sq(s);
	int64_t id;
	int ret;

	if (c->n_labels > ST_MAX_LABELS || c->n_gateway_selector > ST_MAX_LABELS)
		return -EINVAL;
	ret = sq_savepoint(q);
	if (ret)
		return ret;
	/* The address in host order, like nodes'. A network that does not
	 * exist trips the foreign key: -ENOENT; a taken name, key or address
	 * in the network is -EEXIST. */
	ret = sql(q, C_INSERT, 0, NULL, NULL, I(c->network_id), T(c->name), B(c->wg_pk),
	          I(ntohl(c->overlay_addr)), I(c->expires), I(c->created), END);
	id = sq_last_id(q);
	if (!ret)
		ret = labels_add(q, id, ROLE_LABEL, c->labels, c->n_labels);
	if (!ret)
		ret = labels_add(q, id, ROLE_GATEWAY, c->gateway_selector, c->n_gateway_selector);
	ret = sq_savepoint_end(q, ret);
	if (!ret)
		c->id = id;
	return ret;
}

int sqlite_client_delete(struct store *s, int64_t id)
{
	/* Its labels cascade; the clients_placements trigger drops its gateway placement. */
	return sql(sq(s), C_DELETE, CHANGE, NULL, NULL, I(id), END);
}

int sqlite_client_get(struct store *s, int64_t network_id, const char *name, struct st_client *out)
{
	return sql(sq(s), C_GET, ONE, read_client, out, I(network_id), TP(name, ST_NAME_MAX), END);
}

int sqlite_client_get_id(struct store *s, int64_t id, struct st_client *out)
{
	return sql(sq(s), C_GET_ID, ONE, read_client, out, I(id), END);
}

struct each_client {
	store_client_cb cb;
	void *ctx;
};

static int each_client(struct sq *q, sqlite3_stmt *st, void *arg)
{
	struct each_client *e = arg;
	struct st_client *c = malloc(sizeof(*c)); /* 2 KiB, off the stack of a nested walk */
	int ret;

	if (!c)
		return -ENOMEM;
	ret = read_client(q, st, c);
	if (!ret)
		ret = e->cb(e->ctx, c);
	free(c);
	return ret;
}

int sqlite_client_list(struct store *s, int64_t network_id, store_client_cb cb, void *ctx)
{
	struct each_client e = {cb, ctx};

	return sql(sq(s), C_LIST, ALL | FRESH, each_client, &e, I(network_id), END);
}
