// SPDX-License-Identifier: Apache-2.0
/*
 * API handlers for firewall policies and their rules: policy create (with
 * its rules, all checked before anything is stored), list, show (rules with
 * the counters every node reported, summed), delete; rule add at a place
 * and rule delete. Rules are checked and made canonical by the firewall's
 * own grammar (fw_rule_parse), the one the compiler reads them back with.
 * Every mutation recompiles the policy's network in the same transaction,
 * so only the nodes whose firewall section changed get a new revision.
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
#include "netfns/firewall/fw_compile.h"

/* The store keeps exactly the canonical text the grammar writes. */
_Static_assert(sizeof(((struct st_fw_rule *)0)->direction) == FW_WORD_MAX, "direction size");
_Static_assert(sizeof(((struct st_fw_rule *)0)->src) == FW_LIST_MAX, "src size");
_Static_assert(sizeof(((struct st_fw_rule *)0)->dst_port) == FW_PORTS_TEXT_MAX, "port size");
_Static_assert(sizeof(((struct st_fw_rule *)0)->rate) == FW_RATE_TEXT_MAX, "rate size");
_Static_assert(sizeof(((struct st_fw_rule *)0)->log_prefix) == FW_LOG_PREFIX_MAX, "log size");
_Static_assert(ST_MAX_LABELS == FW_MAX_LABELS, "selector size");

/* Finds a policy by name, in network when given, else in the only network that has it. */
struct find {
	const char *name;
	int found;
	struct st_fw_policy policy;
};

static int match_name(void *ctx, const struct st_fw_policy *p)
{
	struct find *f = ctx;

	if (strcmp(p->name, f->name) == 0) {
		f->policy = *p;
		f->found++;
	}
	return 0;
}

static int find_policy(struct api_call *c, const char *name, const char *network, const char *field,
                       struct st_fw_policy *out, struct st_network *net)
{
	struct store *s = c->ctl->store;
	struct find f = {.name = name};
	char p[72];
	int ret;

	if (!valid_name(name))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, field,
		                "'%s' is not a valid policy name", printable(name, p, sizeof(p)));
	if (network[0]) {
		if (s->ops->network_get(s, network, net))
			return api_fail(c, NETFN__STATUS__NOT_FOUND, "network",
			                "network '%s' not found", printable(network, p, sizeof(p)));
		ret = s->ops->fw_policy_get(s, net->id, name, out);
		if (ret == -ENOENT)
			return api_fail(c, NETFN__STATUS__NOT_FOUND, field,
			                "network '%s' has no policy '%s'", net->name, name);
		return ret ? api_store_fail(c, ret, field, "policy") : 0;
	}
	if (s->ops->fw_policy_list(s, 0, match_name, &f))
		return -EIO;
	if (f.found == 0)
		return api_fail(c, NETFN__STATUS__NOT_FOUND, field, "policy '%s' not found", name);
	if (f.found > 1)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "network",
		                "policy '%s' is in several networks: name one with --network",
		                name);
	*out = f.policy;
	ret = s->ops->network_get_id(s, out->network_id, net);
	return ret ? api_store_fail(c, ret, "network", "network") : 0;
}

/*
 * Checks one rule and writes it, canonical, into out. what prefixes the
 * message ("rule 3: ") when a policy carries several. Each src/dst entry is
 * checked on its own first, so an entry holding a space is refused rather
 * than read as two.
 */
static int rule_from_pb(struct api_call *c, const Netfn__FwRule *in, const char *what,
                        struct st_fw_rule *out)
{
	char src[FW_LIST_MAX], dst[FW_LIST_MAX], p[72];
	struct fw_rule_spec *spec = NULL;
	struct fw_rule_canon *canon = NULL;
	struct fw_rule_text t = {0};
	struct fw_error err = {0};
	struct fw_entry e;
	int ret;
	struct {
		const char *field;
		char *const *v;
		size_t n;
		char *buf;
	} lists[] = {{"src", in->src, in->n_src, src}, {"dst", in->dst, in->n_dst, dst}};

