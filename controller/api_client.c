// SPDX-License-Identifier: Apache-2.0
/*
 * API handlers for external clients, machines that run no agent (a laptop,
 * a CI runner) and reach the overlay through a gateway node: create (every
 * field checked, the address allocated, the gateway placed, all in one
 * transaction; refused, with nothing stored, when no node can be the
 * gateway), list, show and delete. Only the client's public key ever reaches
 * the controller: netfnctl makes the key pair on the caller's machine.
 *
 * Every reply carries what the client's wg-quick file needs, filled from the
 * state now: the gateway's name, public key and endpoint, the network's
 * range and MTU, and the overlay DNS servers and zone. Delete recompiles the
 * network in the same transaction, so the gateway's next revision has no
 * peer for the key: revocation needs no wait for the key's expiry.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/api.h"
#include "controller/compile.h"
#include "controller/ipam.h"
#include "controller/tick.h"
#include "controller/validate.h"

/* A key's life: at most a year, like a join token's (0: it never expires). */
#define CLIENT_MAX_TTL (365 * 24 * 3600)

/* A WireGuard key in base64: 44 characters and the NUL. */
#define KEY_B64_LEN sodium_base64_ENCODED_LEN(ST_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)

static int push_client(void *ctx, const struct st_client *cl)
{
	return api_collect(ctx, cl, sizeof(*cl));
}

/* The clients of a network (0: of every network), in id order. */
static int clients_of(struct api_call *c, int64_t network_id, struct api_vec *out)
{
	struct store *s = c->ctl->store;
	struct api_collect col = {c, out};

	return s->ops->client_list(s, network_id, push_client, &col);
}

static bool expired(const struct st_client *cl, int64_t now)
{
	return cl->expires && cl->expires <= now;
}

/* Placements of kind for object, in slot order (at most max). */
struct slots {
	size_t n, max;
	struct st_placement *v;
};

static int push_slot(void *ctx, const struct st_placement *p)
{
	struct slots *sl = ctx;

	if (sl->n < sl->max)
		sl->v[sl->n++] = *p;
	return 0;
}

/* The node holding client cl's gateway; -ENOENT when none is placed. */
static int gateway_of(struct store *s, const struct st_client *cl, struct st_node *out)
{
	struct st_placement p;
	struct slots sl = {0, 1, &p};
	int ret = s->ops->placement_list(s, "gateway", cl->id, push_slot, &sl);

	if (ret)
		return ret;
	return sl.n ? s->ops->node_get_id(s, p.node_id, out) : -ENOENT;
}

