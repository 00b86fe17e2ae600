// SPDX-License-Identifier: Apache-2.0
/*
 * The SQLite store engine: one database file DIR/netfn.db in WAL mode with
 * synchronous=FULL, so a committed API write survives kill -9 and power loss,
 * and readers never block the one writer.
 *
 * The schema is versioned by PRAGMA user_version and built by an ordered list
 * of migration steps (store_sqlite_schema.c), each applied in its own
 * transaction; opening an older
 * file walks it forward, opening a newer one is refused so an older binary
 * never writes a schema it does not understand. Transactions start with
 * BEGIN IMMEDIATE: the write lock is taken up front, so two controllers (or
 * two handles) serialise and a read-check-write such as spending a join
 * token's last use cannot interleave.
 *
 * Every statement is a fixed string with bound parameters. Point statements
 * are prepared once and cached in the handle; list statements are prepared
 * per call so that a callback may call back into the store, even into the
 * same list. A handle is used by one thread at a time.
 */
#include "controller/store/store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/store/store_sqlite_int.h"
#include "netfns/common/log.h"

#define DB_FILE "netfn.db"
/* Long enough to ride out another writer's commit with fsync on a slow disk,
 * short enough that a wedged peer shows up as an error rather than a hang. */
#define BUSY_TIMEOUT_MS 5000

#define NET_COLS                                                                                   \
	"id, name, cidr, port, mtu, topology, hub_node_id, hub_name, created, domain, "            \
	"dns_replicas, qos_link_bps"
#define NODE_COLS                                                                                  \
	"id, network_id, name, id_pk, wg_pk, overlay_addr, created, last_seen, last_counter"
#define SEC_COLS "node_id, function, desired_rev, hash, applied_rev, error"
#define JT_COLS  "seq, id, network_id, hash, expires, uses, uses_left, revoked, created"
#define AT_COLS  "id, role, name, hash, revoked, created"
#define AUD_COLS "id, time, actor, method, object, detail"
#define FWP_COLS "id, network_id, name, default_deny, block_ssh, created"
#define FWR_COLS                                                                                   \
	"id, policy_id, position, direction, protocol, src, dst, dst_port, action, rate, "         \
	"log_prefix"

/* Statement ids, one line per record type rather than one per id. */
/* clang-format off */
enum stmt_id {
	S_BEGIN, S_COMMIT, S_ROLLBACK, S_SP_BEGIN, S_SP_RELEASE, S_SP_UNDO, S_VERSION, S_REV_BUMP,
	S_NET_INSERT, S_NET_UPDATE, S_NET_DELETE, S_NET_GET, S_NET_GET_ID, S_NET_LIST,
	S_NODE_INSERT, S_NODE_UPDATE, S_NODE_TOUCH, S_NODE_DELETE, S_NODE_GET, S_NODE_GET_ID,
	S_NODE_GET_KEY, S_NODE_LIST,
	S_NLABEL_DEL, S_NLABEL_ADD, S_NLABEL_GET, S_NEP_DEL, S_NEP_ADD, S_NEP_GET,
	S_SEC_PUT, S_SEC_GET, S_SEC_LIST,
	S_JT_INSERT, S_JT_UPDATE, S_JT_GET, S_JT_GET_HASH, S_JT_LIST,
	S_JLABEL_DEL, S_JLABEL_ADD, S_JLABEL_GET,
	S_AT_INSERT, S_AT_UPDATE, S_AT_GET, S_AT_GET_HASH, S_AT_LIST,
	S_AUDIT_ADD, S_AUDIT_LIST,
	S_FWP_INSERT, S_FWP_UPDATE, S_FWP_DELETE, S_FWP_GET, S_FWP_GET_ID, S_FWP_LIST,
	S_FWLABEL_DEL, S_FWLABEL_ADD, S_FWLABEL_GET,
	S_FWR_INSERT, S_FWR_UPDATE, S_FWR_DELETE, S_FWR_GET, S_FWR_LIST, S_FWR_COUNT,
	S_FWR_SHIFT, S_FWR_UNFLIP,
	S_COUNT
};
/* clang-format on */

