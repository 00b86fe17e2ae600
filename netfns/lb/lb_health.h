/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The load balancer's health checker: one thread that makes TCP connect
 * checks (non-blocking connect, bounded by the frontend's timeout) to every
 * backend of every frontend with checks on, each at its frontend's interval.
 * Checks start on a fixed schedule (every interval, not interval plus the
 * time a check took), so a backend that dies is marked down within fall
 * intervals (plus one timeout when it stops answering at all). A backend
 * starts up and is checked at once when first seen; it goes down after fall
 * consecutive failures and up again after rise consecutive successes. The
 * state of a (frontend id, address, port) that stays in the config survives
 * a new config.
 */
#ifndef NETFN_LB_LB_HEALTH_H
#define NETFN_LB_LB_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netfns/lb/lb.h"

struct lb_health_checker;

/*
 * Called on the checker's thread, with no lock of the checker held, after
 * one or more backends changed state.
 */
typedef void (*lb_health_cb)(void *data);

/* Starts the checker's thread, with nothing to check yet. */
int lb_health_open(lb_health_cb cb, void *data, struct lb_health_checker **out);

/*
 * Makes cfg's backends the ones checked (a copy is taken): new ones start up
 * and are checked at once, those still present keep their state, the others
 * are forgotten.
 */
int lb_health_set(struct lb_health_checker *hc, const struct lb_config *cfg);

/*
 * Whether a backend of frontend id is up: its checked state, or true when it
 * is not checked (checks off, or not set yet).
 */
bool lb_health_up(struct lb_health_checker *hc, uint64_t id, struct in_addr addr, uint16_t port);

/* Stops the thread and frees the checker; accepts NULL. Never call it from the callback. */
void lb_health_close(struct lb_health_checker *hc);

#endif
