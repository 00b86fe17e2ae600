// SPDX-License-Identifier: Apache-2.0
/*
 * FirewallSection <-> struct fw_config. The agent runs from_pb on what came
 * over the network before anything reaches nftables, so every field is
 * checked here, and an error names the rule by id and the field
 * ("rules[17].dst_ports: 0 is not a port"), which the agent reports as the
 * object that failed. The controller runs to_pb on what it compiled.
 */
#include "proto/conv_fw.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds on what one rule may carry; a frame is bounded anyway, these bound the work. */
#define MAX_ADDRS 65536
#define MAX_PORTS 65536
/* A billion packets per unit is past any NIC: more is a typo, not a policy. */
#define MAX_RATE 1000000000u

static const char *const dirs[] = {[FW_IN] = "in", [FW_OUT] = "out", [FW_FORWARD] = "forward"};
static const char *const protos[] = {[FW_ANY] = "any",
                                     [FW_TCP] = "tcp",
                                     [FW_UDP] = "udp",
                                     [FW_ICMP] = "icmp",
                                     [FW_ICMPV6] = "icmpv6"};
static const char *const actions[] = {
    [FW_ACCEPT] = "accept", [FW_DROP] = "drop", [FW_REJECT] = "reject"};
static const char *const units[] = {
    [FW_PER_SECOND] = "second", [FW_PER_MINUTE] = "minute", [FW_PER_HOUR] = "hour"};

/* Writes "rules[ID].field: reason" into err and names the rule; always -EINVAL. */
__attribute__((format(printf, 6, 7))) static int fail(char *err, size_t errlen, uint64_t *bad_rule,
                                                      uint64_t id, const char *field,
                                                      const char *fmt, ...)
{
	size_t len;
	va_list ap;

	*bad_rule = id;
	len = (size_t)snprintf(err, errlen, "rules[%" PRIu64 "].%s: ", id, field);
	if (len < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + len, errlen - len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Finds s in names[0..n); -1 when absent. */
static int word(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

#define WORD(s, names) word((s), (names), sizeof(names) / sizeof((names)[0]))

/* True for printable ASCII without the characters that quote or escape in nft or a shell. */
static bool text_ok(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || strchr("\"'\\;", *s))
			return false;
	return true;
}

static int addrs(uint64_t id, const char *field, char **in, size_t n, struct nf_prefix **out,
                 char *err, size_t errlen, uint64_t *bad_rule)
{
	if (n > MAX_ADDRS)
		return fail(err, errlen, bad_rule, id, field, "more than %d entries", MAX_ADDRS);
	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!nf_prefix_parse(in[i], true, &(*out)[i]))
			return fail(err, errlen, bad_rule, id, field,
			            "not an address or prefix: '%.64s'", in[i]);
		if (!nf_prefix_is_network(&(*out)[i]))
			return fail(err, errlen, bad_rule, id, field,
			            "'%.64s' has host bits set past its prefix length", in[i]);
	}
	return 0;
}

