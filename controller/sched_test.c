// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the scheduler against a real SQLite store in a temp dir, with
 * a fake liveness function: load balancers spread over the nodes (fewest
 * replicas first, ties to the lowest id, never two replicas of one object on
 * one node); a replica moves when its node dies, is deleted or loses the
 * placement labels, and stays where it went when the dead node comes back;
 * more replicas than eligible nodes leave slots empty; fewer replicas
 * release slots; and every change, and only a change, is an audit entry.
 */
#include "controller/sched.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct store *s;
static int64_t net;
static bool dead[64]; /* by node id */

static bool fake_alive(void *ctx, int64_t node_id)
{
	CHECK(ctx == &dead);
	return node_id < 0 || node_id >= 64 || !dead[node_id];
}

static int64_t add_node(const char *name, int host, const char *key, const char *value)
{
	struct st_node n = {.network_id = net, .created = 1};

	snprintf(n.name, sizeof(n.name), "%s", name);
	memset(n.id_pk, host, sizeof(n.id_pk));
	memset(n.wg_pk, host + 100, sizeof(n.wg_pk));
	n.overlay_addr = htonl(0x0a070000 | (uint32_t)host);
	if (key) {
		snprintf(n.labels[0].key, ST_NAME_MAX, "%s", key);
		snprintf(n.labels[0].value, ST_NAME_MAX, "%s", value);
		n.n_labels = 1;
	}
	CHECK(s->ops->node_insert(s, &n) == 0);
	return n.id;
}

static void relabel(int64_t id, const char *key, const char *value)
{
	struct st_node n;

	CHECK(s->ops->node_get_id(s, id, &n) == 0);
	n.n_labels = 0;
	if (key) {
		snprintf(n.labels[0].key, ST_NAME_MAX, "%s", key);
		snprintf(n.labels[0].value, ST_NAME_MAX, "%s", value);
		n.n_labels = 1;
	}
	CHECK(s->ops->node_update(s, &n) == 0);
}

static int64_t add_lb(const char *name, uint32_t replicas, const char *key, const char *value)
{
	struct st_lb lb = {.network_id = net, .port = 80, .replicas = replicas, .created = 1};

	snprintf(lb.name, sizeof(lb.name), "%s", name);
	strcpy(lb.protocol, "tcp");
	strcpy(lb.algorithm, "round-robin");
	if (key) {
		snprintf(lb.placement[0].key, ST_NAME_MAX, "%s", key);
		snprintf(lb.placement[0].value, ST_NAME_MAX, "%s", value);
		lb.n_placement = 1;
	}
	CHECK(s->ops->lb_insert(s, &lb) == 0);
	return lb.id;
}

static void set_replicas(int64_t id, uint32_t replicas)
{
	struct st_lb lb;

	CHECK(s->ops->lb_get_id(s, id, &lb) == 0);
	lb.replicas = replicas;
	CHECK(s->ops->lb_update(s, &lb) == 0);
}

/* One scheduling pass in its own transaction; whether anything changed. */
static bool run(void)
{
	bool changed = true;

	CHECK(s->ops->begin(s) == 0);
	CHECK(sched_network(s, net, &changed) == 0);
	CHECK(s->ops->commit(s) == 0);
	return changed;
}

struct where {
	int n;
	int64_t node[8]; /* by slot; 0 when the slot is empty */
	char reason[8][128];
};

static int collect(void *ctx, const struct st_placement *p)
{
	struct where *w = ctx;

	CHECK(strcmp(p->kind, "lb") == 0 && p->since > 0);
	if (p->slot < 8) {
		w->node[p->slot] = p->node_id;
		snprintf(w->reason[p->slot], sizeof(w->reason[0]), "%s", p->reason);
	}
	w->n++;
	return 0;
}

static struct where placed(int64_t lb)
{
	struct where w = {0};

	CHECK(s->ops->placement_list(s, "lb", lb, collect, &w) == 0);
	return w;
}

/* The audit entries, newest first. */
struct audits {
	int n;
	struct st_audit v[16];
};

static int collect_audit(void *ctx, const struct st_audit *a)
{
	struct audits *au = ctx;

	if (au->n < 16)
		au->v[au->n++] = *a;
	return 0;
}

static int audit_count(void)
{
	struct audits au = {0};

	CHECK(s->ops->audit_list(s, 1000, collect_audit, &au) == 0);
	return au.n;
}

static struct audits audits(void)
{
	struct audits au = {0};

	CHECK(s->ops->audit_list(s, 16, collect_audit, &au) == 0);
	return au;
}

/* True when one of the newest n audit entries is about object and has detail. */
static bool audited(int n, const char *object, const char *detail)
{
	struct audits au = audits();

	for (int i = 0; i < n && i < au.n; i++) {
		CHECK(strcmp(au.v[i].actor, "scheduler") == 0);
		CHECK(strcmp(au.v[i].method, "sched.place") == 0);
		if (strcmp(au.v[i].object, object) == 0 && strstr(au.v[i].detail, detail))
			return true;
	}
	return false;
}

