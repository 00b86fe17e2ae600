// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for dns.c: every rule of the name grammar at its edge (labels
 * of 63 and 64 characters, names of 253 and 254, '_' labels, hyphens,
 * control and non-ASCII bytes), types by name, and each record type's value
 * accepted and re-printed or refused with a reason that repeats no
 * unprintable byte.
 */
#include "netfns/dns/dns.h"
#include "tests/check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char why[256];

static bool valid(const char *name)
{
	why[0] = '\0';
	return dns_name_valid(name, why, sizeof(why));
}

/* True when the reason has no byte outside printable ASCII. */
static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

/* A name of n characters: labels of 63 'a's (the last shorter) joined by dots. */
static void long_name(char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (i % 64 == 63) ? '.' : 'a';
	buf[n] = '\0';
	if (buf[n - 1] == '.')
		buf[n - 1] = 'b';
}

static void test_types(void)
{
	enum dns_type t = DNS_TXT;

	CHECK(strcmp(dns_type_name(DNS_A), "A") == 0);
	CHECK(strcmp(dns_type_name(DNS_AAAA), "AAAA") == 0);
	CHECK(strcmp(dns_type_name(DNS_CNAME), "CNAME") == 0);
	CHECK(strcmp(dns_type_name(DNS_SRV), "SRV") == 0);
	CHECK(strcmp(dns_type_name(DNS_TXT), "TXT") == 0);
	CHECK(strcmp(dns_type_name((enum dns_type)99), "?") == 0);
	CHECK(dns_type_parse("AAAA", &t) == 0 && t == DNS_AAAA);
	CHECK(dns_type_parse("cname", &t) == 0 && t == DNS_CNAME);
	CHECK(dns_type_parse("Srv", &t) == 0 && t == DNS_SRV);
	CHECK(dns_type_parse("MX", &t) == -EINVAL);
	CHECK(dns_type_parse("", &t) == -EINVAL);
	CHECK(dns_type_parse("A ", &t) == -EINVAL);
	CHECK(dns_type_parse(NULL, &t) == -EINVAL);
}

static void test_names(void)
{
	char buf[400];

	CHECK(valid("web"));
	CHECK(valid("web-1.prod.netfn.internal"));
	CHECK(valid("Web.Prod")); /* case is the API's to fold */
	CHECK(valid("_http._tcp.prod.netfn.internal"));
	CHECK(valid("a_b.c"));
	CHECK(valid("xn--bcher-kva.example"));
	CHECK(valid("1.2.3.4"));
	CHECK(valid("a"));

	/* Labels: 63 fine, 64 not. */
	memset(buf, 'x', 63);
	strcpy(buf + 63, ".zone");
	CHECK(valid(buf));
	memset(buf, 'x', 64);
	strcpy(buf + 64, ".zone");
	CHECK(!valid(buf) && strstr(why, "64 characters, at most 63"));
	memset(buf, 'x', 64);
	buf[64] = '\0';
	CHECK(!valid(buf));

	/* Whole names: 253 fine, 254 not. */
	long_name(buf, 253);
	CHECK(strlen(buf) == 253 && valid(buf));
	long_name(buf, 254);
	CHECK(!valid(buf) && strstr(why, "254 characters, at most 253"));

	/* Empty names and labels, dots. */
	CHECK(!valid("") && strstr(why, "empty name"));
	CHECK(!valid(NULL));
	CHECK(!valid(".") && strstr(why, "empty label"));
	CHECK(!valid("a..b") && strstr(why, "empty label at position 3"));
	CHECK(!valid(".a") && strstr(why, "empty label at position 1"));
	CHECK(!valid("a.b.") && strstr(why, "final dot"));

	/* Hyphens: inside only. */
	CHECK(valid("a-b"));
	CHECK(valid("a--b"));
	CHECK(!valid("-ab.c") && strstr(why, "starts with '-'"));
	CHECK(!valid("ab-.c") && strstr(why, "ends with '-'"));
	CHECK(!valid("c.ab-") && strstr(why, "'ab-' ends"));
	CHECK(!valid("-"));

	/* Other characters; control and non-ASCII bytes are not repeated. */
	CHECK(!valid("a b") && strstr(why, "' ' at position 2"));
	CHECK(!valid("a*b") && strstr(why, "'*' at position 2"));
	CHECK(!valid("a/b"));
	CHECK(!valid("a\"b"));
	CHECK(!valid("a\nb") && strstr(why, "control character 0x0a at position 2") &&
	      printable(why));
	CHECK(!valid("a\tb") && strstr(why, "0x09"));
	CHECK(!valid("a\x7f") && strstr(why, "control character 0x7f"));
	CHECK(!valid("b\xc3\xbc"
	             "cher.example") &&
	      strstr(why, "non-ASCII byte 0xc3 at position 2") && strstr(why, "xn--") &&
	      printable(why));
	/* A NULL reason buffer is fine. */
	CHECK(!dns_name_valid("a..b", NULL, 0));
}