/* Each statement with the purpose its error log names. */
static const struct sq_stmt stmts[S_COUNT] = {
    [S_BEGIN] = {"begin", "BEGIN IMMEDIATE"},
    [S_COMMIT] = {"commit", "COMMIT"},
    [S_ROLLBACK] = {"rollback", "ROLLBACK"},
    [S_SP_BEGIN] = {"open savepoint", "SAVEPOINT record"},
    [S_SP_RELEASE] = {"release savepoint", "RELEASE record"},
    [S_SP_UNDO] = {"roll back savepoint", "ROLLBACK TO record"},
    [S_VERSION] = {"read schema version", "PRAGMA user_version"},
    [S_REV_BUMP] = {"bump revision",
                    "UPDATE meta SET value = value + 1 WHERE key = 'revision' RETURNING value"},

    [S_NET_INSERT] = {"insert network",
                      "INSERT INTO networks (name, cidr, port, mtu, topology, hub_node_id, "
                      "hub_name, created, domain, dns_replicas, qos_link_bps) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
    [S_NET_UPDATE] = {"update network",
                      "UPDATE networks SET name = ?, cidr = ?, port = ?, mtu = ?, topology = ?, "
                      "hub_node_id = ?, hub_name = ?, domain = ?, dns_replicas = ?, "
                      "qos_link_bps = ? WHERE id = ?"},
    [S_NET_DELETE] = {"delete network", "DELETE FROM networks WHERE id = ?"},
    [S_NET_GET] = {"get network", "SELECT " NET_COLS " FROM networks WHERE name = ?"},
    [S_NET_GET_ID] = {"get network by id", "SELECT " NET_COLS " FROM networks WHERE id = ?"},
    [S_NET_LIST] = {"list networks", "SELECT " NET_COLS " FROM networks ORDER BY id"},

    [S_NODE_INSERT] = {"insert node",
                       "INSERT INTO nodes (network_id, name, id_pk, wg_pk, overlay_addr, created, "
                       "last_seen, last_counter) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"},
    /* last_seen and last_counter belong to node_touch: a read-modify-write
     * of the rest of the node must not wind the replay counter back. */
    [S_NODE_UPDATE] = {"update node",
                       "UPDATE nodes SET network_id = ?, name = ?, id_pk = ?, wg_pk = ?, "
                       "overlay_addr = ? WHERE id = ?"},
    [S_NODE_TOUCH] = {"touch node",
                      "UPDATE nodes SET last_seen = ?, last_counter = ? WHERE id = ?"},
    [S_NODE_DELETE] = {"delete node", "DELETE FROM nodes WHERE id = ?"},
    [S_NODE_GET] = {"get node",
                    "SELECT " NODE_COLS " FROM nodes WHERE network_id = ? AND name = ?"},
    [S_NODE_GET_ID] = {"get node by id", "SELECT " NODE_COLS " FROM nodes WHERE id = ?"},
    [S_NODE_GET_KEY] = {"get node by key", "SELECT " NODE_COLS " FROM nodes WHERE id_pk = ?"},
    [S_NODE_LIST] = {"list nodes",
                     "SELECT " NODE_COLS " FROM nodes WHERE ?1 = 0 OR network_id = ?1 ORDER BY id"},
    [S_NLABEL_DEL] = {"clear node labels", "DELETE FROM node_labels WHERE node_id = ?"},
    [S_NLABEL_ADD] = {"add node label",
                      "INSERT INTO node_labels (node_id, pos, key, value) VALUES (?, ?, ?, ?)"},
    [S_NLABEL_GET] = {"get node labels",
                      "SELECT key, value FROM node_labels WHERE node_id = ? ORDER BY pos"},
    [S_NEP_DEL] = {"clear node endpoints", "DELETE FROM node_endpoints WHERE node_id = ?"},
    [S_NEP_ADD] = {"add node endpoint",
                   "INSERT INTO node_endpoints (node_id, pos, endpoint) VALUES (?, ?, ?)"},
    [S_NEP_GET] = {"get node endpoints",
                   "SELECT endpoint FROM node_endpoints WHERE node_id = ? ORDER BY pos"},

    [S_SEC_PUT] = {"put section", "INSERT INTO sections (" SEC_COLS ") VALUES (?, ?, ?, ?, ?, ?) "
                                  "ON CONFLICT (node_id, function) DO UPDATE SET "
                                  "desired_rev = excluded.desired_rev, hash = excluded.hash, "
                                  "applied_rev = excluded.applied_rev, error = excluded.error"},
    [S_SEC_GET] = {"get section",
                   "SELECT " SEC_COLS " FROM sections WHERE node_id = ? AND function = ?"},
    [S_SEC_LIST] = {"list sections",
                    "SELECT " SEC_COLS " FROM sections WHERE node_id = ? ORDER BY function"},

    [S_JT_INSERT] = {"insert join token",
                     "INSERT INTO join_tokens (id, network_id, hash, expires, uses, uses_left, "
                     "revoked, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"},
    [S_JT_UPDATE] = {"update join token",
                     "UPDATE join_tokens SET network_id = ?, hash = ?, expires = ?, uses = ?, "
                     "uses_left = ?, revoked = ? WHERE id = ? RETURNING seq"},
    [S_JT_GET] = {"get join token", "SELECT " JT_COLS " FROM join_tokens WHERE id = ?"},
    [S_JT_GET_HASH] = {"get join token by hash",
                       "SELECT " JT_COLS " FROM join_tokens WHERE hash = ?"},
    [S_JT_LIST] = {"list join tokens", "SELECT " JT_COLS " FROM join_tokens ORDER BY id"},
    [S_JLABEL_DEL] = {"clear join token labels",
                      "DELETE FROM join_token_labels WHERE token_seq = ?"},
    [S_JLABEL_ADD] = {"add join token label",
                      "INSERT INTO join_token_labels (token_seq, pos, key, value) "
                      "VALUES (?, ?, ?, ?)"},
    [S_JLABEL_GET] = {"get join token labels",
                      "SELECT key, value FROM join_token_labels WHERE token_seq = ? "
                      "ORDER BY pos"},

    [S_AT_INSERT] = {"insert api token",
                     "INSERT INTO api_tokens (" AT_COLS ") VALUES (?, ?, ?, ?, ?, ?)"},
    [S_AT_UPDATE] = {"update api token",
                     "UPDATE api_tokens SET role = ?, name = ?, hash = ?, revoked = ? "
                     "WHERE id = ?"},
    [S_AT_GET] = {"get api token", "SELECT " AT_COLS " FROM api_tokens WHERE id = ?"},
    [S_AT_GET_HASH] = {"get api token by hash",
                       "SELECT " AT_COLS " FROM api_tokens WHERE hash = ?"},
    [S_AT_LIST] = {"list api tokens", "SELECT " AT_COLS " FROM api_tokens ORDER BY id"},

    [S_AUDIT_ADD] = {"add audit entry", "INSERT INTO audit (time, actor, method, object, detail) "
                                        "VALUES (?, ?, ?, ?, ?)"},
    [S_AUDIT_LIST] = {"list audit entries",
                      "SELECT " AUD_COLS " FROM audit ORDER BY id DESC LIMIT ?"},

    [S_FWP_INSERT] = {"insert firewall policy",
                      "INSERT INTO fw_policies (network_id, name, default_deny, block_ssh, "
                      "created) VALUES (?, ?, ?, ?, ?)"},
    [S_FWP_UPDATE] = {"update firewall policy",
                      "UPDATE fw_policies SET name = ?, default_deny = ?, block_ssh = ? "
                      "WHERE id = ?"},
    [S_FWP_DELETE] = {"delete firewall policy", "DELETE FROM fw_policies WHERE id = ?"},
    [S_FWP_GET] = {"get firewall policy",
                   "SELECT " FWP_COLS " FROM fw_policies WHERE network_id = ? AND name = ?"},
    [S_FWP_GET_ID] = {"get firewall policy by id",
                      "SELECT " FWP_COLS " FROM fw_policies WHERE id = ?"},
    [S_FWP_LIST] = {"list firewall policies",
                    "SELECT " FWP_COLS " FROM fw_policies WHERE ?1 = 0 OR network_id = ?1 "
                    "ORDER BY id"},
    [S_FWLABEL_DEL] = {"clear firewall policy selector",
                       "DELETE FROM fw_policy_labels WHERE policy_id = ?"},
    [S_FWLABEL_ADD] = {"add firewall policy selector label",
                       "INSERT INTO fw_policy_labels (policy_id, pos, key, value) "
                       "VALUES (?, ?, ?, ?)"},
    [S_FWLABEL_GET] = {"get firewall policy selector",
                       "SELECT key, value FROM fw_policy_labels WHERE policy_id = ? "
                       "ORDER BY pos"},
    [S_FWR_INSERT] = {"insert firewall rule",
                      "INSERT INTO fw_rules (policy_id, position, direction, protocol, src, "
                      "dst, dst_port, action, rate, log_prefix) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
    [S_FWR_UPDATE] = {"update firewall rule",
                      "UPDATE fw_rules SET direction = ?, protocol = ?, src = ?, dst = ?, "
                      "dst_port = ?, action = ?, rate = ?, log_prefix = ? WHERE id = ?"},
    [S_FWR_DELETE] = {"delete firewall rule", "DELETE FROM fw_rules WHERE id = ?"},
    [S_FWR_GET] = {"get firewall rule", "SELECT " FWR_COLS " FROM fw_rules WHERE id = ?"},
    [S_FWR_LIST] = {"list firewall rules",
                    "SELECT " FWR_COLS " FROM fw_rules WHERE policy_id = ? ORDER BY position"},
    [S_FWR_COUNT] = {"count firewall rules", "SELECT count(*) FROM fw_rules WHERE policy_id = ?"},
    /* Moving rules by one happens in two steps, through negative
     * positions: SQLite checks UNIQUE (policy_id, position) row by row, so
     * a plain position + 1 could collide with the next row mid-update. */
    [S_FWR_SHIFT] = {"move firewall rules", "UPDATE fw_rules SET position = -(position + ?3) "
                                            "WHERE policy_id = ?1 AND position >= ?2"},
    [S_FWR_UNFLIP] = {"move firewall rules back", "UPDATE fw_rules SET position = -position "
                                                  "WHERE policy_id = ?1 AND position < 0"},
};

struct sq {
	struct store base; /* first: the interface sees only this */
	sqlite3 *db;
	char path[PATH_MAX];
	sqlite3_stmt *cache[S_COUNT];
	sqlite3_stmt *ext[SQ_EXT_STMTS]; /* the other files' (store_sqlite_int.h) */
};

static struct sq *sq(struct store *s)
{
	return (struct sq *)s;
}

/* The parameter tags, sql() modes and readers are in store_sqlite_int.h. */

/* Maps a failed step to the interface's errno, logging what is not the
 * caller's to report. */
static int fail(struct sq *q, int rc, const struct sq_stmt *def)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return -EEXIST;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		/* Deleting a network trips its nodes' key; anything else
		 * referred to a record that does not exist. */
		return def == &stmts[S_NET_DELETE] ? -ENOTEMPTY : -ENOENT;
	}
	nf_err("store: %s failed: %s (%s)", def->what, sqlite3_errmsg(q->db), q->path);
	return -EIO;
}

