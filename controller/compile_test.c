// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the compiler driver against a real SQLite store in a temp
 * dir: revisions bump only for nodes whose section changed, and a hub
 * network named before its hub joins compiles once the hub is there. The
 * firewall: every node has a section (empty when no policy selects it),
 * selectors follow label changes and joins with no policy edit, and only the
 * nodes whose firewall section changed get a new firewall revision. Load
 * balancers: a frontend on the node the scheduler placed it on and an empty
 * section elsewhere, its vip routed to that node by every other node, and
 * selector backends that follow node labels with no load balancer edit.
 */
#include "controller/compile.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int64_t add_node(struct store *s, int64_t net, const char *name, const char *addr,
                        const char *endpoint)
{
	struct st_node n = {0};
	struct in_addr a;

	n.network_id = net;
	snprintf(n.name, sizeof(n.name), "%s", name);
	memset(n.id_pk, name[0] + name[1], sizeof(n.id_pk));
	memset(n.wg_pk, name[0] + name[1] + 100, sizeof(n.wg_pk));
	inet_pton(AF_INET, addr, &a);
	n.overlay_addr = a.s_addr;
	if (endpoint) {
		snprintf(n.endpoints[0], sizeof(n.endpoints[0]), "%s", endpoint);
		n.n_endpoints = 1;
	}
	CHECK(s->ops->node_insert(s, &n) == 0);
	return n.id;
}

static uint64_t rev_of(struct store *s, int64_t node, const char *function)
{
	struct st_section sec;

	return s->ops->section_get(s, node, function, &sec) == 0 ? sec.desired_rev : 0;
}

static uint64_t rev(struct store *s, int64_t node)
{
	return rev_of(s, node, "vpn");
}

static uint64_t fwrev(struct store *s, int64_t node)
{
	return rev_of(s, node, "firewall");
}

static void set_label(struct store *s, int64_t node, const char *key, const char *value)
{
	struct st_node n;

	CHECK(s->ops->node_get_id(s, node, &n) == 0);
	n.n_labels = 0;
	if (key) {
		snprintf(n.labels[0].key, ST_NAME_MAX, "%s", key);
		snprintf(n.labels[0].value, ST_NAME_MAX, "%s", value);
		n.n_labels = 1;
	}
	CHECK(s->ops->node_update(s, &n) == 0);
}

