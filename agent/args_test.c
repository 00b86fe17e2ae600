// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of netfn-agent's command line: the accepted forms, the
 * defaults, and bad values of each flag refused with that flag named in the
 * message (--labels above all, whose small grammar is easy to get wrong).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/args.h"
#include "tests/check.h"

/* Parses a NULL-terminated argument list after the program name. */
static int parse(struct agent_args *a, char *err, size_t errlen, ...)
{
	char *argv[32] = {"netfn-agent"};
	int argc = 1;
	va_list ap;

	va_start(ap, errlen);
	for (char *s; (s = va_arg(ap, char *)) != NULL && argc < 31;)
		argv[argc++] = s;
	va_end(ap);
	err[0] = '\0';
	return agent_args_parse(argc, argv, a, err, errlen);
}

/* True when parsing fails with a message that starts with prefix. */
static int refused(const char *prefix, const char *labels)
{
	struct agent_args a;
	char err[256];
	char arg[256];

	snprintf(arg, sizeof(arg), "%s", labels);
	if (parse(&a, err, sizeof(err), "--state-dir", "/tmp/x", "--labels", arg, NULL) !=
	    -EINVAL) {
		fprintf(stderr, "--labels '%s' accepted\n", labels);
		return 0;
	}
	if (strncmp(err, prefix, strlen(prefix)) != 0) {
		fprintf(stderr, "--labels '%s': message '%s'\n", labels, err);
		return 0;
	}
	return 1;
}

static void test_labels(void)
{
	struct agent_args a;
	char err[256];

	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/tmp/x", "--labels", "zone=eu-1,role=web",
	            "--labels=tier=", NULL) == 0);
	CHECK(a.n_labels == 3);
	CHECK(strcmp(a.labels[0].key, "zone") == 0 && strcmp(a.labels[0].value, "eu-1") == 0);
	CHECK(strcmp(a.labels[1].key, "role") == 0 && strcmp(a.labels[1].value, "web") == 0);
	CHECK(strcmp(a.labels[2].key, "tier") == 0 && a.labels[2].value[0] == '\0');
	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/tmp/x", "--labels", "netfn.io/gw=yes",
	            NULL) == 0);
	CHECK(a.n_labels == 1 && strcmp(a.labels[0].key, "netfn.io/gw") == 0);

	CHECK(refused("--labels", "zone"));        /* no '=' */
	CHECK(refused("--labels", "=eu"));         /* empty key */
	CHECK(refused("--labels", "a=b,,c=d"));    /* stray comma */
	CHECK(refused("--labels", ",a=b"));        /* leading comma */
	CHECK(refused("--labels", "a=b,"));        /* trailing comma */
	CHECK(refused("--labels", ""));            /* nothing */
	CHECK(refused("--labels", "a=b,a=c"));     /* key twice */
	CHECK(refused("--labels", "a=b c"));       /* space in value */
	CHECK(refused("--labels", "a b=c"));       /* space in key */
	CHECK(refused("--labels", "a=$(reboot)")); /* shell characters */
	CHECK(refused("--labels", "-a=b"));        /* key starts with '-' */
	CHECK(refused("--labels", "a=b=c"));       /* '=' in value */
	CHECK(refused("--labels", "a=b/c"));       /* '/' only in keys */
	CHECK(refused("--labels",
	              "k=0123456789012345678901234567890123456789012345678901234567890123"));
	CHECK(refused("--labels", "a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,j=10,k=11,l=12,m=13,n=14,"
	                          "o=15,p=16,q=17"));

	/* The message quotes the bad item. */
	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/tmp/x", "--labels", "ok=1,bad", NULL) ==
	      -EINVAL);
	CHECK(strstr(err, "\"bad\"") != NULL);
	CHECK(strstr(err, "KEY=VALUE") != NULL);
	/* --labels with no value at all. */
	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/tmp/x", "--labels", NULL) == -EINVAL);
	CHECK(strcmp(err, "--labels: needs a value") == 0);
}

