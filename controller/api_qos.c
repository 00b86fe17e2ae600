// SPDX-License-Identifier: Apache-2.0
/*
 * API handlers for traffic classes: link (the rate a network's classes
 * share on each node's overlay egress), class_create, class_delete,
 * class_list, class_show (with each node's last reported counters), assign
 * and unassign (a class's matches). Rates are checked against each other
 * before anything is stored: a class's floor is at most its ceiling, its
 * ceiling at most the link, and the floors of all classes together at most
 * the link, so HTB can keep every floor. A class's HTB minor is allocated
 * here once and kept, so a node's kernel class ids do not move when
 * another class comes or goes. Every mutation recompiles the network in
 * its own transaction: every node gets the new section.
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
#include "netfns/qos/qos.h"

_Static_assert(ST_NAME_MAX <= QOS_NAME_MAX, "a class name fits the agent's");

static int push_class(void *ctx, const struct st_qos_class *cl)
{
	return api_collect(ctx, cl, sizeof(*cl));
}

static int push_match(void *ctx, const struct st_qos_match *m)
{
	return api_collect(ctx, m, sizeof(*m));
}

static int classes_of(struct api_call *c, int64_t network_id, struct api_vec *out)
{
	struct store *s = c->ctl->store;
	struct api_collect col = {c, out};

	memset(out, 0, sizeof(*out));
	return s->ops->qos_class_list(s, network_id, push_class, &col);
}

static int matches_of(struct api_call *c, int64_t class_id, struct api_vec *out)
{
	struct store *s = c->ctl->store;
	struct api_collect col = {c, out};

	memset(out, 0, sizeof(*out));
	return s->ops->qos_match_list(s, class_id, push_match, &col);
}

/* The class name names in network (or the only network), with its network. */
static int find_class(struct api_call *c, const char *name, const char *network, const char *field,
                      struct st_qos_class *out, struct st_network *net)
{
	struct store *s = c->ctl->store;
	char p[72];
	int ret;

	if (!valid_name(name))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, field,
		                "'%s' is not a valid traffic class name",
		                printable(name, p, sizeof(p)));
	if (api_network_or_only(c, network, "a traffic class", net))
		return -1;
	ret = s->ops->qos_class_get(s, net->id, name, out);
	if (ret == -ENOENT)
		return api_fail(c, NETFN__STATUS__NOT_FOUND, field,
		                "network '%s' has no traffic class '%s'", net->name, name);
	return ret ? api_store_fail(c, ret, field, "traffic class") : 0;
}

/* Parses a rate for field; -1 with the reason when it is not one. */
static int rate_of(struct api_call *c, const char *field, const char *text, uint64_t *bps)
{
	char why[160], p[72];

	if (!qos_rate_parse(text, bps, why, sizeof(why)))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, field, "'%s' is not a rate: %s",
		                printable(text, p, sizeof(p)), why);
	return 0;
}

/* Checks and canonicalises "N" or "N-M" (1..65535, N <= M); false when it is not one. */
static bool port_canon(const char *s, char *out, size_t len)
{
	unsigned long first, last;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	first = strtoul(s, &end, 10);
	last = first;
	if (*end == '-') {
		if (end[1] < '0' || end[1] > '9')
			return false;
		last = strtoul(end + 1, &end, 10);
	}
	if (*end || first < 1 || last > 65535 || first > last)
		return false;
	/* As 16-bit values, which is what the checks above made them. */
	if (first == last)
		snprintf(out, len, "%u", (unsigned)(uint16_t)first);
	else
		snprintf(out, len, "%u-%u", (unsigned)(uint16_t)first, (unsigned)(uint16_t)last);
	return true;
}

/*
 * Checks a match of net into out, its fields named under prefix ("match",
 * "matches[2]"): protocol tcp|udp|any, a port (range) only with tcp or udp,
 * a peer that is a node of net, or an IPv4 network; one of them at least.
 */
