// SPDX-License-Identifier: Apache-2.0
/*
 * Unit test of netfnctl's argument helpers: every accepted and refused form
 * of numbers, durations (--ttl, lb's --check-interval), labels (--labels,
 * node label), lb backends (ADDR:PORT@WEIGHT), and the flag parser's
 * handling of flags before, between and after positionals.
 */
#include <errno.h>
#include <string.h>

#include "controller/netfnctl/args.h"
#include "tests/check.h"

static void test_uint(void)
{
	uint32_t v = 7;

	CHECK(args_parse_uint("0", 0, 65535, &v) == 0 && v == 0);
	CHECK(args_parse_uint("65535", 0, 65535, &v) == 0 && v == 65535);
	CHECK(args_parse_uint("4294967295", 0, UINT32_MAX, &v) == 0 && v == UINT32_MAX);
	CHECK(args_parse_uint("65536", 0, 65535, &v) == -EINVAL);
	CHECK(args_parse_uint("0", 1, 10, &v) == -EINVAL);
	CHECK(args_parse_uint("4294967296", 0, UINT32_MAX, &v) == -EINVAL);
	CHECK(args_parse_uint("99999999999999999999999", 0, UINT32_MAX, &v) == -EINVAL);
	CHECK(args_parse_uint("", 0, 10, &v) == -EINVAL);
	CHECK(args_parse_uint("-1", 0, UINT32_MAX, &v) == -EINVAL);
	CHECK(args_parse_uint("+1", 0, 10, &v) == -EINVAL);
	CHECK(args_parse_uint(" 1", 0, 10, &v) == -EINVAL);
	CHECK(args_parse_uint("1x", 0, 10, &v) == -EINVAL);
	CHECK(args_parse_uint("0x10", 0, 100, &v) == -EINVAL);
}

static void test_duration(void)
{
	static const char *const bad[] = {
	    "",
	    "s",
	    "0",
	    "0s",
	    "-5s",
	    "+5s",
	    "1.5h",
	    "1h30m",
	    "5 m",
	    " 5m",
	    "5m ",
	    "5w",
	    "5S",
	    "5mm",
	    "ms",
	    "9223372036854775807d",
	    "99999999999999999999",
	};
	int64_t v = 0;

	CHECK(args_parse_duration("90s", &v) == 0 && v == 90);
	CHECK(args_parse_duration("30m", &v) == 0 && v == 1800);
	CHECK(args_parse_duration("12h", &v) == 0 && v == 43200);
	CHECK(args_parse_duration("7d", &v) == 0 && v == 604800);
	CHECK(args_parse_duration("3600", &v) == 0 && v == 3600);
	CHECK(args_parse_duration("1", &v) == 0 && v == 1);
	CHECK(args_parse_duration("9223372036854775807", &v) == 0 && v == INT64_MAX);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = -1;
		CHECK(args_parse_duration(bad[i], &v) == -EINVAL);
		CHECK(v == -1); /* untouched on failure */
	}
}

static void test_duration_ms(void)
{
	static const char *const bad[] = {"",    "0ms",  "ms",   "0",        "-5ms", "1.5s",
	                                  "5MS", "5 ms", "5msx", "4294968s", "50d",  "1s500ms"};
	uint32_t v = 0;
	int64_t secs = 0;

	CHECK(args_parse_duration_ms("500ms", &v) == 0 && v == 500);
	CHECK(args_parse_duration_ms("2s", &v) == 0 && v == 2000);
	CHECK(args_parse_duration_ms("2", &v) == 0 && v == 2000); /* plain: seconds, as --ttl */
	CHECK(args_parse_duration_ms("1m", &v) == 0 && v == 60000);
	CHECK(args_parse_duration_ms("1h", &v) == 0 && v == 3600000);
	CHECK(args_parse_duration_ms("4294967295ms", &v) == 0 && v == UINT32_MAX);
	CHECK(args_parse_duration_ms("4294967296ms", &v) == -EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		CHECK(args_parse_duration_ms(bad[i], &v) == -EINVAL);
		CHECK(v == 7);
	}
	/* --ttl takes ms too, in whole seconds. */
	CHECK(args_parse_duration("5000ms", &secs) == 0 && secs == 5);
	CHECK(args_parse_duration("500ms", &secs) == -EINVAL);
	CHECK(args_parse_duration("1500ms", &secs) == -EINVAL);
}