static char *key_b64(struct api_call *c, const uint8_t key[ST_KEY_LEN])
{
	char buf[KEY_B64_LEN];

	sodium_bin2base64(buf, sizeof(buf), key, ST_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
	return api_strdup(c, buf);
}

static char *ip_dup(struct api_call *c, uint32_t addr)
{
	struct in_addr a = {.s_addr = addr};
	char buf[INET_ADDRSTRLEN];

	return api_strdup(c, inet_ntop(AF_INET, &a, buf, sizeof(buf)) ? buf : "");
}

/* The overlay addresses of the nodes serving net's zone, in slot order. */
static int dns_servers(struct api_call *c, const struct st_network *net, Netfn__Client *pb)
{
	struct store *s = c->ctl->store;
	struct st_placement v[8]; /* more DNS servers than a resolver ever tries */
	struct slots sl = {0, 8, v};
	struct st_node node;
	int ret;

	ret = s->ops->placement_list(s, "dns", net->id, push_slot, &sl);
	if (ret)
		return ret;
	pb->dns = api_alloc(c, (sl.n ? sl.n : 1) * sizeof(*pb->dns));
	if (!pb->dns)
		return -ENOMEM;
	for (size_t i = 0; i < sl.n; i++) {
		/* A server whose node went is moved by the next pass; leave it out. */
		if (s->ops->node_get_id(s, v[i].node_id, &node))
			continue;
		pb->dns[pb->n_dns] = ip_dup(c, node.overlay_addr);
		if (!pb->dns[pb->n_dns++])
			return -ENOMEM;
	}
	return 0;
}

/* A client as the API shows it, with what its wg-quick file needs as of now. */
static Netfn__Client *client_to_pb(struct api_call *c, const struct st_client *cl,
                                   const struct st_network *net)
{
	struct store *s = c->ctl->store;
	Netfn__Client *pb = api_alloc(c, sizeof(*pb));
	char zone[ST_DOMAIN_MAX + ST_NAME_MAX];
	struct st_node gw;
	int ret;

	if (!pb)
		return NULL;
	netfn__client__init(pb);
	pb->name = api_strdup(c, cl->name);
	pb->network = api_strdup(c, net->name);
	pb->public_key = key_b64(c, cl->wg_pk);
	pb->labels = api_labels_to_pb(c, cl->labels, cl->n_labels);
	pb->n_labels = cl->n_labels;
	pb->gateway_selector = api_labels_to_pb(c, cl->gateway_selector, cl->n_gateway_selector);
	pb->n_gateway_selector = cl->n_gateway_selector;
	pb->ttl_seconds = cl->expires ? cl->expires - cl->created : 0;
	pb->expires = cl->expires;
	pb->expired = expired(cl, ctl_now());
	pb->address = ip_dup(c, cl->overlay_addr);
	pb->created = cl->created;
	pb->network_cidr = api_strdup(c, net->cidr);
	pb->mtu = net->mtu;
	if (!pb->name || !pb->network || !pb->public_key || !pb->labels || !pb->gateway_selector ||
	    !pb->address || !pb->network_cidr)
		return NULL;
	/* An expired key has no gateway, whether or not the tick released it yet. */
	ret = pb->expired ? -ENOENT : gateway_of(s, cl, &gw);
	if (ret == 0) {
		pb->gateway = api_strdup(c, gw.name);
		pb->gateway_public_key = key_b64(c, gw.wg_pk);
		/* Endpoints are stored "IP:PORT", as the other nodes dial them. */
		pb->gateway_endpoint = api_strdup(c, gw.n_endpoints ? gw.endpoints[0] : "");
		if (!pb->gateway || !pb->gateway_public_key || !pb->gateway_endpoint)
			return NULL;
	} else if (ret != -ENOENT) {
		return NULL;
	}
	if (dns_servers(c, net, pb))
		return NULL;
	pb->dns_zone = api_strdup(c, compile_dns_zone(net, zone, sizeof(zone)) ? "" : zone);
	return pb->dns_zone ? pb : NULL;
}

static void object_name(char *buf, size_t len, const struct st_network *net,
                        const struct st_client *cl)
{
	snprintf(buf, len, "%s/%s", net->name, cl->name);
}

/* Checks every field of a create that needs no store; fills cl. */
static int client_from_pb(struct api_call *c, const Netfn__Client *in, struct st_client *cl)
{
	size_t len = strlen(in->public_key), bin_len = 0;
	const char *end = NULL;
	char p[72];

	memset(cl, 0, sizeof(*cl));
	if (!valid_name(in->name))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "name",
		                "'%s' is not a valid name: 1-63 of a-z 0-9 '-', not starting or "
		                "ending with '-'",
		                printable(in->name, p, sizeof(p)));
	snprintf(cl->name, sizeof(cl->name), "%s", in->name);
	if (!len)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "public_key",
		                "a client's WireGuard public key is required (netfnctl makes one "
		                "on your machine unless you give --public-key)");
	if (len != KEY_B64_LEN - 1 ||
	    sodium_base642bin(cl->wg_pk, sizeof(cl->wg_pk), in->public_key, len, NULL, &bin_len,
	                      &end, sodium_base64_VARIANT_ORIGINAL) ||
	    bin_len != ST_KEY_LEN || end != in->public_key + len)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "public_key",
		                "'%s' is not a WireGuard public key: 44 characters of base64 "
		                "(32 bytes), as `wg pubkey` prints",
		                printable(in->public_key, p, sizeof(p)));
	if (sodium_is_zero(cl->wg_pk, sizeof(cl->wg_pk)))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "public_key",
		                "the all-zero key is not a public key");
	if (labels_merge(cl->labels, &cl->n_labels, in->labels, in->n_labels, "labels", &c->st))
		return -1;
	if (labels_merge(cl->gateway_selector, &cl->n_gateway_selector, in->gateway_selector,
	                 in->n_gateway_selector, "gateway_selector", &c->st))
		return -1;
	if (in->ttl_seconds < 0 || in->ttl_seconds > CLIENT_MAX_TTL)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "ttl_seconds",
		                "%lld s is outside 1 s to 365 days (0: the key never expires)",
		                (long long)in->ttl_seconds);
	cl->created = ctl_now();
	cl->expires = in->ttl_seconds ? cl->created + in->ttl_seconds : 0;
	return 0;
}

