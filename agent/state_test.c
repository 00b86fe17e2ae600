// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the state dir: keys made 0600 on first start and reused,
 * key files others can read (or symlinked) refused, the directory lock,
 * round trips of the enrollment record and the saved config, and the atomic
 * write keeping the old content when the new one cannot be written.
 * Runs in a fresh directory under /tmp; needs no root and no network.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/state.h"
#include "tests/check.h"

static char root[64];

static void path_of(char *buf, size_t len, const char *dir, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len)
		abort();
}

static unsigned mode_of(const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) < 0)
		return 0xffff;
	return (unsigned)(sb.st_mode & 07777);
}

static void rm_rf(const char *dir)
{
	static const char *const names[] = {"identity.key", "wg.key", "enrollment",
	                                    "config.pb",    "lock",   "config.pb.tmp",
	                                    "wg.key.tmp"};
	char p[256];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path_of(p, sizeof(p), dir, names[i]);
		if (unlink(p) < 0 && errno == EISDIR)
			rmdir(p);
		rmdir(p);
	}
	rmdir(dir);
}

static void test_keys(void)
{
	struct agent_state *st = NULL;
	uint8_t id_sk[32], id_pk[32], wg_sk[32], wg_pk[32], derived[32];
	char dir[128], p[256], err[512];

	path_of(dir, sizeof(dir), root, "keys/nested");
	CHECK(state_open(dir, &st, err, sizeof(err)) == 0);
	if (!st)
		return;
	CHECK(mode_of(dir) == 0700);
	path_of(p, sizeof(p), dir, STATE_IDENTITY_FILE);
	CHECK(mode_of(p) == 0600);
	path_of(p, sizeof(p), dir, STATE_WG_KEY_FILE);
	CHECK(mode_of(p) == 0600);
	/* The WireGuard key is clamped and its public half derived from it. */
	CHECK((st->wg_private[0] & 7) == 0);
	CHECK((st->wg_private[31] & 0xc0) == 0x40);
	crypto_scalarmult_base(derived, st->wg_private);
	CHECK(memcmp(derived, st->wg_public, 32) == 0);
	crypto_scalarmult_base(derived, st->identity.sk);
	CHECK(memcmp(derived, st->identity.pk, 32) == 0);
	CHECK(memcmp(st->identity.sk, st->wg_private, 32) != 0);
	memcpy(id_sk, st->identity.sk, 32);
	memcpy(id_pk, st->identity.pk, 32);
	memcpy(wg_sk, st->wg_private, 32);
	memcpy(wg_pk, st->wg_public, 32);

	/* A second agent on the same dir is refused while the first runs. */
	{
		struct agent_state *other = NULL;

		CHECK(state_open(dir, &other, err, sizeof(err)) == -EWOULDBLOCK);
		CHECK(strstr(err, "in use") != NULL);
		CHECK(other == NULL);
	}
	state_close(st);
	st = NULL;

	/* Reload: the same keys. */
	CHECK(state_open(dir, &st, err, sizeof(err)) == 0);
	if (st) {
		CHECK(memcmp(st->identity.sk, id_sk, 32) == 0);
		CHECK(memcmp(st->identity.pk, id_pk, 32) == 0);
		CHECK(memcmp(st->wg_private, wg_sk, 32) == 0);
		CHECK(memcmp(st->wg_public, wg_pk, 32) == 0);
		state_close(st);
		st = NULL;
	}

	/* A key readable by the group is refused, with the file named. */
	path_of(p, sizeof(p), dir, STATE_WG_KEY_FILE);
	CHECK(chmod(p, 0640) == 0);
	err[0] = '\0';
	CHECK(state_open(dir, &st, err, sizeof(err)) == -EPERM);
	CHECK(st == NULL);
	CHECK(strstr(err, "wg.key") != NULL);
	CHECK(strstr(err, "group or others") != NULL);
	CHECK(chmod(p, 0604) == 0);
	CHECK(state_open(dir, &st, err, sizeof(err)) == -EPERM);
	CHECK(chmod(p, 0600) == 0);

	/* A symlink in place of a key is refused, not followed. */
	path_of(p, sizeof(p), dir, STATE_IDENTITY_FILE);
	{
		char moved[256];

		path_of(moved, sizeof(moved), root, "moved.key");
		CHECK(rename(p, moved) == 0);
		CHECK(symlink(moved, p) == 0);
		CHECK(state_open(dir, &st, err, sizeof(err)) == -ELOOP);
		CHECK(strstr(err, "symbolic link") != NULL);
		CHECK(unlink(p) == 0);
		CHECK(rename(moved, p) == 0);
	}

	/* A damaged key is an error, never silently replaced. */
	path_of(p, sizeof(p), dir, STATE_WG_KEY_FILE);
	{
		int fd = open(p, O_WRONLY | O_TRUNC);

		CHECK(fd >= 0);
		CHECK(write(fd, "not a key\n", 10) == 10);
		close(fd);
	}
	CHECK(state_open(dir, &st, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "wg.key") != NULL);
	rm_rf(dir);
	path_of(p, sizeof(p), root, "keys");
	rmdir(p);
}

