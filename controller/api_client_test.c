// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the external client API, through the real dispatcher over
 * nng's inproc transport with a store in a temp dir: every refusal of a
 * create names its field and stores nothing (no client, no audit entry),
 * including when no node can be the gateway; create allocates the lowest
 * free address and replies with everything a wg-quick file needs (the
 * gateway's name, key and endpoint, the network's range and MTU, the DNS
 * servers and zone); names and keys are unique among the network's nodes
 * and clients; a vip cannot take a client's address; list and show report
 * expiry; and delete drops the gateway's peer in the same call.
 */
#include "controller/api_test_util.h"
#include "controller/compile.h"
#include "proto/rpc.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <string.h>

static struct api_test api;

static int count_client(void *ctx, const struct st_client *cl)
{
	(void)cl;
	(*(int *)ctx)++;
	return 0;
}

static int clients(void)
{
	int n = 0;

	CHECK(api.ctl.store->ops->client_list(api.ctl.store, 0, count_client, &n) == 0);
	return n;
}

/* A node with an endpoint (NULL: none) and a role label (NULL: none); its key is key_byte. */
static int64_t node_add(const char *network, const char *name, const char *addr,
                        const char *endpoint, const char *role, int key_byte)
{
	struct st_node n;

	api_test_node_init(&n, name, addr, role);
	memset(n.id_pk, key_byte + 1, sizeof(n.id_pk));
	memset(n.wg_pk, key_byte, sizeof(n.wg_pk));
	if (endpoint) {
		snprintf(n.endpoints[0], sizeof(n.endpoints[0]), "%s", endpoint);
		n.n_endpoints = 1;
	}
	return api_test_node_insert(&api, network, &n);
}

/* A key made of one byte, in base64. */
static const char *key_of(int byte, char *buf)
{
	uint8_t k[32];

	memset(k, byte, sizeof(k));
	return sodium_bin2base64(buf, 45, k, sizeof(k), sodium_base64_VARIANT_ORIGINAL);
}

/* A create request with everything a valid one needs; tests spoil one field. */
struct client_buf {
	Netfn__Client pb;
	Netfn__Label label, sel;
	Netfn__Label *labelp, *selp;
	char key[45];
};

static Netfn__Client *client_req(struct client_buf *b, const char *name, const char *network,
                                 int key_byte)
{
	memset(b, 0, sizeof(*b));
	netfn__client__init(&b->pb);
	netfn__label__init(&b->label);
	netfn__label__init(&b->sel);
	b->label.key = "role";
	b->label.value = "laptop";
	b->labelp = &b->label;
	b->pb.name = (char *)name;
	b->pb.network = (char *)network;
	b->pb.public_key = (char *)key_of(key_byte, b->key);
	b->pb.labels = &b->labelp;
	b->pb.n_labels = 1;
	return &b->pb;
}

static void client_gateway(struct client_buf *b, const char *key, const char *value)
{
	b->sel.key = (char *)key;
	b->sel.value = (char *)value;
	b->selp = &b->sel;
	b->pb.gateway_selector = &b->selp;
	b->pb.n_gateway_selector = 1;
}

static Netfn__Client *create(const char *token, Netfn__Client *req)
{
	return (Netfn__Client *)api_test_call(&api, token, "client.create", &req->base,
	                                      &netfn__client__descriptor);
}

static Netfn__Client *show(const char *name, const char *network)
{
	return (Netfn__Client *)api_test_call_ref(&api, api.reader, "client.show", name, network,
	                                          &netfn__client__descriptor);
}

/* Whether node peers with a peer called name, and its vpn revision. */
static bool peers_with(int64_t node, const char *name, uint64_t *rev)
{
	struct store *s = api.ctl.store;
	struct vpn_config cfg;
	struct st_node n;
	bool found = false;

	*rev = 0;
	CHECK(s->ops->node_get_id(s, node, &n) == 0);
	if (compile_node_vpn(s, &n, &cfg))
		return false;
	for (size_t i = 0; i < cfg.n_peers; i++)
		found |= strcmp(cfg.peers[i].name, name) == 0;
	*rev = cfg.revision;
	vpn_config_free(&cfg);
	return found;
}

