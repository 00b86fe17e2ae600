// SPDX-License-Identifier: Apache-2.0
/*
 * dnsmasq for the overlay zone (see dns_server.h): its config, starting and
 * stopping one slot, finding a running one again, and the one-query probe
 * that says a new slot answers before port 53 is moved to it.
 *
 * Starting dnsmasq is done as wireguard-go is started (netfns/kernel/
 * wg_uapi.c): a fixed path and argv, a fixed environment, its own session (a
 * signal to the agent's process group must not reach it), default signal
 * dispositions and an empty mask, no inherited descriptor but stdio, and its
 * output kept only to explain a failure. dnsmasq's starting process exits
 * once the daemon has bound its sockets (or with the reason it could not),
 * which is what tells us it is up.
 *
 * The config says: answer on the listen address and the slot's port only
 * (bind-interfaces), never read /etc/hosts or /etc/resolv.conf (no-hosts,
 * no-resolv: the upstream servers are given, our own block excluded, which
 * would otherwise make two servers forward to each other), answer every name
 * of the zone itself (local=/zone/: names it does not hold are NXDOMAIN, not
 * asked upstream), and forward the rest to the VM's resolvers.
 */
#include "netfns/dns/dns_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netfns/common/daemon.h"
#include "netfns/common/log.h"

#define CAP_SETGID_BIT 6
#define CAP_SETUID_BIT 7
#define STOP_WAIT_MS   1000
#define DNS_HDR_LEN    12
#define QCLASS_IN      1
#define FLAG_QR        0x8000
#define FLAG_RD        0x0100

