// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the firewall API, through the real dispatcher over nng's
 * inproc transport with a store in a temp dir: policies created with their
 * rules, listed, shown (with or without the network), deleted; rules added
 * at a place and deleted; every refusal names its field and stores nothing
 * (no policy, no audit entry); a reader token cannot mutate; each mutation
 * is audited once and wakes only the nodes whose firewall section changed,
 * including when a node's labels change under a selector.
 */
#include "controller/api_test_util.h"
#include "controller/compile.h"
#include "proto/rpc.h"
#include "tests/check.h"

#include <string.h>

static struct api_test api;

static int count_policy(void *ctx, const struct st_fw_policy *p)
{
	(void)p;
	(*(int *)ctx)++;
	return 0;
}

static int policies(void)
{
	int n = 0;

	CHECK(api.ctl.store->ops->fw_policy_list(api.ctl.store, 0, count_policy, &n) == 0);
	return n;
}

static uint64_t fwrev(int64_t node)
{
	return api_test_rev(&api, node, "firewall");
}

/* A rule message; lists are given as NULL-terminated arrays. */
struct rule_buf {
	Netfn__FwRule pb;
	char *src[4], *dst[4];
};

static Netfn__FwRule *rule(struct rule_buf *b, const char *proto, const char *src,
                           const char *ports, const char *action)
{
	netfn__fw_rule__init(&b->pb);
	b->pb.direction = "in";
	b->pb.protocol = (char *)proto;
	b->pb.dst_port = (char *)ports;
	b->pb.action = (char *)action;
	b->pb.src = b->src;
	b->pb.dst = b->dst;
	if (src) {
		b->src[0] = (char *)src;
		b->pb.n_src = 1;
	}
	return &b->pb;
}

static Netfn__FwPolicy *policy_create(const char *token, const char *name, const char *network,
                                      const char *role, bool deny, Netfn__FwRule **rules, size_t n)
{
	Netfn__FwPolicy p = NETFN__FW_POLICY__INIT;
	Netfn__Label l = NETFN__LABEL__INIT, *lp = &l;

	p.name = (char *)name;
	p.network = (char *)network;
	if (role) {
		l.key = "role";
		l.value = (char *)role;
		p.selector = &lp;
		p.n_selector = 1;
	}
	p.default_deny = deny;
	p.rules = rules;
	p.n_rules = n;
	return (Netfn__FwPolicy *)api_test_call(&api, token, "firewall.policy.create", &p.base,
	                                        &netfn__fw_policy__descriptor);
}

static Netfn__FwPolicy *rule_add(const char *policy, const char *network, Netfn__FwRule *r,
                                 uint32_t position)
{
	Netfn__FwRuleAdd a = NETFN__FW_RULE_ADD__INIT;

	a.policy = (char *)policy;
	a.network = (char *)network;
	a.rule = r;
	a.position = position;
	return (Netfn__FwPolicy *)api_test_call(&api, api.admin, "firewall.rule.add", &a.base,
	                                        &netfn__fw_policy__descriptor);
}

static Netfn__FwPolicy *rule_del(const char *policy, const char *network, uint64_t id)
{
	Netfn__FwRuleRef r = NETFN__FW_RULE_REF__INIT;

	r.policy = (char *)policy;
	r.network = (char *)network;
	r.id = id;
	return (Netfn__FwPolicy *)api_test_call(&api, api.admin, "firewall.rule.del", &r.base,
	                                        &netfn__fw_policy__descriptor);
}

static Netfn__FwPolicy *show(const char *name, const char *network)
{
	return (Netfn__FwPolicy *)api_test_call_ref(&api, api.reader, "firewall.policy.show", name,
	                                            network, &netfn__fw_policy__descriptor);
}

