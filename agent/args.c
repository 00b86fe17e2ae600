// SPDX-License-Identifier: Apache-2.0
/*
 * Command-line parsing for netfn-agent. Hand-rolled rather than getopt_long
 * so that every message names the flag and the value it rejects, and so the
 * tests can call it repeatedly without getopt's global state. Both
 * "--flag value" and "--flag=value" are accepted.
 */
#include "agent/args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netfns/common/prefix.h"

const char agent_usage[] =
    "usage: netfn-agent --state-dir DIR [--controller tcp://HOST:PORT]...\n"
    "                   [--join-token TOKEN | --join-token-file FILE]\n"
    "                   [--name NAME] [--labels KEY=VALUE,...] [--endpoint IP:PORT]...\n"
    "                   [--wg-interface NAME] [--ovs-rundir DIR] [--cleanup-on-exit]\n"
    "                   [--log-level debug|info|warn|error] [--config FILE]\n"
    "\n"
    "  --controller URL      controller agent endpoint; repeatable (default: the\n"
    "                        URLs in the join token / saved at enrollment)\n"
    "  --join-token TOKEN    join token (nfj1....), needed on the first start only\n"
    "  --join-token-file F   read the join token from F\n"
    "  --state-dir DIR       keys, enrollment record and last applied config\n"
    "  --name NAME           node name (default: the host name)\n"
    "  --labels K=V,...      node labels sent at enrollment; repeatable\n"
    "  --endpoint IP:PORT    address where peers reach this node; repeatable\n"
    "  --wg-interface NAME   WireGuard interface (default: " AGENT_DEFAULT_IF ")\n"
    "  --ovs-rundir DIR      the Open vSwitch to put the overlay through for flow\n"
    "                        filters: DIR holds ovsdb-server's db.sock and the\n"
    "                        bridges' .mgmt sockets (e.g. /run/openvswitch); without\n"
    "                        it, flow filters for this node are refused\n"
    "  --cleanup-on-exit     remove the interface on SIGTERM/SIGINT\n"
    "  --log-level LEVEL     debug, info (default), warn or error\n"
    "  --config FILE         settings as \"key = value\" lines, each key named as its\n"
    "                        flag (default: " AGENT_DEFAULT_CONF ", when it exists);\n"
    "                        a flag given here replaces the file's values for it\n";

/* Characters of names, label keys and values: no shell or path metacharacters. */
static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

static bool valid_token(const char *s, size_t min, size_t max, bool slash)
{
	size_t len = strlen(s);

	if (len < min || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!name_char(s[i]) && !(slash && s[i] == '/'))
			return false;
	return true;
}

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

static int add_label(const char *item, size_t len, struct agent_args *out, char *err, size_t errlen)
{
	char buf[2 * AGENT_LABEL_MAX + 2];
	struct agent_label *l;
	char *eq;

	if (len == 0)
		return fail(err, errlen, "--labels: empty label (stray comma?)");
	if (len >= sizeof(buf))
		return fail(err, errlen, "--labels: \"%.*s...\": too long", 32, item);
	memcpy(buf, item, len);
	buf[len] = '\0';
	eq = strchr(buf, '=');
	if (!eq)
		return fail(err, errlen, "--labels: \"%s\": expected KEY=VALUE", buf);
	*eq = '\0';
	if (!valid_token(buf, 1, AGENT_LABEL_MAX - 1, true) || buf[0] == '.' || buf[0] == '-' ||
	    buf[0] == '/')
		return fail(err, errlen,
		            "--labels: \"%s\": key must be 1-%d of [A-Za-z0-9._/-], starting with "
		            "a letter or digit",
		            buf, AGENT_LABEL_MAX - 1);
	if (!valid_token(eq + 1, 0, AGENT_LABEL_MAX - 1, false))
		return fail(err, errlen, "--labels: \"%s\": value must be 0-%d of [A-Za-z0-9._-]",
		            buf, AGENT_LABEL_MAX - 1);
	for (size_t i = 0; i < out->n_labels; i++)
		if (strcmp(out->labels[i].key, buf) == 0)
			return fail(err, errlen, "--labels: \"%s\": key given twice", buf);
	if (out->n_labels == AGENT_MAX_LABELS)
		return fail(err, errlen, "--labels: more than %d labels", AGENT_MAX_LABELS);
	l = &out->labels[out->n_labels++];
	strcpy(l->key, buf);
	strcpy(l->value, eq + 1);
	return 0;
}

int agent_labels_parse(const char *s, struct agent_args *out, char *err, size_t errlen)
{
	const char *p = s;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		int ret = add_label(p, len, out, err, errlen);

		if (ret < 0)
			return ret;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

static int set_once(const char *flag, const char **dst, const char *val, char *err, size_t errlen)
{
	if (*dst)
		return fail(err, errlen, "%s: given twice", flag);
	if (!val[0])
		return fail(err, errlen, "%s: empty value", flag);
	*dst = val;
	return 0;
}

static int parse_level(const char *val, enum nf_log_level *out, char *err, size_t errlen)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(val, names[i]) == 0) {
			*out = (enum nf_log_level)i;
			return 0;
		}
	}
	return fail(err, errlen, "--log-level: \"%s\": expected debug, info, warn or error", val);
}

