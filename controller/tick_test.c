// SPDX-License-Identifier: Apache-2.0
/*
 * Unit test of the scheduler tick with a real store in a temp dir and a fake
 * liveness: a frontend whose node dies moves on the next ticks with no
 * request to trigger it, and the new host's lb section gets a new revision;
 * quiet ticks write nothing; an external client whose key expires loses
 * its gateway and leaves the gateway's peers; and tick_stop is prompt even
 * in the middle of a long wait.
 */
#include "controller/tick.h"
#include "controller/compile.h"
#include "controller/sched.h"
#include "controller/store/store_test_util.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct ctl ctl;
static bool dead[16]; /* by node id; read by the tick under ctl.lock */

static bool fake_alive(void *ctx, int64_t node_id)
{
	(void)ctx;
	return node_id < 0 || node_id >= 16 || !dead[node_id];
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t add_node(int64_t net, const char *name, int host)
{
	struct st_node n = {.network_id = net, .created = 1};

	snprintf(n.name, sizeof(n.name), "%s", name);
	memset(n.id_pk, host, sizeof(n.id_pk));
	memset(n.wg_pk, host + 100, sizeof(n.wg_pk));
	n.overlay_addr = htonl(0x0a070000 | (uint32_t)host);
	CHECK(ctl.store->ops->node_insert(ctl.store, &n) == 0);
	return n.id;
}

static int first_node(void *ctx, const struct st_placement *p)
{
	*(int64_t *)ctx = p->node_id;
	return 0;
}

static int count(void *ctx, const struct st_audit *a)
{
	(void)a;
	(*(int *)ctx)++;
	return 0;
}

/* Host of lb, lb revision of node and audit count, read under the lock. */
static void look(int64_t lb, int64_t node, int64_t *host, uint64_t *rev, int *audits)
{
	struct store *s = ctl.store;
	struct st_section sec;

	*host = 0;
	*audits = 0;
	pthread_mutex_lock(&ctl.lock);
	CHECK(s->ops->placement_list(s, "lb", lb, first_node, host) == 0);
	*rev = s->ops->section_get(s, node, "lb", &sec) == 0 ? sec.desired_rev : 0;
	CHECK(s->ops->audit_list(s, 1000, count, audits) == 0);
	pthread_mutex_unlock(&ctl.lock);
}

static int has_peer(const struct store *s, int64_t node, const char *peer, uint64_t *rev)
{
	struct vpn_config cfg;
	struct st_node n;
	int found = 0;

	*rev = 0;
	if (s->ops->node_get_id((struct store *)s, node, &n) ||
	    compile_node_vpn((struct store *)s, &n, &cfg))
		return -1;
	for (size_t i = 0; i < cfg.n_peers; i++)
		found |= strcmp(cfg.peers[i].name, peer) == 0;
	*rev = cfg.revision;
	vpn_config_free(&cfg);
	return found;
}

/* Gateway of client, whether node peers with it and node's vpn revision, under the lock. */
static void look_client(int64_t client, int64_t node, int64_t *gw, int *peer, uint64_t *rev)
{
	struct store *s = ctl.store;

	*gw = 0;
	pthread_mutex_lock(&ctl.lock);
	CHECK(s->ops->placement_list(s, "gateway", client, first_node, gw) == 0);
	*peer = has_peer(s, node, "laptop", rev);
	pthread_mutex_unlock(&ctl.lock);
}

int main(void)
{
	char dir[] = "/tmp/netfn-tick-XXXXXX";
	struct st_network n = {.port = 51820, .mtu = 1420, .created = 1};
	struct st_lb lb = {.port = 80, .replicas = 1, .created = 1};
	struct store *s;
	struct tick *t = NULL;
	int64_t a, b, host, start;
	uint64_t rb, rb2;
	int audits, audits2;

	CHECK(mkdtemp(dir) != NULL);
	pthread_mutex_init(&ctl.lock, NULL);
	ctl.heartbeat_ms = 200; /* a tick every 50 ms */
	CHECK(store_open(dir, &ctl.store) == 0);
	if (!ctl.store)
		return check_result();
	s = ctl.store;
	sched_set_liveness(fake_alive, NULL);

	strcpy(n.name, "blue");
	strcpy(n.cidr, "10.7.0.0/24");
	strcpy(n.topology, "mesh");
	CHECK(s->ops->begin(s) == 0 && s->ops->network_insert(s, &n) == 0);
	a = add_node(n.id, "a", 1);
	b = add_node(n.id, "b", 2);
	lb.network_id = n.id;
	strcpy(lb.name, "web");
	strcpy(lb.protocol, "tcp");
	strcpy(lb.algorithm, "round-robin");
	CHECK(s->ops->lb_insert(s, &lb) == 0);
	CHECK(compile_network(s, n.id, NULL) == 0 && s->ops->commit(s) == 0);
	look(lb.id, b, &host, &rb, &audits);
	CHECK(host == a && rb > 0);

	CHECK(tick_start(&ctl, &t) == 0);
	/* Quiet ticks write nothing. */
	usleep(300 * 1000);
	look(lb.id, b, &host, &rb2, &audits2);
	CHECK(host == a && rb2 == rb && audits2 == audits);

	/* a dies: the tick moves web to b and compiles b's section. */
	pthread_mutex_lock(&ctl.lock);
	dead[a] = true;
	pthread_mutex_unlock(&ctl.lock);
	start = now_ms();
	do {
		usleep(20 * 1000);
		look(lb.id, b, &host, &rb2, &audits2);
	} while (host != b && now_ms() - start < 3000);
	CHECK(host == b && rb2 > rb && audits2 == audits + 1);

	/* a comes back; nothing moves, nothing is written. */
	pthread_mutex_lock(&ctl.lock);
	dead[a] = false;
	pthread_mutex_unlock(&ctl.lock);
	usleep(200 * 1000);
	look(lb.id, b, &host, &rb, &audits);
	CHECK(host == b && rb == rb2 && audits == audits2);

	/* A client key expires: a later tick releases its gateway and drops it
	 * from the gateway's peers, with no request to trigger it. */
	struct st_client cl = {.network_id = n.id, .created = 1};
	struct st_node gn;
	int64_t g, gw;
	int peer;
	uint64_t rg, rg2;
	pthread_mutex_lock(&ctl.lock);
	CHECK(s->ops->begin(s) == 0);
	g = add_node(n.id, "g", 3);
	CHECK(s->ops->node_get_id(s, g, &gn) == 0);
	strcpy(gn.endpoints[0], "192.0.2.3:51820");
	gn.n_endpoints = 1;
	CHECK(s->ops->node_update(s, &gn) == 0);
	strcpy(cl.name, "laptop");
	memset(cl.wg_pk, 0x77, sizeof(cl.wg_pk));
	cl.overlay_addr = htonl(0x0a070064);
	cl.expires = ctl_now() + 2;
	CHECK(s->ops->client_insert(s, &cl) == 0);
	CHECK(compile_network(s, n.id, NULL) == 0 && s->ops->commit(s) == 0);
	/* Created after the tick's last look: the API tells it, as here. */
	tick_expiry_hint(cl.expires);
	pthread_mutex_unlock(&ctl.lock);
	look_client(cl.id, g, &gw, &peer, &rg);
	CHECK(gw == g && peer == 1);
	start = now_ms();
	do {
		usleep(50 * 1000);
		look_client(cl.id, g, &gw, &peer, &rg2);
	} while ((gw || peer) && now_ms() - start < 6000);
	CHECK(gw == 0 && peer == 0 && rg2 > rg);
	CHECK(now_ms() - start >= 500); /* not before it expired */
	/* Placed, then released: an audit entry each. */
	look(lb.id, b, &host, &rb, &audits2);
	CHECK(audits2 >= audits + 2);

	/* Stopping in the middle of a long wait is prompt. */
	pthread_mutex_lock(&ctl.lock);
	ctl.heartbeat_ms = 600000;
	pthread_mutex_unlock(&ctl.lock);
	usleep(150 * 1000); /* the tick is now in a 150 s wait */
	start = now_ms();
	tick_stop(t);
	CHECK(now_ms() - start < 1000);
	tick_stop(NULL);

	store_close(ctl.store);
	CHECK(store_test_dir_remove(dir) == 0);
	return check_result();
}
