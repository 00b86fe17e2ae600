// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the flow counters the agent endpoint keeps, in process over
 * nng's inproc transport with a store in a temp dir: two enrolled agents
 * report their flow section's counters in sealed syncs; what each last
 * reported is handed out by node (ordered by node, then as reported) or for
 * one node, with when it arrived; an id no filter can have is dropped, a
 * flood is cut at FLOW_MAX_FILTERS + 1, and a sync without flow counters
 * replaces the node's with none.
 */
#include "controller/agentsrv.h"
#include "controller/agentsrv_test_util.h"
#include "controller/store/store_test_util.h"
#include "proto/rpc.h"
#include "tests/check.h"

#include <stdlib.h>
#include <string.h>

#define URL "inproc://agentsrv_flow_test"

static struct ctl ctl;
static struct agentsrv *srv;
static int64_t net_id;

/*
 * One sync reporting vpn revision 0 (so it is answered at once) and, when
 * n is not (size_t)-1, a flow section with those counters.
 */
static void sync_report(struct test_agent *a, Netfn__FlowCounter **flows, size_t n)
{
	Netfn__SyncRequest req = NETFN__SYNC_REQUEST__INIT;
	Netfn__SectionStatus vpn = NETFN__SECTION_STATUS__INIT, flow = NETFN__SECTION_STATUS__INIT;
	Netfn__SectionStatus *secs[2] = {&vpn, &flow};
	Netfn__SyncReply *reply;

	vpn.function = "vpn";
	flow.function = "flow";
	flow.flows = flows;
	flow.n_flows = n == (size_t)-1 ? 0 : n;
	req.sections = secs;
	req.n_sections = n == (size_t)-1 ? 1 : 2;
	reply = test_agent_sync(a, &req, 5000);
	CHECK(a->ret == 0);
	CHECK(a->st.code == NETFN__STATUS__OK && reply);
	test_agent_done(reply);
}

static Netfn__FlowCounter counter(uint64_t id, uint64_t packets)
{
	Netfn__FlowCounter c = NETFN__FLOW_COUNTER__INIT;

	c.id = id;
	c.packets = packets;
	c.bytes = packets * 100;
	c.packets_per_s = packets / 10;
	c.bits_per_s = packets * 80;
	/* Both the controller's to fill: whatever the agent says is ignored. */
	c.node = "spoofed";
	c.at = 12345;
	return c;
}

static size_t counters(int64_t node_id, struct agentsrv_flow_counter **out)
{
	size_t n = 99;

	pthread_mutex_lock(&ctl.lock);
	CHECK(agentsrv_flow_counters(srv, node_id, out, &n) == 0);
	pthread_mutex_unlock(&ctl.lock);
	CHECK((n == 0) == (*out == NULL));
	return n;
}

static void test_counters(struct test_agent *a, struct test_agent *b)
{
	Netfn__FlowCounter ra[4] = {counter(0, 1000), counter(9, 30), counter(3, 70),
	                            counter(FLOW_ID_MAX + 1, 5)};
	Netfn__FlowCounter rb[2] = {counter(0, 400), counter(5, 11)};
	Netfn__FlowCounter *pa[4] = {&ra[0], &ra[1], &ra[2], &ra[3]}, *pb[2] = {&rb[0], &rb[1]};
	struct agentsrv_flow_counter *out = NULL;
	int64_t t0 = ctl_now(), t1;
	size_t n;

	/* Nothing reported yet; no server at all is nothing too. */
	CHECK(counters(0, &out) == 0);
	n = 7;
	CHECK(agentsrv_flow_counters(NULL, 0, &out, &n) == 0 && n == 0 && !out);

	/* b reports first: the order is still by node. */
	sync_report(b, pb, 2);
	sync_report(a, pa, 4);
	t1 = ctl_now();
	n = counters(0, &out);
	CHECK(n == 5 && out);
	if (n == 5 && out) {
		CHECK(out[0].node_id == a->node_id && out[1].node_id == a->node_id &&
		      out[2].node_id == a->node_id && out[3].node_id == b->node_id &&
		      out[4].node_id == b->node_id);
		/* As reported, the id past FLOW_ID_MAX left out. */
		CHECK(out[0].c.id == 0 && out[1].c.id == 9 && out[2].c.id == 3 &&
		      out[3].c.id == 0 && out[4].c.id == 5);
		CHECK(out[1].c.packets == 30 && out[1].c.bytes == 3000 && out[1].c.pps == 3 &&
		      out[1].c.bps == 2400);
		CHECK(out[3].c.packets == 400 && out[4].c.bytes == 1100);
		for (size_t i = 0; i < n; i++)
			CHECK(out[i].at >= t0 && out[i].at <= t1);
	}
	free(out);
	n = counters(b->node_id, &out);
	CHECK(n == 2 && out && out[0].node_id == b->node_id && out[1].c.id == 5);
	free(out);
	CHECK(counters(424242, &out) == 0);

	/* A newer sync without flow counters replaces a's with none. */
	sync_report(a, NULL, (size_t)-1);
	CHECK(counters(a->node_id, &out) == 0);
	n = counters(0, &out);
	CHECK(n == 2 && out && out[0].node_id == b->node_id);
	free(out);
}

/* More counters than a node can have: cut at FLOW_MAX_FILTERS + 1. */
static void test_flood(struct test_agent *a)
{
	size_t many = FLOW_MAX_FILTERS + 10, n;
	Netfn__FlowCounter *v = calloc(many, sizeof(*v));
	Netfn__FlowCounter **p = calloc(many, sizeof(*p));
	struct agentsrv_flow_counter *out = NULL;

	CHECK(v && p);
	if (!v || !p)
		goto cleanup;
	for (size_t i = 0; i < many; i++) {
		v[i] = counter(i, i);
		p[i] = &v[i];
	}
	sync_report(a, p, many);
	n = counters(a->node_id, &out);
	CHECK(n == FLOW_MAX_FILTERS + 1 && out && out[n - 1].c.id == FLOW_MAX_FILTERS);
	free(out);
cleanup:
	free(v);
	free(p);
}

int main(void)
{
	char dir[] = "/tmp/netfn-agentsrv-flow-XXXXXX";
	struct st_network n = {.port = 51820, .mtu = 1420, .created = 1};
	struct test_agent a, b;

	CHECK(nf_crypto_init() == 0);
	CHECK(mkdtemp(dir) != NULL);
	pthread_mutex_init(&ctl.lock, NULL);
	ctl.heartbeat_ms = 1000;
	CHECK(nf_identity_generate(&ctl.id) == 0);
	CHECK(store_open(dir, &ctl.store) == 0);
	if (!ctl.store)
		return check_result();
	CHECK(agentsrv_start(&ctl, (const char *const[]){URL}, 1, &srv) == 0);
	strcpy(n.name, "blue");
	strcpy(n.cidr, "10.5.0.0/24");
	strcpy(n.topology, "mesh");
	CHECK(ctl.store->ops->network_insert(ctl.store, &n) == 0);
	net_id = n.id;

	test_agent_enroll(&a, &ctl, URL, net_id, "a");
	test_agent_enroll(&b, &ctl, URL, net_id, "b");
	CHECK(a.node_id && b.node_id && a.node_id < b.node_id);
	test_counters(&a, &b);
	test_flood(&a);

	test_agent_close(&a);
	test_agent_close(&b);
	agentsrv_stop(srv);
	store_close(ctl.store);
	CHECK(store_test_dir_remove(dir) == 0);
	return check_result();
}
