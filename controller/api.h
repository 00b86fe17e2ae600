/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API: bearer-token authentication, role checks, and dispatch of each
 * method to its handler. Handlers build their reply in a per-call arena
 * (freed after the reply is packed) and run with ctl->lock held.
 */
#ifndef NETFN_CONTROLLER_API_H
#define NETFN_CONTROLLER_API_H

#include <stdbool.h>
#include <stddef.h>

#include "controller/ctl.h"
#include "proto/rpc.h"

struct arena;

struct api_call {
	struct ctl *ctl;
	const char *method;
	char actor[ST_NAME_MAX]; /* "apitoken:<id>" */
	struct nf_status st;
	struct arena *arena;
	struct idvec changed; /* nodes to wake once the transaction committed */
};

/* One API method: its messages, whether a reader may call it, its handler. */
struct api_method {
	const char *name;
	const ProtobufCMessageDescriptor *request;
	bool mutates;
	int (*fn)(struct api_call *c, const ProtobufCMessage *req, ProtobufCMessage **reply);
};

extern const struct api_method api_network_methods[];
extern const struct api_method api_token_methods[];
extern const struct api_method api_node_methods[];
extern const struct api_method api_firewall_methods[];
extern const struct api_method api_lb_methods[];
extern const struct api_method api_client_methods[];
extern const struct api_method api_dns_methods[];
extern const struct api_method api_qos_methods[];
extern const struct api_method api_flow_methods[];

/* Starts the API server on urls (tls+tcp:// ones with the PEM in tls_cert). */
int api_start(struct ctl *c, const char *const *urls, size_t n, const char *tls_cert);

/* Stops it; accepts NULL. */
void api_stop(void);

/* Allocates zeroed memory that lives until the reply is sent. */
void *api_alloc(struct api_call *c, size_t n);

/* Copies s into the call's arena. */
char *api_strdup(struct api_call *c, const char *s);

/* A growing array of message pointers in the call's arena. */
struct api_list {
	struct api_call *c;
	size_t n, cap;
	void **v;
};

/* Appends item (NULL means allocation failed: -ENOMEM). */
int api_list_push(struct api_list *l, void *item);

/* Labels as protobuf, in the call's arena. */
Netfn__Label **api_labels_to_pb(struct api_call *c, const struct st_label *l, size_t n);

/* An Empty reply in the call's arena. */
ProtobufCMessage *api_empty(struct api_call *c);

/* Records an error for the caller; returns -1 so handlers can `return api_fail(...)`. */
int api_fail(struct api_call *c, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Starts the call's transaction. */
int api_begin(struct api_call *c);

/*
 * Ends the transaction: commits when ret is 0 (then wakes changed nodes),
 * rolls back otherwise. Returns ret, or -1 with INTERNAL when commit failed.
 */
int api_end(struct api_call *c, int ret);

/* api_end, then an Empty reply on success: the tail of most mutations. */
int api_end_empty(struct api_call *c, int ret, ProtobufCMessage **reply);

/* Adds the audit entry of this call's mutation (inside the transaction). */
int api_audit(struct api_call *c, const char *object, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Maps a store error to a status (NOT_FOUND/ALREADY_EXISTS/INTERNAL) naming field. */
int api_store_fail(struct api_call *c, int err, const char *field, const char *what);

/* A growing array in the call's arena: nothing to free on any path. */
struct api_vec {
	void *v;
	size_t n, cap;
};

/* Appends a zeroed element of size bytes; NULL when out of memory. */
void *api_vec_push(struct api_call *c, struct api_vec *v, size_t size);

/* Where a store listing's rows are copied, so no store call runs inside a listing. */
struct api_collect {
	struct api_call *c;
	struct api_vec *out;
};

/* Copies one row of size bytes into the api_collect ctx: a listing callback's body. */
int api_collect(void *ctx, const void *row, size_t size);

/* The nodes of a network, in the store's order. */
int api_nodes_of(struct api_call *c, int64_t network_id, struct api_vec *out);

/* The placements of kind for object_id (0: every object), by object then slot. */
int api_placements_of(struct api_call *c, const char *kind, int64_t object_id, struct api_vec *out);

/*
 * The network a call names, or the only one there is when it names none
 * (what, "a load balancer", says what belongs to one in the refusal).
 */
int api_network_or_only(struct api_call *c, const char *name, const char *what,
                        struct st_network *out);

/*
 * Each of replicas slots of object_id's placements of kind, and any placed
 * beyond them: the node holding it (by name; "" when that node is gone) with
 * the address it serves on (vip, or 0 for the node's own), or an empty slot
 * the scheduler could not fill. Into *out and *n_out, in the call's arena.
 */
int api_placements_pb(struct api_call *c, const char *kind, int64_t object_id, uint32_t replicas,
                      uint32_t vip, Netfn__Placement ***out, size_t *n_out);

#endif