static const uint16_t qtypes[] = {
    [DNS_A] = 1, [DNS_AAAA] = 28, [DNS_CNAME] = 5, [DNS_SRV] = 33, [DNS_TXT] = 16};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool dns_server_dir_ok(const char *dir)
{
	size_t n = dir ? strlen(dir) : 0;

	/* Also a config value and an argv element: nothing dnsmasq's parser or a reader trips on.
	 */
	if (n == 0 || n > 200 || dir[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = dir[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '/' || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static void path_of(const char *dir, int slot, const char *ext, char *buf, size_t size)
{
	snprintf(buf, size, "%s/slot%d.%s", dir, slot, ext);
}

/* ---- the config ---- */

struct text {
	char *buf;
	size_t len, cap;
	int err;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->err = -EINVAL;
			return;
		}
		if ((size_t)n < t->cap - t->len)
			break;
		{
			size_t cap = (t->cap + (size_t)n + 1) * 2;
			char *grown = realloc(t->buf, cap);

			if (!grown) {
				t->err = -ENOMEM;
				return;
			}
			t->buf = grown;
			t->cap = cap;
		}
	}
	t->len += (size_t)n;
}

/* TXT text between double quotes, as dnsmasq's config parser reads it back. */
static void put_txt(struct text *t, const char *s)
{
	char esc[2 * DNS_VALUE_MAX + 1];
	size_t k = 0;

	for (; *s && k < sizeof(esc) - 2; s++) {
		if (*s == '"' || *s == '\\')
			esc[k++] = '\\';
		esc[k++] = *s;
	}
	esc[k] = '\0';
	put(t, "\"%s\"", esc);
}

/* The TTL of SRV and TXT answers, which dnsmasq cannot set per record: the smallest asked for. */
static uint32_t local_ttl(const struct dns_config *cfg)
{
	uint32_t ttl = 0;

	for (size_t i = 0; i < cfg->n_records; i++) {
		const struct dns_record *r = &cfg->records[i];

		if ((r->type == DNS_SRV || r->type == DNS_TXT) && (!ttl || r->ttl < ttl))
			ttl = r->ttl;
	}
	return ttl ? ttl : DNS_TTL_DEFAULT;
}

int dns_server_render(const struct dns_config *cfg, const struct dns_server_opts *o, char **out,
                      size_t *len)
{
	struct text t = {.cap = 4096 + cfg->n_records * 96};
	char a[INET_ADDRSTRLEN];

	if (o->slot < 0 || o->slot >= DNS_SLOTS || !dns_server_dir_ok(o->dir) || !cfg->zone[0] ||
	    !cfg->listen.s_addr)
		return -EINVAL;
	t.buf = malloc(t.cap);
	if (!t.buf)
		return -ENOMEM;
	t.buf[0] = '\0';
	put(&t,
	    "# dnsmasq for the overlay zone %s, slot %d: written by netfn-agent, replaced at "
	    "every change.\n",
	    cfg->zone, o->slot);
	put(&t, "port=%d\nlisten-address=%s\nbind-interfaces\n", DNS_SLOT_PORT + o->slot,
	    inet_ntop(AF_INET, &cfg->listen, a, sizeof(a)));
	put(&t, "pid-file=%s/slot%d.pid\n", o->dir, o->slot);
	/*
	 * Empty: no user or group change at all. dnsmasq would otherwise switch
	 * to nobody and dip, which needs CAP_SETUID and CAP_SETGID; without them
	 * (the agent's systemd unit) it keeps the agent's user and capabilities.
	 */
	if (o->keep_user)
		put(&t, "user=\ngroup=\n");
	put(&t, "no-hosts\nno-resolv\nno-poll\ndomain-needed\n");
	put(&t, "local=/%s/\nlocal-ttl=%" PRIu32 "\n", cfg->zone, local_ttl(cfg));
	for (size_t i = 0; i < o->n_upstreams; i++)
		put(&t, "server=%s\n", o->upstreams[i]);
	for (size_t i = 0; i < cfg->n_records; i++) {
		const struct dns_record *r = &cfg->records[i];
		unsigned prio, weight, port;
		char target[DNS_NAME_MAX];

		switch (r->type) {
		case DNS_A:
		case DNS_AAAA:
			put(&t, "host-record=%s,%s,%" PRIu32 "\n", r->name, r->value, r->ttl);
			break;
		case DNS_CNAME:
			put(&t, "cname=%s,%s,%" PRIu32 "\n", r->name, r->value, r->ttl);
			break;
		case DNS_SRV:
			/* Canonical "PRIORITY WEIGHT PORT TARGET" (dns.c); dnsmasq orders them
			 * otherwise. */
			if (sscanf(r->value, "%u %u %u %253s", &prio, &weight, &port, target) !=
			    4) {
				t.err = -EINVAL;
				break;
			}
			put(&t, "srv-host=%s,%s,%u,%u,%u\n", r->name, target, port, prio, weight);
			break;
		case DNS_TXT:
			put(&t, "txt-record=%s,", r->name);
			put_txt(&t, r->value);
			put(&t, "\n");
			break;
		default:
			t.err = -EINVAL;
		}
	}
	if (t.err) {
		free(t.buf);
		return t.err;
	}
	*out = t.buf;
	*len = t.len;
	return 0;
}

bool dns_server_can_switch_user(void)
{
	char line[256];
	uint64_t eff = 0;
	bool found = false;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %" SCNx64, &eff) == 1;
	fclose(f);
	return found && (eff >> CAP_SETUID_BIT & 1) && (eff >> CAP_SETGID_BIT & 1);
}

/* ---- processes ---- */

/* Whether pid runs dnsmasq with exactly slot's argv: a pid file can outlive its process. */
static bool is_slot(pid_t pid, const char *dir, int slot)
{
	char path[64], want[PATH_MAX + 32], got[PATH_MAX + 32], conf[PATH_MAX];
	int fd, n, wlen;
	ssize_t r;

	path_of(dir, slot, "conf", conf, sizeof(conf));
	n = snprintf(want, sizeof(want), "dnsmasq%c--conf-file=%s%c", 0, conf, 0);
	if (n < 0 || (size_t)n >= sizeof(want))
		return false;
	wlen = n;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	r = read(fd, got, sizeof(got));
	close(fd);
	return r == wlen && memcmp(got, want, (size_t)wlen) == 0;
}

pid_t dns_server_running(const char *dir, int slot)
{
	char path[PATH_MAX], buf[32];
	long v;
	char *end;
	ssize_t n;
	int fd;

	path_of(dir, slot, "pid", path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n') || v <= 1 || v > INT_MAX)
		return 0;
	return is_slot((pid_t)v, dir, slot) ? (pid_t)v : 0;
}

bool dns_server_conf_same(const char *dir, int slot, const char *conf, size_t len)
{
	char path[PATH_MAX];
	char *buf = malloc(len + 1);
	size_t got = 0;
	ssize_t r = 1;
	int fd;

	path_of(dir, slot, "conf", path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || !buf) {
		if (fd >= 0)
			close(fd);
		free(buf);
		return false;
	}
	/* One byte more than conf: a longer file is not the same. */
	while (got < len + 1 && (r = read(fd, buf + got, len + 1 - got)) > 0)
		got += (size_t)r;
	close(fd);
	r = r >= 0 && got == len && memcmp(buf, conf, len) == 0;
	free(buf);
	return r;
}

/* Writes path whole: "<path>.tmp", fsync, rename. */
static int write_file(const char *path, const char *text, size_t len)
{
	char tmp[PATH_MAX];
	size_t off = 0;
	int fd, ret = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (off < len && !ret) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno != EINTR)
			ret = -errno;
		else if (w > 0)
			off += (size_t)w;
	}
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
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

int dns_server_start(const char *dir, int slot, const char *conf, size_t len, pid_t *pid, char *err,
                     size_t errlen)
{
	char path[PATH_MAX], arg[PATH_MAX + 16], out[1024] = "";
	int64_t deadline = now_ms() + DNS_START_MS;
	pid_t starter;
	int fd = -1, ret, status;

	*pid = 0;
	if (!dns_server_dir_ok(dir) || slot < 0 || slot >= DNS_SLOTS)
		return -EINVAL;
	path_of(dir, slot, "conf", path, sizeof(path));
	snprintf(arg, sizeof(arg), "--conf-file=%s", path);
	ret = write_file(path, conf, len);
	if (ret < 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-ret));
		return ret;
	}
	path_of(dir, slot, "pid", path, sizeof(path));
	unlink(path); /* whatever it says is not the process about to start */
	ret = nf_daemon_start(DNS_SERVER_PROGRAM, (char *const[]){"dnsmasq", arg, NULL}, &starter,
	                      &fd);
	if (ret < 0) {
		snprintf(err, errlen, "cannot start %s: %s", DNS_SERVER_PROGRAM, strerror(-ret));
		return ret;
	}
	status = nf_daemon_reap(starter, fd, deadline, out, sizeof(out));
	close(fd);
	if (status != 0) {
		snprintf(err, errlen, "dnsmasq (slot %d) %s: %s", slot,
		         status < 0 ? "did not finish starting" : "failed", last_line(out));
		return status < 0 ? status : -EIO;
	}
	/* The daemon writes its pid file itself; wait for it a little. */
	while (!(*pid = dns_server_running(dir, slot)) && now_ms() < deadline)
		usleep(10000);
	if (!*pid) {
		snprintf(err, errlen, "dnsmasq (slot %d) started but left no pid file in %s", slot,
		         dir);
		return -ESRCH;
	}
	return 0;
}