static bool changed_is(const struct idvec *iv, size_t n, const int64_t *ids)
{
	if (iv->n != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (iv->v[i] != ids[i])
			return false;
	return true;
}

/* Node db (role=db) takes tcp/5432 from role=web; a and b start unlabelled. */
static void test_firewall(struct store *s, int64_t net, int64_t a, int64_t b, int64_t db)
{
	struct idvec changed = {0};
	struct st_fw_policy pol = {.network_id = net, .default_deny = true, .created = 1};
	struct st_fw_rule rule = {0};
	struct st_node ndb;
	struct fw_config fw;
	uint64_t va = rev(s, a), vb = rev(s, b), vdb = rev(s, db);
	uint64_t fa = fwrev(s, a), fb = fwrev(s, b), fdb = fwrev(s, db);

	/* Every node has a firewall section already, empty. */
	CHECK(fa && fb && fdb);
	CHECK(s->ops->node_get_id(s, db, &ndb) == 0);
	CHECK(compile_node_firewall(s, &ndb, &fw) == 0 && fw.n_rules == 0 && !fw.default_deny);
	CHECK(fw.revision == fdb && fw.wg_port == 51820);
	fw_config_free(&fw);

	strcpy(pol.name, "dbpol");
	pol.n_selector = 1;
	strcpy(pol.selector[0].key, "role");
	strcpy(pol.selector[0].value, "db");
	strcpy(rule.direction, "in");
	strcpy(rule.protocol, "tcp");
	strcpy(rule.src, "role=web");
	strcpy(rule.dst_port, "5432");
	strcpy(rule.action, "accept");
	CHECK(s->ops->begin(s) == 0);
	set_label(s, db, "role", "db");
	CHECK(s->ops->fw_policy_insert(s, &pol) == 0);
	rule.policy_id = pol.id;
	CHECK(s->ops->fw_rule_insert(s, &rule) == 0);
	CHECK(compile_network(s, net, &changed) == 0 && s->ops->commit(s) == 0);
	/* Only db's firewall changed; no vpn section moved. */
	CHECK(changed_is(&changed, 1, (int64_t[]){db}));
	CHECK(fwrev(s, db) > fdb && fwrev(s, a) == fa && fwrev(s, b) == fb);
	CHECK(rev(s, a) == va && rev(s, b) == vb && rev(s, db) == vdb);
	fdb = fwrev(s, db);
	CHECK(compile_node_firewall(s, &ndb, &fw) == 0);
	CHECK(fw.revision == fdb && fw.n_rules == 1 && fw.default_deny && fw.keep_ssh);
	CHECK(fw.rules[0].id == (uint64_t)rule.id && !fw.rules[0].src_any &&
	      fw.rules[0].n_src == 0);
	CHECK(strcmp(fw.rules[0].policy, "dbpol") == 0);
	fw_config_free(&fw);
	idvec_free(&changed);

	/* b becomes role=web: db's section follows with no policy edit; b's own does not move. */
	CHECK(s->ops->begin(s) == 0);
	set_label(s, b, "role", "web");
	CHECK(compile_network(s, net, &changed) == 0 && s->ops->commit(s) == 0);
	CHECK(changed_is(&changed, 1, (int64_t[]){db}));
	CHECK(fwrev(s, db) > fdb && fwrev(s, b) == fb && rev(s, b) == vb);
	fdb = fwrev(s, db);
	CHECK(compile_node_firewall(s, &ndb, &fw) == 0 && fw.n_rules == 1);
	CHECK(fw.rules[0].n_src == 1 && fw.rules[0].src[0].len == 32);
	struct st_node nb;
	CHECK(s->ops->node_get_id(s, b, &nb) == 0);
	CHECK(fw.rules[0].src[0].addr.v4.s_addr == nb.overlay_addr);
	fw_config_free(&fw);
	idvec_free(&changed);

	/* Recompiling with nothing changed bumps nothing. */
	CHECK(s->ops->begin(s) == 0 && compile_network(s, net, &changed) == 0);
	CHECK(s->ops->commit(s) == 0 && changed.n == 0);

	/* The NodeConfig carries both sections at their revisions. */
	Netfn__NodeConfig *cfg = NULL;
	CHECK(compile_node_config(s, &ndb, &cfg) == 0 && cfg && cfg->vpn && cfg->firewall);
	if (cfg && cfg->vpn && cfg->firewall) {
		CHECK(cfg->vpn->revision == vdb && cfg->firewall->revision == fdb);
		CHECK(cfg->firewall->default_deny && cfg->firewall->keep_ssh);
		CHECK(cfg->firewall->n_rules == 1 && cfg->firewall->rules[0]->n_src == 1);
	}
	compile_config_free(cfg);
	cfg = NULL;

	/* The policy goes: db gets an empty section, which clears its table. */
	CHECK(s->ops->begin(s) == 0 && s->ops->fw_policy_delete(s, pol.id) == 0);
	CHECK(compile_network(s, net, &changed) == 0 && s->ops->commit(s) == 0);
	CHECK(changed_is(&changed, 1, (int64_t[]){db}) && fwrev(s, db) > fdb);
	CHECK(compile_node_config(s, &ndb, &cfg) == 0 && cfg && cfg->firewall);
	if (cfg && cfg->firewall)
		CHECK(cfg->firewall->n_rules == 0 && !cfg->firewall->default_deny &&
		      cfg->firewall->revision == fwrev(s, db));
	compile_config_free(cfg);
	idvec_free(&changed);
	(void)a;
}

/* Whether node's vpn section forwards between peers. */
static bool forwards(struct store *s, int64_t node)
{
	struct vpn_config cfg;
	struct st_node n;
	bool on;

	CHECK(s->ops->node_get_id(s, node, &n) == 0);
	if (compile_node_vpn(s, &n, &cfg))
		return false;
	on = cfg.forward;
	vpn_config_free(&cfg);
	return on;
}

/* The lb section node last got, or NULL (free with compile_config_free(*cfg)). */
static Netfn__LbSection *lb_of(struct store *s, int64_t node, Netfn__NodeConfig **cfg)
{
	struct st_node n;

	*cfg = NULL;
	CHECK(s->ops->node_get_id(s, node, &n) == 0);
	CHECK(compile_node_config(s, &n, cfg) == 0 && *cfg && (*cfg)->lb);
	return *cfg ? (*cfg)->lb : NULL;
}

/* Whether node's vpn peer named peer routes prefix. */
static bool routes(struct store *s, int64_t node, const char *peer, const char *prefix)
{
	Netfn__NodeConfig *cfg = NULL;
	struct st_node n;
	bool found = false;

	CHECK(s->ops->node_get_id(s, node, &n) == 0);
	CHECK(compile_node_config(s, &n, &cfg) == 0 && cfg && cfg->vpn);
	for (size_t i = 0; cfg && cfg->vpn && i < cfg->vpn->n_peers; i++) {
		if (strcmp(cfg->vpn->peers[i]->name, peer) != 0)
			continue;
		for (size_t k = 0; k < cfg->vpn->peers[i]->n_allowed_ips; k++)
			found |= strcmp(cfg->vpn->peers[i]->allowed_ips[k], prefix) == 0;
	}
	compile_config_free(cfg);
	return found;
}

/* Nodes a1 (10.7.0.1), b1 (.2, role=web) and c1 (.3, role=db) of network blue. */
static void test_lb(struct store *s, int64_t net, int64_t a, int64_t b, int64_t c)
{
	struct idvec changed = {0};
	struct st_lb lb = {.network_id = net, .port = 80, .replicas = 1, .created = 1};
	Netfn__NodeConfig *cfg = NULL;
	Netfn__LbSection *sec;
	struct in_addr addr;
	uint64_t la = rev_of(s, a, "lb"), lc = rev_of(s, c, "lb");
	uint64_t va = rev(s, a), vb = rev(s, b), vc = rev(s, c);

	/* Every node has an lb section already, empty. */
	CHECK(la && lc && rev_of(s, b, "lb"));
	sec = lb_of(s, c, &cfg);
	CHECK(sec && sec->n_frontends == 0 && sec->revision == lc);
	compile_config_free(cfg);

	/* web: vip 10.7.0.100, the role=web nodes on 8080, and two explicit
	 * backends, one of them a selected node's again with a larger weight. */
	strcpy(lb.name, "web");
	strcpy(lb.protocol, "tcp");
	strcpy(lb.algorithm, "round-robin");
	inet_pton(AF_INET, "10.7.0.100", &addr);
	lb.vip = addr.s_addr;
	lb.n_backend_selector = 1;
	strcpy(lb.backend_selector[0].key, "role");
	strcpy(lb.backend_selector[0].value, "web");
	lb.backend_port = 8080;
	lb.backend_weight = 2;
	lb.n_backends = 2;
	inet_pton(AF_INET, "192.0.2.10", &addr);
	lb.backends[0] = (struct st_lb_backend){addr.s_addr, 80, 5};
	inet_pton(AF_INET, "10.7.0.2", &addr);
	lb.backends[1] = (struct st_lb_backend){addr.s_addr, 8080, 9};
	lb.hc_interval_ms = 2000;
	lb.hc_timeout_ms = 1000;
	lb.hc_rise = 2;
	lb.hc_fall = 3;
	CHECK(s->ops->begin(s) == 0 && s->ops->lb_insert(s, &lb) == 0);
	CHECK(compile_network(s, net, &changed) == 0 && s->ops->commit(s) == 0);
	/* Placed on a1 (nothing hosted anywhere: the lowest id). a1's lb section
	 * changed, and its vpn section (it now forwards); b1's and c1's vpn
	 * sections, which now route the vip to a1. */
	CHECK(changed.n == 3);
	CHECK(rev_of(s, a, "lb") > la && rev_of(s, c, "lb") == lc && rev(s, a) > va);
	CHECK(forwards(s, a) && !forwards(s, b) && !forwards(s, c));
	CHECK(rev(s, b) > vb && rev(s, c) > vc);
	idvec_free(&changed);

	sec = lb_of(s, a, &cfg);
	CHECK(sec && sec->revision == rev_of(s, a, "lb") && sec->n_frontends == 1);
	if (sec && sec->n_frontends == 1) {
		Netfn__LbFrontend *f = sec->frontends[0];

		CHECK(f->id == (uint64_t)lb.id && strcmp(f->name, "web") == 0);
		CHECK(strcmp(f->address, "10.7.0.100") == 0 && f->port == 80);
		CHECK(strcmp(f->protocol, "tcp") == 0 && strcmp(f->algorithm, "round-robin") == 0);
		CHECK(f->health && f->health->interval_ms == 2000 && f->health->fall == 3);
		/* Sorted by address; the duplicate merged with the larger weight. */
		CHECK(f->n_backends == 2);
		if (f->n_backends == 2) {
			CHECK(strcmp(f->backends[0]->address, "10.7.0.2") == 0);
			CHECK(f->backends[0]->port == 8080 && f->backends[0]->weight == 9);
			CHECK(strcmp(f->backends[1]->address, "192.0.2.10") == 0);
			CHECK(f->backends[1]->port == 80 && f->backends[1]->weight == 5);
		}
	}
	compile_config_free(cfg);
	sec = lb_of(s, b, &cfg);
	CHECK(sec && sec->n_frontends == 0);
	compile_config_free(cfg);

	/* The vip is routed to a1 by the others, and by nobody to anyone else. */
	CHECK(routes(s, b, "a1", "10.7.0.100/32") && routes(s, c, "a1", "10.7.0.100/32"));
	CHECK(routes(s, b, "a1", "10.7.0.1/32"));
	CHECK(!routes(s, a, "b1", "10.7.0.100/32") && !routes(s, c, "b1", "10.7.0.100/32"));

	/* c1 becomes role=web: it joins the backends with no lb edit. */
	la = rev_of(s, a, "lb");
	CHECK(s->ops->begin(s) == 0);
	set_label(s, c, "role", "web");
	CHECK(compile_network(s, net, &changed) == 0 && s->ops->commit(s) == 0);
	CHECK(rev_of(s, a, "lb") > la);
	idvec_free(&changed);
	sec = lb_of(s, a, &cfg);
	CHECK(sec && sec->n_frontends == 1 && sec->frontends[0]->n_backends == 3);
	if (sec && sec->n_frontends == 1 && sec->frontends[0]->n_backends == 3) {
		CHECK(strcmp(sec->frontends[0]->backends[1]->address, "10.7.0.3") == 0);
		CHECK(sec->frontends[0]->backends[1]->weight == 2);
	}
	compile_config_free(cfg);

	/* A second load balancer without a vip goes to the node hosting fewest
	 * (b1) and listens on b1's own address; no route moves, b1 now forwards. */
	struct st_lb dns = lb;
	strcpy(dns.name, "dns");
	strcpy(dns.protocol, "udp");
	dns.port = 53;
	dns.vip = 0;
	dns.backend_port = 0;
	dns.n_backends = 1;
	va = rev(s, a), vb = rev(s, b), vc = rev(s, c);
	CHECK(s->ops->begin(s) == 0 && s->ops->lb_insert(s, &dns) == 0);
	CHECK(compile_network(s, net, &changed) == 0 && s->ops->commit(s) == 0);
	CHECK(changed_is(&changed, 1, (int64_t[]){b}));
	CHECK(rev(s, a) == va && rev(s, b) > vb && rev(s, c) == vc && forwards(s, b));
	idvec_free(&changed);
	sec = lb_of(s, b, &cfg);
	CHECK(sec && sec->n_frontends == 1);
	if (sec && sec->n_frontends == 1) {
		CHECK(strcmp(sec->frontends[0]->address, "10.7.0.2") == 0);
		CHECK(sec->frontends[0]->n_backends == 1 && sec->frontends[0]->port == 53);
	}
	compile_config_free(cfg);

	/* web goes: a1's section empties, the vip route goes from the others. */
	CHECK(s->ops->begin(s) == 0 && s->ops->lb_delete(s, lb.id) == 0);
	CHECK(compile_network(s, net, &changed) == 0 && s->ops->commit(s) == 0);
	CHECK(changed.n == 3);
	idvec_free(&changed);
	sec = lb_of(s, a, &cfg);
	CHECK(sec && sec->n_frontends == 0);
	compile_config_free(cfg);
	CHECK(!routes(s, b, "a1", "10.7.0.100/32") && routes(s, b, "a1", "10.7.0.1/32"));
	CHECK(!forwards(s, a) && forwards(s, b));
}

int main(void)
{
	char dir[] = "/tmp/netfn-compile-XXXXXX";
	struct store *s = NULL;
	struct st_network net = {0};
	struct idvec changed = {0};
	int64_t a, b, c;
	uint64_t ra, rb, rc;

	CHECK(mkdtemp(dir) != NULL);
	CHECK(store_open(dir, &s) == 0);
	if (!s)
		return check_result();

	strcpy(net.name, "blue");
	strcpy(net.cidr, "10.7.0.0/24");
	net.port = 51820;
	net.mtu = 1420;
	strcpy(net.topology, "mesh");
	CHECK(s->ops->begin(s) == 0 && s->ops->network_insert(s, &net) == 0);
	a = add_node(s, net.id, "a1", "10.7.0.1", "192.0.2.1:51820");
	b = add_node(s, net.id, "b1", "10.7.0.2", "192.0.2.2:51820");
	c = add_node(s, net.id, "c1", "10.7.0.3", NULL);
	CHECK(compile_network(s, net.id, &changed) == 0 && changed.n == 3);
	CHECK(s->ops->commit(s) == 0);
	ra = rev(s, a), rb = rev(s, b), rc = rev(s, c);
	CHECK(ra && rb && rc);
	/* Each (node, function) has its own revision. */
	CHECK(fwrev(s, a) && fwrev(s, a) != ra);
	idvec_free(&changed);

	/* Nothing changed: nothing bumps. */
	CHECK(s->ops->begin(s) == 0 && compile_network(s, net.id, &changed) == 0);
	CHECK(s->ops->commit(s) == 0 && changed.n == 0 && rev(s, a) == ra);

	/* a's endpoint moves: only the nodes that peer with a change, not a itself. */
	struct st_node na;
	CHECK(s->ops->node_get_id(s, a, &na) == 0);
	strcpy(na.endpoints[0], "192.0.2.9:51820");
	CHECK(s->ops->begin(s) == 0 && s->ops->node_update(s, &na) == 0);
	CHECK(compile_network(s, net.id, &changed) == 0 && s->ops->commit(s) == 0);
	CHECK(changed.n == 2 && rev(s, a) == ra && rev(s, b) > rb && rev(s, c) > rc);
	idvec_free(&changed);

	/* The node config carries b's view: two peers, a's new endpoint. */
	struct st_node nb;
	Netfn__NodeConfig *cfg = NULL;
	CHECK(s->ops->node_get_id(s, b, &nb) == 0);
	CHECK(compile_node_config(s, &nb, &cfg) == 0 && cfg && cfg->vpn);
	if (cfg && cfg->vpn) {
		CHECK(cfg->vpn->revision == rev(s, b) && cfg->vpn->n_peers == 2);
		CHECK(strcmp(cfg->vpn->address, "10.7.0.2/24") == 0);
		int seen = 0;
		for (size_t i = 0; i < cfg->vpn->n_peers; i++)
			seen += strcmp(cfg->vpn->peers[i]->endpoint, "192.0.2.9:51820") == 0;
		CHECK(seen == 1);
	}
	compile_config_free(cfg);

	test_firewall(s, net.id, a, b, c);
	test_lb(s, net.id, a, b, c);

	/* A hub network named before its hub joins. */
	struct st_network hub = {0};
	int64_t s1, h;
	strcpy(hub.name, "red");
	strcpy(hub.cidr, "10.8.0.0/24");
	hub.port = 51821;
	hub.mtu = 1420;
	strcpy(hub.topology, "hub");
	strcpy(hub.hub_name, "hq");
	CHECK(s->ops->begin(s) == 0 && s->ops->network_insert(s, &hub) == 0);
	s1 = add_node(s, hub.id, "s1", "10.8.0.1", NULL);
	CHECK(compile_network(s, hub.id, NULL) == 0 && s->ops->commit(s) == 0);
	struct st_node ns1;
	struct vpn_config vc;
	CHECK(s->ops->node_get_id(s, s1, &ns1) == 0);
	CHECK(compile_node_vpn(s, &ns1, &vc) == 0 && vc.n_peers == 0);
	vpn_config_free(&vc);
	CHECK(s->ops->begin(s) == 0);
	h = add_node(s, hub.id, "hq", "10.8.0.2", "192.0.2.50:51821");
	CHECK(compile_network(s, hub.id, NULL) == 0 && s->ops->commit(s) == 0);
	CHECK(compile_node_vpn(s, &ns1, &vc) == 0 && vc.n_peers == 1 && vc.peers[0].keepalive);
	vpn_config_free(&vc);
	struct st_node nh;
	CHECK(s->ops->node_get_id(s, h, &nh) == 0);
	CHECK(compile_node_vpn(s, &nh, &vc) == 0 && vc.forward && vc.n_peers == 1);
	vpn_config_free(&vc);

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