static int match_check(struct api_call *c, const struct st_network *net, const Netfn__QosMatch *in,
                       const char *prefix, struct st_qos_match *out)
{
	struct store *s = c->ctl->store;
	char field[48], p[72], buf[NF_PREFIX_STRLEN];
	struct nf_prefix pfx;
	struct st_node node;

	memset(out, 0, sizeof(*out));
	if (!in->protocol[0] && !in->port[0] && !in->peer[0] && !in->cidr[0])
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, prefix,
		                "a match needs a protocol, port, peer or cidr");
	snprintf(field, sizeof(field), "%s.protocol", prefix);
	if (!strcmp(in->protocol, "tcp") || !strcmp(in->protocol, "udp"))
		snprintf(out->protocol, sizeof(out->protocol), "%s", in->protocol);
	else if (in->protocol[0] && strcmp(in->protocol, "any") != 0)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, field,
		                "'%s' is not a protocol: tcp, udp or any",
		                printable(in->protocol, p, sizeof(p)));
	snprintf(field, sizeof(field), "%s.port", prefix);
	if (in->port[0]) {
		if (!out->protocol[0])
			return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, field,
			                "a port needs protocol tcp or udp");
		if (!port_canon(in->port, out->port, sizeof(out->port)))
			return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, field,
			                "'%s' is not a port or range: N or N-M, 1-65535",
			                printable(in->port, p, sizeof(p)));
	}
	if (in->peer[0] && in->cidr[0]) {
		snprintf(field, sizeof(field), "%s.cidr", prefix);
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, field,
		                "give a peer or a cidr, not both (two matches do both)");
	}
	snprintf(field, sizeof(field), "%s.peer", prefix);
	if (in->peer[0]) {
		if (!valid_name(in->peer) || s->ops->node_get(s, net->id, in->peer, &node))
			return api_fail(c, NETFN__STATUS__NOT_FOUND, field,
			                "network '%s' has no node '%s'", net->name,
			                printable(in->peer, p, sizeof(p)));
		snprintf(out->peer, sizeof(out->peer), "%s", node.name);
	}
	snprintf(field, sizeof(field), "%s.cidr", prefix);
	if (in->cidr[0]) {
		if (!nf_prefix_parse(in->cidr, false, &pfx) || pfx.family != AF_INET)
			return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, field,
			                "'%s' is not an IPv4 prefix (ADDR/LEN)",
			                printable(in->cidr, p, sizeof(p)));
		if (!nf_prefix_is_network(&pfx))
			return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, field,
			                "'%s' has host bits set",
			                printable(in->cidr, p, sizeof(p)));
		snprintf(out->cidr, sizeof(out->cidr), "%s",
		         nf_prefix_format(&pfx, buf, sizeof(buf)));
	}
	return 0;
}

static char *rate_str(struct api_call *c, uint64_t bps)
{
	char buf[32];

	if (!bps)
		return api_strdup(c, "");
	qos_rate_format(bps, buf, sizeof(buf));
	return api_strdup(c, buf);
}

static Netfn__QosMatch *match_pb(struct api_call *c, const struct st_qos_match *m)
{
	Netfn__QosMatch *pb = api_alloc(c, sizeof(*pb));

	if (!pb)
		return NULL;
	netfn__qos_match__init(pb);
	pb->id = (uint64_t)m->id;
	pb->protocol = api_strdup(c, m->protocol);
	pb->port = api_strdup(c, m->port);
	pb->peer = api_strdup(c, m->peer);
	pb->cidr = api_strdup(c, m->cidr);
	return pb->protocol && pb->port && pb->peer && pb->cidr ? pb : NULL;
}

