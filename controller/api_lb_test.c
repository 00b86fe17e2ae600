// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the load balancer API, through the real dispatcher over
 * nng's inproc transport with a store in a temp dir: every refusal of a
 * create names its field and stores nothing (no load balancer, no audit
 * entry); create fills in the defaults; a vip of "auto" gets the lowest
 * address no node and no other vip holds; frontends may not clash; show
 * renders placements (and empty slots); list by network; explicit backends
 * added and removed; the resolved backends with no host report yet; delete,
 * and names resolved without a network only when unique.
 */
#include "controller/api_test_util.h"
#include "netfns/lb/lb.h"
#include "proto/rpc.h"
#include "tests/check.h"

#include <string.h>

static struct api_test api;

static int count_lb(void *ctx, const struct st_lb *lb)
{
	(void)lb;
	(*(int *)ctx)++;
	return 0;
}

static int lbs(void)
{
	int n = 0;

	CHECK(api.ctl.store->ops->lb_list(api.ctl.store, 0, count_lb, &n) == 0);
	return n;
}

/* A create request with everything a valid one needs; tests spoil one field. */
struct lb_buf {
	Netfn__LoadBalancer pb;
	Netfn__Label sel, place;
	Netfn__Label *selp, *placep;
	Netfn__LbBackendSpec be[3];
	Netfn__LbBackendSpec *bep[3];
	Netfn__LbHealthCheck hc;
};

static Netfn__LoadBalancer *lb_req(struct lb_buf *b, const char *name, const char *network,
                                   const char *vip, uint32_t port)
{
	memset(b, 0, sizeof(*b));
	netfn__load_balancer__init(&b->pb);
	netfn__label__init(&b->sel);
	b->sel.key = "role";
	b->sel.value = "web";
	b->selp = &b->sel;
	b->pb.name = (char *)name;
	b->pb.network = (char *)network;
	b->pb.vip = (char *)vip;
	b->pb.port = port;
	b->pb.backend_selector = &b->selp;
	b->pb.n_backend_selector = 1;
	b->pb.backend_port = 8080;
	return &b->pb;
}

/* Adds an explicit backend to the request. */
static void lb_backend(struct lb_buf *b, const char *addr, uint32_t port, uint32_t weight)
{
	size_t i = b->pb.n_backends++;

	netfn__lb_backend_spec__init(&b->be[i]);
	b->be[i].address = (char *)addr;
	b->be[i].port = port;
	b->be[i].weight = weight;
	b->bep[i] = &b->be[i];
	b->pb.backends = b->bep;
}

static Netfn__LoadBalancer *create(const char *token, Netfn__LoadBalancer *req)
{
	return (Netfn__LoadBalancer *)api_test_call(&api, token, "lb.create", &req->base,
	                                            &netfn__load_balancer__descriptor);
}

static Netfn__LoadBalancer *show(const char *name, const char *network)
{
	return (Netfn__LoadBalancer *)api_test_call_ref(&api, api.reader, "lb.show", name, network,
	                                                &netfn__load_balancer__descriptor);
}

static Netfn__LoadBalancer *backend_change(const char *method, const char *name, const char *addr,
                                           uint32_t port, uint32_t weight)
{
	Netfn__LbBackendChange ch = NETFN__LB_BACKEND_CHANGE__INIT;
	Netfn__LbBackendSpec be = NETFN__LB_BACKEND_SPEC__INIT;

	be.address = (char *)addr;
	be.port = port;
	be.weight = weight;
	ch.name = (char *)name;
	ch.backend = &be;
	return (Netfn__LoadBalancer *)api_test_call(&api, api.admin, method, &ch.base,
	                                            &netfn__load_balancer__descriptor);
}

