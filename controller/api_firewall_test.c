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
#include "controller/api.h"
#include "controller/compile.h"
#include "proto/rpc.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define URL "inproc://api_firewall_test"

static struct ctl ctl;
static nng_socket sock;
static char admin[NF_TOKEN_STRLEN], reader[NF_TOKEN_STRLEN];
static struct nf_status st;

static void make_token(char *buf, const char *id, const char *role)
{
	struct st_api_token t = {.created = 1};

	CHECK(nf_api_token_new(buf, NF_TOKEN_STRLEN, t.hash) == 0);
	snprintf(t.id, sizeof(t.id), "%s", id);
	snprintf(t.role, sizeof(t.role), "%s", role);
	CHECK(ctl.store->ops->api_token_insert(ctl.store, &t) == 0);
}

/* One call; returns the reply (free with protobuf_c_message_free_unpacked) or NULL. */
static ProtobufCMessage *call(const char *token, const char *method, const ProtobufCMessage *req,
                              const ProtobufCMessageDescriptor *reply_desc)
{
	ProtobufCMessage *reply = NULL;

	memset(&st, 0, sizeof(st));
	CHECK(nf_rpc_call(sock, method, token, req, reply_desc, &reply, &st, 5000) == 0);
	return st.code == NETFN__STATUS__OK ? reply : NULL;
}

static void done(ProtobufCMessage *m)
{
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
}

/* True when the last call failed with code on field. */
static bool failed(int code, const char *field)
{
	if (st.code == code && strcmp(st.field, field) == 0)
		return true;
	fprintf(stderr, "expected %s on '%s', got %s on '%s': %s\n", nf_status_name(code), field,
	        nf_status_name(st.code), st.field, st.message);
	return false;
}

static int count_audit(void *ctx, const struct st_audit *a)
{
	(void)a;
	(*(int *)ctx)++;
	return 0;
}

static int audits(void)
{
	int n = 0;

	CHECK(ctl.store->ops->audit_list(ctl.store, 100000, count_audit, &n) == 0);
	return n;
}

static int count_policy(void *ctx, const struct st_fw_policy *p)
{
	(void)p;
	(*(int *)ctx)++;
	return 0;
}

static int policies(void)
{
	int n = 0;

	CHECK(ctl.store->ops->fw_policy_list(ctl.store, 0, count_policy, &n) == 0);
	return n;
}

static uint64_t fwrev(int64_t node)
{
	struct st_section sec;

	return ctl.store->ops->section_get(ctl.store, node, "firewall", &sec) == 0 ? sec.desired_rev
	                                                                           : 0;
}

static void network_create(const char *name, const char *cidr)
{
	Netfn__Network n = NETFN__NETWORK__INIT;

	n.name = (char *)name;
	n.cidr = (char *)cidr;
	done(call(admin, "network.create", &n.base, &netfn__network__descriptor));
	CHECK(st.code == NETFN__STATUS__OK);
}