static bool canon(enum dns_type t, const char *value, const char *zone, const char *want)
{
	char out[DNS_VALUE_MAX];

	why[0] = '\0';
	memset(out, 0, sizeof(out));
	if (dns_value_canon(t, value, zone, out, why, sizeof(why)) != 0) {
		fprintf(stderr, "  refused %s '%s': %s\n", dns_type_name(t), value, why);
		return false;
	}
	if (strcmp(out, want) != 0) {
		fprintf(stderr, "  %s '%s' gave '%s', want '%s'\n", dns_type_name(t), value, out,
		        want);
		return false;
	}
	return true;
}

static bool refused(enum dns_type t, const char *value, const char *zone, const char *reason)
{
	char out[DNS_VALUE_MAX];

	why[0] = '\0';
	if (dns_value_canon(t, value, zone, out, why, sizeof(why)) != -EINVAL)
		return false;
	if (!printable(why) || !strstr(why, reason)) {
		fprintf(stderr, "  %s: reason '%s' lacks '%s'\n", dns_type_name(t), why, reason);
		return false;
	}
	return true;
}

static void test_addresses(void)
{
	const char *z = "prod.netfn.internal";

	CHECK(canon(DNS_A, "10.99.0.2", z, "10.99.0.2"));
	CHECK(canon(DNS_A, "192.0.2.255", z, "192.0.2.255"));
	CHECK(refused(DNS_A, "10.99.0", z, "not a dotted IPv4 address"));
	CHECK(refused(DNS_A, "010.99.0.2", z, "not a dotted IPv4"));
	CHECK(refused(DNS_A, "10.99.0.256", z, "not a dotted"));
	CHECK(refused(DNS_A, " 10.99.0.2", z, "not a dotted"));
	CHECK(refused(DNS_A, "2001:db8::1", z, "not a dotted"));
	CHECK(refused(DNS_A, "", z, "not a dotted"));
	CHECK(refused(DNS_A, "10.0.0.1\n", z, "'10.0.0.1?'"));
	CHECK(refused(DNS_A, NULL, z, "no value"));

	CHECK(canon(DNS_AAAA, "2001:DB8:0:0:0:0:0:1", z, "2001:db8::1"));
	CHECK(canon(DNS_AAAA, "fd00::0001", z, "fd00::1"));
	CHECK(canon(DNS_AAAA, "::ffff:10.0.0.1", z, "::ffff:10.0.0.1"));
	CHECK(refused(DNS_AAAA, "10.0.0.1", z, "not an IPv6 address"));
	CHECK(refused(DNS_AAAA, "2001:db8::1::2", z, "not an IPv6"));
	CHECK(refused(DNS_AAAA, "fe80::1%eth0", z, "not an IPv6"));
}

static void test_cname(void)
{
	const char *z = "prod.netfn.internal";

	CHECK(canon(DNS_CNAME, "web", z, "web.prod.netfn.internal"));
	CHECK(canon(DNS_CNAME, "Web-1.Eu", z, "web-1.eu.prod.netfn.internal"));
	CHECK(canon(DNS_CNAME, "example.com.", z, "example.com"));
	CHECK(canon(DNS_CNAME, "WWW.Example.COM.", z, "www.example.com"));
	CHECK(canon(DNS_CNAME, "@", z, "prod.netfn.internal"));
	/* No zone: the agent's values are already fully qualified. */
	CHECK(canon(DNS_CNAME, "web.prod.netfn.internal", "", "web.prod.netfn.internal"));
	CHECK(canon(DNS_CNAME, "web.prod.netfn.internal", NULL, "web.prod.netfn.internal"));
	CHECK(refused(DNS_CNAME, "@", "", "needs a zone"));
	CHECK(refused(DNS_CNAME, ".", z, "root"));
	CHECK(refused(DNS_CNAME, "", z, "empty"));
	CHECK(refused(DNS_CNAME, "a..b", z, "empty label"));
	CHECK(refused(DNS_CNAME, "example.com..", z, "final dot"));
	CHECK(refused(DNS_CNAME, "we b", z, "' ' at position 3"));
	CHECK(refused(DNS_CNAME, "-web", z, "starts with '-'"));
	CHECK(refused(DNS_CNAME, "caf\xc3\xa9", z, "non-ASCII byte 0xc3"));

	/* Relative names that become too long once qualified. */
	{
		char v[300];

		long_name(v, 240);
		CHECK(refused(DNS_CNAME, v, z, "at most 253"));
		strcat(v, ".");
		{
			char want[300];

			/* Absolute, 240 characters: fine. */
			snprintf(want, sizeof(want), "%.*s", (int)strlen(v) - 1, v);
			CHECK(canon(DNS_CNAME, v, z, want));
		}
	}
}

