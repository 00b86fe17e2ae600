// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the compiler driver against a real SQLite store in a temp
 * dir: revisions bump only for nodes whose section changed, and a hub
 * network named before its hub joins compiles once the hub is there. The
 * firewall: every node has a section (empty when no policy selects it),
 * selectors follow label changes and joins with no policy edit, and only the
 * nodes whose firewall section changed get a new firewall revision.
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