/* Whose, if anyone's, is key in network_id: a node's or a client's name, else "". */
struct key_owner {
	const uint8_t *key;
	char owner[ST_NAME_MAX + 16];
};

static int node_key(void *ctx, const struct st_node *n)
{
	struct key_owner *k = ctx;

	if (!k->owner[0] && sodium_memcmp(n->wg_pk, k->key, ST_KEY_LEN) == 0)
		snprintf(k->owner, sizeof(k->owner), "node '%s'", n->name);
	return 0;
}

/* A CNAME record at a name: the name is an alias, and can be nothing else. */
struct cname_at {
	const char *name;
	int64_t id;
};

static int cname_named(void *ctx, const struct st_dns_record *r)
{
	struct cname_at *ca = ctx;

	if (!ca->id && strcmp(r->type, "CNAME") == 0 && strcmp(r->name, ca->name) == 0)
		ca->id = r->id;
	return 0;
}

static int client_key(void *ctx, const struct st_client *cl)
{
	struct key_owner *k = ctx;

	if (!k->owner[0] && sodium_memcmp(cl->wg_pk, k->key, ST_KEY_LEN) == 0)
		snprintf(k->owner, sizeof(k->owner), "client '%s'", cl->name);
	return 0;
}

/*
 * Checks cl against its network (inside the transaction): its name is
 * neither a node's nor a client's nor a CNAME's (a name is a host in the
 * zone), its key is nobody's (WireGuard tells peers apart by key alone).
 */
static int check_unique(struct api_call *c, const struct st_network *net,
                        const struct st_client *cl)
{
	struct store *s = c->ctl->store;
	struct key_owner k = {.key = cl->wg_pk};
	struct cname_at ca = {.name = cl->name};
	struct st_client other;
	struct st_node node;
	int ret;

	ret = s->ops->node_get(s, net->id, cl->name, &node);
	if (ret == 0)
		return api_fail(c, NETFN__STATUS__ALREADY_EXISTS, "name",
		                "network '%s' has a node '%s': the two would share a name",
		                net->name, cl->name);
	if (ret != -ENOENT)
		return ret;
	ret = s->ops->client_get(s, net->id, cl->name, &other);
	if (ret == 0)
		return api_fail(c, NETFN__STATUS__ALREADY_EXISTS, "name",
		                "network '%s' already has a client '%s'", net->name, cl->name);
	if (ret != -ENOENT)
		return ret;
	/* The client's name is its host in the zone. */
	ret = s->ops->dns_record_list(s, net->id, cname_named, &ca);
	if (ret)
		return ret;
	if (ca.id)
		return api_fail(c, NETFN__STATUS__ALREADY_EXISTS, "name",
		                "'%s' is a CNAME of network '%s' (dns record %lld), and an alias "
		                "can have no other record",
		                cl->name, net->name, (long long)ca.id);
	ret = s->ops->node_list(s, net->id, node_key, &k);
	if (!ret)
		ret = s->ops->client_list(s, net->id, client_key, &k);
	if (ret)
		return ret;
	if (k.owner[0])
		return api_fail(c, NETFN__STATUS__ALREADY_EXISTS, "public_key",
		                "%s of network '%s' already has that key: make a new key pair",
		                k.owner, net->name);
	return 0;
}

