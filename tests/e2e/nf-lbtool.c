// SPDX-License-Identifier: Apache-2.0
/*
 * nf-lbtool: the servers and clients the load balancer scenarios drive.
 *
 *   serve [--udp] ADDR PORT NAME
 *       TCP: accepts connections until killed; writes "NAME\n" to each new
 *       one, then answers every line it receives with "NAME LINE\n" until the
 *       peer closes. UDP: answers every datagram with "NAME\n".
 *   connect [--udp] ADDR PORT COUNT [--timeout MS] [--from SRCADDR]
 *       COUNT sequential new connections (UDP: a new socket, so a new source
 *       port, per datagram); prints one line per connection: the NAME that
 *       answered, or TIMEOUT, REFUSED, RESET or "ERROR message". Each TCP
 *       connection is closed with a reset (SO_LINGER 0), so no TIME_WAIT
 *       piles up in the client. Exit 0 when every connection was answered,
 *       3 when some were not (the lines are printed either way).
 *   hold ADDR PORT SECONDS
 *       One connection kept for SECONDS, a line sent every 100 ms and its
 *       echo awaited; prints the answering NAME once (flushed at once, so a
 *       test can read it while the connection is held). Exit 0 when the
 *       connection lasted with the same backend answering every line; 1 when
 *       it broke (reset, closed, or no echo within 2 s); 2 when another
 *       backend answered. The reason is on stderr. SIGTERM ends the hold
 *       early, with the same verdict on the lines sent so far.
 *
 * Exit 1 on usage or local errors (bind, socket) as well.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
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

/* A backend name, and a line the servers echo: the tests send short lines. */
#define NAME_MAX_LEN 64
#define LINE_MAX_LEN 512
/* hold: how long an echo may take before the connection counts as broken. */
#define HOLD_ECHO_MS  2000
#define HOLD_EVERY_MS 100

static const char *prog = "nf-lbtool";

static void usage(void)
{
	fprintf(stderr, "usage: nf-lbtool serve [--udp] ADDR PORT NAME\n"
	                "       nf-lbtool connect [--udp] ADDR PORT COUNT [--timeout MS] "
	                "[--from SRCADDR]\n"
	                "       nf-lbtool hold ADDR PORT SECONDS\n");
	exit(1);
}

static bool parse_num(const char *s, long min, long max, long *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "%s: '%s' is not a number in %ld..%ld\n", prog, s, min, max);
		return false;
	}
	*out = v;
	return true;
}

static bool parse_addr(const char *addr, const char *port, struct sockaddr_in *sa)
{
	long p;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (inet_pton(AF_INET, addr, &sa->sin_addr) != 1) {
		fprintf(stderr, "%s: '%s' is not an IPv4 address\n", prog, addr);
		return false;
	}
	if (port) {
		if (!parse_num(port, 0, 65535, &p))
			return false;
		sa->sin_port = htons((uint16_t)p);
	}
	return true;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd has events (or the deadline passes: 0); -errno on error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	int64_t left;
	int n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n > 0)
			return 1;
	}
}

/* Reset on close: no TIME_WAIT in the client, whatever the test's pace. */
static void close_reset(int fd)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/*
 * Reads one '\n'-terminated line (without the '\n') into buf, byte by byte
 * so nothing after it is consumed. 0, -ETIMEDOUT, -ECONNRESET when the peer
 * closed or reset, or another -errno.
 */
