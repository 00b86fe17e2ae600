// SPDX-License-Identifier: Apache-2.0
/*
 * The data-plane daemons' starter (see daemon.h): posix_spawn with every
 * attribute set explicitly, so nothing of the agent's own state (blocked
 * signals for its signal thread, its process group, open sockets) leaks into
 * a process that outlives it.
 */
#include "netfns/common/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t nf_daemon_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int nf_daemon_start(const char *program, char *const argv[], pid_t *pid, int *outfd)
{
	static const int sigs[] = {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2};
	char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	int p[2] = {-1, -1}, ret;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&dfl);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&dfl, sigs[i]);
	ret = -posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
	                                           POSIX_SPAWN_SETSIGDEF);
	if (!ret)
		ret = -posix_spawnattr_setsigmask(&attr, &none);
	if (!ret)
		ret = -posix_spawnattr_setsigdefault(&attr, &dfl);
	if (!ret)
		ret = -posix_spawn_file_actions_addchdir_np(&fa, "/");
	if (!ret)
		ret = -posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!ret)
		ret = -posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	if (!ret)
		ret = -posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	if (!ret)
		ret = -posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	if (!ret)
		ret = -posix_spawn(pid, program, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(p[1]);
	if (ret < 0) {
		close(p[0]);
		return ret;
	}
	*outfd = p[0];
	return 0;
}

int nf_daemon_reap(pid_t pid, int fd, int64_t deadline_ms, char *out, size_t size)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char discard[256];
	bool exited = false, eof = false;
	int status = 0;
	size_t n = 0;

	while (!(exited && eof)) {
		int64_t left = deadline_ms - nf_daemon_now_ms();
		pid_t r;
		int pr;

		if (!exited) {
			r = waitpid(pid, &status, WNOHANG);
			/* ECHILD: the host program ignores SIGCHLD, the kernel reaped it. */
			exited = r == pid || (r < 0 && errno == ECHILD);
			if (r < 0)
				status = 0;
		}
		if (left <= 0)
			break;
		pr = eof ? 0 : poll(&pfd, 1, exited ? 0 : (int)(left < 20 ? left : 20));
		if (pr > 0) {
			bool room = n < size - 1;
			ssize_t got = read(fd, room ? out + n : discard,
			                   room ? size - 1 - n : sizeof(discard));

			if (got > 0 && room)
				n += (size_t)got;
			eof = got == 0 || (got < 0 && errno != EINTR);
		} else if (exited) {
			break; /* gone, and nothing more to read now */
		}
	}
	out[n] = '\0';
	if (!exited) {
		kill(pid, SIGKILL); /* our own child, stuck: do not leave it half started */
		waitpid(pid, &status, 0);
		return -ETIMEDOUT;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
