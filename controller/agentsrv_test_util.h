/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the agent endpoint's tests share: a fake agent as the controller sees
 * one, with its own identity, a sealed channel to the controller and a
 * socket to the agent endpoint; enrolled with a join token of its own, and
 * syncing with whatever report the test fills in. Failures of the plumbing
 * are counted with tests/check.h, in the test's own counts; what a sync
 * answers is for the test to check.
 */
#ifndef NETFN_CONTROLLER_AGENTSRV_TEST_UTIL_H
#define NETFN_CONTROLLER_AGENTSRV_TEST_UTIL_H

#include <netinet/in.h>
#include <stdint.h>

#include "controller/ctl.h"
#include "proto/rpc.h"

/* One fake agent. */
struct test_agent {
	struct nf_identity id;
	struct nf_channel ch;
	uint64_t counter; /* the channel's, as the agent keeps it */
	uint8_t wg_pk[32];
	nng_socket sock;
	int64_t node_id;            /* once enrolled */
	char addr[INET_ADDRSTRLEN]; /* the overlay address enrolment gave */
	int ret;                    /* the last sync's result: 0 or -errno */
	struct nf_status st;        /* and its status */
};

/* A new identity and WireGuard key, a channel to ctl's identity, dialled to url. */
void test_agent_open(struct test_agent *a, const struct ctl *ctl, const char *url);

/*
 * test_agent_open, then enrols as name in network_id with a single-use join
 * token stored for it, and looks up the node it became.
 */
void test_agent_enroll(struct test_agent *a, struct ctl *ctl, const char *url, int64_t network_id,
                       const char *name);

/*
 * One sealed agent.sync of req, waiting up to timeout_ms; the reply (free
 * with test_agent_done) or NULL, the result and status in a->ret and a->st.
 */
Netfn__SyncReply *test_agent_sync(struct test_agent *a, const Netfn__SyncRequest *req,
                                  int timeout_ms);

/* Frees a reply; accepts NULL. */
void test_agent_done(Netfn__SyncReply *reply);

/* Closes the agent's socket. */
void test_agent_close(struct test_agent *a);

#endif
