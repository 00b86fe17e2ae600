/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A worker thread's pause between passes that a stop request cuts short:
 * the controller's tick and the agent's session both sleep this way, on a
 * condition variable set to CLOCK_MONOTONIC so that wall-clock steps do not
 * stretch or skip a pause.
 */
#ifndef NETFN_COMMON_PAUSE_H
#define NETFN_COMMON_PAUSE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Waits ms on cond (a CLOCK_MONOTONIC one; lock not held by the caller)
 * unless *stopping, read under lock, is or becomes true first; false when
 * stopped.
 */
bool nf_pause_ms(pthread_mutex_t *lock, pthread_cond_t *cond, const bool *stopping, uint32_t ms);

#endif