/* A stored class with its stored matches, as the API shows it. */
static Netfn__QosClass *class_pb(struct api_call *c, const struct st_qos_class *cl,
                                 const char *network)
{
	Netfn__QosClass *pb = api_alloc(c, sizeof(*pb));
	struct api_list matches = {.c = c};
	struct api_vec stored;
	const struct st_qos_match *m;

	if (!pb || matches_of(c, cl->id, &stored))
		return NULL;
	m = stored.v;
	for (size_t i = 0; i < stored.n; i++)
		if (api_list_push(&matches, match_pb(c, &m[i])))
			return NULL;
	netfn__qos_class__init(pb);
	pb->name = api_strdup(c, cl->name);
	pb->network = api_strdup(c, network);
	pb->min_rate = rate_str(c, cl->min_bps);
	pb->max_rate = rate_str(c, cl->max_bps);
	pb->priority = cl->priority;
	pb->matches = (Netfn__QosMatch **)matches.v;
	pb->n_matches = matches.n;
	pb->created = cl->created;
	pb->min_bps = cl->min_bps;
	pb->max_bps = cl->max_bps;
	return pb->name && pb->network && pb->min_rate && pb->max_rate ? pb : NULL;
}

static int reply_class(struct api_call *c, const struct st_qos_class *cl, const char *network,
                       ProtobufCMessage **reply)
{
	Netfn__QosClass *pb = class_pb(c, cl, network);

	if (!pb)
		return -ENOMEM;
	*reply = &pb->base;
	return 0;
}

static int audit_qos(struct api_call *c, const struct st_network *net, const char *what,
                     const char *name)
{
	char object[160];

	snprintf(object, sizeof(object), "%s/qos", net->name);
	return api_audit(c, object, "%s %s", what, name);
}

static int link_set(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__QosLink *in = (const Netfn__QosLink *)m;
	struct store *s = c->ctl->store;
	struct st_network net = {0};
	struct api_vec all = {0};
	const struct st_qos_class *v;
	uint64_t link = 0, mins = 0;
	char text[32], had[32];
	int ret;

	if (in->rate[0] && strcmp(in->rate, "0") != 0 && rate_of(c, "rate", in->rate, &link))
		return -1;
	if (api_begin(c))
		return -1;
	ret = api_network_or_only(c, in->network, "a link rate", &net);
	if (!ret)
		ret = classes_of(c, net.id, &all);
	if (ret)
		goto end;
	v = all.v;
	if (!link && all.n) {
		ret = api_fail(c, NETFN__STATUS__FAILED_PRECONDITION, "rate",
		               "network '%s' has %zu traffic classes: delete them before unsetting "
		               "its link rate",
		               net.name, all.n);
		goto end;
	}
	qos_rate_format(link, text, sizeof(text));
	for (size_t i = 0; i < all.n; i++) {
		mins += v[i].min_bps;
		if (v[i].max_bps > link) {
			qos_rate_format(v[i].max_bps, had, sizeof(had));
			ret = api_fail(c, NETFN__STATUS__FAILED_PRECONDITION, "rate",
			               "%s is below class %s's max rate %s", text, v[i].name, had);
			goto end;
		}
	}
	if (mins > link) {
		qos_rate_format(mins, had, sizeof(had));
		ret = api_fail(c, NETFN__STATUS__FAILED_PRECONDITION, "rate",
		               "%s is below the %s the classes' min rates add up to", text, had);
		goto end;
	}
	net.qos_link_bps = link;
	ret = s->ops->network_update(s, &net);
	if (ret) {
		ret = api_store_fail(c, ret, "network", "network");
		goto end;
	}
	ret = audit_qos(c, &net, "link rate set to", link ? text : "none");
	if (!ret)
		ret = compile_network(s, net.id, &c->changed);
end:
	return api_end_empty(c, ret, reply);
}

/* The lowest minor no class of all has, from QOS_MINOR_FIRST. */
static uint32_t free_minor(const struct api_vec *all)
{
	const struct st_qos_class *v = all->v;
	uint32_t minor = QOS_MINOR_FIRST;

	for (bool taken = true; taken; minor += taken) {
		taken = false;
		for (size_t i = 0; i < all->n && !taken; i++)
			taken = v[i].minor == minor;
	}
	return minor;
}

/* Checks cl's rates against the link and the classes already in all. */
static int class_fits(struct api_call *c, const struct st_network *net, const struct api_vec *all,
                      struct st_qos_class *cl)
{
	const struct st_qos_class *v = all->v;
	char a[32], b[32];
	uint64_t mins = cl->min_bps;

