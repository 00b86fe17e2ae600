// SPDX-License-Identifier: Apache-2.0
/*
 * nf-connbench: the load balancer bench's client (bench/lb.sh). Keeps
 * CONCURRENCY TCP connections in flight against ADDR:PORT for SECONDS, each
 * one: connect, read the first line the server sends, close. The close is a
 * reset (SO_LINGER 0), so the client leaves no TIME_WAIT behind and its ports
 * are free again at once; --from spreads the connections over several source
 * addresses when one address's ports are not enough.
 *
 *   nf-connbench ADDR PORT [--concurrency N] [--seconds S] [--threads T]
 *                [--from A[,B...]] [--timeout MS] [--warmup MS]
 *
 * Prints one line:
 *   connbench conns=N rate=R failures=F timeouts=T p50_us=X p99_us=Y max_us=Z
 *             seconds=S concurrency=C threads=T
 * rate is answered connections per second, latency runs from the connect
 * call to the first line's arrival, failures include timeouts. Connections
 * completing during the warm-up are not counted. Exit 0; 1 on usage or
 * local errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FROM    64
#define MAX_THREADS 64
#define MAX_CONC    65536

struct opts {
	struct sockaddr_in dst;
	struct sockaddr_in from[MAX_FROM];
	size_t n_from;
	long concurrency, threads, seconds, timeout_ms, warmup_ms;
};

struct slot {
	int fd; /* -1: idle */
	int64_t start_us;
	size_t got; /* bytes of the first line read so far */
};

struct worker {
	pthread_t tid;
	const struct opts *o;
	size_t n_slots;
	struct slot *slots;
	size_t next_from;
	int64_t count_from_us, stop_us;
	/* results */
	uint64_t conns, failures, timeouts;
	uint32_t *lat_us;
	size_t n_lat, cap_lat;
	int err;
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: nf-connbench ADDR PORT [--concurrency N] [--seconds S] [--threads T]\n"
	        "                    [--from A[,B...]] [--timeout MS] [--warmup MS]\n");
	exit(1);
}

static bool parse_num(const char *s, long min, long max, long *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "nf-connbench: '%s' is not a number in %ld..%ld\n", s, min, max);
		return false;
	}
	*out = v;
	return true;
}

static bool parse_from(char *list, struct opts *o)
{
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		struct sockaddr_in *sa = &o->from[o->n_from];

		if (o->n_from == MAX_FROM) {
			fprintf(stderr, "nf-connbench: at most %d --from addresses\n", MAX_FROM);
			return false;
		}
		memset(sa, 0, sizeof(*sa));
		sa->sin_family = AF_INET;
		if (inet_pton(AF_INET, tok, &sa->sin_addr) != 1) {
			fprintf(stderr, "nf-connbench: '%s' is not an IPv4 address\n", tok);
			return false;
		}
		o->n_from++;
	}
	return true;
}

static bool record(struct worker *w, int64_t start_us, int64_t end_us)
{
	uint32_t *n;

	if (end_us < w->count_from_us)
		return true;
	if (w->n_lat == w->cap_lat) {
		w->cap_lat = w->cap_lat ? w->cap_lat * 2 : 65536;
		n = realloc(w->lat_us, w->cap_lat * sizeof(*n));
		if (!n)
			return false;
		w->lat_us = n;
	}
	w->lat_us[w->n_lat++] = (uint32_t)(end_us - start_us);
	w->conns++;
	return true;
}

/* Closes a slot's connection with a reset: no TIME_WAIT, the port is free at once. */
static void slot_close(int ep, struct slot *s)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};

	if (s->fd < 0)
		return;
	epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
	setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(s->fd);
	s->fd = -1;
}

/* Counts a failed connection (not during the warm-up). */
static void slot_fail(struct worker *w, bool timeout)
{
	if (now_us() < w->count_from_us)
		return;
	w->failures++;
	w->timeouts += timeout;
}

