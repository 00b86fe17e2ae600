// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the health checker (no root): real listeners on 127.0.0.1.
 * Checks run every interval on the dot; a backend starts up, goes down
 * after fall failed checks once its listener closes (within fall intervals)
 * and up after rise good ones once it listens again, the callback telling
 * each time; a new config keeps the state of what it keeps; a backend first
 * seen is checked at once; unchecked backends count as up.
 */
#include "netfns/lb/lb_health.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define INTERVAL 100
#define TIMEOUT  50
#define RISE     2
#define FALL     3

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int changes;

static void on_change(void *data)
{
	(void)data;
	pthread_mutex_lock(&mu);
	changes++;
	pthread_mutex_unlock(&mu);
}

static int changes_now(void)
{
	int n;

	pthread_mutex_lock(&mu);
	n = changes;
	pthread_mutex_unlock(&mu);
	return n;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* A non-blocking listener on 127.0.0.1:port (0: any); *port gets the port. */
static int listen_on(uint16_t *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(*port)};
	socklen_t len = sizeof(sin);
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		perror("listener");
		exit(1);
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Accepts (and closes) what is waiting on fd; returns how many. */
static int drain(int fd)
{
	int n = 0, c;

	while ((c = accept(fd, NULL, NULL)) >= 0) {
		close(c);
		n++;
	}
	return n;
}

/* Waits up to limit ms for backend port of frontend 1 to be up (or down); returns ms waited. */
static long wait_for(struct lb_health_checker *hc, uint16_t port, bool up, long limit, int lfd)
{
	struct in_addr lo = {.s_addr = htonl(INADDR_LOOPBACK)};
	long t0 = now_ms();

	while (lb_health_up(hc, 1, lo, port) != up && now_ms() - t0 < limit) {
		if (lfd >= 0)
			drain(lfd);
		sleep_ms(5);
	}
	return now_ms() - t0;
}

static void config(struct lb_config *c, struct lb_backend *be, size_t n)
{
	static struct lb_frontend f[2];

	memset(f, 0, sizeof(f));
	f[0].id = 1;
	strcpy(f[0].name, "test");
	f[0].backends = be;
	f[0].n_backends = n;
	f[0].health = (struct lb_health){
	    .interval_ms = INTERVAL, .timeout_ms = TIMEOUT, .rise = RISE, .fall = FALL};
	/* Checks off: never checked, always up. */
	f[1].id = 2;
	f[1].backends = be;
	f[1].n_backends = n;
	c->n = 2;
	c->frontends = f;
}

int main(void)
{
	struct in_addr lo = {.s_addr = htonl(INADDR_LOOPBACK)};
	struct lb_health_checker *hc = NULL;
	struct lb_backend be[3] = {0};
	struct lb_config cfg = {0};
	uint16_t p1 = 0, p2 = 0, p3 = 0;
	int l1, l2, l3, n, c0;
	long t, t0;

	l1 = listen_on(&p1);
	l2 = listen_on(&p2);
	l3 = listen_on(&p3);
	close(l3); /* p3: a port nobody listens on */
	for (int i = 0; i < 3; i++) {
		be[i].addr = lo;
		be[i].weight = 1;
	}
	be[0].port = p1 < p2 ? p1 : p2;
	be[1].port = p1 < p2 ? p2 : p1;
	if (be[0].port != p1) {
		int x = l1;

		l1 = l2;
		l2 = x;
		p1 = be[0].port;
		p2 = be[1].port;
	}
	config(&cfg, be, 2);

	CHECK(lb_health_open(on_change, NULL, &hc) == 0);
	CHECK(lb_health_up(hc, 1, lo, p1)); /* nothing set yet: up */
	CHECK(lb_health_set(hc, &cfg) == 0);
	CHECK(lb_health_up(hc, 1, lo, p1) && lb_health_up(hc, 1, lo, p2));

	/* Checked at once, then every INTERVAL on the dot: ~10 in a second. */
	sleep_ms(20);
	CHECK(drain(l1) == 1);
	t0 = now_ms();
	n = 0;
	while (now_ms() - t0 < 1000) {
		n += drain(l1);
		sleep_ms(5);
	}
	n += drain(l1);
	printf("  %d checks in 1 s at %d ms\n", n, INTERVAL);
	CHECK(n >= 9 && n <= 11);
	CHECK(lb_health_up(hc, 1, lo, p1) && lb_health_up(hc, 1, lo, p2));
	CHECK(changes_now() == 0);

	/* Listener 1 closes: down after FALL failures, within FALL intervals. */
	close(l1);
	t = wait_for(hc, p1, false, 2000, l2);
	printf("  down after %ld ms (fall %d x %d ms)\n", t, FALL, INTERVAL);
	CHECK(!lb_health_up(hc, 1, lo, p1));
	CHECK(t >= (FALL - 1) * INTERVAL - 10 && t <= FALL * INTERVAL + 30);
	CHECK(lb_health_up(hc, 1, lo, p2)); /* the other stays up */
	sleep_ms(20);
	CHECK(changes_now() == 1);
	CHECK(lb_health_up(hc, 2, lo, p1)); /* unchecked frontend: up */

	/* The same config again keeps the state: still down, not reset to up. */
	CHECK(lb_health_set(hc, &cfg) == 0);
	CHECK(!lb_health_up(hc, 1, lo, p1));

	/* It listens again: up after RISE good checks. */
	l1 = listen_on(&p1);
	t = wait_for(hc, p1, true, 2000, l1);
	printf("  up after %ld ms (rise %d x %d ms)\n", t, RISE, INTERVAL);
	CHECK(lb_health_up(hc, 1, lo, p1));
	CHECK(t >= (RISE - 1) * INTERVAL - 10 && t <= RISE * INTERVAL + 30);
	sleep_ms(20);
	CHECK(changes_now() == 2);

	/* A new backend nobody listens on: up at first, checked at once, down after FALL. */
	be[2].port = p3;
	if (p3 < p2) { /* keep them sorted as conv_lb would */
		struct lb_backend x = be[2];

		be[2] = be[1];
		be[1] = x;
		if (p3 < p1) {
			x = be[1];
			be[1] = be[0];
			be[0] = x;
		}
	}
	config(&cfg, be, 3);
	c0 = changes_now();
	CHECK(lb_health_set(hc, &cfg) == 0);
	CHECK(lb_health_up(hc, 1, lo, p3));
	t = wait_for(hc, p3, false, 2000, l1);
	printf("  new dead backend down after %ld ms\n", t);
	CHECK(!lb_health_up(hc, 1, lo, p3) && t <= (FALL - 1) * INTERVAL + 40);
	CHECK(lb_health_up(hc, 1, lo, p1) && lb_health_up(hc, 1, lo, p2));
	sleep_ms(20);
	CHECK(changes_now() == c0 + 1);

	/* Dropped from the config: forgotten (up, as unchecked). */
	config(&cfg, be, 0);
	CHECK(lb_health_set(hc, &cfg) == 0);
	CHECK(lb_health_up(hc, 1, lo, p3));

	lb_health_close(hc);
	lb_health_close(NULL);
	close(l1);
	close(l2);
	return check_result();
}
