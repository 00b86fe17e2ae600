// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the overlay DNS API, through the real dispatcher over nng's
 * inproc transport with a store in a temp dir: a network's domain and
 * server count on create (defaults, lower case, refusals); every refusal of
 * a record names its field and stores nothing (no record, no audit entry);
 * names and values made canonical against the zone; an alias (CNAME) shares
 * its name with nothing, a node's own name included; exact duplicates
 * refused; the zone with the nodes' own names first and where its server
 * runs; a record change reaching only the serving node's section; delete
 * by id; node rename (checked, unique, the hub following it, the zone
 * showing the new name); and a network's records going with it.
 */
#include "controller/api.h"
#include "controller/compile.h"
#include "netfns/dns/dns.h"
#include "proto/rpc.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define URL "inproc://api_dns_test"

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

/* One call; returns the reply (free with done) or NULL. */
static ProtobufCMessage *call(const char *token, const char *method, const ProtobufCMessage *req,
                              const ProtobufCMessageDescriptor *reply_desc)
{
	ProtobufCMessage *reply = NULL;

	memset(&st, 0, sizeof(st));
	CHECK(nf_rpc_call(sock, method, token, req, reply_desc, &reply, &st, 5000) == 0);
	return st.code == NETFN__STATUS__OK ? reply : NULL;
}

static void done(void *m)
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

static int count_record(void *ctx, const struct st_dns_record *r)
{
	(void)r;
	(*(int *)ctx)++;
	return 0;
}

static int count_network(void *ctx, const struct st_network *n)
{
	int *total = ctx;

	CHECK(ctl.store->ops->dns_record_list(ctl.store, n->id, count_record, total) == 0);
	return 0;
}

/* Custom records in every network. */
static int records(void)
{
	int n = 0;

	CHECK(ctl.store->ops->network_list(ctl.store, count_network, &n) == 0);
	return n;
}

static Netfn__Network *network_create(const char *name, const char *cidr, const char *domain,
                                      uint32_t replicas)
{
	Netfn__Network n = NETFN__NETWORK__INIT;

	n.name = (char *)name;
	n.cidr = (char *)cidr;
	n.domain = (char *)domain;
	n.dns_replicas = replicas;
	return (Netfn__Network *)call(admin, "network.create", &n.base,
	                              &netfn__network__descriptor);
}

static int64_t node_add(const char *network, const char *name, const char *addr)
{
	struct store *s = ctl.store;
	struct st_network net;
	struct st_node n = {.created = 1};

	CHECK(s->ops->network_get(s, network, &net) == 0);
	n.network_id = net.id;
	snprintf(n.name, sizeof(n.name), "%s", name);
	memset(n.id_pk, name[0] + name[strlen(name) - 1], sizeof(n.id_pk));
	memset(n.wg_pk, name[0] + name[strlen(name) - 1] + 100, sizeof(n.wg_pk));
	inet_pton(AF_INET, addr, &n.overlay_addr);
	CHECK(s->ops->begin(s) == 0 && s->ops->node_insert(s, &n) == 0);
	CHECK(compile_network(s, net.id, NULL) == 0 && s->ops->commit(s) == 0);
	return n.id;
}

static Netfn__DnsRecord *add(const char *token, const char *network, const char *name,
                             const char *type, const char *value, uint32_t ttl)
{
	Netfn__DnsRecord r = NETFN__DNS_RECORD__INIT;

	r.network = (char *)network;
	r.name = (char *)name;
	r.type = (char *)type;
	r.value = (char *)value;
	r.ttl = ttl;
	return (Netfn__DnsRecord *)call(token, "dns.record_add", &r.base,
	                                &netfn__dns_record__descriptor);
}

static bool del(const char *token, const char *network, uint64_t id)
{
	Netfn__DnsRecordRef r = NETFN__DNS_RECORD_REF__INIT;
	ProtobufCMessage *e;

	r.network = (char *)network;
	r.id = id;
	e = call(token, "dns.record_delete", &r.base, &netfn__empty__descriptor);
	done(e);
	return e != NULL;
}

static Netfn__DnsZone *zone(const char *network)
{
	Netfn__NodeListRequest r = NETFN__NODE_LIST_REQUEST__INIT;

	r.network = (char *)network;
	return (Netfn__DnsZone *)call(reader, "dns.zone", &r.base, &netfn__dns_zone__descriptor);
}

