// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for conv_lb.c: a good LbSection converts to the plain config
 * (frontends by id, backends by address then port, weight 0 read as 1, an
 * absent health check as checks off) and back through the wire format
 * unchanged; each bad field is refused with the frontend's id and the field
 * named and *bad_id set; reports are read back skipping malformed entries.
 */
#include "proto/conv_lb.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One frontend with storage for what its fields point to. */
struct fe_buf {
	Netfn__LbFrontend pb;
	Netfn__LbBackend be[3];
	Netfn__LbBackend *be_ptrs[3];
	Netfn__LbHealthCheck hc;
};

static void fe_init(struct fe_buf *f, uint64_t id)
{
	memset(f, 0, sizeof(*f));
	netfn__lb_frontend__init(&f->pb);
	f->pb.id = id;
	f->pb.name = "web";
	f->pb.protocol = "tcp";
	f->pb.address = "10.99.0.1";
	f->pb.port = 80;
	f->pb.algorithm = "round-robin";
	for (int i = 0; i < 3; i++) {
		netfn__lb_backend__init(&f->be[i]);
		f->be_ptrs[i] = &f->be[i];
	}
	/* Out of order on purpose: from_pb sorts. */
	f->be[0].address = "10.99.0.3";
	f->be[0].port = 8080;
	f->be[0].weight = 5;
	f->be[1].address = "10.99.0.2";
	f->be[1].port = 8081;
	f->be[2].address = "10.99.0.2";
	f->be[2].port = 8080;
	f->be[2].weight = 100;
	f->pb.backends = f->be_ptrs;
	f->pb.n_backends = 3;
	netfn__lb_health_check__init(&f->hc);
	f->hc.interval_ms = 2000;
	f->hc.timeout_ms = 1000;
	f->hc.rise = 2;
	f->hc.fall = 3;
	f->pb.health = &f->hc;
}

struct section {
	Netfn__LbSection pb;
	struct fe_buf fe[2];
	Netfn__LbFrontend *ptrs[2];
};

static void section_init(struct section *s)
{
	netfn__lb_section__init(&s->pb);
	s->pb.revision = 4;
	fe_init(&s->fe[0], 12);
	fe_init(&s->fe[1], 7);
	s->fe[1].pb.protocol = "udp";
	s->fe[1].pb.algorithm = "source-hash";
	s->fe[1].pb.port = 53;
	s->fe[1].pb.health = NULL;
	s->fe[1].pb.n_backends = 1;
	for (int i = 0; i < 2; i++)
		s->ptrs[i] = &s->fe[i].pb;
	s->pb.frontends = s->ptrs;
	s->pb.n_frontends = 2;
}

static bool same(const struct lb_config *a, const struct lb_config *b)
{
	if (a->revision != b->revision || a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct lb_frontend *x = &a->frontends[i], *y = &b->frontends[i];

		if (x->id != y->id || strcmp(x->name, y->name) || x->proto != y->proto ||
		    x->addr.s_addr != y->addr.s_addr || x->port != y->port || x->algo != y->algo ||
		    memcmp(&x->health, &y->health, sizeof(x->health)) ||
		    x->n_backends != y->n_backends)
			return false;
		for (size_t k = 0; k < x->n_backends; k++)
			if (memcmp(&x->backends[k], &y->backends[k], sizeof(x->backends[k])))
				return false;
	}
	return true;
}

