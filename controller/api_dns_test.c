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
#include "controller/api_test_util.h"
#include "netfns/dns/dns.h"
#include "proto/rpc.h"
#include "tests/check.h"

#include <string.h>

static struct api_test api;

static int count_record(void *ctx, const struct st_dns_record *r)
{
	(void)r;
	(*(int *)ctx)++;
	return 0;
}

static int count_network(void *ctx, const struct st_network *n)
{
	int *total = ctx;

	CHECK(api.ctl.store->ops->dns_record_list(api.ctl.store, n->id, count_record, total) == 0);
	return 0;
}

/* Custom records in every network. */
static int records(void)
{
	int n = 0;

	CHECK(api.ctl.store->ops->network_list(api.ctl.store, count_network, &n) == 0);
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
	return (Netfn__Network *)api_test_call(&api, api.admin, "network.create", &n.base,
	                                       &netfn__network__descriptor);
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
	return (Netfn__DnsRecord *)api_test_call(&api, token, "dns.record_add", &r.base,
	                                         &netfn__dns_record__descriptor);
}

static bool del(const char *token, const char *network, uint64_t id)
{
	Netfn__DnsRecordRef r = NETFN__DNS_RECORD_REF__INIT;
	ProtobufCMessage *e;

	r.network = (char *)network;
	r.id = id;
	e = api_test_call(&api, token, "dns.record_delete", &r.base, &netfn__empty__descriptor);
	api_test_done(e);
	return e != NULL;
}

static Netfn__DnsZone *zone(const char *network)
{
	Netfn__NodeListRequest r = NETFN__NODE_LIST_REQUEST__INIT;

	r.network = (char *)network;
	return (Netfn__DnsZone *)api_test_call(&api, api.reader, "dns.zone", &r.base,
	                                       &netfn__dns_zone__descriptor);
}

static Netfn__Node *rename_node(const char *name, const char *network, const char *new_name)
{
	Netfn__NodeRename r = NETFN__NODE_RENAME__INIT;

	r.name = (char *)name;
	r.network = (char *)network;
	r.new_name = (char *)new_name;
	return (Netfn__Node *)api_test_call(&api, api.admin, "node.rename", &r.base,
	                                    &netfn__node__descriptor);
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
	return api_test_rev(&api, node, "dns");
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
	api_test_done(n);
	long_name(dev_domain, sizeof(dev_domain), 14, "Corp.Example");
	n = network_create("dev", "10.10.0.0/24", dev_domain, 2);
	long_name(dev_domain, sizeof(dev_domain), 14, "corp.example");
	snprintf(dev_zone, sizeof(dev_zone), "dev.%s", dev_domain);
	CHECK(strlen(dev_zone) == 156);
	CHECK(n && !strcmp(n->domain, dev_domain) && n->dns_replicas == 2);
	api_test_done(n);
	Netfn__NameRef ref = NETFN__NAME_REF__INIT;
	ref.name = "dev";
	n = (Netfn__Network *)api_test_call(&api, api.reader, "network.show", &ref.base,
	                                    &netfn__network__descriptor);
	CHECK(n && !strcmp(n->domain, dev_domain) && n->dns_replicas == 2);
	api_test_done(n);

	/* Refusals name their field. */
	CHECK(!network_create("x", "10.11.0.0/24", "bad domain", 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "domain"));
	CHECK(!network_create("x", "10.11.0.0/24", "example.com.", 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "domain"));
	CHECK(!network_create("x", "10.11.0.0/24", "-a.example", 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "domain"));
	/* 190 characters fit the store, but not with a 63-character name in front. */
	CHECK(!network_create("a-rather-long-network-name-for-a-zone-that-is-sixty-three-chars",
	                      "10.11.0.0/24", long_name(buf, sizeof(buf), 18, "abcdefghij"), 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "domain"));
	/* 192 do not fit at all. */
	CHECK(!network_create("x", "10.11.0.0/24", long_name(buf, sizeof(buf), 19, "ab"), 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "domain"));
	CHECK(!network_create("x", "10.11.0.0/24", "", 3));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "dns_replicas"));
}