static void test_backend(void)
{
	struct args_backend b;
	char err[160];

	CHECK(args_parse_backend("10.0.0.5:8080", true, &b, err, sizeof(err)) == 0);
	CHECK(!strcmp(b.addr, "10.0.0.5") && b.port == 8080 && b.weight == 0);
	CHECK(args_parse_backend("10.0.0.5:80@7", true, &b, err, sizeof(err)) == 0);
	CHECK(!strcmp(b.addr, "10.0.0.5") && b.port == 80 && b.weight == 7);
	CHECK(args_parse_backend("10.0.0.5:80@0", true, &b, err, sizeof(err)) == 0 &&
	      b.weight == 0);
	/* Ranges beyond the syntax are the controller's to judge, and name the field. */
	CHECK(args_parse_backend("10.0.0.5:80@1000", true, &b, err, sizeof(err)) == 0);
	CHECK(b.weight == 1000);
	CHECK(args_parse_backend("not-an-ip:80", true, &b, err, sizeof(err)) == 0);
	CHECK(!strcmp(b.addr, "not-an-ip"));
	CHECK(args_parse_backend("10.0.0.5:65535", false, &b, err, sizeof(err)) == 0);
	CHECK(args_parse_backend("10.0.0.5:70000", true, &b, err, sizeof(err)) == 0 &&
	      b.port == 70000);
	CHECK(args_parse_backend("10.0.0.5:0", true, &b, err, sizeof(err)) == 0 && b.port == 0);

	static const char *const bad[] = {
	    "10.0.0.5",
	    "10.0.0.5:",
	    ":80",
	    "10.0.0.5:4294967296",
	    "10.0.0.5:+80",
	    "10.0.0.5:8o",
	    "10.0.0.5:-1",
	    "10.0.0.5:80@",
	    "10.0.0.5:80@x",
	    "10.0.0.5:80@-1",
	    "10.0.0.5@3",
	    "10.0.0.5:80@1@2",
	    "",
	    "10.0.0.5:123456789012345678901",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(args_parse_backend(bad[i], true, &b, err, sizeof(err)) == -EINVAL);
		CHECK(err[0] != '\0');
	}
	/* remove names a backend by address and port only. */
	CHECK(args_parse_backend("10.0.0.5:80@3", false, &b, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "no @WEIGHT") != NULL);
	char big[128];
	memset(big, '1', 60);
	strcpy(big + 60, ":80");
	CHECK(args_parse_backend(big, true, &b, err, sizeof(err)) == -EINVAL);
}

static void test_labels(void)
{
	struct args_label l[ARGS_MAX_LABELS];
	char err[160];
	char big[256];
	size_t n = 99;

	CHECK(args_parse_labels("role=web", l, ARGS_MAX_LABELS, &n, err, sizeof(err)) == 0);
	CHECK(n == 1 && !strcmp(l[0].key, "role") && !strcmp(l[0].value, "web"));
	CHECK(args_parse_labels("a=1,b=2,zone=eu-west", l, ARGS_MAX_LABELS, &n, err, sizeof(err)) ==
	      0);
	CHECK(n == 3 && !strcmp(l[2].key, "zone") && !strcmp(l[2].value, "eu-west"));
	CHECK(!strcmp(l[1].key, "b") && !strcmp(l[1].value, "2"));
	/* An empty value is a value; a second '=' belongs to the value. */
	CHECK(args_parse_labels("k=", l, ARGS_MAX_LABELS, &n, err, sizeof(err)) == 0);
	CHECK(n == 1 && !strcmp(l[0].value, ""));
	CHECK(args_parse_labels("k=v=w", l, ARGS_MAX_LABELS, &n, err, sizeof(err)) == 0);
	CHECK(!strcmp(l[0].key, "k") && !strcmp(l[0].value, "v=w"));

	CHECK(args_parse_labels("foo", l, ARGS_MAX_LABELS, &n, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "missing '='") != NULL);
	CHECK(args_parse_labels("a=1,foo", l, ARGS_MAX_LABELS, &n, err, sizeof(err)) == -EINVAL);
	CHECK(args_parse_labels("=v", l, ARGS_MAX_LABELS, &n, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "empty label key") != NULL);
	CHECK(args_parse_labels("", l, ARGS_MAX_LABELS, &n, err, sizeof(err)) == -EINVAL);
	CHECK(args_parse_labels("a=1,,b=2", l, ARGS_MAX_LABELS, &n, err, sizeof(err)) == -EINVAL);
	CHECK(args_parse_labels("a=1,", l, ARGS_MAX_LABELS, &n, err, sizeof(err)) == -EINVAL);
	CHECK(args_parse_labels(",a=1", l, ARGS_MAX_LABELS, &n, err, sizeof(err)) == -EINVAL);
	CHECK(args_parse_labels("a=1,a=2", l, ARGS_MAX_LABELS, &n, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "twice") != NULL);

	/* Keys and values: 63 bytes fit, 64 do not. */
	memset(big, 'k', 63);
	strcpy(big + 63, "=v");
	CHECK(args_parse_labels(big, l, ARGS_MAX_LABELS, &n, err, sizeof(err)) == 0);
	CHECK(n == 1 && strlen(l[0].key) == 63);
	memset(big, 'k', 64);
	strcpy(big + 64, "=v");
	CHECK(args_parse_labels(big, l, ARGS_MAX_LABELS, &n, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "longer") != NULL);
	strcpy(big, "k=");
	memset(big + 2, 'v', 63);
	big[65] = '\0';
	CHECK(args_parse_labels(big, l, ARGS_MAX_LABELS, &n, err, sizeof(err)) == 0);
	CHECK(strlen(l[0].value) == 63);
	strcpy(big, "k=");
	memset(big + 2, 'v', 64);
	big[66] = '\0';
	CHECK(args_parse_labels(big, l, ARGS_MAX_LABELS, &n, err, sizeof(err)) == -EINVAL);

	/* At most max labels. */
	big[0] = '\0';
	for (int i = 0; i < ARGS_MAX_LABELS + 1; i++)
		sprintf(big + strlen(big), "%sk%d=v", i ? "," : "", i);
	CHECK(args_parse_labels(big, l, ARGS_MAX_LABELS, &n, err, sizeof(err)) == -EINVAL);
	*strrchr(big, ',') = '\0';
	CHECK(args_parse_labels(big, l, ARGS_MAX_LABELS, &n, err, sizeof(err)) == 0);
	CHECK(n == ARGS_MAX_LABELS);

	/* One label from a span, as node label and --labels use it. */
	CHECK(args_parse_label("env=prod,rest", 8, &l[0], err, sizeof(err)) == 0);
	CHECK(!strcmp(l[0].key, "env") && !strcmp(l[0].value, "prod"));
	CHECK(args_check_label_key("env", 3, err, sizeof(err)) == 0);
	CHECK(args_check_label_key("", 0, err, sizeof(err)) == -EINVAL);
}

