// SPDX-License-Identifier: Apache-2.0
/*
 * Unit test of netfnctl's firewall rule conversions: the JSON rule object
 * in netfnctl's own shape and in the old platform's (ip_range/dst_src,
 * "acpt", "N:M" ports), values the controller must judge passed through
 * untouched, unknown keys and wrong types refused by name, rule lists,
 * a rule written by fwrule_json read back the same, repeatable --src/--dst
 * split out of argv, and rule ids.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "controller/netfnctl/fwrule.h"
#include "tests/check.h"

static Netfn__FwRule *rule(const char *text)
{
	Netfn__FwRule *r = NULL;
	char err[256];

	if (fwrule_from_text(text, strlen(text), &r, err, sizeof(err))) {
		fprintf(stderr, "refused %s: %s\n", text, err);
		return NULL;
	}
	return r;
}

/* True when text is refused with a message starting with want. */
static int refused(const char *text, const char *want)
{
	Netfn__FwRule *r = NULL;
	char err[256] = "";
	int ok;

	ok = fwrule_from_text(text, strlen(text), &r, err, sizeof(err)) == -EINVAL && !r &&
	     !strncmp(err, want, strlen(want));
	if (!ok)
		fprintf(stderr, "input %s: got '%s', want '%s...'\n", text, err, want);
	fwrule_free(r);
	return ok;
}

static int list_is(char *const *v, size_t n, const char *const *want, size_t n_want)
{
	if (n != n_want)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i], want[i]))
			return 0;
	}
	return 1;
}

static void test_new_shape(void)
{
	static const char *const src[] = {"10.0.0.0/8", "role=web,env=prod"};
	static const char *const dst[] = {"192.168.1.1/32"};
	Netfn__FwRule *r;

	r = rule("{\"direction\":\"in\",\"protocol\":\"tcp\","
	         "\"src\":[\"10.0.0.0/8\",\"role=web,env=prod\"],\"dst\":\"192.168.1.1/32\","
	         "\"dst_port\":\"80,443,8000-8100\",\"action\":\"accept\",\"rate\":\"10/second\","
	         "\"log_prefix\":\"web: \"}");
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK(!strcmp(r->direction, "in") && !strcmp(r->protocol, "tcp"));
	CHECK(list_is(r->src, r->n_src, src, 2));
	CHECK(list_is(r->dst, r->n_dst, dst, 1));
	CHECK(!strcmp(r->dst_port, "80,443,8000-8100") && !strcmp(r->action, "accept"));
	CHECK(!strcmp(r->rate, "10/second") && !strcmp(r->log_prefix, "web: "));
	CHECK(r->id == 0 && r->packets == 0 && r->bytes == 0);
	fwrule_free(r);

	/* Defaults: protocol any, everything else empty; null is "not set". */
	r = rule("{\"direction\":\"out\",\"action\":\"drop\",\"protocol\":null,\"src\":null,"
	         "\"rate\":null}");
	CHECK(r && !strcmp(r->protocol, "any") && r->n_src == 0 && r->n_dst == 0);
	CHECK(r && !strcmp(r->dst_port, "") && !strcmp(r->rate, "") && !strcmp(r->log_prefix, ""));
	fwrule_free(r);

	/* Output-only fields are accepted (show --json fed back) and dropped. */
	r = rule("{\"id\":7,\"direction\":\"in\",\"action\":\"drop\",\"packets\":10,\"bytes\":"
	         "1000}");
	CHECK(r && r->id == 0 && r->packets == 0);
	fwrule_free(r);

	/* A bare number is a port. */
	r = rule("{\"direction\":\"in\",\"action\":\"drop\",\"dst_port\":8080}");
	CHECK(r && !strcmp(r->dst_port, "8080"));
	fwrule_free(r);
}

