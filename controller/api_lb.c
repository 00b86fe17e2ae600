// SPDX-License-Identifier: Apache-2.0
/*
 * API handlers for load balancers: create (every field checked, the vip
 * allocated or checked against the network's addresses and frontends,
 * before anything is stored), list, show (with where the scheduler put each
 * replica), delete, explicit backend add and remove, and backends (the
 * resolved backends with the health and connection counts each hosting node
 * last reported). Every mutation recompiles the load balancer's network in
 * its own transaction, which also reruns the scheduler, so the reply already
 * shows the placements.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/agentsrv.h"
#include "controller/api.h"
#include "controller/compile.h"
#include "controller/ipam.h"
#include "controller/validate.h"
#include "netfns/common/prefix.h"
#include "netfns/lb/lb.h"
#include "netfns/vpn/vpn.h"

/* More replicas than this is a fleet-wide daemon, which a load balancer is not. */
#define LB_MAX_REPLICAS 16

_Static_assert(ST_NAME_MAX == LB_NAME_MAX, "name size");
_Static_assert(ST_LB_MAX_BACKENDS <= LB_MAX_BACKENDS, "backends");

static int push_lb(void *ctx, const struct st_lb *lb)
{
	return api_collect(ctx, lb, sizeof(*lb));
}

/* The load balancers of a network (0: of every network), in id order. */
static int lbs_of(struct api_call *c, int64_t network_id, struct api_vec *out)
{
	struct store *s = c->ctl->store;
	struct api_collect col = {c, out};

	return s->ops->lb_list(s, network_id, push_lb, &col);
}

static const struct st_node *node_by_id(const struct api_vec *nodes, int64_t id)
{
	const struct st_node *v = nodes->v;

	for (size_t i = 0; i < nodes->n; i++)
		if (v[i].id == id)
			return &v[i];
	return NULL;
}

static const struct st_node *node_by_addr(const struct api_vec *nodes, uint32_t addr)
{
	const struct st_node *v = nodes->v;

	for (size_t i = 0; i < nodes->n; i++)
		if (v[i].overlay_addr == addr)
			return &v[i];
	return NULL;
}

/* True when node carries every label of sel (no labels: every node). */
static bool labels_match(const struct st_node *node, const struct st_label *sel, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < node->n_labels; k++)
			if (!strcmp(node->labels[k].key, sel[i].key) &&
			    !strcmp(node->labels[k].value, sel[i].value))
				break;
		if (k == node->n_labels)
			return false;
	}
	return true;
}

static const char *ip_str(uint32_t addr, char *buf, size_t len)
{
	struct in_addr a = {.s_addr = addr};

	return inet_ntop(AF_INET, &a, buf, (socklen_t)len) ? buf : "?";
}

/* A dotted IPv4 address and nothing else: no prefix length, no IPv6. */
static bool parse_ipv4(const char *s, uint32_t *out)
{
	struct nf_prefix p;

	if (!s || strchr(s, '/') || !nf_prefix_parse(s, true, &p) || p.family != AF_INET)
		return false;
	*out = p.addr.v4.s_addr;
	return true;
}

/*
 * Addresses DNAT cannot send a connection to: "this network" (0/8),
 * loopback (the hosting node would loop it back to itself, and prerouting
 * DNAT to 127/8 is dropped as martian) and multicast, reserved, broadcast.
 */
static bool unusable_backend(uint32_t addr)
{
	uint32_t first = ntohl(addr) >> 24;

	return first == 0 || first == 127 || first >= 224;
}

/* Checks one explicit backend; field ("backends[2]", "backend") prefixes the field named. */
static int backend_from_pb(struct api_call *c, const Netfn__LbBackendSpec *in, const char *field,
                           struct st_lb_backend *out)
{
	char f[48], p[72], a[INET_ADDRSTRLEN];
	uint32_t addr;

