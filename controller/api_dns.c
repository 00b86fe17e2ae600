// SPDX-License-Identifier: Apache-2.0
/*
 * API handlers for the overlay DNS: record_add (every field checked against
 * the network's zone with the grammar of netfns/dns/dns.c, and against the
 * zone's other names, before anything is stored), record_delete, and zone
 * (every record of a network's zone, the names the controller keeps for its
 * nodes and clients first, and where the scheduler placed its servers).
 * Names are kept relative to the zone ("@" is the zone itself) and values
 * canonical (addresses re-printed, targets fully qualified), which is what
 * the compiler serves. Every mutation recompiles the network in its own
 * transaction: only the nodes that serve the zone get a new section.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/api.h"
#include "controller/compile.h"
#include "controller/validate.h"
#include "netfns/dns/dns.h"

_Static_assert(ST_DNS_VALUE_MAX == DNS_VALUE_MAX, "value size");
_Static_assert(ST_DOMAIN_MAX <= DNS_NAME_MAX, "name size");

static int push_client(void *ctx, const struct st_client *cl)
{
	return api_collect(ctx, cl, sizeof(*cl));
}

static int push_record(void *ctx, const struct st_dns_record *r)
{
	return api_collect(ctx, r, sizeof(*r));
}

/* The nodes, clients and custom records of a network, each in the store's order. */
struct zone_data {
	struct api_vec nodes, clients, records;
};

static int zone_load(struct api_call *c, int64_t network_id, struct zone_data *z)
{
	struct store *s = c->ctl->store;
	struct api_collect clients = {c, &z->clients}, records = {c, &z->records};
	int ret;

	memset(z, 0, sizeof(*z));
	ret = api_nodes_of(c, network_id, &z->nodes);
	if (!ret)
		ret = s->ops->client_list(s, network_id, push_client, &clients);
	if (!ret)
		ret = s->ops->dns_record_list(s, network_id, push_record, &records);
	return ret;
}

/* The zone of net; a stored network whose zone does not fit is damage. */
static int zone_of(struct api_call *c, const struct st_network *net, char zone[DNS_NAME_MAX])
{
	if (compile_dns_zone(net, zone, DNS_NAME_MAX))
		return api_fail(c, NETFN__STATUS__INTERNAL, "network",
		                "network '%s' has domain '%s', too long for a zone", net->name,
		                net->domain);
	return 0;
}

static bool expired(const struct st_client *cl)
{
	return cl->expires && cl->expires <= ctl_now();
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Checks the fields of an add that need no store into r (name lower-cased, type canonical). */
static int record_from_pb(struct api_call *c, const Netfn__DnsRecord *in, struct st_dns_record *r,
                          enum dns_type *type)
{
	char why[200], p[72];

	memset(r, 0, sizeof(*r));
	if (strcmp(in->name, "@") != 0) {
		if (!dns_name_valid(in->name, why, sizeof(why)))
			return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "name",
			                "'%s' is not a name: %s (relative to the zone; \"@\" is "
			                "the zone itself)",
			                printable(in->name, p, sizeof(p)), why);
		if (strlen(in->name) >= sizeof(r->name))
			return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "name",
			                "%zu characters, at most %zu", strlen(in->name),
			                sizeof(r->name) - 1);
	}
	snprintf(r->name, sizeof(r->name), "%s", in->name);
	lower(r->name);
	if (dns_type_parse(in->type, type))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "type",
		                "'%s' is not a record type: A, AAAA, CNAME, SRV or TXT",
		                printable(in->type, p, sizeof(p)));
	snprintf(r->type, sizeof(r->type), "%s", dns_type_name(*type));
	if (*type == DNS_CNAME && strcmp(r->name, "@") == 0)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "name",
		                "the zone itself (\"@\") cannot be an alias: give a name in it");
	if (in->ttl > DNS_TTL_MAX)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "ttl",
		                "%u seconds is above %d (0 means %d)", in->ttl, DNS_TTL_MAX,
		                DNS_TTL_DEFAULT);
	r->ttl = in->ttl ? in->ttl : DNS_TTL_DEFAULT;
	return 0;
}

/* Checks r's name and value against zone; makes the value canonical. */
static int record_in_zone(struct api_call *c, const Netfn__DnsRecord *in, enum dns_type type,
                          const char *zone, struct st_dns_record *r)
{
	char why[200], fqdn[DNS_NAME_MAX + 64];
	int n;

	if (strcmp(r->name, "@") == 0)
		n = snprintf(fqdn, sizeof(fqdn), "%s", zone);
	else
		n = snprintf(fqdn, sizeof(fqdn), "%s.%s", r->name, zone);
	if (n < 0 || n > DNS_NAME_MAX - 1)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "name",
		                "%s.%s is over %d characters", r->name, zone, DNS_NAME_MAX - 1);
	if (dns_value_canon(type, in->value, zone, r->value, why, sizeof(why)))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "value", "%s", why);
	if (type == DNS_CNAME && strcmp(r->value, fqdn) == 0)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "value",
		                "%s would be an alias of itself", fqdn);
	return 0;
}