	for (size_t l = 0; l < 2; l++) {
		size_t o = 0;

		if (lists[l].n > FW_MAX_ENTRIES)
			return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, lists[l].field,
			                "%s%zu entries: at most %d", what, lists[l].n,
			                FW_MAX_ENTRIES);
		lists[l].buf[0] = '\0';
		for (size_t i = 0; i < lists[l].n; i++) {
			if (!fw_entry_parse(lists[l].v[i], &e, &err))
				return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, lists[l].field,
				                "%s'%s' %s", what,
				                printable(err.value, p, sizeof(p)), err.reason);
			o += (size_t)snprintf(lists[l].buf + o, FW_LIST_MAX - o, "%s%s",
			                      i ? " " : "", e.text);
		}
	}
	t.direction = in->direction;
	t.protocol = in->protocol;
	t.src = src;
	t.dst = dst;
	t.dst_port = in->dst_port;
	t.action = in->action;
	t.rate = in->rate;
	t.log_prefix = in->log_prefix;
	/* About 10 KiB together: the arena, not the stack. */
	spec = api_alloc(c, sizeof(*spec));
	canon = api_alloc(c, sizeof(*canon));
	if (!spec || !canon)
		return -ENOMEM;
	ret = fw_rule_parse(&t, spec, &err);
	if (ret == -EINVAL && err.value[0])
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, err.field, "%s'%s' %s", what,
		                printable(err.value, p, sizeof(p)), err.reason);
	if (ret == -EINVAL)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, err.field, "%s%s %s", what,
		                err.field, err.reason);
	if (ret)
		return ret;
	fw_rule_canon(spec, canon);
	memset(out, 0, sizeof(*out));
	memcpy(out->direction, canon->direction, sizeof(out->direction));
	memcpy(out->protocol, canon->protocol, sizeof(out->protocol));
	memcpy(out->src, canon->src, sizeof(out->src));
	memcpy(out->dst, canon->dst, sizeof(out->dst));
	memcpy(out->dst_port, canon->dst_port, sizeof(out->dst_port));
	memcpy(out->action, canon->action, sizeof(out->action));
	memcpy(out->rate, canon->rate, sizeof(out->rate));
	memcpy(out->log_prefix, canon->log_prefix, sizeof(out->log_prefix));
	return 0;
}

/* The rule in a few words, for the audit log. */
static void rule_summary(const struct st_fw_rule *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s%s%.60s%s%.60s%s%.40s %s%s%s", r->direction, r->protocol,
	         r->src[0] ? " src=" : "", r->src, r->dst[0] ? " dst=" : "", r->dst,
	         r->dst_port[0] ? " port=" : "", r->dst_port, r->action, r->rate[0] ? " rate=" : "",
	         r->rate);
}

/* Splits space-separated entries into a repeated field in the call's arena. */
static char **split(struct api_call *c, const char *s, size_t *n)
{
	char **v = api_alloc(c, FW_MAX_ENTRIES * sizeof(*v));
	char *copy = api_strdup(c, s), *save = NULL;

	*n = 0;
	if (!v || !copy)
		return NULL;
	for (char *e = strtok_r(copy, " ", &save); e && *n < FW_MAX_ENTRIES;
	     e = strtok_r(NULL, " ", &save))
		v[(*n)++] = e;
	return v;
}

struct rules_ctx {
	struct api_call *c;
	struct api_list rules;
};

static int add_rule(void *ctx, const struct st_fw_rule *r)
{
	struct rules_ctx *rc = ctx;
	struct api_call *c = rc->c;
	Netfn__FwRule *pb = api_alloc(c, sizeof(*pb));

	if (!pb)
		return -ENOMEM;
	netfn__fw_rule__init(pb);
	pb->id = (uint64_t)r->id;
	pb->direction = api_strdup(c, r->direction);
	pb->protocol = api_strdup(c, r->protocol);
	pb->src = split(c, r->src, &pb->n_src);
	pb->dst = split(c, r->dst, &pb->n_dst);
	pb->dst_port = api_strdup(c, r->dst_port);
	pb->action = api_strdup(c, r->action);
	pb->rate = api_strdup(c, r->rate);
	pb->log_prefix = api_strdup(c, r->log_prefix);
	if (!pb->direction || !pb->protocol || !pb->src || !pb->dst || !pb->dst_port ||
	    !pb->action || !pb->rate || !pb->log_prefix)
		return -ENOMEM;
	return api_list_push(&rc->rules, pb);
}