static int add_controller(const char *val, struct agent_args *out, char *err, size_t errlen)
{
	if (!strstr(val, "://") || strlen(val) >= NF_TOKEN_URL_MAX)
		return fail(err, errlen,
		            "--controller: \"%s\": expected a URL like tcp://HOST:PORT", val);
	if (out->n_controllers == NF_TOKEN_MAX_URLS)
		return fail(err, errlen, "--controller: more than %d given", NF_TOKEN_MAX_URLS);
	strcpy(out->controllers[out->n_controllers++], val);
	return 0;
}

static int add_endpoint(const char *val, struct agent_args *out, char *err, size_t errlen)
{
	struct sockaddr_storage ss;

	if (strlen(val) >= VPN_ENDPOINT_MAX || !nf_endpoint_parse(val, &ss))
		return fail(err, errlen, "--endpoint: \"%s\": expected IPv4:PORT or [IPv6]:PORT",
		            val);
	if (out->n_endpoints == VPN_MAX_ENDPOINTS)
		return fail(err, errlen, "--endpoint: more than %d given", VPN_MAX_ENDPOINTS);
	strcpy(out->endpoints[out->n_endpoints++], val);
	return 0;
}

/* The flags that are checked as a whole once all are in, and "given twice" markers. */
struct parse {
	struct agent_args *out;
	const char *name, *ifname, *level, *token;
};

static int set_name(struct parse *p, const char *flag, char *val, char *err, size_t errlen)
{
	int ret = set_once(flag, &p->name, val, err, errlen);

	if (ret < 0)
		return ret;
	if (!valid_token(val, 1, VPN_NAME_MAX - 1, false))
		return fail(err, errlen, "--name: \"%s\": must be 1-%d of [A-Za-z0-9._-]", val,
		            VPN_NAME_MAX - 1);
	strcpy(p->out->name, val);
	return 0;
}

static int set_ifname(struct parse *p, const char *flag, char *val, char *err, size_t errlen)
{
	int ret = set_once(flag, &p->ifname, val, err, errlen);

	if (ret < 0)
		return ret;
	if (!valid_token(val, 1, IFNAMSIZ - 1, false) || strcmp(val, ".") == 0 ||
	    strcmp(val, "..") == 0)
		return fail(err, errlen, "--wg-interface: \"%s\": must be 1-%d of [A-Za-z0-9._-]",
		            val, IFNAMSIZ - 1);
	strcpy(p->out->wg_ifname, val);
	return 0;
}

/*
 * Applies one flag and its value. Values are checked here rather than at the
 * end so that an error in the config file can still name its line.
 */
static int apply(struct parse *p, const char *flag, char *val, char *err, size_t errlen)
{
	struct agent_args *out = p->out;
	int ret;

	if (strcmp(flag, "--controller") == 0)
		return add_controller(val, out, err, errlen);
	if (strcmp(flag, "--join-token") == 0) {
		ret = set_once(flag, &p->token, val, err, errlen);
		if (ret == 0)
			out->join_token = val;
		return ret;
	}
	if (strcmp(flag, "--join-token-file") == 0)
		return set_once(flag, &out->join_token_file, val, err, errlen);
	if (strcmp(flag, "--state-dir") == 0)
		return set_once(flag, &out->state_dir, val, err, errlen);
	if (strcmp(flag, "--config") == 0)
		return set_once(flag, &out->config, val, err, errlen);
	if (strcmp(flag, "--name") == 0)
		return set_name(p, flag, val, err, errlen);
	if (strcmp(flag, "--labels") == 0)
		return agent_labels_parse(val, out, err, errlen);
	if (strcmp(flag, "--endpoint") == 0)
		return add_endpoint(val, out, err, errlen);
	if (strcmp(flag, "--wg-interface") == 0)
		return set_ifname(p, flag, val, err, errlen);
	if (strcmp(flag, "--ovs-rundir") == 0) {
		ret = set_once(flag, &out->ovs_rundir, val, err, errlen);
		if (ret == 0 &&
		    (val[0] != '/' || strlen(val) > 80 || !valid_token(val, 2, 80, true)))
			return fail(err, errlen,
			            "--ovs-rundir: \"%s\": expected an absolute path of at most 80 "
			            "of [A-Za-z0-9._/-]",
			            val);
		return ret;
	}
	if (strcmp(flag, "--log-level") == 0) {
		ret = set_once(flag, &p->level, val, err, errlen);
		return ret < 0 ? ret : parse_level(val, &out->log_level, err, errlen);
	}
	return fail(err, errlen, "unknown flag %s", flag);
}

