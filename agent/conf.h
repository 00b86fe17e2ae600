/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's configuration file, /etc/netfn/agent.conf: one "key = value"
 * per line, where each key is the name of a command-line flag without its
 * dashes ("state-dir = /var/lib/netfn"). This file only splits the text
 * into settings and refuses keys it does not know; the values are checked by
 * the same code as the flags (args.c), which also lets a flag on the command
 * line override the file's key of the same name.
 */
#ifndef NETFN_AGENT_CONF_H
#define NETFN_AGENT_CONF_H

#include <stddef.h>

#define AGENT_DEFAULT_CONF   "/etc/netfn/agent.conf"
#define AGENT_CONF_MAX_BYTES (64 * 1024) /* far more than any real file; bounds the read */
#define AGENT_CONF_MAX       128         /* settings in one file */

/* One "key = value" line; key and value point into the file's text. */
struct agent_conf_entry {
	const char *key;
	char *value;
	unsigned line;
};

struct agent_conf {
	char path[256]; /* as given, for messages: "<path>:<line>: key: ..." */
	char *text;     /* the file's contents, split in place */
	size_t n;
	struct agent_conf_entry entries[AGENT_CONF_MAX];
};

/*
 * Splits text (which conf takes over: it must be malloc'd) into settings.
 * Returns 0, or -EINVAL with a message such as "agent.conf:3: colour:
 * unknown key" in err; conf must be passed to agent_conf_free either way.
 */
int agent_conf_parse(struct agent_conf *conf, const char *path, char *text, char *err,
                     size_t errlen);

/* Reads and parses path; -ENOENT when it does not exist, else as agent_conf_parse. */
int agent_conf_load(struct agent_conf *conf, const char *path, char *err, size_t errlen);

/* Frees the text; accepts a zeroed or NULL conf. */
void agent_conf_free(struct agent_conf *conf);

#endif
