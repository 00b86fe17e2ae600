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
 * External clients: a peer of their gateway only, routed to it by the
 * others, in no section once expired, and resolved by firewall selectors.
 * The overlay DNS: every node resolves the zone through the servers the
 * scheduler placed, only they hold the records, and a record or a node
 * joining changes only their sections; the servers moving changes all.
 * Traffic classes and flow filters: see test_qos and test_flow.
 */
#include "controller/compile.h"
#include "controller/sched.h"
#include "controller/store/store_test_util.h"
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

/* The dns section node last got, or NULL (free with compile_config_free(*cfg)). */
static Netfn__DnsSection *dns_of(struct store *s, int64_t node, Netfn__NodeConfig **cfg)
{
	struct st_node n;

	*cfg = NULL;
	CHECK(s->ops->node_get_id(s, node, &n) == 0);
	CHECK(compile_node_config(s, &n, cfg) == 0 && *cfg && (*cfg)->dns);
	return *cfg ? (*cfg)->dns : NULL;
}

/* Whether sec has record "name type value" (name fully qualified). */
static bool has_record(const Netfn__DnsSection *sec, const char *name, const char *type,
                       const char *value)
{
	for (size_t i = 0; sec && i < sec->n_records; i++)
		if (!strcmp(sec->records[i]->name, name) && !strcmp(sec->records[i]->type, type) &&
		    !strcmp(sec->records[i]->value, value))
			return true;
	return false;
}

/* The dns revisions of a, b, c (and d when not 0), in that order. */
struct dnsrevs {
	uint64_t v[4];
};

static struct dnsrevs dnsrevs(struct store *s, const int64_t *nodes, size_t n)
{
	struct dnsrevs r = {{0}};

	for (size_t i = 0; i < n && i < 4; i++)
		r.v[i] = rev_of(s, nodes[i], "dns");
	return r;
}

static bool dead_ab[2];
static int64_t ab[2];

static bool fake_alive(void *ctx, int64_t node_id)
{
	(void)ctx;
	return !((dead_ab[0] && node_id == ab[0]) || (dead_ab[1] && node_id == ab[1]));
}

/*
 * The overlay DNS of blue (its server placed on a1 when the nodes joined):
 * every node resolves the zone through the server, and only the server
 * holds the records. A record added or a node joining changes only the
 * server's section; the servers moving changes everyone's. Leaves the
 * server on c1, so that a1 and b1 host nothing for test_lb.
 */
static int first_dns_node(void *ctx, const struct st_placement *p)
{
	int64_t *id = ctx;

	if (!*id)
		*id = p->node_id;
	return 0;
}

/* Whether node's firewall config has the controller's DNS keep rules, first. */
static bool keeps_dns(struct store *s, int64_t node)
{
	struct fw_config fw;
	struct st_node n;
	bool keeps;

	CHECK(s->ops->node_get_id(s, node, &n) == 0);
	if (compile_node_firewall(s, &n, &fw))
		return false;
	keeps = fw.n_rules >= 2 && fw.rules[0].id == (UINT64_C(1) << 62) &&
	        fw.rules[0].proto == FW_UDP && fw.rules[1].proto == FW_TCP &&
	        fw.rules[0].n_ports == 2 && fw.rules[0].ports[0].first == 53 &&
	        fw.rules[0].ports[1].first == 5301 && fw.rules[0].ports[1].last == 5302;
	fw_config_free(&fw);
	return keeps;
}

/* Default deny on every node keeps the DNS server's ports open on the node serving it only. */
static void test_fw_keep_dns(struct store *s, int64_t net, const int64_t *nodes, size_t n)
{
	struct st_fw_policy pol = {.network_id = net, .default_deny = true, .created = 1};
	int64_t server = 0;

	CHECK(s->ops->placement_list(s, "dns", net, first_dns_node, &server) == 0 && server);
	for (size_t i = 0; i < n; i++)
		CHECK(!keeps_dns(s, nodes[i]));
	strcpy(pol.name, "deny-all");
	CHECK(s->ops->begin(s) == 0 && s->ops->fw_policy_insert(s, &pol) == 0);
	CHECK(compile_network(s, net, NULL) == 0 && s->ops->commit(s) == 0);
	for (size_t i = 0; i < n; i++)
		CHECK(keeps_dns(s, nodes[i]) == (nodes[i] == server));
	CHECK(s->ops->begin(s) == 0 && s->ops->fw_policy_delete(s, pol.id) == 0);
	CHECK(compile_network(s, net, NULL) == 0 && s->ops->commit(s) == 0);
}