/* Each spoiled create: refused on its field, nothing stored. */
static void test_refusals(void)
{
	struct lb_buf b;
	Netfn__LoadBalancer *r;
	int a0 = api_test_audits(&api), l0 = lbs();
	struct {
		const char *field;
		int code;
	} want;

#define REFUSE(code_, field_)                                                                      \
	do {                                                                                       \
		want.code = (code_);                                                               \
		want.field = (field_);                                                             \
		CHECK(!create(api.admin, r));                                                      \
		CHECK(api_test_failed(&api, want.code, want.field));                               \
	} while (0)

	static const char *const names[] = {"a\"b", "a;b", "", "A", "-a", "a b"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		r = lb_req(&b, names[i], "prod", "", 80);
		REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "name");
	}
	r = lb_req(&b, "x", "nosuch", "", 80);
	REFUSE(NETFN__STATUS__NOT_FOUND, "network");
	r = lb_req(&b, "x", "", "", 80); /* two networks: which one? */
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "network");
	r = lb_req(&b, "x", "prod", "", 80);
	r->protocol = "sctp";
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "protocol");
	r = lb_req(&b, "x", "prod", "", 0);
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "port");
	r = lb_req(&b, "x", "prod", "", 65536);
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "port");

	static const char *const vips[] = {"10.9.0.300", "10.9.0.0/24", "fd00::1", "auto2",
	                                   "10.9.0.04",  " 10.9.0.9",   "10.8.0.9"};
	for (size_t i = 0; i < sizeof(vips) / sizeof(vips[0]); i++) {
		r = lb_req(&b, "x", "prod", vips[i], 80);
		REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "vip");
	}
	r = lb_req(&b, "x", "prod", "10.9.0.0", 80); /* the network address */
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "vip");
	r = lb_req(&b, "x", "prod", "10.9.0.255", 80); /* broadcast */
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "vip");
	r = lb_req(&b, "x", "prod", "10.9.0.2", 80); /* web2's address */
	REFUSE(NETFN__STATUS__ALREADY_EXISTS, "vip");
	CHECK(strstr(api.st.message, "web2") != NULL);
	r = lb_req(&b, "x", "prod", "10.9.0.50", 80);
	r->replicas = 2;
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "replicas");
	r = lb_req(&b, "x", "prod", "auto", 80);
	r->replicas = 3;
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "replicas");
	r = lb_req(&b, "x", "prod", "", 80);
	r->replicas = 17;
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "replicas");

	r = lb_req(&b, "x", "prod", "", 80);
	r->backend_port = 70000;
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "backend_port");
	r = lb_req(&b, "x", "prod", "", 80);
	r->backend_port = 0; /* a selector with no port to send to */
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "backend_selector");
	r = lb_req(&b, "x", "prod", "", 80);
	b.sel.value = "a;b";
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "backend_selector");
	r = lb_req(&b, "x", "prod", "", 80);
	r->backend_weight = 101;
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "backend_weight");
	r = lb_req(&b, "x", "prod", "", 80);
	r->backend_port = 0;
	r->n_backend_selector = 0;
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "backends");

	/* Explicit backends: the one at fault is named by its index. */
	r = lb_req(&b, "x", "prod", "", 80);
	lb_backend(&b, "10.9.0.20", 80, 1);
	lb_backend(&b, "10.9.0.21", 80, 1);
	lb_backend(&b, "10.9.0.22", 0, 1);
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "backends[2].port");
	b.be[2].port = 80;
	b.be[1].address = "10.9.0.21:80";
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "backends[1].address");
	b.be[1].address = "127.0.0.1";
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "backends[1].address");
	b.be[1].address = "224.0.0.5";
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "backends[1].address");
	b.be[1].address = "10.9.0.21";
	b.be[0].weight = 101;
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "backends[0].weight");
	b.be[0].weight = 0;
	b.be[2].address = "10.9.0.20";
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "backends[2]");

	r = lb_req(&b, "x", "prod", "", 80);
	r->algorithm = "least-conn";
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "algorithm");

	/* Health checks. */
	static const struct {
		uint32_t interval, timeout, rise, fall, port;
		const char *field;
	} hc[] = {
	    {50, 10, 2, 3, 0, "health.interval_ms"},
	    {3600001, 10, 2, 3, 0, "health.interval_ms"},
	    {1000, 1000, 2, 3, 0, "health.timeout_ms"},
	    {1000, 0, 2, 3, 0, "health.timeout_ms"},
	    {1000, 500, 0, 3, 0, "health.rise"},
	    {1000, 500, 2, 101, 0, "health.fall"},
	    {1000, 500, 2, 3, 65536, "health.port"},
	};
	for (size_t i = 0; i < sizeof(hc) / sizeof(hc[0]); i++) {
		r = lb_req(&b, "x", "prod", "", 80);
		netfn__lb_health_check__init(&b.hc);
		b.hc.interval_ms = hc[i].interval;
		b.hc.timeout_ms = hc[i].timeout;
		b.hc.rise = hc[i].rise;
		b.hc.fall = hc[i].fall;
		b.hc.port = hc[i].port;
		r->health = &b.hc;
		REFUSE(NETFN__STATUS__INVALID_ARGUMENT, hc[i].field);
	}
	/* A udp service is checked with TCP connects: on which port? */
	r = lb_req(&b, "x", "prod", "", 53);
	r->protocol = "udp";
	netfn__lb_health_check__init(&b.hc);
	b.hc.interval_ms = 1000;
	b.hc.timeout_ms = 500;
	b.hc.rise = b.hc.fall = 1;
	r->health = &b.hc;
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "health.port");

	r = lb_req(&b, "x", "prod", "", 80);
	netfn__label__init(&b.place);
	b.place.key = "zone;";
	b.place.value = "a";
	b.placep = &b.place;
	r->placement = &b.placep;
	r->n_placement = 1;
	REFUSE(NETFN__STATUS__INVALID_ARGUMENT, "placement");

	/* A reader may look but not change. */
	r = lb_req(&b, "x", "prod", "", 80);
	CHECK(!create(api.reader, r));
	CHECK(api_test_failed(&api, NETFN__STATUS__PERMISSION_DENIED, "token"));