	if (!net->qos_link_bps)
		return api_fail(c, NETFN__STATUS__FAILED_PRECONDITION, "link_rate",
		                "network '%s' has no link rate: set one first (netfnctl qos link "
		                "RATE)",
		                net->name);
	if (!cl->max_bps)
		cl->max_bps = net->qos_link_bps;
	qos_rate_format(net->qos_link_bps, b, sizeof(b));
	if (cl->max_bps > net->qos_link_bps) {
		qos_rate_format(cl->max_bps, a, sizeof(a));
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "max_rate",
		                "%s is above network '%s''s link rate %s", a, net->name, b);
	}
	if (cl->min_bps > cl->max_bps) {
		qos_rate_format(cl->min_bps, a, sizeof(a));
		qos_rate_format(cl->max_bps, b, sizeof(b));
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "min_rate",
		                "%s is above the max rate %s", a, b);
	}
	if (all->n >= QOS_MAX_CLASSES)
		return api_fail(
		    c, NETFN__STATUS__RESOURCE_EXHAUSTED, "network",
		    "network '%s' already has %zu traffic classes, the most there can be",
		    net->name, all->n);
	for (size_t i = 0; i < all->n; i++) {
		if (!strcmp(v[i].name, cl->name))
			return api_fail(c, NETFN__STATUS__ALREADY_EXISTS, "name",
			                "network '%s' already has a traffic class '%s'", net->name,
			                cl->name);
		mins += v[i].min_bps;
	}
	if (mins > net->qos_link_bps) {
		qos_rate_format(mins, a, sizeof(a));
		qos_rate_format(net->qos_link_bps, b, sizeof(b));
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "min_rate",
		                "the classes' min rates would add up to %s, above the link rate %s",
		                a, b);
	}
	cl->minor = free_minor(all);
	return 0;
}

static int class_create(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__QosClass *in = (const Netfn__QosClass *)m;
	struct store *s = c->ctl->store;
	struct st_qos_class *cl = api_alloc(c, sizeof(*cl));
	struct st_qos_match mt;
	struct st_network net = {0};
	struct api_vec all = {0};
	char p[72], prefix[32];
	int ret;

	if (!cl)
		return -ENOMEM;
	if (!valid_name(in->name))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "name",
		                "'%s' is not a valid name: 1-63 of a-z 0-9 '-', not starting or "
		                "ending with '-'",
		                printable(in->name, p, sizeof(p)));
	snprintf(cl->name, sizeof(cl->name), "%s", in->name);
	if (!in->min_rate[0])
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "min_rate",
		                "a class needs a min rate");
	if (rate_of(c, "min_rate", in->min_rate, &cl->min_bps))
		return -1;
	if (in->max_rate[0] && rate_of(c, "max_rate", in->max_rate, &cl->max_bps))
		return -1;
	if (in->priority > QOS_PRIO_MAX)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "priority",
		                "%u is not a priority: 0 (first) to %d", in->priority,
		                QOS_PRIO_MAX);
	cl->priority = in->priority;
	if (in->n_matches > QOS_MAX_MATCHES)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "matches",
		                "%zu matches, at most %d", in->n_matches, QOS_MAX_MATCHES);
	cl->created = ctl_now();

	if (api_begin(c))
		return -1;
	ret = api_network_or_only(c, in->network, "a traffic class", &net);
	if (!ret)
		ret = classes_of(c, net.id, &all);
	if (!ret)
		ret = class_fits(c, &net, &all, cl);
	for (size_t i = 0; i < in->n_matches && !ret; i++) {
		snprintf(prefix, sizeof(prefix), "matches[%zu]", i);
		ret = match_check(c, &net, in->matches[i], prefix, &mt);
	}
	if (ret)
		goto end;
	cl->network_id = net.id;
	ret = s->ops->qos_class_insert(s, cl);
	for (size_t i = 0; i < in->n_matches && !ret; i++) {
		snprintf(prefix, sizeof(prefix), "matches[%zu]", i);
		ret = match_check(c, &net, in->matches[i], prefix, &mt);
		mt.class_id = cl->id;
		if (!ret)
			ret = s->ops->qos_match_insert(s, &mt);
	}
	if (ret) {
		ret = ret == -1 ? ret : api_store_fail(c, ret, "name", "traffic class");
		goto end;
	}
	ret = audit_qos(c, &net, "class created:", cl->name);
	if (!ret)
		ret = compile_network(s, net.id, &c->changed);
