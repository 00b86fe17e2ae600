// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the agent endpoint with more than one network function, in
 * process over nng's inproc transport with a store in a temp dir: a sync is
 * answered at once when any function's section is newer than what the agent
 * applied of it, parked when none is, when the newer one is the revision
 * that just failed, or when the agent does not report that function at all;
 * a firewall change wakes a parked sync; and the per-rule counters agents
 * report are summed over the nodes.
 */
#include "controller/agentsrv.h"
#include "controller/agentsrv_test_util.h"
#include "controller/compile.h"
#include "controller/store/store_test_util.h"
#include "proto/rpc.h"
#include "tests/check.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define URL "inproc://agentsrv_fw_test"

static struct ctl ctl;
static struct agentsrv *srv;
static int64_t net_id;

/* What one sync reports: per function applied and failed, and the firewall counters. */
struct report {
	uint64_t vpn, fw, fw_failed;
	bool no_fw; /* an agent that does not know the firewall */
	size_t n_counters;
	Netfn__RuleCounter *counters[2];
};

static Netfn__SyncReply *sync_call(struct test_agent *a, const struct report *r, int *ms)
{
	Netfn__SyncRequest req = NETFN__SYNC_REQUEST__INIT;
	Netfn__SectionStatus vpn = NETFN__SECTION_STATUS__INIT, fw = NETFN__SECTION_STATUS__INIT;
	Netfn__SectionStatus *secs[2] = {&vpn, &fw};
	Netfn__SyncReply *reply;
	struct timespec t0, t1;

	vpn.function = "vpn";
	vpn.applied_revision = r->vpn;
	fw.function = "firewall";
	fw.applied_revision = r->fw;
	fw.failed_revision = r->fw_failed;
	fw.counters = (Netfn__RuleCounter **)r->counters;
	fw.n_counters = r->n_counters;
	req.sections = secs;
	req.n_sections = r->no_fw ? 1 : 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	reply = test_agent_sync(a, &req, 5000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*ms = (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	CHECK(a->st.code == NETFN__STATUS__OK && reply);
	return reply;
}

static uint64_t rev(int64_t node, const char *function)
{
	struct st_section sec;
	uint64_t v;

	pthread_mutex_lock(&ctl.lock);
	v = ctl.store->ops->section_get(ctl.store, node, function, &sec) == 0 ? sec.desired_rev : 0;
	pthread_mutex_unlock(&ctl.lock);
	return v;
}

/* Adds a rule (tcp dst_port port, accept) to policy, recompiles and wakes, as the API does. */
static int64_t add_rule(int64_t policy_id, const char *port)
{
	struct store *s = ctl.store;
	struct st_fw_rule r = {.policy_id = policy_id};
	struct idvec changed = {0};

	strcpy(r.direction, "in");
	strcpy(r.protocol, "tcp");
	snprintf(r.dst_port, sizeof(r.dst_port), "%s", port);
	strcpy(r.action, "accept");
	pthread_mutex_lock(&ctl.lock);
	CHECK(s->ops->begin(s) == 0 && s->ops->fw_rule_insert(s, &r) == 0);
	CHECK(compile_network(s, net_id, &changed) == 0 && s->ops->commit(s) == 0);
	agentsrv_wake(srv, changed.v, changed.n);
	pthread_mutex_unlock(&ctl.lock);
	idvec_free(&changed);
	return r.id;
}

static int64_t policy_id;

static void *later_rule(void *arg)
{
	(void)arg;
	usleep(200 * 1000);
	add_rule(policy_id, "443");
	return NULL;
}

int main(void)
{
	char dir[] = "/tmp/netfn-agentsrv-fw-XXXXXX";
	struct store *s;
	struct st_network n = {0};
	struct st_fw_policy pol = {.created = 1};
	struct test_agent a, b;
	struct report rep = {0};
	Netfn__SyncReply *r;
	pthread_t th;
	int ms;

	CHECK(nf_crypto_init() == 0);
	CHECK(mkdtemp(dir) != NULL);
	pthread_mutex_init(&ctl.lock, NULL);
	ctl.heartbeat_ms = 400;
	CHECK(nf_identity_generate(&ctl.id) == 0);
	CHECK(store_open(dir, &ctl.store) == 0);
	if (!ctl.store)
		return check_result();
	s = ctl.store;
	CHECK(agentsrv_start(&ctl, (const char *const[]){URL}, 1, &srv) == 0);
	strcpy(n.name, "blue");
	strcpy(n.cidr, "10.6.0.0/24");
	n.port = 51820;
	n.mtu = 1420;
	strcpy(n.topology, "mesh");
	pthread_mutex_lock(&ctl.lock);
	CHECK(s->ops->begin(s) == 0 && s->ops->network_insert(s, &n) == 0);
	net_id = n.id;
	pol.network_id = n.id;
	strcpy(pol.name, "all");
	CHECK(s->ops->fw_policy_insert(s, &pol) == 0 && s->ops->commit(s) == 0);
	pthread_mutex_unlock(&ctl.lock);
	policy_id = pol.id;
	test_agent_enroll(&a, &ctl, URL, net_id, "web1");
	test_agent_enroll(&b, &ctl, URL, net_id, "web2");
	int64_t rule1 = add_rule(policy_id, "80");

	/* First sync: both sections, at their revisions. */
	r = sync_call(&a, &rep, &ms);
	CHECK(r && r->config && r->config->vpn && r->config->firewall);
	if (r && r->config && r->config->vpn && r->config->firewall) {
		rep.vpn = r->config->vpn->revision;
		rep.fw = r->config->firewall->revision;
		CHECK(rep.vpn == rev(a.node_id, "vpn") && rep.fw == rev(a.node_id, "firewall"));
		CHECK(r->config->firewall->n_rules == 1 && r->config->firewall->wg_port == 51820);
	}
	test_agent_done(r);

	/* vpn applied, firewall not yet: answered at once. */
	struct report half = rep;
	half.fw = 0;
	r = sync_call(&a, &half, &ms);
	CHECK(r && r->config && ms < 300);
	test_agent_done(r);

	/* Everything applied: parked until the heartbeat, then empty. */
	r = sync_call(&a, &rep, &ms);
	CHECK(r && !r->config && ms >= 300);
	test_agent_done(r);

	/* The newer firewall revision is the one that failed: parked too. */
	struct report fail = rep;
	fail.fw = 1;
	fail.fw_failed = rep.fw;
	r = sync_call(&a, &fail, &ms);
	CHECK(r && !r->config && ms >= 300);
	test_agent_done(r);

	/* An agent that does not know the firewall is not answered for it forever. */
	struct report old = rep;
	old.no_fw = true;
	r = sync_call(&a, &old, &ms);
	CHECK(r && !r->config && ms >= 300);
	test_agent_done(r);

	/* A firewall change wakes a parked sync long before the heartbeat. */
	ctl.heartbeat_ms = 5000;
	CHECK(pthread_create(&th, NULL, later_rule, NULL) == 0);
	r = sync_call(&a, &rep, &ms);
	pthread_join(th, NULL);
	CHECK(r && r->config && r->config->firewall && ms < 3000);
	if (r && r->config && r->config->firewall) {
		CHECK(r->config->firewall->n_rules == 2);
		CHECK(r->config->firewall->revision > rep.fw);
		CHECK(r->config->vpn && r->config->vpn->revision == rep.vpn);
		rep.fw = r->config->firewall->revision;
	}
	test_agent_done(r);
	ctl.heartbeat_ms = 400;

	/* Counters: each node's latest report, summed per rule over the nodes. */
	Netfn__RuleCounter c1 = NETFN__RULE_COUNTER__INIT, c2 = NETFN__RULE_COUNTER__INIT;
	c1.rule_id = (uint64_t)rule1;
	c1.packets = 5;
	c1.bytes = 300;
	c2.rule_id = 999999;
	c2.packets = 1;
	rep.counters[0] = &c2;
	rep.counters[1] = &c1;
	rep.n_counters = 2;
	test_agent_done(sync_call(&a, &rep, &ms));
	struct report brep = {.vpn = rev(b.node_id, "vpn"), .fw = rev(b.node_id, "firewall")};
	Netfn__RuleCounter c3 = NETFN__RULE_COUNTER__INIT;
	c3.rule_id = (uint64_t)rule1;
	c3.packets = 2;
	c3.bytes = 100;
	brep.counters[0] = &c3;
	brep.n_counters = 1;
	test_agent_done(sync_call(&b, &brep, &ms));
	uint64_t ids[2] = {(uint64_t)rule1, 12345};
	struct fw_counter sum[2];
	pthread_mutex_lock(&ctl.lock);
	agentsrv_fw_counters(srv, ids, 2, sum);
	pthread_mutex_unlock(&ctl.lock);
	CHECK(sum[0].rule_id == ids[0] && sum[0].packets == 7 && sum[0].bytes == 400);
	CHECK(sum[1].rule_id == 12345 && sum[1].packets == 0 && sum[1].bytes == 0);
	/* A newer report replaces the node's counters; none at all clears them. */
	c1.packets = 6;
	test_agent_done(sync_call(&a, &rep, &ms));
	brep.n_counters = 0;
	test_agent_done(sync_call(&b, &brep, &ms));
	pthread_mutex_lock(&ctl.lock);
	agentsrv_fw_counters(srv, ids, 1, sum);
	pthread_mutex_unlock(&ctl.lock);
	CHECK(sum[0].packets == 6);
	agentsrv_fw_counters(NULL, ids, 1, sum);
	CHECK(sum[0].packets == 0);

	test_agent_close(&a);
	test_agent_close(&b);
	agentsrv_stop(srv);
	store_close(ctl.store);
	store_test_dir_remove(dir);
	return check_result();
}