int dns_server_stop(const char *dir, int slot)
{
	char path[PATH_MAX];
	pid_t pid = dns_server_running(dir, slot);
	int64_t deadline;
	int sig = SIGTERM;

	for (int round = 0; pid && round < 2; round++, sig = SIGKILL) {
		if (kill(pid, sig) < 0 && errno != ESRCH)
			return -errno;
		deadline = now_ms() + STOP_WAIT_MS;
		/* Not our child (it daemonised): watch its command line go, zombie or gone. */
		while (is_slot(pid, dir, slot) && now_ms() < deadline)
			usleep(10000);
		if (!is_slot(pid, dir, slot))
			pid = 0;
	}
	if (pid)
		return -EBUSY;
	path_of(dir, slot, "pid", path, sizeof(path));
	unlink(path);
	return 0;
}

void dns_server_forget(const char *dir, int slot)
{
	char path[PATH_MAX];

	path_of(dir, slot, "conf", path, sizeof(path));
	unlink(path);
	path_of(dir, slot, "pid", path, sizeof(path));
	unlink(path);
}

/* ---- the probe ---- */

int dns_query_build(uint16_t id, const char *name, uint16_t qtype, uint8_t *buf, size_t size)
{
	size_t pos = DNS_HDR_LEN, n = name ? strlen(name) : 0;
	const char *label = name;

	if (!name || size < DNS_HDR_LEN + n + 2 + 4)
		return -EINVAL;
	memset(buf, 0, DNS_HDR_LEN);
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = FLAG_RD >> 8;
	buf[5] = 1; /* one question */
	while (n && *label) {
		const char *dot = strchr(label, '.');
		size_t len = dot ? (size_t)(dot - label) : strlen(label);

		if (len == 0 || len > DNS_LABEL_MAX)
			return -EINVAL;
		buf[pos++] = (uint8_t)len;
		memcpy(buf + pos, label, len);
		pos += len;
		label += len + (dot ? 1 : 0);
	}
	buf[pos++] = 0;
	buf[pos++] = (uint8_t)(qtype >> 8);
	buf[pos++] = (uint8_t)qtype;
	buf[pos++] = 0;
	buf[pos++] = QCLASS_IN;
	return (int)pos;
}