/* Refusals of one rule through policy create: the field named, nothing stored. */
static void test_refusals(void)
{
	struct rule_buf b, b2;
	Netfn__FwRule *one[1], *two[2];
	int a0 = api_test_audits(&api), p0 = policies();
	static const struct {
		const char *proto, *src, *ports, *action, *field;
	} bad[] = {
	    {"tcp", NULL, "70000", "accept", "dst_port"},
	    {"tcp", NULL, "80;rm -rf /", "accept", "dst_port"},
	    {"icmp", NULL, "22", "accept", "dst_port"},
	    {"tcp", "10.0.0.300/32", "", "accept", "src"},
	    {"tcp", "10.0.0.0/8;id", "", "accept", "src"},
	    {"tcp", "role=\"web\"", "", "accept", "src"},
	    {"tcp", "10.0.0.0/8 10.1.0.0/16", "", "accept", "src"},
	    {"tcp;udp", NULL, "", "accept", "protocol"},
	    {"tcp", NULL, "80", "explode", "action"},
	    {"tcp", NULL, "80", "", "action"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		one[0] = rule(&b, bad[i].proto, bad[i].src, bad[i].ports, bad[i].action);
		CHECK(!policy_create(api.admin, "p1", "prod", NULL, false, one, 1));
		CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, bad[i].field));
	}
	/* The value is shown, made printable. */
	one[0] = rule(&b, "tcp", "10.0.0.0/8\n;x", "", "accept");
	CHECK(!policy_create(api.admin, "p1", "prod", NULL, false, one, 1));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "src"));
	CHECK(strstr(api.st.message, "'10.0.0.0/8?;x'") != NULL);

	one[0] = rule(&b, "tcp", NULL, "", "accept");
	one[0]->direction = "sideways";
	CHECK(!policy_create(api.admin, "p1", "prod", NULL, false, one, 1));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "direction"));
	one[0] = rule(&b, "tcp", NULL, "", "accept");
	one[0]->rate = "10/fortnight";
	CHECK(!policy_create(api.admin, "p1", "prod", NULL, false, one, 1));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "rate"));
	one[0]->rate = "";
	one[0]->log_prefix = "x\"; flush ruleset; \"";
	CHECK(!policy_create(api.admin, "p1", "prod", NULL, false, one, 1));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "log_prefix"));
	one[0] = rule(&b, "tcp", NULL, "", "accept");
	b.dst[0] = "abc/8";
	b.pb.n_dst = 1;
	CHECK(!policy_create(api.admin, "p1", "prod", NULL, false, one, 1));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "dst"));

	/* One bad rule of two: nothing is stored, and the message says which. */
	two[0] = rule(&b, "tcp", NULL, "80", "accept");
	two[1] = rule(&b2, "tcp", NULL, "70000", "accept");
	CHECK(!policy_create(api.admin, "p1", "prod", NULL, false, two, 2));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "dst_port"));
	CHECK(strncmp(api.st.message, "rule 2: ", 8) == 0);

	/* The policy's own fields. */
	static const char *const names[] = {"a\"b", "a'b", "a;b", "a\nb", "a b", "", "A", "-a"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		CHECK(!policy_create(api.admin, names[i], "prod", NULL, false, NULL, 0));
		CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "name"));
	}
	CHECK(!policy_create(api.admin, "p1", "nosuch", NULL, false, NULL, 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "network"));
	CHECK(!policy_create(api.admin, "p1", "", NULL, false, NULL, 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "network"));
	CHECK(!policy_create(api.admin, "p1", "prod", "v;rm", false, NULL, 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "selector"));
	Netfn__FwPolicy p = NETFN__FW_POLICY__INIT;
	p.name = "p1";
	p.network = "prod";
	p.block_ssh = true;
	CHECK(!api_test_call(&api, api.admin, "firewall.policy.create", &p.base,
	                     &netfn__fw_policy__descriptor));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "block_ssh"));

	/* A reader may look but not change. */
	CHECK(!policy_create(api.reader, "p1", "prod", NULL, false, NULL, 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__PERMISSION_DENIED, "token"));

	CHECK(api_test_audits(&api) == a0 && policies() == p0);
}

