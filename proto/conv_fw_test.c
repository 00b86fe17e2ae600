// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for conv_fw.c: a good FirewallSection converts to the plain
 * config and back (through the wire format) unchanged, and each bad field is
 * refused with the rule's id and the field named, and *bad_rule set.
 */
#include "proto/conv_fw.h"
#include "tests/check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One rule with storage for what its fields point to. */
struct rule_buf {
	Netfn__FwNodeRule pb;
	char *src[4];
	char *dst[4];
	Netfn__PortRange ports[4];
	Netfn__PortRange *port_ptrs[4];
};

static void rule_init(struct rule_buf *r, uint64_t id)
{
	memset(r, 0, sizeof(*r));
	netfn__fw_node_rule__init(&r->pb);
	r->pb.id = id;
	r->pb.direction = "in";
	r->pb.protocol = "tcp";
	r->pb.action = "accept";
	r->pb.rate_unit = "";
	r->pb.log_prefix = "";
	r->pb.policy = "web";
	r->src[0] = "10.0.0.0/8";
	r->src[1] = "2001:db8::/32";
	r->pb.src = r->src;
	r->pb.n_src = 2;
	r->pb.dst_any = true;
	r->pb.dst = r->dst;
	for (int i = 0; i < 4; i++) {
		netfn__port_range__init(&r->ports[i]);
		r->port_ptrs[i] = &r->ports[i];
	}
	r->ports[0].first = r->ports[0].last = 22;
	r->ports[1].first = 8000;
	r->ports[1].last = 8100;
	r->pb.dst_ports = r->port_ptrs;
	r->pb.n_dst_ports = 2;
}

struct section {
	Netfn__FirewallSection pb;
	struct rule_buf rules[3];
	Netfn__FwNodeRule *ptrs[3];
};

static void section_init(struct section *s)
{
	netfn__firewall_section__init(&s->pb);
	s->pb.revision = 9;
	s->pb.default_deny = true;
	s->pb.keep_ssh = true;
	s->pb.wg_port = 51820;
	for (int i = 0; i < 3; i++) {
		rule_init(&s->rules[i], 15 + i);
		s->ptrs[i] = &s->rules[i].pb;
	}
	s->rules[1].pb.direction = "out";
	s->rules[1].pb.protocol = "udp";
	s->rules[1].pb.action = "reject";
	s->rules[1].pb.rate = 10;
	s->rules[1].pb.rate_unit = "minute";
	s->rules[1].pb.log_prefix = "fw out: ";
	s->rules[2].pb.protocol = "icmp";
	s->rules[2].pb.n_dst_ports = 0;
	s->rules[2].pb.src_any = true;
	s->rules[2].pb.n_src = 0;
	s->rules[2].pb.dst_any = false; /* an empty list: matches nothing */
	s->pb.rules = s->ptrs;
	s->pb.n_rules = 3;
}

static void test_good(void)
{
	struct section s;
	struct fw_config cfg, back;
	Netfn__FirewallSection *pb = NULL, *wire = NULL;
	uint64_t bad = 1;
	char err[256];
	uint8_t *buf;
	size_t len;

	section_init(&s);
	CHECK(conv_fw_from_pb(&s.pb, &cfg, err, sizeof(err), &bad) == 0 && bad == 0);
	CHECK(cfg.revision == 9 && cfg.default_deny && cfg.keep_ssh && cfg.wg_port == 51820);
	CHECK(cfg.n_rules == 3 && cfg.rules[0].id == 15 && cfg.rules[0].dir == FW_IN);
	CHECK(cfg.rules[0].proto == FW_TCP && cfg.rules[0].n_src == 2 && !cfg.rules[0].src_any);
	CHECK(cfg.rules[0].src[1].family == AF_INET6 && cfg.rules[0].src[1].len == 32);
	CHECK(cfg.rules[0].n_ports == 2 && cfg.rules[0].ports[1].first == 8000 &&
	      cfg.rules[0].ports[1].last == 8100);
	CHECK(cfg.rules[1].dir == FW_OUT && cfg.rules[1].action == FW_REJECT &&
	      cfg.rules[1].rate == 10 && cfg.rules[1].rate_unit == FW_PER_MINUTE);
	CHECK(!strcmp(cfg.rules[1].log_prefix, "fw out: ") && !strcmp(cfg.rules[1].policy, "web"));
	CHECK(cfg.rules[2].proto == FW_ICMP && cfg.rules[2].src_any && !cfg.rules[2].dst_any &&
	      cfg.rules[2].n_dst == 0);

	/* to_pb, over the wire, from_pb: the same config. */
	CHECK(conv_fw_to_pb(&cfg, &pb) == 0);
	len = netfn__firewall_section__get_packed_size(pb);
	buf = malloc(len);
	netfn__firewall_section__pack(pb, buf);
	wire = netfn__firewall_section__unpack(NULL, len, buf);
	CHECK(wire != NULL);
	CHECK(wire && conv_fw_from_pb(wire, &back, err, sizeof(err), &bad) == 0);
	CHECK(back.n_rules == cfg.n_rules && back.revision == cfg.revision);
	for (size_t i = 0; i < back.n_rules && i < cfg.n_rules; i++) {
		CHECK(back.rules[i].id == cfg.rules[i].id && back.rules[i].dir == cfg.rules[i].dir);
		CHECK(back.rules[i].n_src == cfg.rules[i].n_src &&
		      back.rules[i].n_ports == cfg.rules[i].n_ports);
		CHECK(back.rules[i].rate_unit == cfg.rules[i].rate_unit &&
		      !strcmp(back.rules[i].log_prefix, cfg.rules[i].log_prefix));
		CHECK(back.rules[i].src_any == cfg.rules[i].src_any &&
		      back.rules[i].dst_any == cfg.rules[i].dst_any);
	}
	CHECK(!strcmp(wire->rules[0]->src[0], "10.0.0.0/8"));
	CHECK(!strcmp(wire->rules[0]->rate_unit, "")); /* no rate: no unit */
	netfn__firewall_section__free_unpacked(wire, NULL);
	free(buf);
	conv_fw_pb_free(pb);
	conv_fw_pb_free(NULL);
	fw_config_free(&back);
	fw_config_free(&cfg);
	fw_config_free(&cfg); /* a zeroed config */
}

