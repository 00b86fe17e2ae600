// SPDX-License-Identifier: Apache-2.0
/*
 * The state directory (see state.h for its layout). All file access goes
 * through a directory fd opened once, with O_NOFOLLOW on every name, so a
 * symlink planted in the directory cannot redirect a key or config write.
 * Secrets pass through fixed-size stack buffers that are wiped before they
 * go out of scope.
 */
#include "agent/state.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netfns/common/log.h"
#include "proto/rpc.h"

/* A base64 key is 44 characters; anything much longer is not a key file. */
#define KEY_FILE_MAX 128
/* The enrollment record is a handful of short lines. */
#define ENROLLMENT_MAX 8192

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads fd to its end into buf; -EFBIG when it holds more than cap bytes. */
static int read_all(int fd, uint8_t *buf, size_t cap, size_t *len)
{
	size_t got = 0;

	for (;;) {
		ssize_t n;

		if (got == cap) {
			uint8_t extra;

			n = read(fd, &extra, 1);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			if (n > 0)
				return -EFBIG;
			break;
		}
		n = read(fd, buf + got, cap - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*len = got;
	return 0;
}

int state_write_atomic(int dirfd, const char *name, const uint8_t *buf, size_t len,
                       unsigned int mode)
{
	char tmp[256];
	int fd = -1;
	int ret;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	/* A tmp file left by a crash is stale: we hold the directory lock. */
	if (unlinkat(dirfd, tmp, 0) < 0 && errno != ENOENT)
		return -errno;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	ret = write_all(fd, buf, len);
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	fd = -1;
	if (ret == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		ret = -errno;
	if (ret < 0) {
		unlinkat(dirfd, tmp, 0);
		return ret;
	}
	/* The rename is durable only once the directory itself is synced. */
	if (fsync(dirfd) < 0)
		return -errno;
	return 0;
}

/*
 * Opens a file of the state dir for reading after checking that it is a
 * regular file of ours that nobody else can read: a key others could read is
 * no longer a secret, and using it would hide that.
 */
static int open_private(struct agent_state *st, const char *name, char *err, size_t errlen)
{
	struct stat sb;
	int fd;

	fd = openat(st->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		if (e == ELOOP)
			snprintf(err, errlen, "%s/%s: is a symbolic link; refusing it", st->dir,
			         name);
		else if (e != ENOENT)
			snprintf(err, errlen, "%s/%s: %s", st->dir, name, strerror(e));
		return -e;
	}
	if (fstat(fd, &sb) < 0) {
		int e = errno;

		close(fd);
		snprintf(err, errlen, "%s/%s: %s", st->dir, name, strerror(e));
		return -e;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		snprintf(err, errlen, "%s/%s: not a regular file", st->dir, name);
		return -EINVAL;
	}
	if (sb.st_uid != geteuid()) {
		close(fd);
		snprintf(err, errlen, "%s/%s: owned by uid %u, not by this agent (uid %u)", st->dir,
		         name, (unsigned)sb.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (sb.st_mode & 077) {
		close(fd);
		snprintf(err, errlen,
		         "%s/%s: accessible by group or others (mode %04o); refusing to use it "
		         "(chmod 600 it if it was never exposed, else delete the state dir and "
		         "enroll again)",
		         st->dir, name, (unsigned)(sb.st_mode & 07777));
		return -EPERM;
	}
	return fd;
}

/* Loads a base64 key file; -ENOENT when it does not exist yet. */
static int key_load(struct agent_state *st, const char *name, uint8_t key[32], char *err,
                    size_t errlen)
{
	char text[KEY_FILE_MAX + 1];
	size_t len = 0;
	int fd;
	int ret;

	fd = open_private(st, name, err, errlen);
	if (fd < 0)
		return fd;
	ret = read_all(fd, (uint8_t *)text, KEY_FILE_MAX, &len);
	close(fd);
	if (ret == 0) {
		while (len > 0 && isspace((unsigned char)text[len - 1]))
			len--;
		text[len] = '\0';
		ret = nf_key_from_base64(text, key);
	}
	if (ret < 0)
		snprintf(err, errlen, "%s/%s: not a base64 32-byte key", st->dir, name);
	sodium_memzero(text, sizeof(text));
	return ret;
}

/*
 * Writes a new key file. The tmp file is made O_EXCL|O_NOFOLLOW 0600 and
 * hard-linked to its name, which fails rather than replace a key that is
 * already there; a crash leaves at most a stale tmp file, never half a key.
 */
static int key_create(struct agent_state *st, const char *name, const uint8_t key[32], char *err,
                      size_t errlen)
{
	char text[64];
	char tmp[64];
	size_t len;
	int fd = -1;
	int ret;

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	nf_key_to_base64(key, text, sizeof(text));
	len = strlen(text);
	text[len++] = '\n';
	if (unlinkat(st->dirfd, tmp, 0) < 0 && errno != ENOENT) {
		ret = -errno;
		goto cleanup;
	}
	fd = openat(st->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		goto cleanup;
	}
	ret = write_all(fd, (const uint8_t *)text, len);
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	if (ret == 0 && linkat(st->dirfd, tmp, st->dirfd, name, 0) < 0)
		ret = -errno;
	unlinkat(st->dirfd, tmp, 0);
	if (ret == 0 && fsync(st->dirfd) < 0)
		ret = -errno;
cleanup:
	if (fd >= 0)
		close(fd);
	sodium_memzero(text, sizeof(text));
	if (ret < 0)
		snprintf(err, errlen, "%s/%s: cannot create: %s", st->dir, name, strerror(-ret));
	return ret;
}

/* Loads or, on first start, makes both key pairs. */
static int keys_load(struct agent_state *st, char *err, size_t errlen)
{
	char pub[64];
	int ret;

	ret = key_load(st, STATE_IDENTITY_FILE, st->identity.sk, err, errlen);
	if (ret == -ENOENT) {
		ret = nf_identity_generate(&st->identity);
		if (ret == 0)
			ret = key_create(st, STATE_IDENTITY_FILE, st->identity.sk, err, errlen);
		if (ret == 0)
			nf_info("state %s: made a new identity key", st->dir);
	}
	if (ret < 0)
		return ret;
	/* A crypto_box public key is the X25519 base-point multiple of the secret key. */
	if (crypto_scalarmult_base(st->identity.pk, st->identity.sk) != 0) {
		snprintf(err, errlen, "%s/%s: unusable key", st->dir, STATE_IDENTITY_FILE);
		return -EINVAL;
	}

	ret = key_load(st, STATE_WG_KEY_FILE, st->wg_private, err, errlen);
	if (ret == -ENOENT) {
		randombytes_buf(st->wg_private, sizeof(st->wg_private));
		/* Curve25519 clamping, as `wg genkey` does. */
		st->wg_private[0] &= 248;
		st->wg_private[31] &= 127;
		st->wg_private[31] |= 64;
		ret = key_create(st, STATE_WG_KEY_FILE, st->wg_private, err, errlen);
		if (ret == 0) {
			crypto_scalarmult_base(st->wg_public, st->wg_private);
			nf_key_to_base64(st->wg_public, pub, sizeof(pub));
			nf_info("state %s: made a new WireGuard key, public key %s", st->dir, pub);
		}
	}
	if (ret < 0)
		return ret;
	if (crypto_scalarmult_base(st->wg_public, st->wg_private) != 0) {
		snprintf(err, errlen, "%s/%s: unusable key", st->dir, STATE_WG_KEY_FILE);
		return -EINVAL;
	}
	return 0;
}

/* mkdir -p with mode 0700 for every directory it makes. */
static int mkdir_parents(const char *dir)
{
	char path[4096];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -errno;
		path[i] = dir[i];
	}
	return 0;
}

int state_open(const char *dir, struct agent_state **out, char *err, size_t errlen)
{
	struct agent_state *st = NULL;
	struct stat sb;
	int ret;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->dirfd = -1;
	st->lockfd = -1;
	if (strlen(dir) >= sizeof(st->dir)) {
		snprintf(err, errlen, "state dir path too long");
		ret = -ENAMETOOLONG;
		goto cleanup;
	}
	strcpy(st->dir, dir);
	ret = mkdir_parents(dir);
	if (ret < 0) {
		snprintf(err, errlen, "%s: cannot create: %s", dir, strerror(-ret));
		goto cleanup;
	}
	st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0 || fstat(st->dirfd, &sb) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(-ret));
		goto cleanup;
	}
	/* Whoever can write the directory can swap the config or the keys. */
	if (sb.st_uid != geteuid() || (sb.st_mode & 022)) {
		snprintf(err, errlen,
		         "%s: must be owned by uid %u and writable by nobody else (mode %04o, "
		         "uid %u)",
		         dir, (unsigned)geteuid(), (unsigned)(sb.st_mode & 07777),
		         (unsigned)sb.st_uid);
		ret = -EPERM;
		goto cleanup;
	}
	if (sb.st_mode & 077)
		nf_warn("state %s: directory mode %04o; 0700 is expected", dir,
		        (unsigned)(sb.st_mode & 07777));

	st->lockfd =
	    openat(st->dirfd, STATE_LOCK_FILE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (st->lockfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s/%s: %s", dir, STATE_LOCK_FILE, strerror(-ret));
		goto cleanup;
	}
	if (flock(st->lockfd, LOCK_EX | LOCK_NB) < 0) {
		ret = -errno;
		if (ret == -EWOULDBLOCK)
			snprintf(err, errlen, "%s: in use by another netfn-agent", dir);
		else
			snprintf(err, errlen, "%s/%s: %s", dir, STATE_LOCK_FILE, strerror(-ret));
		goto cleanup;
	}
	ret = keys_load(st, err, errlen);
	if (ret < 0)
		goto cleanup;
	*out = st;
	st = NULL;
cleanup:
	state_close(st);
	return ret;
}

void state_close(struct agent_state *st)
{
	if (!st)
		return;
	if (st->lockfd >= 0)
		close(st->lockfd); /* releases the flock */
	if (st->dirfd >= 0)
		close(st->dirfd);
	sodium_memzero(st, sizeof(*st));
	free(st);
}

/* Copies a value into a fixed field; false when it does not fit or is empty. */
static bool set_field(char *dst, size_t cap, const char *val)
{
	size_t len = strlen(val);

	if (len == 0 || len >= cap)
		return false;
	memcpy(dst, val, len + 1);
	return true;
}

static int parse_line(struct agent_enrollment *e, char *line, bool *have_pk)
{
	char *val = strchr(line, '=');

	if (!val)
		return -EINVAL;
	*val++ = '\0';
	if (strcmp(line, "controller_pk") == 0) {
		if (nf_key_from_base64(val, e->controller_pk) < 0)
			return -EINVAL;
		*have_pk = true;
		return 0;
	}
	if (strcmp(line, "controller_url") == 0) {
		if (e->n_urls == NF_TOKEN_MAX_URLS)
			return -EINVAL;
		if (!set_field(e->urls[e->n_urls], NF_TOKEN_URL_MAX, val))
			return -EINVAL;
		e->n_urls++;
		return 0;
	}
	if (strcmp(line, "name") == 0)
		return set_field(e->name, sizeof(e->name), val) ? 0 : -EINVAL;
	if (strcmp(line, "network") == 0)
		return set_field(e->network, sizeof(e->network), val) ? 0 : -EINVAL;
	if (strcmp(line, "overlay_address") == 0)
		return set_field(e->overlay_address, sizeof(e->overlay_address), val) ? 0 : -EINVAL;
	return -EINVAL;
}

int state_load_enrollment(struct agent_state *st, struct agent_enrollment *out, char *err,
                          size_t errlen)
{
	char *text = NULL;
	char *save = NULL;
	bool have_pk = false;
	size_t len = 0;
	unsigned lineno = 0;
	int fd;
	int ret;

	memset(out, 0, sizeof(*out));
	fd = open_private(st, STATE_ENROLLMENT_FILE, err, errlen);
	if (fd < 0)
		return fd;
	text = malloc(ENROLLMENT_MAX + 1);
	if (!text) {
		ret = -ENOMEM;
		goto cleanup;
	}
	ret = read_all(fd, (uint8_t *)text, ENROLLMENT_MAX, &len);
	if (ret < 0) {
		snprintf(err, errlen, "%s/%s: %s", st->dir, STATE_ENROLLMENT_FILE, strerror(-ret));
		goto cleanup;
	}
	text[len] = '\0';
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		ret = parse_line(out, line, &have_pk);
		if (ret < 0) {
			snprintf(err, errlen, "%s/%s: line %u: bad entry", st->dir,
			         STATE_ENROLLMENT_FILE, lineno);
			goto cleanup;
		}
	}
	if (!have_pk || out->n_urls == 0 || !out->name[0] || !out->network[0]) {
		snprintf(err, errlen,
		         "%s/%s: incomplete (needs controller_pk, controller_url, "
		         "name, network)",
		         st->dir, STATE_ENROLLMENT_FILE);
		ret = -EINVAL;
	}
cleanup:
	close(fd);
	free(text);
	return ret;
}

/* True for a value the line-based record can hold: printable, no spaces, not empty. */
static bool storable(const char *s)
{
	if (!s[0])
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return false;
	return true;
}

int state_save_enrollment(struct agent_state *st, const struct agent_enrollment *enr)
{
	char pk[64];
	char *text = NULL;
	size_t size = 0;
	FILE *f;
	int ret;

	/* These came from the network or a token: a newline would forge a line. */
	if (!storable(enr->name) || !storable(enr->network) ||
	    (enr->overlay_address[0] && !storable(enr->overlay_address)))
		return -EINVAL;
	for (size_t i = 0; i < enr->n_urls; i++)
		if (!storable(enr->urls[i]))
			return -EINVAL;
	f = open_memstream(&text, &size);
	if (!f)
		return -ENOMEM;
	nf_key_to_base64(enr->controller_pk, pk, sizeof(pk));
	fprintf(f, "# netfn-agent enrollment record, written at enrollment\n");
	fprintf(f, "controller_pk=%s\n", pk);
	for (size_t i = 0; i < enr->n_urls; i++)
		fprintf(f, "controller_url=%s\n", enr->urls[i]);
	fprintf(f, "name=%s\nnetwork=%s\n", enr->name, enr->network);
	if (enr->overlay_address[0])
		fprintf(f, "overlay_address=%s\n", enr->overlay_address);
	if (fclose(f) != 0) {
		free(text);
		return -ENOMEM;
	}
	ret =
	    state_write_atomic(st->dirfd, STATE_ENROLLMENT_FILE, (const uint8_t *)text, size, 0600);
	free(text);
	return ret;
}

int state_load_config(struct agent_state *st, uint8_t **buf, size_t *len)
{
	char err[256];
	uint8_t *data = NULL;
	struct stat sb;
	int fd;
	int ret;

	fd = open_private(st, STATE_CONFIG_FILE, err, sizeof(err));
	if (fd < 0) {
		if (fd != -ENOENT)
			nf_warn("%s", err);
		return fd;
	}
	if (fstat(fd, &sb) < 0) {
		ret = -errno;
		goto cleanup;
	}
	/* The same bound as any frame from the controller. */
	if ((uint64_t)sb.st_size > NF_RPC_MAX_FRAME) {
		ret = -EFBIG;
		goto cleanup;
	}
	data = malloc((size_t)sb.st_size + 1);
	if (!data) {
		ret = -ENOMEM;
		goto cleanup;
	}
	ret = read_all(fd, data, (size_t)sb.st_size, len);
	if (ret < 0)
		goto cleanup;
	*buf = data;
	data = NULL;
cleanup:
	close(fd);
	free(data);
	return ret;
}

int state_save_config(struct agent_state *st, const uint8_t *buf, size_t len)
{
	return state_write_atomic(st->dirfd, STATE_CONFIG_FILE, buf, len, 0600);
}
