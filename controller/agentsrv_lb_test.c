// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of what the agent endpoint does for load balancers and the
 * scheduler, in process over nng's inproc transport with a store in a temp
 * dir: enrolment never hands out an address that is a load balancer's vip;
 * a node counts as live while its enrolls and syncs keep arriving (and every
 * node does just after start), and the scheduler, fed that liveness, moves a
 * frontend off a node that went quiet; and the per-backend lb reports agents
 * send are kept per node and handed out per load balancer.
 */
#include "controller/agentsrv.h"
#include "controller/agentsrv_test_util.h"
#include "controller/compile.h"
#include "controller/sched.h"
#include "controller/store/store_test_util.h"
#include "proto/rpc.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define URL          "inproc://agentsrv_lb_test"
#define HEARTBEAT_MS 300 /* dead after CTL_DEAD_BEATS of them: 600 ms */

static struct ctl ctl;
static struct agentsrv *srv;
static int64_t net_id;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_until(int64_t t)
{
	int64_t now = now_ms();

	if (t > now)
		usleep((useconds_t)(t - now) * 1000);
}

/*
 * One sync reporting vpn revision 0 (so it is answered at once) and, when
 * n_lb is not (size_t)-1, an lb section with those backend reports.
 */
static void sync_report(struct test_agent *a, Netfn__LbBackendHealth **lb, size_t n_lb)
{
	Netfn__SyncRequest req = NETFN__SYNC_REQUEST__INIT;
	Netfn__SectionStatus vpn = NETFN__SECTION_STATUS__INIT, lbs = NETFN__SECTION_STATUS__INIT;
	Netfn__SectionStatus *secs[2] = {&vpn, &lbs};
	Netfn__SyncReply *reply;

	vpn.function = "vpn";
	lbs.function = "lb";
	lbs.backends = lb;
	lbs.n_backends = n_lb == (size_t)-1 ? 0 : n_lb;
	req.sections = secs;
	req.n_sections = n_lb == (size_t)-1 ? 1 : 2;
	reply = test_agent_sync(a, &req, 5000);
	CHECK(a->ret == 0);
	CHECK(a->st.code == NETFN__STATUS__OK && reply);
	test_agent_done(reply);
}

static bool alive(int64_t node_id)
{
	bool v;

	pthread_mutex_lock(&ctl.lock);
	v = agentsrv_alive(srv, node_id);
	pthread_mutex_unlock(&ctl.lock);
	return v;
}

static int64_t add_lb(const char *name, const char *vip)
{
	struct store *s = ctl.store;
	struct st_lb lb = {.network_id = net_id, .port = 80, .replicas = 1, .created = 1};
	struct in_addr a;

	snprintf(lb.name, sizeof(lb.name), "%s", name);
	strcpy(lb.protocol, "tcp");
	strcpy(lb.algorithm, "round-robin");
	inet_pton(AF_INET, vip, &a);
	lb.vip = a.s_addr;
	pthread_mutex_lock(&ctl.lock);
	CHECK(s->ops->begin(s) == 0 && s->ops->lb_insert(s, &lb) == 0);
	CHECK(compile_network(s, net_id, NULL) == 0 && s->ops->commit(s) == 0);
	pthread_mutex_unlock(&ctl.lock);
	return lb.id;
}

static int first_node(void *ctx, const struct st_placement *p)
{
	*(int64_t *)ctx = p->node_id;
	return 0;
}

static int64_t host_of(int64_t lb)
{
	int64_t node = 0;

	pthread_mutex_lock(&ctl.lock);
	CHECK(ctl.store->ops->placement_list(ctl.store, "lb", lb, first_node, &node) == 0);
	pthread_mutex_unlock(&ctl.lock);
	return node;
}

static Netfn__LbBackendHealth report(uint64_t lb, const char *addr, uint32_t port, bool up,
                                     uint64_t conns)
{
	Netfn__LbBackendHealth h = NETFN__LB_BACKEND_HEALTH__INIT;

	h.lb_id = lb;
	h.address = (char *)addr;
	h.port = port;
	h.healthy = up;
	h.connections = conns;
	return h;
}