end:
	if (api_end(c, ret))
		return -1;
	return reply_class(c, cl, net.name, reply);
}

static int class_delete(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__NameRef *ref = (const Netfn__NameRef *)m;
	struct store *s = c->ctl->store;
	struct st_network net = {0};
	struct st_qos_class cl;
	int ret;

	if (api_begin(c))
		return -1;
	ret = find_class(c, ref->name, ref->network, "name", &cl, &net);
	if (ret)
		goto end;
	ret = s->ops->qos_class_delete(s, cl.id);
	if (ret) {
		ret = api_store_fail(c, ret, "name", "traffic class");
		goto end;
	}
	ret = audit_qos(c, &net, "class deleted:", cl.name);
	if (!ret)
		ret = compile_network(s, net.id, &c->changed);
end:
	return api_end_empty(c, ret, reply);
}

static int class_list(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__NodeListRequest *in = (const Netfn__NodeListRequest *)m;
	Netfn__QosClassList *out = api_alloc(c, sizeof(*out));
	struct api_list rows = {.c = c};
	struct st_network net = {0};
	struct api_vec all = {0};
	const struct st_qos_class *v;
	int ret;

	if (!out)
		return -ENOMEM;
	if (api_network_or_only(c, in->network, "a traffic class", &net))
		return -1;
	ret = classes_of(c, net.id, &all);
	if (ret)
		return ret;
	v = all.v;
	for (size_t i = 0; i < all.n && !ret; i++)
		ret = api_list_push(&rows, class_pb(c, &v[i], net.name));
	if (ret)
		return ret;
	netfn__qos_class_list__init(out);
	out->link_rate = rate_str(c, net.qos_link_bps);
	out->classes = (Netfn__QosClass **)rows.v;
	out->n_classes = rows.n;
	if (!out->link_rate)
		return -ENOMEM;
	*reply = &out->base;
	return 0;
}

static Netfn__QosClassCounter *counter_pb(struct api_call *c, const struct qos_counter *k,
                                          const char *node)
{
	Netfn__QosClassCounter *pb = api_alloc(c, sizeof(*pb));

	if (!pb)
		return NULL;
	netfn__qos_class_counter__init(pb);
	pb->name = api_strdup(c, k->name);
	pb->node = api_strdup(c, node);
	pb->packets = k->packets;
	pb->bytes = k->bytes;
	pb->drops = k->drops;
	pb->rate_bps = k->rate_bps;
	return pb->name && pb->node ? pb : NULL;
}

/* A class with what each node of its network last reported of it, in node order. */
static int class_show(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__NameRef *ref = (const Netfn__NameRef *)m;
	struct agentsrv_qos_counter *got = NULL;
	struct api_list rows = {.c = c};
	struct st_network net = {0};
	struct api_vec nodes = {0};
	const struct st_node *nv;
	struct st_qos_class cl;
	Netfn__QosClass *pb;
	size_t n_got = 0;
	int ret;

	if (find_class(c, ref->name, ref->network, "name", &cl, &net))
		return -1;
	pb = class_pb(c, &cl, net.name);
	if (!pb)
		return -ENOMEM;
	ret = api_nodes_of(c, net.id, &nodes);
	if (!ret)
		ret = agentsrv_qos_counters(c->ctl->agents, cl.name, &got, &n_got);
	nv = nodes.v;
	/* Only this network's nodes: another network's class may share the name. */
	for (size_t i = 0; i < nodes.n && !ret; i++)
		for (size_t k = 0; k < n_got && !ret; k++)
			if (got[k].node_id == nv[i].id)
				ret = api_list_push(&rows, counter_pb(c, &got[k].c, nv[i].name));
	free(got);
	if (ret)
		return ret;
	pb->counters = (Netfn__QosClassCounter **)rows.v;
	pb->n_counters = rows.n;
	*reply = &pb->base;
	return 0;
}