/* Each spoiled add: refused on its field, nothing stored. */
static void test_refusals(void)
{
	int a0 = api_test_audits(&api), r0 = records();
	char buf[256];
	Netfn__DnsRecord *r;

	static const char *const names[] = {"a b", "-a", "a..b", "x.", "", "a;b", "\x01"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		CHECK(!add(api.admin, "prod", names[i], "A", "10.9.0.50", 0));
		CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "name"));
	}
	/* With dev's 156-character zone, 97 characters are one too many (253). */
	CHECK(
	    !add(api.admin, "dev", long_name(buf, sizeof(buf), 9, "abcdefg"), "A", "10.9.0.50", 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "name"));
	CHECK(strlen(buf) == 97);
	r = add(api.admin, "dev", long_name(buf, sizeof(buf), 9, "abcdef"), "A", "10.9.0.50", 0);
	CHECK(r != NULL);
	CHECK(r && del(api.admin, "dev", r->id));
	api_test_done(r);
	a0 = api_test_audits(&api);
	/* 192 characters do not fit the store, whatever the zone. */
	CHECK(!add(api.admin, "prod", long_name(buf, sizeof(buf), 19, "ab"), "A", "10.9.0.50", 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "name"));
	CHECK(!add(api.admin, "prod", "@", "CNAME", "www", 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "name"));

	static const char *const types[] = {"MX", "", "A;", "NS"};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		CHECK(!add(api.admin, "prod", "x", types[i], "10.9.0.50", 0));
		CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "type"));
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
		CHECK(!add(api.admin, "prod", "x", values[i].type, values[i].value, 0));
		CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "value"));
	}
	CHECK(!add(api.admin, "prod", "x", "A", "10.9.0.50", DNS_TTL_MAX + 1));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "ttl"));

	/* Which network: a missing one, or none named with two there. */
	CHECK(!add(api.admin, "nosuch", "x", "A", "10.9.0.50", 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "network"));
	CHECK(!add(api.admin, "", "x", "A", "10.9.0.50", 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "network"));

	/* A reader may look but not change. */
	CHECK(!add(api.reader, "prod", "x", "A", "10.9.0.50", 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__PERMISSION_DENIED, "token"));

	CHECK(api_test_audits(&api) == a0 && records() == r0);
}