static void test_parse(void)
{
	const char *cidr = NULL, *hub = NULL;
	uint32_t port = 0;
	bool json = false;
	const struct args_opt opts[] = {
	    {.name = "--cidr", .kind = ARGS_STR, .dest = &cidr},
	    {.name = "--hub", .kind = ARGS_STR, .dest = &hub},
	    {.name = "--port", .kind = ARGS_UINT, .dest = &port, .max = 65535},
	    {.name = "--json", .kind = ARGS_BOOL, .dest = &json},
	};
	const size_t n_opts = sizeof(opts) / sizeof(opts[0]);
	const char *pos[2];
	char err[160];
	size_t n_pos;

	{
		char *argv[] = {"--json", "net1", "--cidr", "10.0.0.0/24", "--port=51821"};

		CHECK(args_parse(5, argv, opts, n_opts, pos, 2, &n_pos, err, sizeof(err)) == 0);
		CHECK(n_pos == 1 && !strcmp(pos[0], "net1"));
		CHECK(json && cidr && !strcmp(cidr, "10.0.0.0/24") && port == 51821);
		CHECK(hub == NULL);
	}
	{
		char *argv[] = {"a", "--", "--hub"};

		CHECK(args_parse(3, argv, opts, n_opts, pos, 2, &n_pos, err, sizeof(err)) == 0);
		CHECK(n_pos == 2 && !strcmp(pos[1], "--hub"));
	}
	{
		char *argv[] = {"a", "--cidr"};

		CHECK(args_parse(2, argv, opts, n_opts, pos, 2, &n_pos, err, sizeof(err)) ==
		      -EINVAL);
		CHECK(strstr(err, "--cidr needs a value") != NULL);
	}
	{
		char *argv[] = {"--bogus", "x"};

		CHECK(args_parse(2, argv, opts, n_opts, pos, 2, &n_pos, err, sizeof(err)) ==
		      -EINVAL);
		CHECK(strstr(err, "unknown flag '--bogus'") != NULL);
	}
	{
		char *argv[] = {"a", "b", "c"};

		CHECK(args_parse(3, argv, opts, n_opts, pos, 2, &n_pos, err, sizeof(err)) ==
		      -EINVAL);
		CHECK(strstr(err, "unexpected argument 'c'") != NULL);
	}
	{
		char *argv[] = {"--port", "70000"};

		CHECK(args_parse(2, argv, opts, n_opts, pos, 2, &n_pos, err, sizeof(err)) ==
		      -EINVAL);
		CHECK(strstr(err, "--port") != NULL);
	}
	{
		char *argv[] = {"--json=yes"};

		CHECK(args_parse(1, argv, opts, n_opts, pos, 2, &n_pos, err, sizeof(err)) ==
		      -EINVAL);
	}
	{
		/* A prefix of a flag is not that flag. */
		char *argv[] = {"--cid", "x"};

		CHECK(args_parse(2, argv, opts, n_opts, pos, 2, &n_pos, err, sizeof(err)) ==
		      -EINVAL);
	}
}

int main(void)
{
	test_uint();
	test_duration();
	test_duration_ms();
	test_backend();
	test_labels();
	test_parse();
	return check_result();
}