static Netfn__Node *rename_node(const char *name, const char *network, const char *new_name)
{
	Netfn__NodeRename r = NETFN__NODE_RENAME__INIT;

	r.name = (char *)name;
	r.network = (char *)network;
	r.new_name = (char *)new_name;
	return (Netfn__Node *)call(admin, "node.rename", &r.base, &netfn__node__descriptor);
}

/* The record named name of type in z, or NULL. */
static const Netfn__DnsRecord *find(const Netfn__DnsZone *z, const char *name, const char *type)
{
	for (size_t i = 0; z && i < z->n_records; i++)
		if (!strcmp(z->records[i]->name, name) && !strcmp(z->records[i]->type, type))
			return z->records[i];
	return NULL;
}

static uint64_t dns_rev(int64_t node)
{
	struct st_section sec;

	return ctl.store->ops->section_get(ctl.store, node, "dns", &sec) == 0 ? sec.desired_rev : 0;
}

/* labels 10-character chunks ("abcdefghi.") then tail: a name of 10 * labels + strlen(tail). */
static const char *long_name(char *buf, size_t len, int labels, const char *tail)
{
	buf[0] = '\0';
	for (int i = 0; i < labels; i++)
		strncat(buf, "abcdefghi.", len - strlen(buf) - 1);
	strncat(buf, tail, len - strlen(buf) - 1);
	return buf;
}

/* dev's domain: 152 characters, so its zone (dev.<domain>) has 156. */
static char dev_domain[160];
static char dev_zone[170];

static void test_networks(void)
{
	Netfn__Network *n;
	char buf[256];

	/* The defaults; a domain is kept in lower case. */
	n = network_create("prod", "10.9.0.0/24", "", 0);
	CHECK(n && !strcmp(n->domain, "netfn.internal") && n->dns_replicas == 1);
	done(n);
	long_name(dev_domain, sizeof(dev_domain), 14, "Corp.Example");
	n = network_create("dev", "10.10.0.0/24", dev_domain, 2);
	long_name(dev_domain, sizeof(dev_domain), 14, "corp.example");
	snprintf(dev_zone, sizeof(dev_zone), "dev.%s", dev_domain);
	CHECK(strlen(dev_zone) == 156);
	CHECK(n && !strcmp(n->domain, dev_domain) && n->dns_replicas == 2);
	done(n);
	Netfn__NameRef ref = NETFN__NAME_REF__INIT;
	ref.name = "dev";
	n = (Netfn__Network *)call(reader, "network.show", &ref.base, &netfn__network__descriptor);
	CHECK(n && !strcmp(n->domain, dev_domain) && n->dns_replicas == 2);
	done(n);

	/* Refusals name their field. */
	CHECK(!network_create("x", "10.11.0.0/24", "bad domain", 0));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "domain"));
	CHECK(!network_create("x", "10.11.0.0/24", "example.com.", 0));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "domain"));
	CHECK(!network_create("x", "10.11.0.0/24", "-a.example", 0));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "domain"));
	/* 190 characters fit the store, but not with a 63-character name in front. */
	CHECK(!network_create("a-rather-long-network-name-for-a-zone-that-is-sixty-three-chars",
	                      "10.11.0.0/24", long_name(buf, sizeof(buf), 18, "abcdefghij"), 0));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "domain"));
	/* 192 do not fit at all. */
	CHECK(!network_create("x", "10.11.0.0/24", long_name(buf, sizeof(buf), 19, "ab"), 0));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "domain"));
	CHECK(!network_create("x", "10.11.0.0/24", "", 3));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "dns_replicas"));
}