static int read_line(int fd, char *buf, size_t size, int64_t deadline)
{
	size_t len = 0;
	ssize_t n;
	int ret;
	char c;

	for (;;) {
		ret = wait_fd(fd, POLLIN, deadline);
		if (ret <= 0)
			return ret ? ret : -ETIMEDOUT;
		n = recv(fd, &c, 1, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return errno == ECONNREFUSED ? -ECONNREFUSED : -ECONNRESET;
		if (n == 0)
			return -ECONNRESET;
		if (c == '\n')
			break;
		if (len + 1 < size)
			buf[len++] = c;
	}
	buf[len] = '\0';
	return 0;
}

/* A non-blocking connect from src (when given) to dst, finished by deadline. */
static int tcp_connect(const struct sockaddr_in *dst, const struct sockaddr_in *src,
                       int64_t deadline, int *out)
{
	socklen_t len = sizeof(int);
	int fd, err = 0, ret;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (src && bind(fd, (const struct sockaddr *)src, sizeof(*src)) < 0) {
		ret = -errno;
		fprintf(stderr, "%s: bind: %s\n", prog, strerror(errno));
		goto cleanup;
	}
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0 && errno != EINPROGRESS) {
		ret = -errno;
		goto cleanup;
	}
	ret = wait_fd(fd, POLLOUT, deadline);
	if (ret <= 0) {
		ret = ret ? ret : -ETIMEDOUT;
		goto cleanup;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
		ret = -(err ? err : errno);
		goto cleanup;
	}
	*out = fd;
	return 0;
cleanup:
	close_reset(fd);
	return ret;
}

static void print_result(int ret, const char *name)
{
	switch (ret) {
	case 0:
		printf("%s\n", name);
		break;
	case -ETIMEDOUT:
		printf("TIMEOUT\n");
		break;
	case -ECONNREFUSED:
	case -EHOSTUNREACH:
	case -ENETUNREACH:
		printf("REFUSED\n");
		break;
	case -ECONNRESET:
		printf("RESET\n");
		break;
	default:
		printf("ERROR %s\n", strerror(-ret));
	}
	fflush(stdout);
}

/* ---- serve --------------------------------------------------------------- */

struct conn {
	int fd;
	size_t len;
	char buf[LINE_MAX_LEN];
};

static void conn_drop(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

/* Sends "NAME LINE\n"; a peer that does not read its echoes is dropped. */
static bool echo_line(int fd, const char *name, const char *line, size_t len)
{
	char out[NAME_MAX_LEN + LINE_MAX_LEN + 2];
	int n = snprintf(out, sizeof(out), "%s %.*s\n", name, (int)len, line);

	return send(fd, out, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n;
}

/* Reads what c's peer sent and echoes each complete line; false: drop c. */
static bool conn_read(struct conn *c, const char *name)
{
	ssize_t n;
	char *nl;

	for (;;) {
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN;
		if (n == 0)
			return false;
		c->len += (size_t)n;
		while ((nl = memchr(c->buf, '\n', c->len))) {
			size_t line = (size_t)(nl - c->buf);

			if (!echo_line(c->fd, name, c->buf, line))
				return false;
			c->len -= line + 1;
			memmove(c->buf, nl + 1, c->len);
		}
		/* A line longer than the buffer is echoed in pieces. */
		if (c->len == sizeof(c->buf)) {
			if (!echo_line(c->fd, name, c->buf, c->len))
				return false;
			c->len = 0;
		}
	}
}

static void accept_all(int ep, int lfd, const char *name, const char *hello, size_t hello_len)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};
	struct conn *c;
	int fd, one = 1;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				fprintf(stderr, "%s: %s: accept: %s\n", prog, name,
				        strerror(errno));
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (!c ||
		    send(fd, hello, hello_len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)hello_len) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
		}
	}
}

/* Many connections at once: the bench's load and the tests' held connections. */
static int serve_tcp(const struct sockaddr_in *sa, const char *name)
{
	struct epoll_event ev = {.events = EPOLLIN}, evs[256];
	struct rlimit rl;
	char hello[NAME_MAX_LEN + 2];
	int lfd = -1, ep = -1, one = 1, n, ret = 0;
	size_t hello_len;

	/* As many connections as the hard limit allows. */
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	hello_len = (size_t)snprintf(hello, sizeof(hello), "%s\n", name);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (lfd < 0 || ep < 0) {
		ret = -errno;
		goto cleanup;
	}
	/* A restarted server must bind while its old connections linger. */
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(lfd, 4096) < 0) {
		ret = -errno;
		goto cleanup;
	}
	ev.data.ptr = NULL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
		ret = -errno;
		goto cleanup;
	}
	fprintf(stderr, "%s: %s serving tcp on %s:%u\n", prog, name, inet_ntoa(sa->sin_addr),
	        ntohs(sa->sin_port));
	for (;;) {
		n = epoll_wait(ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto cleanup;
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (!c)
				accept_all(ep, lfd, name, hello, hello_len);
			else if (!conn_read(c, name))
				conn_drop(ep, c);
		}
	}
