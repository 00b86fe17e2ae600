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
 * Client keys expire with time too. The tick keeps the earliest future
 * expiry it knows (from its last look at the clients, lowered by
 * tick_expiry_hint when a client is created) and only looks at the clients
 * again once that moment has passed: then each network where a key expired
 * since the last look releases that client's gateway (an audit entry, like
 * the scheduler's) and is compiled, which drops the client from every
 * section: its gateway no longer peers with it, so its traffic stops.
 *
 * The wait is a timed wait on a condition variable, so tick_stop is prompt.
 */
#include "controller/tick.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/agentsrv.h"
#include "controller/compile.h"
#include "controller/sched.h"
#include "netfns/common/log.h"
#include "netfns/common/pause.h"

#define TICK_MIN_MS 50
/* A failing network is logged once per this long, not once per pass. */
#define ERR_EVERY_MS 60000

/* A client whose key expired since the tick last looked. */
struct expired {
	int64_t network_id;
	int64_t id;
	char name[ST_NAME_MAX];
};

/*
 * When a client key next expires (unix seconds; 0: none known), and whether
 * that is known at all (not before the first look). Process-wide so that
 * the API can lower it without a handle; guarded by ctl->lock.
 */
static int64_t expiry_next;
static bool expiry_known;

struct tick {
	struct ctl *ctl;
	pthread_t thread;
	pthread_mutex_t lock; /* guards stopping; never held with ctl->lock */
	pthread_cond_t cond;
	bool stopping;
	uint32_t heartbeat_ms; /* ctl's, read under ctl->lock */
	int64_t next_err_ms;
	unsigned held_errs;
	int64_t expiry_seen; /* keys that expired up to here (unix seconds) were handled */
	size_t n_expired, cap_expired;
	struct expired *expired; /* found by this pass's look, by network */
};

void tick_expiry_hint(int64_t expires)
{
	if (expires && (!expiry_next || expires < expiry_next))
		expiry_next = expires;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int first_placement(void *ctx, const struct st_placement *p)
{
	struct st_placement *out = ctx;

	if (!out->node_id)
		*out = *p;
	return 0;
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

struct expiry_look {
	struct tick *t;
	int64_t now;
	int64_t next;
};

static int look_client(void *ctx, const struct st_client *c)
{
	struct expiry_look *l = ctx;
	struct tick *t = l->t;
	struct expired *e;

	if (!c->expires || c->expires <= t->expiry_seen)
		return 0;
	if (c->expires > l->now) {
		if (!l->next || c->expires < l->next)
			l->next = c->expires;
		return 0;
	}
	if (t->n_expired == t->cap_expired) {
		size_t cap = t->cap_expired ? t->cap_expired * 2 : 8;

		e = realloc(t->expired, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		t->expired = e;
		t->cap_expired = cap;
	}
	e = &t->expired[t->n_expired++];
	e->network_id = c->network_id;
	e->id = c->id;
	snprintf(e->name, sizeof(e->name), "%s", c->name);
	return 0;
}

/*
 * Finds the clients whose key expired since the last look, when one is due
 * (the first pass, or the earliest known expiry has passed), and learns the
 * next expiry. With ctl->lock held.
 */
static void look_expiries(struct tick *t)
{
	struct store *s = t->ctl->store;
	struct expiry_look l = {t, ctl_now(), 0};
	int ret;

	t->n_expired = 0;
	if (expiry_known && (!expiry_next || l.now < expiry_next))
		return;
	/* Clients are listed by id, so those of one network are not together. */
	ret = s->ops->client_list(s, 0, look_client, &l);
	if (ret) {
		t->n_expired = 0;
		log_failure(t, 0, "listing clients", ret);
		return; /* still due: the next pass looks again */
	}
	t->expiry_seen = l.now;
	expiry_next = l.next;
	expiry_known = true;
}

/*
 * Releases the gateways of network_id's clients whose key just expired, with
 * an audit entry each; *any says whether network_id had such a client (its
 * firewall sections lose the address even when it had no gateway).
 */
static int release_expired(struct tick *t, int64_t network_id, bool *any)
{
	struct store *s = t->ctl->store;
	struct st_network net = {0};
	struct st_placement p;
	struct st_audit a;
	struct st_node node;
	int ret = 0;

	*any = false;
	for (size_t i = 0; i < t->n_expired && !ret; i++) {
		const struct expired *e = &t->expired[i];

		if (e->network_id != network_id)
			continue;
		*any = true;
		memset(&p, 0, sizeof(p));
		ret = s->ops->placement_list(s, "gateway", e->id, first_placement, &p);
		if (ret || !p.node_id)
			continue;
		ret = s->ops->placement_delete(s, "gateway", e->id, p.slot);
		if (ret)
			break;
		memset(&a, 0, sizeof(a));
		a.time = ctl_now();
		snprintf(a.actor, sizeof(a.actor), "scheduler");
		snprintf(a.method, sizeof(a.method), "sched.place");
		snprintf(a.object, sizeof(a.object), "gateway %s", e->name);
		if (s->ops->node_get_id(s, p.node_id, &node) == 0)
			snprintf(a.detail, sizeof(a.detail),
			         "slot %u: node %s released (the client's key expired)", p.slot,
			         node.name);
		else
			snprintf(a.detail, sizeof(a.detail),
			         "slot %u: node id %" PRId64 " released (the client's key expired)",
			         p.slot, p.node_id);
		if (!net.id && s->ops->network_get_id(s, network_id, &net))
			snprintf(net.name, sizeof(net.name), "id %" PRId64, network_id);
		nf_info("network %s: %s: %s", net.name, a.object, a.detail);
		ret = s->ops->audit_add(s, &a);
	}
	return ret;
}

/* One pass over network_id; with ctl->lock held. */
static void tick_network(struct tick *t, int64_t network_id)
{
	struct store *s = t->ctl->store;
	struct idvec nodes = {0};
	bool changed = false, expired = false;
	const char *what = "begin";
	int ret;

	ret = s->ops->begin(s);
	if (!ret) {
		what = "releasing expired clients";
		ret = release_expired(t, network_id, &expired);
	}
	if (!ret) {
		what = "scheduling";
		ret = sched_network(s, network_id, &changed);
	}
	if (!ret && (changed || expired)) {
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
	if (!ret)
		look_expiries(t);
	for (size_t i = 0; !ret && i < nets.n; i++)
		tick_network(t, nets.v[i]);
	pthread_mutex_unlock(&t->ctl->lock);
	idvec_free(&nets);
}

/* Waits ms unless stopped first; false when stopped. */
static bool pause_ms(struct tick *t, uint32_t ms)
{
	return nf_pause_ms(&t->lock, &t->cond, &t->stopping, ms);
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
	/* The first pass looks at every client: keys may have expired while stopped. */
	pthread_mutex_lock(&c->lock);
	expiry_known = false;
	pthread_mutex_unlock(&c->lock);
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
	free(t->expired);
	free(t);
}