/* Each spoiled add: refused on its field, nothing stored. */
static void test_refusals(void)
{
	int a0 = audits(), r0 = records();
	char buf[256];
	Netfn__DnsRecord *r;

	static const char *const names[] = {"a b", "-a", "a..b", "x.", "", "a;b", "\x01"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		CHECK(!add(admin, "prod", names[i], "A", "10.9.0.50", 0));
		CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "name"));
	}
	/* With dev's 156-character zone, 97 characters are one too many (253). */
	CHECK(!add(admin, "dev", long_name(buf, sizeof(buf), 9, "abcdefg"), "A", "10.9.0.50", 0));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "name"));
	CHECK(strlen(buf) == 97);
	r = add(admin, "dev", long_name(buf, sizeof(buf), 9, "abcdef"), "A", "10.9.0.50", 0);
	CHECK(r != NULL);
	CHECK(r && del(admin, "dev", r->id));
	done(r);
	a0 = audits();
	/* 192 characters do not fit the store, whatever the zone. */
	CHECK(!add(admin, "prod", long_name(buf, sizeof(buf), 19, "ab"), "A", "10.9.0.50", 0));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "name"));
	CHECK(!add(admin, "prod", "@", "CNAME", "www", 0));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "name"));

	static const char *const types[] = {"MX", "", "A;", "NS"};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		CHECK(!add(admin, "prod", "x", types[i], "10.9.0.50", 0));
		CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "type"));
	}

	static const struct {
		const char *type, *value;
	} values[] = {
	    {"A", "10.9.0.300"},
	    {"A", "fd00::1"},
	    {"A", ""},
	    {"AAAA", "10.9.0.1"},
	    {"CNAME", "a b"},
	    {"CNAME", "."},
	    {"SRV", "1 2 x www"},
	    {"SRV", "1 2 80"},
	    {"SRV", "70000 1 80 www"},
	    {"TXT", "line\nbreak"},
	    {"CNAME", "x"}, /* an alias of itself */
	    {"CNAME", "x.prod.netfn.internal."},
	};
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		CHECK(!add(admin, "prod", "x", values[i].type, values[i].value, 0));
		CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "value"));
	}
	CHECK(!add(admin, "prod", "x", "A", "10.9.0.50", DNS_TTL_MAX + 1));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "ttl"));

	/* Which network: a missing one, or none named with two there. */
	CHECK(!add(admin, "nosuch", "x", "A", "10.9.0.50", 0));
	CHECK(failed(NETFN__STATUS__NOT_FOUND, "network"));
	CHECK(!add(admin, "", "x", "A", "10.9.0.50", 0));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "network"));

	/* A reader may look but not change. */
	CHECK(!add(reader, "prod", "x", "A", "10.9.0.50", 0));
	CHECK(failed(NETFN__STATUS__PERMISSION_DENIED, "token"));

	CHECK(audits() == a0 && records() == r0);
}

