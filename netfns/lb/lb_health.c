// SPDX-License-Identifier: Apache-2.0
/*
 * The health checker (see lb_health.h). One thread owns every check socket:
 * it starts the checks that are due, polls the ones in flight together with a
 * wake-up pipe, and settles each when it connects, fails or reaches its
 * timeout. Other threads only swap the list of targets (lb_health_set) and
 * read states (lb_health_up), under the mutex; sockets of targets that a new
 * config dropped are handed to the thread to close, so that no descriptor it
 * polls is closed (and its number reused) under it.
 *
 * Targets are kept sorted by (frontend id, address, port), the key that
 * carries a backend's state from one config to the next.
 */
#include "netfns/lb/lb_health.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netfns/common/log.h"

struct target {
	uint64_t id;
	struct in_addr addr;
	uint16_t port;       /* the backend's: part of the key */
	uint16_t check_port; /* where the check connects */
	uint32_t interval_ms, timeout_ms, rise, fall;
	char name[LB_NAME_MAX]; /* the frontend's, for the log */
	bool up;
	uint32_t ok_run, fail_run; /* consecutive successes, failures */
	uint64_t next_ms;          /* when the next check starts */
	uint64_t deadline_ms;      /* the check in flight fails at this time */
	int fd;                    /* the check in flight, or -1 */
};

struct lb_health_checker {
	pthread_mutex_t mu;
	pthread_t thread;
	bool started;
	bool stop;
	int wake[2]; /* a write to wake[1] ends the thread's poll */
	lb_health_cb cb;
	void *data;
	struct target *t; /* sorted by key */
	size_t n;
	int *dead; /* sockets of dropped targets, for the thread to close */
	size_t n_dead, cap_dead;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int key_cmp(uint64_t id, struct in_addr a, uint16_t port, const struct target *t)
{
	uint32_t x = ntohl(a.s_addr), y = ntohl(t->addr.s_addr);

	if (id != t->id)
		return id < t->id ? -1 : 1;
	if (x != y)
		return x < y ? -1 : 1;
	return (port > t->port) - (port < t->port);
}

static int target_cmp(const void *a, const void *b)
{
	const struct target *x = a;

	return key_cmp(x->id, x->addr, x->port, b);
}

static struct target *find(struct target *t, size_t n, uint64_t id, struct in_addr a, uint16_t port)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(id, a, port, &t[mid]);

		if (c == 0)
			return &t[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static void wake(struct lb_health_checker *hc)
{
	char c = 0;

	/* A full pipe already holds a wake-up: nothing is lost when this write fails. */
	if (write(hc->wake[1], &c, 1) < 0 && errno != EAGAIN)
		nf_debug("lb health: cannot wake the checker: %s", strerror(errno));
}

/* ---- one check ---- */

/* Counts one result; true when the backend changed state. */
static bool record(struct target *t, bool ok, const char *why)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &t->addr, a, sizeof(a));
	if (ok) {
		t->fail_run = 0;
		if (t->ok_run < UINT32_MAX)
			t->ok_run++;
		if (t->up || t->ok_run < t->rise)
			return false;
		t->up = true;
		nf_info("lb %" PRIu64 " (%s): backend %s:%u is up after %u good checks", t->id,
		        t->name, a, t->port, t->ok_run);
		return true;
	}
	t->ok_run = 0;
	if (t->fail_run < UINT32_MAX)
		t->fail_run++;
	if (!t->up || t->fail_run < t->fall)
		return false;
	t->up = false;
	nf_info("lb %" PRIu64 " (%s): backend %s:%u is down after %u failed checks (%s)", t->id,
	        t->name, a, t->port, t->fail_run, why);
	return true;
}

/* Ends the check in flight with a result; true when the backend changed state. */
static bool settle(struct target *t, bool ok, const char *why)
{
	/*
	 * Linger 0: the check's close is a reset, so that checks every 100 ms
	 * leave no TIME_WAIT behind on this host.
	 */
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(t->fd);
	t->fd = -1;
	return record(t, ok, why);
}

/* Starts t's check (due at t->next_ms) and schedules the next one; true on a change. */
static bool start(struct target *t, uint64_t now)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr = t->addr};
	int fd;

	/* On the schedule, not after the check: a slow check does not push the next one out. */
	t->next_ms += ((now - t->next_ms) / t->interval_ms + 1) * t->interval_ms;
	sin.sin_port = htons(t->check_port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		/* This host's trouble (out of descriptors), not the backend's: not counted. */
		nf_warn("lb health: cannot make a socket: %s", strerror(errno));
		return false;
	}
	t->fd = fd;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		return settle(t, true, "");
	if (errno != EINPROGRESS)
		return settle(t, false, strerror(errno));
	t->deadline_ms = now + t->timeout_ms;
	return false;
}