int main(void)
{
	Netfn__DnsRecord *r;
	Netfn__DnsZone *z;
	Netfn__Node *node;
	const Netfn__DnsRecord *got;
	int64_t web1, web2;
	uint64_t www, rev1, rev2;
	int a0, r0;

	if (api_test_start(&api, "dns"))
		return check_result();

	test_networks();
	web1 = api_test_node_add(&api, "prod", "web1", "10.9.0.1", NULL);
	web2 = api_test_node_add(&api, "prod", "web2", "10.9.0.2", NULL);
	test_refusals();

	/* An A record: name in lower case, the type canonical, ttl 0 is 60. */
	a0 = api_test_audits(&api);
	rev1 = dns_rev(web1), rev2 = dns_rev(web2);
	CHECK(rev1 && rev2);
	r = add(api.admin, "prod", "WWW", "a", "10.9.0.1", 0);
	CHECK(r && r->id > 0 && !strcmp(r->network, "prod") && !strcmp(r->name, "www"));
	CHECK(r && !strcmp(r->type, "A") && !strcmp(r->value, "10.9.0.1") && r->ttl == 60 &&
	      !r->automatic);
	www = r ? r->id : 0;
	api_test_done(r);
	CHECK(api_test_audits(&api) == a0 + 1 && records() == 1);
	/* Only the serving node's section moved (the server is on web1, the lowest id). */
	CHECK(dns_rev(web1) > rev1 && dns_rev(web2) == rev2);

	/* Values made canonical against the zone. */
	r = add(api.admin, "prod", "app", "CNAME", "WWW", 300);
	CHECK(r && !strcmp(r->value, "www.prod.netfn.internal") && r->ttl == 300);
	api_test_done(r);
	r = add(api.admin, "prod", "ext", "CNAME", "Example.COM.", 0);
	CHECK(r && !strcmp(r->value, "example.com"));
	api_test_done(r);
	r = add(api.admin, "prod", "_http._tcp", "srv", "10 5 80 www", 0);
	CHECK(r && !strcmp(r->type, "SRV") && !strcmp(r->value, "10 5 80 www.prod.netfn.internal"));
	api_test_done(r);
	r = add(api.admin, "prod", "@", "TXT", "v=spf1 -all", 0);
	CHECK(r && !strcmp(r->name, "@") && !strcmp(r->value, "v=spf1 -all"));
	api_test_done(r);
	r = add(api.admin, "prod", "www", "A", "10.9.0.2", 0); /* a second A at a name is fine */
	CHECK(r != NULL);
	api_test_done(r);
	r = add(api.admin, "prod", "v6", "AAAA", "FD00:0:0::1", 0);
	CHECK(r && !strcmp(r->value, "fd00::1"));
	api_test_done(r);

	/* The same record again, whatever its ttl. */
	a0 = api_test_audits(&api), r0 = records();
	CHECK(!add(api.admin, "prod", "www", "A", "10.9.0.1", 5));
	CHECK(api_test_failed(&api, NETFN__STATUS__ALREADY_EXISTS, "value"));
	/* An alias has no other record at its name, custom or a node's own. */
	CHECK(!add(api.admin, "prod", "www", "CNAME", "web1", 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__ALREADY_EXISTS, "name"));
	CHECK(!add(api.admin, "prod", "app", "TXT", "hello", 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__ALREADY_EXISTS, "name"));
	CHECK(!add(api.admin, "prod", "app", "CNAME", "web2", 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__ALREADY_EXISTS, "name"));
	CHECK(!add(api.admin, "prod", "web2", "CNAME", "www", 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__ALREADY_EXISTS, "name"));
	CHECK(strstr(api.st.message, "node web2") != NULL);
	CHECK(api_test_audits(&api) == a0 && records() == r0);
	/* An A record at a node's own name is another address for it. */
	r = add(api.admin, "prod", "web2", "A", "10.9.0.99", 0);
	CHECK(r != NULL);
	api_test_done(r);

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
	api_test_done(z);
	/* Two servers wanted, one node: the second slot shows empty. */
	api_test_node_add(&api, "dev", "dev1", "10.10.0.1", NULL);
	z = zone("dev");
	CHECK(z && !strcmp(z->zone, dev_zone) && z->n_records == 1 && z->n_servers == 2);
	if (z && z->n_servers == 2)
		CHECK(!strcmp(z->servers[0]->node, "dev1") && !strcmp(z->servers[1]->node, "") &&
		      !strcmp(z->servers[1]->reason, "no eligible live node"));
	api_test_done(z);
	CHECK(!zone(""));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "network"));
	CHECK(!zone("nosuch"));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "network"));

	/* Delete by id: refused for a reader, an unknown id, another network's. */
	a0 = api_test_audits(&api), r0 = records();
	CHECK(!del(api.reader, "prod", www));
	CHECK(api_test_failed(&api, NETFN__STATUS__PERMISSION_DENIED, "token"));
	CHECK(!del(api.admin, "prod", 0));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "id"));
	CHECK(!del(api.admin, "prod", 999999));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "id"));
	CHECK(!del(api.admin, "dev", www));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "id"));
	CHECK(!del(api.admin, "nosuch", www));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "network"));
	CHECK(api_test_audits(&api) == a0 && records() == r0);
	rev1 = dns_rev(web1), rev2 = dns_rev(web2);
	CHECK(del(api.admin, "prod", www));
	CHECK(api_test_audits(&api) == a0 + 1 && records() == r0 - 1);
	CHECK(dns_rev(web1) > rev1 && dns_rev(web2) == rev2);
	CHECK(!del(api.admin, "", www)); /* the id alone names it: gone */
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "id"));
	z = zone("prod");
	got = find(z, "www", "A");
	CHECK(z && z->n_records == 9 && got && !strcmp(got->value, "10.9.0.2"));
	api_test_done(z);

	/* Rename: checked, unique in its network, not onto an alias. */
	a0 = api_test_audits(&api);
	CHECK(!rename_node("web2", "prod", "Web-3"));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "new_name"));
	CHECK(!rename_node("web2", "prod", "web1"));
	CHECK(api_test_failed(&api, NETFN__STATUS__ALREADY_EXISTS, "new_name"));
	CHECK(!rename_node("web2", "prod", "app"));
	CHECK(api_test_failed(&api, NETFN__STATUS__ALREADY_EXISTS, "new_name"));
	CHECK(!rename_node("nosuch", "prod", "web3"));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "name"));
	CHECK(api_test_audits(&api) == a0);
	rev1 = dns_rev(web1);
	node = rename_node("web2", "prod", "web3");
	CHECK(node && !strcmp(node->name, "web3") && !strcmp(node->overlay_address, "10.9.0.2"));
	api_test_done(node);
	CHECK(api_test_audits(&api) == a0 + 1 && dns_rev(web1) > rev1);
	z = zone("prod");
	got = find(z, "web3", "A");
	CHECK(got && got->automatic && !strcmp(got->value, "10.9.0.2"));
	got = find(z, "web2", "A"); /* the custom one stays */
	CHECK(got && !got->automatic && !strcmp(got->value, "10.9.0.99"));
	api_test_done(z);
	/* The hub keeps its role under its new name. */
	Netfn__Network hubnet = NETFN__NETWORK__INIT;
	hubnet.name = "star";
	hubnet.cidr = "10.12.0.0/24";
	hubnet.topology = "hub";
	hubnet.hub = "hq";
	api_test_done(api_test_call(&api, api.admin, "network.create", &hubnet.base,
	                            &netfn__network__descriptor));
	CHECK(api.st.code == NETFN__STATUS__OK);
	api_test_node_add(&api, "star", "hq", "10.12.0.1", NULL);
	node = rename_node("hq", "", "core");
	CHECK(node && !strcmp(node->name, "core"));
	api_test_done(node);
	Netfn__NameRef ref = NETFN__NAME_REF__INIT;
	Netfn__Network *net;
	ref.name = "star";
	net = (Netfn__Network *)api_test_call(&api, api.reader, "network.show", &ref.base,
	                                      &netfn__network__descriptor);
	CHECK(net && !strcmp(net->hub, "core"));
	api_test_done(net);

	/* Deleting a network (its nodes first) deletes its records. */
	r = add(api.admin, "dev", "db", "A", "10.10.0.9", 0);
	CHECK(r != NULL);
	api_test_done(r);
	r0 = records();
	ref.network = "";
	ref.name = "dev1";
	api_test_done(
	    api_test_call(&api, api.admin, "node.delete", &ref.base, &netfn__empty__descriptor));
	ref.name = "dev";
	api_test_done(
	    api_test_call(&api, api.admin, "network.delete", &ref.base, &netfn__empty__descriptor));
	CHECK(api.st.code == NETFN__STATUS__OK && records() == r0 - 1);
	ref.name = "core";
	api_test_done(
	    api_test_call(&api, api.admin, "node.delete", &ref.base, &netfn__empty__descriptor));
	ref.name = "star";
	api_test_done(
	    api_test_call(&api, api.admin, "network.delete", &ref.base, &netfn__empty__descriptor));
	CHECK(api.st.code == NETFN__STATUS__OK);
	/* Now one network is left: it may go unnamed. */
	r = add(api.admin, "", "solo", "A", "10.9.0.7", 0);
	CHECK(r && !strcmp(r->network, "prod"));
	api_test_done(r);
	z = zone("");
	CHECK(z && !strcmp(z->zone, "prod.netfn.internal") && find(z, "solo", "A"));
	api_test_done(z);
	(void)web2;

	api_test_stop(&api);
	return check_result();
}