	snprintf(f, sizeof(f), "%s.address", field);
	if (!parse_ipv4(in->address, &addr))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, f,
		                "'%s' is not an IPv4 address (a.b.c.d)",
		                printable(in->address, p, sizeof(p)));
	if (unusable_backend(addr))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, f,
		                "%s cannot be a backend: not a unicast address a node can reach",
		                ip_str(addr, a, sizeof(a)));
	snprintf(f, sizeof(f), "%s.port", field);
	if (in->port == 0 || in->port > 65535)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, f,
		                "port %u is not a port (1-65535)", in->port);
	snprintf(f, sizeof(f), "%s.weight", field);
	if (in->weight > LB_WEIGHT_MAX)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, f,
		                "weight %u is out of range (1-%d; 0 means 1)", in->weight,
		                LB_WEIGHT_MAX);
	out->addr = addr;
	out->port = (uint16_t)in->port;
	out->weight = (uint16_t)(in->weight ? in->weight : 1);
	return 0;
}

/* Index of the explicit backend at addr:port, or -1. */
static int backend_find(const struct st_lb *lb, uint32_t addr, uint16_t port)
{
	for (size_t i = 0; i < lb->n_backends; i++)
		if (lb->backends[i].addr == addr && lb->backends[i].port == port)
			return (int)i;
	return -1;
}

/*
 * The health checks. Absent: the defaults for tcp, none for udp (a TCP
 * connect says nothing about a UDP service). interval_ms 0 turns them off,
 * except when timeout, rise and fall are 0 too and a port is set: that is
 * "the default checks, on this port", the way to check a udp service.
 */
static int health_from_pb(struct api_call *c, const Netfn__LbHealthCheck *in, bool udp,
                          struct st_lb *lb)
{
	bool defaults = !in || (!in->interval_ms && !in->timeout_ms && !in->rise && !in->fall &&
	                        in->port && in->port <= 65535);

	lb->hc_interval_ms = lb->hc_timeout_ms = lb->hc_rise = lb->hc_fall = 0;
	lb->hc_port = 0;
	if (in && in->port > 65535)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "health.port",
		                "port %u is not a port (1-65535; 0: each backend's port)",
		                in->port);
	if (defaults) {
		if (udp && (!in || !in->port))
			return 0;
		lb->hc_interval_ms = LB_HC_INTERVAL_DEF_MS;
		lb->hc_timeout_ms = LB_HC_TIMEOUT_DEF_MS;
		lb->hc_rise = LB_HC_RISE_DEF;
		lb->hc_fall = LB_HC_FALL_DEF;
		lb->hc_port = (uint16_t)(in ? in->port : 0);
		return 0;
	}
	if (in->interval_ms == 0)
		return 0;
	if (in->interval_ms < LB_HC_INTERVAL_MIN_MS || in->interval_ms > LB_HC_INTERVAL_MAX_MS)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "health.interval_ms",
		                "%u ms is out of range (%d-%d ms; 0 turns checks off)",
		                in->interval_ms, LB_HC_INTERVAL_MIN_MS, LB_HC_INTERVAL_MAX_MS);
	if (in->timeout_ms == 0 || in->timeout_ms >= in->interval_ms)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "health.timeout_ms",
		                "%u ms: a check's timeout must be above 0 and below its interval "
		                "(%u ms)",
		                in->timeout_ms, in->interval_ms);
	if (in->rise == 0 || in->rise > LB_HC_COUNT_MAX)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "health.rise",
		                "%u is out of range (1-%d)", in->rise, LB_HC_COUNT_MAX);
	if (in->fall == 0 || in->fall > LB_HC_COUNT_MAX)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "health.fall",
		                "%u is out of range (1-%d)", in->fall, LB_HC_COUNT_MAX);
	if (udp && in->port == 0)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "health.port",
		                "a udp load balancer is checked with TCP connects: give the TCP "
		                "port to check");
	lb->hc_interval_ms = in->interval_ms;
	lb->hc_timeout_ms = in->timeout_ms;
	lb->hc_rise = in->rise;
	lb->hc_fall = in->fall;
	lb->hc_port = (uint16_t)in->port;
	return 0;
}

