/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The #cloud-config user-data of `netfnctl bootstrap cloud-init`: a VM that
 * boots with it installs netfn-agent, finds its join token in a 0600 file and
 * /etc/netfn/agent.conf naming it, and starts the agent. Kept apart from the
 * command (cli_bootstrap.c) so the unit test can check the text without a
 * controller. Every value is checked here before it is written (printable
 * ASCII, no line breaks) and every scalar is quoted, so no input can add a
 * YAML key or a line to agent.conf.
 */
#ifndef NETFN_NETFNCTL_USERDATA_H
#define NETFN_NETFNCTL_USERDATA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "controller/netfnctl/args.h"

#define USERDATA_TOKEN_FILE "/etc/netfn/join-token"
#define USERDATA_CONF_FILE  "/etc/netfn/agent.conf"
#define USERDATA_DEB_FILE   "/var/cache/netfn-agent.deb"
#define USERDATA_VALUE_MAX  1024 /* a URL or an apt source line */

/* What goes into one VM's user-data. */
struct userdata {
	const char *network;  /* for the header comment */
	const char *token_id; /* likewise */
	const char *ttl;      /* likewise, as given ("1h"); NULL: the controller's default */
	const char *token;    /* the join token itself */
	const struct args_label *labels;
	size_t n_labels;
	const char *package_url; /* download and install this .deb ... */
	const char *apt_source;  /* ... or add this apt source and install from it; */
	                         /* neither: install from the image's apt sources */
};

/*
 * Checks a --package-url: http://, https:// or file://, printable ASCII
 * without blanks. Returns 0 or -EINVAL with the reason in err.
 */
int userdata_check_url(const char *url, char *err, size_t errlen);

/* Checks an --apt-source: one "deb [OPTIONS] URI SUITE [COMPONENT...]" line. */
int userdata_check_apt_source(const char *line, char *err, size_t errlen);

/* Checks a label as netfn-agent will (agent/args.c), since it goes into agent.conf. */
int userdata_check_label(const struct args_label *l, char *err, size_t errlen);

/* Writes s as a single-quoted YAML scalar; -EINVAL for anything not printable ASCII. */
int userdata_quote(FILE *f, const char *s);

/* Writes the whole user-data; -EINVAL (err says which field) if a value is unfit. */
int userdata_write(FILE *f, const struct userdata *u, char *err, size_t errlen);

#endif
