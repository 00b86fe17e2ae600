// SPDX-License-Identifier: Apache-2.0
/*
 * Logging: one line per event on stderr, which systemd's journal and the test
 * harness both capture. A mutex keeps lines from interleaving across nng's
 * callback threads.
 */
#include "netfns/common/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static enum nf_log_level min_level = NF_LOG_INFO;
static const char *ident = "netfn";
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void nf_log_set_level(enum nf_log_level level)
{
	min_level = level;
}

void nf_log_set_ident(const char *name)
{
	ident = name;
}

void nf_log(enum nf_log_level level, const char *fmt, ...)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level < min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	pthread_mutex_lock(&lock);
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ", tm.tm_year + 1900,
	        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
	        ident, names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	pthread_mutex_unlock(&lock);
}
