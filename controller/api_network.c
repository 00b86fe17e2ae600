// SPDX-License-Identifier: Apache-2.0
/*
 * API handlers for networks: create (fully validated: name, CIDR, port,
 * MTU, topology, no overlap with another network, the overlay DNS domain
 * and server count), list, show, delete.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "controller/api.h"
#include "controller/compile.h"
#include "controller/validate.h"
#include "netfns/common/prefix.h"
#include "netfns/dns/dns.h"

#define DEFAULT_PORT 51820
#define DEFAULT_MTU  1420
/* One server, or two so lookups survive a host's death without waiting for a move. */
#define DNS_REPLICAS_MAX 2

static int count_node(void *ctx, const struct st_node *n)
{
	(void)n;
	(*(uint32_t *)ctx)++;
	return 0;
}

static Netfn__Network *network_to_pb(struct api_call *c, const struct st_network *n)
{
	struct store *s = c->ctl->store;
	Netfn__Network *pb = api_alloc(c, sizeof(*pb));

	if (!pb)
		return NULL;
	netfn__network__init(pb);
	pb->name = api_strdup(c, n->name);
	pb->cidr = api_strdup(c, n->cidr);
	pb->port = n->port;
	pb->mtu = n->mtu;
	pb->topology = api_strdup(c, n->topology);
	pb->hub = api_strdup(c, n->hub_name);
	pb->created = n->created;
	pb->domain = api_strdup(c, n->domain[0] ? n->domain : DNS_DEFAULT_ZONE);
	pb->dns_replicas = n->dns_replicas ? n->dns_replicas : 1;
	s->ops->node_list(s, n->id, count_node, &pb->nodes);
	return pb->name && pb->cidr && pb->topology && pb->hub && pb->domain ? pb : NULL;
}

struct overlap {
	const struct nf_prefix *cidr;
	char name[ST_NAME_MAX];
	char cidr_text[ST_CIDR_MAX];
};

static int find_overlap(void *ctx, const struct st_network *n)
{
	struct overlap *o = ctx;
	struct nf_prefix p;

	if (nf_prefix_parse(n->cidr, false, &p) && nf_prefix_overlaps(o->cidr, &p)) {
		snprintf(o->name, sizeof(o->name), "%s", n->name);
		snprintf(o->cidr_text, sizeof(o->cidr_text), "%s", n->cidr);
		return 1;
	}
	return 0;
}

/* Checks the overlay DNS fields of a create into n (its name is set already). */
static int dns_fields(struct api_call *c, const Netfn__Network *in, struct st_network *n)
{
	char why[160], p[72], zone[DNS_NAME_MAX];
	const char *domain = in->domain[0] ? in->domain : DNS_DEFAULT_ZONE;

	if (!dns_name_valid(domain, why, sizeof(why)))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "domain",
		                "'%s' is not a domain name: %s", printable(domain, p, sizeof(p)),
		                why);
	if (strlen(domain) >= sizeof(n->domain))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "domain",
		                "%zu characters, at most %zu", strlen(domain),
		                sizeof(n->domain) - 1);
	/* Names are case-blind: the zone is kept and served in lower case. */
	for (size_t i = 0; domain[i]; i++)
		n->domain[i] = (char)(domain[i] >= 'A' && domain[i] <= 'Z' ? domain[i] - 'A' + 'a'
		                                                           : domain[i]);
	if (compile_dns_zone(n, zone, sizeof(zone)))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "domain",
		                "the zone %s.%s would be over %d characters", n->name, n->domain,
		                DNS_NAME_MAX - 1);
	if (in->dns_replicas > DNS_REPLICAS_MAX)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "dns_replicas",
		                "%u DNS servers: 1 or %d (0 means 1)", in->dns_replicas,
		                DNS_REPLICAS_MAX);
	n->dns_replicas = in->dns_replicas ? in->dns_replicas : 1;
	return 0;
}

