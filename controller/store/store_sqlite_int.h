/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SQLite engine's insides, shared by its files (store_sqlite.c: the
 * handle, migrations and the records of the first schema versions;
 * store_sqlite_lb.c: load balancers and placements; store_sqlite_dns.c:
 * DNS records; store_sqlite_client.c: external clients;
 * store_sqlite_qos.c: traffic classes; store_sqlite_flow.c: flow
 * filters). Not part of the store
 * interface: nothing outside controller/store/ includes it.
 */
#ifndef NETFN_CONTROLLER_STORE_STORE_SQLITE_INT_H
#define NETFN_CONTROLLER_STORE_STORE_SQLITE_INT_H

#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>

#include "controller/store/store.h"

struct sq;

/* A statement with the purpose its error log names. */
struct sq_stmt {
	const char *what;
	const char *sql;
};

/*
 * Cache slots a handle keeps for the statements of the engine's other files,
 * and where each file's range starts (a file's statement id i uses slot
 * base + i; each file asserts its statements fit below the next base).
 */
#define SQ_EXT_STMTS  64
#define SQ_EXT_LB     0  /* store_sqlite_lb.c */
#define SQ_EXT_DNS    16 /* store_sqlite_dns.c */
#define SQ_EXT_CLIENT 24 /* store_sqlite_client.c */
#define SQ_EXT_QOS    32 /* store_sqlite_qos.c */
#define SQ_EXT_FLOW   40 /* store_sqlite_flow.c */

/*
 * Parameters are passed to sql() as tagged values, ending with END. Each
 * macro casts its value to the one type the binder reads back, so va_arg
 * never sees a type it does not expect. T and B take arrays only (a pointer
 * would bind sizeof(pointer) bytes; the negative array size catches it);
 * TP and BP take a pointer and its size.
 */
enum { END, P_I64, P_TEXT, P_BLOB };

#define NOT_PTR(a)                                                                                 \
	(0 * sizeof(char[1 - 2 * __builtin_types_compatible_p(__typeof__(a), __typeof__(&(a)[0]))]))
#define I(x)     P_I64, (int64_t)(x)
#define TP(p, n) P_TEXT, (const char *)(p), (size_t)(n)
#define BP(p, n) P_BLOB, (const void *)(p), (size_t)(n)
#define T(a)     TP(a, sizeof(a) + NOT_PTR(a))
#define B(a)     BP(a, sizeof(a) + NOT_PTR(a))

/* How sql() treats the rows and changes of a statement. */
enum {
	ONE = 1,    /* the first row is read; no row is -ENOENT */
	ALL = 2,    /* every row is read until read returns non-zero */
	CHANGE = 4, /* a write that matches no row is -ENOENT */
	FRESH = 8,  /* a private statement, so read may re-enter the store */
};

/* Turns the current row into a record; non-zero stops the walk. */
typedef int (*reader)(struct sq *q, sqlite3_stmt *st, void *out);

/*
 * Runs def with the parameters in ap (ending in END), handing rows to
 * read(q, st, out) as mode says; slot is def's cache slot (unused with FRESH).
 */
int sq_vsql(struct sq *q, const struct sq_stmt *def, sqlite3_stmt **slot, unsigned mode,
            reader read, void *out, va_list ap);

/* Cache slot i (< SQ_EXT_STMTS) of the engine's other files. */
sqlite3_stmt **sq_ext_slot(struct sq *q, unsigned i);

/* The rowid of the handle's last insert. */
int64_t sq_last_id(struct sq *q);

/* Opens a savepoint, for a record that spans several tables. */
int sq_savepoint(struct sq *q);

/* Releases the savepoint when ret is 0, else rolls back to it; returns ret. */
int sq_savepoint_end(struct sq *q, int ret);

/* Copies a text column into a fixed field, truncating and terminating. */
void sq_col_str(sqlite3_stmt *st, int i, char *buf, size_t size);

/* Appends the label in columns i (key) and i + 1 (value) to l[*n], unless it is full. */
void sq_col_label(sqlite3_stmt *st, int i, struct st_label *l, size_t *n);

/* Load balancers and placements (store_sqlite_lb.c), as store.h's ops describe them. */
int sqlite_lb_insert(struct store *s, struct st_lb *lb);
int sqlite_lb_update(struct store *s, const struct st_lb *lb);
int sqlite_lb_delete(struct store *s, int64_t id);
int sqlite_lb_get(struct store *s, int64_t network_id, const char *name, struct st_lb *out);
int sqlite_lb_get_id(struct store *s, int64_t id, struct st_lb *out);
int sqlite_lb_list(struct store *s, int64_t network_id, store_lb_cb cb, void *ctx);
int sqlite_placement_put(struct store *s, const struct st_placement *p);
int sqlite_placement_delete(struct store *s, const char *kind, int64_t object_id, uint32_t slot);
int sqlite_placement_list(struct store *s, const char *kind, int64_t object_id,
                          store_placement_cb cb, void *ctx);

/* DNS records (store_sqlite_dns.c), as store.h's ops describe them. */
int sqlite_dns_record_insert(struct store *s, struct st_dns_record *r);
int sqlite_dns_record_delete(struct store *s, int64_t id);
int sqlite_dns_record_get(struct store *s, int64_t id, struct st_dns_record *out);
int sqlite_dns_record_list(struct store *s, int64_t network_id, store_dns_record_cb cb, void *ctx);

/* External clients (store_sqlite_client.c), as store.h's ops describe them. */
int sqlite_client_insert(struct store *s, struct st_client *c);
int sqlite_client_delete(struct store *s, int64_t id);
int sqlite_client_get(struct store *s, int64_t network_id, const char *name, struct st_client *out);
int sqlite_client_get_id(struct store *s, int64_t id, struct st_client *out);
int sqlite_client_list(struct store *s, int64_t network_id, store_client_cb cb, void *ctx);

/* Traffic classes and their matches (store_sqlite_qos.c), as store.h's ops describe them. */
int sqlite_qos_class_insert(struct store *s, struct st_qos_class *c);
int sqlite_qos_class_delete(struct store *s, int64_t id);
int sqlite_qos_class_get(struct store *s, int64_t network_id, const char *name,
                         struct st_qos_class *out);
int sqlite_qos_class_list(struct store *s, int64_t network_id, store_qos_class_cb cb, void *ctx);
int sqlite_qos_match_insert(struct store *s, struct st_qos_match *m);
int sqlite_qos_match_delete(struct store *s, int64_t id);
int sqlite_qos_match_list(struct store *s, int64_t class_id, store_qos_match_cb cb, void *ctx);

/* Flow filters (store_sqlite_flow.c), as store.h's ops describe them. */
int sqlite_flow_insert(struct store *s, struct st_flow_filter *f);
int sqlite_flow_delete(struct store *s, int64_t id);
int sqlite_flow_get_id(struct store *s, int64_t id, struct st_flow_filter *out);
int sqlite_flow_get_name(struct store *s, int64_t network_id, const char *name,
                         struct st_flow_filter *out);
int sqlite_flow_list(struct store *s, int64_t network_id, int64_t node_id, store_flow_filter_cb cb,
                     void *ctx);

/* One migration step: step i takes PRAGMA user_version i to i + 1 (store_sqlite_schema.c). */
struct sq_migration {
	const char *what;
	const char *sql;
};

extern const struct sq_migration sq_migrations[];
/* The number of steps: the schema version this build writes. */
extern const int sq_schema_version;

#endif