/* Checks every field of a create that needs no store; fills lb and *vip_auto. */
static int lb_from_pb(struct api_call *c, const Netfn__LoadBalancer *in, struct st_lb *lb,
                      bool *vip_auto)
{
	enum lb_proto proto = LB_TCP;
	enum lb_algo algo = LB_ROUND_ROBIN;
	char p[72], f[32];

	memset(lb, 0, sizeof(*lb));
	*vip_auto = false;
	if (!valid_name(in->name))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "name",
		                "'%s' is not a valid name: 1-63 of a-z 0-9 '-', not starting or "
		                "ending with '-'",
		                printable(in->name, p, sizeof(p)));
	snprintf(lb->name, sizeof(lb->name), "%s", in->name);
	if (in->protocol[0] && lb_proto_parse(in->protocol, &proto))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "protocol",
		                "'%s' is not a protocol: tcp or udp",
		                printable(in->protocol, p, sizeof(p)));
	snprintf(lb->protocol, sizeof(lb->protocol), "%s", lb_proto_name(proto));
	if (in->port == 0 || in->port > 65535)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "port",
		                "port %u is not a port (1-65535)", in->port);
	lb->port = (uint16_t)in->port;
	if (!strcmp(in->vip, "auto"))
		*vip_auto = true;
	else if (in->vip[0] && !parse_ipv4(in->vip, &lb->vip))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "vip",
		                "'%s' is not an IPv4 address, \"auto\" or empty (each host's own "
		                "address)",
		                printable(in->vip, p, sizeof(p)));
	if (in->replicas > LB_MAX_REPLICAS)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "replicas",
		                "%u replicas: at most %d", in->replicas, LB_MAX_REPLICAS);
	lb->replicas = in->replicas ? in->replicas : 1;
	if (in->vip[0] && lb->replicas > 1)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "replicas",
		                "%u replicas with a vip: an overlay vip is routed to one node at a "
		                "time (give 1, or no vip to serve on each host's own address)",
		                lb->replicas);

	if (in->backend_port > 65535)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "backend_port",
		                "port %u is not a port (1-65535; 0: no selector backends)",
		                in->backend_port);
	if (labels_merge(lb->backend_selector, &lb->n_backend_selector, in->backend_selector,
	                 in->n_backend_selector, "backend_selector", &c->st))
		return -1;
	if (in->n_backend_selector && !in->backend_port)
		return api_fail(
		    c, NETFN__STATUS__INVALID_ARGUMENT, "backend_selector",
		    "a backend selector needs backend_port: the port its nodes serve on");
	if (in->backend_weight > LB_WEIGHT_MAX)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "backend_weight",
		                "weight %u is out of range (1-%d; 0 means 1)", in->backend_weight,
		                LB_WEIGHT_MAX);
	lb->backend_port = (uint16_t)in->backend_port;
	lb->backend_weight = (uint16_t)(in->backend_weight ? in->backend_weight : 1);
	if (in->n_backends > ST_LB_MAX_BACKENDS)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "backends",
		                "%zu explicit backends: at most %d", in->n_backends,
		                ST_LB_MAX_BACKENDS);
	for (size_t i = 0; i < in->n_backends; i++) {
		struct st_lb_backend *b = &lb->backends[i];
		int dup;

		snprintf(f, sizeof(f), "backends[%zu]", i);
		if (backend_from_pb(c, in->backends[i], f, b))
			return -1;
		dup = backend_find(lb, b->addr, b->port);
		if (dup >= 0)
			return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, f,
			                "%s:%u is already backends[%d]", in->backends[i]->address,
			                b->port, dup);
		lb->n_backends++;
	}
	if (!lb->backend_port && !lb->n_backends)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "backends",
		                "a load balancer needs backends: explicit ones, or backend_port "
		                "(with backend_selector) to use the network's nodes");

	if (in->algorithm[0] && lb_algo_parse(in->algorithm, &algo))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "algorithm",
		                "'%s' is not an algorithm: round-robin, random or source-hash",
		                printable(in->algorithm, p, sizeof(p)));
	snprintf(lb->algorithm, sizeof(lb->algorithm), "%s", lb_algo_name(algo));
	if (health_from_pb(c, in->health, proto == LB_UDP, lb))
		return -1;
	if (labels_merge(lb->placement, &lb->n_placement, in->placement, in->n_placement,
	                 "placement", &c->st))
		return -1;
	return 0;
}

/*
 * Checks lb's frontend against its network (inside the transaction): the
 * vip must be a free host address of the network (or is allocated, for
 * "auto"), and no other load balancer may serve the same protocol and port
 * where this one could land on the same address.
 */