/* What the controller must see and refuse goes through exactly as given. */
static void test_passthrough(void)
{
	static const char *const src[] = {"10.0.0.0/33", "x\"y;z\nw"};
	Netfn__FwRule *r;

	r = rule("{\"direction\":\"sideways\",\"protocol\":\"gre\",\"src\":[\"10.0.0.0/33\","
	         "\"x\\\"y;z\\nw\"],\"dst_port\":\"70000\",\"action\":\"allow\","
	         "\"rate\":\"5/fortnight\",\"log_prefix\":\"a\\\"b;c\\nd\"}");
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK(!strcmp(r->direction, "sideways") && !strcmp(r->protocol, "gre"));
	CHECK(list_is(r->src, r->n_src, src, 2));
	CHECK(!strcmp(r->dst_port, "70000") && !strcmp(r->action, "allow"));
	CHECK(!strcmp(r->rate, "5/fortnight") && !strcmp(r->log_prefix, "a\"b;c\nd"));
	fwrule_free(r);

	/* A key given twice is refused by the reader, not settled by order. */
	CHECK(refused(
	    "{\"direction\":\"in\",\"dst_port\":\"22\",\"action\":\"drop\",\"dst_port\":\"\"}",
	    "invalid JSON at byte 50: duplicate key 'dst_port'"));
	r = rule("{\"direction\":\"in\",\"protocol\":\"icmp\",\"dst_port\":\"22\",\"action\":"
	         "\"drop\"}");
	CHECK(r && !strcmp(r->protocol, "icmp") && !strcmp(r->dst_port, "22"));
	fwrule_free(r);
	r = rule("{\"direction\":\"in\",\"action\":\"drop\",\"dst_port\":1.5e3}");
	CHECK(r && !strcmp(r->dst_port, "1.5e3"));
	fwrule_free(r);
}

static void test_old_shape(void)
{
	static const char *const any4[] = {"0.0.0.0/0"};
	static const char *const net[] = {"192.0.2.0/24"};
	Netfn__FwRule *r;

	r = rule("{\"direction\":\"in\",\"protocol\":\"tcp\",\"dst_port\":\"8080\","
	         "\"ip_range\":\"0.0.0.0/0\",\"action\":\"drop\"}");
	CHECK(r && list_is(r->src, r->n_src, any4, 1) && r->n_dst == 0);
	CHECK(r && !strcmp(r->dst_port, "8080") && !strcmp(r->action, "drop"));
	fwrule_free(r);

	/* Without dst_src: the far side, so dst for out and forward. */
	r = rule("{\"ip_range\":\"192.0.2.0/24\",\"direction\":\"out\",\"action\":\"acpt\"}");
	CHECK(r && list_is(r->dst, r->n_dst, net, 1) && r->n_src == 0);
	CHECK(r && !strcmp(r->action, "accept"));
	fwrule_free(r);
	r = rule("{\"direction\":\"forward\",\"ip_range\":\"192.0.2.0/24\",\"action\":\"drop\"}");
	CHECK(r && list_is(r->dst, r->n_dst, net, 1) && r->n_src == 0);
	fwrule_free(r);

	/* dst_src decides when given. */
	r = rule("{\"direction\":\"out\",\"ip_range\":\"192.0.2.0/24\",\"dst_src\":\"src\","
	         "\"action\":\"drop\"}");
	CHECK(r && list_is(r->src, r->n_src, net, 1) && r->n_dst == 0);
	fwrule_free(r);
	r = rule("{\"direction\":\"in\",\"ip_range\":\"192.0.2.0/24\",\"dst_src\":\"dst\","
	         "\"action\":\"drop\"}");
	CHECK(r && list_is(r->dst, r->n_dst, net, 1) && r->n_src == 0);
	fwrule_free(r);

	/* "N:M" ranges, also inside lists; other colons are the controller's to judge. */
	r = rule("{\"direction\":\"in\",\"action\":\"acpt\",\"dst_port\":\"8000:8080\"}");
	CHECK(r && !strcmp(r->dst_port, "8000-8080") && !strcmp(r->action, "accept"));
	fwrule_free(r);
	r = rule("{\"direction\":\"in\",\"action\":\"drop\",\"dst_port\":\"80,1000:2000,:5,6:\"}");
	CHECK(r && !strcmp(r->dst_port, "80,1000-2000,:5,6:"));
	fwrule_free(r);
	r = rule("{\"direction\":\"in\",\"action\":\"drop\",\"dst_port\":\"a:b\"}");
	CHECK(r && !strcmp(r->dst_port, "a:b"));
	fwrule_free(r);
	/* Only the exact abbreviation is translated. */
	r = rule("{\"direction\":\"in\",\"action\":\"ACPT\"}");
	CHECK(r && !strcmp(r->action, "ACPT"));
	fwrule_free(r);
}

