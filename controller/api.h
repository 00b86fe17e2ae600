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

#endif