static int check_frontend(struct api_call *c, const struct st_network *net, struct st_lb *lb,
                          bool vip_auto)
{
	struct api_vec nodes = {0}, lbs = {0};
	const struct st_lb *others;
	const struct st_node *owner;
	struct nf_prefix cidr;
	struct in_addr got;
	uint32_t mask, base;
	char a[INET_ADDRSTRLEN];
	bool taken;
	int ret;

	ret = api_nodes_of(c, net->id, &nodes);
	if (!ret)
		ret = lbs_of(c, net->id, &lbs);
	if (ret)
		return ret;
	others = lbs.v;
	if (!nf_prefix_parse(net->cidr, false, &cidr) || cidr.family != AF_INET)
		return api_fail(c, NETFN__STATUS__INTERNAL, "network", "network '%s' has cidr '%s'",
		                net->name, net->cidr);
	mask = cidr.len ? htonl(~0u << (32 - cidr.len)) : 0;
	base = cidr.addr.v4.s_addr & mask;
	if (vip_auto) {
		/* Nodes, other vips and clients: every holder of an address. */
		ret = ipam_alloc(c->ctl->store, net, &got);
		if (ret == -ENOSPC)
			return api_fail(c, NETFN__STATUS__RESOURCE_EXHAUSTED, "vip",
			                "network '%s' (%s) has no free address for a vip",
			                net->name, net->cidr);
		if (ret)
			return ret;
		lb->vip = got.s_addr;
	} else if (lb->vip) {
		ip_str(lb->vip, a, sizeof(a));
		if ((lb->vip & mask) != base)
			return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "vip",
			                "%s is outside network '%s' (%s)", a, net->name, net->cidr);
		if (lb->vip == base || lb->vip == (base | ~mask))
			return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "vip",
			                "%s is the network or broadcast address of %s", a,
			                net->cidr);
		owner = node_by_addr(&nodes, lb->vip);
		if (owner)
			return api_fail(c, NETFN__STATUS__ALREADY_EXISTS, "vip",
			                "%s is node '%s''s overlay address", a, owner->name);
		for (size_t i = 0; i < lbs.n; i++)
			if (others[i].vip == lb->vip)
				return api_fail(c, NETFN__STATUS__ALREADY_EXISTS, "vip",
				                "%s is already the vip of load balancer '%s'", a,
				                others[i].name);
		/* Named above when a node or vip has it; anyone else is a client. */
		ret = ipam_taken(c->ctl->store, net->id, lb->vip, &taken);
		if (ret)
			return ret;
		if (taken)
			return api_fail(c, NETFN__STATUS__ALREADY_EXISTS, "vip",
			                "%s is already an external client's address", a);
	}
	for (size_t i = 0; i < lbs.n; i++) {
		const struct st_lb *o = &others[i];

		if (o->port != lb->port || strcmp(o->protocol, lb->protocol) || o->vip != lb->vip)
			continue;
		if (lb->vip)
			return api_fail(c, NETFN__STATUS__ALREADY_EXISTS, "port",
			                "load balancer '%s' already serves %s port %u on %s",
			                o->name, o->protocol, o->port,
			                ip_str(o->vip, a, sizeof(a)));
		return api_fail(c, NETFN__STATUS__ALREADY_EXISTS, "port",
		                "load balancer '%s' already serves %s port %u on its hosts' own "
		                "addresses, and both could land on one node",
		                o->name, o->protocol, o->port);
	}
	return 0;
}

/* Finds a load balancer by name, in network when given, else in the only network that has it. */
static int find_lb(struct api_call *c, const char *name, const char *network, struct st_lb *out,
                   struct st_network *net)
{
	struct store *s = c->ctl->store;
	struct api_vec all = {0};
	const struct st_lb *v;
	int found = 0, ret;
	char p[72];