/* Starts a new connection in s; -errno on a local error (no socket, no port). */
static int slot_start(struct worker *w, int ep, struct slot *s)
{
	const struct opts *o = w->o;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
	int fd, one = 1, ret;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (o->n_from) {
		/* The port is picked at connect time, per destination: more ports per address. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, (const struct sockaddr *)&o->from[w->next_from], sizeof(o->from[0])) <
		    0) {
			ret = -errno;
			close(fd);
			return ret;
		}
		w->next_from = (w->next_from + 1) % o->n_from;
	}
	s->fd = fd;
	s->got = 0;
	s->start_us = now_us();
	if (connect(fd, (const struct sockaddr *)&o->dst, sizeof(o->dst)) < 0 &&
	    errno != EINPROGRESS) {
		ret = -errno;
		slot_close(ep, s);
		/* Out of ports is local; a refusal is the load balancer's answer. */
		if (ret == -EADDRNOTAVAIL || ret == -EMFILE || ret == -ENFILE)
			return ret;
		slot_fail(w, false);
		return 0;
	}
	/* The server speaks first: readable means answered, reset or refused. */
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		ret = -errno;
		slot_close(ep, s);
		return ret;
	}
	return 0;
}

/* Reads what arrived on s: 0 while waiting, 1 answered, -1 failed. */
static int slot_read(struct worker *w, struct slot *s)
{
	char buf[256];
	ssize_t n;

	for (;;) {
		n = recv(s->fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			slot_fail(w, false);
			return -1;
		}
		if (memchr(buf, '\n', (size_t)n)) {
			if (!record(w, s->start_us, now_us()))
				w->err = -ENOMEM;
			return 1;
		}
		s->got += (size_t)n;
	}
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[512];
	int64_t timeout_us = w->o->timeout_ms * 1000, next_scan = 0, t;
	int ep, n, ret;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		w->err = -errno;
		return NULL;
	}
	for (size_t i = 0; i < w->n_slots; i++) {
		w->slots[i].fd = -1;
		if ((ret = slot_start(w, ep, &w->slots[i]))) {
			w->err = ret;
			goto cleanup;
		}
	}
	while ((t = now_us()) < w->stop_us && !w->err) {
		n = epoll_wait(ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), 50);
		if (n < 0 && errno != EINTR) {
			w->err = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			struct slot *s = evs[i].data.ptr;

			if (s->fd < 0 || !(ret = slot_read(w, s)))
				continue;
			slot_close(ep, s);
			/* A failed slot waits for the next scan: no spinning on refusals. */
			if (ret > 0 && (ret = slot_start(w, ep, s)))
				w->err = ret;
		}
		t = now_us();
		if (t < next_scan)
			continue;
		next_scan = t + 50000;
		for (size_t i = 0; i < w->n_slots; i++) {
			struct slot *s = &w->slots[i];

			if (s->fd >= 0 && t - s->start_us < timeout_us)
				continue;
			if (s->fd >= 0) {
				slot_fail(w, true);
				slot_close(ep, s);
			}
			if ((ret = slot_start(w, ep, s)))
				w->err = ret;
		}
	}
cleanup:
	/* Connections still in flight at the end are not counted either way. */
	for (size_t i = 0; i < w->n_slots; i++)
		slot_close(ep, &w->slots[i]);
	close(ep);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v. */
static uint32_t pct(const uint32_t *v, size_t n, unsigned p)
{
	size_t r;

	if (!n)
		return 0;
	r = (p * n + 99) / 100;
	return v[r ? r - 1 : 0];
}