static int rule_from_pb(const Netfn__FwNodeRule *p, struct fw_rule *r, char *err, size_t errlen,
                        uint64_t *bad_rule)
{
	uint64_t id = p->id;
	int v;
	int ret;

	r->id = id;
	if (id == 0)
		return fail(err, errlen, bad_rule, id, "id", "0 is not a rule id");
	if ((v = WORD(p->direction, dirs)) < 0)
		return fail(err, errlen, bad_rule, id, "direction",
		            "'%.16s' is not in, out or forward", p->direction);
	r->dir = (enum fw_dir)v;
	if ((v = WORD(p->protocol, protos)) < 0)
		return fail(err, errlen, bad_rule, id, "protocol",
		            "'%.16s' is not tcp, udp, icmp, icmpv6 or any", p->protocol);
	r->proto = (enum fw_proto)v;
	if ((v = WORD(p->action, actions)) < 0)
		return fail(err, errlen, bad_rule, id, "action",
		            "'%.16s' is not accept, drop or reject", p->action);
	r->action = (enum fw_action)v;

	r->src_any = p->src_any;
	if (p->src_any && p->n_src)
		return fail(err, errlen, bad_rule, id, "src", "entries given with src_any");
	ret = addrs(id, "src", p->src, p->n_src, &r->src, err, errlen, bad_rule);
	if (ret < 0)
		return ret;
	r->n_src = p->n_src;
	r->dst_any = p->dst_any;
	if (p->dst_any && p->n_dst)
		return fail(err, errlen, bad_rule, id, "dst", "entries given with dst_any");
	ret = addrs(id, "dst", p->dst, p->n_dst, &r->dst, err, errlen, bad_rule);
	if (ret < 0)
		return ret;
	r->n_dst = p->n_dst;

	if (p->n_dst_ports && r->proto != FW_TCP && r->proto != FW_UDP)
		return fail(err, errlen, bad_rule, id, "dst_ports",
		            "ports need protocol tcp or udp");
	if (p->n_dst_ports > MAX_PORTS)
		return fail(err, errlen, bad_rule, id, "dst_ports", "more than %d ranges",
		            MAX_PORTS);
	r->ports = calloc(p->n_dst_ports ? p->n_dst_ports : 1, sizeof(*r->ports));
	if (!r->ports)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_dst_ports; i++) {
		const Netfn__PortRange *pr = p->dst_ports[i];

		if (pr->first < 1 || pr->first > 65535 || pr->last < 1 || pr->last > 65535)
			return fail(err, errlen, bad_rule, id, "dst_ports",
			            "%u-%u: ports are 1-65535", pr->first, pr->last);
		if (pr->first > pr->last)
			return fail(err, errlen, bad_rule, id, "dst_ports",
			            "%u-%u: first port after last", pr->first, pr->last);
		r->ports[i].first = (uint16_t)pr->first;
		r->ports[i].last = (uint16_t)pr->last;
	}
	r->n_ports = p->n_dst_ports;

	r->rate = p->rate;
	if (p->rate > MAX_RATE)
		return fail(err, errlen, bad_rule, id, "rate", "%u is above %u", p->rate, MAX_RATE);
	v = WORD(p->rate_unit, units);
	if (v < 0 && (p->rate || p->rate_unit[0]))
		return fail(err, errlen, bad_rule, id, "rate_unit",
		            "'%.16s' is not second, minute or hour", p->rate_unit);
	r->rate_unit = v < 0 ? FW_PER_SECOND : (enum fw_rate_unit)v;

	if (strlen(p->log_prefix) >= sizeof(r->log_prefix))
		return fail(err, errlen, bad_rule, id, "log_prefix", "longer than %zu characters",
		            sizeof(r->log_prefix) - 1);
	if (!text_ok(p->log_prefix))
		return fail(err, errlen, bad_rule, id, "log_prefix",
		            "only printable ASCII without quotes, backslash or ';'");
	strcpy(r->log_prefix, p->log_prefix);
	if (strlen(p->policy) >= sizeof(r->policy) || !text_ok(p->policy))
		return fail(err, errlen, bad_rule, id, "policy",
		            "not a policy name (printable, under %zu characters)",
		            sizeof(r->policy));
	strcpy(r->policy, p->policy);
	return 0;
}

static int id_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Rule ids name counters and errors: each must be one rule's. */
static int ids_unique(const struct fw_config *cfg, char *err, size_t errlen, uint64_t *bad_rule)
{
	uint64_t *ids = NULL;
	int ret = 0;

	if (cfg->n_rules < 2)
		return 0;
	ids = malloc(cfg->n_rules * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_rules; i++)
		ids[i] = cfg->rules[i].id;
	qsort(ids, cfg->n_rules, sizeof(*ids), id_cmp);
	for (size_t i = 1; i < cfg->n_rules && !ret; i++)
		if (ids[i] == ids[i - 1])
			ret =
			    fail(err, errlen, bad_rule, ids[i], "id", "used by more than one rule");
	free(ids);
	return ret;
}

int conv_fw_from_pb(const Netfn__FirewallSection *pb, struct fw_config *out, char *err,
                    size_t errlen, uint64_t *bad_rule)
{
	int ret;

	memset(out, 0, sizeof(*out));
	*bad_rule = 0;
	if (errlen)
		err[0] = '\0';
	out->revision = pb->revision;
	out->default_deny = pb->default_deny;
	out->keep_ssh = pb->keep_ssh;
	if (pb->wg_port > 65535) {
		snprintf(err, errlen, "wg_port: %u is not a port", pb->wg_port);
		return -EINVAL;
	}
	out->wg_port = (uint16_t)pb->wg_port;
	out->rules = calloc(pb->n_rules ? pb->n_rules : 1, sizeof(*out->rules));
	if (!out->rules)
		return -ENOMEM;
	for (size_t i = 0; i < pb->n_rules; i++) {
		out->n_rules = i + 1;
		ret = rule_from_pb(pb->rules[i], &out->rules[i], err, errlen, bad_rule);
		if (ret < 0)
			goto cleanup;
	}
	ret = ids_unique(out, err, errlen, bad_rule);
	if (ret < 0)
		goto cleanup;
	return 0;
cleanup:
	fw_config_free(out);
	return ret;
}

