// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of /etc/netfn/agent.conf: the grammar (comments, blanks, CRLF,
 * a '#' inside a value), every refusal naming the file, the line and the
 * key, and how the file's settings combine with the command line (a flag
 * replaces the file's values for that key, and only those).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/args.h"
#include "agent/conf.h"
#include "tests/check.h"

/* Parses text as a file named "agent.conf"; err gets the message. */
static int conf_text(struct agent_conf *conf, const char *text, char *err, size_t errlen)
{
	char *copy = strdup(text);

	err[0] = '\0';
	if (!copy)
		return -ENOMEM;
	return agent_conf_parse(conf, "agent.conf", copy, err, errlen);
}

/* True when text is refused with exactly the message want. */
static int refused(const char *text, const char *want)
{
	struct agent_conf conf;
	char err[512];
	int ret = conf_text(&conf, text, err, sizeof(err));

	agent_conf_free(&conf);
	if (ret != -EINVAL || strcmp(err, want) != 0) {
		fprintf(stderr, "text '%s': %d '%s', want '%s'\n", text, ret, err, want);
		return 0;
	}
	return 1;
}

/* Parses the NULL-terminated flags over text; err gets the message. */
static int parse(struct agent_args *a, struct agent_conf *conf, const char *text, char *err,
                 size_t errlen, ...)
{
	char *argv[32] = {"netfn-agent"};
	int argc = 1;
	va_list ap;
	int ret;

	va_start(ap, errlen);
	for (char *s; (s = va_arg(ap, char *)) != NULL && argc < 31;)
		argv[argc++] = s;
	va_end(ap);
	ret = conf_text(conf, text, err, errlen);
	if (ret < 0)
		return ret;
	return agent_args_parse_conf(argc, argv, conf, a, err, errlen);
}

/* True when the flags over text are refused with exactly the message want. */
static int args_refused(const char *text, const char *want, const char *flag, const char *val)
{
	struct agent_conf conf;
	struct agent_args a;
	char err[512];
	int ret = flag ? parse(&a, &conf, text, err, sizeof(err), flag, val, NULL)
	               : parse(&a, &conf, text, err, sizeof(err), NULL);

	agent_conf_free(&conf);
	if (ret != -EINVAL || strcmp(err, want) != 0) {
		fprintf(stderr, "text '%s': %d '%s', want '%s'\n", text, ret, err, want);
		return 0;
	}
	return 1;
}

static void test_grammar(void)
{
	struct agent_conf conf;
	char err[256];

	CHECK(conf_text(&conf,
	                "# netfn agent\n"
	                "\n"
	                "state-dir = /var/lib/netfn\r\n"
	                "   labels=role=web,zone=eu1   # the node's labels\n"
	                "\tname\t=\tweb#1\n"
	                "log-level = debug#no comment without a blank before it\n"
	                "   # indented comment\n"
	                "endpoint = 192.0.2.1:51820",
	                err, sizeof(err)) == 0);
	CHECK(conf.n == 5);
	CHECK(strcmp(conf.entries[0].key, "state-dir") == 0);
	CHECK(strcmp(conf.entries[0].value, "/var/lib/netfn") == 0);
	CHECK(conf.entries[0].line == 3);
	CHECK(strcmp(conf.entries[1].key, "labels") == 0);
	CHECK(strcmp(conf.entries[1].value, "role=web,zone=eu1") == 0);
	CHECK(conf.entries[1].line == 4);
	CHECK(strcmp(conf.entries[2].value, "web#1") == 0);
	CHECK(strcmp(conf.entries[3].value, "debug#no comment without a blank before it") == 0);
	CHECK(strcmp(conf.entries[4].value, "192.0.2.1:51820") == 0);
	CHECK(conf.entries[4].line == 8);
	agent_conf_free(&conf);

	CHECK(conf_text(&conf, "", err, sizeof(err)) == 0 && conf.n == 0);
	agent_conf_free(&conf);
	CHECK(conf_text(&conf, "empty =\n", err, sizeof(err)) == -EINVAL);
	agent_conf_free(&conf);
	agent_conf_free(NULL);
}

