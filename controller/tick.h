/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The scheduler tick: a thread that, every quarter heartbeat, re-runs the
 * scheduler over every network so that replicas move off nodes that went
 * quiet even when no API call or agent request triggers a compile. What
 * moved is compiled, committed and woken like any other change.
 */
#ifndef NETFN_CONTROLLER_TICK_H
#define NETFN_CONTROLLER_TICK_H

#include "controller/ctl.h"

struct tick;

/* Starts the tick over c's networks (c->agents is woken, may be NULL). */
int tick_start(struct ctl *c, struct tick **out);

/* Stops the tick, waiting for a pass under way to end; accepts NULL. */
void tick_stop(struct tick *t);

#endif