static void test_refused(void)
{
	CHECK(refused("{\"direction\":\"in\",\"dst_prot\":\"22\"}", "unknown key 'dst_prot'"));
	CHECK(refused("{\"action\":1}", "key 'action': expected a string, got number"));
	CHECK(refused("{\"direction\":true}", "key 'direction': expected a string, got boolean"));
	CHECK(refused("{\"src\":[\"a\",2]}", "key 'src': entry 2: expected a string, got number"));
	CHECK(refused("{\"dst\":{}}", "key 'dst': expected a string or an array"));
	CHECK(refused("{\"dst_port\":[80]}", "key 'dst_port': expected a string, got array"));
	CHECK(refused("{\"ip_range\":[\"a\"]}", "key 'ip_range': expected a string"));
	CHECK(refused("{\"dst_src\":\"both\",\"ip_range\":\"10.0.0.0/8\"}",
	              "key 'dst_src': expected \"src\" or \"dst\", got 'both'"));
	CHECK(refused("{\"id\":\"7\"}", "key 'id': expected a number, got string"));
	CHECK(refused("[]", "expected a rule object, got array"));
	CHECK(refused("\"in\"", "expected a rule object, got string"));
	CHECK(refused("{\"direction\":\"in\",}", "invalid JSON at byte 18"));
	CHECK(refused("{\"direction\":\"in\"", "invalid JSON at byte 17: expected ',' or '}'"));
}

static void test_list(void)
{
	Netfn__FwRule **v = NULL;
	size_t n = 99;
	char err[256];
	const char *text;

	text = "[]";
	CHECK(fwrule_list_from_text(text, strlen(text), &v, &n, err, sizeof(err)) == 0);
	CHECK(v != NULL && n == 0);
	fwrule_list_free(v, n);

	text = "[{\"direction\":\"in\",\"action\":\"drop\",\"dst_port\":\"22\"},\n"
	       " {\"direction\":\"in\",\"ip_range\":\"10.0.0.0/8\",\"action\":\"acpt\"}]";
	v = NULL;
	CHECK(fwrule_list_from_text(text, strlen(text), &v, &n, err, sizeof(err)) == 0);
	CHECK(n == 2 && !strcmp(v[0]->dst_port, "22") && !strcmp(v[1]->action, "accept"));
	CHECK(n == 2 && v[1]->n_src == 1 && !strcmp(v[1]->src[0], "10.0.0.0/8"));
	fwrule_list_free(v, n);

	text = "[{\"direction\":\"in\"}, {\"x\":1}]";
	v = NULL;
	CHECK(fwrule_list_from_text(text, strlen(text), &v, &n, err, sizeof(err)) == -EINVAL);
	CHECK(v == NULL && !strcmp(err, "rule 2: unknown key 'x'"));
	text = "[{}, 3]";
	CHECK(fwrule_list_from_text(text, strlen(text), &v, &n, err, sizeof(err)) == -EINVAL);
	CHECK(!strcmp(err, "rule 2: expected a rule object, got number"));
	text = "{\"direction\":\"in\"}";
	CHECK(fwrule_list_from_text(text, strlen(text), &v, &n, err, sizeof(err)) == -EINVAL);
	CHECK(!strcmp(err, "expected an array of rule objects, got object"));
	text = "[{}";
	CHECK(fwrule_list_from_text(text, strlen(text), &v, &n, err, sizeof(err)) == -EINVAL);
	CHECK(!strncmp(err, "invalid JSON at byte 3:", 23));
	fwrule_list_free(NULL, 0);
	fwrule_free(NULL);
}

/* What fwrule_json writes, fwrule_from_text reads back (less the output-only fields). */
static void test_roundtrip(void)
{
	char *src[] = {"10.0.0.0/8", "role=web,env=prod"};
	char *dst[] = {"fd00::/8"};
	static const char head[] = "{\"id\":42,\"direction\":\"in\",\"protocol\":\"udp\",\"src\":[";
	Netfn__FwRule in = NETFN__FW_RULE__INIT;
	Netfn__FwRule *out = NULL;
	char *buf = NULL, err[256];
	size_t len = 0;
	struct json j;
	FILE *f;

	in.id = 42;
	in.direction = "in";
	in.protocol = "udp";
	in.src = src;
	in.n_src = 2;
	in.dst = dst;
	in.n_dst = 1;
	in.dst_port = "53";
	in.action = "reject";
	in.rate = "100/minute";
	in.log_prefix = "dns \"q\"\t\xc3\xa9";
	in.packets = 12345678901ull;
	in.bytes = 18446744073709551615ull;
	f = open_memstream(&buf, &len);
	json_init(&j, f);
	fwrule_json(&j, &in);
	CHECK(json_finish(&j) == 0);
	fclose(f);
	CHECK(!strncmp(buf, head, strlen(head)));
	CHECK(strstr(buf, "\"bytes\":18446744073709551615}") != NULL);
	CHECK(fwrule_from_text(buf, len, &out, err, sizeof(err)) == 0);
	if (out) {
		CHECK(!strcmp(out->direction, "in") && !strcmp(out->protocol, "udp"));
		CHECK(list_is(out->src, out->n_src, (const char *const *)src, 2));
		CHECK(list_is(out->dst, out->n_dst, (const char *const *)dst, 1));
		CHECK(!strcmp(out->dst_port, "53") && !strcmp(out->action, "reject"));
		CHECK(!strcmp(out->rate, "100/minute") && !strcmp(out->log_prefix, in.log_prefix));
	}
	fwrule_free(out);
	free(buf);
}