static void test_refusals(void)
{
	CHECK(refused("state-dir = /x\n\ncolour = blue\n",
	              "agent.conf:3: colour: unknown key (known: controller, join-token-file, "
	              "state-dir, name, labels, endpoint, wg-interface, log-level, ovs-rundir)"));
	CHECK(refused("state_dir = /x\n",
	              "agent.conf:1: state_dir: unknown key (known: controller, join-token-file, "
	              "state-dir, name, labels, endpoint, wg-interface, log-level, ovs-rundir)"));
	CHECK(refused("config = /etc/other.conf\n",
	              "agent.conf:1: config: unknown key (known: controller, join-token-file, "
	              "state-dir, name, labels, endpoint, wg-interface, log-level, ovs-rundir)"));
	CHECK(refused("# ok\njoin-token = nfj1abc\n",
	              "agent.conf:2: join-token: not allowed in a config file; put the token in "
	              "a file of mode 0600 and give join-token-file"));
	CHECK(refused("state-dir /x\n", "agent.conf:1: \"state-dir /x\": expected KEY = VALUE"));
	CHECK(refused("\n = /x\n", "agent.conf:2: missing the key before '='"));
	CHECK(refused("name = a\x01"
	              "b\n",
	              "agent.conf:1: control character 0x01"));
	CHECK(refused("name = a\x7f\n", "agent.conf:1: control character 0x7f"));
}

static void test_with_flags(void)
{
	struct agent_conf conf;
	struct agent_args a;
	char err[512];
	const char *text = "# written by cloud-init\n"
	                   "controller = tcp://192.0.2.1:7400\n"
	                   "controller = tcp://192.0.2.2:7400\n"
	                   "join-token-file = /etc/netfn/join-token\n"
	                   "state-dir = /var/lib/netfn\n"
	                   "labels = role=web\n"
	                   "labels = zone=eu1\n"
	                   "endpoint = 198.51.100.7:51820\n"
	                   "wg-interface = netfn7\n"
	                   "log-level = warn\n"
	                   "name = web-1\n";

	/* The file alone. */
	CHECK(parse(&a, &conf, text, err, sizeof(err), NULL) == 0);
	CHECK(a.n_controllers == 2 && strcmp(a.controllers[1], "tcp://192.0.2.2:7400") == 0);
	CHECK(strcmp(a.join_token_file, "/etc/netfn/join-token") == 0);
	CHECK(strcmp(a.state_dir, "/var/lib/netfn") == 0);
	CHECK(a.n_labels == 2 && strcmp(a.labels[1].key, "zone") == 0);
	CHECK(a.n_endpoints == 1 && strcmp(a.wg_ifname, "netfn7") == 0);
	CHECK(a.log_level == NF_LOG_WARN && strcmp(a.name, "web-1") == 0);
	agent_conf_free(&conf);

	/* A flag replaces all the file's values of its key, and leaves the others. */
	CHECK(parse(&a, &conf, text, err, sizeof(err), "--controller", "tcp://203.0.113.9:7400",
	            "--labels=tier=db", "--state-dir", "/tmp/s", "--name", "db-1", NULL) == 0);
	CHECK(a.n_controllers == 1 && strcmp(a.controllers[0], "tcp://203.0.113.9:7400") == 0);
	CHECK(a.n_labels == 1 && strcmp(a.labels[0].key, "tier") == 0);
	CHECK(strcmp(a.state_dir, "/tmp/s") == 0 && strcmp(a.name, "db-1") == 0);
	CHECK(a.n_endpoints == 1 && a.log_level == NF_LOG_WARN);
	CHECK(strcmp(a.join_token_file, "/etc/netfn/join-token") == 0);
	agent_conf_free(&conf);

	/* --join-token replaces the file's join-token-file rather than clashing with it. */
	CHECK(parse(&a, &conf, text, err, sizeof(err), "--join-token", "nfj1x", NULL) == 0);
	CHECK(a.join_token && !a.join_token_file);
	agent_conf_free(&conf);

	/* state-dir may come from the file alone; without either it is required. */
	CHECK(args_refused("name = x\n",
	                   "--state-dir: required (a flag or state-dir in the config file)", NULL,
	                   NULL));

	/* Each value is checked as its flag is, and the message names the line and key. */
	CHECK(args_refused("state-dir = /x\n\n\n\n\n\nlabels = a\n",
	                   "agent.conf:7: labels: \"a\": expected KEY=VALUE", NULL, NULL));
	CHECK(args_refused("state-dir = /x\nstate-dir = /y\n",
	                   "agent.conf:2: state-dir: given twice", NULL, NULL));
	CHECK(args_refused("state-dir = \n", "agent.conf:1: state-dir: empty value", NULL, NULL));
	CHECK(args_refused("state-dir = /x\nname = web 1\n",
	                   "agent.conf:2: name: \"web 1\": must be 1-63 of [A-Za-z0-9._-]", NULL,
	                   NULL));
	CHECK(args_refused("state-dir = /x\nwg-interface = ../x\n",
	                   "agent.conf:2: wg-interface: \"../x\": must be 1-15 of [A-Za-z0-9._-]",
	                   NULL, NULL));
	CHECK(args_refused("state-dir = /x\nlog-level = loud\n",
	                   "agent.conf:2: log-level: \"loud\": expected debug, info, warn or error",
	                   NULL, NULL));
	CHECK(args_refused("state-dir = /x\ncontroller = 192.0.2.1\n",
	                   "agent.conf:2: controller: \"192.0.2.1\": expected a URL like "
	                   "tcp://HOST:PORT",
	                   NULL, NULL));
	CHECK(args_refused("state-dir = /x\nendpoint = host:1\n",
	                   "agent.conf:2: endpoint: \"host:1\": expected IPv4:PORT or [IPv6]:PORT",
	                   NULL, NULL));
	/* A bad value the command line replaces is never looked at. */
	CHECK(parse(&a, &conf, "state-dir = /x\nlabels = a\n", err, sizeof(err), "--labels", "b=c",
	            NULL) == 0);
	agent_conf_free(&conf);
	/* The command line's own errors keep naming the flag. */
	CHECK(args_refused("state-dir = /x\n", "--labels: \"a\": expected KEY=VALUE", "--labels",
	                   "a"));
}