static int64_t node_add(const char *network, const char *name, const char *addr, const char *role)
{
	struct store *s = ctl.store;
	struct st_network net;
	struct st_node n = {.created = 1};

	CHECK(s->ops->network_get(s, network, &net) == 0);
	n.network_id = net.id;
	snprintf(n.name, sizeof(n.name), "%s", name);
	memset(n.id_pk, name[0] + name[1], sizeof(n.id_pk));
	memset(n.wg_pk, name[0] + name[1] + 100, sizeof(n.wg_pk));
	inet_pton(AF_INET, addr, &n.overlay_addr);
	if (role) {
		strcpy(n.labels[0].key, "role");
		snprintf(n.labels[0].value, ST_NAME_MAX, "%s", role);
		n.n_labels = 1;
	}
	CHECK(s->ops->begin(s) == 0 && s->ops->node_insert(s, &n) == 0);
	CHECK(compile_network(s, net.id, NULL) == 0 && s->ops->commit(s) == 0);
	return n.id;
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
	return (Netfn__FwPolicy *)call(token, "firewall.policy.create", &p.base,
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
	return (Netfn__FwPolicy *)call(admin, "firewall.rule.add", &a.base,
	                               &netfn__fw_policy__descriptor);
}

static Netfn__FwPolicy *rule_del(const char *policy, const char *network, uint64_t id)
{
	Netfn__FwRuleRef r = NETFN__FW_RULE_REF__INIT;

	r.policy = (char *)policy;
	r.network = (char *)network;
	r.id = id;
	return (Netfn__FwPolicy *)call(admin, "firewall.rule.del", &r.base,
	                               &netfn__fw_policy__descriptor);
}

static Netfn__FwPolicy *show(const char *name, const char *network)
{
	Netfn__NameRef r = NETFN__NAME_REF__INIT;

	r.name = (char *)name;
	r.network = (char *)network;
	return (Netfn__FwPolicy *)call(reader, "firewall.policy.show", &r.base,
	                               &netfn__fw_policy__descriptor);
}

/* Refusals of one rule through policy create: the field named, nothing stored. */
static void test_refusals(void)
{
	struct rule_buf b, b2;
	Netfn__FwRule *one[1], *two[2];
	int a0 = audits(), p0 = policies();
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
		CHECK(!policy_create(admin, "p1", "prod", NULL, false, one, 1));
		CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, bad[i].field));
	}
	/* The value is shown, made printable. */
	one[0] = rule(&b, "tcp", "10.0.0.0/8\n;x", "", "accept");
	CHECK(!policy_create(admin, "p1", "prod", NULL, false, one, 1));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "src"));
	CHECK(strstr(st.message, "'10.0.0.0/8?;x'") != NULL);

	one[0] = rule(&b, "tcp", NULL, "", "accept");
	one[0]->direction = "sideways";
	CHECK(!policy_create(admin, "p1", "prod", NULL, false, one, 1));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "direction"));
	one[0] = rule(&b, "tcp", NULL, "", "accept");
	one[0]->rate = "10/fortnight";
	CHECK(!policy_create(admin, "p1", "prod", NULL, false, one, 1));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "rate"));
	one[0]->rate = "";
	one[0]->log_prefix = "x\"; flush ruleset; \"";
	CHECK(!policy_create(admin, "p1", "prod", NULL, false, one, 1));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "log_prefix"));
	one[0] = rule(&b, "tcp", NULL, "", "accept");
	b.dst[0] = "abc/8";
	b.pb.n_dst = 1;
	CHECK(!policy_create(admin, "p1", "prod", NULL, false, one, 1));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "dst"));

	/* One bad rule of two: nothing is stored, and the message says which. */
	two[0] = rule(&b, "tcp", NULL, "80", "accept");
	two[1] = rule(&b2, "tcp", NULL, "70000", "accept");
	CHECK(!policy_create(admin, "p1", "prod", NULL, false, two, 2));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "dst_port"));
	CHECK(strncmp(st.message, "rule 2: ", 8) == 0);

	/* The policy's own fields. */
	static const char *const names[] = {"a\"b", "a'b", "a;b", "a\nb", "a b", "", "A", "-a"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		CHECK(!policy_create(admin, names[i], "prod", NULL, false, NULL, 0));
		CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "name"));
	}
	CHECK(!policy_create(admin, "p1", "nosuch", NULL, false, NULL, 0));
	CHECK(failed(NETFN__STATUS__NOT_FOUND, "network"));
	CHECK(!policy_create(admin, "p1", "", NULL, false, NULL, 0));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "network"));
	CHECK(!policy_create(admin, "p1", "prod", "v;rm", false, NULL, 0));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "selector"));
	Netfn__FwPolicy p = NETFN__FW_POLICY__INIT;
	p.name = "p1";
	p.network = "prod";
	p.block_ssh = true;
	CHECK(!call(admin, "firewall.policy.create", &p.base, &netfn__fw_policy__descriptor));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "block_ssh"));

	/* A reader may look but not change. */
	CHECK(!policy_create(reader, "p1", "prod", NULL, false, NULL, 0));
	CHECK(failed(NETFN__STATUS__PERMISSION_DENIED, "token"));

	CHECK(audits() == a0 && policies() == p0);
}