int main(void)
{
	char dir[] = "/tmp/netfn-agentsrv-lb-XXXXXX";
	struct st_network n = {.port = 51820, .mtu = 1420, .created = 1};
	struct agentsrv_lb_report *out = NULL;
	struct test_agent a, b;
	int64_t t0, web, dns;
	size_t cnt = 0;
	bool changed = false;

	CHECK(nf_crypto_init() == 0);
	CHECK(mkdtemp(dir) != NULL);
	pthread_mutex_init(&ctl.lock, NULL);
	ctl.heartbeat_ms = HEARTBEAT_MS;
	CHECK(nf_identity_generate(&ctl.id) == 0);
	CHECK(store_open(dir, &ctl.store) == 0);
	if (!ctl.store)
		return check_result();
	t0 = now_ms();
	CHECK(agentsrv_start(&ctl, (const char *const[]){URL}, 1, &srv) == 0);
	sched_set_liveness(agentsrv_alive, srv);
	strcpy(n.name, "blue");
	strcpy(n.cidr, "10.5.0.0/29");
	strcpy(n.topology, "mesh");
	CHECK(ctl.store->ops->network_insert(ctl.store, &n) == 0);
	net_id = n.id;

	/* Just started: every node counts as live, even one never heard from. */
	CHECK(alive(12345));
	CHECK(agentsrv_alive(NULL, 12345));

	/* Vips .1 and .3 are taken: the nodes get .2 and .4. */
	web = add_lb("web", "10.5.0.1");
	dns = add_lb("dns", "10.5.0.3");
	CHECK(host_of(web) == 0); /* no node yet */
	test_agent_enroll(&a, &ctl, URL, net_id, "a");
	test_agent_enroll(&b, &ctl, URL, net_id, "b");
	CHECK(strcmp(a.addr, "10.5.0.2") == 0 && strcmp(b.addr, "10.5.0.4") == 0);
	/* a was the only node when it enrolled: both frontends went there. */
	CHECK(host_of(web) == a.node_id && host_of(dns) == a.node_id);

	/* Past the start: a node is live while its requests arrive. */
	sleep_until(t0 + 2 * HEARTBEAT_MS + 100);
	sync_report(&a, NULL, (size_t)-1);
	sync_report(&b, NULL, (size_t)-1);
	CHECK(!alive(12345));
	CHECK(alive(a.node_id) && alive(b.node_id));
	/* b keeps calling, a goes quiet for more than two heartbeats. */
	usleep(400 * 1000);
	sync_report(&b, NULL, (size_t)-1);
	usleep(400 * 1000);
	CHECK(alive(b.node_id) && !alive(a.node_id));

	/* The scheduler sees it: a's frontends move to b, with the reason. */
	pthread_mutex_lock(&ctl.lock);
	CHECK(ctl.store->ops->begin(ctl.store) == 0);
	CHECK(sched_network(ctl.store, net_id, &changed) == 0 && changed);
	CHECK(ctl.store->ops->commit(ctl.store) == 0);
	pthread_mutex_unlock(&ctl.lock);
	CHECK(host_of(web) == b.node_id && host_of(dns) == b.node_id);
	/* a calls again: live again, and nothing moves back. */
	sync_report(&a, NULL, (size_t)-1);
	CHECK(alive(a.node_id));
	pthread_mutex_lock(&ctl.lock);
	CHECK(ctl.store->ops->begin(ctl.store) == 0);
	CHECK(sched_network(ctl.store, net_id, &changed) == 0 && !changed);
	CHECK(ctl.store->ops->commit(ctl.store) == 0);
	pthread_mutex_unlock(&ctl.lock);

	/* lb reports: kept per node, handed out per load balancer, by host. */
	Netfn__LbBackendHealth ra[3] = {report((uint64_t)web, "10.5.0.4", 80, true, 7),
	                                report((uint64_t)dns, "10.5.0.2", 53, false, 0),
	                                report((uint64_t)web, "not-an-address", 80, true, 1)};
	Netfn__LbBackendHealth rb[1] = {report((uint64_t)web, "10.5.0.2", 8080, false, 3)};
	Netfn__LbBackendHealth *pa[3] = {&ra[0], &ra[1], &ra[2]}, *pb[1] = {&rb[0]};
	sync_report(&b, pb, 1);
	sync_report(&a, pa, 3);
	pthread_mutex_lock(&ctl.lock);
	CHECK(agentsrv_lb_reports(srv, (uint64_t)web, &out, &cnt) == 0 && cnt == 2 && out);
	if (cnt == 2 && out) {
		CHECK(out[0].host_node_id == a.node_id && out[1].host_node_id == b.node_id);
		CHECK(out[0].r.port == 80 && out[0].r.healthy && out[0].r.connections == 7);
		CHECK(out[1].r.port == 8080 && !out[1].r.healthy && out[1].r.connections == 3);
		CHECK(out[0].r.lb_id == (uint64_t)web && ntohl(out[0].r.addr.s_addr) == 0x0a050004);
	}
	free(out);
	CHECK(agentsrv_lb_reports(srv, (uint64_t)dns, &out, &cnt) == 0 && cnt == 1);
	free(out);
	CHECK(agentsrv_lb_reports(srv, 999, &out, &cnt) == 0 && cnt == 0 && !out);
	CHECK(agentsrv_lb_reports(NULL, (uint64_t)web, &out, &cnt) == 0 && cnt == 0 && !out);
	pthread_mutex_unlock(&ctl.lock);
	/* A newer sync without lb reports replaces a's with none. */
	sync_report(&a, NULL, (size_t)-1);
	pthread_mutex_lock(&ctl.lock);
	CHECK(agentsrv_lb_reports(srv, (uint64_t)web, &out, &cnt) == 0 && cnt == 1);
	CHECK(out && out[0].host_node_id == b.node_id);
	free(out);
	pthread_mutex_unlock(&ctl.lock);

	test_agent_close(&a);
	test_agent_close(&b);
	agentsrv_stop(srv);
	store_close(ctl.store);
	store_test_dir_remove(dir);
	return check_result();
}
