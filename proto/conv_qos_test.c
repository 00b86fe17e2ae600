// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for conv_qos.c: a good QosSection converts to the plain config
 * (classes by minor) and back through the wire format unchanged; an empty
 * section is no shaping; each bad field is refused with the class and field
 * named.
 */
#include "proto/conv_qos.h"
#include "tests/check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct sec {
	Netfn__QosSection pb;
	Netfn__QosNodeClass cl[2];
	Netfn__QosNodeClass *cl_ptrs[2];
	Netfn__QosNodeMatch m[2];
	Netfn__QosNodeMatch *m_ptrs[2];
	Netfn__PortRange pr;
};

static void sec_init(struct sec *s)
{
	memset(s, 0, sizeof(*s));
	netfn__qos_section__init(&s->pb);
	s->pb.revision = 9;
	s->pb.link_bps = 50000000;
	for (int i = 0; i < 2; i++) {
		netfn__qos_node_class__init(&s->cl[i]);
		netfn__qos_node_match__init(&s->m[i]);
		s->cl_ptrs[i] = &s->cl[i];
		s->m_ptrs[i] = &s->m[i];
	}
	netfn__port_range__init(&s->pr);
	/* Out of minor order on purpose: from_pb sorts. */
	s->cl[0].minor = 5;
	s->cl[0].name = "gold";
	s->cl[0].min_bps = 30000000;
	s->cl[0].max_bps = 50000000;
	s->cl[0].priority = 1;
	s->cl[0].matches = s->m_ptrs;
	s->cl[0].n_matches = 2;
	s->m[0].protocol = 6;
	s->pr.first = 5201;
	s->pr.last = 5202;
	s->m[0].ports = &s->pr;
	s->m[1].dst = "10.8.0.0/24";
	s->cl[1].minor = 2;
	s->cl[1].name = "bronze";
	s->cl[1].max_bps = 10000000;
	s->pb.classes = s->cl_ptrs;
	s->pb.n_classes = 2;
}

static void test_good(void)
{
	struct qos_config cfg = {0}, back = {0};
	Netfn__QosSection *pb = NULL, *wire = NULL;
	struct sec s;
	char err[256];
	uint8_t *buf;
	size_t len;

	sec_init(&s);
	CHECK(conv_qos_from_pb(&s.pb, &cfg, err, sizeof(err)) == 0);
	CHECK(cfg.revision == 9 && cfg.link_bps == 50000000 && cfg.n == 2);
	CHECK(cfg.classes[0].minor == 2 && !strcmp(cfg.classes[0].name, "bronze") &&
	      cfg.classes[0].min_bps == 0 && cfg.classes[0].n_matches == 0);
	CHECK(cfg.classes[1].minor == 5 && cfg.classes[1].priority == 1 &&
	      cfg.classes[1].n_matches == 2);
	CHECK(cfg.classes[1].matches[0].protocol == 6 &&
	      cfg.classes[1].matches[0].port_first == 5201 &&
	      cfg.classes[1].matches[0].port_last == 5202 && cfg.classes[1].matches[0].dst_any);
	CHECK(!cfg.classes[1].matches[1].dst_any && cfg.classes[1].matches[1].dst.len == 24);

	CHECK(conv_qos_to_pb(&cfg, &pb) == 0);
	len = netfn__qos_section__get_packed_size(pb);
	buf = malloc(len);
	netfn__qos_section__pack(pb, buf);
	wire = netfn__qos_section__unpack(NULL, len, buf);
	CHECK(wire && conv_qos_from_pb(wire, &back, err, sizeof(err)) == 0);
	CHECK(back.n == 2 && back.link_bps == cfg.link_bps && back.revision == 9);
	CHECK(wire && !strcmp(wire->classes[1]->matches[1]->dst, "10.8.0.0/24") &&
	      wire->classes[1]->matches[0]->ports->first == 5201 &&
	      wire->classes[0]->matches == NULL);
	for (size_t i = 0; i < back.n && i < cfg.n; i++) {
		CHECK(back.classes[i].minor == cfg.classes[i].minor &&
		      back.classes[i].min_bps == cfg.classes[i].min_bps &&
		      back.classes[i].max_bps == cfg.classes[i].max_bps &&
		      back.classes[i].n_matches == cfg.classes[i].n_matches);
		for (size_t k = 0; k < back.classes[i].n_matches; k++)
			CHECK(!memcmp(&back.classes[i].matches[k], &cfg.classes[i].matches[k],
			              sizeof(struct qos_match)));
	}
	netfn__qos_section__free_unpacked(wire, NULL);
	free(buf);
	conv_qos_pb_free(pb);
	conv_qos_pb_free(NULL);
	qos_config_free(&cfg);
	qos_config_free(&back);

	/* No classes and no link: nothing of ours on the interface. */
	sec_init(&s);
	s.pb.n_classes = 0;
	s.pb.link_bps = 0;
	CHECK(conv_qos_from_pb(&s.pb, &cfg, err, sizeof(err)) == 0 && cfg.n == 0);
	qos_config_free(&cfg);
}

