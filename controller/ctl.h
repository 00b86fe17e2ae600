/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The controller's shared state: the store, its identity, its settings, and
 * the one lock that serialises every access to them. nng runs the API and
 * agent servers' callbacks on its own threads; each handler takes ctl->lock
 * for the whole of its store work, so a transaction never interleaves with
 * another.
 */
#ifndef NETFN_CONTROLLER_CTL_H
#define NETFN_CONTROLLER_CTL_H

#include <pthread.h>
#include <stdint.h>

#include "controller/store/store.h"
#include "proto/seal.h"
#include "proto/token.h"

#define CTL_DEFAULT_HEARTBEAT_MS 15000
#define CTL_OFFLINE_BEATS        3
/* The scheduler moves what a node hosts after this many heartbeats without a word from it. */
#define CTL_DEAD_BEATS 2
#define CTL_MAX_URLS   NF_TOKEN_MAX_URLS

struct agentsrv;

struct ctl {
	pthread_mutex_t lock;
	struct store *store;
	struct nf_identity id;
	uint32_t heartbeat_ms;
	size_t n_advertise;
	char advertise[CTL_MAX_URLS][NF_TOKEN_URL_MAX];
	struct agentsrv *agents;
};

/* A growable list of node ids whose sections changed, to wake their syncs. */
struct idvec {
	size_t n, cap;
	int64_t *v;
};

/* Appends id; -ENOMEM. */
int idvec_push(struct idvec *iv, int64_t id);

/* Frees the list; accepts a zeroed one. */
void idvec_free(struct idvec *iv);

/* True when node last seen at last_seen counts as online now. */
bool ctl_node_online(const struct ctl *c, int64_t last_seen);

/* Current unix time in seconds. */
int64_t ctl_now(void);

#endif