static void test_enrollment(struct agent_state *st)
{
	struct agent_enrollment in, out;
	char err[512], p[256];

	CHECK(state_load_enrollment(st, &out, err, sizeof(err)) == -ENOENT);
	memset(&in, 0, sizeof(in));
	randombytes_buf(in.controller_pk, sizeof(in.controller_pk));
	in.n_urls = 2;
	strcpy(in.urls[0], "tcp://10.0.0.1:7001");
	strcpy(in.urls[1], "tcp://[fd00::1]:7001");
	strcpy(in.name, "vm-1");
	strcpy(in.network, "prod");
	strcpy(in.overlay_address, "10.10.0.2/24");
	CHECK(state_save_enrollment(st, &in) == 0);
	path_of(p, sizeof(p), st->dir, STATE_ENROLLMENT_FILE);
	CHECK(mode_of(p) == 0600);
	CHECK(state_load_enrollment(st, &out, err, sizeof(err)) == 0);
	CHECK(memcmp(in.controller_pk, out.controller_pk, 32) == 0);
	CHECK(out.n_urls == 2);
	CHECK(strcmp(out.urls[0], in.urls[0]) == 0);
	CHECK(strcmp(out.urls[1], in.urls[1]) == 0);
	CHECK(strcmp(out.name, "vm-1") == 0);
	CHECK(strcmp(out.network, "prod") == 0);
	CHECK(strcmp(out.overlay_address, "10.10.0.2/24") == 0);

	/* A value that would break the line format is not written. */
	strcpy(in.name, "vm\ncontroller_pk=x");
	CHECK(state_save_enrollment(st, &in) == -EINVAL);
	strcpy(in.name, "vm-1");
	strcpy(in.urls[1], "tcp://a b:1");
	CHECK(state_save_enrollment(st, &in) == -EINVAL);
	CHECK(state_load_enrollment(st, &out, err, sizeof(err)) == 0);
	CHECK(strcmp(out.urls[1], "tcp://[fd00::1]:7001") == 0);

	/* A record with an unknown line is refused, naming the line. */
	{
		static const char bad[] = "name=x\nnetwork=y\nbogus=1\n";

		CHECK(state_write_atomic(st->dirfd, STATE_ENROLLMENT_FILE, (const uint8_t *)bad,
		                         sizeof(bad) - 1, 0600) == 0);
		CHECK(state_load_enrollment(st, &out, err, sizeof(err)) == -EINVAL);
		CHECK(strstr(err, "line 3") != NULL);
	}
	/* One without the controller key is incomplete. */
	{
		static const char partial[] = "controller_url=tcp://a:1\nname=x\nnetwork=y\n";

		CHECK(state_write_atomic(st->dirfd, STATE_ENROLLMENT_FILE, (const uint8_t *)partial,
		                         sizeof(partial) - 1, 0600) == 0);
		CHECK(state_load_enrollment(st, &out, err, sizeof(err)) == -EINVAL);
		CHECK(strstr(err, "incomplete") != NULL);
	}
}

static void test_config(struct agent_state *st)
{
	static const uint8_t a[] = {0x0a, 0x03, 'v', 'm', '1', 0x12, 0x01, 'p'};
	static const uint8_t b[] = {0x0a, 0x03, 'v', 'm', '2'};
	uint8_t *buf = NULL;
	size_t len = 0;
	char p[256];

	CHECK(state_load_config(st, &buf, &len) == -ENOENT);
	CHECK(state_save_config(st, a, sizeof(a)) == 0);
	path_of(p, sizeof(p), st->dir, STATE_CONFIG_FILE);
	CHECK(mode_of(p) == 0600);
	CHECK(state_load_config(st, &buf, &len) == 0);
	CHECK(len == sizeof(a) && buf && memcmp(buf, a, len) == 0);
	free(buf);
	buf = NULL;

	/* The write fails part way (its tmp path is taken by a directory): old content stays. */
	path_of(p, sizeof(p), st->dir, STATE_CONFIG_FILE ".tmp");
	CHECK(mkdir(p, 0700) == 0);
	CHECK(state_save_config(st, b, sizeof(b)) < 0);
	CHECK(state_load_config(st, &buf, &len) == 0);
	CHECK(len == sizeof(a) && buf && memcmp(buf, a, len) == 0);
	free(buf);
	buf = NULL;
	CHECK(rmdir(p) == 0);

	/* A stale tmp file from a crash does not get in the way. */
	{
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);

		CHECK(fd >= 0);
		CHECK(write(fd, "junk", 4) == 4);
		close(fd);
	}
	CHECK(state_save_config(st, b, sizeof(b)) == 0);
	CHECK(state_load_config(st, &buf, &len) == 0);
	CHECK(len == sizeof(b) && buf && memcmp(buf, b, len) == 0);
	free(buf);
	CHECK(access(p, F_OK) < 0 && errno == ENOENT);

	/* An empty config is a valid (empty) message. */
	CHECK(state_save_config(st, NULL, 0) == 0);
	buf = NULL;
	CHECK(state_load_config(st, &buf, &len) == 0);
	CHECK(len == 0);
	free(buf);
}

int main(void)
{
	struct agent_state *st = NULL;
	char dir[128], err[512];

	CHECK(sodium_init() >= 0);
	strcpy(root, "/tmp/agent_state_test.XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	test_keys();

	path_of(dir, sizeof(dir), root, "state");
	CHECK(state_open(dir, &st, err, sizeof(err)) == 0);
	if (st) {
		test_enrollment(st);
		test_config(st);
		state_close(st);
	}
	state_close(NULL);
	rm_rf(dir);
	rmdir(root);
	return check_result();
}