/* Applies one bad change to a good section and checks the error names where. */
#define BAD(change, want)                                                                          \
	do {                                                                                       \
		sec_init(&s);                                                                      \
		change;                                                                            \
		CHECK(conv_qos_from_pb(&s.pb, &cfg, err, sizeof(err)) == -EINVAL);                 \
		CHECK(strstr(err, want) != NULL);                                                  \
		if (!strstr(err, want))                                                            \
			fprintf(stderr, "  got: %s\n", err);                                       \
		CHECK(cfg.n == 0 && cfg.classes == NULL);                                          \
	} while (0)

static void test_bad(void)
{
	struct qos_config cfg = {0};
	struct sec s;
	char err[256];

	BAD(s.pb.link_bps = 0, "link_bps:");
	BAD(s.pb.link_bps = QOS_RATE_MAX_BPS + 1, "link_bps:");
	BAD(s.cl[0].minor = 1, "classes[gold].minor:");
	BAD(s.cl[0].minor = QOS_MINOR_DEFAULT, "classes[gold].minor:");
	BAD(s.cl[1].minor = 5, "minor: 5 is also");
	BAD(s.cl[1].name = "gold", "classes[gold].name: used by more");
	BAD(s.cl[0].name = "", "classes[5].name:");
	BAD(s.cl[0].name = "a\"b", "classes[5].name:");
	BAD(s.cl[0].name = "tab\there", "classes[5].name:");
	BAD(s.cl[0].min_bps = 60000000, "classes[gold].min_bps:");
	BAD(s.cl[0].min_bps = 100, "classes[gold].min_bps:");
	BAD(s.cl[0].max_bps = 20000000, "classes[gold].max_bps:");
	BAD(s.cl[0].max_bps = 60000000, "classes[gold].max_bps:");
	BAD(s.cl[1].max_bps = 0, "classes[bronze].max_bps:");
	BAD(s.cl[0].priority = 8, "classes[gold].priority:");
	BAD(s.m[0].protocol = 1, "classes[gold].matches[0].protocol:");
	BAD(s.m[0].protocol = 0, "classes[gold].matches[0].ports: ports need tcp or udp");
	BAD(s.pr.first = 0, "classes[gold].matches[0].ports:");
	BAD(s.pr.last = 70000, "classes[gold].matches[0].ports:");
	BAD(s.pr.first = 6000, "classes[gold].matches[0].ports:");
	BAD(s.m[1].dst = "10.8.0.1/24", "classes[gold].matches[1].dst: '10.8.0.1/24' has host");
	BAD(s.m[1].dst = "nonsense", "classes[gold].matches[1].dst:");
	BAD(s.m[1].dst = "fd00::/8", "classes[gold].matches[1].dst:");
	BAD(s.cl[0].n_matches = QOS_MAX_MATCHES + 1, "classes[gold].matches:");
	BAD(s.pb.n_classes = QOS_MAX_CLASSES + 1, "classes:");
}

int main(void)
{
	test_good();
	test_bad();
	return check_result();
}