static void test_srv(void)
{
	const char *z = "prod.netfn.internal";

	CHECK(canon(DNS_SRV, "10 5 5060 sip", z, "10 5 5060 sip.prod.netfn.internal"));
	CHECK(canon(DNS_SRV, "0 0 1 Host.Example.", z, "0 0 1 host.example"));
	CHECK(canon(DNS_SRV, "65535 65535 65535 a", z, "65535 65535 65535 a.prod.netfn.internal"));
	CHECK(canon(DNS_SRV, "  010  5   80 web  ", z, "10 5 80 web.prod.netfn.internal"));
	CHECK(canon(DNS_SRV, "1 2 3 @", z, "1 2 3 prod.netfn.internal"));
	CHECK(canon(DNS_SRV, "1 2 3 web.prod.netfn.internal", "", "1 2 3 web.prod.netfn.internal"));
	CHECK(refused(DNS_SRV, "65536 0 80 a", z, "priority '65536' is not a number 0-65535"));
	CHECK(refused(DNS_SRV, "0 70000 80 a", z, "weight '70000'"));
	CHECK(refused(DNS_SRV, "0 0 99999 a", z, "port '99999'"));
	CHECK(refused(DNS_SRV, "0 0 123456 a", z, "port"));
	CHECK(refused(DNS_SRV, "-1 0 80 a", z, "priority '-1'"));
	CHECK(refused(DNS_SRV, "+1 0 80 a", z, "priority"));
	CHECK(refused(DNS_SRV, "0x1 0 80 a", z, "priority"));
	CHECK(refused(DNS_SRV, "1 0 80", z, "PRIORITY WEIGHT PORT TARGET"));
	CHECK(refused(DNS_SRV, "1 0 80 a b", z, "PRIORITY WEIGHT PORT TARGET"));
	CHECK(refused(DNS_SRV, "", z, "PRIORITY"));
	CHECK(refused(DNS_SRV, "1\t0 80 a", z, "PRIORITY"));
	CHECK(refused(DNS_SRV, "1 0 80 .", z, "target: the root"));
	CHECK(refused(DNS_SRV, "1 0 80 a..b", z, "target: empty label"));
	CHECK(refused(DNS_SRV, "1 0 80 a\x01", z, "target: control character 0x01"));
}

static void test_txt(void)
{
	char v[300];

	CHECK(canon(DNS_TXT, "v=spf1 -all", "z", "v=spf1 -all"));
	CHECK(canon(DNS_TXT, "quotes \" and \\ and , ; # are text", "z",
	            "quotes \" and \\ and , ; # are text"));
	CHECK(canon(DNS_TXT, "", "z", ""));
	memset(v, 'x', 255);
	v[255] = '\0';
	CHECK(canon(DNS_TXT, v, "z", v));
	v[255] = 'x';
	v[256] = '\0';
	CHECK(refused(DNS_TXT, v, "z", "256 characters, at most 255"));
	CHECK(refused(DNS_TXT, "line\nbreak", "z", "control character 0x0a at position 5"));
	CHECK(refused(DNS_TXT, "tab\there", "z", "control character 0x09"));
	CHECK(refused(DNS_TXT, "del\x7f", "z", "0x7f"));
	CHECK(refused(DNS_TXT, "caf\xc3\xa9", "z", "non-ASCII byte 0xc3 at position 4"));
	CHECK(refused((enum dns_type)42, "x", "z", "unknown record type"));
	memset(v, 'x', sizeof(v));
	{
		char big[DNS_VALUE_MAX + 8];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		CHECK(refused(DNS_TXT, big, "z", "at most 511"));
	}
}

static void test_free(void)
{
	struct dns_config cfg = {0};

	dns_config_free(&cfg);
	cfg.records = calloc(2, sizeof(*cfg.records));
	cfg.n_records = 2;
	cfg.serve = true;
	dns_config_free(&cfg);
	CHECK(cfg.records == NULL && cfg.n_records == 0 && !cfg.serve);
	dns_config_free(NULL);
}

int main(void)
{
	test_types();
	test_names();
	test_addresses();
	test_cname();
	test_srv();
	test_txt();
	test_free();
	return check_result();
}
