// SPDX-License-Identifier: Apache-2.0
/*
 * API handlers for flow filters: add, delete, list and show. A filter drops
 * or allows one node's overlay traffic by protocol, TCP/UDP destination
 * port and IPv4 source and destination networks; the node's agent enforces
 * it on its Open vSwitch bridge. Every field is checked before anything is
 * stored, and each change recompiles the network in the same transaction
 * as the insert or delete and its audit entry. Reads add what the node last
 * reported: the filter's counters, and a status derived from the node's
 * "flow" section (failed, active once counted, else pending).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/agentsrv.h"
#include "controller/api.h"
#include "controller/compile.h"
#include "controller/validate.h"
#include "netfns/common/prefix.h"
#include "netfns/flow/flow.h"

_Static_assert(ST_NAME_MAX <= FLOW_NAME_MAX, "a filter name fits the agent's");

#define WHAT "a flow filter"

static int push_filter(void *ctx, const struct st_flow_filter *f)
{
	return api_collect(ctx, f, sizeof(*f));
}

/* The filters of network_id (of node_id only, unless 0), by id. */
static int filters_of(struct api_call *c, int64_t network_id, int64_t node_id, struct api_vec *out)
{
	struct store *s = c->ctl->store;
	struct api_collect col = {c, out};

	memset(out, 0, sizeof(*out));
	return s->ops->flow_list(s, network_id, node_id, push_filter, &col);
}

/* The node called name in net; NOT_FOUND on field when it has none. */
static int find_node(struct api_call *c, const struct st_network *net, const char *name,
                     const char *field, struct st_node *out)
{
	struct store *s = c->ctl->store;
	char p[72];

	if (!name[0])
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, field,
		                "a flow filter belongs to a node: name one");
	if (!valid_name(name) || s->ops->node_get(s, net->id, name, out))
		return api_fail(c, NETFN__STATUS__NOT_FOUND, field, "network '%s' has no node '%s'",
		                net->name, printable(name, p, sizeof(p)));
	return 0;
}

/* Whether s is a decimal number: a ref that is one names a filter by id. */
static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* The filter ref names ("7" by id, else by name) in network (or the only one), with its network. */
static int find_filter(struct api_call *c, const char *ref, const char *network,
                       struct st_flow_filter *out, struct st_network *net)
{
	struct store *s = c->ctl->store;
	char p[72];
	int ret;

	if (!ref[0])
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "ref",
		                "name a flow filter by id or name");
	if (api_network_or_only(c, network, WHAT, net))
		return -1;
	if (all_digits(ref)) {
		errno = 0;
		unsigned long long id = strtoull(ref, NULL, 10);

		ret =
		    errno || id > FLOW_ID_MAX ? -ENOENT : s->ops->flow_get_id(s, (int64_t)id, out);
		/* An id of another network's filter is not found in this one. */
		if (!ret && out->network_id != net->id)
			ret = -ENOENT;
	} else if (valid_name(ref)) {
		ret = s->ops->flow_get_name(s, net->id, ref, out);
	} else {
		ret = -ENOENT;
	}
	if (ret == -ENOENT)
		return api_fail(c, NETFN__STATUS__NOT_FOUND, "ref",
		                "network '%s' has no flow filter '%s'", net->name,
		                printable(ref, p, sizeof(p)));
	return ret ? api_store_fail(c, ret, "ref", "flow filter") : 0;
}

