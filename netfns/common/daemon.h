/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Starting the data-plane daemons the agent runs (wireguard-go, dnsmasq):
 * the one place a program is started. A fixed program path and argv, no
 * shell; the child gets its own session (a ^C or a kill of the agent's
 * process group never reaches the data plane), default signal dispositions
 * and an empty mask whatever the agent set for itself, cwd /, stdin from
 * /dev/null, stdout and stderr into a pipe, and nothing else inherited.
 * These programs daemonize: the started process is a starter that exits once
 * the daemon runs, and nf_daemon_reap collects what it printed.
 */
#ifndef NETFN_COMMON_DAEMON_H
#define NETFN_COMMON_DAEMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Starts program (an absolute path) with argv (argv[0] its name, NULL
 * terminated) and PATH as the only environment variable; *outfd reads its
 * stdout and stderr. 0 or -errno.
 */
int nf_daemon_start(const char *program, char *const argv[], pid_t *pid, int *outfd);

/*
 * Collects the starter's output into out (NUL-terminated, truncated to size)
 * and reaps it; closes nothing. Returns its exit status (128 + signal when
 * killed), or -ETIMEDOUT after killing it when it has not exited by
 * deadline_ms (CLOCK_MONOTONIC milliseconds).
 */
int nf_daemon_reap(pid_t pid, int fd, int64_t deadline_ms, char *out, size_t size);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t nf_daemon_now_ms(void);

#endif