static int network_create(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__Network *in = (const Netfn__Network *)m;
	struct store *s = c->ctl->store;
	struct st_network n = {0};
	struct nf_prefix cidr;
	struct overlap o = {.cidr = &cidr};
	char p[72];
	int ret;

	if (!valid_name(in->name))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "name",
		                "'%s' is not a valid name: 1-63 of a-z 0-9 '-', not starting or "
		                "ending with '-'",
		                printable(in->name, p, sizeof(p)));
	if (!nf_prefix_parse(in->cidr, false, &cidr) || cidr.family != AF_INET)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "cidr",
		                "'%s' is not an IPv4 prefix like 10.42.0.0/24",
		                printable(in->cidr, p, sizeof(p)));
	if (!nf_prefix_is_network(&cidr))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "cidr",
		                "'%s' has host bits set", in->cidr);
	if (cidr.len < 8 || cidr.len > 30)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "cidr",
		                "prefix length /%u is outside /8 to /30", cidr.len);
	if (in->port > 65535)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "port", "%u is outside 1-65535",
		                in->port);
	if (in->mtu && (in->mtu < 1280 || in->mtu > 9000))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "mtu",
		                "%u is outside 1280-9000", in->mtu);
	if (in->topology[0] && strcmp(in->topology, "mesh") && strcmp(in->topology, "hub"))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "topology",
		                "'%s' is not mesh or hub", printable(in->topology, p, sizeof(p)));
	if (strcmp(in->topology, "hub") == 0 && !valid_name(in->hub))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "hub",
		                "a hub topology needs --hub NODE, a valid node name (got '%s')",
		                printable(in->hub, p, sizeof(p)));
	if (strcmp(in->topology, "hub") != 0 && in->hub[0])
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "hub",
		                "only a hub topology has a hub");

	snprintf(n.name, sizeof(n.name), "%s", in->name);
	nf_prefix_format(&cidr, n.cidr, sizeof(n.cidr));
	n.port = in->port ? (uint16_t)in->port : DEFAULT_PORT;
	n.mtu = in->mtu ? in->mtu : DEFAULT_MTU;
	snprintf(n.topology, sizeof(n.topology), "%s", in->topology[0] ? in->topology : "mesh");
	snprintf(n.hub_name, sizeof(n.hub_name), "%s", in->hub);
	if (dns_fields(c, in, &n))
		return -1;
	n.created = ctl_now();

	if (api_begin(c))
		return -1;
	ret = s->ops->network_list(s, find_overlap, &o);
	if (ret == 1) {
		ret = api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "cidr",
		               "%s overlaps network '%s' (%s)", n.cidr, o.name, o.cidr_text);
		goto end;
	}
	if (ret)
		goto end;
	ret = s->ops->network_insert(s, &n);
	if (ret) {
		ret = api_store_fail(c, ret, "name", "network");
		goto end;
	}
	ret =
	    api_audit(c, n.name, "cidr=%s port=%u mtu=%u topology=%s%s%s domain=%s dns_replicas=%u",
	              n.cidr, n.port, n.mtu, n.topology, n.hub_name[0] ? " hub=" : "", n.hub_name,
	              n.domain, n.dns_replicas);
end:
	if (api_end(c, ret))
		return -1;
	*reply = (ProtobufCMessage *)network_to_pb(c, &n);
	return *reply ? 0 : -ENOMEM;
}

struct netlist {
	struct api_call *c;
	Netfn__NetworkList *out;
	size_t cap;
};

static int add_network(void *ctx, const struct st_network *n)
{
	struct netlist *l = ctx;
	Netfn__Network *pb;

	if (l->out->n_networks == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		Netfn__Network **v = api_alloc(l->c, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		if (l->out->n_networks)
			memcpy(v, l->out->networks, l->out->n_networks * sizeof(*v));
		l->out->networks = v;
		l->cap = cap;
	}
	pb = network_to_pb(l->c, n);
	if (!pb)
		return -ENOMEM;
	l->out->networks[l->out->n_networks++] = pb;
	return 0;
}

static int network_list(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	struct store *s = c->ctl->store;
	struct netlist l = {.c = c, .out = api_alloc(c, sizeof(Netfn__NetworkList))};

	(void)m;
	if (!l.out)
		return -ENOMEM;
	netfn__network_list__init(l.out);
	if (s->ops->network_list(s, add_network, &l))
		return -EIO;
	*reply = &l.out->base;
	return 0;
}

static int network_show(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__NameRef *ref = (const Netfn__NameRef *)m;
	struct store *s = c->ctl->store;
	struct st_network n;
	int ret = s->ops->network_get(s, ref->name, &n);

	if (ret)
		return api_store_fail(c, ret, "name", "network");
	*reply = (ProtobufCMessage *)network_to_pb(c, &n);
	return *reply ? 0 : -ENOMEM;
}

static int network_delete(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__NameRef *ref = (const Netfn__NameRef *)m;
	struct store *s = c->ctl->store;
	struct st_network n;
	uint32_t nodes = 0;
	int ret;

	if (api_begin(c))
		return -1;
	ret = s->ops->network_get(s, ref->name, &n);
	if (ret) {
		ret = api_store_fail(c, ret, "name", "network");
		goto end;
	}
	s->ops->node_list(s, n.id, count_node, &nodes);
	if (nodes) {
		ret =
		    api_fail(c, NETFN__STATUS__FAILED_PRECONDITION, "name",
		             "network '%s' still has %u node(s); delete them first", n.name, nodes);
		goto end;
	}
	ret = s->ops->network_delete(s, n.id);
	if (ret) {
		ret = api_fail(c, NETFN__STATUS__FAILED_PRECONDITION, "name",
		               "network '%s' cannot be deleted (%d)", n.name, ret);
		goto end;
	}
	ret = api_audit(c, n.name, "cidr=%s", n.cidr);
end:
	return api_end_empty(c, ret, reply);
}

const struct api_method api_network_methods[] = {
    {"network.create", &netfn__network__descriptor, true, network_create},
    {"network.list", &netfn__empty__descriptor, false, network_list},
    {"network.show", &netfn__name_ref__descriptor, false, network_show},
    {"network.delete", &netfn__name_ref__descriptor, true, network_delete},
    {0},
};
