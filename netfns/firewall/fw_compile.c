// SPDX-License-Identifier: Apache-2.0
/*
 * The controller half of the firewall (see fw_compile.h): the rule grammar
 * and the compiler. Parsing is strict and canonicalising, so the API stores
 * one spelling of each rule and a rule read back from the store compiles
 * exactly as it was accepted.
 *
 * Compiling is deterministic: every resolved address list is sorted and
 * freed of entries that another entry of the same list contains. That keeps
 * a node's section hash stable (no revision bump when nothing changed) and
 * gives the agent disjoint intervals, which an nftables interval set
 * requires (overlapping elements fail the whole batch).
 */
#include "netfns/firewall/fw_compile.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const dir_names[] = {[FW_IN] = "in", [FW_OUT] = "out", [FW_FORWARD] = "forward"};
static const char *const proto_names[] = {[FW_ANY] = "any",
                                          [FW_TCP] = "tcp",
                                          [FW_UDP] = "udp",
                                          [FW_ICMP] = "icmp",
                                          [FW_ICMPV6] = "icmpv6"};
static const char *const action_names[] = {
    [FW_ACCEPT] = "accept", [FW_DROP] = "drop", [FW_REJECT] = "reject"};
static const char *const unit_names[] = {
    [FW_PER_SECOND] = "second", [FW_PER_MINUTE] = "minute", [FW_PER_HOUR] = "hour"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Records a refusal; returns -EINVAL so parsers can `return refuse(...)`. */
static int refuse(struct fw_error *err, const char *field, const char *value, size_t value_len,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int refuse(struct fw_error *err, const char *field, const char *value, size_t value_len,
                  const char *fmt, ...)
{
	va_list ap;

	err->field = field;
	if (value_len >= sizeof(err->value))
		value_len = sizeof(err->value) - 1;
	memcpy(err->value, value ? value : "", value ? value_len : 0);
	err->value[value ? value_len : 0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Finds s among names; "" gives dflt (-1: required). */
static int word(const char *s, const char *const *names, size_t n, int dflt)
{
	if (!s[0])
		return dflt;
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

/* Parses n bytes of decimal digits without a leading zero, at most max. */
static bool number(const char *s, size_t n, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 7 || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

/*
 * The label rules of the controller's validate.c, repeated here because
 * netfns/ does not depend on the controller: a selector must be able to
 * name any label a node can carry, and nothing else.
 */
static bool label_char(char ch, bool slash)
{
	return isalnum((unsigned char)ch) || ch == '.' || ch == '_' || ch == '-' ||
	       (slash && ch == '/');
}

static bool label_key_ok(const char *s, size_t n)
{
	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!label_char(s[i], true))
			return false;
	return true;
}

static bool label_value_ok(const char *s, size_t n)
{
	if (n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!label_char(s[i], false))
			return false;
	return true;
}

/* Parses a selector "k=v[,k2=v2...]" into labels; false with the reason in err. */
static bool selector_parse(const char *s, struct fw_label *labels, size_t *n, struct fw_error *err)
{
	const char *p = s;

	*n = 0;
	for (;;) {
		const char *end = strchr(p, ','), *eq;
		size_t len = end ? (size_t)(end - p) : strlen(p), klen;

		eq = memchr(p, '=', len);
		if (!eq) {
			refuse(err, NULL, p, len, "is not key=value in a selector");
			return false;
		}
		klen = (size_t)(eq - p);
		if (!label_key_ok(p, klen)) {
			refuse(err, NULL, p, len,
			       "has a bad label key: 1-63 of A-Z a-z 0-9 . _ - /, starting "
			       "alphanumeric");
			return false;
		}
		if (!label_value_ok(eq + 1, len - klen - 1)) {
			refuse(err, NULL, p, len,
			       "has a bad label value: 0-63 of A-Z a-z 0-9 . _ -");
			return false;
		}
		if (*n == FW_MAX_LABELS) {
			refuse(err, NULL, s, strlen(s), "has more than %d labels", FW_MAX_LABELS);
			return false;
		}
		memcpy(labels[*n].key, p, klen);
		labels[*n].key[klen] = '\0';
		memcpy(labels[*n].value, eq + 1, len - klen - 1);
		labels[*n].value[len - klen - 1] = '\0';
		for (size_t i = 0; i < *n; i++) {
			if (strcmp(labels[i].key, labels[*n].key) == 0) {
				refuse(err, NULL, s, strlen(s), "names label '%s' twice",
				       labels[i].key);
				return false;
			}
		}
		(*n)++;
		if (!end)
			return true;
		p = end + 1;
	}
}

bool fw_entry_parse(const char *s, struct fw_entry *out, struct fw_error *err)
{
	size_t len = strlen(s);

	memset(out, 0, sizeof(*out));
	err->field = NULL;
	if (len == 0) {
		refuse(err, NULL, s, len, "is empty");
		return false;
	}
	if (len >= FW_ENTRY_MAX) {
		refuse(err, NULL, s, len, "is longer than %d characters", FW_ENTRY_MAX - 1);
		return false;
	}
	if (strchr(s, '=')) {
		struct fw_label labels[FW_MAX_LABELS];
		size_t n;

		if (!selector_parse(s, labels, &n, err))
			return false;
		out->selector = true;
		memcpy(out->text, s, len + 1);
		return true;
	}
	if (!nf_prefix_parse(s, true, &out->prefix)) {
		refuse(err, NULL, s, len,
		       "is not a prefix (10.0.0.0/8), an address or a label selector "
		       "(role=web,env=prod)");
		return false;
	}
	if (!nf_prefix_is_network(&out->prefix)) {
		refuse(err, NULL, s, len, "has host bits set past its prefix length");
		return false;
	}
	nf_prefix_format(&out->prefix, out->text, sizeof(out->text));
	return true;
}

/* Parses the entries of src or dst, separated by spaces. */
static int entries_parse(const char *field, const char *s, struct fw_entry *out, size_t *n,
                         struct fw_error *err)
{
	char buf[FW_ENTRY_MAX];

	*n = 0;
	while (*s) {
		size_t len = strcspn(s, " ");

		if (len == 0) {
			s++;
			continue;
		}
		if (*n == FW_MAX_ENTRIES)
			return refuse(err, field, s, len, "is one entry more than %d",
			              FW_MAX_ENTRIES);
		if (len >= sizeof(buf))
			return refuse(err, field, s, len, "is longer than %d characters",
			              FW_ENTRY_MAX - 1);
		memcpy(buf, s, len);
		buf[len] = '\0';
		if (!fw_entry_parse(buf, &out[*n], err)) {
			err->field = field;
			return -EINVAL;
		}
		(*n)++;
		s += len;
	}
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct fw_port_range *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->last < y->last ? -1 : x->last > y->last;
}

/* Parses "22", "8000-8080" or "80,443,8000-8100": sorted, overlapping and adjacent merged. */
static int ports_parse(const char *s, struct fw_rule_spec *r, struct fw_error *err)
{
	const char *p = s;
	size_t n = 0;

	r->n_ports = 0;
	if (!s[0])
		return 0;
	if (strlen(s) >= FW_PORTS_TEXT_MAX)
		return refuse(err, "dst_port", s, strlen(s), "is longer than %d characters",
		              FW_PORTS_TEXT_MAX - 1);
	for (;;) {
		size_t len = strcspn(p, ","), dash = strcspn(p, "-");
		uint32_t first, last;

		if (dash > len)
			dash = len;
		if (n == FW_MAX_PORTS)
			return refuse(err, "dst_port", s, strlen(s),
			              "has more than %d ports and ranges", FW_MAX_PORTS);
		if (!number(p, dash, 65535, &first) || first == 0 ||
		    (dash < len &&
		     (!number(p + dash + 1, len - dash - 1, 65535, &last) || last == 0)))
			return refuse(err, "dst_port", p, len,
			              "is not a port 1-65535 or a range of them (8000-8080)");
		if (dash == len)
			last = first;
		if (first > last)
			return refuse(err, "dst_port", p, len,
			              "is a range that ends before it starts");
		r->ports[n].first = (uint16_t)first;
		r->ports[n].last = (uint16_t)last;
		n++;
		if (!p[len])
			break;
		p += len + 1;
	}
	qsort(r->ports, n, sizeof(r->ports[0]), cmp_range);
	for (size_t i = 0; i < n; i++) {
		struct fw_port_range *prev = r->n_ports ? &r->ports[r->n_ports - 1] : NULL;

		if (prev && (uint32_t)r->ports[i].first <= (uint32_t)prev->last + 1) {
			if (r->ports[i].last > prev->last)
				prev->last = r->ports[i].last;
		} else {
			r->ports[r->n_ports++] = r->ports[i];
		}
	}
	/* Nothing stale past the end: equal rules compare equal as memory. */
	memset(&r->ports[r->n_ports], 0, (FW_MAX_PORTS - r->n_ports) * sizeof(r->ports[0]));
	return 0;
}

static int rate_parse(const char *s, struct fw_rule_spec *r, struct fw_error *err)
{
	const char *slash = strchr(s, '/');
	int unit;

	r->rate = 0;
	r->rate_unit = FW_PER_SECOND;
	if (!s[0])
		return 0;
	if (!slash || !number(s, (size_t)(slash - s), FW_RATE_MAX, &r->rate) || r->rate == 0 ||
	    (unit = word(slash + 1, unit_names, COUNT(unit_names), -1)) < 0)
		return refuse(err, "rate", s, strlen(s),
		              "is not N/second, N/minute or N/hour with N 1-%d", FW_RATE_MAX);
	r->rate_unit = (enum fw_rate_unit)unit;
	return 0;
}

static int log_prefix_parse(const char *s, struct fw_rule_spec *r, struct fw_error *err)
{
	size_t len = strlen(s);

	if (len >= FW_LOG_PREFIX_MAX)
		return refuse(err, "log_prefix", s, len, "is longer than %d characters",
		              FW_LOG_PREFIX_MAX - 1);
	/* It ends up inside a quoted nftables string and in log lines. */
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || strchr("\"'\\;", s[i]))
			return refuse(err, "log_prefix", s, len,
			              "may hold printable ASCII only, without \" ' \\ or ;");
	memcpy(r->log_prefix, s, len + 1);
	return 0;
}

static const char *text(const char *s)
{
	return s ? s : "";
}

int fw_rule_parse(const struct fw_rule_text *in, struct fw_rule_spec *out, struct fw_error *err)
{
	const char *s;
	int v, ret;

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	out->id = in->id;
	s = text(in->direction);
	if ((v = word(s, dir_names, COUNT(dir_names), FW_IN)) < 0)
		return refuse(err, "direction", s, strlen(s), "is not in, out or forward");
	out->dir = (enum fw_dir)v;
	s = text(in->protocol);
	if ((v = word(s, proto_names, COUNT(proto_names), FW_ANY)) < 0)
		return refuse(err, "protocol", s, strlen(s),
		              "is not tcp, udp, icmp, icmpv6 or any");
	out->proto = (enum fw_proto)v;
	s = text(in->action);
	if ((v = word(s, action_names, COUNT(action_names), -1)) < 0)
		return refuse(err, "action", s, strlen(s),
		              s[0] ? "is not accept, drop or reject"
		                   : "is missing: accept, drop or reject");
	out->action = (enum fw_action)v;
	ret = entries_parse("src", text(in->src), out->src, &out->n_src, err);
	if (!ret)
		ret = entries_parse("dst", text(in->dst), out->dst, &out->n_dst, err);
	if (!ret)
		ret = ports_parse(text(in->dst_port), out, err);
	if (!ret && out->n_ports && out->proto != FW_TCP && out->proto != FW_UDP)
		ret = refuse(err, "dst_port", text(in->dst_port), strlen(text(in->dst_port)),
		             "needs protocol tcp or udp (the protocol is %s)",
		             proto_names[out->proto]);
	if (!ret)
		ret = rate_parse(text(in->rate), out, err);
	if (!ret)
		ret = log_prefix_parse(text(in->log_prefix), out, err);
	return ret;
}

/* Joins entries' canonical text with spaces. */
static void entries_format(const struct fw_entry *e, size_t n, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? " " : "", e[i].text);
}

void fw_rule_canon(const struct fw_rule_spec *r, struct fw_rule_canon *out)
{
	size_t o = 0;

	memset(out, 0, sizeof(*out));
	snprintf(out->direction, sizeof(out->direction), "%s", dir_names[r->dir]);
	snprintf(out->protocol, sizeof(out->protocol), "%s", proto_names[r->proto]);
	snprintf(out->action, sizeof(out->action), "%s", action_names[r->action]);
	entries_format(r->src, r->n_src, out->src, sizeof(out->src));
	entries_format(r->dst, r->n_dst, out->dst, sizeof(out->dst));
	for (size_t i = 0; i < r->n_ports && o < sizeof(out->dst_port); i++) {
		const struct fw_port_range *p = &r->ports[i];
		size_t left = sizeof(out->dst_port) - o;

		if (p->first == p->last)
			o += (size_t)snprintf(out->dst_port + o, left, "%s%u", i ? "," : "",
			                      p->first);
		else
			o += (size_t)snprintf(out->dst_port + o, left, "%s%u-%u", i ? "," : "",
			                      p->first, p->last);
	}
	if (r->rate)
		snprintf(out->rate, sizeof(out->rate), "%u/%s", r->rate, unit_names[r->rate_unit]);
	snprintf(out->log_prefix, sizeof(out->log_prefix), "%s", r->log_prefix);
}

bool fw_labels_match(const struct fw_label *selector, size_t n_selector,
                     const struct fw_label *labels, size_t n_labels)
{
	for (size_t i = 0; i < n_selector; i++) {
		size_t k;

		for (k = 0; k < n_labels; k++)
			if (strcmp(selector[i].key, labels[k].key) == 0 &&
			    strcmp(selector[i].value, labels[k].value) == 0)
				break;
		if (k == n_labels)
			return false;
	}
	return true;
}

/* ---- the compiler ---- */

struct fc_policy {
	char name[FW_NAME_MAX];
	size_t n_selector;
	struct fw_label selector[FW_MAX_LABELS];
	bool default_deny;
	bool block_ssh;
	size_t n_rules;
	struct fw_rule *rules; /* resolved */
};

struct fw_compiler {
	uint16_t wg_port;
	size_t n_policies;
	struct fc_policy *policies;
	size_t n_members;
	struct fw_member *members;
};

/* Orders by family, address, then length, so a list sorts the same every time. */
static int cmp_prefix(const void *a, const void *b)
{
	const struct nf_prefix *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	c = memcmp(x->addr.bytes, y->addr.bytes, x->family == AF_INET ? 4 : 16);
	if (c)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

/* Resolves entries into a sorted list of disjoint prefixes; none at all means any. */
static int resolve(const struct fw_entry *e, size_t n, const struct fw_member *members,
                   size_t n_members, bool *any, struct nf_prefix **out, size_t *n_out)
{
	struct nf_prefix *v = NULL;
	size_t cap = 0, k = 0, kept = 0;

	*any = n == 0;
	*out = NULL;
	*n_out = 0;
	for (size_t i = 0; i < n; i++)
		cap += e[i].selector ? n_members : 1;
	if (!cap)
		return 0;
	v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct fw_label sel[FW_MAX_LABELS];
		struct fw_error err;
		size_t n_sel;

		if (!e[i].selector) {
			v[k++] = e[i].prefix;
			continue;
		}
		/* Parsed already when the rule was: this cannot fail. */
		if (!selector_parse(e[i].text, sel, &n_sel, &err)) {
			free(v);
			return -EINVAL;
		}
		for (size_t m = 0; m < n_members; m++) {
			if (!fw_labels_match(sel, n_sel, members[m].labels, members[m].n_labels))
				continue;
			v[k].family = AF_INET;
			v[k].addr.v4 = members[m].address;
			v[k].len = 32;
			k++;
		}
	}
	qsort(v, k, sizeof(*v), cmp_prefix);
	/* Sorted, a prefix's containers come before it; any of them would do,
	 * and the last kept one is a container of it if any kept one is. */
	for (size_t i = 0; i < k; i++) {
		if (kept && nf_prefix_contains(&v[kept - 1], &v[i]))
			continue;
		v[kept++] = v[i];
	}
	if (!kept) {
		free(v);
		v = NULL;
	}
	*out = v;
	*n_out = kept;
	return 0;
}

static void rule_free(struct fw_rule *r)
{
	free(r->src);
	free(r->dst);
	free(r->ports);
	memset(r, 0, sizeof(*r));
}

static int resolve_rule(const struct fw_rule_spec *s, const char *policy,
                        const struct fw_member *members, size_t n_members, struct fw_rule *out)
{
	int ret;

	memset(out, 0, sizeof(*out));
	out->id = s->id;
	out->dir = s->dir;
	out->proto = s->proto;
	out->action = s->action;
	out->rate = s->rate;
	out->rate_unit = s->rate_unit;
	snprintf(out->log_prefix, sizeof(out->log_prefix), "%s", s->log_prefix);
	snprintf(out->policy, sizeof(out->policy), "%s", policy);
	ret = resolve(s->src, s->n_src, members, n_members, &out->src_any, &out->src, &out->n_src);
	if (!ret)
		ret = resolve(s->dst, s->n_dst, members, n_members, &out->dst_any, &out->dst,
		              &out->n_dst);
	if (!ret && s->n_ports) {
		out->ports = calloc(s->n_ports, sizeof(*out->ports));
		if (!out->ports)
			ret = -ENOMEM;
		else
			memcpy(out->ports, s->ports, s->n_ports * sizeof(*out->ports));
		out->n_ports = out->ports ? s->n_ports : 0;
	}
	if (ret)
		rule_free(out);
	return ret;
}

void fw_compile_free(struct fw_compiler *fc)
{
	if (!fc)
		return;
	for (size_t i = 0; i < fc->n_policies; i++) {
		for (size_t k = 0; k < fc->policies[i].n_rules; k++)
			rule_free(&fc->policies[i].rules[k]);
		free(fc->policies[i].rules);
	}
	free(fc->policies);
	free(fc->members);
	free(fc);
}

int fw_compile_prepare(const struct fw_policy_spec *policies, size_t n,
                       const struct fw_member *members, size_t n_members, uint16_t wg_port,
                       struct fw_compiler **out)
{
	struct fw_compiler *fc = NULL;
	int ret = -ENOMEM;

	*out = NULL;
	fc = calloc(1, sizeof(*fc));
	if (!fc)
		goto cleanup;
	fc->wg_port = wg_port;
	fc->policies = calloc(n ? n : 1, sizeof(*fc->policies));
	fc->members = calloc(n_members ? n_members : 1, sizeof(*fc->members));
	if (!fc->policies || !fc->members)
		goto cleanup;
	if (n_members)
		memcpy(fc->members, members, n_members * sizeof(*members));
	fc->n_members = n_members;
	for (size_t i = 0; i < n; i++) {
		const struct fw_policy_spec *p = &policies[i];
		struct fc_policy *c = &fc->policies[i];

		if (p->n_selector > FW_MAX_LABELS) {
			ret = -EINVAL;
			goto cleanup;
		}
		fc->n_policies++;
		snprintf(c->name, sizeof(c->name), "%s", p->name);
		c->n_selector = p->n_selector;
		memcpy(c->selector, p->selector, p->n_selector * sizeof(p->selector[0]));
		c->default_deny = p->default_deny;
		c->block_ssh = p->block_ssh;
		c->rules = calloc(p->n_rules ? p->n_rules : 1, sizeof(*c->rules));
		if (!c->rules)
			goto cleanup;
		for (size_t k = 0; k < p->n_rules; k++) {
			ret = resolve_rule(&p->rules[k], p->name, members, n_members, &c->rules[k]);
			if (ret)
				goto cleanup;
			c->n_rules++;
		}
	}
	*out = fc;
	fc = NULL;
	ret = 0;
cleanup:
	fw_compile_free(fc);
	return ret;
}

static int copy_prefixes(const struct nf_prefix *in, size_t n, struct nf_prefix **out)
{
	*out = NULL;
	if (!n)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, in, n * sizeof(**out));
	return 0;
}

static int rule_copy(const struct fw_rule *in, struct fw_rule *out)
{
	*out = *in;
	out->src = out->dst = NULL;
	out->ports = NULL;
	if (copy_prefixes(in->src, in->n_src, &out->src) ||
	    copy_prefixes(in->dst, in->n_dst, &out->dst))
		goto nomem;
	if (in->n_ports) {
		out->ports = calloc(in->n_ports, sizeof(*out->ports));
		if (!out->ports)
			goto nomem;
		memcpy(out->ports, in->ports, in->n_ports * sizeof(*out->ports));
	}
	return 0;
nomem:
	rule_free(out);
	return -ENOMEM;
}

int fw_compile_node(const struct fw_compiler *fc, int64_t self_id, struct fw_config *out)
{
	const struct fw_member *self = NULL;
	bool block_ssh = false;
	size_t total = 0;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < fc->n_members && !self; i++)
		if (fc->members[i].id == self_id)
			self = &fc->members[i];
	if (!self)
		return -ENOENT;
	out->wg_port = fc->wg_port;
	for (size_t i = 0; i < fc->n_policies; i++) {
		const struct fc_policy *p = &fc->policies[i];

		if (!fw_labels_match(p->selector, p->n_selector, self->labels, self->n_labels))
			continue;
		total += p->n_rules;
		/* Any policy may close inbound; SSH stays open under it unless a
		 * policy that closes inbound also says block_ssh. block_ssh on a
		 * policy that leaves inbound open has nothing to act on. */
		out->default_deny |= p->default_deny;
		block_ssh |= p->default_deny && p->block_ssh;
	}
	out->keep_ssh = out->default_deny && !block_ssh;
	if (!total)
		return 0;
	out->rules = calloc(total, sizeof(*out->rules));
	if (!out->rules)
		return -ENOMEM;
	for (size_t i = 0; i < fc->n_policies && !ret; i++) {
		const struct fc_policy *p = &fc->policies[i];

		if (!fw_labels_match(p->selector, p->n_selector, self->labels, self->n_labels))
			continue;
		for (size_t k = 0; k < p->n_rules && !ret; k++) {
			ret = rule_copy(&p->rules[k], &out->rules[out->n_rules]);
			if (!ret)
				out->n_rules++;
		}
	}
	if (ret)
		fw_config_free(out);
	return ret;
}

int fw_compile(const struct fw_policy_spec *policies, size_t n, const struct fw_member *members,
               size_t n_members, uint16_t wg_port, int64_t self_id, struct fw_config *out)
{
	struct fw_compiler *fc = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = fw_compile_prepare(policies, n, members, n_members, wg_port, &fc);
	if (!ret)
		ret = fw_compile_node(fc, self_id, out);
	fw_compile_free(fc);
	return ret;
}