/* A cached statement from its slot, or a fresh one (slot NULL). */
static int prepare(struct sq *q, const struct sq_stmt *def, sqlite3_stmt **slot, sqlite3_stmt **out)
{
	if (slot && *slot) {
		*out = *slot;
		return 0;
	}
	if (sqlite3_prepare_v3(q->db, def->sql, -1, slot ? SQLITE_PREPARE_PERSISTENT : 0, out,
	                       NULL) != SQLITE_OK) {
		nf_err("store: prepare %s: %s", def->what, sqlite3_errmsg(q->db));
		return -EIO;
	}
	if (slot)
		*slot = *out;
	return 0;
}

/* Binds a fixed-size field no further than its size: upstream validation
 * should have terminated it, but an unterminated one is never over-read.
 * SQLITE_STATIC is safe because every statement is reset and its bindings
 * cleared before sql() returns. */
static int bind_params(sqlite3_stmt *st, va_list ap)
{
	int rc = SQLITE_OK;

	for (int i = 1, tag; rc == SQLITE_OK && (tag = va_arg(ap, int)) != END; i++) {
		const void *p;
		size_t n;

		switch (tag) {
		case P_I64:
			rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
			break;
		case P_TEXT:
			p = va_arg(ap, const char *);
			n = va_arg(ap, size_t);
			rc = sqlite3_bind_text(st, i, p, (int)strnlen(p, n), SQLITE_STATIC);
			break;
		case P_BLOB:
			p = va_arg(ap, const void *);
			n = va_arg(ap, size_t);
			rc = sqlite3_bind_blob(st, i, p, (int)n, SQLITE_STATIC);
			break;
		default:
			rc = SQLITE_MISUSE;
		}
	}
	return rc;
}

/*
 * Every statement of the engine goes through here, so each is reset (ending
 * its read of the file) whatever happens.
 */