/* The policy with its rules in order, each with its counters summed over the nodes. */
static Netfn__FwPolicy *policy_to_pb(struct api_call *c, const struct st_fw_policy *p,
                                     const char *network)
{
	struct store *s = c->ctl->store;
	struct rules_ctx rc = {.c = c, .rules = {.c = c}};
	Netfn__FwPolicy *pb = api_alloc(c, sizeof(*pb));
	struct fw_counter *counters = NULL;
	uint64_t *ids = NULL;

	if (!pb || s->ops->fw_rule_list(s, p->id, add_rule, &rc))
		return NULL;
	netfn__fw_policy__init(pb);
	pb->name = api_strdup(c, p->name);
	pb->network = api_strdup(c, network);
	pb->selector = api_labels_to_pb(c, p->selector, p->n_selector);
	pb->n_selector = p->n_selector;
	pb->default_deny = p->default_deny;
	pb->block_ssh = p->block_ssh;
	pb->created = p->created;
	pb->rules = (Netfn__FwRule **)rc.rules.v;
	pb->n_rules = rc.rules.n;
	if (!pb->name || !pb->network || !pb->selector)
		return NULL;
	if (!pb->n_rules)
		return pb;
	ids = api_alloc(c, pb->n_rules * sizeof(*ids));
	counters = api_alloc(c, pb->n_rules * sizeof(*counters));
	if (!ids || !counters)
		return NULL;
	for (size_t i = 0; i < pb->n_rules; i++)
		ids[i] = pb->rules[i]->id;
	agentsrv_fw_counters(c->ctl->agents, ids, pb->n_rules, counters);
	for (size_t i = 0; i < pb->n_rules; i++) {
		pb->rules[i]->packets = counters[i].packets;
		pb->rules[i]->bytes = counters[i].bytes;
	}
	return pb;
}

/* Replies with the policy as stored now (after the transaction). */
static int reply_policy(struct api_call *c, const struct st_fw_policy *p, const char *network,
                        ProtobufCMessage **reply)
{
	*reply = (ProtobufCMessage *)policy_to_pb(c, p, network);
	return *reply ? 0 : -ENOMEM;
}

static int policy_create(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__FwPolicy *in = (const Netfn__FwPolicy *)m;
	struct store *s = c->ctl->store;
	struct st_fw_policy pol = {0};
	struct st_fw_rule *rules = NULL;
	struct st_network net = {0};
	char object[160], p[72], what[32];
	int ret;

	if (!valid_name(in->name))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "name",
		                "'%s' is not a valid name: 1-63 of a-z 0-9 '-', not starting or "
		                "ending with '-'",
		                printable(in->name, p, sizeof(p)));
	if (!in->network[0])
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "network",
		                "a policy belongs to a network: name one");
	if (labels_merge(pol.selector, &pol.n_selector, in->selector, in->n_selector, "selector",
	                 &c->st))
		return -1;
	if (in->block_ssh && !in->default_deny)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "block_ssh",
		                "block_ssh only means something with default_deny");
	if (in->n_rules > FW_MAX_POLICY_RULES)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "rules",
		                "%zu rules: a policy holds at most %d", in->n_rules,
		                FW_MAX_POLICY_RULES);
	/* Every rule is checked before anything is stored. */
	rules = api_alloc(c, (in->n_rules ? in->n_rules : 1) * sizeof(*rules));
	if (!rules)
		return -ENOMEM;
	for (size_t i = 0; i < in->n_rules; i++) {
		snprintf(what, sizeof(what), "rule %zu: ", i + 1);
		if (rule_from_pb(c, in->rules[i], in->n_rules > 1 ? what : "", &rules[i]))
			return -1;
	}
	snprintf(pol.name, sizeof(pol.name), "%s", in->name);
	pol.default_deny = in->default_deny;
	pol.block_ssh = in->block_ssh;
	pol.created = ctl_now();

	if (api_begin(c))
		return -1;
	ret = s->ops->network_get(s, in->network, &net);
	if (ret) {
		ret = api_fail(c, NETFN__STATUS__NOT_FOUND, "network", "network '%s' not found",
		               printable(in->network, p, sizeof(p)));
		goto end;
	}
	pol.network_id = net.id;
	ret = s->ops->fw_policy_insert(s, &pol);
	if (ret == -EEXIST) {
		ret = api_fail(c, NETFN__STATUS__ALREADY_EXISTS, "name",
		               "network '%s' already has a policy '%s'", net.name, pol.name);
		goto end;
	}
	for (size_t i = 0; i < in->n_rules && !ret; i++) {
		rules[i].policy_id = pol.id;
		ret = s->ops->fw_rule_insert(s, &rules[i]);
	}
	if (ret) {
		ret = api_store_fail(c, ret, "name", "policy");
		goto end;
	}
	snprintf(object, sizeof(object), "%s/%s", net.name, pol.name);
	ret = api_audit(c, object, "selector: %zu labels, default_deny=%d block_ssh=%d, %zu rules",
	                pol.n_selector, pol.default_deny, pol.block_ssh, in->n_rules);
	if (!ret)
		ret = compile_network(s, net.id, &c->changed);