int main(void)
{
	char dir[] = "/tmp/netfn-sched-XXXXXX";
	struct st_network n = {.port = 51820, .mtu = 1420, .created = 1};
	int64_t a, b, c, d, web, api, big, edge;
	struct where w;
	int na;

	CHECK(mkdtemp(dir) != NULL);
	CHECK(store_open(dir, &s) == 0);
	if (!s)
		return check_result();
	strcpy(n.name, "blue");
	strcpy(n.cidr, "10.7.0.0/24");
	strcpy(n.topology, "mesh");
	CHECK(s->ops->network_insert(s, &n) == 0);
	net = n.id;

	/* No liveness registered: every node counts as live. */
	a = add_node("a", 1, NULL, NULL);
	web = add_lb("web", 1, NULL, NULL);
	CHECK(run() && placed(web).node[0] == a);
	CHECK(audited(1, "lb web", "slot 0: node a (was unplaced)"));
	CHECK(strstr(placed(web).reason[0], "1 eligible") != NULL);
	sched_set_liveness(fake_alive, &dead);

	/* Spread: fewest replicas first, ties to the lowest id. */
	b = add_node("b", 2, NULL, NULL);
	c = add_node("c", 3, NULL, NULL);
	api = add_lb("api", 1, NULL, NULL);
	big = add_lb("big", 2, NULL, NULL);
	CHECK(run());
	CHECK(placed(web).node[0] == a && placed(api).node[0] == b);
	w = placed(big);
	CHECK(w.n == 2 && w.node[0] == c && w.node[1] == a);

	/* Nothing changed: nothing written, no audit entry. */
	na = audit_count();
	CHECK(!run() && audit_count() == na);

	/* a dies: its replicas move to the live nodes hosting fewest, never
	 * two slots of big on one node. */
	dead[a] = true;
	CHECK(run());
	CHECK(placed(web).node[0] == b); /* b and c host one each: b, the lowest id */
	w = placed(big);
	CHECK(w.node[0] == c && w.node[1] == b);
	CHECK(strcmp(w.reason[1], "moved: node a missed 2 heartbeats") == 0);
	CHECK(audit_count() == na + 2);
	CHECK(audited(2, "lb web", "slot 0: node b (was node a: node a missed 2 heartbeats)"));
	CHECK(audited(2, "lb big", "slot 1: node b (was node a: node a missed 2 heartbeats)"));

	/* a comes back: nothing moves back. */
	dead[a] = false;
	na = audit_count();
	CHECK(!run() && audit_count() == na);
	CHECK(placed(web).node[0] == b && placed(big).node[1] == b);

	/* b is deleted: its placements stay stored until the scheduler moves them. */
	CHECK(s->ops->node_delete(s, b) == 0);
	CHECK(placed(api).node[0] == b);
	CHECK(run());
	CHECK(placed(web).node[0] == a && placed(api).node[0] == a); /* a hosted nothing */
	w = placed(big);
	CHECK(w.node[0] == c && w.node[1] == a);
	char gone[96];
	snprintf(gone, sizeof(gone), "(was node id %lld: node id %lld deleted)", (long long)b,
	         (long long)b);
	CHECK(audited(3, "lb api", gone));

	/* A placement selector: only edge=yes nodes; d carries it. */
	d = add_node("d", 4, "edge", "yes");
	edge = add_lb("edge", 1, "edge", "yes");
	CHECK(run() && placed(edge).node[0] == d);
	/* d's label goes: no other node is eligible, so the slot is emptied. */
	relabel(d, "edge", "no");
	CHECK(run() && placed(edge).n == 0);
	CHECK(audited(1, "lb edge",
	              "slot 0: no eligible live node (was node d: node d no longer matches "
	              "the placement selector)"));
	/* And an empty slot with nothing eligible is no news. */
	na = audit_count();
	CHECK(!run() && audit_count() == na);
	/* c gets the label: the slot is filled there. */
	relabel(c, "edge", "yes");
	CHECK(run() && placed(edge).node[0] == c);
	/* c loses it, d regains it: the replica follows the labels. */
	relabel(c, NULL, NULL);
	relabel(d, "edge", "yes");
	CHECK(run() && placed(edge).node[0] == d);
	CHECK(audited(1, "lb edge", "(was node c: node c no longer matches"));

	/* More replicas than eligible live nodes: the rest of the slots stay empty. */
	set_replicas(big, 5);
	CHECK(run());
	w = placed(big);
	CHECK(w.n == 3 && w.node[0] == c && w.node[1] == a && w.node[2] == d);
	na = audit_count();
	CHECK(!run() && audit_count() == na);
	/* Fewer replicas release the slots beyond them. */
	set_replicas(big, 1);
	CHECK(run());
	w = placed(big);
	CHECK(w.n == 1 && w.node[0] == c);
	CHECK(audited(2, "lb big", "slot 2: node d released (replicas 1)"));

	/* Every node dead: every slot is emptied once, with its reason. */
	dead[a] = dead[c] = dead[d] = true;
	CHECK(run());
	CHECK(placed(web).n == 0 && placed(api).n == 0 && placed(big).n == 0 &&
	      placed(edge).n == 0);
	CHECK(audited(4, "lb web", "slot 0: no eligible live node (was node a: node a missed"));
	na = audit_count();
	CHECK(!run() && audit_count() == na);
	/* One comes back: everything lands there, one slot per object. */
	dead[c] = false;
	CHECK(run());
	CHECK(placed(web).node[0] == c && placed(api).node[0] == c && placed(big).node[0] == c);
	CHECK(placed(edge).n == 0); /* c is not edge=yes */

	/* A deleted load balancer's placements go with it; the others stay. */
	CHECK(s->ops->lb_delete(s, web) == 0);
	CHECK(placed(web).n == 0);
	CHECK(!run());

	store_close(s);
	for (const char *const *f =
	         (const char *const[]){"netfn.db", "netfn.db-wal", "netfn.db-shm", NULL};
	     *f; f++) {
		char path[128];
		snprintf(path, sizeof(path), "%s/%s", dir, *f);
		unlink(path);
	}
	CHECK(rmdir(dir) == 0);
	return check_result();
}