/*
 * Checks a new record against the zone's other names: an alias (CNAME) has
 * no other record at its name, be it custom or a node's or client's own;
 * the same record twice is refused; and the zone holds at most
 * DNS_MAX_RECORDS custom records.
 */
static int record_fits(struct api_call *c, const struct st_network *net, const struct zone_data *z,
                       const struct st_dns_record *r)
{
	const struct st_dns_record *v = z->records.v;
	bool cname = strcmp(r->type, "CNAME") == 0;

	for (size_t i = 0; cname && i < z->nodes.n; i++)
		if (strcmp(((const struct st_node *)z->nodes.v)[i].name, r->name) == 0)
			return api_fail(
			    c, NETFN__STATUS__ALREADY_EXISTS, "name",
			    "'%s' is node %s's own name, and an alias can have no other "
			    "record",
			    r->name, r->name);
	for (size_t i = 0; cname && i < z->clients.n; i++)
		if (strcmp(((const struct st_client *)z->clients.v)[i].name, r->name) == 0)
			return api_fail(
			    c, NETFN__STATUS__ALREADY_EXISTS, "name",
			    "'%s' is client %s's own name, and an alias can have no other "
			    "record",
			    r->name, r->name);
	for (size_t i = 0; i < z->records.n; i++) {
		if (strcmp(v[i].name, r->name) != 0)
			continue;
		if (!strcmp(v[i].type, r->type) && !strcmp(v[i].value, r->value))
			return api_fail(c, NETFN__STATUS__ALREADY_EXISTS, "value",
			                "network '%s' already has %s %s %s (record %" PRId64 ")",
			                net->name, r->name, r->type, r->value, v[i].id);
		if (cname || !strcmp(v[i].type, "CNAME"))
			return api_fail(c, NETFN__STATUS__ALREADY_EXISTS, "name",
			                "'%s' already has a record of type %s (record %" PRId64
			                "), and an alias can have no other record",
			                r->name, v[i].type, v[i].id);
	}
	if (z->records.n >= DNS_MAX_RECORDS)
		return api_fail(c, NETFN__STATUS__RESOURCE_EXHAUSTED, "network",
		                "network '%s' already has %zu records, the most a zone may hold",
		                net->name, z->records.n);
	return 0;
}

static Netfn__DnsRecord *record_pb(struct api_call *c, uint64_t id, const char *network,
                                   const char *name, const char *type, const char *value,
                                   uint32_t ttl, bool automatic)
{
	Netfn__DnsRecord *pb = api_alloc(c, sizeof(*pb));

	if (!pb)
		return NULL;
	netfn__dns_record__init(pb);
	pb->id = id;
	pb->network = api_strdup(c, network);
	pb->name = api_strdup(c, name);
	pb->type = api_strdup(c, type);
	pb->value = api_strdup(c, value);
	pb->ttl = ttl;
	pb->automatic = automatic;
	return pb->network && pb->name && pb->type && pb->value ? pb : NULL;
}

static Netfn__DnsRecord *stored_pb(struct api_call *c, const struct st_dns_record *r,
                                   const char *network)
{
	return record_pb(c, (uint64_t)r->id, network, r->name, r->type, r->value, r->ttl, false);
}

static Netfn__DnsRecord *own_pb(struct api_call *c, const char *network, const char *name,
                                uint32_t addr)
{
	struct in_addr a = {.s_addr = addr};
	char text[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, text, sizeof(text));
	return record_pb(c, 0, network, name, "A", text, DNS_TTL_DEFAULT, true);
}

static int record_add(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__DnsRecord *in = (const Netfn__DnsRecord *)m;
	struct store *s = c->ctl->store;
	struct st_dns_record *r = api_alloc(c, sizeof(*r));
	struct st_network net = {0};
	struct zone_data z;
	char zone[DNS_NAME_MAX], object[160];
	enum dns_type type;
	int ret;

	if (!r)
		return -ENOMEM;
	if (record_from_pb(c, in, r, &type))
		return -1;
	r->created = ctl_now();

	if (api_begin(c))
		return -1;
	ret = api_network_or_only(c, in->network, "a zone", &net);
	if (!ret)
		ret = zone_of(c, &net, zone);
	if (!ret)
		ret = record_in_zone(c, in, type, zone, r);
	if (!ret)
		ret = zone_load(c, net.id, &z);
	if (!ret)
		ret = record_fits(c, &net, &z, r);
	if (ret)
		goto end;
	r->network_id = net.id;
	ret = s->ops->dns_record_insert(s, r);
	if (ret) {
		ret = api_store_fail(c, ret, "value", "record");
		goto end;
	}
	snprintf(object, sizeof(object), "%s/dns", net.name);
	ret = api_audit(c, object, "record %" PRId64 " added: %s %s %s ttl %u", r->id, r->name,
	                r->type, r->value, r->ttl);
	if (!ret)
		ret = compile_network(s, net.id, &c->changed);
end:
	if (api_end(c, ret))
		return -1;
	*reply = (ProtobufCMessage *)stored_pb(c, r, net.name);
	return *reply ? 0 : -ENOMEM;
}

