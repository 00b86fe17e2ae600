/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The scheduler tick: a thread that, every quarter heartbeat, re-runs the
 * scheduler over every network so that replicas move off nodes that went
 * quiet even when no API call or agent request triggers a compile. What
 * moved is compiled, committed and woken like any other change. It also
 * drops external clients whose key expired from their network's sections.
 */
#ifndef NETFN_CONTROLLER_TICK_H
#define NETFN_CONTROLLER_TICK_H

#include <stdint.h>

#include "controller/ctl.h"

struct tick;

/* Starts the tick over c's networks (c->agents is woken, may be NULL). */
int tick_start(struct ctl *c, struct tick **out);

/* Stops the tick, waiting for a pass under way to end; accepts NULL. */
void tick_stop(struct tick *t);

/*
 * Tells the tick that a client key expires at expires (unix seconds; 0
 * never), so it acts on time even if that is before every expiry it knew.
 * With ctl->lock held.
 */
void tick_expiry_hint(int64_t expires);

#endif