/* The parsers' reasons quote what was sent: only printable ASCII goes to the caller and the log. */
static const char *clean(char *why)
{
	for (char *p = why; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return why;
}

/*
 * Checks every field of in that needs no store into out: protocol, port (a
 * port only with tcp or udp, 0 any), src, dst, action, priority (0: the
 * default), name (optional; not all digits, which a ref would read as an id).
 */
static int filter_check(struct api_call *c, const Netfn__FlowFilter *in, struct st_flow_filter *out)
{
	char why[160], p[72], buf[NF_PREFIX_STRLEN];
	enum flow_action action;
	struct nf_prefix pfx;
	uint8_t proto;
	bool any;

	memset(out, 0, sizeof(*out));
	if (in->name[0] && (!valid_name(in->name) || all_digits(in->name)))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "name",
		                "'%s' is not a valid name: 1-63 of a-z 0-9 '-', not starting or "
		                "ending with '-', not only digits (those are ids)",
		                printable(in->name, p, sizeof(p)));
	snprintf(out->name, sizeof(out->name), "%s", in->name);
	if (!flow_protocol_parse(in->protocol, &proto, why, sizeof(why)))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "protocol", "%s", clean(why));
	snprintf(out->protocol, sizeof(out->protocol), "%s",
	         proto ? flow_protocol_name(proto) : "");
	if (in->dst_port > 65535)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "dst_port",
		                "%u is not a port: 1-65535, or 0 for any", in->dst_port);
	if (in->dst_port && proto != 6 && proto != 17)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "dst_port",
		                "a destination port needs protocol tcp or udp, not %s",
		                flow_protocol_name(proto));
	out->dst_port = in->dst_port;
	if (!flow_cidr_parse(in->src, &any, &pfx, why, sizeof(why)))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "src", "%s", clean(why));
	if (!any)
		snprintf(out->src, sizeof(out->src), "%s",
		         nf_prefix_format(&pfx, buf, sizeof(buf)));
	if (!flow_cidr_parse(in->dst, &any, &pfx, why, sizeof(why)))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "dst", "%s", clean(why));
	if (!any)
		snprintf(out->dst, sizeof(out->dst), "%s",
		         nf_prefix_format(&pfx, buf, sizeof(buf)));
	if (!in->action[0])
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "action",
		                "a flow filter needs an action: drop or allow");
	if (!flow_action_parse(in->action, &action, why, sizeof(why)))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "action", "%s", clean(why));
	snprintf(out->action, sizeof(out->action), "%s", flow_action_name(action));
	out->priority = in->priority ? in->priority : FLOW_PRIO_DEFAULT;
	if (out->priority < FLOW_PRIO_MIN || out->priority > FLOW_PRIO_MAX)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "priority",
		                "%u is not a priority: %d-%d (higher wins), or 0 for %d",
		                in->priority, FLOW_PRIO_MIN, FLOW_PRIO_MAX, FLOW_PRIO_DEFAULT);
	return 0;
}

/* "drop tcp/8080 from any to 10.90.0.5/32 on web1": the audit's and the logs' words. */
static void describe(const struct st_flow_filter *f, const char *node, char *buf, size_t len)
{
	char port[16] = "";

	if (f->dst_port)
		snprintf(port, sizeof(port), "/%u", f->dst_port);
	snprintf(buf, len, "%s %s%s from %s to %s on %s (priority %u)", f->action,
	         f->protocol[0] ? f->protocol : "any", port, f->src[0] ? f->src : "any",
	         f->dst[0] ? f->dst : "any", node, f->priority);
}

static int audit_flow(struct api_call *c, const struct st_network *net, const char *what,
                      const struct st_flow_filter *f, const char *node)
{
	char object[160], desc[256];

	snprintf(object, sizeof(object), "%s/flow", net->name);
	describe(f, node, desc, sizeof(desc));
	return api_audit(c, object, "filter %" PRId64 "%s%s %s: %s", f->id, f->name[0] ? " " : "",
	                 f->name, what, desc);
}

/* What the read handlers add to stored filters: each node's reports. */
struct reports {
	struct agentsrv_flow_counter *got; /* malloc'd by agentsrv */
	size_t n;
};

static void reports_free(struct reports *r)
{
	free(r->got);
	memset(r, 0, sizeof(*r));
}

static const struct agentsrv_flow_counter *report_of(const struct reports *r, int64_t node_id,
                                                     uint64_t id)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->got[i].node_id == node_id && r->got[i].c.id == id)
			return &r->got[i];
	return NULL;
}

static Netfn__FlowCounter *counter_pb(struct api_call *c, const struct agentsrv_flow_counter *k,
                                      const char *node)
{
	Netfn__FlowCounter *pb = api_alloc(c, sizeof(*pb));

	if (!pb)
		return NULL;
	netfn__flow_counter__init(pb);
	pb->id = k->c.id;
	pb->node = api_strdup(c, node);
	pb->packets = k->c.packets;
	pb->bytes = k->c.bytes;
	pb->packets_per_s = k->c.pps;
	pb->bits_per_s = k->c.bps;
	pb->at = k->at;
	return pb->node ? pb : NULL;
}

/*
 * The filter's status. The store keeps the error of the node's last report
 * and the revision it applied, not the revision that failed: an error while
 * the applied revision is behind the desired one is taken to be about the
 * desired revision (a newer revision is sent at once, and the next report
 * replaces the error), so the filter is "failed". Otherwise it is "active"
 * once the node counts it, "pending" until then.
 */