	if (!valid_name(name))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "name",
		                "'%s' is not a valid load balancer name",
		                printable(name, p, sizeof(p)));
	if (network[0]) {
		if (s->ops->network_get(s, network, net))
			return api_fail(c, NETFN__STATUS__NOT_FOUND, "network",
			                "network '%s' not found", printable(network, p, sizeof(p)));
		ret = s->ops->lb_get(s, net->id, name, out);
		if (ret == -ENOENT)
			return api_fail(c, NETFN__STATUS__NOT_FOUND, "name",
			                "network '%s' has no load balancer '%s'", net->name, name);
		return ret ? api_store_fail(c, ret, "name", "load balancer") : 0;
	}
	if (lbs_of(c, 0, &all))
		return -EIO;
	v = all.v;
	for (size_t i = 0; i < all.n; i++) {
		if (strcmp(v[i].name, name))
			continue;
		if (found++ == 0)
			*out = v[i];
	}
	if (found == 0)
		return api_fail(c, NETFN__STATUS__NOT_FOUND, "name", "load balancer '%s' not found",
		                name);
	if (found > 1)
		return api_fail(
		    c, NETFN__STATUS__INVALID_ARGUMENT, "network",
		    "load balancer '%s' is in several networks: name one with --network", name);
	ret = s->ops->network_get_id(s, out->network_id, net);
	return ret ? api_store_fail(c, ret, "network", "network") : 0;
}

static Netfn__LoadBalancer *lb_to_pb(struct api_call *c, const struct st_lb *lb,
                                     const char *network)
{
	Netfn__LoadBalancer *pb = api_alloc(c, sizeof(*pb));
	Netfn__LbHealthCheck *hc = api_alloc(c, sizeof(*hc));
	char a[INET_ADDRSTRLEN];

	if (!pb || !hc)
		return NULL;
	netfn__load_balancer__init(pb);
	pb->name = api_strdup(c, lb->name);
	pb->network = api_strdup(c, network);
	pb->protocol = api_strdup(c, lb->protocol);
	pb->vip = api_strdup(c, lb->vip ? ip_str(lb->vip, a, sizeof(a)) : "");
	pb->port = lb->port;
	pb->backend_selector = api_labels_to_pb(c, lb->backend_selector, lb->n_backend_selector);
	pb->n_backend_selector = lb->n_backend_selector;
	pb->backend_port = lb->backend_port;
	pb->backend_weight = lb->backend_weight;
	pb->backends = api_alloc(c, (lb->n_backends ? lb->n_backends : 1) * sizeof(*pb->backends));
	if (!pb->name || !pb->network || !pb->protocol || !pb->vip || !pb->backend_selector ||
	    !pb->backends)
		return NULL;
	for (size_t i = 0; i < lb->n_backends; i++) {
		Netfn__LbBackendSpec *b = api_alloc(c, sizeof(*b));

		if (!b)
			return NULL;
		netfn__lb_backend_spec__init(b);
		b->address = api_strdup(c, ip_str(lb->backends[i].addr, a, sizeof(a)));
		b->port = lb->backends[i].port;
		b->weight = lb->backends[i].weight;
		if (!b->address)
			return NULL;
		pb->backends[pb->n_backends++] = b;
	}
	pb->algorithm = api_strdup(c, lb->algorithm);
	netfn__lb_health_check__init(hc);
	hc->interval_ms = lb->hc_interval_ms;
	hc->timeout_ms = lb->hc_timeout_ms;
	hc->rise = lb->hc_rise;
	hc->fall = lb->hc_fall;
	hc->port = lb->hc_port;
	pb->health = hc;
	pb->placement = api_labels_to_pb(c, lb->placement, lb->n_placement);
	pb->n_placement = lb->n_placement;
	pb->replicas = lb->replicas;
	pb->created = lb->created;
	if (!pb->algorithm || !pb->placement ||
	    api_placements_pb(c, "lb", lb->id, lb->replicas, lb->vip, &pb->placements,
	                      &pb->n_placements))
		return NULL;
	return pb;
}

/* Replies with the load balancer as stored now (after the transaction). */
static int reply_lb(struct api_call *c, const struct st_lb *lb, const char *network,
                    ProtobufCMessage **reply)
{
	*reply = (ProtobufCMessage *)lb_to_pb(c, lb, network);
	return *reply ? 0 : -ENOMEM;
}

static void object_name(char *buf, size_t len, const struct st_network *net, const struct st_lb *lb)
{
	snprintf(buf, len, "%s/%s", net->name, lb->name);
}