int main(void)
{
	struct rule_buf b1, b2, b3;
	Netfn__FwRule *rules[2];
	Netfn__FwPolicy *pol;
	int64_t web, db, other;
	uint64_t fweb, fdb, fother;
	int a0;

	if (api_test_start(&api, "firewall"))
		return check_result();

	api_test_network_create(&api, "prod", "10.9.0.0/24");
	api_test_network_create(&api, "dev", "10.10.0.0/24");
	web = api_test_node_add(&api, "prod", "web1", "10.9.0.1", "web");
	db = api_test_node_add(&api, "prod", "db1", "10.9.0.2", "db");
	other = api_test_node_add(&api, "prod", "other1", "10.9.0.3", NULL);
	fweb = fwrev(web), fdb = fwrev(db), fother = fwrev(other);
	CHECK(fweb && fdb && fother);

	test_refusals();

	/* A policy with its rules: canonical text back, ids given, only db recompiled. */
	a0 = api_test_audits(&api);
	rules[0] = rule(&b1, "tcp", "role=web", "5432,80-80", "accept");
	rules[1] = rule(&b2, "", "10.9.0.9", "", "drop");
	pol = policy_create(api.admin, "dbpol", "prod", "db", true, rules, 2);
	CHECK(pol && pol->n_rules == 2 && pol->default_deny && !pol->block_ssh);
	uint64_t r1 = 0, r2 = 0;
	if (pol && pol->n_rules == 2) {
		CHECK(strcmp(pol->network, "prod") == 0 && pol->n_selector == 1);
		r1 = pol->rules[0]->id, r2 = pol->rules[1]->id;
		CHECK(r1 && r2 > r1);
		CHECK(strcmp(pol->rules[0]->dst_port, "80,5432") == 0);
		CHECK(strcmp(pol->rules[1]->protocol, "any") == 0);
		CHECK(pol->rules[1]->n_src == 1 &&
		      strcmp(pol->rules[1]->src[0], "10.9.0.9/32") == 0);
		CHECK(pol->rules[0]->packets == 0);
	}
	api_test_done(pol);
	CHECK(api_test_audits(&api) == a0 + 1);
	CHECK(fwrev(db) > fdb && fwrev(web) == fweb && fwrev(other) == fother);
	fdb = fwrev(db);

	/* The same name again, in the same network. */
	CHECK(!policy_create(api.admin, "dbpol", "prod", NULL, false, NULL, 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__ALREADY_EXISTS, "name"));

	/* Rules: added in front, refused past the end, deleted by id. */
	a0 = api_test_audits(&api);
	pol = rule_add("dbpol", "", rule(&b3, "icmp", NULL, "", "accept"), 1);
	CHECK(pol && pol->n_rules == 3 && pol->rules[0]->id > r2 && pol->rules[1]->id == r1);
	api_test_done(pol);
	CHECK(fwrev(db) > fdb && fwrev(web) == fweb);
	fdb = fwrev(db);
	CHECK(!rule_add("dbpol", "prod", rule(&b3, "icmp", NULL, "", "accept"), 5));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "position"));
	CHECK(!rule_add("dbpol", "prod", rule(&b3, "icmp", NULL, "22", "accept"), 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "dst_port"));
	CHECK(!rule_add("nosuch", "", rule(&b3, "icmp", NULL, "", "accept"), 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "policy"));
	Netfn__FwRuleAdd empty = NETFN__FW_RULE_ADD__INIT;
	empty.policy = "dbpol";
	CHECK(!api_test_call(&api, api.admin, "firewall.rule.add", &empty.base,
	                     &netfn__fw_policy__descriptor));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "rule"));
	pol = rule_del("dbpol", "prod", r1);
	CHECK(pol && pol->n_rules == 2 && pol->rules[1]->id == r2);
	api_test_done(pol);
	CHECK(!rule_del("dbpol", "prod", r1));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "id"));
	CHECK(api_test_audits(&api) == a0 + 2);

	/* A rule of another policy is not this policy's to delete. */
	pol = policy_create(api.admin, "webpol", "prod", "web", false, NULL, 0);
	CHECK(pol && pol->n_rules == 0);
	api_test_done(pol);
	CHECK(fwrev(web) == fweb); /* an empty policy changes nothing on web */
	CHECK(!rule_del("webpol", "prod", r2));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "id"));

	/* web's label changes: db's section follows, with no policy edit. */
	fdb = fwrev(db);
	rules[0] = rule(&b1, "tcp", "role=web", "5432", "accept");
	pol = rule_add("dbpol", "prod", rules[0], 0);
	api_test_done(pol);
	fdb = fwrev(db);
	Netfn__NodeLabelRequest lr = NETFN__NODE_LABEL_REQUEST__INIT;
	char *rm[] = {"role"};
	lr.name = "web1";
	lr.remove = rm;
	lr.n_remove = 1;
	api_test_done(
	    api_test_call(&api, api.admin, "node.label", &lr.base, &netfn__node__descriptor));
	CHECK(api.st.code == NETFN__STATUS__OK);
	CHECK(fwrev(db) > fdb && fwrev(other) == fother);

	/* Show and list, by a reader; a name in two networks needs the network. */
	pol = show("dbpol", "");
	CHECK(pol && pol->n_rules == 3 && strcmp(pol->name, "dbpol") == 0);
	api_test_done(pol);
	pol = policy_create(api.admin, "dbpol", "dev", NULL, false, NULL, 0);
	CHECK(pol != NULL);
	api_test_done(pol);
	CHECK(!show("dbpol", ""));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "network"));
	pol = show("dbpol", "dev");
	CHECK(pol && pol->n_rules == 0 && strcmp(pol->network, "dev") == 0);
	api_test_done(pol);
	CHECK(!show("nosuch", ""));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "name"));
	Netfn__NodeListRequest lreq = NETFN__NODE_LIST_REQUEST__INIT;
	lreq.network = "prod";
	Netfn__FwPolicyList *list =
	    (Netfn__FwPolicyList *)api_test_call(&api, api.reader, "firewall.policy.list",
	                                         &lreq.base, &netfn__fw_policy_list__descriptor);
	CHECK(list && list->n_policies == 2);
	CHECK(list && strcmp(list->policies[0]->name, "dbpol") == 0 &&
	      strcmp(list->policies[1]->name, "webpol") == 0);
	api_test_done(list);
	lreq.network = "";
	list = (Netfn__FwPolicyList *)api_test_call(&api, api.reader, "firewall.policy.list",
	                                            &lreq.base, &netfn__fw_policy_list__descriptor);
	CHECK(list && list->n_policies == 3);
	api_test_done(list);
	lreq.network = "nosuch";
	CHECK(!api_test_call(&api, api.reader, "firewall.policy.list", &lreq.base,
	                     &netfn__fw_policy_list__descriptor));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "network"));

	/* Delete: db's section empties; a reader may not. */
	Netfn__NameRef ref = NETFN__NAME_REF__INIT;
	ref.name = "dbpol";
	ref.network = "prod";
	CHECK(!api_test_call(&api, api.reader, "firewall.policy.delete", &ref.base,
	                     &netfn__empty__descriptor));
	CHECK(api_test_failed(&api, NETFN__STATUS__PERMISSION_DENIED, "token"));
	fdb = fwrev(db);
	a0 = api_test_audits(&api);
	api_test_done(api_test_call(&api, api.admin, "firewall.policy.delete", &ref.base,
	                            &netfn__empty__descriptor));
	CHECK(api.st.code == NETFN__STATUS__OK && api_test_audits(&api) == a0 + 1 &&
	      fwrev(db) > fdb);
	struct st_node ndb;
	struct fw_config fw;
	CHECK(api.ctl.store->ops->node_get_id(api.ctl.store, db, &ndb) == 0);
	CHECK(compile_node_firewall(api.ctl.store, &ndb, &fw) == 0 && fw.n_rules == 0 &&
	      !fw.default_deny);
	fw_config_free(&fw);
	CHECK(!api_test_call(&api, api.admin, "firewall.policy.delete", &ref.base,
	                     &netfn__empty__descriptor));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "name"));

	/* Deleting a network deletes its policies. */
	ref.name = "dev";
	ref.network = "";
	api_test_done(
	    api_test_call(&api, api.admin, "network.delete", &ref.base, &netfn__empty__descriptor));
	CHECK(api.st.code == NETFN__STATUS__OK && policies() == 1);

	api_test_stop(&api);
	return check_result();
}