static int assign(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__QosAssign *in = (const Netfn__QosAssign *)m;
	static const Netfn__QosMatch none = NETFN__QOS_MATCH__INIT;
	struct store *s = c->ctl->store;
	struct st_network net = {0};
	struct st_qos_class cl;
	struct st_qos_match mt;
	struct api_vec have = {0};
	char what[160];
	int ret;

	if (api_begin(c))
		return -1;
	ret = find_class(c, in->class_, in->network, "class", &cl, &net);
	if (!ret)
		ret = match_check(c, &net, in->match ? in->match : &none, "match", &mt);
	if (!ret)
		ret = matches_of(c, cl.id, &have);
	if (ret)
		goto end;
	if (have.n >= QOS_MAX_MATCHES) {
		ret = api_fail(c, NETFN__STATUS__RESOURCE_EXHAUSTED, "class",
		               "class '%s' already has %zu matches, the most there can be", cl.name,
		               have.n);
		goto end;
	}
	mt.class_id = cl.id;
	ret = s->ops->qos_match_insert(s, &mt);
	if (ret) {
		ret = api_store_fail(c, ret, "class", "traffic class");
		goto end;
	}
	snprintf(what, sizeof(what), "class %s match %" PRId64 " added:", cl.name, mt.id);
	ret = audit_qos(c, &net, what,
	                mt.peer[0]   ? mt.peer
	                : mt.cidr[0] ? mt.cidr
	                : mt.port[0] ? mt.port
	                             : "any");
	if (!ret)
		ret = compile_network(s, net.id, &c->changed);
end:
	if (api_end(c, ret))
		return -1;
	return reply_class(c, &cl, net.name, reply);
}

static int unassign(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__QosMatchRef *ref = (const Netfn__QosMatchRef *)m;
	struct store *s = c->ctl->store;
	struct st_network net = {0};
	struct st_qos_class cl;
	struct api_vec have = {0};
	const struct st_qos_match *v;
	char what[160];
	bool found = false;
	int ret;

	if (api_begin(c))
		return -1;
	ret = find_class(c, ref->class_, ref->network, "class", &cl, &net);
	if (!ret)
		ret = matches_of(c, cl.id, &have);
	if (ret)
		goto end;
	v = have.v;
	for (size_t i = 0; i < have.n && !found; i++)
		found = (uint64_t)v[i].id == ref->id;
	if (!found) {
		ret = api_fail(c, NETFN__STATUS__NOT_FOUND, "id",
		               "class '%s' has no match %" PRIu64
		               " (netfnctl qos class show lists them)",
		               cl.name, ref->id);
		goto end;
	}
	ret = s->ops->qos_match_delete(s, (int64_t)ref->id);
	if (ret) {
		ret = api_store_fail(c, ret, "id", "match");
		goto end;
	}
	snprintf(what, sizeof(what), "class %s match %" PRIu64, cl.name, ref->id);
	ret = audit_qos(c, &net, what, "removed");
	if (!ret)
		ret = compile_network(s, net.id, &c->changed);
end:
	return api_end_empty(c, ret, reply);
}

const struct api_method api_qos_methods[] = {
    {"qos.link", &netfn__qos_link__descriptor, true, link_set},
    {"qos.class_create", &netfn__qos_class__descriptor, true, class_create},
    {"qos.class_delete", &netfn__name_ref__descriptor, true, class_delete},
    {"qos.class_list", &netfn__node_list_request__descriptor, false, class_list},
    {"qos.class_show", &netfn__name_ref__descriptor, false, class_show},
    {"qos.assign", &netfn__qos_assign__descriptor, true, assign},
    {"qos.unassign", &netfn__qos_match_ref__descriptor, true, unassign},
    {0},
};