static char *status_of(struct api_call *c, const struct st_flow_filter *f, bool counted)
{
	struct store *s = c->ctl->store;
	struct st_section sec;
	char buf[ST_ERROR_MAX + 16];

	if (!s->ops->section_get(s, f->node_id, "flow", &sec) && sec.error[0] &&
	    sec.applied_rev < sec.desired_rev) {
		snprintf(buf, sizeof(buf), "failed: %s", sec.error);
		return api_strdup(c, buf);
	}
	return api_strdup(c, counted ? "active" : "pending");
}

/* A stored filter as the API shows it, with its counter and status when r is given. */
static Netfn__FlowFilter *filter_pb(struct api_call *c, const struct st_flow_filter *f,
                                    const char *network, const char *node, const struct reports *r)
{
	const struct agentsrv_flow_counter *k =
	    r ? report_of(r, f->node_id, (uint64_t)f->id) : NULL;
	Netfn__FlowFilter *pb = api_alloc(c, sizeof(*pb));

	if (!pb)
		return NULL;
	netfn__flow_filter__init(pb);
	pb->id = (uint64_t)f->id;
	pb->name = api_strdup(c, f->name);
	pb->network = api_strdup(c, network);
	pb->node = api_strdup(c, node);
	pb->protocol = api_strdup(c, f->protocol[0] ? f->protocol : "any");
	pb->dst_port = f->dst_port;
	pb->src = api_strdup(c, f->src);
	pb->dst = api_strdup(c, f->dst);
	pb->action = api_strdup(c, f->action);
	pb->priority = f->priority;
	pb->created = f->created;
	if (k) {
		pb->counter = counter_pb(c, k, node);
		if (!pb->counter)
			return NULL;
	}
	pb->status = r ? status_of(c, f, k != NULL) : api_strdup(c, "pending");
	return pb->name && pb->network && pb->node && pb->protocol && pb->src && pb->dst &&
	               pb->action && pb->status
	           ? pb
	           : NULL;
}

/* 0 when no filter of net is called name; ALREADY_EXISTS on field name otherwise. */
static int name_free(struct api_call *c, const struct st_network *net, const char *name)
{
	struct store *s = c->ctl->store;
	struct st_flow_filter other;
	int ret;

	ret = s->ops->flow_get_name(s, net->id, name, &other);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return api_store_fail(c, ret, "name", "flow filter");
	return api_fail(c, NETFN__STATUS__ALREADY_EXISTS, "name",
	                "network '%s' already has a flow filter '%s' (id %" PRId64 ")", net->name,
	                name, other.id);
}

static int flow_add(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__FlowFilter *in = (const Netfn__FlowFilter *)m;
	struct store *s = c->ctl->store;
	struct st_flow_filter *f = api_alloc(c, sizeof(*f));
	struct st_network net = {0};
	struct st_node node = {0};
	struct api_vec have = {0};
	Netfn__FlowFilter *pb;
	int ret;

	if (!f)
		return -ENOMEM;
	if (filter_check(c, in, f))
		return -1;
	f->created = ctl_now();
	if (api_begin(c))
		return -1;
	ret = api_network_or_only(c, in->network, WHAT, &net);
	if (!ret)
		ret = find_node(c, &net, in->node, "node", &node);
	if (!ret && f->name[0])
		ret = name_free(c, &net, f->name);
	if (!ret)
		ret = filters_of(c, net.id, node.id, &have);
	if (!ret && have.n >= FLOW_MAX_FILTERS)
		ret = api_fail(c, NETFN__STATUS__RESOURCE_EXHAUSTED, "node",
		               "node '%s' already has %zu flow filters, the most there can be",
		               node.name, have.n);
	if (ret)
		goto end;
	f->network_id = net.id;
	f->node_id = node.id;
	ret = s->ops->flow_insert(s, f);
	if (ret) {
		ret = api_store_fail(c, ret, "name", "flow filter");
		goto end;
	}
	ret = audit_flow(c, &net, "added", f, node.name);
	if (!ret)
		ret = compile_network(s, net.id, &c->changed);
end:
	if (api_end(c, ret))
		return -1;
	pb = filter_pb(c, f, net.name, node.name, NULL);
	if (!pb)
		return -ENOMEM;
	*reply = &pb->base;
	return 0;
}