static void test_flags(void)
{
	struct agent_args a;
	char host[256] = "";
	char err[256];

	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/var/lib/netfn", "--controller",
	            "tcp://10.0.0.1:7001", "--controller=tcp://10.0.0.2:7001", "--join-token",
	            "nfj1.abc", "--name", "vm-1", "--endpoint", "192.0.2.1:51820", "--endpoint",
	            "[2001:db8::1]:51820", "--wg-interface", "wg7", "--cleanup-on-exit",
	            "--log-level", "debug", NULL) == 0);
	CHECK(strcmp(a.state_dir, "/var/lib/netfn") == 0);
	CHECK(a.n_controllers == 2 && strcmp(a.controllers[1], "tcp://10.0.0.2:7001") == 0);
	CHECK(a.join_token && strcmp(a.join_token, "nfj1.abc") == 0);
	CHECK(strcmp(a.name, "vm-1") == 0);
	CHECK(a.n_endpoints == 2 && strcmp(a.endpoints[1], "[2001:db8::1]:51820") == 0);
	CHECK(strcmp(a.wg_ifname, "wg7") == 0);
	CHECK(a.cleanup_on_exit);
	CHECK(a.log_level == NF_LOG_DEBUG);

	/* Defaults. */
	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/tmp/x", "--name", "n", NULL) == 0);
	CHECK(strcmp(a.wg_ifname, "netfn0") == 0);
	CHECK(a.log_level == NF_LOG_INFO);
	CHECK(!a.cleanup_on_exit && a.n_controllers == 0 && !a.join_token);
	gethostname(host, sizeof(host) - 1);
	if (parse(&a, err, sizeof(err), "--state-dir", "/tmp/x", NULL) == 0)
		CHECK(strcmp(a.name, host) == 0);
	else
		CHECK(strncmp(err, "--name", 6) == 0);

	CHECK(parse(&a, err, sizeof(err), "--help", NULL) == 0 && a.help);

	/* Each bad value names its flag. */
	CHECK(parse(&a, err, sizeof(err), NULL) == -EINVAL);
	CHECK(strncmp(err, "--state-dir", 11) == 0);
	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/x", "--frob", NULL) == -EINVAL);
	CHECK(strstr(err, "--frob") != NULL);
	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/x", "stray", NULL) == -EINVAL);
	CHECK(strstr(err, "stray") != NULL);
	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/x", "--state-dir", "/y", NULL) ==
	      -EINVAL);
	CHECK(strncmp(err, "--state-dir", 11) == 0);
	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/x", "--controller", "10.0.0.1:7001",
	            NULL) == -EINVAL);
	CHECK(strncmp(err, "--controller", 12) == 0);
	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/x", "--endpoint", "10.0.0.1", NULL) ==
	      -EINVAL);
	CHECK(strncmp(err, "--endpoint", 10) == 0);
	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/x", "--endpoint", "host:1", NULL) ==
	      -EINVAL);
	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/x", "--join-token", "t",
	            "--join-token-file", "/f", NULL) == -EINVAL);
	CHECK(strstr(err, "--join-token") != NULL);
	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/x", "--log-level", "loud", NULL) ==
	      -EINVAL);
	CHECK(strncmp(err, "--log-level", 11) == 0);
	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/x", "--name", "a b", NULL) == -EINVAL);
	CHECK(strncmp(err, "--name", 6) == 0);
	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/x", "--name", "", NULL) == -EINVAL);
	CHECK(strncmp(err, "--name", 6) == 0);
	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/x", "--wg-interface",
	            "much-too-long-name", NULL) == -EINVAL);
	CHECK(strncmp(err, "--wg-interface", 14) == 0);
	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/x", "--wg-interface", "../x", NULL) ==
	      -EINVAL);
	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/x", "--cleanup-on-exit=yes", NULL) ==
	      -EINVAL);
	CHECK(strncmp(err, "--cleanup-on-exit", 17) == 0);
}

/* --ovs-rundir: an absolute path of plain characters, given once; absent: no Open vSwitch. */
static void test_ovs_rundir(void)
{
	struct agent_args a;
	char err[256];

	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/x", NULL) == 0);
	CHECK(a.ovs_rundir == NULL);
	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/x", "--ovs-rundir", "/run/openvswitch",
	            NULL) == 0);
	CHECK(a.ovs_rundir && strcmp(a.ovs_rundir, "/run/openvswitch") == 0);
	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/x", "--ovs-rundir", "run/ovs", NULL) ==
	      -EINVAL);
	CHECK(strncmp(err, "--ovs-rundir: \"run/ovs\"", 23) == 0);
	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/x", "--ovs-rundir", "/run/o;vs", NULL) ==
	      -EINVAL);
	CHECK(strncmp(err, "--ovs-rundir", 12) == 0);
	CHECK(parse(&a, err, sizeof(err), "--state-dir", "/x", "--ovs-rundir", "/a", "--ovs-rundir",
	            "/b", NULL) == -EINVAL);
	CHECK(strstr(err, "given twice") != NULL);
}

int main(void)
{
	test_labels();
	test_flags();
	test_ovs_rundir();
	return check_result();
}