/* Applies one change to rule 16 (index 1) and expects refusal naming field. */
#define BAD(change, field)                                                                         \
	do {                                                                                       \
		struct section s;                                                                  \
		Netfn__FwNodeRule *r = &s.rules[1].pb;                                             \
		section_init(&s);                                                                  \
		change;                                                                            \
		expect_bad(&s, field, __LINE__);                                                   \
		(void)r;                                                                           \
	} while (0)

static void expect_bad(struct section *s, const char *field, int line)
{
	struct fw_config cfg;
	uint64_t bad = 0;
	char err[256];
	int ret;

	ret = conv_fw_from_pb(&s->pb, &cfg, err, sizeof(err), &bad);
	/* A rule is named by its id; id 0 names none (bad_rule 0 means "no one rule"). */
	if (ret != -EINVAL || !strstr(err, field) ||
	    (strncmp(field, "rules[", 6) == 0 && strncmp(field, "rules[0]", 8) != 0 && !bad)) {
		fprintf(stderr, "line %d: want %s, got %d \"%s\" bad_rule %llu\n", line, field, ret,
		        err, (unsigned long long)bad);
		CHECK(false);
		return;
	}
	CHECK(cfg.rules == NULL && cfg.n_rules == 0);
	printf("  refused: %s (bad_rule %llu)\n", err, (unsigned long long)bad);
}

static void test_bad(void)
{
	BAD(r->direction = "sideways", "rules[16].direction:");
	BAD(r->direction = "", "rules[16].direction:");
	BAD(r->protocol = "sctp", "rules[16].protocol:");
	BAD(r->action = "explode", "rules[16].action:");
	BAD(r->id = 0, "rules[0].id:");
	BAD(r->id = 17, "rules[17].id: used by more than one rule");
	BAD(r->src[0] = "10.0.0.300/8", "rules[16].src:");
	BAD(r->src[0] = "10.0.0.1/8", "rules[16].src: '10.0.0.1/8' has host bits");
	BAD(r->src[1] = "2001:db8::/129", "rules[16].src:");
	BAD(r->src[0] = "10.0.0.0/8;id", "rules[16].src:");
	BAD(r->src_any = true, "rules[16].src: entries given with src_any");
	BAD((r->dst[0] = "abc/8", r->n_dst = 1, r->dst_any = false), "rules[16].dst:");
	BAD(s.rules[1].ports[0].first = 0, "rules[16].dst_ports: 0-22");
	BAD(s.rules[1].ports[1].last = 70000, "rules[16].dst_ports: 8000-70000");
	BAD(s.rules[1].ports[1].first = 9000,
	    "rules[16].dst_ports: 9000-8100: first port after last");
	BAD(r->protocol = "icmp", "rules[16].dst_ports: ports need protocol tcp or udp");
	BAD(r->protocol = "any", "rules[16].dst_ports:");
	BAD(r->rate_unit = "fortnight", "rules[16].rate_unit:");
	BAD((r->rate = 5, r->rate_unit = ""), "rules[16].rate_unit:");
	BAD(r->rate = 2000000000u, "rules[16].rate:");
	BAD(r->log_prefix = "say \"hi\"", "rules[16].log_prefix:");
	BAD(r->log_prefix = "it's", "rules[16].log_prefix:");
	BAD(r->log_prefix = "a\\b", "rules[16].log_prefix:");
	BAD(r->log_prefix = "a; drop", "rules[16].log_prefix:");
	BAD(r->log_prefix = "line\nbreak", "rules[16].log_prefix:");
	BAD(r->log_prefix =
	        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "rules[16].log_prefix: longer than 63");
	BAD(r->policy = "bad\x01name", "rules[16].policy:");
	BAD(s.pb.wg_port = 65536, "wg_port:");
}

int main(void)
{
	test_good();
	test_bad();
	return check_result();
}