static int lb_create(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__LoadBalancer *in = (const Netfn__LoadBalancer *)m;
	struct store *s = c->ctl->store;
	struct st_lb *lb = api_alloc(c, sizeof(*lb));
	struct st_network net = {0};
	char object[160], a[INET_ADDRSTRLEN];
	bool vip_auto;
	int ret;

	if (!lb)
		return -ENOMEM;
	if (lb_from_pb(c, in, lb, &vip_auto))
		return -1;
	lb->created = ctl_now();

	if (api_begin(c))
		return -1;
	ret = api_network_or_only(c, in->network, "a load balancer", &net);
	if (ret)
		goto end;
	lb->network_id = net.id;
	ret = check_frontend(c, &net, lb, vip_auto);
	if (ret)
		goto end;
	ret = s->ops->lb_insert(s, lb);
	if (ret == -EEXIST) {
		ret = api_fail(c, NETFN__STATUS__ALREADY_EXISTS, "name",
		               "network '%s' already has a load balancer '%s'", net.name, lb->name);
		goto end;
	}
	if (ret) {
		ret = api_store_fail(c, ret, "name", "load balancer");
		goto end;
	}
	object_name(object, sizeof(object), &net, lb);
	ret = api_audit(c, object,
	                "%s %s:%u %s, selector %zu labels port %u, %zu backends, health %ums, "
	                "%u replicas",
	                lb->protocol, lb->vip ? ip_str(lb->vip, a, sizeof(a)) : "*", lb->port,
	                lb->algorithm, lb->n_backend_selector, lb->backend_port, lb->n_backends,
	                lb->hc_interval_ms, lb->replicas);
	if (!ret)
		ret = compile_network(s, net.id, &c->changed);
end:
	if (api_end(c, ret))
		return -1;
	return reply_lb(c, lb, net.name, reply);
}

static int lb_list(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__NodeListRequest *in = (const Netfn__NodeListRequest *)m;
	struct store *s = c->ctl->store;
	Netfn__LoadBalancerList *out = api_alloc(c, sizeof(*out));
	struct api_list pbs = {.c = c};
	struct st_network net = {0};
	struct api_vec all = {0};
	const struct st_lb *v;
	char p[72];
	int ret;

	if (!out)
		return -ENOMEM;
	if (in->network[0] && s->ops->network_get(s, in->network, &net))
		return api_fail(c, NETFN__STATUS__NOT_FOUND, "network", "network '%s' not found",
		                printable(in->network, p, sizeof(p)));
	if (lbs_of(c, net.id, &all))
		return -EIO;
	v = all.v;
	for (size_t i = 0; i < all.n; i++) {
		if (net.id != v[i].network_id && s->ops->network_get_id(s, v[i].network_id, &net))
			return -EIO;
		ret = api_list_push(&pbs, lb_to_pb(c, &v[i], net.name));
		if (ret)
			return ret;
	}
	netfn__load_balancer_list__init(out);
	out->lbs = (Netfn__LoadBalancer **)pbs.v;
	out->n_lbs = pbs.n;
	*reply = &out->base;
	return 0;
}

static int lb_show(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__NameRef *ref = (const Netfn__NameRef *)m;
	struct st_lb *lb = api_alloc(c, sizeof(*lb));
	struct st_network net;

	if (!lb)
		return -ENOMEM;
	if (find_lb(c, ref->name, ref->network, lb, &net))
		return -1;
	return reply_lb(c, lb, net.name, reply);
}

static int lb_delete(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__NameRef *ref = (const Netfn__NameRef *)m;
	struct store *s = c->ctl->store;
	struct st_lb *lb = api_alloc(c, sizeof(*lb));
	struct st_network net;
	char object[160];
	int ret;

	if (!lb)
		return -ENOMEM;
	if (api_begin(c))
		return -1;
	ret = find_lb(c, ref->name, ref->network, lb, &net);
	if (ret)
		goto end;
	ret = s->ops->lb_delete(s, lb->id);
	if (ret) {
		ret = api_store_fail(c, ret, "name", "load balancer");
		goto end;
	}
	object_name(object, sizeof(object), &net, lb);
	ret = api_audit(c, object, "deleted");
	if (!ret)
		ret = compile_network(s, net.id, &c->changed);
end:
	return api_end_empty(c, ret, reply);
}

