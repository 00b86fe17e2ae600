// SPDX-License-Identifier: Apache-2.0
/*
 * The scheduler tick. Liveness changes with time, not with requests: a node
 * that stops calling changes nothing in the store, so something has to look
 * again. Every quarter heartbeat (a node is dead after CTL_DEAD_BEATS of
 * them, so a move follows death within a quarter heartbeat), the thread takes
 * ctl->lock and, network by network, runs the scheduler in a transaction;
 * only when a placement changed does it compile the network, commit and wake
 * the nodes whose sections moved. A pass that changes nothing writes nothing
 * and logs nothing (the scheduler logs each move itself).
 *
 * The wait is a timed wait on a condition variable, so tick_stop is prompt.
 */
#include "controller/tick.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/agentsrv.h"
#include "controller/compile.h"
#include "controller/sched.h"
#include "netfns/common/log.h"

#define TICK_MIN_MS 50
/* A failing network is logged once per this long, not once per pass. */
#define ERR_EVERY_MS 60000

struct tick {
	struct ctl *ctl;
	pthread_t thread;
	pthread_mutex_t lock; /* guards stopping; never held with ctl->lock */
	pthread_cond_t cond;
	bool stopping;
	uint32_t heartbeat_ms; /* ctl's, read under ctl->lock */
	int64_t next_err_ms;
	unsigned held_errs;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int collect_network(void *ctx, const struct st_network *n)
{
	return idvec_push(ctx, n->id);
}

/* Logs a failed network pass, at most once per ERR_EVERY_MS. */
static void log_failure(struct tick *t, int64_t network_id, const char *what, int ret)
{
	int64_t now = now_ms();

	if (t->next_err_ms && now < t->next_err_ms) {
		t->held_errs++;
		return;
	}
	if (t->held_errs)
		nf_err("scheduler tick: network %" PRId64 ": %s failed: %s (and %u failures "
		       "since the last one logged)",
		       network_id, what, strerror(-ret), t->held_errs);
	else
		nf_err("scheduler tick: network %" PRId64 ": %s failed: %s", network_id, what,
		       strerror(-ret));
	t->held_errs = 0;
	t->next_err_ms = now + ERR_EVERY_MS;
}

/* One pass over network_id; with ctl->lock held. */
static void tick_network(struct tick *t, int64_t network_id)
{
	struct store *s = t->ctl->store;
	struct idvec nodes = {0};
	bool changed = false;
	const char *what = "begin";
	int ret;

	ret = s->ops->begin(s);
	if (!ret) {
		what = "scheduling";
		ret = sched_network(s, network_id, &changed);
	}
	if (!ret && changed) {
		what = "compiling";
		ret = compile_network(s, network_id, &nodes);
	}
	if (!ret) {
		what = "commit";
		ret = s->ops->commit(s);
	}
	if (ret) {
		s->ops->rollback(s);
		log_failure(t, network_id, what, ret);
	} else {
		agentsrv_wake(t->ctl->agents, nodes.v, nodes.n);
	}
	idvec_free(&nodes);
}

static void tick_pass(struct tick *t)
{
	struct store *s = t->ctl->store;
	struct idvec nets = {0};
	int ret;

	pthread_mutex_lock(&t->ctl->lock);
	t->heartbeat_ms = t->ctl->heartbeat_ms;
	/* Ids first: a transaction per network, none held across the list. */
	ret = s->ops->network_list(s, collect_network, &nets);
	if (ret)
		log_failure(t, 0, "listing networks", ret);
	for (size_t i = 0; !ret && i < nets.n; i++)
		tick_network(t, nets.v[i]);
	pthread_mutex_unlock(&t->ctl->lock);
	idvec_free(&nets);
}

/* Waits ms unless stopped first; false when stopped. */
static bool pause_ms(struct tick *t, uint32_t ms)
{
	struct timespec ts;
	bool stopping;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&t->lock);
	while (!t->stopping)
		if (pthread_cond_timedwait(&t->cond, &t->lock, &ts) == ETIMEDOUT)
			break;
	stopping = t->stopping;
	pthread_mutex_unlock(&t->lock);
	return !stopping;
}

static void *tick_main(void *arg)
{
	struct tick *t = arg;

	for (;;) {
		uint32_t ms = t->heartbeat_ms / 4;

		if (!pause_ms(t, ms < TICK_MIN_MS ? TICK_MIN_MS : ms))
			break;
		tick_pass(t);
	}
	return NULL;
}

int tick_start(struct ctl *c, struct tick **out)
{
	struct tick *t = calloc(1, sizeof(*t));
	pthread_condattr_t ca;
	int ret;

	if (!t)
		return -ENOMEM;
	t->ctl = c;
	t->heartbeat_ms = c->heartbeat_ms;
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&ca);
	/* Pauses are measured on the monotonic clock: wall-clock steps must not stretch them. */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	ret = -pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (ret)
		goto cleanup;
	ret = -pthread_create(&t->thread, NULL, tick_main, t);
	if (ret) {
		pthread_cond_destroy(&t->cond);
		goto cleanup;
	}
	*out = t;
	return 0;
cleanup:
	pthread_mutex_destroy(&t->lock);
	free(t);
	return ret;
}

void tick_stop(struct tick *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->stopping = true;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
