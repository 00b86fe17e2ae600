// SPDX-License-Identifier: Apache-2.0
/*
 * The resolv.conf backend of the VM's resolver (see dns_resolv.h): a block
 * of our own lines at the top of /etc/resolv.conf,
 *
 *   # netfn-agent begin: overlay DNS for prod.netfn.internal (managed; ...)
 *   # ... why these come first ...
 *   nameserver 10.99.0.2
 *   options timeout:1 attempts:2
 *   # netfn-agent end
 *
 * glibc has no split DNS: it asks the first nameserver for every name and
 * reads three at most, so the overlay's servers go first and forward what is
 * not theirs to the VM's own servers (read from the same file, outside the
 * block). A one-second timeout makes a server that went down cost a second
 * per lookup rather than five until the controller moves it.
 *
 * The block is inserted before the first byte of the file and is removed
 * line for line, so the rest of the file comes back byte for byte as it was.
 */
#include "netfns/dns/dns_resolv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK_LINE_MAX 400

int dns_resolvconf_block(const char *zone, const struct in_addr *servers, size_t n, char **out)
{
	size_t size = 4 * BLOCK_LINE_MAX + n * 32, pos = 0;
	char *buf = malloc(size), a[INET_ADDRSTRLEN];

	if (!buf)
		return -ENOMEM;
	pos += (size_t)snprintf(buf + pos, size - pos,
	                        DNS_BLOCK_BEGIN " overlay DNS for %s (managed; removed by the "
	                                        "agent)\n"
	                                        "# First, as glibc reads three nameservers at "
	                                        "most; they forward other names to those below.\n",
	                        zone);
	for (size_t i = 0; i < n && pos < size; i++)
		pos += (size_t)snprintf(buf + pos, size - pos, "nameserver %s\n",
		                        inet_ntop(AF_INET, &servers[i], a, sizeof(a)));
	if (pos < size)
		pos += (size_t)snprintf(buf + pos, size - pos,
		                        "options timeout:1 attempts:2\n" DNS_BLOCK_END "\n");
	if (pos >= size) {
		free(buf);
		return -ENAMETOOLONG; /* a zone is at most 253 characters: cannot happen */
	}
	*out = buf;
	return 0;
}

/* The end of the line starting at p (past its '\n', or end). */
static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl + 1 : end;
}

static bool is_begin(const char *p, const char *end)
{
	size_t n = sizeof(DNS_BLOCK_BEGIN) - 1;

	return (size_t)(end - p) >= n && memcmp(p, DNS_BLOCK_BEGIN, n) == 0;
}

static bool is_end(const char *p, const char *eol)
{
	size_t n = sizeof(DNS_BLOCK_END) - 1, len = (size_t)(eol - p);

	if (len && p[len - 1] == '\n')
		len--;
	return len == n && memcmp(p, DNS_BLOCK_END, n) == 0;
}

int dns_resolvconf_edit(const char *in, size_t len, const char *block, char **out, size_t *outlen,
                        bool *changed)
{
	const char *p = in, *end = in + len;
	size_t blen = block ? strlen(block) : 0, pos = 0;
	bool placed = false;
	char *buf = malloc(len + blen + 1);

	if (!buf)
		return -ENOMEM;
	while (p < end) {
		const char *eol = line_end(p, end);

		if (!is_begin(p, end)) {
			memcpy(buf + pos, p, (size_t)(eol - p));
			pos += (size_t)(eol - p);
			p = eol;
			continue;
		}
		/* Ours, through the end line: replaced by the new block where the first one was. */
		while (p < end && !is_end(p, eol)) {
			p = eol;
			eol = line_end(p, end);
		}
		if (p == end) {
			free(buf);
			return -EBADMSG;
		}
		p = eol;
		if (block && !placed) {
			memcpy(buf + pos, block, blen);
			pos += blen;
		}
		placed = true;
	}
	if (block && !placed) {
		memmove(buf + blen, buf, pos);
		memcpy(buf, block, blen);
		pos += blen;
	}
	buf[pos] = '\0';
	*changed = pos != len || memcmp(buf, in, len) != 0;
	*out = buf;
	*outlen = pos;
	return 0;
}

static bool skipped(const struct in_addr *a, const struct in_addr *skip, size_t n_skip)
{
	for (size_t i = 0; i < n_skip; i++)
		if (skip[i].s_addr == a->s_addr)
			return true;
	return false;
}