int main(void)
{
	char dir[] = "/tmp/netfn-api-fw-XXXXXX";
	struct rule_buf b1, b2, b3;
	Netfn__FwRule *rules[2];
	Netfn__FwPolicy *pol;
	int64_t web, db, other;
	uint64_t fweb, fdb, fother;
	int a0;

	CHECK(nf_crypto_init() == 0);
	CHECK(mkdtemp(dir) != NULL);
	pthread_mutex_init(&ctl.lock, NULL);
	ctl.heartbeat_ms = 1000;
	CHECK(store_open(dir, &ctl.store) == 0);
	if (!ctl.store)
		return check_result();
	make_token(admin, "admin1", "admin");
	make_token(reader, "reader1", "reader");
	CHECK(api_start(&ctl, (const char *const[]){URL}, 1, NULL) == 0);
	CHECK(nf_rpc_dial(URL, &sock) == 0);

	network_create("prod", "10.9.0.0/24");
	network_create("dev", "10.10.0.0/24");
	web = node_add("prod", "web1", "10.9.0.1", "web");
	db = node_add("prod", "db1", "10.9.0.2", "db");
	other = node_add("prod", "other1", "10.9.0.3", NULL);
	fweb = fwrev(web), fdb = fwrev(db), fother = fwrev(other);
	CHECK(fweb && fdb && fother);

	test_refusals();

	/* A policy with its rules: canonical text back, ids given, only db recompiled. */
	a0 = audits();
	rules[0] = rule(&b1, "tcp", "role=web", "5432,80-80", "accept");
	rules[1] = rule(&b2, "", "10.9.0.9", "", "drop");
	pol = policy_create(admin, "dbpol", "prod", "db", true, rules, 2);
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
	done((ProtobufCMessage *)pol);
	CHECK(audits() == a0 + 1);
	CHECK(fwrev(db) > fdb && fwrev(web) == fweb && fwrev(other) == fother);
	fdb = fwrev(db);

	/* The same name again, in the same network. */
	CHECK(!policy_create(admin, "dbpol", "prod", NULL, false, NULL, 0));
	CHECK(failed(NETFN__STATUS__ALREADY_EXISTS, "name"));

	/* Rules: added in front, refused past the end, deleted by id. */
	a0 = audits();
	pol = rule_add("dbpol", "", rule(&b3, "icmp", NULL, "", "accept"), 1);
	CHECK(pol && pol->n_rules == 3 && pol->rules[0]->id > r2 && pol->rules[1]->id == r1);
	done((ProtobufCMessage *)pol);
	CHECK(fwrev(db) > fdb && fwrev(web) == fweb);
	fdb = fwrev(db);
	CHECK(!rule_add("dbpol", "prod", rule(&b3, "icmp", NULL, "", "accept"), 5));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "position"));
	CHECK(!rule_add("dbpol", "prod", rule(&b3, "icmp", NULL, "22", "accept"), 0));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "dst_port"));
	CHECK(!rule_add("nosuch", "", rule(&b3, "icmp", NULL, "", "accept"), 0));
	CHECK(failed(NETFN__STATUS__NOT_FOUND, "policy"));
	Netfn__FwRuleAdd empty = NETFN__FW_RULE_ADD__INIT;
	empty.policy = "dbpol";
	CHECK(!call(admin, "firewall.rule.add", &empty.base, &netfn__fw_policy__descriptor));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "rule"));
	pol = rule_del("dbpol", "prod", r1);
	CHECK(pol && pol->n_rules == 2 && pol->rules[1]->id == r2);
	done((ProtobufCMessage *)pol);
	CHECK(!rule_del("dbpol", "prod", r1));
	CHECK(failed(NETFN__STATUS__NOT_FOUND, "id"));
	CHECK(audits() == a0 + 2);

	/* A rule of another policy is not this policy's to delete. */
	pol = policy_create(admin, "webpol", "prod", "web", false, NULL, 0);
	CHECK(pol && pol->n_rules == 0);
	done((ProtobufCMessage *)pol);
	CHECK(fwrev(web) == fweb); /* an empty policy changes nothing on web */
	CHECK(!rule_del("webpol", "prod", r2));
	CHECK(failed(NETFN__STATUS__NOT_FOUND, "id"));

	/* web's label changes: db's section follows, with no policy edit. */
	fdb = fwrev(db);
	rules[0] = rule(&b1, "tcp", "role=web", "5432", "accept");
	pol = rule_add("dbpol", "prod", rules[0], 0);
	done((ProtobufCMessage *)pol);
	fdb = fwrev(db);
	Netfn__NodeLabelRequest lr = NETFN__NODE_LABEL_REQUEST__INIT;
	char *rm[] = {"role"};
	lr.name = "web1";
	lr.remove = rm;
	lr.n_remove = 1;
	done(call(admin, "node.label", &lr.base, &netfn__node__descriptor));
	CHECK(st.code == NETFN__STATUS__OK);
	CHECK(fwrev(db) > fdb && fwrev(other) == fother);

	/* Show and list, by a reader; a name in two networks needs the network. */
	pol = show("dbpol", "");
	CHECK(pol && pol->n_rules == 3 && strcmp(pol->name, "dbpol") == 0);
	done((ProtobufCMessage *)pol);
	pol = policy_create(admin, "dbpol", "dev", NULL, false, NULL, 0);
	CHECK(pol != NULL);
	done((ProtobufCMessage *)pol);
	CHECK(!show("dbpol", ""));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "network"));
	pol = show("dbpol", "dev");
	CHECK(pol && pol->n_rules == 0 && strcmp(pol->network, "dev") == 0);
	done((ProtobufCMessage *)pol);
	CHECK(!show("nosuch", ""));
	CHECK(failed(NETFN__STATUS__NOT_FOUND, "name"));
	Netfn__NodeListRequest lreq = NETFN__NODE_LIST_REQUEST__INIT;
	lreq.network = "prod";
	Netfn__FwPolicyList *list = (Netfn__FwPolicyList *)call(
	    reader, "firewall.policy.list", &lreq.base, &netfn__fw_policy_list__descriptor);
	CHECK(list && list->n_policies == 2);
	CHECK(list && strcmp(list->policies[0]->name, "dbpol") == 0 &&
	      strcmp(list->policies[1]->name, "webpol") == 0);
	done((ProtobufCMessage *)list);
	lreq.network = "";
	list = (Netfn__FwPolicyList *)call(reader, "firewall.policy.list", &lreq.base,
	                                   &netfn__fw_policy_list__descriptor);
	CHECK(list && list->n_policies == 3);
	done((ProtobufCMessage *)list);
	lreq.network = "nosuch";
	CHECK(
	    !call(reader, "firewall.policy.list", &lreq.base, &netfn__fw_policy_list__descriptor));
	CHECK(failed(NETFN__STATUS__NOT_FOUND, "network"));

	/* Delete: db's section empties; a reader may not. */
	Netfn__NameRef ref = NETFN__NAME_REF__INIT;
	ref.name = "dbpol";
	ref.network = "prod";
	CHECK(!call(reader, "firewall.policy.delete", &ref.base, &netfn__empty__descriptor));
	CHECK(failed(NETFN__STATUS__PERMISSION_DENIED, "token"));
	fdb = fwrev(db);
	a0 = audits();
	done(call(admin, "firewall.policy.delete", &ref.base, &netfn__empty__descriptor));
	CHECK(st.code == NETFN__STATUS__OK && audits() == a0 + 1 && fwrev(db) > fdb);
	struct st_node ndb;
	struct fw_config fw;
	CHECK(ctl.store->ops->node_get_id(ctl.store, db, &ndb) == 0);
	CHECK(compile_node_firewall(ctl.store, &ndb, &fw) == 0 && fw.n_rules == 0 &&
	      !fw.default_deny);
	fw_config_free(&fw);
	CHECK(!call(admin, "firewall.policy.delete", &ref.base, &netfn__empty__descriptor));
	CHECK(failed(NETFN__STATUS__NOT_FOUND, "name"));

	/* Deleting a network deletes its policies. */
	ref.name = "dev";
	ref.network = "";
	done(call(admin, "network.delete", &ref.base, &netfn__empty__descriptor));
	CHECK(st.code == NETFN__STATUS__OK && policies() == 1);

	nng_close(sock);
	api_stop();
	store_close(ctl.store);
	for (const char *const *f =
	         (const char *const[]){"netfn.db", "netfn.db-wal", "netfn.db-shm", NULL};
	     *f; f++) {
		char path[128];
		snprintf(path, sizeof(path), "%s/%s", dir, *f);
		unlink(path);
	}
	rmdir(dir);
	return check_result();
}