#undef REFUSE

	CHECK(api_test_audits(&api) == a0 && lbs() == l0);
}

static bool is_addr(const char *s, const char *want)
{
	if (s && !strcmp(s, want))
		return true;
	fprintf(stderr, "address '%s', expected '%s'\n", s ? s : "(null)", want);
	return false;
}

int main(void)
{
	struct lb_buf b;
	Netfn__LoadBalancer *lb;
	int64_t web1;
	int a0, l0;

	if (api_test_start(&api, "lb"))
		return check_result();

	api_test_network_create(&api, "prod", "10.9.0.0/24");
	api_test_network_create(&api, "dev", "10.10.0.0/24");
	web1 = api_test_node_add(&api, "prod", "web1", "10.9.0.1", "web");
	api_test_node_add(&api, "prod", "web2", "10.9.0.2", "web");
	api_test_node_add(&api, "prod", "edge1", "10.9.0.3", "lb");
	api_test_node_add(&api, "prod", "edge2", "10.9.0.5", "lb");
	api_test_node_add(&api, "dev", "dev1", "10.10.0.1", "web");

	test_refusals();

	/* The defaults: tcp, round-robin, tcp checks, one replica on the host's own address. */
	a0 = api_test_audits(&api);
	lb = create(api.admin, lb_req(&b, "web", "prod", "", 80));
	CHECK(lb != NULL);
	if (lb) {
		CHECK(!strcmp(lb->network, "prod") && !strcmp(lb->protocol, "tcp"));
		CHECK(!strcmp(lb->algorithm, "round-robin") && !strcmp(lb->vip, ""));
		CHECK(lb->replicas == 1 && lb->backend_port == 8080 && lb->backend_weight == 1);
		CHECK(lb->health && lb->health->interval_ms == LB_HC_INTERVAL_DEF_MS &&
		      lb->health->timeout_ms == LB_HC_TIMEOUT_DEF_MS &&
		      lb->health->rise == LB_HC_RISE_DEF && lb->health->fall == LB_HC_FALL_DEF);
		CHECK(lb->n_placements == 1 && lb->placements[0]->slot == 0);
		CHECK(lb->created > 0);
	}
	api_test_done(lb);
	CHECK(api_test_audits(&api) >= a0 + 1 && lbs() == 1);

	/* The same name again; the same frontend as another on host addresses. */
	CHECK(!create(api.admin, lb_req(&b, "web", "prod", "", 81)));
	CHECK(api_test_failed(&api, NETFN__STATUS__ALREADY_EXISTS, "name"));
	CHECK(!create(api.admin, lb_req(&b, "web-b", "prod", "", 80)));
	CHECK(api_test_failed(&api, NETFN__STATUS__ALREADY_EXISTS, "port"));
	/* udp on that port is another frontend. */
	lb = lb_req(&b, "dns", "prod", "", 80);
	lb->protocol = "udp";
	lb = create(api.admin, lb);
	CHECK(lb && !strcmp(lb->protocol, "udp") && lb->health && lb->health->interval_ms == 0);
	api_test_done(lb);

	/* vip auto: .4 is the first address neither a node nor a vip holds, then .6. */
	lb = lb_req(&b, "api", "prod", "auto", 80);
	lb_backend(&b, "192.0.2.10", 443, 5);
	lb->algorithm = "source-hash";
	lb = create(api.admin, lb);
	CHECK(lb && is_addr(lb->vip, "10.9.0.4"));
	if (lb) {
		CHECK(!strcmp(lb->algorithm, "source-hash"));
		CHECK(lb->n_backends == 1 && !strcmp(lb->backends[0]->address, "192.0.2.10") &&
		      lb->backends[0]->port == 443 && lb->backends[0]->weight == 5);
	}
	api_test_done(lb);
	lb = create(api.admin, lb_req(&b, "api2", "prod", "auto", 80));
	CHECK(lb && is_addr(lb->vip, "10.9.0.6"));
	api_test_done(lb);
	/* A vip taken by another load balancer, even on another port. */
	CHECK(!create(api.admin, lb_req(&b, "api3", "prod", "10.9.0.6", 90)));
	CHECK(api_test_failed(&api, NETFN__STATUS__ALREADY_EXISTS, "vip"));
	/* A given vip, udp with checks on a TCP port, placement labels. */
	lb = lb_req(&b, "syslog", "prod", "10.9.0.200", 514);
	lb->protocol = "udp";
	netfn__lb_health_check__init(&b.hc);
	b.hc.port = 22; /* only a port: the default checks on it */
	lb->health = &b.hc;
	netfn__label__init(&b.place);
	b.place.key = "role";
	b.place.value = "lb";
	b.placep = &b.place;
	lb->placement = &b.placep;
	lb->n_placement = 1;
	lb = create(api.admin, lb);
	CHECK(lb && is_addr(lb->vip, "10.9.0.200"));
	if (lb) {
		CHECK(lb->health->interval_ms == LB_HC_INTERVAL_DEF_MS && lb->health->port == 22);
		CHECK(lb->n_placement == 1 && !strcmp(lb->placement[0]->value, "lb"));
	}
	api_test_done(lb);
	/* Explicit checks, taken as given; interval 0 turns them off. */
	lb = lb_req(&b, "fast", "prod", "", 8443);
	netfn__lb_health_check__init(&b.hc);
	b.hc.interval_ms = 500;
	b.hc.timeout_ms = 200;
	b.hc.rise = 1;
	b.hc.fall = 100;
	lb->health = &b.hc;
	lb->replicas = 2;
	lb = create(api.admin, lb);
	CHECK(lb && lb->health->interval_ms == 500 && lb->health->timeout_ms == 200 &&
	      lb->health->rise == 1 && lb->health->fall == 100 && lb->replicas == 2);
	CHECK(lb && lb->n_placements == 2);
	api_test_done(lb);
	lb = lb_req(&b, "nocheck", "prod", "", 8444);
	netfn__lb_health_check__init(&b.hc);
	lb->health = &b.hc;
	lb = create(api.admin, lb);
	CHECK(lb && lb->health->interval_ms == 0 && lb->health->rise == 0);
	api_test_done(lb);

	/* Show renders what the scheduler recorded, and slots it could not fill. */
	struct st_network prod;
	struct st_lb rec;
	struct st_placement pl = {.kind = "lb", .slot = 0, .since = 1700000000};
	CHECK(api.ctl.store->ops->network_get(api.ctl.store, "prod", &prod) == 0);
	CHECK(api.ctl.store->ops->lb_get(api.ctl.store, prod.id, "api", &rec) == 0);
	pl.object_id = rec.id;
	pl.node_id = web1;
	strcpy(pl.reason, "placed: fewest replicas");
	CHECK(api.ctl.store->ops->begin(api.ctl.store) == 0 &&
	      api.ctl.store->ops->placement_put(api.ctl.store, &pl) == 0 &&
	      api.ctl.store->ops->commit(api.ctl.store) == 0);
	lb = show("api", "");
	CHECK(lb && lb->n_placements == 1);
	if (lb && lb->n_placements == 1) {
		CHECK(!strcmp(lb->placements[0]->node, "web1"));
		CHECK(is_addr(lb->placements[0]->address, "10.9.0.4")); /* the vip */
		CHECK(lb->placements[0]->since == 1700000000);
		CHECK(!strcmp(lb->placements[0]->reason, "placed: fewest replicas"));
	}
	api_test_done(lb);
	CHECK(api.ctl.store->ops->lb_get(api.ctl.store, prod.id, "fast", &rec) == 0);
	pl.object_id = rec.id;
	pl.slot = 1;
	CHECK(api.ctl.store->ops->begin(api.ctl.store) == 0 &&
	      api.ctl.store->ops->placement_delete(api.ctl.store, "lb", rec.id, 0) == 0 &&
	      api.ctl.store->ops->placement_put(api.ctl.store, &pl) == 0 &&
	      api.ctl.store->ops->commit(api.ctl.store) == 0);
	lb = show("fast", "prod");
	CHECK(lb && lb->n_placements == 2);
	if (lb && lb->n_placements == 2) {
		CHECK(lb->placements[0]->slot == 0 && !strcmp(lb->placements[0]->node, "") &&
		      !strcmp(lb->placements[0]->reason, "no eligible live node"));
		CHECK(lb->placements[1]->slot == 1 && !strcmp(lb->placements[1]->node, "web1"));
		CHECK(is_addr(lb->placements[1]->address, "10.9.0.1")); /* web1's own */
	}
	api_test_done(lb);
	CHECK(!show("nosuch", ""));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "name"));
	CHECK(!show("api", "nosuch"));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "network"));

	/* A name in two networks needs its network; the only network is the default. */
	Netfn__LoadBalancer *dev = lb_req(&b, "web", "dev", "", 80);
	lb = create(api.admin, dev);
	CHECK(lb && !strcmp(lb->network, "dev"));
	api_test_done(lb);
	CHECK(!show("web", ""));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "network"));
	lb = show("web", "dev");
	CHECK(lb && !strcmp(lb->network, "dev"));
	api_test_done(lb);

	/* List: one network, then all. */
	Netfn__NodeListRequest lreq = NETFN__NODE_LIST_REQUEST__INIT;
	Netfn__LoadBalancerList *list;
	lreq.network = "dev";
	list = (Netfn__LoadBalancerList *)api_test_call(&api, api.reader, "lb.list", &lreq.base,
	                                                &netfn__load_balancer_list__descriptor);
	CHECK(list && list->n_lbs == 1 && !strcmp(list->lbs[0]->name, "web"));
	api_test_done(list);
	lreq.network = "";
	list = (Netfn__LoadBalancerList *)api_test_call(&api, api.reader, "lb.list", &lreq.base,
	                                                &netfn__load_balancer_list__descriptor);
	CHECK(list && (int)list->n_lbs == lbs());
	if (list && list->n_lbs > 1)
		CHECK(!strcmp(list->lbs[0]->name, "web") && !strcmp(list->lbs[0]->network, "prod"));
	api_test_done(list);
	lreq.network = "nosuch";
	CHECK(!api_test_call(&api, api.reader, "lb.list", &lreq.base,
	                     &netfn__load_balancer_list__descriptor));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "network"));

	/* Backends: add, refuse a duplicate, remove, refuse the last of an lb without selector. */
	a0 = api_test_audits(&api);
	lb = backend_change("lb.backend_add", "api", "192.0.2.11", 443, 0);
	CHECK(lb && lb->n_backends == 2 && lb->backends[1]->weight == 1);
	api_test_done(lb);
	CHECK(api_test_audits(&api) >= a0 + 1); /* and the scheduler's, filling fast's empty slot */
	CHECK(!backend_change("lb.backend_add", "api", "192.0.2.11", 443, 7));
	CHECK(api_test_failed(&api, NETFN__STATUS__ALREADY_EXISTS, "backend"));
	CHECK(!backend_change("lb.backend_add", "api", "192.0.2.12", 0, 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "backend.port"));
	CHECK(!backend_change("lb.backend_add", "api", "nope", 80, 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "backend.address"));
	CHECK(!backend_change("lb.backend_add", "nosuch", "192.0.2.12", 80, 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "name"));
	CHECK(!backend_change("lb.backend_remove", "api", "192.0.2.99", 443, 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "backend"));
	lb = backend_change("lb.backend_remove", "api", "192.0.2.10", 443, 0);
	CHECK(lb && lb->n_backends == 1 && !strcmp(lb->backends[0]->address, "192.0.2.11"));
	api_test_done(lb);
	Netfn__LbBackendChange empty = NETFN__LB_BACKEND_CHANGE__INIT;
	empty.name = "api";
	CHECK(!api_test_call(&api, api.admin, "lb.backend_add", &empty.base,
	                     &netfn__load_balancer__descriptor));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "backend"));
	/* explicit-only: its last backend cannot go. */
	lb = lb_req(&b, "only", "prod", "", 9000);
	lb->backend_port = 0;
	lb->n_backend_selector = 0;
	lb_backend(&b, "192.0.2.30", 80, 1);
	lb = create(api.admin, lb);
	CHECK(lb != NULL);
	api_test_done(lb);
	l0 = lbs(), a0 = api_test_audits(&api);
	CHECK(!backend_change("lb.backend_remove", "only", "192.0.2.30", 80, 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__FAILED_PRECONDITION, "backend"));
	CHECK(lbs() == l0 && api_test_audits(&api) == a0);

	/* Resolved backends: the selector's nodes, then explicit ones; no report yet. */
	Netfn__NameRef ref = NETFN__NAME_REF__INIT;
	Netfn__LbBackendList *bl;
	lb = backend_change("lb.backend_add", "fast", "10.9.0.3", 9090, 4);
	CHECK(lb != NULL);
	api_test_done(lb);
	ref.name = "fast";
	bl = (Netfn__LbBackendList *)api_test_call(&api, api.reader, "lb.backends", &ref.base,
	                                           &netfn__lb_backend_list__descriptor);
	CHECK(bl && bl->n_backends == 3 && !strcmp(bl->name, "fast") &&
	      !strcmp(bl->network, "prod"));
	if (bl && bl->n_backends == 3) {
		CHECK(is_addr(bl->backends[0]->address, "10.9.0.1") &&
		      bl->backends[0]->port == 8080 && !strcmp(bl->backends[0]->node, "web1"));
		CHECK(is_addr(bl->backends[1]->address, "10.9.0.2") &&
		      !strcmp(bl->backends[1]->node, "web2"));
		CHECK(is_addr(bl->backends[2]->address, "10.9.0.3") &&
		      bl->backends[2]->port == 9090 && bl->backends[2]->weight == 4 &&
		      !strcmp(bl->backends[2]->node, "edge1"));
		for (size_t i = 0; i < bl->n_backends; i++)
			CHECK(!strcmp(bl->backends[i]->health, "unknown") &&
			      !strcmp(bl->backends[i]->host, "") &&
			      bl->backends[i]->connections == 0);
	}
	api_test_done(bl);

	/* Delete: by a reader refused; then gone, its placements with it. */
	ref.name = "api";
	ref.network = "";
	CHECK(!api_test_call(&api, api.reader, "lb.delete", &ref.base, &netfn__empty__descriptor));
	CHECK(api_test_failed(&api, NETFN__STATUS__PERMISSION_DENIED, "token"));
	l0 = lbs(), a0 = api_test_audits(&api);
	api_test_done(
	    api_test_call(&api, api.admin, "lb.delete", &ref.base, &netfn__empty__descriptor));
	CHECK(api.st.code == NETFN__STATUS__OK && lbs() == l0 - 1 &&
	      api_test_audits(&api) >= a0 + 1);
	CHECK(!api_test_call(&api, api.admin, "lb.delete", &ref.base, &netfn__empty__descriptor));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "name"));
	/* Its vip is free again. */
	lb = create(api.admin, lb_req(&b, "api4", "prod", "auto", 80));
	CHECK(lb && is_addr(lb->vip, "10.9.0.4"));
	api_test_done(lb);

	/* Deleting a network (its nodes first) deletes its load balancers. */
	l0 = lbs();
	ref.name = "dev1";
	ref.network = "dev";
	api_test_done(
	    api_test_call(&api, api.admin, "node.delete", &ref.base, &netfn__empty__descriptor));
	CHECK(api.st.code == NETFN__STATUS__OK);
	ref.name = "dev";
	ref.network = "";
	api_test_done(
	    api_test_call(&api, api.admin, "network.delete", &ref.base, &netfn__empty__descriptor));
	CHECK(api.st.code == NETFN__STATUS__OK && lbs() == l0 - 1);
	/* Now one network is left: create may leave it out. */
	lb = create(api.admin, lb_req(&b, "solo", "", "", 7000));
	CHECK(lb && !strcmp(lb->network, "prod"));
	api_test_done(lb);

	api_test_stop(&api);
	return check_result();
}