static void test_good(void)
{
	struct section s;
	struct lb_config cfg, back;
	Netfn__LbSection *pb = NULL, *wire = NULL;
	const struct lb_frontend *f;
	uint64_t bad = 1;
	char err[256], a[INET_ADDRSTRLEN];
	uint8_t *buf;
	size_t len;

	section_init(&s);
	CHECK(conv_lb_from_pb(&s.pb, &cfg, err, sizeof(err), &bad) == 0 && bad == 0);
	CHECK(cfg.revision == 4 && cfg.n == 2);
	CHECK(cfg.frontends[0].id == 7 && cfg.frontends[1].id == 12);
	f = &cfg.frontends[0];
	CHECK(f->proto == LB_UDP && f->algo == LB_SOURCE_HASH && f->port == 53);
	CHECK(f->health.interval_ms == 0 && f->n_backends == 1 && f->backends[0].weight == 5);
	f = &cfg.frontends[1];
	CHECK(f->proto == LB_TCP && f->algo == LB_ROUND_ROBIN && !strcmp(f->name, "web"));
	CHECK(f->addr.s_addr == inet_addr("10.99.0.1") && f->port == 80);
	CHECK(f->health.interval_ms == 2000 && f->health.timeout_ms == 1000 &&
	      f->health.rise == 2 && f->health.fall == 3 && f->health.port == 0);
	CHECK(f->n_backends == 3);
	CHECK(!strcmp(inet_ntop(AF_INET, &f->backends[0].addr, a, sizeof(a)), "10.99.0.2") &&
	      f->backends[0].port == 8080 && f->backends[0].weight == 100);
	CHECK(f->backends[1].addr.s_addr == inet_addr("10.99.0.2") && f->backends[1].port == 8081 &&
	      f->backends[1].weight == 1);
	CHECK(f->backends[2].addr.s_addr == inet_addr("10.99.0.3") && f->backends[2].weight == 5);

	/* Interval 0 in a present message: checks off too, the other fields ignored. */
	s.fe[0].hc.interval_ms = 0;
	s.fe[0].hc.timeout_ms = 0;
	CHECK(conv_lb_from_pb(&s.pb, &back, err, sizeof(err), &bad) == 0);
	CHECK(back.frontends[1].health.interval_ms == 0 && back.frontends[1].health.rise == 0);
	lb_config_free(&back);

	/* to_pb, over the wire, from_pb: the same config. */
	CHECK(conv_lb_to_pb(&cfg, &pb) == 0);
	CHECK(pb->frontends[0]->health == NULL && pb->frontends[1]->health != NULL);
	len = netfn__lb_section__get_packed_size(pb);
	buf = malloc(len);
	netfn__lb_section__pack(pb, buf);
	wire = netfn__lb_section__unpack(NULL, len, buf);
	CHECK(wire != NULL);
	CHECK(wire && conv_lb_from_pb(wire, &back, err, sizeof(err), &bad) == 0);
	CHECK(same(&cfg, &back));
	CHECK(wire && !strcmp(wire->frontends[1]->backends[0]->address, "10.99.0.2") &&
	      !strcmp(wire->frontends[0]->algorithm, "source-hash"));
	netfn__lb_section__free_unpacked(wire, NULL);
	free(buf);
	conv_lb_pb_free(pb);
	conv_lb_pb_free(NULL);
	lb_config_free(&back);
	lb_config_free(&cfg);
	lb_config_free(&cfg); /* a zeroed config */

	/* An empty section: no frontends, nothing owned but valid. */
	netfn__lb_section__init(&s.pb);
	CHECK(conv_lb_from_pb(&s.pb, &cfg, err, sizeof(err), &bad) == 0 && cfg.n == 0);
	lb_config_free(&cfg);
}

/* Applies one change to frontend 12 (fe[0]) and expects refusal naming field. */
#define BAD(change, field, want_id)                                                                \
	do {                                                                                       \
		struct section s;                                                                  \
		Netfn__LbFrontend *f = &s.fe[0].pb;                                                \
		Netfn__LbHealthCheck *h = &s.fe[0].hc;                                             \
		Netfn__LbBackend *b = &s.fe[0].be[1];                                              \
		section_init(&s);                                                                  \
		change;                                                                            \
		expect_bad(&s, field, want_id, __LINE__);                                          \
		(void)f, (void)h, (void)b;                                                         \
	} while (0)

static void expect_bad(struct section *s, const char *field, uint64_t want_id, int line)
{
	struct lb_config cfg;
	uint64_t bad = 99;
	char err[256];
	int ret;

	ret = conv_lb_from_pb(&s->pb, &cfg, err, sizeof(err), &bad);
	if (ret != -EINVAL || !strstr(err, field) || bad != want_id) {
		fprintf(stderr, "line %d: want %s, got %d \"%s\" bad_id %llu\n", line, field, ret,
		        err, (unsigned long long)bad);
		CHECK(false);
		return;
	}
	CHECK(cfg.frontends == NULL && cfg.n == 0);
	printf("  refused: %s (bad_id %llu)\n", err, (unsigned long long)bad);
}