/* backend_add and backend_remove: one explicit backend in or out. */
static int backend_change(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply,
                          bool add)
{
	const Netfn__LbBackendChange *in = (const Netfn__LbBackendChange *)m;
	struct store *s = c->ctl->store;
	struct st_lb *lb = api_alloc(c, sizeof(*lb));
	struct st_lb_backend b;
	struct st_network net = {0};
	char object[160], a[INET_ADDRSTRLEN];
	int i, ret;

	if (!lb)
		return -ENOMEM;
	if (!in->backend)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "backend",
		                "a backend (address and port) is required");
	if (backend_from_pb(c, in->backend, "backend", &b))
		return -1;
	if (api_begin(c))
		return -1;
	ret = find_lb(c, in->name, in->network, lb, &net);
	if (ret)
		goto end;
	ip_str(b.addr, a, sizeof(a));
	i = backend_find(lb, b.addr, b.port);
	if (add && i >= 0) {
		ret = api_fail(c, NETFN__STATUS__ALREADY_EXISTS, "backend",
		               "load balancer '%s' already has backend %s:%u", lb->name, a, b.port);
		goto end;
	}
	if (add && lb->n_backends >= ST_LB_MAX_BACKENDS) {
		ret = api_fail(c, NETFN__STATUS__RESOURCE_EXHAUSTED, "backends",
		               "load balancer '%s' already has %zu explicit backends, the most it "
		               "may hold",
		               lb->name, lb->n_backends);
		goto end;
	}
	if (!add && i < 0) {
		ret = api_fail(c, NETFN__STATUS__NOT_FOUND, "backend",
		               "load balancer '%s' has no backend %s:%u", lb->name, a, b.port);
		goto end;
	}
	if (!add && lb->n_backends == 1 && !lb->backend_port) {
		ret = api_fail(c, NETFN__STATUS__FAILED_PRECONDITION, "backend",
		               "%s:%u is the last backend of '%s', which has no selector backends: "
		               "delete the load balancer instead",
		               a, b.port, lb->name);
		goto end;
	}
	if (add) {
		lb->backends[lb->n_backends++] = b;
	} else {
		b = lb->backends[i];
		memmove(&lb->backends[i], &lb->backends[i + 1],
		        (lb->n_backends - (size_t)i - 1) * sizeof(lb->backends[0]));
		lb->n_backends--;
	}
	ret = s->ops->lb_update(s, lb);
	if (ret) {
		ret = api_store_fail(c, ret, "name", "load balancer");
		goto end;
	}
	object_name(object, sizeof(object), &net, lb);
	ret = api_audit(c, object, "backend %s:%u weight %u %s", a, b.port, b.weight,
	                add ? "added" : "removed");
	if (!ret)
		ret = compile_network(s, net.id, &c->changed);
end:
	if (api_end(c, ret))
		return -1;
	return reply_lb(c, lb, net.name, reply);
}

static int backend_add(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	return backend_change(c, m, reply, true);
}

static int backend_remove(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	return backend_change(c, m, reply, false);
}

/* One resolved backend. */
struct resolved {
	uint32_t addr;
	uint16_t port;
	uint16_t weight;
	const char *node; /* "" when not a node's address */
};

/*
 * The backends lb resolves to now: the nodes its selector picks, at their
 * overlay address and backend_port, then the explicit ones not already
 * among them.
 */
static int resolve_backends(struct api_call *c, const struct st_lb *lb, const struct api_vec *nodes,
                            struct api_vec *out)
{
	const struct st_node *v = nodes->v;
	struct resolved *r;

	for (size_t i = 0; lb->backend_port && i < nodes->n; i++) {
		if (!labels_match(&v[i], lb->backend_selector, lb->n_backend_selector))
			continue;
		r = api_vec_push(c, out, sizeof(*r));
		if (!r)
			return -ENOMEM;
		*r = (struct resolved){v[i].overlay_addr, lb->backend_port, lb->backend_weight,
		                       v[i].name};
	}
	for (size_t i = 0; i < lb->n_backends; i++) {
		const struct st_lb_backend *b = &lb->backends[i];
		const struct st_node *owner = node_by_addr(nodes, b->addr);
		const struct resolved *seen = out->v;
		size_t k;

		for (k = 0; k < out->n; k++)
			if (seen[k].addr == b->addr && seen[k].port == b->port)
				break;
		if (k < out->n)
			continue;
		r = api_vec_push(c, out, sizeof(*r));
		if (!r)
			return -ENOMEM;
		*r = (struct resolved){b->addr, b->port, b->weight, owner ? owner->name : ""};
	}
	return 0;
}