static int record_delete(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__DnsRecordRef *ref = (const Netfn__DnsRecordRef *)m;
	struct store *s = c->ctl->store;
	struct st_network net = {0};
	struct st_dns_record r;
	char object[160], p[72];
	int ret;

	if (ref->id == 0 || ref->id > INT64_MAX)
		return api_fail(c, NETFN__STATUS__NOT_FOUND, "id",
		                "%" PRIu64
		                " is not a record id (netfnctl dns record list shows them)",
		                ref->id);
	if (api_begin(c))
		return -1;
	/* The id alone names a record; a network, when given, must be its own. */
	if (ref->network[0] && s->ops->network_get(s, ref->network, &net)) {
		ret = api_fail(c, NETFN__STATUS__NOT_FOUND, "network", "network '%s' not found",
		               printable(ref->network, p, sizeof(p)));
		goto end;
	}
	ret = s->ops->dns_record_get(s, (int64_t)ref->id, &r);
	if (ret == -ENOENT || (!ret && net.id && r.network_id != net.id)) {
		ret = api_fail(c, NETFN__STATUS__NOT_FOUND, "id", "%s has no dns record %" PRIu64,
		               net.id ? net.name : "the controller", ref->id);
		goto end;
	}
	if (!ret && !net.id)
		ret = s->ops->network_get_id(s, r.network_id, &net);
	if (!ret)
		ret = s->ops->dns_record_delete(s, r.id);
	if (ret) {
		ret = api_store_fail(c, ret, "id", "record");
		goto end;
	}
	snprintf(object, sizeof(object), "%s/dns", net.name);
	ret = api_audit(c, object, "record %" PRId64 " deleted: %s %s %s", r.id, r.name, r.type,
	                r.value);
	if (!ret)
		ret = compile_network(s, net.id, &c->changed);
end:
	return api_end_empty(c, ret, reply);
}

static int zone_show(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__NodeListRequest *in = (const Netfn__NodeListRequest *)m;
	Netfn__DnsZone *out = api_alloc(c, sizeof(*out));
	struct api_list records = {.c = c};
	struct st_network net = {0};
	struct zone_data z;
	const struct st_node *nodes;
	const struct st_client *clients;
	const struct st_dns_record *custom;
	char zone[DNS_NAME_MAX];
	int ret;

	if (!out)
		return -ENOMEM;
	if (api_network_or_only(c, in->network, "a zone", &net) || zone_of(c, &net, zone))
		return -1;
	ret = zone_load(c, net.id, &z);
	if (ret)
		return ret;
	nodes = z.nodes.v;
	clients = z.clients.v;
	custom = z.records.v;
	/* The names the controller keeps first: every node's, every live client's. */
	for (size_t i = 0; i < z.nodes.n && !ret; i++)
		ret = api_list_push(&records,
		                    own_pb(c, net.name, nodes[i].name, nodes[i].overlay_addr));
	for (size_t i = 0; i < z.clients.n && !ret; i++)
		if (!expired(&clients[i]))
			ret = api_list_push(&records, own_pb(c, net.name, clients[i].name,
			                                     clients[i].overlay_addr));
	for (size_t i = 0; i < z.records.n && !ret; i++)
		ret = api_list_push(&records, stored_pb(c, &custom[i], net.name));
	if (ret)
		return ret;
	netfn__dns_zone__init(out);
	out->network = api_strdup(c, net.name);
	out->zone = api_strdup(c, zone);
	out->records = (Netfn__DnsRecord **)records.v;
	out->n_records = records.n;
	if (!out->network || !out->zone)
		return -ENOMEM;
	/* Each server slot, as lb.show shows a load balancer's replicas. */
	ret = api_placements_pb(c, "dns", net.id, net.dns_replicas ? net.dns_replicas : 1, 0,
	                        &out->servers, &out->n_servers);
	if (ret)
		return ret;
	*reply = &out->base;
	return 0;
}

const struct api_method api_dns_methods[] = {
    {"dns.record_add", &netfn__dns_record__descriptor, true, record_add},
    {"dns.record_delete", &netfn__dns_record_ref__descriptor, true, record_delete},
    {"dns.zone", &netfn__node_list_request__descriptor, false, zone_show},
    {0},
};