static void test_split_args(void)
{
	char *argv[] = {"web",           "--src",        "10.0.0.0/8", "--direction", "in",
	                "--dst=role=db", "--log-prefix", "--src",      "--src",       "a=b,c=d",
	                "--json",        "--",           "--src"};
	static const char *const want_rest[] = {"web",   "--direction", "in", "--log-prefix",
	                                        "--src", "--json",      "--", "--src"};
	static const char *const want_src[] = {"10.0.0.0/8", "a=b,c=d"};
	static const char *const want_dst[] = {"role=db"};
	const char *s = NULL;
	bool b = false;
	const struct args_opt opts[] = {
	    {.name = "--direction", .kind = ARGS_STR, .dest = &s},
	    {.name = "--log-prefix", .kind = ARGS_STR, .dest = &s},
	    {.name = "--default-deny", .kind = ARGS_BOOL, .dest = &b},
	};
	int argc = (int)(sizeof(argv) / sizeof(argv[0]));
	char *src[16], *dst[16], *rest[16];
	struct fwrule_multi multi[2] = {{.name = "--src", .vals = src},
	                                {.name = "--dst", .vals = dst}};
	char *short_argv[] = {"p", "--dst"};
	char err[128];
	int n_rest = -1;

	CHECK(fwrule_split_args(argc, argv, opts, 3, multi, 2, rest, &n_rest, err, sizeof(err)) ==
	      0);
	CHECK(list_is(rest, (size_t)n_rest, want_rest, 8));
	CHECK(list_is(src, multi[0].n, want_src, 2));
	CHECK(list_is(dst, multi[1].n, want_dst, 1));

	multi[0].n = multi[1].n = 0;
	CHECK(fwrule_split_args(2, short_argv, opts, 3, multi, 2, rest, &n_rest, err,
	                        sizeof(err)) == -EINVAL);
	CHECK(!strcmp(err, "--dst needs a value"));
	/* "--src=" is an empty entry, for the controller to refuse. */
	multi[0].n = multi[1].n = 0;
	short_argv[1] = "--src=";
	CHECK(fwrule_split_args(2, short_argv, opts, 3, multi, 2, rest, &n_rest, err,
	                        sizeof(err)) == 0);
	CHECK(multi[0].n == 1 && !strcmp(src[0], "") && n_rest == 1);
	/* A flag merely starting with the name is not it. */
	multi[0].n = multi[1].n = 0;
	short_argv[1] = "--srcx";
	CHECK(fwrule_split_args(2, short_argv, opts, 3, multi, 2, rest, &n_rest, err,
	                        sizeof(err)) == 0);
	CHECK(multi[0].n == 0 && n_rest == 2);
}

static void test_id(void)
{
	uint64_t id = 5;

	CHECK(fwrule_parse_id("0", &id) == 0 && id == 0);
	CHECK(fwrule_parse_id("17", &id) == 0 && id == 17);
	CHECK(fwrule_parse_id("18446744073709551615", &id) == 0 && id == UINT64_MAX);
	id = 5;
	CHECK(fwrule_parse_id("18446744073709551616", &id) == -EINVAL && id == 5);
	CHECK(fwrule_parse_id("", &id) == -EINVAL);
	CHECK(fwrule_parse_id("-1", &id) == -EINVAL);
	CHECK(fwrule_parse_id(" 1", &id) == -EINVAL);
	CHECK(fwrule_parse_id("1a", &id) == -EINVAL);
	CHECK(fwrule_parse_id("0x1", &id) == -EINVAL);
}

int main(void)
{
	test_new_shape();
	test_passthrough();
	test_old_shape();
	test_refused();
	test_list();
	test_roundtrip();
	test_split_args();
	test_id();
	return check_result();
}