int sq_vsql(struct sq *q, const struct sq_stmt *def, sqlite3_stmt **slot, unsigned mode,
            reader read, void *out, va_list ap)
{
	sqlite3_stmt *st = NULL;
	bool any = false;
	int ret, rc;

	ret = prepare(q, def, mode & FRESH ? NULL : slot, &st);
	if (ret)
		return ret;
	rc = bind_params(st, ap);
	if (rc != SQLITE_OK) {
		ret = fail(q, rc, def);
		goto cleanup;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		any = true;
		if (read) {
			ret = read(q, st, out);
			if (ret)
				goto cleanup;
		}
		if (!(mode & ALL))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = fail(q, rc, def);
	else if ((mode & ONE) && !any)
		ret = -ENOENT;
	else if ((mode & CHANGE) && sqlite3_changes(q->db) == 0)
		ret = -ENOENT;
cleanup:
	if (mode & FRESH) {
		sqlite3_finalize(st);
	} else {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	return ret;
}

/*
 * Runs statement id with the parameters that follow (ending in END), handing
 * rows to read(q, st, out) as mode says.
 */
static int sql(struct sq *q, enum stmt_id id, unsigned mode, reader read, void *out, ...)
{
	va_list ap;
	int ret;

	va_start(ap, out);
	ret = sq_vsql(q, &stmts[id], &q->cache[id], mode, read, out, ap);
	va_end(ap);
	return ret;
}

/* Runs a statement that has neither parameters nor rows. */
static int run(struct sq *q, enum stmt_id id)
{
	return sql(q, id, 0, NULL, NULL, END);
}

/* Copies a text column into a fixed field, truncating and terminating. */
static void col_str(sqlite3_stmt *st, int i, char *buf, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	size_t n = t ? (size_t)sqlite3_column_bytes(st, i) : 0;

	if (n >= size)
		n = size - 1;
	if (n)
		memcpy(buf, t, n);
	buf[n] = '\0';
}

/* Copies a blob column into a fixed field; a short blob leaves zeros. */
static void col_blob(sqlite3_stmt *st, int i, uint8_t *buf, size_t len)
{
	const void *b = sqlite3_column_blob(st, i);
	size_t n = b ? (size_t)sqlite3_column_bytes(st, i) : 0;

	memset(buf, 0, len);
	if (n > len)
		n = len;
	if (n)
		memcpy(buf, b, n);
}

static int read_i64(struct sq *q, sqlite3_stmt *st, void *out)
{
	(void)q;
	*(int64_t *)out = sqlite3_column_int64(st, 0);
	return 0;
}

/*
 * Records that span several tables (a node and its labels) are written under
 * a savepoint, so a failure leaves neither half behind even outside
 * store_begin, and the caller's transaction stays usable.
 */
static int sp_end(struct sq *q, int ret)
{
	if (!ret)
		return run(q, S_SP_RELEASE);
	/* ROLLBACK TO keeps the savepoint open; RELEASE then drops it. If the
	 * engine already rolled the whole transaction back, both fail
	 * harmlessly and the caller's rollback finds nothing to do. */
	if (!run(q, S_SP_UNDO))
		run(q, S_SP_RELEASE);
	return ret;
}

/* ---- for the engine's other files (store_sqlite_int.h) ---- */

sqlite3_stmt **sq_ext_slot(struct sq *q, unsigned i)
{
	return &q->ext[i];
}

int64_t sq_last_id(struct sq *q)
{
	return sqlite3_last_insert_rowid(q->db);
}

int sq_savepoint(struct sq *q)
{
	return run(q, S_SP_BEGIN);
}

int sq_savepoint_end(struct sq *q, int ret)
{
	return sp_end(q, ret);
}

void sq_col_str(sqlite3_stmt *st, int i, char *buf, size_t size)
{
	col_str(st, i, buf, size);
}

void sq_col_label(sqlite3_stmt *st, int i, struct st_label *l, size_t *n)
{
	if (*n == ST_MAX_LABELS)
		return; /* the writer never stores more */
	col_str(st, i, l[*n].key, sizeof(l[0].key));
	col_str(st, i + 1, l[*n].value, sizeof(l[0].value));
	(*n)++;
}

/* ---- opening, migrations, transactions ---- */

static int exec_sql(struct sq *q, const char *text, const char *what)
{
	char *msg = NULL;

	if (sqlite3_exec(q->db, text, NULL, NULL, &msg) != SQLITE_OK) {
		nf_err("store: %s failed: %s (%s)", what, msg ? msg : sqlite3_errmsg(q->db),
		       q->path);
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static int read_version(struct sq *q, int *out)
{
	int64_t v = 0;
	int ret = sql(q, S_VERSION, ONE, read_i64, &v, END);

	*out = (int)v;
	return ret == -ENOENT ? -EIO : ret;
}

/*
 * Applies one step at a time, each in its own transaction, re-reading the
 * version under the write lock so two controllers opening the same old file
 * at once apply each step exactly once.
 */
static int migrate(struct sq *q)
{
	char text[64];
	int version = 0;
	int ret;

	for (;;) {
		ret = run(q, S_BEGIN);
		if (ret)
			return ret;
		ret = read_version(q, &version);
		if (ret)
			goto cleanup;
		if (version < 0 || version > sq_schema_version) {
			nf_err("store: %s has schema version %d but this build knows up to %d; "
			       "refusing to open it (upgrade netfn-controller)",
			       q->path, version, sq_schema_version);
			ret = -EPROTO;
			goto cleanup;
		}
		if (version == sq_schema_version)
			return run(q, S_COMMIT);

		ret = exec_sql(q, sq_migrations[version].sql, sq_migrations[version].what);
		if (ret)
			goto cleanup;
		/* PRAGMA takes no bound parameters; the number is the step's
		 * own, never input. user_version is part of the transaction. */
		snprintf(text, sizeof(text), "PRAGMA user_version = %d", version + 1);
		ret = exec_sql(q, text, "set schema version");
		if (ret)
			goto cleanup;
		ret = run(q, S_COMMIT);
		if (ret)
			goto cleanup;
		nf_info("store: %s migrated to schema version %d (%s)", q->path, version + 1,
		        sq_migrations[version].what);
	}
cleanup:
	if (!sqlite3_get_autocommit(q->db))
		run(q, S_ROLLBACK);
	return ret;
}

/* Sets a pragma that answers with its new value and checks it took: a
 * build or file system without WAL or foreign keys must not silently lose
 * durability or integrity. */
static int pragma(struct sq *q, const char *text, const char *want)
{
	sqlite3_stmt *st = NULL;
	const char *got = NULL;
	int ret = 0;

	if (sqlite3_prepare_v2(q->db, text, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		got = (const char *)sqlite3_column_text(st, 0);
	if (!got || strcmp(got, want) != 0) {
		nf_err("store: %s gave %s, not %s: %s (%s)", text, got ? got : "nothing", want,
		       sqlite3_errmsg(q->db), q->path);
		ret = -EIO;
	}
	sqlite3_finalize(st);
	return ret;
}

static void sqlite_close(struct store *s)
{
	struct sq *q = sq(s);

	if (!q)
		return;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(q->cache[i]);
	for (int i = 0; i < SQ_EXT_STMTS; i++)
		sqlite3_finalize(q->ext[i]);
	/* Closing with a transaction open rolls it back, which is what an
	 * abandoned transaction must do. */
	if (q->db && sqlite3_close(q->db) != SQLITE_OK)
		nf_err("store: close %s: %s", q->path, sqlite3_errmsg(q->db));
	free(q);
}

static int sqlite_open(const char *dir, struct store **out)
{
	struct sq *q = NULL;
	int ret, fd, n;

	*out = NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->base.ops = &store_sqlite_ops;
	n = snprintf(q->path, sizeof(q->path), "%s/%s", dir, DB_FILE);
	if (n < 0 || (size_t)n >= sizeof(q->path)) {
		ret = -ENAMETOOLONG;
		goto cleanup;
	}
	/* The file holds token hashes: create it private. SQLite gives the
	 * -wal and -shm files the database file's mode. */
	fd = open(q->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		nf_err("store: open %s: %s", q->path, strerror(errno));
		goto cleanup;
	}
	close(fd);

	if (sqlite3_open_v2(q->path, &q->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		nf_err("store: open %s: %s", q->path,
		       q->db ? sqlite3_errmsg(q->db) : "out of memory");
		ret = -EIO;
		goto cleanup;
	}
	/* fail() tells UNIQUE from FOREIGN KEY by the extended code. */
	sqlite3_extended_result_codes(q->db, 1);
	/* First, so that switching to WAL and migrating wait out a peer. */
	sqlite3_busy_timeout(q->db, BUSY_TIMEOUT_MS);
	ret = pragma(q, "PRAGMA journal_mode = WAL", "wal");
	if (ret)
		goto cleanup;
	ret = exec_sql(q, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", "set pragmas");
	if (ret)
		goto cleanup;
	ret = pragma(q, "PRAGMA foreign_keys", "1");
	if (ret)
		goto cleanup;
	ret = migrate(q);
	if (ret)
		goto cleanup;

	nf_info("store: opened %s (sqlite %s, schema version %d)", q->path, sqlite3_libversion(),
	        sq_schema_version);
	*out = &q->base;
	q = NULL;
cleanup:
	sqlite_close(q ? &q->base : NULL);
	return ret;
}

static int sqlite_begin(struct store *s)
{
	return run(sq(s), S_BEGIN);
}

static void sqlite_rollback(struct store *s)
{
	struct sq *q = sq(s);

	/* A failed COMMIT or statement may already have ended it. */
	if (!sqlite3_get_autocommit(q->db))
		run(q, S_ROLLBACK);
}

static int sqlite_commit(struct store *s)
{
	int ret = run(sq(s), S_COMMIT);

	/* Never leave a transaction open behind a failed commit: the caller
	 * gets the error and the store is back at its last committed state. */
	if (ret)
		sqlite_rollback(s);
	return ret;
}

static int sqlite_schema_version(struct store *s, int *out)
{
	return read_version(sq(s), out);
}

static int sqlite_next_revision(struct store *s, uint64_t *out)
{
	struct sq *q = sq(s);
	int64_t rev = 0;
	int ret;

	/* Outside a transaction the bump would commit on its own, apart from
	 * the change it numbers. */
	if (sqlite3_get_autocommit(q->db)) {
		nf_err("store: next_revision called outside a transaction (%s)", q->path);
		return -EINVAL;
	}
	ret = sql(q, S_REV_BUMP, ONE, read_i64, &rev, END);
	if (ret == -ENOENT) {
		nf_err("store: revision counter missing from %s", q->path);
		ret = -EIO;
	}
	if (!ret)
		*out = (uint64_t)rev;
	return ret;
}

/*
 * List callbacks: the reader builds the record in a local and hands it on,
 * so a callback may call back into the store (list statements are FRESH).
 */
struct each {
	union {
		store_network_cb network;
		store_node_cb node;
		store_section_cb section;
		store_join_token_cb join_token;
		store_api_token_cb api_token;
		store_audit_cb audit;
		store_fw_policy_cb fw_policy;
		store_fw_rule_cb fw_rule;
	} cb;
	void *ctx;
};

/* ---- networks ---- */

static int read_network(struct sq *q, sqlite3_stmt *st, void *out)
{
	struct st_network *n = out;

	(void)q;
	memset(n, 0, sizeof(*n));
	n->id = sqlite3_column_int64(st, 0);
	col_str(st, 1, n->name, sizeof(n->name));
	col_str(st, 2, n->cidr, sizeof(n->cidr));
	n->port = (uint16_t)sqlite3_column_int(st, 3);
	n->mtu = (uint32_t)sqlite3_column_int64(st, 4);
	col_str(st, 5, n->topology, sizeof(n->topology));
	n->hub_node_id = sqlite3_column_int64(st, 6);
	col_str(st, 7, n->hub_name, sizeof(n->hub_name));
	n->created = sqlite3_column_int64(st, 8);
	col_str(st, 9, n->domain, sizeof(n->domain));
	n->dns_replicas = (uint32_t)sqlite3_column_int64(st, 10);
	n->qos_link_bps = (uint64_t)sqlite3_column_int64(st, 11);
	return 0;
}

static int sqlite_network_insert(struct store *s, struct st_network *n)
{
	struct sq *q = sq(s);
	int ret;

	ret = sql(q, S_NET_INSERT, 0, NULL, NULL, T(n->name), T(n->cidr), I(n->port), I(n->mtu),
	          T(n->topology), I(n->hub_node_id), T(n->hub_name), I(n->created), T(n->domain),
	          I(n->dns_replicas), I(n->qos_link_bps), END);
	if (!ret)
		n->id = sqlite3_last_insert_rowid(q->db);
	return ret;
}

static int sqlite_network_update(struct store *s, const struct st_network *n)
{
	return sql(sq(s), S_NET_UPDATE, CHANGE, NULL, NULL, T(n->name), T(n->cidr), I(n->port),
	           I(n->mtu), T(n->topology), I(n->hub_node_id), T(n->hub_name), T(n->domain),
	           I(n->dns_replicas), I(n->qos_link_bps), I(n->id), END);
}

static int sqlite_network_delete(struct store *s, int64_t id)
{
	/* Its nodes' foreign key refuses (-ENOTEMPTY, see fail()); its join
	 * tokens, policies, load balancers (with their placements), DNS records,
	 * DNS placements and clients (with their placements) go with it. */
	return sql(sq(s), S_NET_DELETE, CHANGE, NULL, NULL, I(id), END);
}

static int sqlite_network_get(struct store *s, const char *name, struct st_network *out)
{
	return sql(sq(s), S_NET_GET, ONE, read_network, out, TP(name, ST_NAME_MAX), END);
}

static int sqlite_network_get_id(struct store *s, int64_t id, struct st_network *out)
{
	return sql(sq(s), S_NET_GET_ID, ONE, read_network, out, I(id), END);
}

static int each_network(struct sq *q, sqlite3_stmt *st, void *arg)
{
	struct each *e = arg;
	struct st_network n;

	read_network(q, st, &n);
	return e->cb.network(e->ctx, &n);
}

static int sqlite_network_list(struct store *s, store_network_cb cb, void *ctx)
{
	struct each e = {.cb.network = cb, .ctx = ctx};

	return sql(sq(s), S_NET_LIST, ALL | FRESH, each_network, &e, END);
}

/* ---- labels and endpoints ---- */

struct labels {
	struct st_label *l;
	size_t *n;
};

static int read_label(struct sq *q, sqlite3_stmt *st, void *arg)
{
	struct labels *ls = arg;

	(void)q;
	sq_col_label(st, 0, ls->l, ls->n);
	return 0;
}

static int labels_get(struct sq *q, enum stmt_id id, int64_t owner, struct st_label *l, size_t *n)
{
	struct labels ls = {l, n};

	*n = 0;
	return sql(q, id, ALL, read_label, &ls, I(owner), END);
}

/* Replaces owner's labels, keeping their order in pos. */
static int labels_put(struct sq *q, enum stmt_id del, enum stmt_id add, int64_t owner,
                      const struct st_label *l, size_t n)
{
	int ret = sql(q, del, 0, NULL, NULL, I(owner), END);

	for (size_t i = 0; i < n && !ret; i++)
		ret = sql(q, add, 0, NULL, NULL, I(owner), I(i), T(l[i].key), T(l[i].value), END);
	return ret;
}

static int read_endpoint(struct sq *q, sqlite3_stmt *st, void *arg)
{
	struct st_node *n = arg;

	(void)q;
	if (n->n_endpoints == ST_MAX_ENDPOINTS)
		return 0;
	col_str(st, 0, n->endpoints[n->n_endpoints], sizeof(n->endpoints[0]));
	n->n_endpoints++;
	return 0;
}

/* ---- nodes ---- */

/* Reads a node row, then its labels and endpoints. */
static int read_node(struct sq *q, sqlite3_stmt *st, void *out)
{
	struct st_node *n = out;
	int ret;

	memset(n, 0, sizeof(*n));
	n->id = sqlite3_column_int64(st, 0);
	n->network_id = sqlite3_column_int64(st, 1);
	col_str(st, 2, n->name, sizeof(n->name));
	col_blob(st, 3, n->id_pk, sizeof(n->id_pk));
	col_blob(st, 4, n->wg_pk, sizeof(n->wg_pk));
	n->overlay_addr = htonl((uint32_t)sqlite3_column_int64(st, 5));
	n->created = sqlite3_column_int64(st, 6);
	n->last_seen = sqlite3_column_int64(st, 7);
	n->last_counter = (uint64_t)sqlite3_column_int64(st, 8);

	ret = labels_get(q, S_NLABEL_GET, n->id, n->labels, &n->n_labels);
	if (ret)
		return ret;
	return sql(q, S_NEP_GET, ALL, read_endpoint, n, I(n->id), END);
}

/* Writes node id's labels and endpoints from n, replacing what it had. */
static int node_children_put(struct sq *q, int64_t id, const struct st_node *n)
{
	int ret = labels_put(q, S_NLABEL_DEL, S_NLABEL_ADD, id, n->labels, n->n_labels);

	if (!ret)
		ret = sql(q, S_NEP_DEL, 0, NULL, NULL, I(id), END);
	for (size_t i = 0; i < n->n_endpoints && !ret; i++)
		ret = sql(q, S_NEP_ADD, 0, NULL, NULL, I(id), I(i), T(n->endpoints[i]), END);
	return ret;
}

static int sqlite_node_insert(struct store *s, struct st_node *n)
{
	struct sq *q = sq(s);
	int64_t id;
	int ret;

	if (n->n_labels > ST_MAX_LABELS || n->n_endpoints > ST_MAX_ENDPOINTS)
		return -EINVAL;
	ret = run(q, S_SP_BEGIN);
	if (ret)
		return ret;
	/* The overlay address is stored in host order so it sorts as a
	 * number and the file does not depend on the host's byte order. */
	ret = sql(q, S_NODE_INSERT, 0, NULL, NULL, I(n->network_id), T(n->name), B(n->id_pk),
	          B(n->wg_pk), I(ntohl(n->overlay_addr)), I(n->created), I(n->last_seen),
	          I(n->last_counter), END);
	id = sqlite3_last_insert_rowid(q->db);
	if (!ret)
		ret = node_children_put(q, id, n);
	ret = sp_end(q, ret);
	if (!ret)
		n->id = id;
	return ret;
}

static int sqlite_node_update(struct store *s, const struct st_node *n)
{
	struct sq *q = sq(s);
	int ret;

	if (n->n_labels > ST_MAX_LABELS || n->n_endpoints > ST_MAX_ENDPOINTS)
		return -EINVAL;
	ret = run(q, S_SP_BEGIN);
	if (ret)
		return ret;
	ret = sql(q, S_NODE_UPDATE, CHANGE, NULL, NULL, I(n->network_id), T(n->name), B(n->id_pk),
	          B(n->wg_pk), I(ntohl(n->overlay_addr)), I(n->id), END);
	if (!ret)
		ret = node_children_put(q, n->id, n);
	return sp_end(q, ret);
}

static int sqlite_node_touch(struct store *s, int64_t id, int64_t last_seen, uint64_t counter)
{
	return sql(sq(s), S_NODE_TOUCH, CHANGE, NULL, NULL, I(last_seen), I(counter), I(id), END);
}

static int sqlite_node_delete(struct store *s, int64_t id)
{
	/* Labels, endpoints and sections go with it (ON DELETE CASCADE). */
	return sql(sq(s), S_NODE_DELETE, CHANGE, NULL, NULL, I(id), END);
}

static int sqlite_node_get(struct store *s, int64_t network_id, const char *name,
                           struct st_node *out)
{
	return sql(sq(s), S_NODE_GET, ONE, read_node, out, I(network_id), TP(name, ST_NAME_MAX),
	           END);
}

static int sqlite_node_get_id(struct store *s, int64_t id, struct st_node *out)
{
	return sql(sq(s), S_NODE_GET_ID, ONE, read_node, out, I(id), END);
}

static int sqlite_node_get_key(struct store *s, const uint8_t id_pk[ST_KEY_LEN],
                               struct st_node *out)
{
	return sql(sq(s), S_NODE_GET_KEY, ONE, read_node, out, BP(id_pk, ST_KEY_LEN), END);
}

static int each_node(struct sq *q, sqlite3_stmt *st, void *arg)
{
	struct each *e = arg;
	struct st_node n;
	int ret = read_node(q, st, &n);

	return ret ? ret : e->cb.node(e->ctx, &n);
}

static int sqlite_node_list(struct store *s, int64_t network_id, store_node_cb cb, void *ctx)
{
	struct each e = {.cb.node = cb, .ctx = ctx};

	return sql(sq(s), S_NODE_LIST, ALL | FRESH, each_node, &e, I(network_id), END);
}

/* ---- sections ---- */

static int read_section(struct sq *q, sqlite3_stmt *st, void *out)
{
	struct st_section *sec = out;

	(void)q;
	memset(sec, 0, sizeof(*sec));
	sec->node_id = sqlite3_column_int64(st, 0);
	col_str(st, 1, sec->function, sizeof(sec->function));
	sec->desired_rev = (uint64_t)sqlite3_column_int64(st, 2);
	col_blob(st, 3, sec->hash, sizeof(sec->hash));
	sec->applied_rev = (uint64_t)sqlite3_column_int64(st, 4);
	col_str(st, 5, sec->error, sizeof(sec->error));
	return 0;
}

static int sqlite_section_put(struct store *s, const struct st_section *sec)
{
	/* A node that does not exist trips the foreign key: -ENOENT. */
	return sql(sq(s), S_SEC_PUT, 0, NULL, NULL, I(sec->node_id), T(sec->function),
	           I(sec->desired_rev), B(sec->hash), I(sec->applied_rev), T(sec->error), END);
}

static int sqlite_section_get(struct store *s, int64_t node_id, const char *function,
                              struct st_section *out)
{
	return sql(sq(s), S_SEC_GET, ONE, read_section, out, I(node_id), TP(function, ST_FUNC_MAX),
	           END);
}

static int each_section(struct sq *q, sqlite3_stmt *st, void *arg)
{
	struct each *e = arg;
	struct st_section sec;

	read_section(q, st, &sec);
	return e->cb.section(e->ctx, &sec);
}

static int sqlite_section_list(struct store *s, int64_t node_id, store_section_cb cb, void *ctx)
{
	struct each e = {.cb.section = cb, .ctx = ctx};

	return sql(sq(s), S_SEC_LIST, ALL | FRESH, each_section, &e, I(node_id), END);
}

/* ---- join tokens ---- */

/* Reads a join token row and its labels, which hang off the row's seq. */
static int read_join_token(struct sq *q, sqlite3_stmt *st, void *out)
{
	struct st_join_token *t = out;

	memset(t, 0, sizeof(*t));
	col_str(st, 1, t->id, sizeof(t->id));
	t->network_id = sqlite3_column_int64(st, 2);
	col_blob(st, 3, t->hash, sizeof(t->hash));
	t->expires = sqlite3_column_int64(st, 4);
	t->uses = (uint32_t)sqlite3_column_int64(st, 5);
	t->uses_left = (uint32_t)sqlite3_column_int64(st, 6);
	t->revoked = sqlite3_column_int(st, 7) != 0;
	t->created = sqlite3_column_int64(st, 8);
	return labels_get(q, S_JLABEL_GET, sqlite3_column_int64(st, 0), t->labels, &t->n_labels);
}

/* Inserts or updates a join token and replaces its labels. */
static int join_token_write(struct sq *q, const struct st_join_token *t, bool insert)
{
	int64_t seq = 0;
	int ret;

	if (t->n_labels > ST_MAX_LABELS)
		return -EINVAL;
	ret = run(q, S_SP_BEGIN);
	if (ret)
		return ret;
	if (insert) {
		ret = sql(q, S_JT_INSERT, 0, NULL, NULL, T(t->id), I(t->network_id), B(t->hash),
		          I(t->expires), I(t->uses), I(t->uses_left), I(t->revoked), I(t->created),
		          END);
		seq = sqlite3_last_insert_rowid(q->db);
	} else {
		/* RETURNING seq: no row means no such token. */
		ret = sql(q, S_JT_UPDATE, ONE, read_i64, &seq, I(t->network_id), B(t->hash),
		          I(t->expires), I(t->uses), I(t->uses_left), I(t->revoked), T(t->id), END);
	}
	if (!ret)
		ret = labels_put(q, S_JLABEL_DEL, S_JLABEL_ADD, seq, t->labels, t->n_labels);
	return sp_end(q, ret);
}

static int sqlite_join_token_insert(struct store *s, const struct st_join_token *t)
{
	return join_token_write(sq(s), t, true);
}

static int sqlite_join_token_update(struct store *s, const struct st_join_token *t)
{
	return join_token_write(sq(s), t, false);
}

static int sqlite_join_token_get(struct store *s, const char *id, struct st_join_token *out)
{
	return sql(sq(s), S_JT_GET, ONE, read_join_token, out, TP(id, ST_ID_MAX), END);
}

static int sqlite_join_token_get_hash(struct store *s, const uint8_t hash[ST_HASH_LEN],
                                      struct st_join_token *out)
{
	return sql(sq(s), S_JT_GET_HASH, ONE, read_join_token, out, BP(hash, ST_HASH_LEN), END);
}

static int each_join_token(struct sq *q, sqlite3_stmt *st, void *arg)
{
	struct each *e = arg;
	struct st_join_token t;
	int ret = read_join_token(q, st, &t);

	return ret ? ret : e->cb.join_token(e->ctx, &t);
}

static int sqlite_join_token_list(struct store *s, store_join_token_cb cb, void *ctx)
{
	struct each e = {.cb.join_token = cb, .ctx = ctx};

	return sql(sq(s), S_JT_LIST, ALL | FRESH, each_join_token, &e, END);
}

/* ---- api tokens ---- */

static int read_api_token(struct sq *q, sqlite3_stmt *st, void *out)
{
	struct st_api_token *t = out;

	(void)q;
	memset(t, 0, sizeof(*t));
	col_str(st, 0, t->id, sizeof(t->id));
	col_str(st, 1, t->role, sizeof(t->role));
	col_str(st, 2, t->name, sizeof(t->name));
	col_blob(st, 3, t->hash, sizeof(t->hash));
	t->revoked = sqlite3_column_int(st, 4) != 0;
	t->created = sqlite3_column_int64(st, 5);
	return 0;
}

static int sqlite_api_token_insert(struct store *s, const struct st_api_token *t)
{
	return sql(sq(s), S_AT_INSERT, 0, NULL, NULL, T(t->id), T(t->role), T(t->name), B(t->hash),
	           I(t->revoked), I(t->created), END);
}

static int sqlite_api_token_update(struct store *s, const struct st_api_token *t)
{
	return sql(sq(s), S_AT_UPDATE, CHANGE, NULL, NULL, T(t->role), T(t->name), B(t->hash),
	           I(t->revoked), T(t->id), END);
}

static int sqlite_api_token_get_hash(struct store *s, const uint8_t hash[ST_HASH_LEN],
                                     struct st_api_token *out)
{
	return sql(sq(s), S_AT_GET_HASH, ONE, read_api_token, out, BP(hash, ST_HASH_LEN), END);
}

static int sqlite_api_token_get(struct store *s, const char *id, struct st_api_token *out)
{
	return sql(sq(s), S_AT_GET, ONE, read_api_token, out, TP(id, ST_ID_MAX), END);
}

static int each_api_token(struct sq *q, sqlite3_stmt *st, void *arg)
{
	struct each *e = arg;
	struct st_api_token t;

	read_api_token(q, st, &t);
	return e->cb.api_token(e->ctx, &t);
}

static int sqlite_api_token_list(struct store *s, store_api_token_cb cb, void *ctx)
{
	struct each e = {.cb.api_token = cb, .ctx = ctx};

	return sql(sq(s), S_AT_LIST, ALL | FRESH, each_api_token, &e, END);
}

/* ---- audit ---- */

static int sqlite_audit_add(struct store *s, struct st_audit *a)
{
	struct sq *q = sq(s);
	int ret;

	ret = sql(q, S_AUDIT_ADD, 0, NULL, NULL, I(a->time), T(a->actor), T(a->method),
	          T(a->object), T(a->detail), END);
	if (!ret)
		a->id = sqlite3_last_insert_rowid(q->db);
	return ret;
}

static int each_audit(struct sq *q, sqlite3_stmt *st, void *arg)
{
	struct each *e = arg;
	struct st_audit a;

	(void)q;
	memset(&a, 0, sizeof(a));
	a.id = sqlite3_column_int64(st, 0);
	a.time = sqlite3_column_int64(st, 1);
	col_str(st, 2, a.actor, sizeof(a.actor));
	col_str(st, 3, a.method, sizeof(a.method));
	col_str(st, 4, a.object, sizeof(a.object));
	col_str(st, 5, a.detail, sizeof(a.detail));
	return e->cb.audit(e->ctx, &a);
}

static int sqlite_audit_list(struct store *s, uint32_t limit, store_audit_cb cb, void *ctx)
{
	struct each e = {.cb.audit = cb, .ctx = ctx};

	/* Newest first, limit entries (0: none). */
	return sql(sq(s), S_AUDIT_LIST, ALL | FRESH, each_audit, &e, I(limit), END);
}

/* ---- firewall ---- */

static int read_fw_policy(struct sq *q, sqlite3_stmt *st, void *out)
{
	struct st_fw_policy *p = out;

	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(st, 0);
	p->network_id = sqlite3_column_int64(st, 1);
	col_str(st, 2, p->name, sizeof(p->name));
	p->default_deny = sqlite3_column_int(st, 3) != 0;
	p->block_ssh = sqlite3_column_int(st, 4) != 0;
	p->created = sqlite3_column_int64(st, 5);
	return labels_get(q, S_FWLABEL_GET, p->id, p->selector, &p->n_selector);
}

static int sqlite_fw_policy_insert(struct store *s, struct st_fw_policy *p)
{
	struct sq *q = sq(s);
	int64_t id;
	int ret;

	if (p->n_selector > ST_MAX_LABELS)
		return -EINVAL;
	ret = run(q, S_SP_BEGIN);
	if (ret)
		return ret;
	ret = sql(q, S_FWP_INSERT, 0, NULL, NULL, I(p->network_id), T(p->name), I(p->default_deny),
	          I(p->block_ssh), I(p->created), END);
	id = sqlite3_last_insert_rowid(q->db);
	if (!ret)
		ret = labels_put(q, S_FWLABEL_DEL, S_FWLABEL_ADD, id, p->selector, p->n_selector);
	ret = sp_end(q, ret);
	if (!ret)
		p->id = id;
	return ret;
}

static int sqlite_fw_policy_update(struct store *s, const struct st_fw_policy *p)
{
	struct sq *q = sq(s);
	int ret;

	if (p->n_selector > ST_MAX_LABELS)
		return -EINVAL;
	ret = run(q, S_SP_BEGIN);
	if (ret)
		return ret;
	ret = sql(q, S_FWP_UPDATE, CHANGE, NULL, NULL, T(p->name), I(p->default_deny),
	          I(p->block_ssh), I(p->id), END);
	if (!ret)
		ret =
		    labels_put(q, S_FWLABEL_DEL, S_FWLABEL_ADD, p->id, p->selector, p->n_selector);
	return sp_end(q, ret);
}

static int sqlite_fw_policy_delete(struct store *s, int64_t id)
{
	/* Its selector and rules go with it (ON DELETE CASCADE). */
	return sql(sq(s), S_FWP_DELETE, CHANGE, NULL, NULL, I(id), END);
}

static int sqlite_fw_policy_get(struct store *s, int64_t network_id, const char *name,
                                struct st_fw_policy *out)
{
	return sql(sq(s), S_FWP_GET, ONE, read_fw_policy, out, I(network_id), TP(name, ST_NAME_MAX),
	           END);
}

static int sqlite_fw_policy_get_id(struct store *s, int64_t id, struct st_fw_policy *out)
{
	return sql(sq(s), S_FWP_GET_ID, ONE, read_fw_policy, out, I(id), END);
}

static int each_fw_policy(struct sq *q, sqlite3_stmt *st, void *arg)
{
	struct each *e = arg;
	struct st_fw_policy p;
	int ret = read_fw_policy(q, st, &p);

	return ret ? ret : e->cb.fw_policy(e->ctx, &p);
}

static int sqlite_fw_policy_list(struct store *s, int64_t network_id, store_fw_policy_cb cb,
                                 void *ctx)
{
	struct each e = {.cb.fw_policy = cb, .ctx = ctx};

	return sql(sq(s), S_FWP_LIST, ALL | FRESH, each_fw_policy, &e, I(network_id), END);
}

static int read_fw_rule(struct sq *q, sqlite3_stmt *st, void *out)
{
	struct st_fw_rule *r = out;

	(void)q;
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->policy_id = sqlite3_column_int64(st, 1);
	r->position = (uint32_t)sqlite3_column_int64(st, 2);
	col_str(st, 3, r->direction, sizeof(r->direction));
	col_str(st, 4, r->protocol, sizeof(r->protocol));
	col_str(st, 5, r->src, sizeof(r->src));
	col_str(st, 6, r->dst, sizeof(r->dst));
	col_str(st, 7, r->dst_port, sizeof(r->dst_port));
	col_str(st, 8, r->action, sizeof(r->action));
	col_str(st, 9, r->rate, sizeof(r->rate));
	col_str(st, 10, r->log_prefix, sizeof(r->log_prefix));
	return 0;
}

/* Moves policy's rules at position from and after by delta (+1 or -1). */
static int shift_rules(struct sq *q, int64_t policy_id, int64_t from, int64_t delta)
{
	int ret = sql(q, S_FWR_SHIFT, 0, NULL, NULL, I(policy_id), I(from), I(delta), END);

	return ret ? ret : sql(q, S_FWR_UNFLIP, 0, NULL, NULL, I(policy_id), END);
}

static int sqlite_fw_rule_insert(struct store *s, struct st_fw_rule *r)
{
	struct sq *q = sq(s);
	int64_t count = 0, pos = r->position;
	int64_t id;
	int ret;

	ret = run(q, S_SP_BEGIN);
	if (ret)
		return ret;
	ret = sql(q, S_FWR_COUNT, ONE, read_i64, &count, I(r->policy_id), END);
	if (!ret && (pos == 0 || pos > count))
		pos = count + 1;
	else if (!ret)
		ret = shift_rules(q, r->policy_id, pos, 1);
	/* A policy that does not exist trips the foreign key: -ENOENT. */
	if (!ret)
		ret = sql(q, S_FWR_INSERT, 0, NULL, NULL, I(r->policy_id), I(pos), T(r->direction),
		          T(r->protocol), T(r->src), T(r->dst), T(r->dst_port), T(r->action),
		          T(r->rate), T(r->log_prefix), END);
	id = sqlite3_last_insert_rowid(q->db);
	ret = sp_end(q, ret);
	if (!ret) {
		r->id = id;
		r->position = (uint32_t)pos;
	}
	return ret;
}

static int sqlite_fw_rule_update(struct store *s, const struct st_fw_rule *r)
{
	return sql(sq(s), S_FWR_UPDATE, CHANGE, NULL, NULL, T(r->direction), T(r->protocol),
	           T(r->src), T(r->dst), T(r->dst_port), T(r->action), T(r->rate), T(r->log_prefix),
	           I(r->id), END);
}

static int sqlite_fw_rule_delete(struct store *s, int64_t id)
{
	struct sq *q = sq(s);
	struct st_fw_rule r;
	int ret;

	ret = run(q, S_SP_BEGIN);
	if (ret)
		return ret;
	ret = sql(q, S_FWR_GET, ONE, read_fw_rule, &r, I(id), END);
	if (!ret)
		ret = sql(q, S_FWR_DELETE, CHANGE, NULL, NULL, I(id), END);
	if (!ret)
		ret = shift_rules(q, r.policy_id, (int64_t)r.position + 1, -1);
	return sp_end(q, ret);
}

static int sqlite_fw_rule_get(struct store *s, int64_t id, struct st_fw_rule *out)
{
	return sql(sq(s), S_FWR_GET, ONE, read_fw_rule, out, I(id), END);
}

static int each_fw_rule(struct sq *q, sqlite3_stmt *st, void *arg)
{
	struct each *e = arg;
	struct st_fw_rule *r = malloc(sizeof(*r)); /* 4.5 KiB, off the stack of a nested walk */
	int ret;

	if (!r)
		return -ENOMEM;
	read_fw_rule(q, st, r);
	ret = e->cb.fw_rule(e->ctx, r);
	free(r);
	return ret;
}

static int sqlite_fw_rule_list(struct store *s, int64_t policy_id, store_fw_rule_cb cb, void *ctx)
{
	struct each e = {.cb.fw_rule = cb, .ctx = ctx};

	return sql(sq(s), S_FWR_LIST, ALL | FRESH, each_fw_rule, &e, I(policy_id), END);
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .schema_version = sqlite_schema_version,
    .next_revision = sqlite_next_revision,
    .network_insert = sqlite_network_insert,
    .network_update = sqlite_network_update,
    .network_delete = sqlite_network_delete,
    .network_get = sqlite_network_get,
    .network_get_id = sqlite_network_get_id,
    .network_list = sqlite_network_list,
    .node_insert = sqlite_node_insert,
    .node_update = sqlite_node_update,
    .node_touch = sqlite_node_touch,
    .node_delete = sqlite_node_delete,
    .node_get = sqlite_node_get,
    .node_get_id = sqlite_node_get_id,
    .node_get_key = sqlite_node_get_key,
    .node_list = sqlite_node_list,
    .section_put = sqlite_section_put,
    .section_get = sqlite_section_get,
    .section_list = sqlite_section_list,
    .join_token_insert = sqlite_join_token_insert,
    .join_token_update = sqlite_join_token_update,
    .join_token_get = sqlite_join_token_get,
    .join_token_get_hash = sqlite_join_token_get_hash,
    .join_token_list = sqlite_join_token_list,
    .api_token_insert = sqlite_api_token_insert,
    .api_token_update = sqlite_api_token_update,
    .api_token_get_hash = sqlite_api_token_get_hash,
    .api_token_get = sqlite_api_token_get,
    .api_token_list = sqlite_api_token_list,
    .audit_add = sqlite_audit_add,
    .audit_list = sqlite_audit_list,
    .fw_policy_insert = sqlite_fw_policy_insert,
    .fw_policy_update = sqlite_fw_policy_update,
    .fw_policy_delete = sqlite_fw_policy_delete,
    .fw_policy_get = sqlite_fw_policy_get,
    .fw_policy_get_id = sqlite_fw_policy_get_id,
    .fw_policy_list = sqlite_fw_policy_list,
    .fw_rule_insert = sqlite_fw_rule_insert,
    .fw_rule_update = sqlite_fw_rule_update,
    .fw_rule_delete = sqlite_fw_rule_delete,
    .fw_rule_get = sqlite_fw_rule_get,
    .fw_rule_list = sqlite_fw_rule_list,
    .lb_insert = sqlite_lb_insert,
    .lb_update = sqlite_lb_update,
    .lb_delete = sqlite_lb_delete,
    .lb_get = sqlite_lb_get,
    .lb_get_id = sqlite_lb_get_id,
    .lb_list = sqlite_lb_list,
    .placement_put = sqlite_placement_put,
    .placement_delete = sqlite_placement_delete,
    .placement_list = sqlite_placement_list,
    .dns_record_insert = sqlite_dns_record_insert,
    .dns_record_delete = sqlite_dns_record_delete,
    .dns_record_get = sqlite_dns_record_get,
    .dns_record_list = sqlite_dns_record_list,
    .client_insert = sqlite_client_insert,
    .client_delete = sqlite_client_delete,
    .client_get = sqlite_client_get,
    .client_get_id = sqlite_client_get_id,
    .client_list = sqlite_client_list,
    .qos_class_insert = sqlite_qos_class_insert,
    .qos_class_delete = sqlite_qos_class_delete,
    .qos_class_get = sqlite_qos_class_get,
    .qos_class_list = sqlite_qos_class_list,
    .qos_match_insert = sqlite_qos_match_insert,
    .qos_match_delete = sqlite_qos_match_delete,
    .qos_match_list = sqlite_qos_match_list,
    .flow_insert = sqlite_flow_insert,
    .flow_delete = sqlite_flow_delete,
    .flow_get_id = sqlite_flow_get_id,
    .flow_get_name = sqlite_flow_get_name,
    .flow_list = sqlite_flow_list,
};