cleanup:
	if (ret)
		fprintf(stderr, "%s: %s: serve tcp: %s\n", prog, name, strerror(-ret));
	if (ep >= 0)
		close(ep);
	if (lfd >= 0)
		close(lfd);
	return ret;
}

static int serve_udp(const struct sockaddr_in *sa, const char *name)
{
	char hello[NAME_MAX_LEN + 2], buf[LINE_MAX_LEN];
	struct sockaddr_in peer;
	socklen_t plen;
	size_t hello_len;
	int fd, one = 1, ret = 0;

	hello_len = (size_t)snprintf(hello, sizeof(hello), "%s\n", name);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		ret = -errno;
		goto cleanup;
	}
	fprintf(stderr, "%s: %s serving udp on %s:%u\n", prog, name, inet_ntoa(sa->sin_addr),
	        ntohs(sa->sin_port));
	for (;;) {
		plen = sizeof(peer);
		if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen) < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto cleanup;
		}
		sendto(fd, hello, hello_len, 0, (struct sockaddr *)&peer, plen);
	}
cleanup:
	fprintf(stderr, "%s: %s: serve udp: %s\n", prog, name, strerror(-ret));
	close(fd);
	return ret;
}

/* ---- connect ------------------------------------------------------------- */

static int one_tcp(const struct sockaddr_in *dst, const struct sockaddr_in *src, int timeout_ms,
                   char *name, size_t size)
{
	int64_t deadline = now_ms() + timeout_ms;
	int fd = -1, ret;

	ret = tcp_connect(dst, src, deadline, &fd);
	if (ret)
		return ret;
	ret = read_line(fd, name, size, deadline);
	close_reset(fd);
	return ret;
}

static int one_udp(const struct sockaddr_in *dst, const struct sockaddr_in *src, int timeout_ms,
                   char *name, size_t size)
{
	int64_t deadline = now_ms() + timeout_ms;
	ssize_t n;
	int fd, ret;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if ((src && bind(fd, (const struct sockaddr *)src, sizeof(*src)) < 0) ||
	    connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0 ||
	    send(fd, "hello\n", 6, 0) != 6) {
		ret = -errno;
		goto cleanup;
	}
	for (;;) {
		ret = wait_fd(fd, POLLIN, deadline);
		if (ret <= 0) {
			ret = ret ? ret : -ETIMEDOUT;
			goto cleanup;
		}
		n = recv(fd, name, size - 1, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			ret = -errno;
			goto cleanup;
		}
		name[n] = '\0';
		name[strcspn(name, "\n")] = '\0';
		ret = 0;
		goto cleanup;
	}
cleanup:
	close(fd);
	return ret;
}

static int cmd_connect(int argc, char **argv)
{
	struct sockaddr_in dst, src, *srcp = NULL;
	const char *pos[3];
	char name[NAME_MAX_LEN + 1];
	long count, timeout = 2000;
	bool udp = false, failed = false;
	int npos = 0, ret;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--udp")) {
			udp = true;
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			if (!parse_num(argv[++i], 1, 600000, &timeout))
				return 1;
		} else if (!strcmp(argv[i], "--from") && i + 1 < argc) {
			if (!parse_addr(argv[++i], NULL, &src))
				return 1;
			srcp = &src;
		} else if (argv[i][0] != '-' && npos < 3) {
			pos[npos++] = argv[i];
		} else {
			usage();
		}
	}
	if (npos != 3)
		usage();
	if (!parse_addr(pos[0], pos[1], &dst) || !parse_num(pos[2], 1, 1000000, &count))
		return 1;
	for (long i = 0; i < count; i++) {
		ret = udp ? one_udp(&dst, srcp, (int)timeout, name, sizeof(name))
		          : one_tcp(&dst, srcp, (int)timeout, name, sizeof(name));
		if (ret == -EADDRNOTAVAIL || ret == -EINVAL) {
			fprintf(stderr, "%s: connect: %s\n", prog, strerror(-ret));
			return 1;
		}
		print_result(ret, name);
		failed |= ret != 0;
	}
	return failed ? 3 : 0;
}