static void test_bad(void)
{
	static Netfn__LbFrontend *many_fe[LB_MAX_FRONTENDS + 1];
	static Netfn__LbBackend *many_be[LB_MAX_BACKENDS + 1];

	BAD(f->id = 0, "frontends[0].id: 0 is not", 0);
	BAD(f->id = 7, "frontends[7].id: used by more than one frontend", 7);
	BAD(f->name = "say \"hi\"", "frontends[12].name:", 12);
	BAD(f->name = "tab\there", "frontends[12].name:", 12);
	BAD(f->name = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "frontends[12].name:", 12);
	BAD(f->protocol = "sctp", "frontends[12].protocol: 'sctp' is not tcp or udp", 12);
	BAD(f->protocol = "", "frontends[12].protocol:", 12);
	BAD(f->algorithm = "least-conn", "frontends[12].algorithm:", 12);
	BAD(f->address = "10.99.0.256", "frontends[12].address: '10.99.0.256': not a dotted", 12);
	BAD(f->address = "fd00::1", "frontends[12].address:", 12);
	BAD(f->address = "10.99.0.1/32", "frontends[12].address:", 12);
	BAD(f->address = "0.0.0.0", "frontends[12].address:", 12);
	BAD(f->address = "224.0.0.1", "frontends[12].address:", 12);
	BAD(f->address = "255.255.255.255", "frontends[12].address:", 12);
	BAD(f->port = 0, "frontends[12].port: 0 is not a port", 12);
	BAD(f->port = 65536, "frontends[12].port: 65536", 12);
	BAD(b->address = "ten.0.0.1", "frontends[12].backends[1].address:", 12);
	BAD(b->port = 0, "frontends[12].backends[1].port: 0 is not a port", 12);
	BAD(b->port = 70000, "frontends[12].backends[1].port:", 12);
	BAD(b->weight = 101, "frontends[12].backends[1].weight: 101 is above 100", 12);
	BAD(b->port = 8080, "frontends[12].backends: 10.99.0.2:8080 is listed twice", 12);
	BAD(h->interval_ms = 99, "frontends[12].health.interval_ms: 99 is outside", 12);
	BAD(h->interval_ms = 3600001, "frontends[12].health.interval_ms:", 12);
	BAD(h->timeout_ms = 0, "frontends[12].health.timeout_ms:", 12);
	BAD(h->timeout_ms = 2000, "frontends[12].health.timeout_ms:", 12);
	BAD(h->rise = 0, "frontends[12].health.rise:", 12);
	BAD(h->rise = 101, "frontends[12].health.rise:", 12);
	BAD(h->fall = 0, "frontends[12].health.fall:", 12);
	BAD(h->fall = 101, "frontends[12].health.fall:", 12);
	BAD(h->port = 65536, "frontends[12].health.port:", 12);
	/* The other frontend (udp, no health message) is checked just the same. */
	BAD(s.fe[1].be[0].address = "", "frontends[7].backends[0].address:", 7);

	/* Too many: counted before anything is read. */
	BAD((s.pb.frontends = many_fe, s.pb.n_frontends = LB_MAX_FRONTENDS + 1),
	    "frontends: 257 frontends, at most 256", 0);
	for (size_t i = 0; i <= LB_MAX_BACKENDS; i++)
		many_be[i] = NULL; /* never read: the count is refused first */
	BAD((f->backends = many_be, f->n_backends = LB_MAX_BACKENDS + 1),
	    "frontends[12].backends: 1025 backends, at most 1024", 12);
}

static void test_reports(void)
{
	Netfn__SectionStatus ss;
	Netfn__LbBackendHealth h[4], *ptrs[4];
	struct lb_report *r = NULL;
	size_t n = 9;

	netfn__section_status__init(&ss);
	CHECK(conv_lb_reports_from_pb(&ss, &r, &n) == 0 && r == NULL && n == 0);
	for (int i = 0; i < 4; i++) {
		netfn__lb_backend_health__init(&h[i]);
		h[i].lb_id = 3;
		h[i].address = "10.1.0.5";
		h[i].port = 443;
		h[i].connections = 10 + i;
		h[i].healthy = i % 2;
		ptrs[i] = &h[i];
	}
	h[1].address = "nonsense";
	h[2].port = 0;
	ss.backends = ptrs;
	ss.n_backends = 4;
	CHECK(conv_lb_reports_from_pb(&ss, &r, &n) == 0 && n == 2);
	CHECK(r && r[0].lb_id == 3 && r[0].port == 443 && !r[0].healthy && r[0].connections == 10);
	CHECK(r && r[1].addr.s_addr == inet_addr("10.1.0.5") && r[1].healthy &&
	      r[1].connections == 13);
	free(r);
}

int main(void)
{
	test_good();
	test_bad();
	test_reports();
	return check_result();
}
