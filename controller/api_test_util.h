/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the API unit tests share: a controller with its store in a temp dir,
 * the real dispatcher served over nng's inproc transport, an admin and a
 * reader token, one call at a time with its status kept for the checks, and
 * networks and nodes made the way the tests need them. Failures are counted
 * with tests/check.h, in the test's own counts.
 */
#ifndef NETFN_CONTROLLER_API_TEST_UTIL_H
#define NETFN_CONTROLLER_API_TEST_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "controller/api.h"

/* One controller under test and the client end of its API. */
struct api_test {
	struct ctl ctl;
	nng_socket sock;
	char dir[64];
	char url[64];
	char admin[NF_TOKEN_STRLEN], reader[NF_TOKEN_STRLEN]; /* a token of each role */
	struct nf_status st;                                  /* the last call's */
};

/*
 * Opens a store in a fresh /tmp/netfn-api-NAME-* dir, makes the two tokens
 * and serves the API on inproc://api_NAME_test; -1 when the store did not
 * open (the test can only end).
 */
int api_test_start(struct api_test *t, const char *name);

/* Stops the API, closes the store and removes its dir; the result of the rmdir. */
int api_test_stop(struct api_test *t);

/* One call as token; the reply (free with api_test_done) or NULL, its status in t->st. */
ProtobufCMessage *api_test_call(struct api_test *t, const char *token, const char *method,
                                const ProtobufCMessage *req,
                                const ProtobufCMessageDescriptor *reply_desc);

/* api_test_call with a NameRef of name and network: show, delete. */
ProtobufCMessage *api_test_call_ref(struct api_test *t, const char *token, const char *method,
                                    const char *name, const char *network,
                                    const ProtobufCMessageDescriptor *reply_desc);

/* Frees a reply; accepts NULL. */
void api_test_done(void *reply);

/* True when the last call failed with code on field; says what it got otherwise. */
bool api_test_failed(const struct api_test *t, int code, const char *field);

/* The number of audit entries. */
int api_test_audits(struct api_test *t);

/* The desired revision of node's section for function, or 0 when it has none. */
uint64_t api_test_rev(struct api_test *t, int64_t node, const char *function);

/* Creates network name with cidr through the API, as admin, and checks it was. */
void api_test_network_create(struct api_test *t, const char *name, const char *cidr);

/*
 * A node as enrolment leaves it: its keys made from its name's first and
 * last characters, and a "role" label of role (NULL: no labels).
 */
void api_test_node_init(struct st_node *n, const char *name, const char *addr, const char *role);

/* Inserts n into network and compiles the network, as a join does; its id. */
int64_t api_test_node_insert(struct api_test *t, const char *network, struct st_node *n);

/* Both: a node of network named name at addr with role (NULL: none); its id. */
int64_t api_test_node_add(struct api_test *t, const char *network, const char *name,
                          const char *addr, const char *role);

#endif
