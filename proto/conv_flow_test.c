// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for conv_flow.c: a good FlowSection converts to the plain
 * config (filters by id) and back through the wire format unchanged; an
 * empty section is no filters; each bad field is refused with the filter's
 * id and the field named, and nothing is left allocated.
 */
#include "proto/conv_flow.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define N_SEC 3

struct sec {
	Netfn__FlowSection pb;
	Netfn__FlowNodeFilter f[N_SEC];
	Netfn__FlowNodeFilter *ptrs[N_SEC];
};

static void sec_init(struct sec *s)
{
	memset(s, 0, sizeof(*s));
	netfn__flow_section__init(&s->pb);
	s->pb.revision = 12;
	for (int i = 0; i < N_SEC; i++) {
		netfn__flow_node_filter__init(&s->f[i]);
		s->ptrs[i] = &s->f[i];
	}
	/* Out of id order on purpose: from_pb sorts. */
	s->f[0].id = 9;
	s->f[0].priority = 200;
	s->f[0].protocol = 6;
	s->f[0].dst_port = 22;
	s->f[0].src = "10.0.0.0/8";
	s->f[0].drop = true;
	s->f[1].id = 3;
	s->f[1].priority = 100;
	s->f[1].protocol = 1;
	s->f[1].dst = "192.168.1.7";
	s->f[2].id = 5;
	s->f[2].priority = 1;
	s->f[2].protocol = 17;
	s->f[2].dst_port = 53;
	s->f[2].src = "172.16.0.0/12";
	s->f[2].dst = "10.9.0.0/16";
	s->f[2].drop = true;
	s->pb.filters = s->ptrs;
	s->pb.n_filters = N_SEC;
}

static void test_good(void)
{
	struct flow_config cfg = {0}, back = {0};
	Netfn__FlowSection *pb = NULL, *wire = NULL;
	struct sec s;
	char err[256];
	uint8_t *buf;
	size_t len;

	sec_init(&s);
	CHECK(conv_flow_from_pb(&s.pb, &cfg, err, sizeof(err)) == 0);
	CHECK(cfg.revision == 12 && cfg.n == 3);
	if (cfg.n != 3)
		return;
	CHECK(cfg.filters[0].id == 3 && cfg.filters[1].id == 5 && cfg.filters[2].id == 9);
	CHECK(cfg.filters[0].protocol == 1 && cfg.filters[0].dst_port == 0 &&
	      cfg.filters[0].action == FLOW_ALLOW && cfg.filters[0].src_any &&
	      !cfg.filters[0].dst_any && cfg.filters[0].dst.len == 32 &&
	      ntohl(cfg.filters[0].dst.addr.v4.s_addr) == 0xc0a80107);
	CHECK(cfg.filters[2].priority == 200 && cfg.filters[2].protocol == 6 &&
	      cfg.filters[2].dst_port == 22 && cfg.filters[2].action == FLOW_DROP &&
	      !cfg.filters[2].src_any && cfg.filters[2].src.len == 8 && cfg.filters[2].dst_any);

	CHECK(conv_flow_to_pb(&cfg, &pb) == 0 && pb);
	len = netfn__flow_section__get_packed_size(pb);
	buf = malloc(len);
	netfn__flow_section__pack(pb, buf);
	wire = netfn__flow_section__unpack(NULL, len, buf);
	CHECK(wire && conv_flow_from_pb(wire, &back, err, sizeof(err)) == 0);
	CHECK(wire && wire->n_filters == 3 && !strcmp(wire->filters[0]->dst, "192.168.1.7/32") &&
	      !strcmp(wire->filters[0]->src, "") &&
	      !strcmp(wire->filters[1]->src, "172.16.0.0/12") && wire->filters[2]->drop &&
	      !wire->filters[0]->drop);
	CHECK(back.n == cfg.n && back.revision == 12);
	for (size_t i = 0; i < back.n && i < cfg.n; i++)
		CHECK(!memcmp(&back.filters[i], &cfg.filters[i], sizeof(struct flow_filter)));
	netfn__flow_section__free_unpacked(wire, NULL);
	free(buf);
	conv_flow_pb_free(pb);
	conv_flow_pb_free(NULL);
	flow_config_free(&cfg);
	flow_config_free(&back);

	/* No filters: an empty config that still carries its revision. */
	sec_init(&s);
	s.pb.n_filters = 0;
	CHECK(conv_flow_from_pb(&s.pb, &cfg, err, sizeof(err)) == 0 && cfg.n == 0 &&
	      cfg.filters == NULL && cfg.revision == 12);
	CHECK(conv_flow_to_pb(&cfg, &pb) == 0 && pb && pb->n_filters == 0 && pb->revision == 12);
	conv_flow_pb_free(pb);

	/* Unset strings in a hand-built message read as any. */
	sec_init(&s);
	s.f[1].src = NULL;
	s.f[1].dst = NULL;
	CHECK(conv_flow_from_pb(&s.pb, &cfg, err, sizeof(err)) == 0 && cfg.n == 3 &&
	      cfg.filters[0].src_any && cfg.filters[0].dst_any);
	flow_config_free(&cfg);
}