/* ---- hold ---------------------------------------------------------------- */

/* SIGTERM ends a hold early, as a success if it went well so far. */
static volatile sig_atomic_t hold_stop;

static void on_term(int sig)
{
	(void)sig;
	hold_stop = 1;
}

static int cmd_hold(int argc, char **argv)
{
	char name[NAME_MAX_LEN + 1], line[NAME_MAX_LEN + LINE_MAX_LEN + 2], want[LINE_MAX_LEN];
	struct sigaction sa = {.sa_handler = on_term};
	struct sockaddr_in dst;
	int64_t end, next;
	long secs, sent = 0;
	int fd = -1, ret, status = 1, n;

	if (argc != 3)
		usage();
	if (!parse_addr(argv[0], argv[1], &dst) || !parse_num(argv[2], 1, 86400, &secs))
		return 1;
	ret = tcp_connect(&dst, NULL, now_ms() + 3000, &fd);
	if (!ret)
		ret = read_line(fd, name, sizeof(name), now_ms() + 3000);
	if (ret) {
		print_result(ret, name);
		fprintf(stderr, "%s: hold: no connection: %s\n", prog, strerror(-ret));
		goto cleanup;
	}
	printf("%s\n", name);
	fflush(stdout);
	sigaction(SIGTERM, &sa, NULL);
	end = now_ms() + secs * 1000;
	for (next = now_ms(); next < end && !hold_stop; next += HOLD_EVERY_MS) {
		while (now_ms() < next && !hold_stop)
			usleep(10000);
		n = snprintf(want, sizeof(want), "ping %ld", ++sent);
		if (send(fd, want, (size_t)n, MSG_NOSIGNAL) != n ||
		    send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
			fprintf(stderr, "%s: hold: %s: send %ld failed: %s\n", prog, name, sent,
			        strerror(errno));
			goto cleanup;
		}
		ret = read_line(fd, line, sizeof(line), now_ms() + HOLD_ECHO_MS);
		if (ret) {
			fprintf(stderr, "%s: hold: %s: no echo of line %ld: %s\n", prog, name, sent,
			        strerror(-ret));
			goto cleanup;
		}
		if (strncmp(line, name, strlen(name)) || line[strlen(name)] != ' ') {
			fprintf(stderr,
			        "%s: hold: line %ld answered by another backend: '%s' (was %s)\n",
			        prog, sent, line, name);
			status = 2;
			goto cleanup;
		}
		if (strcmp(line + strlen(name) + 1, want)) {
			fprintf(stderr, "%s: hold: %s: line %ld echoed as '%s'\n", prog, name, sent,
			        line);
			goto cleanup;
		}
	}
	fprintf(stderr, "%s: hold: %s answered all %ld lines%s\n", prog, name, sent,
	        hold_stop ? " (stopped by SIGTERM)" : "");
	status = 0;
cleanup:
	if (fd >= 0)
		close_reset(fd);
	return status;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	bool udp = false;
	int i = 2;

	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "serve")) {
		if (i < argc && !strcmp(argv[i], "--udp")) {
			udp = true;
			i++;
		}
		if (argc - i != 3)
			usage();
		if (!parse_addr(argv[i], argv[i + 1], &sa))
			return 1;
		if (!argv[i + 2][0] || strlen(argv[i + 2]) > NAME_MAX_LEN ||
		    strchr(argv[i + 2], ' ')) {
			fprintf(stderr, "%s: NAME must be 1-%d characters without spaces\n", prog,
			        NAME_MAX_LEN);
			return 1;
		}
		setvbuf(stderr, NULL, _IOLBF, 0);
		return (udp ? serve_udp(&sa, argv[i + 2]) : serve_tcp(&sa, argv[i + 2])) ? 1 : 0;
	}
	if (!strcmp(argv[1], "connect"))
		return cmd_connect(argc - 2, argv + 2);
	if (!strcmp(argv[1], "hold"))
		return cmd_hold(argc - 2, argv + 2);
	usage();
	return 1;
}