size_t dns_resolvconf_upstreams(const char *in, size_t len, const struct in_addr *skip,
                                size_t n_skip, char (*out)[INET6_ADDRSTRLEN], size_t max)
{
	const char *p = in, *end = in + len;
	size_t n = 0;

	while (p < end && n < max) {
		const char *eol = line_end(p, end), *q;
		char tok[INET6_ADDRSTRLEN + 16], text[INET6_ADDRSTRLEN];
		unsigned char addr[sizeof(struct in6_addr)];
		size_t t = 0;
		bool dup = false;

		if (is_begin(p, end)) {
			/* Our own servers are not upstream of themselves. */
			while (p < end && !is_end(p, eol)) {
				p = eol;
				eol = line_end(p, end);
			}
			p = eol;
			continue;
		}
		q = p;
		p = eol;
		if ((size_t)(eol - q) < 11 || memcmp(q, "nameserver", 10) != 0 ||
		    (q[10] != ' ' && q[10] != '\t'))
			continue;
		for (q += 10; q < eol && (*q == ' ' || *q == '\t'); q++)
			;
		while (q < eol && *q != ' ' && *q != '\t' && *q != '\n' && *q != '\r' &&
		       t < sizeof(tok) - 1)
			tok[t++] = *q++;
		tok[t] = '\0';
		if (inet_pton(AF_INET, tok, addr) == 1) {
			if (skipped((struct in_addr *)addr, skip, n_skip))
				continue;
			inet_ntop(AF_INET, addr, text, sizeof(text));
		} else if (inet_pton(AF_INET6, tok, addr) == 1) {
			inet_ntop(AF_INET6, addr, text, sizeof(text));
		} else {
			continue; /* a scoped link-local address, or not an address */
		}
		for (size_t i = 0; i < n && !dup; i++)
			dup = strcmp(out[i], text) == 0;
		if (!dup)
			memcpy(out[n++], text, sizeof(text));
	}
	return n;
}

int dns_resolvconf_read(const char *path, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = NULL;
	ssize_t r;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(cap + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto cleanup;
	}
	for (;;) {
		if (n == cap) {
			char *grown;

			if (cap >= DNS_RESOLV_MAX) {
				ret = -EFBIG;
				goto cleanup;
			}
			grown = realloc(buf, cap * 2 + 1);
			if (!grown) {
				ret = -ENOMEM;
				goto cleanup;
			}
			buf = grown;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			goto cleanup;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
cleanup:
	free(buf);
	close(fd);
	return ret;
}

static int write_all(int fd, const char *text, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t w = pwrite(fd, text + off, len - off, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		off += (size_t)w;
	}
	return 0;
}

/* Overwrites the file path leads to, whatever it is (a symlink's target, a bind mount). */
static int write_in_place(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	/* One write from the start, then the tail cut: a reader sees old or new lines. */
	ret = write_all(fd, text, len);
	if (!ret && ftruncate(fd, (off_t)len) < 0)
		ret = -errno;
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * Writes "<path>.netfn-<pid>" with the mode and owner of st and renames it
 * over path; -EBUSY or -EXDEV when path is a mount point (the caller writes
 * in place then). The name is the process's own: agents of other network
 * namespaces may share this directory (ip netns exec mounts only the file),
 * and one must never remove another's file.
 */
static int write_renamed(const char *path, const struct stat *st, const char *text, size_t len)
{
	char tmp[4096], dir[4096];
	int fd, dfd, ret;

	if (snprintf(tmp, sizeof(tmp), "%s.netfn-%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp); /* ours, left by a crash of a process with this pid */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st->st_mode & 07777);
	if (fd < 0)
		return -errno;
	ret = write_all(fd, text, len);
	if (!ret && (fchmod(fd, st->st_mode & 07777) < 0 || fchown(fd, st->st_uid, st->st_gid) < 0))
		ret = -errno;
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0) {
		unlink(tmp);
		return ret;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int dns_resolvconf_write(const char *path, const char *text, size_t len)
{
	struct stat st;
	int ret;

	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		ret = write_renamed(path, &st, text, len);
		/*
		 * A mount point (a bind-mounted file), or a read-only directory
		 * around a writable file (systemd's ProtectSystem=strict with
		 * ReadWritePaths=/etc/resolv.conf): in place then.
		 */
		if (ret != -EBUSY && ret != -EXDEV && ret != -EROFS && ret != -EACCES)
			return ret;
	}
	return write_in_place(path, text, len);
}

int dns_resolvconf_apply(const char *path, const char *block, char *err, size_t errlen)
{
	char *text = NULL, *edited = NULL;
	size_t len = 0, elen = 0;
	bool changed = false;
	int ret;

	ret = dns_resolvconf_read(path, &text, &len);
	if (ret == -ENOENT && !block)
		return 0; /* no file, no block */
	if (ret == -ENOENT) {
		/* glibc reads no file as "nameserver 127.0.0.1"; our block alone is better. */
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

		if (fd < 0) {
			ret = -errno;
			snprintf(err, errlen, "cannot create %s: %s", path, strerror(-ret));
			return ret;
		}
		close(fd);
		text = strdup("");
		ret = text ? 0 : -ENOMEM;
	}
	if (ret < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-ret));
		goto cleanup;
	}
	ret = dns_resolvconf_edit(text, len, block, &edited, &elen, &changed);
	if (ret == -EBADMSG) {
		snprintf(err, errlen,
		         "%s has a line \"%s...\" without its \"%s\": edit it by hand, the agent "
		         "removes nothing it cannot delimit",
		         path, DNS_BLOCK_BEGIN, DNS_BLOCK_END);
		goto cleanup;
	}
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		goto cleanup;
	}
	if (!changed)
		goto cleanup;
	ret = dns_resolvconf_write(path, edited, elen);
	if (ret < 0)
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-ret));
cleanup:
	free(text);
	free(edited);
	return ret;
}
