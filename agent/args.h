/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's command line, parsed into fixed-size fields. Parsing is kept
 * apart from main() so the unit tests can feed it bad input; every error it
 * reports names the flag that carried the bad value.
 */
#ifndef NETFN_AGENT_ARGS_H
#define NETFN_AGENT_ARGS_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#include "agent/conf.h"
#include "netfns/common/log.h"
#include "netfns/vpn/vpn.h"
#include "proto/token.h"

#define AGENT_MAX_LABELS 16
#define AGENT_LABEL_MAX  64 /* a label key or value: up to 63 chars + NUL */
#define AGENT_DEFAULT_IF "netfn0"

struct agent_label {
	char key[AGENT_LABEL_MAX];
	char value[AGENT_LABEL_MAX];
};

struct agent_args {
	size_t n_controllers;
	char controllers[NF_TOKEN_MAX_URLS][NF_TOKEN_URL_MAX];
	char *join_token;            /* points into argv, which main wipes once it is decoded */
	const char *join_token_file; /* into argv, or into the config file's text */
	const char *state_dir;       /* likewise */
	const char *config;          /* --config, if given */
	char name[VPN_NAME_MAX];     /* gethostname() when --name is absent */
	size_t n_labels;
	struct agent_label labels[AGENT_MAX_LABELS];
	size_t n_endpoints;
	char endpoints[VPN_MAX_ENDPOINTS][VPN_ENDPOINT_MAX];
	char wg_ifname[IFNAMSIZ];
	const char *ovs_rundir; /* into argv or the config file's text; NULL: no Open vSwitch */
	bool cleanup_on_exit;
	enum nf_log_level log_level;
	bool help;
};

/* The usage text printed by --help and after a usage error. */
extern const char agent_usage[];

/*
 * Parses argv[1..argc) into out. Returns 0, or -EINVAL with a message such as
 * "--labels: \"a\": expected KEY=VALUE" in err. With --help, out->help is set
 * and nothing else is checked.
 */
int agent_args_parse(int argc, char **argv, struct agent_args *out, char *err, size_t errlen);

/*
 * Like agent_args_parse, over the settings of conf (NULL: none): a flag on
 * the command line replaces every value the file gives for that key. Errors
 * in the file read "<path>:<line>: labels: \"a\": expected KEY=VALUE".
 * out may point into conf's text, which must outlive it.
 */
int agent_args_parse_conf(int argc, char **argv, const struct agent_conf *conf,
                          struct agent_args *out, char *err, size_t errlen);

/*
 * The config file to read before parsing: --config's value, else
 * default_path if that file exists, else NULL (also with --help, which needs
 * none).
 */
const char *agent_args_config(int argc, char **argv, const char *default_path);

/* Adds the labels of one --labels value ("k=v,k2=v2") to out; -EINVAL with err. */
int agent_labels_parse(const char *s, struct agent_args *out, char *err, size_t errlen);

#endif
