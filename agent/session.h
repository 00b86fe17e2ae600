/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's session with the controller: enrollment with a join token, then
 * the long-poll sync loop that reports each function's status and hands every
 * newer NodeConfig to the reconcile driver. All calls are sealed to the
 * controller's key. Transport failures are retried with jittered exponential
 * backoff across the controller URLs while the data plane is left alone; the
 * session can be stopped from another thread at any time, including during a
 * long-poll, by closing its socket.
 */
#ifndef NETFN_AGENT_SESSION_H
#define NETFN_AGENT_SESSION_H

#include <stdbool.h>

#include "agent/args.h"
#include "agent/reconcile.h"
#include "agent/state.h"
#include "proto/rpc.h"
#include "proto/token.h"

/* Backoff on transport errors: first delay, doubled up to the maximum. */
#define SESSION_BACKOFF_FIRST_MS 250
#define SESSION_BACKOFF_MAX_MS   30000
/* Heartbeat assumed until the controller states its own. */
#define SESSION_HEARTBEAT_MS      15000
#define SESSION_ENROLL_TIMEOUT_MS 10000

struct session;

/* Makes a session for the agent with state st and command line args (both kept by reference). */
int session_open(struct agent_state *st, const struct agent_args *args, struct session **out);

/*
 * Enrolls with tok, retrying unreachable controllers until it gets an answer.
 * Returns 0 with *enr filled (not yet saved), -EACCES when the controller
 * refused (st holds its code and message: do not retry), -ECANCELED when
 * stopped, or another -errno for a reply that makes no sense.
 */
int session_enroll(struct session *s, const struct nf_join_token *tok, struct agent_enrollment *enr,
                   struct nf_status *st);

/*
 * Runs the sync loop for the node enr until session_stop. Returns 0 when
 * stopped, -errno on a local failure that makes going on pointless.
 */
int session_run(struct session *s, const struct agent_enrollment *enr, struct reconcile *rc);

/* Makes enroll/run return promptly; safe from any thread, at any time. */
void session_stop(struct session *s);

/* True once session_stop was called. */
bool session_stopping(struct session *s);

/* Closes the socket and frees; accepts NULL. */
void session_close(struct session *s);

#endif