static int count_placement(void *ctx, const struct st_placement *p)
{
	(void)p;
	(*(int *)ctx)++;
	return 0;
}

static void test_refusals(void)
{
	struct client_buf b;
	Netfn__Client *req;
	char p[64];
	int a0 = api_test_audits(&api), c0 = clients();

	CHECK(!create(api.admin, client_req(&b, "Bad_Name", "prod", 1)));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "name"));
	CHECK(!create(api.admin, client_req(&b, "-x", "prod", 1)));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "name"));
	req = client_req(&b, "laptop", "prod", 1);
	req->public_key = "";
	CHECK(!create(api.admin, req) &&
	      api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "public_key"));
	req->public_key = "not base64 at all, not a key";
	CHECK(!create(api.admin, req) &&
	      api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "public_key"));
	/* 31 bytes, and 33. */
	memset(p, 'A', sizeof(p));
	strcpy(p + 40, "AA=");
	req->public_key = p;
	CHECK(!create(api.admin, req) &&
	      api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "public_key"));
	strcpy(p + 44, "AAAA");
	CHECK(!create(api.admin, req) &&
	      api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "public_key"));
	/* The right length, but all zero. */
	req = client_req(&b, "laptop", "prod", 0);
	CHECK(!create(api.admin, req) &&
	      api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "public_key"));
	req = client_req(&b, "laptop", "prod", 1);
	b.label.key = "bad key!";
	CHECK(!create(api.admin, req) &&
	      api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "labels"));
	req = client_req(&b, "laptop", "prod", 1);
	client_gateway(&b, "edge", "bad value!");
	CHECK(!create(api.admin, req) &&
	      api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "gateway_selector"));
	req = client_req(&b, "laptop", "prod", 1);
	req->ttl_seconds = -1;
	CHECK(!create(api.admin, req) &&
	      api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "ttl_seconds"));
	req->ttl_seconds = 366LL * 24 * 3600;
	CHECK(!create(api.admin, req) &&
	      api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "ttl_seconds"));
	CHECK(!create(api.admin, client_req(&b, "laptop", "nope", 1)));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "network"));
	/* Two networks: one must be named. */
	CHECK(!create(api.admin, client_req(&b, "laptop", "", 1)));
	CHECK(api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "network"));
	/* A node's name, a node's key. */
	CHECK(!create(api.admin, client_req(&b, "web1", "prod", 1)));
	CHECK(api_test_failed(&api, NETFN__STATUS__ALREADY_EXISTS, "name"));
	CHECK(!create(api.admin, client_req(&b, "laptop", "prod", 0x31)));
	CHECK(api_test_failed(&api, NETFN__STATUS__ALREADY_EXISTS, "public_key"));
	/* A CNAME's name: an alias can have no other record. */
	{
		struct st_dns_record r = {.ttl = 60, .created = 1};
		struct st_network net;

		CHECK(api.ctl.store->ops->network_get(api.ctl.store, "prod", &net) == 0);
		r.network_id = net.id;
		strcpy(r.name, "alias");
		strcpy(r.type, "CNAME");
		strcpy(r.value, "web1.prod.netfn.internal");
		CHECK(api.ctl.store->ops->begin(api.ctl.store) == 0);
		CHECK(api.ctl.store->ops->dns_record_insert(api.ctl.store, &r) == 0);
		CHECK(api.ctl.store->ops->commit(api.ctl.store) == 0);
	}
	CHECK(!create(api.admin, client_req(&b, "alias", "prod", 1)));
	CHECK(api_test_failed(&api, NETFN__STATUS__ALREADY_EXISTS, "name"));
	/* Nothing matches the gateway selector with an endpoint: web1 has none. */
	req = client_req(&b, "laptop", "prod", 1);
	client_gateway(&b, "role", "web");
	CHECK(!create(api.admin, req) &&
	      api_test_failed(&api, NETFN__STATUS__FAILED_PRECONDITION, "gateway_selector"));
	client_gateway(&b, "role", "nowhere");
	CHECK(!create(api.admin, req) &&
	      api_test_failed(&api, NETFN__STATUS__FAILED_PRECONDITION, "gateway_selector"));
	/* A reader may not create. */
	CHECK(!create(api.reader, client_req(&b, "laptop", "prod", 1)));
	CHECK(api_test_failed(&api, NETFN__STATUS__PERMISSION_DENIED, "token"));
	/* None of it left anything behind, placements included. */
	CHECK(api_test_audits(&api) == a0 && clients() == c0);
}