int main(void)
{
	char dir[] = "/tmp/netfn-api-dns-XXXXXX";
	Netfn__DnsRecord *r;
	Netfn__DnsZone *z;
	Netfn__Node *node;
	const Netfn__DnsRecord *got;
	int64_t web1, web2;
	uint64_t www, rev1, rev2;
	int a0, r0;

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

	test_networks();
	web1 = node_add("prod", "web1", "10.9.0.1");
	web2 = node_add("prod", "web2", "10.9.0.2");
	test_refusals();

	/* An A record: name in lower case, the type canonical, ttl 0 is 60. */
	a0 = audits();
	rev1 = dns_rev(web1), rev2 = dns_rev(web2);
	CHECK(rev1 && rev2);
	r = add(admin, "prod", "WWW", "a", "10.9.0.1", 0);
	CHECK(r && r->id > 0 && !strcmp(r->network, "prod") && !strcmp(r->name, "www"));
	CHECK(r && !strcmp(r->type, "A") && !strcmp(r->value, "10.9.0.1") && r->ttl == 60 &&
	      !r->automatic);
	www = r ? r->id : 0;
	done(r);
	CHECK(audits() == a0 + 1 && records() == 1);
	/* Only the serving node's section moved (the server is on web1, the lowest id). */
	CHECK(dns_rev(web1) > rev1 && dns_rev(web2) == rev2);

	/* Values made canonical against the zone. */
	r = add(admin, "prod", "app", "CNAME", "WWW", 300);
	CHECK(r && !strcmp(r->value, "www.prod.netfn.internal") && r->ttl == 300);
	done(r);
	r = add(admin, "prod", "ext", "CNAME", "Example.COM.", 0);
	CHECK(r && !strcmp(r->value, "example.com"));
	done(r);
	r = add(admin, "prod", "_http._tcp", "srv", "10 5 80 www", 0);
	CHECK(r && !strcmp(r->type, "SRV") && !strcmp(r->value, "10 5 80 www.prod.netfn.internal"));
	done(r);
	r = add(admin, "prod", "@", "TXT", "v=spf1 -all", 0);
	CHECK(r && !strcmp(r->name, "@") && !strcmp(r->value, "v=spf1 -all"));
	done(r);
	r = add(admin, "prod", "www", "A", "10.9.0.2", 0); /* a second A at a name is fine */
	CHECK(r != NULL);
	done(r);
	r = add(admin, "prod", "v6", "AAAA", "FD00:0:0::1", 0);
	CHECK(r && !strcmp(r->value, "fd00::1"));
	done(r);

	/* The same record again, whatever its ttl. */
	a0 = audits(), r0 = records();
	CHECK(!add(admin, "prod", "www", "A", "10.9.0.1", 5));
	CHECK(failed(NETFN__STATUS__ALREADY_EXISTS, "value"));
	/* An alias has no other record at its name, custom or a node's own. */
	CHECK(!add(admin, "prod", "www", "CNAME", "web1", 0));
	CHECK(failed(NETFN__STATUS__ALREADY_EXISTS, "name"));
	CHECK(!add(admin, "prod", "app", "TXT", "hello", 0));
	CHECK(failed(NETFN__STATUS__ALREADY_EXISTS, "name"));
	CHECK(!add(admin, "prod", "app", "CNAME", "web2", 0));
	CHECK(failed(NETFN__STATUS__ALREADY_EXISTS, "name"));
	CHECK(!add(admin, "prod", "web2", "CNAME", "www", 0));
	CHECK(failed(NETFN__STATUS__ALREADY_EXISTS, "name"));
	CHECK(strstr(st.message, "node web2") != NULL);
	CHECK(audits() == a0 && records() == r0);
	/* An A record at a node's own name is another address for it. */
	r = add(admin, "prod", "web2", "A", "10.9.0.99", 0);
	CHECK(r != NULL);
	done(r);

	/* The zone: the nodes' own names first, then the custom records by name. */
	z = zone("prod");
	CHECK(z && !strcmp(z->zone, "prod.netfn.internal") && !strcmp(z->network, "prod"));
	CHECK(z && z->n_records == 10);
	if (z && z->n_records == 10) {
		CHECK(!strcmp(z->records[0]->name, "web1") && z->records[0]->automatic &&
		      z->records[0]->id == 0 && !strcmp(z->records[0]->value, "10.9.0.1") &&
		      z->records[0]->ttl == 60 && !strcmp(z->records[0]->type, "A"));
		CHECK(!strcmp(z->records[1]->name, "web2") && z->records[1]->automatic);
		CHECK(!strcmp(z->records[2]->name, "@") && !z->records[2]->automatic);
		CHECK(!strcmp(z->records[3]->name, "_http._tcp"));
		CHECK(!strcmp(z->records[9]->name, "www") && z->records[9]->id != www);
	}
	got = find(z, "app", "CNAME");
	CHECK(got && got->ttl == 300 && got->id > 0);
	CHECK(z && z->n_servers == 1);
	if (z && z->n_servers == 1) {
		CHECK(z->servers[0]->slot == 0 && !strcmp(z->servers[0]->node, "web1"));
		CHECK(!strcmp(z->servers[0]->address, "10.9.0.1") && z->servers[0]->since > 0);
		CHECK(z->servers[0]->reason[0] != '\0');
	}
	done(z);
	/* Two servers wanted, one node: the second slot shows empty. */
	node_add("dev", "dev1", "10.10.0.1");
	z = zone("dev");
	CHECK(z && !strcmp(z->zone, dev_zone) && z->n_records == 1 && z->n_servers == 2);
	if (z && z->n_servers == 2)
		CHECK(!strcmp(z->servers[0]->node, "dev1") && !strcmp(z->servers[1]->node, "") &&
		      !strcmp(z->servers[1]->reason, "no eligible live node"));
	done(z);
	CHECK(!zone(""));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "network"));
	CHECK(!zone("nosuch"));
	CHECK(failed(NETFN__STATUS__NOT_FOUND, "network"));

	/* Delete by id: refused for a reader, an unknown id, another network's. */
	a0 = audits(), r0 = records();
	CHECK(!del(reader, "prod", www));
	CHECK(failed(NETFN__STATUS__PERMISSION_DENIED, "token"));
	CHECK(!del(admin, "prod", 0));
	CHECK(failed(NETFN__STATUS__NOT_FOUND, "id"));
	CHECK(!del(admin, "prod", 999999));
	CHECK(failed(NETFN__STATUS__NOT_FOUND, "id"));
	CHECK(!del(admin, "dev", www));
	CHECK(failed(NETFN__STATUS__NOT_FOUND, "id"));
	CHECK(!del(admin, "nosuch", www));
	CHECK(failed(NETFN__STATUS__NOT_FOUND, "network"));
	CHECK(audits() == a0 && records() == r0);
	rev1 = dns_rev(web1), rev2 = dns_rev(web2);
	CHECK(del(admin, "prod", www));
	CHECK(audits() == a0 + 1 && records() == r0 - 1);
	CHECK(dns_rev(web1) > rev1 && dns_rev(web2) == rev2);
	CHECK(!del(admin, "", www)); /* the id alone names it: gone */
	CHECK(failed(NETFN__STATUS__NOT_FOUND, "id"));
	z = zone("prod");
	got = find(z, "www", "A");
	CHECK(z && z->n_records == 9 && got && !strcmp(got->value, "10.9.0.2"));
	done(z);

	/* Rename: checked, unique in its network, not onto an alias. */
	a0 = audits();
	CHECK(!rename_node("web2", "prod", "Web-3"));
	CHECK(failed(NETFN__STATUS__INVALID_ARGUMENT, "new_name"));
	CHECK(!rename_node("web2", "prod", "web1"));
	CHECK(failed(NETFN__STATUS__ALREADY_EXISTS, "new_name"));
	CHECK(!rename_node("web2", "prod", "app"));
	CHECK(failed(NETFN__STATUS__ALREADY_EXISTS, "new_name"));
	CHECK(!rename_node("nosuch", "prod", "web3"));
	CHECK(failed(NETFN__STATUS__NOT_FOUND, "name"));
	CHECK(audits() == a0);
	rev1 = dns_rev(web1);
	node = rename_node("web2", "prod", "web3");
	CHECK(node && !strcmp(node->name, "web3") && !strcmp(node->overlay_address, "10.9.0.2"));
	done(node);
	CHECK(audits() == a0 + 1 && dns_rev(web1) > rev1);
	z = zone("prod");
	got = find(z, "web3", "A");
	CHECK(got && got->automatic && !strcmp(got->value, "10.9.0.2"));
	got = find(z, "web2", "A"); /* the custom one stays */
	CHECK(got && !got->automatic && !strcmp(got->value, "10.9.0.99"));
	done(z);
	/* The hub keeps its role under its new name. */
	Netfn__Network hubnet = NETFN__NETWORK__INIT;
	hubnet.name = "star";
	hubnet.cidr = "10.12.0.0/24";
	hubnet.topology = "hub";
	hubnet.hub = "hq";
	done(call(admin, "network.create", &hubnet.base, &netfn__network__descriptor));
	CHECK(st.code == NETFN__STATUS__OK);
	node_add("star", "hq", "10.12.0.1");
	node = rename_node("hq", "", "core");
	CHECK(node && !strcmp(node->name, "core"));
	done(node);
	Netfn__NameRef ref = NETFN__NAME_REF__INIT;
	Netfn__Network *net;
	ref.name = "star";
	net =
	    (Netfn__Network *)call(reader, "network.show", &ref.base, &netfn__network__descriptor);
	CHECK(net && !strcmp(net->hub, "core"));
	done(net);

	/* Deleting a network (its nodes first) deletes its records. */
	r = add(admin, "dev", "db", "A", "10.10.0.9", 0);
	CHECK(r != NULL);
	done(r);
	r0 = records();
	ref.network = "";
	ref.name = "dev1";
	done(call(admin, "node.delete", &ref.base, &netfn__empty__descriptor));
	ref.name = "dev";
	done(call(admin, "network.delete", &ref.base, &netfn__empty__descriptor));
	CHECK(st.code == NETFN__STATUS__OK && records() == r0 - 1);
	ref.name = "core";
	done(call(admin, "node.delete", &ref.base, &netfn__empty__descriptor));
	ref.name = "star";
	done(call(admin, "network.delete", &ref.base, &netfn__empty__descriptor));
	CHECK(st.code == NETFN__STATUS__OK);
	/* Now one network is left: it may go unnamed. */
	r = add(admin, "", "solo", "A", "10.9.0.7", 0);
	CHECK(r && !strcmp(r->network, "prod"));
	done(r);
	z = zone("");
	CHECK(z && !strcmp(z->zone, "prod.netfn.internal") && find(z, "solo", "A"));
	done(z);
	(void)web2;

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