static int flow_delete(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__FlowRef *ref = (const Netfn__FlowRef *)m;
	struct store *s = c->ctl->store;
	struct st_network net = {0};
	struct st_flow_filter f;
	struct st_node node;
	int ret;

	if (api_begin(c))
		return -1;
	ret = find_filter(c, ref->ref, ref->network, &f, &net);
	if (ret)
		goto end;
	ret = s->ops->flow_delete(s, f.id);
	if (ret) {
		ret = api_store_fail(c, ret, "ref", "flow filter");
		goto end;
	}
	ret = audit_flow(c, &net, "deleted", &f,
	                 s->ops->node_get_id(s, f.node_id, &node) ? "?" : node.name);
	if (!ret)
		ret = compile_network(s, net.id, &c->changed);
end:
	return api_end_empty(c, ret, reply);
}

/* The name of node id among nodes ("" when it is not there). */
static const char *node_name(const struct api_vec *nodes, int64_t id)
{
	const struct st_node *v = nodes->v;

	for (size_t i = 0; i < nodes->n; i++)
		if (v[i].id == id)
			return v[i].name;
	return "";
}

static int flow_list(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__FlowListRequest *in = (const Netfn__FlowListRequest *)m;
	Netfn__FlowFilterList *out = api_alloc(c, sizeof(*out));
	struct api_list rows = {.c = c}, totals = {.c = c};
	struct st_network net = {0};
	struct api_vec nodes = {0}, all = {0};
	struct reports r = {0};
	const struct st_flow_filter *fv;
	const struct st_node *nv;
	struct st_node only = {0};
	int ret;

	if (!out)
		return -ENOMEM;
	if (api_network_or_only(c, in->network, WHAT, &net))
		return -1;
	if (in->node[0] && find_node(c, &net, in->node, "node", &only))
		return -1;
	ret = api_nodes_of(c, net.id, &nodes);
	if (!ret)
		ret = filters_of(c, net.id, only.id, &all);
	if (!ret)
		ret = agentsrv_flow_counters(c->ctl->agents, only.id, &r.got, &r.n);
	fv = all.v;
	for (size_t i = 0; i < all.n && !ret; i++)
		ret = api_list_push(
		    &rows, filter_pb(c, &fv[i], net.name, node_name(&nodes, fv[i].node_id), &r));
	/* Each node of the listing that reported its bridge's totals, in node order. */
	nv = nodes.v;
	for (size_t i = 0; i < nodes.n && !ret; i++) {
		const struct agentsrv_flow_counter *k = report_of(&r, nv[i].id, 0);

		if (k && (!only.id || nv[i].id == only.id))
			ret = api_list_push(&totals, counter_pb(c, k, nv[i].name));
	}
	reports_free(&r);
	if (ret)
		return ret;
	netfn__flow_filter_list__init(out);
	out->filters = (Netfn__FlowFilter **)rows.v;
	out->n_filters = rows.n;
	out->nodes = (Netfn__FlowCounter **)totals.v;
	out->n_nodes = totals.n;
	*reply = &out->base;
	return 0;
}

static int flow_show(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__FlowRef *ref = (const Netfn__FlowRef *)m;
	struct store *s = c->ctl->store;
	struct st_network net = {0};
	struct st_flow_filter f;
	struct st_node node;
	struct reports r = {0};
	Netfn__FlowFilter *pb;
	int ret;

	if (find_filter(c, ref->ref, ref->network, &f, &net))
		return -1;
	ret = s->ops->node_get_id(s, f.node_id, &node);
	if (ret)
		return api_store_fail(c, ret, "ref", "the flow filter's node");
	ret = agentsrv_flow_counters(c->ctl->agents, f.node_id, &r.got, &r.n);
	if (ret)
		return ret;
	pb = filter_pb(c, &f, net.name, node.name, &r);
	reports_free(&r);
	if (!pb)
		return -ENOMEM;
	*reply = &pb->base;
	return 0;
}

const struct api_method api_flow_methods[] = {
    {"flow.add", &netfn__flow_filter__descriptor, true, flow_add},
    {"flow.delete", &netfn__flow_ref__descriptor, true, flow_delete},
    {"flow.list", &netfn__flow_list_request__descriptor, false, flow_list},
    {"flow.show", &netfn__flow_ref__descriptor, false, flow_show},
    {0},
};