int main(void)
{
	char key[45];
	struct store *s;
	struct client_buf b;
	Netfn__Client *cl, *req;
	Netfn__ClientList *list;
	Netfn__NodeListRequest lreq = NETFN__NODE_LIST_REQUEST__INIT;
	Netfn__NameRef ref = NETFN__NAME_REF__INIT;
	int64_t edge1;
	uint64_t r0, r1;
	int a0, n_dns = 0;

	if (api_test_start(&api, "client"))
		return check_result();
	s = api.ctl.store;
	api_test_network_create(&api, "prod", "10.9.0.0/24");
	api_test_network_create(&api, "dev", "10.10.0.0/24");
	node_add("prod", "web1", "10.9.0.1", NULL, "web", 0x31);
	edge1 = node_add("prod", "edge1", "10.9.0.2", "192.0.2.2:51820", "edge", 0x32);
	node_add("dev", "dev1", "10.10.0.1", "192.0.2.9:51820", NULL, 0x33);

	test_refusals();

	/* A laptop in prod: the lowest free address, edge1 (the only node with an
	 * endpoint) its gateway, and everything its wg-quick file needs. */
	a0 = api_test_audits(&api);
	CHECK(!peers_with(edge1, "laptop", &r0));
	req = client_req(&b, "laptop", "prod", 1);
	req->ttl_seconds = 3600;
	cl = create(api.admin, req);
	CHECK(cl != NULL);
	if (cl) {
		CHECK(!strcmp(cl->name, "laptop") && !strcmp(cl->network, "prod"));
		CHECK(!strcmp(cl->address, "10.9.0.3") && !strcmp(cl->public_key, b.key));
		CHECK(!strcmp(cl->gateway, "edge1"));
		CHECK(!strcmp(cl->gateway_public_key, key_of(0x32, key)));
		CHECK(!strcmp(cl->gateway_endpoint, "192.0.2.2:51820"));
		CHECK(!strcmp(cl->network_cidr, "10.9.0.0/24") && cl->mtu > 0);
		CHECK(!strcmp(cl->dns_zone, "prod.netfn.internal"));
		CHECK(cl->n_labels == 1 && !strcmp(cl->labels[0]->value, "laptop"));
		CHECK(cl->expires >= cl->created + 3600 && cl->expires <= cl->created + 3601);
		CHECK(!cl->expired && cl->created > 0);
		/* As many DNS servers as the scheduler placed for the zone. */
		struct st_network prod;

		CHECK(s->ops->network_get(s, "prod", &prod) == 0);
		CHECK(s->ops->placement_list(s, "dns", prod.id, count_placement, &n_dns) == 0);
		CHECK(cl->n_dns == (size_t)n_dns);
	}
	api_test_done(cl);
	CHECK(api_test_audits(&api) > a0 && clients() == 1);
	/* The gateway peers with it in the revision the create compiled. */
	CHECK(peers_with(edge1, "laptop", &r1) && r1 > r0);

	/* Name and key are taken now; in another network the name is free. */
	CHECK(!create(api.admin, client_req(&b, "laptop", "prod", 2)));
	CHECK(api_test_failed(&api, NETFN__STATUS__ALREADY_EXISTS, "name"));
	CHECK(!create(api.admin, client_req(&b, "phone", "prod", 1)));
	CHECK(api_test_failed(&api, NETFN__STATUS__ALREADY_EXISTS, "public_key"));
	cl = create(api.admin, client_req(&b, "laptop", "dev", 1));
	CHECK(cl && !strcmp(cl->address, "10.10.0.2") && !strcmp(cl->gateway, "dev1"));
	CHECK(cl && cl->expires == 0 && !strcmp(cl->dns_zone, "dev.netfn.internal"));
	api_test_done(cl);

	/* A vip may not take a client's address; "auto" passes it by. */
	{
		Netfn__LoadBalancer lb = NETFN__LOAD_BALANCER__INIT;

		lb.name = "web";
		lb.network = "prod";
		lb.vip = "10.9.0.3";
		lb.port = 80;
		lb.backend_port = 8080;
		CHECK(!api_test_call(&api, api.admin, "lb.create", &lb.base,
		                     &netfn__load_balancer__descriptor));
		CHECK(api_test_failed(&api, NETFN__STATUS__ALREADY_EXISTS, "vip"));
		lb.vip = "auto";
		Netfn__LoadBalancer *got = (Netfn__LoadBalancer *)api_test_call(
		    &api, api.admin, "lb.create", &lb.base, &netfn__load_balancer__descriptor);
		CHECK(got && !strcmp(got->vip, "10.9.0.4"));
		api_test_done(got);
	}

	/* An expired key: shown expired, with no gateway. */
	{
		struct st_client old = {.created = 1, .expires = ctl_now() - 10};
		struct st_network net;

		CHECK(s->ops->network_get(s, "prod", &net) == 0);
		old.network_id = net.id;
		strcpy(old.name, "old");
		memset(old.wg_pk, 9, sizeof(old.wg_pk));
		inet_pton(AF_INET, "10.9.0.9", &old.overlay_addr);
		CHECK(s->ops->begin(s) == 0 && s->ops->client_insert(s, &old) == 0);
		CHECK(s->ops->commit(s) == 0);
	}
	cl = show("old", "prod");
	CHECK(cl && cl->expired && !strcmp(cl->gateway, "") && !strcmp(cl->address, "10.9.0.9"));
	api_test_done(cl);

	/* List: by network, or all, each filled. */
	lreq.network = "prod";
	list = (Netfn__ClientList *)api_test_call(&api, api.reader, "client.list", &lreq.base,
	                                          &netfn__client_list__descriptor);
	CHECK(list && list->n_clients == 2);
	if (list && list->n_clients == 2) {
		CHECK(!strcmp(list->clients[0]->name, "laptop") && !list->clients[0]->expired);
		CHECK(!strcmp(list->clients[0]->gateway, "edge1"));
		CHECK(!strcmp(list->clients[1]->name, "old") && list->clients[1]->expired);
	}
	api_test_done(list);
	lreq.network = "";
	list = (Netfn__ClientList *)api_test_call(&api, api.reader, "client.list", &lreq.base,
	                                          &netfn__client_list__descriptor);
	CHECK(list && list->n_clients == 3);
	api_test_done(list);
	lreq.network = "nope";
	CHECK(!api_test_call(&api, api.reader, "client.list", &lreq.base,
	                     &netfn__client_list__descriptor));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "network"));

	/* Show: by name alone only when one network has it. */
	cl = show("laptop", "");
	CHECK(!cl && api_test_failed(&api, NETFN__STATUS__INVALID_ARGUMENT, "network"));
	cl = show("old", "");
	CHECK(cl && !strcmp(cl->network, "prod"));
	api_test_done(cl);
	cl = show("ghost", "prod");
	CHECK(!cl && api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "name"));

	/* Delete revokes at once: the gateway's next revision has no peer for it. */
	a0 = api_test_audits(&api);
	ref.name = "laptop";
	ref.network = "prod";
	CHECK(!api_test_call(&api, api.reader, "client.delete", &ref.base,
	                     &netfn__empty__descriptor));
	CHECK(api_test_failed(&api, NETFN__STATUS__PERMISSION_DENIED, "token"));
	api_test_done(
	    api_test_call(&api, api.admin, "client.delete", &ref.base, &netfn__empty__descriptor));
	CHECK(api.st.code == NETFN__STATUS__OK && api_test_audits(&api) == a0 + 1);
	CHECK(!peers_with(edge1, "laptop", &r0) && r0 > r1);
	CHECK(!show("laptop", "prod") && api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "name"));
	api_test_done(
	    api_test_call(&api, api.admin, "client.delete", &ref.base, &netfn__empty__descriptor));
	CHECK(api_test_failed(&api, NETFN__STATUS__NOT_FOUND, "name"));
	/* Its address is free again. */
	cl = create(api.admin, client_req(&b, "tablet", "prod", 3));
	CHECK(cl && !strcmp(cl->address, "10.9.0.3"));
	api_test_done(cl);

	CHECK(api_test_stop(&api) == 0);
	return check_result();
}