static Netfn__LbBackendStatus *status_pb(struct api_call *c, const struct resolved *r,
                                         const char *health, uint64_t connections, const char *host)
{
	Netfn__LbBackendStatus *pb = api_alloc(c, sizeof(*pb));
	char a[INET_ADDRSTRLEN];

	if (!pb)
		return NULL;
	netfn__lb_backend_status__init(pb);
	pb->address = api_strdup(c, ip_str(r->addr, a, sizeof(a)));
	pb->port = r->port;
	pb->node = api_strdup(c, r->node);
	pb->weight = r->weight;
	pb->health = api_strdup(c, health);
	pb->connections = connections;
	pb->host = api_strdup(c, host);
	return pb->address && pb->node && pb->health && pb->host ? pb : NULL;
}

/*
 * Each resolved backend as each node now hosting the frontend last reported
 * it (hosts in slot order); a backend no host has reported yet gets one
 * entry, health "unknown". Reports from nodes that no longer host it are
 * stale and left out.
 */
static int lb_backends(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__NameRef *ref = (const Netfn__NameRef *)m;
	Netfn__LbBackendList *out = api_alloc(c, sizeof(*out));
	struct st_lb *lb = api_alloc(c, sizeof(*lb));
	struct api_vec nodes = {0}, placed = {0}, backends = {0};
	struct api_list rows = {.c = c};
	struct agentsrv_lb_report *reports = NULL;
	const struct st_placement *hosts;
	const struct resolved *be;
	struct st_network net;
	size_t n_reports = 0;
	int ret;

	if (!out || !lb)
		return -ENOMEM;
	if (find_lb(c, ref->name, ref->network, lb, &net))
		return -1;
	ret = api_nodes_of(c, net.id, &nodes);
	if (!ret)
		ret = api_placements_of(c, "lb", lb->id, &placed);
	if (!ret)
		ret = resolve_backends(c, lb, &nodes, &backends);
	if (!ret)
		ret = agentsrv_lb_reports(c->ctl->agents, (uint64_t)lb->id, &reports, &n_reports);
	if (ret)
		goto cleanup;
	hosts = placed.v;
	be = backends.v;
	for (size_t i = 0; i < backends.n && !ret; i++) {
		bool any = false;

		for (size_t h = 0; h < placed.n && !ret; h++) {
			const struct st_node *host = node_by_id(&nodes, hosts[h].node_id);

			for (size_t k = 0; host && k < n_reports && !ret; k++) {
				const struct agentsrv_lb_report *r = &reports[k];

				if (r->host_node_id != host->id || r->r.addr.s_addr != be[i].addr ||
				    r->r.port != be[i].port)
					continue;
				ret = api_list_push(&rows, status_pb(c, &be[i],
				                                     r->r.healthy ? "up" : "down",
				                                     r->r.connections, host->name));
				any = true;
				break;
			}
		}
		if (!any && !ret)
			ret = api_list_push(&rows, status_pb(c, &be[i], "unknown", 0, ""));
	}
	if (ret)
		goto cleanup;
	netfn__lb_backend_list__init(out);
	out->name = api_strdup(c, lb->name);
	out->network = api_strdup(c, net.name);
	out->backends = (Netfn__LbBackendStatus **)rows.v;
	out->n_backends = rows.n;
	if (!out->name || !out->network)
		ret = -ENOMEM;
	else
		*reply = &out->base;
cleanup:
	free(reports);
	return ret;
}

const struct api_method api_lb_methods[] = {
    {"lb.create", &netfn__load_balancer__descriptor, true, lb_create},
    {"lb.list", &netfn__node_list_request__descriptor, false, lb_list},
    {"lb.show", &netfn__name_ref__descriptor, false, lb_show},
    {"lb.delete", &netfn__name_ref__descriptor, true, lb_delete},
    {"lb.backend_add", &netfn__lb_backend_change__descriptor, true, backend_add},
    {"lb.backend_remove", &netfn__lb_backend_change__descriptor, true, backend_remove},
    {"lb.backends", &netfn__name_ref__descriptor, false, lb_backends},
    {0},
};
