// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for flow.c: protocol and action names parse and print back,
 * prefixes parse as IPv4 networks (an address as a /32, "" as any) and
 * IPv6, host bits, non-canonical text and garbage are refused with a
 * reason; flow_filter_check refuses each bad field by name; freeing
 * accepts a zeroed config.
 */
#include "netfns/flow/flow.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

static void test_names(void)
{
	const char *bad[] = {"TCP", "sctp", "6", " tcp", "tcp ", "icmpv6"};
	enum flow_action act = FLOW_ALLOW;
	uint8_t p = 99;
	char why[128];

	CHECK(flow_protocol_parse("tcp", &p, why, sizeof(why)) && p == 6);
	CHECK(flow_protocol_parse("udp", &p, why, sizeof(why)) && p == 17);
	CHECK(flow_protocol_parse("icmp", &p, why, sizeof(why)) && p == 1);
	CHECK(flow_protocol_parse("any", &p, why, sizeof(why)) && p == 0);
	p = 99;
	CHECK(flow_protocol_parse("", &p, why, sizeof(why)) && p == 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		CHECK(!flow_protocol_parse(bad[i], &p, why, sizeof(why)) && why[0]);
	}
	CHECK(!flow_protocol_parse(NULL, &p, why, sizeof(why)));
	CHECK(!strcmp(flow_protocol_name(6), "tcp") && !strcmp(flow_protocol_name(17), "udp") &&
	      !strcmp(flow_protocol_name(1), "icmp") && !strcmp(flow_protocol_name(0), "any"));
	/* Every name prints back as it parses. */
	for (unsigned n = 0; n < 256; n++) {
		const char *name = flow_protocol_name((uint8_t)n);

		if (n == 0 || n == 1 || n == 6 || n == 17)
			CHECK(flow_protocol_parse(name, &p, why, sizeof(why)) && p == n);
	}

	CHECK(flow_action_parse("drop", &act, why, sizeof(why)) && act == FLOW_DROP);
	CHECK(flow_action_parse("allow", &act, why, sizeof(why)) && act == FLOW_ALLOW);
	why[0] = '\0';
	CHECK(!flow_action_parse("deny", &act, why, sizeof(why)) && strstr(why, "'deny'"));
	CHECK(!flow_action_parse("", &act, why, sizeof(why)));
	CHECK(!flow_action_parse("DROP", &act, why, sizeof(why)));
	CHECK(!flow_action_parse(NULL, &act, why, sizeof(why)));
	CHECK(!strcmp(flow_action_name(FLOW_DROP), "drop") &&
	      !strcmp(flow_action_name(FLOW_ALLOW), "allow"));
}

static bool cidr(const char *s, bool *any, struct nf_prefix *p, char *why, size_t whylen)
{
	why[0] = '\0';
	return flow_cidr_parse(s, any, p, why, whylen);
}

static void test_cidr(void)
{
	const char *garbage[] = {"nonsense",    "10.0.0",       "10.0.0.0/",   "10.0.0.0/33",
	                         "10.0.0.0/-1", "10.0.0.0/024", "010.0.0.0/8", "10.0.0.0/8 ",
	                         " 10.0.0.0/8", "10.0.0.0/8x",  "10.0.0.256",  "/8",
	                         "10.0.0.0//8", "0x0a.0.0.0/8"};
	struct nf_prefix p;
	char why[128], buf[NF_PREFIX_STRLEN];
	bool any = true;

	CHECK(cidr("10.1.0.0/16", &any, &p, why, sizeof(why)) && !any && p.family == AF_INET &&
	      p.len == 16 && ntohl(p.addr.v4.s_addr) == 0x0a010000);
	CHECK(cidr("192.168.7.9", &any, &p, why, sizeof(why)) && !any && p.len == 32 &&
	      !strcmp(nf_prefix_format(&p, buf, sizeof(buf)), "192.168.7.9/32"));
	CHECK(cidr("192.168.7.9/32", &any, &p, why, sizeof(why)) && p.len == 32);
	CHECK(cidr("0.0.0.0/0", &any, &p, why, sizeof(why)) && !any && p.len == 0);
	CHECK(cidr("", &any, &p, why, sizeof(why)) && any && p.family == 0);

	/* Host bits: the reason offers the network. */
	CHECK(!cidr("10.0.0.1/24", &any, &p, why, sizeof(why)));
	CHECK(!strcmp(why, "10.0.0.1/24: host bits set; did you mean 10.0.0.0/24?"));
	CHECK(!cidr("10.0.0.1/0", &any, &p, why, sizeof(why)) && strstr(why, "0.0.0.0/0?"));
	CHECK(!cidr("172.16.255.255/12", &any, &p, why, sizeof(why)) &&
	      strstr(why, "did you mean 172.16.0.0/12?"));

	CHECK(!cidr("fd00::/8", &any, &p, why, sizeof(why)) && strstr(why, "IPv6"));
	CHECK(!cidr("::1", &any, &p, why, sizeof(why)) && strstr(why, "IPv6"));
	CHECK(!cidr("::ffff:10.0.0.1", &any, &p, why, sizeof(why)) && strstr(why, "IPv6"));
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		bool ok = cidr(garbage[i], &any, &p, why, sizeof(why));

		CHECK(!ok && why[0]);
		if (ok)
			fprintf(stderr, "  accepted: %s\n", garbage[i]);
	}
	CHECK(!cidr(NULL, &any, &p, why, sizeof(why)) && why[0]);
}