/* "k=v,k2=v2", or "any node" when there are none: for messages. */
static void selector_text(const struct st_client *cl, char *buf, size_t len)
{
	size_t off = 0;

	if (!cl->n_gateway_selector) {
		snprintf(buf, len, "any node");
		return;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < cl->n_gateway_selector && off < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%s=%s", i ? "," : "",
		                 cl->gateway_selector[i].key, cl->gateway_selector[i].value);

		if (n < 0)
			break;
		off += (size_t)n;
	}
}

static int client_create(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__Client *in = (const Netfn__Client *)m;
	struct store *s = c->ctl->store;
	struct st_client *cl = api_alloc(c, sizeof(*cl));
	struct st_network net = {0};
	struct st_node gw;
	struct in_addr addr;
	char object[160], a[INET_ADDRSTRLEN], sel[160];
	int ret;

	if (!cl)
		return -ENOMEM;
	if (client_from_pb(c, in, cl))
		return -1;
	if (api_begin(c))
		return -1;
	ret = api_network_or_only(c, in->network, "a client", &net);
	if (ret)
		goto end;
	cl->network_id = net.id;
	ret = check_unique(c, &net, cl);
	if (ret)
		goto end;
	/* Nodes, vips and other clients: every holder of an address counts. */
	ret = ipam_alloc(s, &net, &addr);
	if (ret == -ENOSPC) {
		ret = api_fail(c, NETFN__STATUS__RESOURCE_EXHAUSTED, "network",
		               "network '%s' (%s) has no free address", net.name, net.cidr);
		goto end;
	}
	if (ret)
		goto end;
	cl->overlay_addr = addr.s_addr;
	ret = s->ops->client_insert(s, cl);
	if (ret) {
		ret = api_store_fail(c, ret, "name", "client");
		goto end;
	}
	/* Placing the gateway is the scheduler's: compiling runs it first. */
	ret = compile_network(s, net.id, &c->changed);
	if (ret)
		goto end;
	ret = gateway_of(s, cl, &gw);
	if (ret == -ENOENT) {
		selector_text(cl, sel, sizeof(sel));
		ret = api_fail(c, NETFN__STATUS__FAILED_PRECONDITION, "gateway_selector",
		               "no live node of network '%s' with an endpoint others can reach "
		               "matches the gateway selector (%s): nothing was created",
		               net.name, sel);
		goto end;
	}
	if (ret)
		goto end;
	object_name(object, sizeof(object), &net, cl);
	inet_ntop(AF_INET, &addr, a, sizeof(a));
	if (cl->expires)
		ret = api_audit(c, object, "address %s, gateway %s, %zu labels, expires %" PRId64,
		                a, gw.name, cl->n_labels, cl->expires);
	else
		ret = api_audit(c, object, "address %s, gateway %s, %zu labels, never expires", a,
		                gw.name, cl->n_labels);
end:
	if (api_end(c, ret))
		return -1;
	/* The tick drops the key from the gateway on time, even before others it knew. */
	tick_expiry_hint(cl->expires);
	*reply = (ProtobufCMessage *)client_to_pb(c, cl, &net);
	return *reply ? 0 : -ENOMEM;
}

/* Finds a client by name, in network when given, else in the only network that has it. */
static int find_client(struct api_call *c, const char *name, const char *network,
                       struct st_client *out, struct st_network *net)
{
	struct store *s = c->ctl->store;
	struct api_vec all = {0};
	const struct st_client *v;
	int found = 0, ret;
	char p[72];

