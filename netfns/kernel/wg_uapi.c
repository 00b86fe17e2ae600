// SPDX-License-Identifier: Apache-2.0
/*
 * Userspace WireGuard: wireguard-go driven through its UAPI socket, for
 * kernels without the WireGuard module. wireguard-go daemonizes itself (the
 * process we start creates the tun device and the socket, hands both to a
 * re-executed child and exits), so the data plane outlives the agent, which
 * is the point: an agent restart or SIGTERM must not drop the overlay.
 *
 * Starting it is the only process spawn in the agent: a fixed path and argv,
 * a fixed environment, its own session (a signal to the agent's process group
 * must not reach it), no inherited file descriptors, and its output captured
 * only to explain a failure (it prints a banner on every start).
 */
#include "netfns/kernel/wg_uapi.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "netfns/common/daemon.h"
#include "netfns/common/log.h"
#include "netfns/common/prefix.h"
#include "netfns/kernel/rtnl.h"

/* A hub with thousands of peers answers a get with a few hundred KiB. */
#define REPLY_MAX    (64u << 20)
#define IO_TIMEOUT_S 5

/* ---- the text protocol ---- */

bool wg_uapi_valid_ifname(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	/* Also an argv element and a path component: no option look-alikes, no '/'. */
	if (n == 0 || n >= IFNAMSIZ || s[0] == '-' || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* Longest line we write for one allowed IP, endpoint or key, with margin. */
#define LINE_MAX_LEN 160

static void put_line(char *buf, size_t size, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void put_line(char *buf, size_t size, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *pos, size - *pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += (size_t)n < size - *pos ? (size_t)n : size - *pos - 1;
}

static void put_key(char *buf, size_t size, size_t *pos, const char *name,
                    const uint8_t key[WG_KEY_LEN])
{
	char hex[2 * WG_KEY_LEN + 1];

	sodium_bin2hex(hex, sizeof(hex), key, WG_KEY_LEN);
	put_line(buf, size, pos, "%s=%s\n", name, hex);
	sodium_memzero(hex, sizeof(hex));
}

static void put_endpoint(char *buf, size_t size, size_t *pos, const union wg_endpoint *ep)
{
	struct sockaddr_storage ss = {0};
	char text[96];

	if (ep->addr.sa_family == AF_INET)
		memcpy(&ss, &ep->addr4, sizeof(ep->addr4));
	else if (ep->addr.sa_family == AF_INET6)
		memcpy(&ss, &ep->addr6, sizeof(ep->addr6));
	else
		return;
	if (nf_endpoint_format(&ss, text, sizeof(text)))
		put_line(buf, size, pos, "endpoint=%s\n", text);
}

static void put_aip(char *buf, size_t size, size_t *pos, const struct wg_allowedip *a)
{
	struct nf_prefix p = {.family = a->family, .len = a->cidr};
	char text[NF_PREFIX_STRLEN];

	memcpy(p.addr.bytes, a->ip.bytes, sizeof(p.addr.bytes));
	if (nf_prefix_format(&p, text, sizeof(text)))
		put_line(buf, size, pos, "allowed_ip=%s\n", text);
}

int wg_uapi_format_set(const struct wg_device *dev, char **out, size_t *len)
{
	size_t size = 16 + 6 * LINE_MAX_LEN, pos = 0;
	char *buf;

	/* An exact upper bound up front: no realloc leaving key copies behind. */
	for (size_t i = 0; i < dev->n_peers; i++)
		size += 6 * LINE_MAX_LEN + dev->peers[i].n_allowedips * LINE_MAX_LEN;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	put_line(buf, size, &pos, "set=1\n");
	if (dev->flags & WG_DEV_HAS_PRIVATE_KEY)
		put_key(buf, size, &pos, "private_key", dev->private_key);
	if (dev->flags & WG_DEV_HAS_LISTEN_PORT)
		put_line(buf, size, &pos, "listen_port=%u\n", dev->listen_port);
	if (dev->flags & WG_DEV_HAS_FWMARK)
		put_line(buf, size, &pos, "fwmark=%" PRIu32 "\n", dev->fwmark);
	if (dev->flags & WG_DEV_REPLACE_PEERS)
		put_line(buf, size, &pos, "replace_peers=true\n");
	for (size_t i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *p = &dev->peers[i];

		put_key(buf, size, &pos, "public_key", p->public_key);
		if (p->flags & WG_PEER_REMOVE_ME) {
			put_line(buf, size, &pos, "remove=true\n");
			continue;
		}
		put_endpoint(buf, size, &pos, &p->endpoint);
		if (p->flags & WG_PEER_HAS_KEEPALIVE)
			put_line(buf, size, &pos, "persistent_keepalive_interval=%u\n",
			         p->keepalive);
		if (p->flags & WG_PEER_REPLACE_ALLOWEDIPS)
			put_line(buf, size, &pos, "replace_allowed_ips=true\n");
		for (size_t j = 0; j < p->n_allowedips; j++)
			put_aip(buf, size, &pos, &p->allowedips[j]);
	}
	put_line(buf, size, &pos, "\n");
	*out = buf;
	*len = pos;
	return 0;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_key(const char *s, uint8_t key[WG_KEY_LEN])
{
	size_t n = 0;

	if (strlen(s) != 2 * WG_KEY_LEN)
		return false;
	return sodium_hex2bin(key, WG_KEY_LEN, s, 2 * WG_KEY_LEN, NULL, &n, NULL) == 0 &&
	       n == WG_KEY_LEN;
}

/* Applies one peer-level key=value to peer; false when the value is malformed. */
static bool parse_peer_line(struct wg_peer *p, const char *k, const char *v)
{
	uint64_t u;

	if (!strcmp(k, "endpoint")) {
		struct sockaddr_storage ss;

		/*
		 * A link-local endpoint with a zone ("[fe80::1%eth0]:51820") is
		 * not canonical text; leave it out rather than fail the read.
		 */
		if (!nf_endpoint_parse(v, &ss))
			return true;
		memset(&p->endpoint, 0, sizeof(p->endpoint));
		if (ss.ss_family == AF_INET)
			memcpy(&p->endpoint.addr4, &ss, sizeof(p->endpoint.addr4));
		else
			memcpy(&p->endpoint.addr6, &ss, sizeof(p->endpoint.addr6));
	} else if (!strcmp(k, "allowed_ip")) {
		struct nf_prefix pre;
		struct wg_allowedip a = {0};

		if (!nf_prefix_parse(v, false, &pre))
			return false;
		a.family = pre.family;
		a.cidr = pre.len;
		memcpy(a.ip.bytes, pre.addr.bytes, sizeof(a.ip.bytes));
		return wg_peer_add_allowedip(p, &a) == 0;
	} else if (!strcmp(k, "persistent_keepalive_interval")) {
		if (!parse_u64(v, UINT16_MAX, &u))
			return false;
		p->keepalive = (uint16_t)u;
		p->flags |= WG_PEER_HAS_KEEPALIVE;
	} else if (!strcmp(k, "last_handshake_time_sec")) {
		if (!parse_u64(v, INT64_MAX, &u))
			return false;
		p->last_handshake.tv_sec = (time_t)u;
	} else if (!strcmp(k, "last_handshake_time_nsec")) {
		if (!parse_u64(v, 999999999, &u))
			return false;
		p->last_handshake.tv_nsec = (long)u;
	} else if (!strcmp(k, "rx_bytes")) {
		return parse_u64(v, UINT64_MAX, &p->rx_bytes);
	} else if (!strcmp(k, "tx_bytes")) {
		return parse_u64(v, UINT64_MAX, &p->tx_bytes);
	}
	return true; /* preshared_key, protocol_version, and keys yet to come */
}

/* Applies one key=value; *peer is the index of the current peer or SIZE_MAX. */
static int parse_line(struct wg_device *dev, size_t *peer, const char *k, const char *v)
{
	uint64_t u;

	if (!strcmp(k, "public_key")) {
		struct wg_peer *p = wg_device_add_peer(dev);

		if (!p)
			return -ENOMEM;
		if (!parse_key(v, p->public_key))
			return -EBADMSG;
		p->flags |= WG_PEER_HAS_PUBLIC_KEY;
		*peer = dev->n_peers - 1;
		return 0;
	}
	if (*peer != SIZE_MAX)
		return parse_peer_line(&dev->peers[*peer], k, v) ? 0 : -EBADMSG;
	if (!strcmp(k, "private_key")) {
		if (!parse_key(v, dev->private_key))
			return -EBADMSG;
		dev->flags |= WG_DEV_HAS_PRIVATE_KEY;
	} else if (!strcmp(k, "listen_port")) {
		if (!parse_u64(v, UINT16_MAX, &u))
			return -EBADMSG;
		dev->listen_port = (uint16_t)u;
		dev->flags |= WG_DEV_HAS_LISTEN_PORT;
	} else if (!strcmp(k, "fwmark")) {
		if (!parse_u64(v, UINT32_MAX, &u))
			return -EBADMSG;
		dev->fwmark = (uint32_t)u;
		dev->flags |= WG_DEV_HAS_FWMARK;
	}
	return 0;
}

int wg_uapi_parse(const char *text, size_t len, struct wg_device *dev, int *remote_errno)
{
	char line[LINE_MAX_LEN];
	size_t peer = SIZE_MAX, pos = 0;
	int ret = -EBADMSG;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *eq;

		if (!nl || n >= sizeof(line))
			break; /* an unterminated or oversized line: malformed */
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + 1;
		if (n == 0 || memchr(line, '\0', n))
			break;
		eq = strchr(line, '=');
		if (!eq)
			break;
		*eq = '\0';
		if (!strcmp(line, "errno")) {
			long long e;
			char *end;

			errno = 0;
			e = strtoll(eq + 1, &end, 10);
			if (errno || *end || end == eq + 1 || e < -4095 || e > 4095)
				break;
			/* wireguard-go has written both signs over the years. */
			*remote_errno = (int)(e < 0 ? -e : e);
			ret = 0;
			break;
		}
		ret = parse_line(dev, &peer, line, eq + 1);
		if (ret < 0)
			break;
		ret = -EBADMSG; /* until errno= is seen */
	}
	sodium_memzero(line, sizeof(line));
	return ret;
}

/* ---- the socket ---- */

static int sock_path(const char *ifname, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s.sock", WG_UAPI_DIR, ifname);

	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

static int uapi_connect(const char *ifname, int *out)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	int fd, ret;

	ret = sock_path(ifname, sun.sun_path, sizeof(sun.sun_path));
	if (ret < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A wedged daemon must not wedge the agent. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	*out = fd;
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one reply: everything up to and including the blank line that ends it. */
static int read_reply(int fd, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = NULL, *grown;
	ssize_t r;
	int ret = 0;

	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	while (n < 2 || buf[n - 1] != '\n' || buf[n - 2] != '\n') {
		if (n == cap) {
			if (cap >= REPLY_MAX) {
				ret = -EMSGSIZE;
				goto cleanup;
			}
			/* Grow by copying, so the freed block holds no key. */
			grown = malloc(cap * 2);
			if (!grown) {
				ret = -ENOMEM;
				goto cleanup;
			}
			memcpy(grown, buf, n);
			sodium_memzero(buf, cap);
			free(buf);
			buf = grown;
			cap *= 2;
		}
		r = recv(fd, buf + n, cap - n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = r == 0 ? -ECONNRESET : errno == EAGAIN ? -ETIMEDOUT : -errno;
			goto cleanup;
		}
		n += (size_t)r;
	}
	*out = buf;
	*len = n;
	buf = NULL;
cleanup:
	if (buf) {
		sodium_memzero(buf, cap);
		free(buf);
	}
	return ret;
}

/* One request/reply exchange, the reply parsed into dev. */
static int exchange(const char *ifname, const char *req, size_t reqlen, struct wg_device *dev)
{
	char *reply = NULL;
	size_t len = 0;
	int fd = -1, remote = 0, ret;

	ret = uapi_connect(ifname, &fd);
	if (ret < 0)
		goto cleanup;
	ret = write_all(fd, req, reqlen);
	if (ret < 0)
		goto cleanup;
	ret = read_reply(fd, &reply, &len);
	if (ret < 0)
		goto cleanup;
	ret = wg_uapi_parse(reply, len, dev, &remote);
	if (ret == 0 && remote)
		ret = -remote;
cleanup:
	if (reply) {
		sodium_memzero(reply, len);
		free(reply);
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

/* ---- starting wireguard-go ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The last non-empty line of out, for an error message. */
static const char *last_line(char *out)
{
	char *end = out + strlen(out), *start;

	while (end > out && (end[-1] == '\n' || end[-1] == ' '))
		*--end = '\0';
	start = strrchr(out, '\n');
	return start ? start + 1 : out;
}

static int start_daemon(const char *ifname)
{
	char out[2048] = "";
	int64_t t0 = now_ms(), deadline = t0 + WG_UAPI_START_TIMEOUT_MS;
	int fd = -1, ret, status;
	pid_t pid;

	ret = nf_daemon_start(WG_UAPI_PROGRAM,
	                      (char *const[]){"wireguard-go", (char *)ifname, NULL}, &pid, &fd);
	if (ret < 0) {
		nf_err("wg %s: cannot start %s: %s", ifname, WG_UAPI_PROGRAM, strerror(-ret));
		return ret;
	}
	status = nf_daemon_reap(pid, fd, deadline, out, sizeof(out));
	close(fd);
	if (status != 0) {
		nf_err("wg %s: %s %s: %s", ifname, WG_UAPI_PROGRAM,
		       status < 0 ? "did not finish starting" : "failed", last_line(out));
		return status < 0 ? status : -EIO;
	}
	/* The starter made the socket before handing it over, so this is quick. */
	for (;;) {
		ret = uapi_connect(ifname, &fd);
		if (ret == 0) {
			close(fd);
			nf_info("wg %s: started wireguard-go in %lld ms", ifname,
			        (long long)(now_ms() - t0));
			return 0;
		}
		if (now_ms() >= deadline)
			break;
		usleep(20000);
	}
	nf_err("wg %s: wireguard-go socket not answering: %s", ifname, strerror(-ret));
	return -ETIMEDOUT;
}

/* ---- the backend ---- */

static int uapi_open(struct wg_backend *wb)
{
	(void)wb;
	return access(WG_UAPI_PROGRAM, X_OK) == 0 ? 0 : -ENOENT;
}

static void uapi_close(struct wg_backend *wb)
{
	(void)wb;
}

/* Deletes ifname if it is a tun link; refuses to touch any other kind. */
static int delete_tun(struct rtnl *rt, const char *ifname)
{
	struct rtnl_link link;
	int ret;

	ret = rtnl_get_link(rt, ifname, &link);
	if (ret == -ENODEV)
		return 0;
	if (ret < 0)
		return ret;
	if (strcmp(link.kind, "tun")) {
		nf_err("wg %s: link exists and is a \"%s\", not wireguard-go's tun", ifname,
		       link.kind);
		return -EEXIST;
	}
	return rtnl_delete_link(rt, link.index);
}

static int uapi_ensure_link(struct wg_backend *wb, const char *ifname)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct rtnl_link link;
	int fd, ret;

	if (!wg_uapi_valid_ifname(ifname))
		return -EINVAL;
	ret = sock_path(ifname, path, sizeof(path));
	if (ret < 0)
		return ret;
	ret = uapi_connect(ifname, &fd);
	if (ret == 0) {
		close(fd);
		/* The socket directory is shared by all namespaces: is it ours? */
		ret = rtnl_get_link(wb->rt, ifname, &link);
		if (ret == -ENODEV) {
			nf_err("wg %s: %s answers but the link is not in this network namespace",
			       ifname, path);
			return -EADDRINUSE;
		}
		return ret;
	}
	if (ret != -ENOENT && ret != -ECONNREFUSED)
		return ret;
	/* No daemon: whatever is left of an earlier one goes before a new start. */
	ret = delete_tun(wb->rt, ifname);
	if (ret < 0)
		return ret;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return start_daemon(ifname);
}

static int uapi_delete_link(struct wg_backend *wb, const char *ifname)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int ret;

	if (!wg_uapi_valid_ifname(ifname))
		return -EINVAL;
	/* wireguard-go exits when its tun goes, and also when its socket file goes. */
	ret = delete_tun(wb->rt, ifname);
	if (ret < 0)
		return ret;
	if (sock_path(ifname, path, sizeof(path)) == 0 && unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int uapi_get_device(struct wg_backend *wb, const char *ifname, struct wg_device **out)
{
	static const char req[] = "get=1\n\n";
	struct wg_device *dev = NULL;
	int ret;

	(void)wb;
	if (!wg_uapi_valid_ifname(ifname))
		return -EINVAL;
	dev = wg_new_device(ifname);
	if (!dev)
		return -ENOMEM;
	ret = exchange(ifname, req, sizeof(req) - 1, dev);
	if (ret < 0)
		goto cleanup;
	*out = dev;
	dev = NULL;
cleanup:
	wg_free_device(dev);
	return ret;
}

static int uapi_set_device(struct wg_backend *wb, const struct wg_device *dev)
{
	struct wg_device *scratch = NULL;
	char *req = NULL;
	size_t len = 0;
	int ret;

	(void)wb;
	if (!wg_uapi_valid_ifname(dev->name))
		return -EINVAL;
	scratch = wg_new_device(dev->name); /* a set reply is only "errno=N" */
	if (!scratch)
		return -ENOMEM;
	ret = wg_uapi_format_set(dev, &req, &len);
	if (ret < 0)
		goto cleanup;
	ret = exchange(dev->name, req, len, scratch);
	if (ret < 0)
		nf_err("wg %s: wireguard-go refused the set: %s", dev->name, strerror(-ret));
cleanup:
	if (req) {
		sodium_memzero(req, len);
		free(req);
	}
	wg_free_device(scratch);
	return ret;
}

const struct wg_backend_ops wg_uapi_ops = {
    .name = "wireguard-go",
    .open = uapi_open,
    .close = uapi_close,
    .ensure_link = uapi_ensure_link,
    .delete_link = uapi_delete_link,
    .get_device = uapi_get_device,
    .set_device = uapi_set_device,
};