/* The result of a check poll says is done. */
static bool finish(struct target *t)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	return settle(t, err == 0, err ? strerror(err) : "");
}

/* ---- the thread ---- */

struct polled {
	struct pollfd *pfd;  /* [0]: the wake-up pipe */
	struct target *keys; /* the target of each pfd[i + 1], by key */
	size_t cap;
};

static int polled_fit(struct polled *p, size_t n)
{
	struct pollfd *pfd;
	struct target *keys;

	if (n + 1 <= p->cap)
		return 0;
	pfd = realloc(p->pfd, (n + 1) * sizeof(*pfd));
	if (!pfd)
		return -ENOMEM;
	p->pfd = pfd;
	keys = realloc(p->keys, (n + 1) * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	p->keys = keys;
	p->cap = n + 1;
	return 0;
}

/* Starts what is due; fills p with what is in flight; returns how long poll may wait. */
static int prepare(struct lb_health_checker *hc, struct polled *p, size_t *np, bool *changed)
{
	uint64_t now = now_ms(), wait = UINT64_MAX;
	size_t n = 0;

	for (size_t i = 0; i < hc->n_dead; i++)
		close(hc->dead[i]);
	hc->n_dead = 0;
	for (size_t i = 0; i < hc->n; i++) {
		struct target *t = &hc->t[i];

		if (t->fd < 0 && t->next_ms <= now)
			*changed |= start(t, now);
	}
	if (polled_fit(p, hc->n) < 0) {
		*np = 0;
		return 100; /* out of memory: try again shortly */
	}
	p->pfd[0] = (struct pollfd){.fd = hc->wake[0], .events = POLLIN};
	for (size_t i = 0; i < hc->n; i++) {
		struct target *t = &hc->t[i];
		uint64_t due = t->fd >= 0 ? t->deadline_ms : t->next_ms;

		if (t->fd >= 0) {
			p->pfd[n + 1] = (struct pollfd){.fd = t->fd, .events = POLLOUT};
			p->keys[n] = *t;
			n++;
		}
		if (due < wait)
			wait = due;
	}
	*np = n;
	if (wait == UINT64_MAX)
		return -1;
	return wait <= now ? 0 : wait - now > 60000 ? 60000 : (int)(wait - now);
}

/* Settles what poll reported and what timed out; true on a change. */
static bool collect(struct lb_health_checker *hc, struct polled *p, size_t n)
{
	uint64_t now = now_ms();
	bool changed = false;

	for (size_t i = 0; i < n; i++) {
		const struct target *k = &p->keys[i];
		struct target *t;

		if (!p->pfd[i + 1].revents)
			continue;
		/* The target may have been dropped or replaced while the lock was free. */
		t = find(hc->t, hc->n, k->id, k->addr, k->port);
		if (t && t->fd == p->pfd[i + 1].fd)
			changed |= finish(t);
	}
	for (size_t i = 0; i < hc->n; i++) {
		struct target *t = &hc->t[i];

		if (t->fd >= 0 && t->deadline_ms <= now)
			changed |= settle(t, false, "timed out");
	}
	return changed;
}

static void *run(void *arg)
{
	struct lb_health_checker *hc = arg;
	struct polled p = {0};
	char buf[64];

	pthread_mutex_lock(&hc->mu);
	while (!hc->stop) {
		bool changed = false;
		size_t n = 0;
		int wait = prepare(hc, &p, &n, &changed);

		if (changed)
			wait = 0; /* report first, then come back for the rest */
		pthread_mutex_unlock(&hc->mu);
		if (changed && hc->cb)
			hc->cb(hc->data);
		if (poll(p.pfd, n + 1, wait) > 0 && (p.pfd[0].revents & POLLIN))
			while (read(hc->wake[0], buf, sizeof(buf)) > 0)
				;
		pthread_mutex_lock(&hc->mu);
		if (hc->stop)
			break;
		if (collect(hc, &p, n)) {
			pthread_mutex_unlock(&hc->mu);
			if (hc->cb)
				hc->cb(hc->data);
			pthread_mutex_lock(&hc->mu);
		}
	}
	pthread_mutex_unlock(&hc->mu);
	free(p.pfd);
	free(p.keys);
	return NULL;
}

/* ---- the interface ---- */

int lb_health_open(lb_health_cb cb, void *data, struct lb_health_checker **out)
{
	struct lb_health_checker *hc = calloc(1, sizeof(*hc));
	sigset_t all, old;
	int ret;

	if (!hc)
		return -ENOMEM;
	hc->cb = cb;
	hc->data = data;
	hc->wake[0] = hc->wake[1] = -1;
	pthread_mutex_init(&hc->mu, NULL);
	if (pipe2(hc->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
		ret = -errno;
		goto fail;
	}
	/* The checker takes no signal: the agent's signal thread does. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&hc->thread, NULL, run, hc);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret < 0)
		goto fail;
	hc->started = true;
	*out = hc;
	return 0;
fail:
	lb_health_close(hc);
	return ret;
}

static int dead_add(struct lb_health_checker *hc, int fd)
{
	if (hc->n_dead == hc->cap_dead) {
		size_t cap = hc->cap_dead ? hc->cap_dead * 2 : 16;
		int *v = realloc(hc->dead, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		hc->dead = v;
		hc->cap_dead = cap;
	}
	hc->dead[hc->n_dead++] = fd;
	return 0;
}

int lb_health_set(struct lb_health_checker *hc, const struct lb_config *cfg)
{
	struct target *t = NULL;
	uint64_t now = now_ms();
	size_t n = 0, total = 0;
	int ret = 0;

	for (size_t i = 0; i < cfg->n; i++)
		if (cfg->frontends[i].health.interval_ms)
			total += cfg->frontends[i].n_backends;
	if (total) {
		t = calloc(total, sizeof(*t));
		if (!t)
			return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->n; i++) {
		const struct lb_frontend *f = &cfg->frontends[i];

		if (!f->health.interval_ms)
			continue;
		for (size_t k = 0; k < f->n_backends; k++) {
			struct target *x = &t[n++];

			x->id = f->id;
			x->addr = f->backends[k].addr;
			x->port = f->backends[k].port;
			x->check_port = f->health.port ? f->health.port : x->port;
			x->interval_ms = f->health.interval_ms;
			x->timeout_ms = f->health.timeout_ms;
			x->rise = f->health.rise ? f->health.rise : 1;
			x->fall = f->health.fall ? f->health.fall : 1;
			snprintf(x->name, sizeof(x->name), "%s", f->name);
		}
	}
	if (n)
		qsort(t, n, sizeof(*t), target_cmp);

	pthread_mutex_lock(&hc->mu);
	for (size_t i = 0; i < n; i++) {
		struct target *x = &t[i];
		struct target *old = find(hc->t, hc->n, x->id, x->addr, x->port);

		if (!old) {
			/* New: up until checks say otherwise, and checked at once. */
			x->up = true;
			x->fd = -1;
			x->next_ms = now;
			continue;
		}
		x->up = old->up;
		x->ok_run = old->ok_run;
		x->fail_run = old->fail_run;
		x->fd = old->fd;
		x->deadline_ms = old->deadline_ms;
		x->next_ms = old->next_ms;
		if (x->next_ms > now + x->interval_ms)
			x->next_ms = now + x->interval_ms; /* a shorter interval applies now */
		old->fd = -1;                              /* moved */
	}
	for (size_t i = 0; i < hc->n; i++)
		if (hc->t[i].fd >= 0 && dead_add(hc, hc->t[i].fd) < 0) {
			/*
			 * Closed here at worst: the thread's poll keeps the socket alive
			 * until it returns, and it settles only the descriptors of
			 * targets it still has, which this one no longer is.
			 */
			close(hc->t[i].fd);
			ret = -ENOMEM;
		}
	free(hc->t);
	hc->t = t;
	hc->n = n;
	pthread_mutex_unlock(&hc->mu);
	wake(hc);
	return ret;
}

bool lb_health_up(struct lb_health_checker *hc, uint64_t id, struct in_addr addr, uint16_t port)
{
	const struct target *t;
	bool up;

	pthread_mutex_lock(&hc->mu);
	t = find(hc->t, hc->n, id, addr, port);
	up = !t || t->up;
	pthread_mutex_unlock(&hc->mu);
	return up;
}

void lb_health_close(struct lb_health_checker *hc)
{
	if (!hc)
		return;
	if (hc->started) {
		pthread_mutex_lock(&hc->mu);
		hc->stop = true;
		pthread_mutex_unlock(&hc->mu);
		wake(hc);
		pthread_join(hc->thread, NULL);
	}
	for (size_t i = 0; i < hc->n; i++)
		if (hc->t[i].fd >= 0)
			close(hc->t[i].fd);
	for (size_t i = 0; i < hc->n_dead; i++)
		close(hc->dead[i]);
	if (hc->wake[0] >= 0)
		close(hc->wake[0]);
	if (hc->wake[1] >= 0)
		close(hc->wake[1]);
	pthread_mutex_destroy(&hc->mu);
	free(hc->t);
	free(hc->dead);
	free(hc);
}
