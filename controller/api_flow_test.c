// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the flow filters API, through the real dispatcher over
 * nng's inproc transport with a store in a temp dir, and the real agent
 * endpoint beside it for what nodes report: every refusal names its field
 * and stores nothing (no filter, no audit entry); add, list, show and delete
 * round trip by id and by name, ids are never reused; each change moves the
 * node's flow section; what an agent reports in its syncs shows as the
 * filters' counters (with rates), the nodes' bridge totals and the status
 * (pending, active, failed: why); a reader may only read.
 */
#include "controller/agentsrv.h"
#include "controller/agentsrv_test_util.h"
#include "controller/api_test_util.h"
#include "proto/rpc.h"
#include "tests/check.h"

#include <string.h>

#define AGENTS_URL "inproc://api_flow_test_agents"

static struct api_test api;

/* One node's agent, as far as syncing goes: its node inserted as a join leaves it. */
static void agent_add(struct test_agent *a, const char *network, const char *name, const char *addr)
{
	struct st_node n;

	test_agent_open(a, &api.ctl, AGENTS_URL);
	api_test_node_init(&n, name, addr, NULL);
	memcpy(n.id_pk, a->id.pk, sizeof(n.id_pk));
	a->node_id = api_test_node_insert(&api, network, &n);
}

/*
 * One sync: vpn at revision 0 (so it is answered at once) and the flow
 * section at applied with error, and these counters.
 */
static void agent_report(struct test_agent *a, uint64_t applied, const char *error,
                         Netfn__FlowCounter **flows, size_t n_flows)
{
	Netfn__SyncRequest req = NETFN__SYNC_REQUEST__INIT;
	Netfn__SectionStatus vpn = NETFN__SECTION_STATUS__INIT, flow = NETFN__SECTION_STATUS__INIT;
	Netfn__SectionStatus *secs[2] = {&vpn, &flow};
	Netfn__SyncReply *reply;

	vpn.function = "vpn";
	flow.function = "flow";
	flow.applied_revision = applied;
	flow.error = (char *)error;
	flow.failed_revision = error[0] ? api_test_rev(&api, a->node_id, "flow") : 0;
	flow.flows = flows;
	flow.n_flows = n_flows;
	req.sections = secs;
	req.n_sections = 2;
	reply = test_agent_sync(a, &req, 5000);
	CHECK(a->ret == 0);
	CHECK(a->st.code == NETFN__STATUS__OK && reply);
	test_agent_done(reply);
}

static Netfn__FlowCounter counter(uint64_t id, uint64_t packets, uint64_t bytes, uint64_t pps,
                                  uint64_t bps)
{
	Netfn__FlowCounter k = NETFN__FLOW_COUNTER__INIT;

	k.id = id;
	k.packets = packets;
	k.bytes = bytes;
	k.packets_per_s = pps;
	k.bits_per_s = bps;
	return k;
}

/* A filter with the fields the tests vary; the rest any. */
struct spec {
	const char *network, *node, *name, *protocol, *src, *dst, *action;
	uint32_t port, priority;
};

static Netfn__FlowFilter *add(const char *token, const struct spec *s)
{
	Netfn__FlowFilter f = NETFN__FLOW_FILTER__INIT;

	f.network = (char *)(s->network ? s->network : "");
	f.node = (char *)(s->node ? s->node : "");
	f.name = (char *)(s->name ? s->name : "");
	f.protocol = (char *)(s->protocol ? s->protocol : "");
	f.src = (char *)(s->src ? s->src : "");
	f.dst = (char *)(s->dst ? s->dst : "");
	f.action = (char *)(s->action ? s->action : "");
	f.dst_port = s->port;
	f.priority = s->priority;
	return (Netfn__FlowFilter *)api_test_call(&api, token, "flow.add", &f.base,
	                                          &netfn__flow_filter__descriptor);
}

/* Adds s as admin and returns the new filter's id (0 when refused). */
static uint64_t add_ok(const struct spec *s)
{
	Netfn__FlowFilter *f = add(api.admin, s);
	uint64_t id = f ? f->id : 0;

	CHECK(f && id && !strcmp(f->status, "pending") && !f->counter);
	api_test_done(f);
	return id;
}

static Netfn__FlowFilterList *list(const char *network, const char *node)
{
	Netfn__FlowListRequest r = NETFN__FLOW_LIST_REQUEST__INIT;

	r.network = (char *)network;
	r.node = (char *)node;
	return (Netfn__FlowFilterList *)api_test_call(&api, api.reader, "flow.list", &r.base,
	                                              &netfn__flow_filter_list__descriptor);
}

/* How many filters network has (-1 when the listing failed). */
static int count(const char *network)
{
	Netfn__FlowFilterList *l = list(network, "");
	int n = l ? (int)l->n_filters : -1;

	api_test_done(l);
	return n;
}