static struct flow_filter good(void)
{
	struct flow_filter f = {.id = 7,
	                        .priority = FLOW_PRIO_DEFAULT,
	                        .protocol = 6,
	                        .dst_port = 22,
	                        .dst_any = true,
	                        .action = FLOW_DROP};

	nf_prefix_parse("10.0.0.0/8", false, &f.src);
	return f;
}

/* Applies one bad change to a good filter and checks the reason names the field. */
#define BAD(change, want)                                                                          \
	do {                                                                                       \
		f = good();                                                                        \
		change;                                                                            \
		why[0] = '\0';                                                                     \
		CHECK(!flow_filter_check(&f, why, sizeof(why)));                                   \
		CHECK(strncmp(why, want, strlen(want)) == 0);                                      \
		if (strncmp(why, want, strlen(want)) != 0)                                         \
			fprintf(stderr, "  got: %s\n", why);                                       \
	} while (0)

static void test_check(void)
{
	struct flow_filter f = good();
	char why[128];

	CHECK(flow_filter_check(&f, why, sizeof(why)));
	f.id = FLOW_ID_MAX;
	f.priority = FLOW_PRIO_MAX;
	f.protocol = 17;
	f.dst_port = 65535;
	CHECK(flow_filter_check(&f, why, sizeof(why)));
	f = good();
	f.priority = FLOW_PRIO_MIN;
	f.protocol = 1;
	f.dst_port = 0;
	f.src_any = true;
	memset(&f.src, 0, sizeof(f.src));
	CHECK(flow_filter_check(&f, why, sizeof(why)));
	f.protocol = 0;
	f.action = FLOW_ALLOW;
	CHECK(flow_filter_check(&f, why, sizeof(why)));

	BAD(f.id = 0, "id: ");
	BAD(f.id = FLOW_ID_MAX + 1, "id: ");
	BAD(f.priority = 0, "priority: ");
	BAD(f.priority = FLOW_PRIO_MAX + 1, "priority: ");
	BAD(f.protocol = 2, "protocol: ");
	BAD(f.protocol = 58, "protocol: ");
	BAD(f.protocol = 1, "dst_port: ");
	BAD(f.protocol = 0, "dst_port: ");
	BAD(f.action = (enum flow_action)2, "action: ");
	BAD(nf_prefix_parse("10.0.0.1/8", false, &f.src), "src: 10.0.0.1/8 has host bits");
	BAD(nf_prefix_parse("fd00::/8", false, &f.src), "src: ");
	BAD((f.dst_any = false, nf_prefix_parse("10.1.1.1/16", false, &f.dst)), "dst: ");
	BAD((f.dst_any = false, nf_prefix_parse("fd00::/8", false, &f.dst)), "dst: ");
	BAD((f.dst_any = false, memset(&f.dst, 0, sizeof(f.dst))), "dst: ");
}

int main(void)
{
	struct flow_config cfg = {0};

	test_names();
	test_cidr();
	test_check();

	flow_config_free(&cfg);
	flow_config_free(NULL);
	cfg.n = 2;
	cfg.revision = 4;
	cfg.filters = calloc(2, sizeof(*cfg.filters));
	flow_config_free(&cfg);
	CHECK(cfg.n == 0 && cfg.filters == NULL && cfg.revision == 0);
	return check_result();
}
