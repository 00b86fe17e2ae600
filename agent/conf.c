// SPDX-License-Identifier: Apache-2.0
/*
 * Reading /etc/netfn/agent.conf. The grammar is deliberately small: blank
 * lines, '#' comments (a whole line, or after white space), and
 * "key = value" with the value running to the end of the line. No quoting
 * and no continuation lines: no value the agent takes contains white space or
 * '#', and a grammar this small cannot be misread. Every message starts with
 * "<path>:<line>:" and, once the key is known, the key.
 */
#include "agent/conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The flags a file may set; join-token is left out on purpose (see below). */
static const char *const keys[] = {
    "controller", "join-token-file", "state-dir", "name",       "labels",
    "endpoint",   "wg-interface",    "log-level", "ovs-rundir",
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Trims blanks at both ends in place. */
static char *trim(char *s)
{
	char *end = s + strlen(s);

	while (blank(*s))
		s++;
	while (end > s && blank(end[-1]))
		*--end = '\0';
	return s;
}

static const char *known_key(const char *key)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(key, keys[i]) == 0)
			return keys[i];
	return NULL;
}

/* Parses one line (already NUL-terminated, without its newline). */
static int parse_line(struct agent_conf *conf, char *line, unsigned no, char *err, size_t errlen)
{
	struct agent_conf_entry *e;
	const char *key;
	char *eq, *p;

	for (p = line; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 && c != '\t')
			return fail(err, errlen, "%s:%u: control character 0x%02x", conf->path, no,
			            c);
		if (c == 0x7f)
			return fail(err, errlen, "%s:%u: control character 0x7f", conf->path, no);
	}
	/* A comment starts the line or follows a blank: "a#b" stays a value. */
	for (p = line; *p; p++) {
		if (*p == '#' && (p == line || blank(p[-1]))) {
			*p = '\0';
			break;
		}
	}
	line = trim(line);
	if (!*line)
		return 0;
	eq = strchr(line, '=');
	if (!eq)
		return fail(err, errlen, "%s:%u: \"%.48s\": expected KEY = VALUE", conf->path, no,
		            line);
	*eq = '\0';
	line = trim(line);
	if (!*line)
		return fail(err, errlen, "%s:%u: missing the key before '='", conf->path, no);
	key = known_key(line);
	/* A secret does not belong in a file every user can read. */
	if (!key && strcmp(line, "join-token") == 0)
		return fail(err, errlen,
		            "%s:%u: join-token: not allowed in a config file; put the token "
		            "in a file of mode 0600 and give join-token-file",
		            conf->path, no);
	if (!key)
		return fail(err, errlen,
		            "%s:%u: %.48s: unknown key (known: controller, join-token-file, "
		            "state-dir, name, labels, endpoint, wg-interface, log-level, "
		            "ovs-rundir)",
		            conf->path, no, line);
	if (conf->n == AGENT_CONF_MAX)
		return fail(err, errlen, "%s:%u: %s: more than %d settings in one file", conf->path,
		            no, key, AGENT_CONF_MAX);
	e = &conf->entries[conf->n++];
	e->key = key;
	e->value = trim(eq + 1);
	e->line = no;
	return 0;
}

int agent_conf_parse(struct agent_conf *conf, const char *path, char *text, char *err,
                     size_t errlen)
{
	char *line = text;
	unsigned no = 1;
	int ret;

	memset(conf, 0, sizeof(*conf));
	conf->text = text;
	snprintf(conf->path, sizeof(conf->path), "%s", path);
	while (line) {
		char *nl = strchr(line, '\n');

		if (nl) {
			*nl = '\0';
			if (nl > line && nl[-1] == '\r') /* a file edited on Windows */
				nl[-1] = '\0';
		}
		ret = parse_line(conf, line, no, err, errlen);
		if (ret < 0)
			return ret;
		line = nl ? nl + 1 : NULL;
		no++;
	}
	return 0;
}

int agent_conf_load(struct agent_conf *conf, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, ret;

	memset(conf, 0, sizeof(*conf));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	/* One byte more than allowed, to tell a full file from a too long one. */
	text = malloc(AGENT_CONF_MAX_BYTES + 2);
	if (!text) {
		ret = -ENOMEM;
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		goto cleanup;
	}
	while (len <= AGENT_CONF_MAX_BYTES &&
	       (n = read(fd, text + len, AGENT_CONF_MAX_BYTES + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto cleanup;
		}
		len += (size_t)n;
	}
	if (len > AGENT_CONF_MAX_BYTES) {
		ret = fail(err, errlen, "%s: longer than %d bytes", path, AGENT_CONF_MAX_BYTES);
		goto cleanup;
	}
	text[len] = '\0';
	if (memchr(text, '\0', len)) {
		ret = fail(err, errlen, "%s: contains a NUL byte: not a text file", path);
		goto cleanup;
	}
	ret = agent_conf_parse(conf, path, text, err, errlen);
	text = NULL; /* conf owns it now, even on error */
cleanup:
	free(text);
	close(fd);
	return ret;
}

void agent_conf_free(struct agent_conf *conf)
{
	if (!conf)
		return;
	free(conf->text);
	conf->text = NULL;
	conf->n = 0;
}