static ProtobufCMessage *ref_call(const char *token, const char *method, const char *ref,
                                  const char *network, const ProtobufCMessageDescriptor *desc)
{
	Netfn__FlowRef r = NETFN__FLOW_REF__INIT;

	r.ref = (char *)ref;
	r.network = (char *)network;
	return api_test_call(&api, token, method, &r.base, desc);
}

static Netfn__FlowFilter *show(const char *ref)
{
	return (Netfn__FlowFilter *)ref_call(api.reader, "flow.show", ref, "",
	                                     &netfn__flow_filter__descriptor);
}

/* A refused add stores nothing: no filter, no audit entry, no section moved. */
static void refused(const struct spec *s, int code, const char *field, int64_t node)
{
	int audits = api_test_audits(&api), filters = count("prod");
	uint64_t rev = api_test_rev(&api, node, "flow");

	api_test_done(add(api.admin, s));
	CHECK(api_test_failed(&api, code, field));
	CHECK(api_test_audits(&api) == audits);
	CHECK(count("prod") == filters);
	CHECK(api_test_rev(&api, node, "flow") == rev);
}

static const Netfn__FlowFilter *by_id(const Netfn__FlowFilterList *l, uint64_t id)
{
	for (size_t i = 0; l && i < l->n_filters; i++)
		if (l->filters[i]->id == id)
			return l->filters[i];
	return NULL;
}

static void refusals(int64_t n1)
{
	const int inv = NETFN__STATUS__INVALID_ARGUMENT;
	const char *t = "tcp";

	refused(&(struct spec){.node = "n1", .action = "drop", .src = "10.1.2.3/24"}, inv, "src",
	        n1);
	refused(&(struct spec){.node = "n1", .action = "drop", .dst = "10.0.0.300/24"}, inv, "dst",
	        n1);
	refused(&(struct spec){.node = "n1", .action = "drop", .dst = "fd00::/64"}, inv, "dst", n1);
	refused(&(struct spec){.node = "n1", .action = "drop", .src = "web"}, inv, "src", n1);
	refused(&(struct spec){.node = "n1", .action = "drop", .protocol = t, .port = 70000}, inv,
	        "dst_port", n1);
	refused(&(struct spec){.node = "n1", .action = "drop", .protocol = "icmp", .port = 80}, inv,
	        "dst_port", n1);
	refused(&(struct spec){.node = "n1", .action = "drop", .port = 80}, inv, "dst_port", n1);
	refused(&(struct spec){.node = "n1", .action = "drop", .protocol = "sctp"}, inv, "protocol",
	        n1);
	refused(&(struct spec){.node = "n1", .action = "drop", .priority = 65001}, inv, "priority",
	        n1);
	refused(&(struct spec){.node = "n1", .action = "drop", .priority = 70000}, inv, "priority",
	        n1);
	refused(&(struct spec){.node = "n1", .action = "reject"}, inv, "action", n1);
	refused(&(struct spec){.node = "n1"}, inv, "action", n1);
	refused(&(struct spec){.node = "n1", .action = "drop", .name = "Bad!"}, inv, "name", n1);
	refused(&(struct spec){.node = "n1", .action = "drop", .name = "42"}, inv, "name", n1);
	refused(&(struct spec){.node = "nobody", .action = "drop"}, NETFN__STATUS__NOT_FOUND,
	        "node", n1);
	refused(&(struct spec){.action = "drop"}, inv, "node", n1);
	refused(&(struct spec){.network = "nope", .node = "n1", .action = "drop"},
	        NETFN__STATUS__NOT_FOUND, "network", n1);
	/* A reader may not add. */
	api_test_done(add(api.reader, &(struct spec){.node = "n1", .action = "drop"}));
	CHECK(api_test_failed(&api, NETFN__STATUS__PERMISSION_DENIED, "token"));
}