int main(int argc, char **argv)
{
	struct opts o = {.concurrency = 32, .threads = 1, .seconds = 5, .timeout_ms = 2000};
	struct worker *ws = NULL;
	struct slot *slots = NULL;
	uint32_t *all = NULL;
	uint64_t conns = 0, failures = 0, timeouts = 0;
	struct rlimit rl;
	int64_t start, count_from, stop;
	size_t n_all = 0, at = 0;
	long port;
	int status = 1;

	if (argc < 3)
		usage();
	o.dst.sin_family = AF_INET;
	if (inet_pton(AF_INET, argv[1], &o.dst.sin_addr) != 1 ||
	    !parse_num(argv[2], 1, 65535, &port))
		usage();
	o.dst.sin_port = htons((uint16_t)port);
	for (int i = 3; i < argc; i++) {
		const char *a = argv[i];

		if (i + 1 >= argc)
			usage();
		if (!strcmp(a, "--concurrency")) {
			if (!parse_num(argv[++i], 1, MAX_CONC, &o.concurrency))
				return 1;
		} else if (!strcmp(a, "--seconds")) {
			if (!parse_num(argv[++i], 1, 3600, &o.seconds))
				return 1;
		} else if (!strcmp(a, "--threads")) {
			if (!parse_num(argv[++i], 1, MAX_THREADS, &o.threads))
				return 1;
		} else if (!strcmp(a, "--timeout")) {
			if (!parse_num(argv[++i], 1, 600000, &o.timeout_ms))
				return 1;
		} else if (!strcmp(a, "--warmup")) {
			if (!parse_num(argv[++i], 0, 600000, &o.warmup_ms))
				return 1;
		} else if (!strcmp(a, "--from")) {
			if (!parse_from(argv[++i], &o))
				return 1;
		} else {
			usage();
		}
	}
	if (o.threads > o.concurrency)
		o.threads = o.concurrency;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	ws = calloc((size_t)o.threads, sizeof(*ws));
	slots = calloc((size_t)o.concurrency, sizeof(*slots));
	if (!ws || !slots) {
		fprintf(stderr, "nf-connbench: out of memory\n");
		goto cleanup;
	}
	start = now_us();
	count_from = start + o.warmup_ms * 1000;
	stop = count_from + o.seconds * 1000000;
	for (long t = 0; t < o.threads; t++) {
		struct worker *w = &ws[t];

		w->o = &o;
		w->n_slots = (size_t)(o.concurrency / o.threads + (t < o.concurrency % o.threads));
		w->slots = slots + at;
		at += w->n_slots;
		w->next_from = (size_t)t % (o.n_from ? o.n_from : 1);
		w->count_from_us = count_from;
		w->stop_us = stop;
		if (pthread_create(&w->tid, NULL, worker_run, w)) {
			fprintf(stderr, "nf-connbench: cannot start thread %ld\n", t);
			o.threads = t;
			goto join;
		}
	}
join:
	for (long t = 0; t < o.threads; t++) {
		pthread_join(ws[t].tid, NULL);
		if (ws[t].err) {
			fprintf(stderr, "nf-connbench: worker %ld: %s\n", t, strerror(-ws[t].err));
			goto cleanup;
		}
		conns += ws[t].conns;
		failures += ws[t].failures;
		timeouts += ws[t].timeouts;
		n_all += ws[t].n_lat;
	}
	all = malloc((n_all ? n_all : 1) * sizeof(*all));
	if (!all) {
		fprintf(stderr, "nf-connbench: out of memory\n");
		goto cleanup;
	}
	n_all = 0;
	for (long t = 0; t < o.threads; t++) {
		memcpy(all + n_all, ws[t].lat_us, ws[t].n_lat * sizeof(*all));
		n_all += ws[t].n_lat;
	}
	qsort(all, n_all, sizeof(*all), cmp_u32);
	printf("connbench conns=%llu rate=%.0f failures=%llu timeouts=%llu p50_us=%u p99_us=%u "
	       "max_us=%u seconds=%ld concurrency=%ld threads=%ld\n",
	       (unsigned long long)conns, (double)conns / (double)o.seconds,
	       (unsigned long long)failures, (unsigned long long)timeouts, pct(all, n_all, 50),
	       pct(all, n_all, 99), n_all ? all[n_all - 1] : 0, o.seconds, o.concurrency,
	       o.threads);
	status = 0;
cleanup:
	if (ws)
		for (long t = 0; t < o.threads; t++)
			free(ws[t].lat_us);
	free(all);
	free(ws);
	free(slots);
	return status;
}