/* Applies one bad change to a good section and checks the error names where. */
#define BAD(change, want)                                                                          \
	do {                                                                                       \
		sec_init(&s);                                                                      \
		change;                                                                            \
		err[0] = '\0';                                                                     \
		CHECK(conv_flow_from_pb(&s.pb, &cfg, err, sizeof(err)) == -EINVAL);                \
		CHECK(strncmp(err, want, strlen(want)) == 0);                                      \
		if (strncmp(err, want, strlen(want)) != 0)                                         \
			fprintf(stderr, "  got: %s\n", err);                                       \
		CHECK(cfg.n == 0 && cfg.filters == NULL);                                          \
	} while (0)

static void test_bad(void)
{
	struct flow_config cfg = {0};
	struct sec s;
	char err[256];

	BAD(s.pb.n_filters = FLOW_MAX_FILTERS + 1, "filters: ");
	BAD(s.f[0].id = 0, "filters[0].id: ");
	BAD(s.f[0].id = FLOW_ID_MAX + 1, "filters[281474976710656].id: ");
	BAD(s.f[2].id = 9, "filters[9].id: used by more than one filter");
	BAD(s.f[0].priority = 0, "filters[9].priority: ");
	BAD(s.f[0].priority = FLOW_PRIO_MAX + 1, "filters[9].priority: ");
	BAD(s.f[0].priority = 0x10000 + 100, "filters[9].priority: ");
	BAD(s.f[0].protocol = 2, "filters[9].protocol: ");
	BAD(s.f[0].protocol = 0x106, "filters[9].protocol: ");
	BAD(s.f[0].protocol = 0, "filters[9].dst_port: a port needs tcp or udp");
	BAD(s.f[1].dst_port = 80, "filters[3].dst_port: a port needs tcp or udp");
	BAD(s.f[0].dst_port = 65536, "filters[9].dst_port: ");
	BAD(s.f[0].dst_port = 0x10016, "filters[9].dst_port: ");
	BAD(s.f[0].src = "10.0.0.1/8", "filters[9].src: 10.0.0.1/8: host bits set; did you mean "
	                               "10.0.0.0/8?");
	BAD(s.f[0].src = "fd00::/8", "filters[9].src: ");
	BAD(s.f[0].src = "nonsense", "filters[9].src: ");
	BAD(s.f[0].src = "10.0.0.0/8 ", "filters[9].src: ");
	BAD(s.f[2].dst = "10.9.0.0/33", "filters[5].dst: ");
	BAD(s.f[1].dst = "::1", "filters[3].dst: ");
	/* The last filter is bad: the ones converted before it are freed too. */
	BAD(s.f[2].dst = "10.9.0.1/16", "filters[5].dst: ");
}

int main(void)
{
	test_good();
	test_bad();
	return check_result();
}