int main(void)
{
	Netfn__FlowCounter k0 = counter(0, 1234, 5600000, 10, 80000), kweb, kother;
	Netfn__FlowCounter *ks[3];
	struct agentsrv *srv = NULL;
	struct test_agent a1, a2;
	Netfn__FlowFilterList *l;
	Netfn__FlowFilter *f;
	uint64_t web, any, lo, hi, udp, rev1, rev2, dev_f;
	int audits;

	if (api_test_start(&api, "flow"))
		return 1;
	CHECK(nf_identity_generate(&api.ctl.id) == 0);
	CHECK(agentsrv_start(&api.ctl, (const char *const[]){AGENTS_URL}, 1, &srv) == 0);
	api_test_network_create(&api, "prod", "10.9.0.0/16");
	agent_add(&a1, "prod", "n1", "10.9.0.1");
	agent_add(&a2, "prod", "n2", "10.9.0.2");

	refusals(a1.node_id);
	CHECK(count("prod") == 0);

	/* Add: the only network is the default; the node's section moves, the other's does not. */
	rev1 = api_test_rev(&api, a1.node_id, "flow");
	rev2 = api_test_rev(&api, a2.node_id, "flow");
	audits = api_test_audits(&api);
	f = add(api.admin, &(struct spec){.node = "n1",
	                                  .name = "web",
	                                  .protocol = "tcp",
	                                  .port = 8080,
	                                  .dst = "10.9.0.5",
	                                  .action = "drop"});
	CHECK(f && f->id && !strcmp(f->name, "web") && !strcmp(f->network, "prod") &&
	      !strcmp(f->node, "n1") && !strcmp(f->protocol, "tcp") && f->dst_port == 8080 &&
	      !strcmp(f->src, "") && !strcmp(f->dst, "10.9.0.5/32") && !strcmp(f->action, "drop") &&
	      f->priority == 100 && f->created > 0 && !strcmp(f->status, "pending") && !f->counter);
	web = f ? f->id : 0;
	api_test_done(f);
	CHECK(api_test_audits(&api) == audits + 1);
	CHECK(api_test_rev(&api, a1.node_id, "flow") > rev1);
	CHECK(api_test_rev(&api, a2.node_id, "flow") == rev2);
	refused(&(struct spec){.node = "n2", .action = "allow", .name = "web"},
	        NETFN__STATUS__ALREADY_EXISTS, "name", a2.node_id);

	/* Port 0 with tcp is any port; the priority range's ends; unnamed filters do not collide.
	 */
	any = add_ok(&(struct spec){.node = "n1", .protocol = "tcp", .action = "allow"});
	lo = add_ok(&(struct spec){.node = "n1", .action = "allow", .priority = 1});
	hi = add_ok(&(struct spec){.node = "n1",
	                           .protocol = "any",
	                           .src = "192.168.0.0/16",
	                           .action = "drop",
	                           .priority = 65000});
	rev2 = api_test_rev(&api, a2.node_id, "flow");
	udp = add_ok(&(struct spec){.network = "prod",
	                            .node = "n2",
	                            .name = "dns",
	                            .protocol = "udp",
	                            .port = 53,
	                            .action = "drop"});
	CHECK(api_test_rev(&api, a2.node_id, "flow") > rev2);
	CHECK(web < any && any < lo && lo < hi && hi < udp);

	/* List: every node's, by id, nothing reported yet. */
	l = list("", "");
	CHECK(l && l->n_filters == 5 && l->n_nodes == 0);
	for (size_t i = 0; l && i < l->n_filters; i++)
		CHECK(!strcmp(l->filters[i]->status, "pending") && !l->filters[i]->counter &&
		      (i == 0 || l->filters[i - 1]->id < l->filters[i]->id));
	CHECK(by_id(l, any) && by_id(l, any)->dst_port == 0 &&
	      !strcmp(by_id(l, any)->protocol, "tcp"));
	CHECK(by_id(l, lo) && by_id(l, lo)->priority == 1 &&
	      !strcmp(by_id(l, lo)->protocol, "any"));
	CHECK(by_id(l, hi) && by_id(l, hi)->priority == 65000 &&
	      !strcmp(by_id(l, hi)->src, "192.168.0.0/16") && !strcmp(by_id(l, hi)->dst, ""));
	api_test_done(l);
	l = list("prod", "n2");
	CHECK(l && l->n_filters == 1 && l->filters[0]->id == udp &&
	      !strcmp(l->filters[0]->node, "n2"));
	api_test_done(l);
	api_test_done(list("prod", "nobody"));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "node"));
	api_test_done(list("nope", ""));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "network"));

	/* Show by id and by name. */
	f = show("dns");
	CHECK(f && f->id == udp && f->dst_port == 53 && !strcmp(f->status, "pending"));
	api_test_done(f);
	{
		char ref[32];

		snprintf(ref, sizeof(ref), "%llu", (unsigned long long)web);
		f = show(ref);
		CHECK(f && f->id == web && !strcmp(f->name, "web"));
		api_test_done(f);
	}
	api_test_done(show("999"));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "ref"));
	api_test_done(show("nothing"));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "ref"));
	api_test_done(show(""));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "ref"));

	/* n1 applies its section and reports its bridge and the web filter: active, with rates. */
	kweb = counter(web, 50, 1400, 5, 560);
	kother = counter(12345, 7, 700, 0, 0); /* an id no filter has: ignored */
	ks[0] = &k0;
	ks[1] = &kweb;
	ks[2] = &kother;
	agent_report(&a1, api_test_rev(&api, a1.node_id, "flow"), "", ks, 3);
	l = list("", "");
	CHECK(l && l->n_filters == 5 && l->n_nodes == 1);
	if (l && l->n_nodes == 1)
		CHECK(l->nodes[0]->id == 0 && !strcmp(l->nodes[0]->node, "n1") &&
		      l->nodes[0]->packets == 1234 && l->nodes[0]->bytes == 5600000 &&
		      l->nodes[0]->packets_per_s == 10 && l->nodes[0]->bits_per_s == 80000 &&
		      l->nodes[0]->at > 0);
	CHECK(by_id(l, web) && !strcmp(by_id(l, web)->status, "active") && by_id(l, web)->counter &&
	      by_id(l, web)->counter->packets == 50);
	CHECK(by_id(l, any) && !strcmp(by_id(l, any)->status, "pending") &&
	      !by_id(l, any)->counter);
	CHECK(by_id(l, udp) && !strcmp(by_id(l, udp)->status, "pending"));
	api_test_done(l);
	f = show("web");
	CHECK(f && f->counter && f->counter->id == web && !strcmp(f->counter->node, "n1") &&
	      f->counter->packets == 50 && f->counter->bytes == 1400 &&
	      f->counter->packets_per_s == 5 && f->counter->bits_per_s == 560 &&
	      f->counter->at > 0);
	api_test_done(f);
	/* n2's listing has none of n1's totals. */
	l = list("", "n2");
	CHECK(l && l->n_filters == 1 && l->n_nodes == 0);
	api_test_done(l);

	/* n2 cannot apply its section: its filters fail with the node's reason. */
	agent_report(&a2, 0, "Open vSwitch is not available", NULL, 0);
	f = show("dns");
	CHECK(f && !strcmp(f->status, "failed: Open vSwitch is not available") && !f->counter);
	api_test_done(f);
	f = show("web");
	CHECK(f && !strcmp(f->status, "active"));
	api_test_done(f);
	/* Once it applies the desired revision, no longer failed. */
	agent_report(&a2, api_test_rev(&api, a2.node_id, "flow"), "", NULL, 0);
	f = show("dns");
	CHECK(f && !strcmp(f->status, "pending"));
	api_test_done(f);

	/* A second network: it must be named now, and its refs do not reach prod's filters. */
	api_test_network_create(&api, "dev", "10.10.0.0/16");
	api_test_node_add(&api, "dev", "d1", "10.10.0.1", NULL);
	refused(&(struct spec){.node = "n1", .action = "drop"}, NETFN__STATUS__INVALID_ARGUMENT,
	        "network", a1.node_id);
	dev_f =
	    add_ok(&(struct spec){.network = "dev", .node = "d1", .name = "web", .action = "drop"});
	CHECK(dev_f > udp);
	{
		char ref[32];

		snprintf(ref, sizeof(ref), "%llu", (unsigned long long)web);
		api_test_done(
		    ref_call(api.reader, "flow.show", ref, "dev", &netfn__flow_filter__descriptor));
		CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "ref"));
		/* Delete by id: the node's section moves, one audit entry. */
		rev1 = api_test_rev(&api, a1.node_id, "flow");
		audits = api_test_audits(&api);
		api_test_done(
		    ref_call(api.reader, "flow.delete", ref, "prod", &netfn__empty__descriptor));
		CHECK(api_test_failed(&api, NETFN__STATUS__PERMISSION_DENIED, "token"));
		api_test_done(
		    ref_call(api.admin, "flow.delete", ref, "prod", &netfn__empty__descriptor));
		CHECK(api.st.code == NETFN__STATUS__OK);
		CHECK(api_test_audits(&api) == audits + 1);
		CHECK(api_test_rev(&api, a1.node_id, "flow") > rev1);
		api_test_done(
		    ref_call(api.admin, "flow.delete", ref, "prod", &netfn__empty__descriptor));
		CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "ref"));
	}
	/* Delete by name: dev's "web" stays. */
	api_test_done(ref_call(api.admin, "flow.delete", "dns", "prod", &netfn__empty__descriptor));
	CHECK(api.st.code == NETFN__STATUS__OK);
	CHECK(count("prod") == 3 && count("dev") == 1);
	f = (Netfn__FlowFilter *)ref_call(api.reader, "flow.show", "web", "dev",
	                                  &netfn__flow_filter__descriptor);
	CHECK(f && f->id == dev_f && !strcmp(f->network, "dev") && !strcmp(f->node, "d1"));
	api_test_done(f);

	/* Ids are never reused, and a name is free again once its filter is gone. */
	CHECK(add_ok(&(struct spec){
	          .network = "prod", .node = "n2", .name = "dns", .action = "allow"}) > dev_f);

	test_agent_close(&a1);
	test_agent_close(&a2);
	agentsrv_stop(srv);
	api.ctl.agents = NULL;
	CHECK(api_test_stop(&api) == 0);
	return check_result();
}