static char **prefixes_to_pb(const struct nf_prefix *p, size_t n, size_t *n_out)
{
	char **v = calloc(n ? n : 1, sizeof(*v));
	char buf[NF_PREFIX_STRLEN];

	*n_out = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		v[i] = strdup(nf_prefix_format(&p[i], buf, sizeof(buf)));
		if (!v[i])
			return v; /* the caller frees the *n_out made so far */
		(*n_out)++;
	}
	return v;
}

static int rule_to_pb(const struct fw_rule *r, Netfn__FwNodeRule *p)
{
	p->id = r->id;
	p->direction = (char *)dirs[r->dir];
	p->protocol = (char *)protos[r->proto];
	p->action = (char *)actions[r->action];
	p->rate = r->rate;
	p->rate_unit = r->rate ? (char *)units[r->rate_unit] : (char *)"";
	p->src_any = r->src_any;
	p->dst_any = r->dst_any;
	p->log_prefix = strdup(r->log_prefix);
	p->policy = strdup(r->policy);
	p->src = prefixes_to_pb(r->src, r->n_src, &p->n_src);
	p->dst = prefixes_to_pb(r->dst, r->n_dst, &p->n_dst);
	p->dst_ports = calloc(r->n_ports ? r->n_ports : 1, sizeof(*p->dst_ports));
	if (!p->log_prefix || !p->policy || !p->src || !p->dst || !p->dst_ports ||
	    p->n_src != r->n_src || p->n_dst != r->n_dst)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_ports; i++) {
		Netfn__PortRange *pr = calloc(1, sizeof(*pr));

		if (!pr)
			return -ENOMEM;
		netfn__port_range__init(pr);
		pr->first = r->ports[i].first;
		pr->last = r->ports[i].last;
		p->dst_ports[p->n_dst_ports++] = pr;
	}
	return 0;
}

int conv_fw_to_pb(const struct fw_config *cfg, Netfn__FirewallSection **out)
{
	Netfn__FirewallSection *pb = calloc(1, sizeof(*pb));
	int ret = -ENOMEM;

	if (!pb)
		return -ENOMEM;
	netfn__firewall_section__init(pb);
	pb->revision = cfg->revision;
	pb->default_deny = cfg->default_deny;
	pb->keep_ssh = cfg->keep_ssh;
	pb->wg_port = cfg->wg_port;
	pb->rules = calloc(cfg->n_rules ? cfg->n_rules : 1, sizeof(*pb->rules));
	if (!pb->rules)
		goto fail;
	for (size_t i = 0; i < cfg->n_rules; i++) {
		Netfn__FwNodeRule *p = calloc(1, sizeof(*p));

		if (!p)
			goto fail;
		netfn__fw_node_rule__init(p);
		pb->rules[pb->n_rules++] = p;
		/* Out-of-range enums would index past the name tables. */
		if (cfg->rules[i].dir > FW_FORWARD || cfg->rules[i].proto > FW_ICMPV6 ||
		    cfg->rules[i].action > FW_REJECT || cfg->rules[i].rate_unit > FW_PER_HOUR) {
			ret = -EINVAL;
			goto fail;
		}
		ret = rule_to_pb(&cfg->rules[i], p);
		if (ret < 0)
			goto fail;
	}
	*out = pb;
	return 0;
fail:
	conv_fw_pb_free(pb);
	return ret;
}

/* Frees a string to_pb made: the names of words are static, unset strings protobuf-c's. */
static void str_free(char *s)
{
	if (s != protobuf_c_empty_string)
		free(s);
}

void conv_fw_pb_free(Netfn__FirewallSection *pb)
{
	if (!pb)
		return;
	for (size_t i = 0; i < pb->n_rules; i++) {
		Netfn__FwNodeRule *p = pb->rules[i];

		for (size_t k = 0; k < p->n_src; k++)
			free(p->src[k]);
		free(p->src);
		for (size_t k = 0; k < p->n_dst; k++)
			free(p->dst[k]);
		free(p->dst);
		for (size_t k = 0; k < p->n_dst_ports; k++)
			free(p->dst_ports[k]);
		free(p->dst_ports);
		str_free(p->log_prefix);
		str_free(p->policy);
		free(p);
	}
	free(pb->rules);
	free(pb);
}