static void test_dns(struct store *s, int64_t net, int64_t a, int64_t b, int64_t c)
{
	struct idvec changed = {0};
	Netfn__NodeConfig *cfg = NULL;
	Netfn__DnsSection *sec;
	struct st_network sn;
	struct st_dns_record r = {.network_id = net, .ttl = 300, .created = 1};
	int64_t d, nodes[4] = {a, b, c, 0};
	struct dnsrevs r0, r1;
	uint64_t vb, vc;

	/* Every node has a dns section; a1 serves the zone, with every node's name. */
	r0 = dnsrevs(s, nodes, 3);
	CHECK(r0.v[0] && r0.v[1] && r0.v[2]);
	sec = dns_of(s, a, &cfg);
	CHECK(sec && !strcmp(sec->zone, "blue.netfn.internal") && sec->serve);
	if (sec) {
		CHECK(sec->revision == r0.v[0] && !strcmp(sec->listen, "10.7.0.1"));
		CHECK(sec->n_servers == 1 && !strcmp(sec->servers[0], "10.7.0.1"));
		CHECK(sec->n_records == 3);
		/* Sorted by name. */
		CHECK(sec->n_records == 3 &&
		      !strcmp(sec->records[0]->name, "a1.blue.netfn.internal") &&
		      !strcmp(sec->records[2]->name, "c1.blue.netfn.internal"));
		CHECK(has_record(sec, "b1.blue.netfn.internal", "A", "10.7.0.2"));
		CHECK(sec->n_records && sec->records[0]->ttl == 60);
	}
	compile_config_free(cfg);
	sec = dns_of(s, b, &cfg);
	CHECK(sec && !strcmp(sec->zone, "blue.netfn.internal") && !sec->serve);
	if (sec)
		CHECK(sec->n_servers == 1 && !strcmp(sec->servers[0], "10.7.0.1") &&
		      sec->n_records == 0 && !strcmp(sec->listen, ""));
	compile_config_free(cfg);

	/* A record: only the server's section changes. */
	strcpy(r.name, "www");
	strcpy(r.type, "CNAME");
	strcpy(r.value, "a1.blue.netfn.internal");
	vb = rev(s, b);
	CHECK(s->ops->begin(s) == 0 && s->ops->dns_record_insert(s, &r) == 0);
	CHECK(compile_network(s, net, &changed) == 0 && s->ops->commit(s) == 0);
	CHECK(changed_is(&changed, 1, (int64_t[]){a}));
	r1 = dnsrevs(s, nodes, 3);
	CHECK(r1.v[0] > r0.v[0] && r1.v[1] == r0.v[1] && r1.v[2] == r0.v[2] && rev(s, b) == vb);
	idvec_free(&changed);
	sec = dns_of(s, a, &cfg);
	CHECK(sec && sec->n_records == 4 && sec->revision == r1.v[0]);
	CHECK(has_record(sec, "www.blue.netfn.internal", "CNAME", "a1.blue.netfn.internal"));
	if (sec && sec->n_records == 4)
		CHECK(!strcmp(sec->records[3]->name, "www.blue.netfn.internal") &&
		      sec->records[3]->ttl == 300);
	compile_config_free(cfg);

	/* A node joins: the server's records gain its name; the other
	 * sections stay as they were; it gets one too. */
	r0 = r1;
	vc = rev(s, c);
	CHECK(s->ops->begin(s) == 0);
	d = add_node(s, net, "d1", "10.7.0.4", NULL);
	nodes[3] = d;
	CHECK(compile_network(s, net, &changed) == 0 && s->ops->commit(s) == 0);
	idvec_free(&changed);
	r1 = dnsrevs(s, nodes, 4);
	CHECK(r1.v[0] > r0.v[0] && r1.v[1] == r0.v[1] && r1.v[2] == r0.v[2] && r1.v[3]);
	CHECK(rev(s, c) > vc); /* its vpn section: a new peer */
	sec = dns_of(s, a, &cfg);
	CHECK(has_record(sec, "d1.blue.netfn.internal", "A", "10.7.0.4") && sec->n_records == 5);
	compile_config_free(cfg);
	sec = dns_of(s, d, &cfg);
	CHECK(sec && !sec->serve && sec->n_servers == 1 && sec->n_records == 0);
	compile_config_free(cfg);

	/* A CNAME under a node's own name (the API refuses it; a node may
	 * join under a CNAME's name) is left out: the section does not move. */
	struct st_dns_record clash = r;
	strcpy(clash.name, "d1");
	strcpy(clash.value, "www.example.com");
	r0 = r1;
	CHECK(s->ops->begin(s) == 0 && s->ops->dns_record_insert(s, &clash) == 0);
	CHECK(compile_network(s, net, &changed) == 0 && s->ops->commit(s) == 0);
	CHECK(changed.n == 0 && rev_of(s, a, "dns") == r0.v[0]);
	CHECK(s->ops->dns_record_delete(s, clash.id) == 0);

	/* A second server: every section changes (the servers), b1 serves too. */
	CHECK(s->ops->network_get_id(s, net, &sn) == 0);
	sn.dns_replicas = 2;
	CHECK(s->ops->begin(s) == 0 && s->ops->network_update(s, &sn) == 0);
	CHECK(compile_network(s, net, &changed) == 0 && s->ops->commit(s) == 0);
	CHECK(changed.n == 4);
	idvec_free(&changed);
	r1 = dnsrevs(s, nodes, 4);
	CHECK(r1.v[0] > r0.v[0] && r1.v[1] > r0.v[1] && r1.v[2] > r0.v[2] && r1.v[3] > r0.v[3]);
	sec = dns_of(s, b, &cfg);
	CHECK(sec && sec->serve && !strcmp(sec->listen, "10.7.0.2") && sec->n_records == 5);
	if (sec)
		CHECK(sec->n_servers == 2 && !strcmp(sec->servers[0], "10.7.0.1") &&
		      !strcmp(sec->servers[1], "10.7.0.2"));
	compile_config_free(cfg);
	sec = dns_of(s, c, &cfg);
	CHECK(sec && !sec->serve && sec->n_servers == 2 && sec->n_records == 0);
	compile_config_free(cfg);

	/* One again, and d1 goes: a1's records lose it. */
	sn.dns_replicas = 1;
	CHECK(s->ops->begin(s) == 0 && s->ops->network_update(s, &sn) == 0);
	CHECK(s->ops->node_delete(s, d) == 0);
	CHECK(compile_network(s, net, &changed) == 0 && s->ops->commit(s) == 0);
	idvec_free(&changed);
	sec = dns_of(s, a, &cfg);
	CHECK(sec && sec->serve && sec->n_servers == 1 && sec->n_records == 4);
	CHECK(!has_record(sec, "d1.blue.netfn.internal", "A", "10.7.0.4"));
	compile_config_free(cfg);
	sec = dns_of(s, b, &cfg);
	CHECK(sec && !sec->serve && sec->n_records == 0);
	compile_config_free(cfg);

	/* a1 and b1 miss their heartbeats: the server moves to c1, every
	 * section follows; they come back and it stays there. */
	ab[0] = a;
	ab[1] = b;
	dead_ab[0] = dead_ab[1] = true;
	sched_set_liveness(fake_alive, NULL);
	CHECK(s->ops->begin(s) == 0 && compile_network(s, net, &changed) == 0);
	CHECK(s->ops->commit(s) == 0 && changed.n == 3);
	idvec_free(&changed);
	dead_ab[0] = dead_ab[1] = false;
	sched_set_liveness(NULL, NULL);
	CHECK(s->ops->begin(s) == 0 && compile_network(s, net, &changed) == 0);
	CHECK(s->ops->commit(s) == 0 && changed.n == 0);
	sec = dns_of(s, c, &cfg);
	CHECK(sec && sec->serve && !strcmp(sec->listen, "10.7.0.3") && sec->n_servers == 1 &&
	      !strcmp(sec->servers[0], "10.7.0.3") && sec->n_records == 4);
	compile_config_free(cfg);
	sec = dns_of(s, a, &cfg);
	CHECK(sec && !sec->serve && sec->n_records == 0 && !strcmp(sec->servers[0], "10.7.0.3"));
	compile_config_free(cfg);
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

static int64_t add_client(struct store *s, int64_t net, const char *name, const char *addr,
                          int64_t expires, const char *gw_key, const char *gw_value)
{
	struct st_client c = {.network_id = net, .expires = expires, .created = 1};
	struct in_addr a;

	snprintf(c.name, sizeof(c.name), "%s", name);
	memset(c.wg_pk, name[0] + name[1] + 200, sizeof(c.wg_pk));
	inet_pton(AF_INET, addr, &a);
	c.overlay_addr = a.s_addr;
	c.n_labels = 1;
	strcpy(c.labels[0].key, "role");
	strcpy(c.labels[0].value, "laptop");
	if (gw_key) {
		snprintf(c.gateway_selector[0].key, ST_NAME_MAX, "%s", gw_key);
		snprintf(c.gateway_selector[0].value, ST_NAME_MAX, "%s", gw_value);
		c.n_gateway_selector = 1;
	}
	CHECK(s->ops->client_insert(s, &c) == 0);
	return c.id;
}

/* Whether node has a vpn peer named peer, at all. */
static bool peers_with(struct store *s, int64_t node, const char *peer)
{
	struct vpn_config cfg;
	struct st_node n;
	bool found = false;

	CHECK(s->ops->node_get_id(s, node, &n) == 0);
	if (compile_node_vpn(s, &n, &cfg))
		return false;
	for (size_t i = 0; i < cfg.n_peers; i++)
		found |= strcmp(cfg.peers[i].name, peer) == 0;
	vpn_config_free(&cfg);
	return found;
}

/* Whether node's firewall has a rule whose src includes prefix. */
static bool fw_src_has(struct store *s, int64_t node, const char *prefix)
{
	char buf[NF_PREFIX_STRLEN];
	struct fw_config fw;
	struct st_node n;
	bool found = false;

	CHECK(s->ops->node_get_id(s, node, &n) == 0);
	CHECK(compile_node_firewall(s, &n, &fw) == 0);
	for (size_t i = 0; i < fw.n_rules; i++)
		for (size_t k = 0; k < fw.rules[i].n_src; k++)
			found |= strcmp(nf_prefix_format(&fw.rules[i].src[k], buf, sizeof(buf)),
			                prefix) == 0;
	fw_config_free(&fw);
	return found;
}

/*
 * External clients in network green: g2 (gw=yes, with an endpoint) is the
 * gateway of laptop; g1 and g3 route laptop's address to g2; an expired
 * client is in no section; a policy selecting role=laptop resolves to the
 * live client's address.
 */
static void test_clients(struct store *s)
{
	struct st_network net = {.port = 51822, .mtu = 1420, .dns_replicas = 1};
	struct st_fw_policy pol = {.created = 1};
	struct st_fw_rule rule = {0};
	struct idvec changed = {0};
	struct vpn_config vc;
	struct st_node n2;
	int64_t g1, g2, g3, laptop;

	strcpy(net.name, "green");
	strcpy(net.cidr, "10.6.0.0/24");
	strcpy(net.topology, "mesh");
	strcpy(net.domain, "netfn.internal");
	CHECK(s->ops->begin(s) == 0 && s->ops->network_insert(s, &net) == 0);
	g1 = add_node(s, net.id, "g1", "10.6.0.1", "192.0.2.61:51822");
	g2 = add_node(s, net.id, "g2", "10.6.0.2", "192.0.2.62:51822");
	g3 = add_node(s, net.id, "g3", "10.6.0.3", NULL);
	set_label(s, g2, "gw", "yes");
	CHECK(compile_network(s, net.id, NULL) == 0 && s->ops->commit(s) == 0);
	CHECK(!forwards(s, g2));

	CHECK(s->ops->begin(s) == 0);
	laptop = add_client(s, net.id, "laptop", "10.6.0.10", ctl_now() + 3600, "gw", "yes");
	add_client(s, net.id, "old", "10.6.0.11", ctl_now() - 1, NULL, NULL);
	pol.network_id = net.id;
	strcpy(pol.name, "ssh-from-laptops");
	strcpy(rule.direction, "in");
	strcpy(rule.protocol, "tcp");
	strcpy(rule.src, "role=laptop");
	strcpy(rule.dst_port, "22");
	strcpy(rule.action, "accept");
	CHECK(s->ops->fw_policy_insert(s, &pol) == 0);
	rule.policy_id = pol.id;
	CHECK(s->ops->fw_rule_insert(s, &rule) == 0);
	CHECK(compile_network(s, net.id, &changed) == 0 && s->ops->commit(s) == 0);
	CHECK(changed.n == 3);
	idvec_free(&changed);

	/* The gateway peers with the client: its /32, no endpoint, no keepalive; it forwards. */
	CHECK(s->ops->node_get_id(s, g2, &n2) == 0);
	CHECK(compile_node_vpn(s, &n2, &vc) == 0 && vc.forward && vc.n_peers == 3);
	for (size_t i = 0; i < vc.n_peers; i++) {
		if (strcmp(vc.peers[i].name, "laptop") != 0)
			continue;
		CHECK(vc.peers[i].n_allowed == 1 && vc.peers[i].allowed[0].len == 32);
		CHECK(vc.peers[i].allowed[0].addr.v4.s_addr == htonl(0x0a06000a));
		CHECK(vc.peers[i].endpoint[0] == '\0' && vc.peers[i].keepalive == 0);
	}
	vpn_config_free(&vc);
	CHECK(peers_with(s, g2, "laptop") && !peers_with(s, g1, "laptop"));
	CHECK(!peers_with(s, g3, "laptop"));
	/* The others route it to the gateway, and nobody routes it elsewhere. */
	CHECK(routes(s, g1, "g2", "10.6.0.10/32") && routes(s, g3, "g2", "10.6.0.10/32"));
	CHECK(!routes(s, g1, "g3", "10.6.0.10/32") && !forwards(s, g1));
	/* The expired client is nowhere: no peer, no route, no firewall address. */
	CHECK(!peers_with(s, g2, "old") && !routes(s, g1, "g2", "10.6.0.11/32"));
	CHECK(!fw_src_has(s, g1, "10.6.0.11/32"));
	/* The policy's selector resolves to the live client's address, on every node. */
	CHECK(fw_src_has(s, g1, "10.6.0.10/32") && fw_src_has(s, g3, "10.6.0.10/32"));

	/* The client goes: the gateway's peer and the routes with it, in one recompile. */
	CHECK(s->ops->begin(s) == 0 && s->ops->client_delete(s, laptop) == 0);
	CHECK(compile_network(s, net.id, &changed) == 0 && s->ops->commit(s) == 0);
	CHECK(changed.n == 3);
	idvec_free(&changed);
	CHECK(!peers_with(s, g2, "laptop") && !routes(s, g1, "g2", "10.6.0.10/32"));
	CHECK(!forwards(s, g2) && !fw_src_has(s, g1, "10.6.0.10/32"));
}

/* The qos section node last got, or NULL (free with compile_config_free(*cfg)). */
static Netfn__QosSection *qos_of(struct store *s, int64_t node, Netfn__NodeConfig **cfg)
{
	struct st_node n;

	*cfg = NULL;
	CHECK(s->ops->node_get_id(s, node, &n) == 0);
	CHECK(compile_node_config(s, &n, cfg) == 0 && *cfg && (*cfg)->qos);
	return *cfg ? (*cfg)->qos : NULL;
}

/*
 * Every node gets every class, empty with none; a peer match becomes that
 * peer's /32 except on the peer itself, and a peer that is gone matches
 * nothing.
 */
static void test_qos(struct store *s, int64_t net, int64_t a, int64_t b)
{
	struct st_qos_class gold = {.network_id = net,
	                            .min_bps = 1000000,
	                            .max_bps = 8000000,
	                            .priority = 1,
	                            .minor = 2,
	                            .created = 1};
	struct st_qos_match to_b = {0}, to_gone = {0}, web = {0};
	struct st_network n;
	Netfn__NodeConfig *cfg = NULL;
	Netfn__QosSection *q;

	q = qos_of(s, a, &cfg);
	CHECK(q && q->n_classes == 0 && q->link_bps == 0);
	compile_config_free(cfg);

	CHECK(s->ops->begin(s) == 0 && s->ops->network_get_id(s, net, &n) == 0);
	n.qos_link_bps = 10000000;
	CHECK(s->ops->network_update(s, &n) == 0);
	strcpy(gold.name, "gold");
	CHECK(s->ops->qos_class_insert(s, &gold) == 0);
	to_b.class_id = to_gone.class_id = web.class_id = gold.id;
	strcpy(to_b.peer, "b1");
	strcpy(to_gone.peer, "zz9");
	strcpy(web.protocol, "tcp");
	strcpy(web.port, "8000-8100");
	strcpy(web.cidr, "192.168.0.0/24");
	CHECK(s->ops->qos_match_insert(s, &to_b) == 0 &&
	      s->ops->qos_match_insert(s, &to_gone) == 0 && s->ops->qos_match_insert(s, &web) == 0);
	CHECK(compile_network(s, net, NULL) == 0 && s->ops->commit(s) == 0);

	q = qos_of(s, a, &cfg);
	CHECK(q && q->link_bps == 10000000 && q->n_classes == 1);
	if (q && q->n_classes == 1) {
		const Netfn__QosNodeClass *k = q->classes[0];

		CHECK(k->minor == 2 && !strcmp(k->name, "gold") && k->min_bps == 1000000 &&
		      k->max_bps == 8000000 && k->priority == 1 && k->n_matches == 2);
		CHECK(k->n_matches == 2 && !strcmp(k->matches[0]->dst, "10.7.0.2/32") &&
		      k->matches[0]->protocol == 0 && !k->matches[0]->ports);
		CHECK(k->n_matches == 2 && k->matches[1]->protocol == 6 && k->matches[1]->ports &&
		      k->matches[1]->ports->first == 8000 && k->matches[1]->ports->last == 8100 &&
		      !strcmp(k->matches[1]->dst, "192.168.0.0/24"));
	}
	compile_config_free(cfg);
	/* On b itself the match towards b is skipped. */
	q = qos_of(s, b, &cfg);
	CHECK(q && q->n_classes == 1 && q->classes[0]->n_matches == 1);
	compile_config_free(cfg);

	/* No classes: empty again. */
	CHECK(s->ops->begin(s) == 0 && s->ops->qos_class_delete(s, gold.id) == 0);
	CHECK(compile_network(s, net, NULL) == 0 && s->ops->commit(s) == 0);
	q = qos_of(s, a, &cfg);
	CHECK(q && q->n_classes == 0 && q->link_bps == 0);
	compile_config_free(cfg);
}

/* The flow section node last got, or NULL (free with compile_config_free(*cfg)). */
static Netfn__FlowSection *flow_of(struct store *s, int64_t node, Netfn__NodeConfig **cfg)
{
	struct st_node n;

	*cfg = NULL;
	CHECK(s->ops->node_get_id(s, node, &n) == 0);
	CHECK(compile_node_config(s, &n, cfg) == 0 && *cfg && (*cfg)->flow);
	return *cfg ? (*cfg)->flow : NULL;
}

static int64_t add_flow(struct store *s, int64_t net, int64_t node, const char *protocol,
                        uint32_t port, const char *src, const char *dst, const char *action,
                        uint32_t priority)
{
	struct st_flow_filter f = {.network_id = net,
	                           .node_id = node,
	                           .dst_port = port,
	                           .priority = priority,
	                           .created = 1};

	snprintf(f.protocol, sizeof(f.protocol), "%s", protocol);
	snprintf(f.src, sizeof(f.src), "%s", src);
	snprintf(f.dst, sizeof(f.dst), "%s", dst);
	snprintf(f.action, sizeof(f.action), "%s", action);
	CHECK(s->ops->flow_insert(s, &f) == 0);
	return f.id;
}

/*
 * Every node has a flow section, empty with no filters; a node gets its own
 * filters only, by id, with protocol names as numbers, "drop" as drop and
 * prefixes as stored; a filter change bumps only its node's section, and a
 * stored filter that does not convert is left out.
 */
static void test_flow(struct store *s, int64_t net, int64_t a, int64_t b, int64_t c)
{
	Netfn__NodeConfig *cfg = NULL;
	Netfn__FlowSection *f;
	struct idvec changed = {0};
	uint64_t ra, rb, rc, va, vb;
	int64_t ssh, ping, dns, bad;

	ra = rev_of(s, a, "flow"), rb = rev_of(s, b, "flow"), rc = rev_of(s, c, "flow");
	CHECK(ra && rb && rc);
	va = rev(s, a), vb = rev(s, b);
	f = flow_of(s, a, &cfg);
	CHECK(f && f->n_filters == 0 && f->revision == ra);
	compile_config_free(cfg);

	/* Inserted out of node order: the ids interleave across nodes. */
	CHECK(s->ops->begin(s) == 0);
	ping = add_flow(s, net, a, "icmp", 0, "", "10.7.0.2/32", "allow", 100);
	dns = add_flow(s, net, b, "udp", 53, "", "", "drop", 1);
	ssh = add_flow(s, net, a, "tcp", 22, "10.0.0.0/8", "", "drop", 300);
	/* Damage the API would never store: not compiled. */
	bad = add_flow(s, net, b, "sctp", 0, "", "", "drop", 100);
	CHECK(compile_network(s, net, &changed) == 0 && s->ops->commit(s) == 0);
	CHECK(changed_is(&changed, 2, (int64_t[]){a, b}));
	idvec_free(&changed);
	CHECK(rev_of(s, a, "flow") > ra && rev_of(s, b, "flow") > rb && rev_of(s, c, "flow") == rc);
	/* Other functions' sections did not move. */
	CHECK(rev(s, a) == va && rev(s, b) == vb);

	f = flow_of(s, a, &cfg);
	CHECK(f && f->n_filters == 2 && f->revision == rev_of(s, a, "flow"));
	if (f && f->n_filters == 2) {
		const Netfn__FlowNodeFilter *x = f->filters[0], *y = f->filters[1];

		CHECK(x->id == (uint64_t)ping && x->protocol == 1 && x->dst_port == 0 && !x->drop &&
		      x->priority == 100 && !strcmp(x->src, "") && !strcmp(x->dst, "10.7.0.2/32"));
		CHECK(y->id == (uint64_t)ssh && y->protocol == 6 && y->dst_port == 22 && y->drop &&
		      y->priority == 300 && !strcmp(y->src, "10.0.0.0/8") && !strcmp(y->dst, ""));
	}
	compile_config_free(cfg);
	f = flow_of(s, b, &cfg);
	CHECK(f && f->n_filters == 1);
	if (f && f->n_filters == 1)
		CHECK(f->filters[0]->id == (uint64_t)dns && f->filters[0]->protocol == 17 &&
		      f->filters[0]->dst_port == 53 && f->filters[0]->drop &&
		      f->filters[0]->priority == 1);
	compile_config_free(cfg);
	f = flow_of(s, c, &cfg);
	CHECK(f && f->n_filters == 0);
	compile_config_free(cfg);

	/* a's filters gone: its section is empty again, at a newer revision. */
	ra = rev_of(s, a, "flow"), rb = rev_of(s, b, "flow");
	CHECK(s->ops->begin(s) == 0 && s->ops->flow_delete(s, ssh) == 0 &&
	      s->ops->flow_delete(s, ping) == 0);
	CHECK(compile_network(s, net, &changed) == 0 && s->ops->commit(s) == 0);
	CHECK(changed_is(&changed, 1, (int64_t[]){a}));
	idvec_free(&changed);
	CHECK(rev_of(s, a, "flow") > ra && rev_of(s, b, "flow") == rb);
	f = flow_of(s, a, &cfg);
	CHECK(f && f->n_filters == 0 && f->revision == rev_of(s, a, "flow"));
	compile_config_free(cfg);

	CHECK(s->ops->begin(s) == 0 && s->ops->flow_delete(s, dns) == 0 &&
	      s->ops->flow_delete(s, bad) == 0);
	CHECK(compile_network(s, net, NULL) == 0 && s->ops->commit(s) == 0);
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
	test_dns(s, net.id, a, b, c);
	test_fw_keep_dns(s, net.id, (int64_t[]){a, b, c}, 3);
	test_lb(s, net.id, a, b, c);
	test_clients(s);
	test_qos(s, net.id, a, b);
	test_flow(s, net.id, a, b, c);

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
	CHECK(store_test_dir_remove(dir) == 0);
	return check_result();
}