int dns_reply_read(const uint8_t *buf, size_t len, uint16_t id, int *rcode, int *ancount)
{
	uint16_t flags;

	if (len < DNS_HDR_LEN || (uint16_t)(buf[0] << 8 | buf[1]) != id)
		return -EBADMSG;
	flags = (uint16_t)(buf[2] << 8 | buf[3]);
	if (!(flags & FLAG_QR))
		return -EBADMSG;
	*rcode = flags & 0xf;
	*ancount = buf[6] << 8 | buf[7];
	return 0;
}

int dns_server_probe(struct in_addr addr, uint16_t port, const char *name, enum dns_type type,
                     bool want_records, int timeout_ms)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr = addr, .sin_port = htons(port)};
	int64_t deadline = now_ms() + timeout_ms;
	uint8_t q[DNS_NAME_MAX + 32], r[4096];
	uint16_t id = (uint16_t)(now_ms() * 7919 + getpid());
	int fd, qlen, ret = -ETIMEDOUT;

	if ((unsigned)type >= sizeof(qtypes) / sizeof(qtypes[0]))
		return -EINVAL;
	qlen = dns_query_build(id, name, qtypes[type], q, sizeof(q));
	if (qlen < 0)
		return qlen;
	/*
	 * Not connected: the steering table makes every slot's answer leave
	 * from port 53, so this one comes back from there, not from port.
	 */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	while (now_ms() < deadline) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int rcode, an;
		ssize_t got;

		if (sendto(fd, q, (size_t)qlen, 0, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
			ret = -errno;
			break;
		}
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		got = recv(fd, r, sizeof(r), 0);
		if (got < 0 || dns_reply_read(r, (size_t)got, id, &rcode, &an) < 0)
			continue;
		/* Records that must be there say that this config is the one loaded. */
		ret = !want_records || (rcode == 0 && an > 0) ? 0 : -ENODATA;
		break;
	}
	close(fd);
	return ret;
}

/* ---- the active slot ---- */

int dns_server_active_load(const char *dir)
{
	char path[PATH_MAX], buf[8] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/active", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n >= 1 && buf[0] >= '0' && buf[0] < '0' + DNS_SLOTS && (n == 1 || buf[1] == '\n'))
		return buf[0] - '0';
	return -1;
}

int dns_server_active_save(const char *dir, int slot)
{
	char path[PATH_MAX], text[16];

	snprintf(path, sizeof(path), "%s/active", dir);
	if (slot < 0)
		return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	snprintf(text, sizeof(text), "%d\n", slot);
	return write_file(path, text, strlen(text));
}