static void test_load(void)
{
	char dir[] = "/tmp/netfn-conf-test-XXXXXX";
	char path[256], err[512];
	struct agent_conf conf;
	char *big;
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/agent.conf", dir);
	CHECK(agent_conf_load(&conf, path, err, sizeof(err)) == -ENOENT);
	CHECK(strstr(err, path) != NULL);
	agent_conf_free(&conf);

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, "state-dir = /x\nlog-level = info\n", 32) == 32);
	close(fd);
	CHECK(agent_conf_load(&conf, path, err, sizeof(err)) == 0);
	CHECK(conf.n == 2 && strcmp(conf.entries[1].value, "info") == 0);
	CHECK(strcmp(conf.path, path) == 0);
	agent_conf_free(&conf);

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, "name = a\0b\n", 11) == 11);
	close(fd);
	CHECK(agent_conf_load(&conf, path, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "NUL byte") != NULL);
	agent_conf_free(&conf);

	big = malloc(AGENT_CONF_MAX_BYTES + 1);
	CHECK(big != NULL);
	if (big) {
		memset(big, '#', AGENT_CONF_MAX_BYTES + 1);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		CHECK(fd >= 0 &&
		      write(fd, big, AGENT_CONF_MAX_BYTES + 1) == AGENT_CONF_MAX_BYTES + 1);
		close(fd);
		CHECK(agent_conf_load(&conf, path, err, sizeof(err)) == -EINVAL);
		CHECK(strstr(err, "longer than") != NULL);
		agent_conf_free(&conf);
		/* Exactly the limit is fine: comments only. */
		CHECK(truncate(path, AGENT_CONF_MAX_BYTES) == 0);
		CHECK(agent_conf_load(&conf, path, err, sizeof(err)) == 0 && conf.n == 0);
		agent_conf_free(&conf);
		free(big);
	}

	/* Which file main reads: --config, else the default if it exists. */
	{
		char *v1[] = {"a", "--state-dir", "/x", "--config", "/c", NULL};
		char *v2[] = {"a", "--config=/c2", NULL};
		char *v3[] = {"a", "--name", "--config", "--state-dir", "/x", NULL};
		char *v4[] = {"a", "--cleanup-on-exit", "--config", "/c4", NULL};
		char *v5[] = {"a", "--help", "--config", "/c5", NULL};

		CHECK(strcmp(agent_args_config(5, v1, NULL), "/c") == 0);
		CHECK(strcmp(agent_args_config(2, v2, NULL), "/c2") == 0);
		CHECK(agent_args_config(5, v3, "/nonexistent/agent.conf") == NULL);
		CHECK(strcmp(agent_args_config(5, v3, path), path) == 0);
		CHECK(strcmp(agent_args_config(4, v4, NULL), "/c4") == 0);
		CHECK(agent_args_config(4, v5, path) == NULL);
	}
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_grammar();
	test_refusals();
	test_with_flags();
	test_load();
	return check_result();
}