end:
	if (api_end(c, ret))
		return -1;
	return reply_policy(c, &pol, net.name, reply);
}

struct listctx {
	struct api_call *c;
	struct api_list policies;
	struct st_network net; /* the last one looked up */
};

static int add_policy(void *ctx, const struct st_fw_policy *p)
{
	struct listctx *l = ctx;
	struct store *s = l->c->ctl->store;
	int ret = 0;

	if (l->net.id != p->network_id)
		ret = s->ops->network_get_id(s, p->network_id, &l->net);
	return ret ? ret : api_list_push(&l->policies, policy_to_pb(l->c, p, l->net.name));
}

static int policy_list(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__NodeListRequest *in = (const Netfn__NodeListRequest *)m;
	struct store *s = c->ctl->store;
	struct listctx l = {.c = c, .policies = {.c = c}};
	Netfn__FwPolicyList *out = api_alloc(c, sizeof(*out));
	int64_t network_id = 0;
	char p[72];

	if (!out)
		return -ENOMEM;
	if (in->network[0]) {
		if (s->ops->network_get(s, in->network, &l.net))
			return api_fail(c, NETFN__STATUS__NOT_FOUND, "network",
			                "network '%s' not found",
			                printable(in->network, p, sizeof(p)));
		network_id = l.net.id;
	}
	if (s->ops->fw_policy_list(s, network_id, add_policy, &l))
		return -EIO;
	netfn__fw_policy_list__init(out);
	out->policies = (Netfn__FwPolicy **)l.policies.v;
	out->n_policies = l.policies.n;
	*reply = &out->base;
	return 0;
}

static int policy_show(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__NameRef *ref = (const Netfn__NameRef *)m;
	struct st_fw_policy pol;
	struct st_network net;

	if (find_policy(c, ref->name, ref->network, "name", &pol, &net))
		return -1;
	return reply_policy(c, &pol, net.name, reply);
}

static int policy_delete(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__NameRef *ref = (const Netfn__NameRef *)m;
	struct store *s = c->ctl->store;
	struct st_fw_policy pol;
	struct st_network net;
	char object[160];
	int ret;

	if (api_begin(c))
		return -1;
	ret = find_policy(c, ref->name, ref->network, "name", &pol, &net);
	if (ret)
		goto end;
	ret = s->ops->fw_policy_delete(s, pol.id);
	if (ret) {
		ret = api_store_fail(c, ret, "name", "policy");
		goto end;
	}
	snprintf(object, sizeof(object), "%s/%s", net.name, pol.name);
	ret = api_audit(c, object, "deleted");
	if (!ret)
		ret = compile_network(s, net.id, &c->changed);
end:
	return api_end_empty(c, ret, reply);
}

static int count_rule(void *ctx, const struct st_fw_rule *r)
{
	(void)r;
	(*(size_t *)ctx)++;
	return 0;
}