/* Fills the defaults and checks what only makes sense as a whole. */
static int finish(struct parse *p, char *err, size_t errlen)
{
	struct agent_args *out = p->out;

	if (!out->state_dir)
		return fail(err, errlen,
		            "--state-dir: required (a flag or state-dir in the "
		            "config file)");
	if (out->join_token && out->join_token_file)
		return fail(err, errlen, "--join-token and --join-token-file: give only one");
	if (!p->name) {
		char host[256] = "";

		if (gethostname(host, sizeof(host) - 1) < 0 ||
		    !valid_token(host, 1, VPN_NAME_MAX - 1, false))
			return fail(err, errlen,
			            "--name: the host name \"%s\" is not a usable node name; "
			            "give --name",
			            host);
		strcpy(out->name, host);
	}
	if (!p->ifname)
		strcpy(out->wg_ifname, AGENT_DEFAULT_IF);
	return 0;
}

/* True for the flags that take no value. */
static bool bare_flag(const char *flag)
{
	return strcmp(flag, "--help") == 0 || strcmp(flag, "--cleanup-on-exit") == 0;
}

/*
 * True when the command line set the key of this config entry: its values in
 * the file are then replaced, not added to. --join-token replaces the file's
 * join-token-file, since only one of the two may be given.
 */
static bool overridden(char given[][32], size_t n_given, const char *key)
{
	for (size_t i = 0; i < n_given; i++) {
		if (strcmp(given[i] + 2, key) == 0)
			return true;
		if (strcmp(given[i], "--join-token") == 0 && strcmp(key, "join-token-file") == 0)
			return true;
	}
	return false;
}

/* Applies the file's settings the command line left alone. */
static int apply_conf(struct parse *p, const struct agent_conf *conf, char given[][32],
                      size_t n_given, char *err, size_t errlen)
{
	char msg[512];
	char flag[48];

	for (size_t i = 0; i < conf->n; i++) {
		const struct agent_conf_entry *e = &conf->entries[i];
		int ret;

		if (overridden(given, n_given, e->key))
			continue;
		snprintf(flag, sizeof(flag), "--%s", e->key);
		ret = apply(p, flag, e->value, msg, sizeof(msg));
		if (ret < 0) {
			/* "--labels: ..." becomes "<path>:<line>: labels: ...". */
			snprintf(err, errlen, "%s:%u: %s", conf->path, e->line,
			         strncmp(msg, "--", 2) == 0 ? msg + 2 : msg);
			return ret;
		}
	}
	return 0;
}

int agent_args_parse_conf(int argc, char **argv, const struct agent_conf *conf,
                          struct agent_args *out, char *err, size_t errlen)
{
	/* Distinct flags given on the command line; more than there are flags cannot be. */
	char given[16][32];
	struct parse p = {.out = out};
	size_t n_given = 0;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->log_level = NF_LOG_INFO;
	for (int i = 1; i < argc; i++) {
		char flag[32];
		char *arg = argv[i];
		char *eq = strchr(arg, '=');
		char *val = NULL;
		size_t flen = eq ? (size_t)(eq - arg) : strlen(arg);
		bool seen = false;

		if (strncmp(arg, "--", 2) != 0)
			return fail(err, errlen, "unexpected argument \"%s\"", arg);
		if (flen >= sizeof(flag))
			return fail(err, errlen, "unknown flag %.*s", 32, arg);
		memcpy(flag, arg, flen);
		flag[flen] = '\0';
		if (strcmp(flag, "--help") == 0) {
			out->help = true;
			return 0;
		}
		if (strcmp(flag, "--cleanup-on-exit") == 0) {
			if (eq)
				return fail(err, errlen, "--cleanup-on-exit: takes no value");
			out->cleanup_on_exit = true;
			continue;
		}
		if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			return fail(err, errlen, "%s: needs a value", flag);
		}
		ret = apply(&p, flag, val, err, errlen);
		if (ret < 0)
			return ret;
		for (size_t k = 0; k < n_given; k++)
			seen = seen || strcmp(given[k], flag) == 0;
		if (!seen && n_given < sizeof(given) / sizeof(given[0]))
			strcpy(given[n_given++], flag);
	}
	if (conf) {
		ret = apply_conf(&p, conf, given, n_given, err, errlen);
		if (ret < 0)
			return ret;
	}
	return finish(&p, err, errlen);
}

int agent_args_parse(int argc, char **argv, struct agent_args *out, char *err, size_t errlen)
{
	return agent_args_parse_conf(argc, argv, NULL, out, err, errlen);
}

const char *agent_args_config(int argc, char **argv, const char *default_path)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--help") == 0)
			return NULL;
		if (strncmp(arg, "--config=", 9) == 0)
			return arg + 9;
		if (strcmp(arg, "--config") == 0)
			return i + 1 < argc ? argv[i + 1] : NULL; /* the parser reports it */
		/* Skips a flag's separate value, which may itself look like a flag. */
		if (strncmp(arg, "--", 2) == 0 && !strchr(arg, '=') && !bare_flag(arg))
			i++;
	}
	return default_path && access(default_path, F_OK) == 0 ? default_path : NULL;
}
