// SPDX-License-Identifier: Apache-2.0
/*
 * Pauses that a stop request ends early: an absolute CLOCK_MONOTONIC
 * deadline, then a condition wait until it passes or the stop flag is set
 * (whoever sets it signals the condition).
 */
#include "netfns/common/pause.h"

#include <errno.h>
#include <time.h>

bool nf_pause_ms(pthread_mutex_t *lock, pthread_cond_t *cond, const bool *stopping, uint32_t ms)
{
	struct timespec ts;
	bool stopped;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(lock);
	while (!*stopping)
		if (pthread_cond_timedwait(cond, lock, &ts) == ETIMEDOUT)
			break;
	stopped = *stopping;
	pthread_mutex_unlock(lock);
	return !stopped;
}