static int rule_add(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__FwRuleAdd *in = (const Netfn__FwRuleAdd *)m;
	struct store *s = c->ctl->store;
	struct st_fw_policy pol = {0};
	struct st_fw_rule *rule = api_alloc(c, sizeof(*rule));
	struct st_network net = {0};
	char object[160], summary[240];
	size_t n = 0;
	int ret;

	if (!rule)
		return -ENOMEM;
	if (!in->rule)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "rule", "a rule is required");
	if (rule_from_pb(c, in->rule, "", rule))
		return -1;
	if (api_begin(c))
		return -1;
	ret = find_policy(c, in->policy, in->network, "policy", &pol, &net);
	if (!ret)
		ret = s->ops->fw_rule_list(s, pol.id, count_rule, &n);
	if (ret)
		goto end;
	if (n >= FW_MAX_POLICY_RULES) {
		ret = api_fail(c, NETFN__STATUS__RESOURCE_EXHAUSTED, "policy",
		               "policy '%s' already has %zu rules, the most it may hold", pol.name,
		               n);
		goto end;
	}
	if (in->position > n + 1) {
		ret = api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "position",
		               "%u is past the end: policy '%s' has %zu rules (give 1-%zu, or 0 "
		               "for the end)",
		               in->position, pol.name, n, n + 1);
		goto end;
	}
	rule->policy_id = pol.id;
	rule->position = in->position;
	ret = s->ops->fw_rule_insert(s, rule);
	if (ret) {
		ret = api_store_fail(c, ret, "policy", "policy");
		goto end;
	}
	snprintf(object, sizeof(object), "%s/%s", net.name, pol.name);
	rule_summary(rule, summary, sizeof(summary));
	ret = api_audit(c, object, "rule %" PRId64 " at %u: %s", rule->id, rule->position, summary);
	if (!ret)
		ret = compile_network(s, net.id, &c->changed);
end:
	if (api_end(c, ret))
		return -1;
	return reply_policy(c, &pol, net.name, reply);
}

static int rule_del(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__FwRuleRef *in = (const Netfn__FwRuleRef *)m;
	struct store *s = c->ctl->store;
	struct st_fw_policy pol = {0};
	struct st_fw_rule *rule = api_alloc(c, sizeof(*rule));
	struct st_network net = {0};
	char object[160], summary[240];
	int ret;

	if (!rule)
		return -ENOMEM;
	if (api_begin(c))
		return -1;
	ret = find_policy(c, in->policy, in->network, "policy", &pol, &net);
	if (ret)
		goto end;
	/* Rule ids are global: one of another policy is not this policy's. */
	ret = in->id > INT64_MAX ? -ENOENT : s->ops->fw_rule_get(s, (int64_t)in->id, rule);
	if (ret == -ENOENT || (!ret && rule->policy_id != pol.id)) {
		ret = api_fail(c, NETFN__STATUS__NOT_FOUND, "id",
		               "policy '%s' has no rule %" PRIu64, pol.name, in->id);
		goto end;
	}
	if (!ret)
		ret = s->ops->fw_rule_delete(s, rule->id);
	if (ret) {
		ret = api_store_fail(c, ret, "id", "rule");
		goto end;
	}
	snprintf(object, sizeof(object), "%s/%s", net.name, pol.name);
	rule_summary(rule, summary, sizeof(summary));
	ret = api_audit(c, object, "rule %" PRId64 " deleted: %s", rule->id, summary);
	if (!ret)
		ret = compile_network(s, net.id, &c->changed);
end:
	if (api_end(c, ret))
		return -1;
	return reply_policy(c, &pol, net.name, reply);
}

const struct api_method api_firewall_methods[] = {
    {"firewall.policy.create", &netfn__fw_policy__descriptor, true, policy_create},
    {"firewall.policy.list", &netfn__node_list_request__descriptor, false, policy_list},
    {"firewall.policy.show", &netfn__name_ref__descriptor, false, policy_show},
    {"firewall.policy.delete", &netfn__name_ref__descriptor, true, policy_delete},
    {"firewall.rule.add", &netfn__fw_rule_add__descriptor, true, rule_add},
    {"firewall.rule.del", &netfn__fw_rule_ref__descriptor, true, rule_del},
    {0},
};