	if (!valid_name(name))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "name",
		                "'%s' is not a valid client name", printable(name, p, sizeof(p)));
	if (network[0]) {
		if (s->ops->network_get(s, network, net))
			return api_fail(c, NETFN__STATUS__NOT_FOUND, "network",
			                "network '%s' not found", printable(network, p, sizeof(p)));
		ret = s->ops->client_get(s, net->id, name, out);
		if (ret == -ENOENT)
			return api_fail(c, NETFN__STATUS__NOT_FOUND, "name",
			                "network '%s' has no client '%s'", net->name, name);
		return ret ? api_store_fail(c, ret, "name", "client") : 0;
	}
	if (clients_of(c, 0, &all))
		return -EIO;
	v = all.v;
	for (size_t i = 0; i < all.n; i++) {
		if (strcmp(v[i].name, name))
			continue;
		if (found++ == 0)
			*out = v[i];
	}
	if (found == 0)
		return api_fail(c, NETFN__STATUS__NOT_FOUND, "name", "client '%s' not found", name);
	if (found > 1)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "network",
		                "client '%s' is in several networks: name one with --network",
		                name);
	ret = s->ops->network_get_id(s, out->network_id, net);
	return ret ? api_store_fail(c, ret, "network", "network") : 0;
}

static int client_list(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__NodeListRequest *in = (const Netfn__NodeListRequest *)m;
	struct store *s = c->ctl->store;
	Netfn__ClientList *out = api_alloc(c, sizeof(*out));
	struct api_list pbs = {.c = c};
	struct api_vec all = {0};
	const struct st_client *v;
	struct st_network net = {0};
	char p[72];
	int ret;

	if (!out)
		return -ENOMEM;
	if (in->network[0] && s->ops->network_get(s, in->network, &net))
		return api_fail(c, NETFN__STATUS__NOT_FOUND, "network", "network '%s' not found",
		                printable(in->network, p, sizeof(p)));
	/* Copied first: filling each one reads the store again. */
	if (clients_of(c, net.id, &all))
		return -EIO;
	v = all.v;
	for (size_t i = 0; i < all.n; i++) {
		if (net.id != v[i].network_id && s->ops->network_get_id(s, v[i].network_id, &net))
			return -EIO;
		ret = api_list_push(&pbs, client_to_pb(c, &v[i], &net));
		if (ret)
			return ret;
	}
	netfn__client_list__init(out);
	out->clients = (Netfn__Client **)pbs.v;
	out->n_clients = pbs.n;
	*reply = &out->base;
	return 0;
}

static int client_show(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__NameRef *ref = (const Netfn__NameRef *)m;
	struct st_client *cl = api_alloc(c, sizeof(*cl));
	struct st_network net;

	if (!cl)
		return -ENOMEM;
	if (find_client(c, ref->name, ref->network, cl, &net))
		return -1;
	*reply = (ProtobufCMessage *)client_to_pb(c, cl, &net);
	return *reply ? 0 : -ENOMEM;
}

/* Revokes at once: the recompile in this transaction drops the gateway's peer. */
static int client_delete(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__NameRef *ref = (const Netfn__NameRef *)m;
	struct store *s = c->ctl->store;
	struct st_client *cl = api_alloc(c, sizeof(*cl));
	struct st_network net;
	char object[160];
	int ret;

	if (!cl)
		return -ENOMEM;
	if (api_begin(c))
		return -1;
	ret = find_client(c, ref->name, ref->network, cl, &net);
	if (ret)
		goto end;
	/* Its gateway placement goes with it (the store's trigger). */
	ret = s->ops->client_delete(s, cl->id);
	if (ret) {
		ret = api_store_fail(c, ret, "name", "client");
		goto end;
	}
	object_name(object, sizeof(object), &net, cl);
	ret = api_audit(c, object, "deleted: key revoked");
	if (!ret)
		ret = compile_network(s, net.id, &c->changed);
end:
	return api_end_empty(c, ret, reply);
}

const struct api_method api_client_methods[] = {
    {"client.create", &netfn__client__descriptor, true, client_create},
    {"client.list", &netfn__node_list_request__descriptor, false, client_list},
    {"client.show", &netfn__name_ref__descriptor, false, client_show},
    {"client.delete", &netfn__name_ref__descriptor, true, client_delete},
    {0},
};
