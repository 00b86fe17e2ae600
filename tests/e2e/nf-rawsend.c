// SPDX-License-Identifier: Apache-2.0
/*
 * nf-rawsend: sends one arbitrary message to an nng req/rep endpoint and
 * prints what comes back. The end-to-end tests use it to throw malformed,
 * truncated and oversized messages at the controller's API socket and agent
 * port, then check that the controller is still serving. It knows nothing of
 * netfn's protocol beyond --frame, which builds one well-formed envelope
 * whose body is N zero bytes (a valid outer message around an invalid inner
 * one, or simply a big one).
 *
 * Output: "reply LEN HEX" (at most the first 4096 bytes in hex) and exit 0 when
 * a reply arrived; "noreply ERROR" and exit 2 when the send failed, the peer
 * dropped the message or closed the connection, or the timeout passed;
 * exit 1 on usage or local errors (including a failed dial).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

/* Largest message this tool builds: enough to exceed any sane frame limit. */
#define MAX_PAYLOAD (64u << 20)
/* How many reply bytes are printed: enough for a whole error Response. */
#define SHOW_BYTES 4096

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: nf-rawsend URL (--file F | --hex HEX | --random N | --zeros N | --frame N)\n"
	    "                  [--method M] [--timeout MS]\n");
	exit(1);
}

static bool parse_size(const char *s, size_t *out)
{
	char *end = NULL;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v > MAX_PAYLOAD) {
		fprintf(stderr, "nf-rawsend: bad size '%s' (0..%u)\n", s, MAX_PAYLOAD);
		return false;
	}
	*out = (size_t)v;
	return true;
}

static int read_file(const char *path, uint8_t **buf, size_t *len)
{
	struct stat st;
	uint8_t *b = NULL;
	size_t got = 0;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto cleanup;
	}
	if ((uint64_t)st.st_size > MAX_PAYLOAD) {
		ret = -EFBIG;
		goto cleanup;
	}
	b = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!b) {
		ret = -ENOMEM;
		goto cleanup;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			goto cleanup;
		}
		got += (size_t)n;
	}
	*buf = b;
	*len = got;
	b = NULL;
cleanup:
	free(b);
	close(fd);
	return ret;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int from_hex(const char *s, uint8_t **buf, size_t *len)
{
	size_t n = strlen(s);
	uint8_t *b;

	if (n % 2)
		return -EINVAL;
	b = malloc(n / 2 + 1);
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(b);
			return -EINVAL;
		}
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	*buf = b;
	*len = n / 2;
	return 0;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/*
 * A netfn.Request envelope: method (field 1) and a body (field 4) of n zero
 * bytes. Zero is never a valid protobuf tag, so any decoder of the body must
 * reject it; the envelope around it is well formed.
 */
static int make_frame(const char *method, size_t n, uint8_t **buf, size_t *len)
{
	size_t mlen = strlen(method), off = 0;
	uint8_t *b;

	if (mlen > 127)
		return -EINVAL;
	b = calloc(1, 2 + mlen + 1 + 10 + n);
	if (!b)
		return -ENOMEM;
	b[off++] = 0x0a; /* field 1, length-delimited */
	b[off++] = (uint8_t)mlen;
	memcpy(b + off, method, mlen);
	off += mlen;
	b[off++] = 0x22; /* field 4, length-delimited */
	off += put_varint(b + off, n);
	off += n; /* calloc'd: the body is zeros */
	*buf = b;
	*len = off;
	return 0;
}

static int make_random(size_t n, uint8_t **buf, size_t *len)
{
	uint8_t *b = malloc(n ? n : 1);
	size_t got = 0;
	int fd, ret = 0;

	if (!b)
		return -ENOMEM;
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(b);
		return -errno;
	}
	while (got < n) {
		ssize_t r = read(fd, b + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = r < 0 ? -errno : -EIO;
			break;
		}
		got += (size_t)r;
	}
	close(fd);
	if (ret) {
		free(b);
		return ret;
	}
	*buf = b;
	*len = n;
	return 0;
}

int main(int argc, char **argv)
{
	const char *url, *method = "status";
	const char *mode = NULL, *arg = NULL;
	nng_duration timeout = 3000;
	nng_socket sock = NNG_SOCKET_INITIALIZER;
	uint8_t *payload = NULL, *reply = NULL;
	size_t len = 0, rlen = 0, n = 0;
	int ret, status = 1;

	if (argc < 4)
		usage();
	url = argv[1];
	for (int i = 2; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--method")) {
			method = argv[++i];
		} else if (!strcmp(argv[i], "--timeout")) {
			timeout = atoi(argv[++i]);
			if (timeout <= 0)
				usage();
		} else if (!strcmp(argv[i], "--file") || !strcmp(argv[i], "--hex") ||
		           !strcmp(argv[i], "--random") || !strcmp(argv[i], "--zeros") ||
		           !strcmp(argv[i], "--frame")) {
			if (mode)
				usage();
			mode = argv[i];
			arg = argv[++i];
		} else {
			usage();
		}
	}
	if (!mode)
		usage();

	if (!strcmp(mode, "--file")) {
		ret = read_file(arg, &payload, &len);
	} else if (!strcmp(mode, "--hex")) {
		ret = from_hex(arg, &payload, &len);
	} else {
		if (!parse_size(arg, &n))
			goto cleanup;
		if (!strcmp(mode, "--random"))
			ret = make_random(n, &payload, &len);
		else if (!strcmp(mode, "--zeros"))
			ret = (payload = calloc(1, n ? n : 1)) ? (len = n, 0) : -ENOMEM;
		else
			ret = make_frame(method, n, &payload, &len);
	}
	if (ret) {
		fprintf(stderr, "nf-rawsend: cannot build the message: %s\n", strerror(-ret));
		goto cleanup;
	}

	ret = nng_req0_open(&sock);
	if (ret) {
		fprintf(stderr, "nf-rawsend: req0 open: %s\n", nng_strerror(ret));
		goto cleanup;
	}
	/* Accept a reply of any size: the test wants to see what comes back. */
	if ((ret = nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, 0)) ||
	    (ret = nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, timeout)) ||
	    (ret = nng_socket_set_ms(sock, NNG_OPT_SENDTIMEO, timeout))) {
		fprintf(stderr, "nf-rawsend: socket options: %s\n", nng_strerror(ret));
		goto cleanup;
	}
	ret = nng_dial(sock, url, NULL, 0);
	if (ret) {
		fprintf(stderr, "nf-rawsend: dial %s: %s\n", url, nng_strerror(ret));
		goto cleanup;
	}

	ret = nng_send(sock, payload, len, 0);
	if (!ret)
		ret = nng_recv(sock, &reply, &rlen, NNG_FLAG_ALLOC);
	if (ret) {
		printf("noreply %s\n", nng_strerror(ret));
		status = 2;
		goto cleanup;
	}
	printf("reply %zu ", rlen);
	for (size_t i = 0; i < rlen && i < SHOW_BYTES; i++)
		printf("%02x", reply[i]);
	printf("\n");
	status = 0;
cleanup:
	if (reply)
		nng_free(reply, rlen);
	free(payload);
	/*
	 * No nng_close(): with libnng 1.5.2, closing a req0 socket whose peer
	 * swallowed a large request without answering can block forever. The
	 * process is about to exit, which closes every connection anyway.
	 */
	fflush(stdout);
	_exit(status);
}
