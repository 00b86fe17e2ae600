// SPDX-License-Identifier: Apache-2.0
/*
 * QosSection <-> struct qos_config. The agent runs from_pb on what came over
 * the network before anything reaches tc or nftables, so every field is
 * checked here and an error names the class and the field
 * ("classes[gold].matches[1].ports: 9000-80 is not a range"). The controller
 * runs to_pb on what it compiled.
 */
#include "proto/conv_qos.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes "classes[NAME].field: reason" into err; always -EINVAL. */
__attribute__((format(printf, 5, 6))) static int fail(char *err, size_t errlen, const char *cls,
                                                      const char *field, const char *fmt, ...)
{
	size_t len;
	va_list ap;

	if (cls)
		len = (size_t)snprintf(err, errlen, "classes[%s].%s: ", cls, field);
	else
		len = (size_t)snprintf(err, errlen, "%s: ", field);
	if (len < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + len, errlen - len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* True for printable ASCII without the characters that quote or escape in nft or a shell. */
static bool name_ok(const char *s)
{
	if (!s[0] || strlen(s) >= QOS_NAME_MAX)
		return false;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || strchr("\"'\\;", *s))
			return false;
	return true;
}

static int match_from_pb(const char *cls, size_t i, const Netfn__QosNodeMatch *p,
                         struct qos_match *m, char *err, size_t errlen)
{
	char field[40];

	memset(m, 0, sizeof(*m));
	snprintf(field, sizeof(field), "matches[%zu].protocol", i);
	if (p->protocol != 0 && p->protocol != 6 && p->protocol != 17)
		return fail(err, errlen, cls, field, "%u is not 0 (any), 6 (tcp) or 17 (udp)",
		            p->protocol);
	m->protocol = (uint8_t)p->protocol;
	snprintf(field, sizeof(field), "matches[%zu].ports", i);
	if (p->ports) {
		if (m->protocol == 0)
			return fail(err, errlen, cls, field, "ports need tcp or udp");
		if (p->ports->first < 1 || p->ports->last > 65535 ||
		    p->ports->first > p->ports->last)
			return fail(err, errlen, cls, field, "%u-%u is not a port range",
			            p->ports->first, p->ports->last);
		m->port_first = (uint16_t)p->ports->first;
		m->port_last = (uint16_t)p->ports->last;
	}
	snprintf(field, sizeof(field), "matches[%zu].dst", i);
	m->dst_any = !p->dst || !p->dst[0];
	if (!m->dst_any) {
		/* The marks live in an ip table: the overlay is IPv4. */
		if (!nf_prefix_parse(p->dst, true, &m->dst) || m->dst.family != AF_INET)
			return fail(err, errlen, cls, field, "'%.64s' is not an IPv4 prefix",
			            p->dst);
		if (!nf_prefix_is_network(&m->dst))
			return fail(err, errlen, cls, field, "'%.64s' has host bits set", p->dst);
	}
	return 0;
}

static int class_from_pb(const Netfn__QosNodeClass *p, uint64_t link, struct qos_class *c,
                         char *err, size_t errlen)
{
	const char *cls;
	int ret;

	/* A bad name is not repeated: it may be what is wrong. */
	if (!p->name || !name_ok(p->name)) {
		char minor[24];

		snprintf(minor, sizeof(minor), "%u", p->minor);
		return fail(err, errlen, minor, "name",
		            "not a name (printable ASCII without quotes, backslash or ';', 1-%d "
		            "characters)",
		            QOS_NAME_MAX - 1);
	}
	cls = p->name;
	strcpy(c->name, p->name);
	if (p->minor < QOS_MINOR_FIRST || p->minor >= QOS_MINOR_DEFAULT)
		return fail(err, errlen, cls, "minor", "%u is outside %d-%d", p->minor,
		            QOS_MINOR_FIRST, QOS_MINOR_DEFAULT - 1);
	c->minor = p->minor;
	/* 0: no floor of its own (the agent gives HTB its smallest rate). */
	if ((p->min_bps && p->min_bps < QOS_RATE_MIN_BPS) || p->min_bps > link)
		return fail(err, errlen, cls, "min_bps",
		            "%" PRIu64 " is outside %llu-%" PRIu64 " (the link), or 0", p->min_bps,
		            QOS_RATE_MIN_BPS, link);
	if (p->max_bps < QOS_RATE_MIN_BPS || p->max_bps < p->min_bps || p->max_bps > link)
		return fail(err, errlen, cls, "max_bps",
		            "%" PRIu64 " is not between the min (%" PRIu64
		            ") and the link (%" PRIu64 ")",
		            p->max_bps, p->min_bps, link);
	c->min_bps = p->min_bps;
	c->max_bps = p->max_bps;
	if (p->priority > QOS_PRIO_MAX)
		return fail(err, errlen, cls, "priority", "%u is above %d", p->priority,
		            QOS_PRIO_MAX);
	c->priority = p->priority;
	if (p->n_matches > QOS_MAX_MATCHES)
		return fail(err, errlen, cls, "matches", "%zu matches, at most %d", p->n_matches,
		            QOS_MAX_MATCHES);
	c->matches = calloc(p->n_matches ? p->n_matches : 1, sizeof(*c->matches));
	if (!c->matches)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_matches; i++) {
		ret = match_from_pb(cls, i, p->matches[i], &c->matches[i], err, errlen);
		if (ret < 0)
			return ret;
		c->n_matches = i + 1;
	}
	return 0;
}

static int class_cmp(const void *a, const void *b)
{
	const struct qos_class *x = a, *y = b;

	return (x->minor > y->minor) - (x->minor < y->minor);
}

int conv_qos_from_pb(const Netfn__QosSection *pb, struct qos_config *out, char *err, size_t errlen)
{
	int ret;

	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	out->revision = pb->revision;
	if (pb->n_classes > QOS_MAX_CLASSES)
		return fail(err, errlen, NULL, "classes", "%zu classes, at most %d", pb->n_classes,
		            QOS_MAX_CLASSES);
	if (pb->n_classes == 0 && pb->link_bps == 0)
		return 0;
	if (pb->link_bps < QOS_RATE_MIN_BPS || pb->link_bps > QOS_RATE_MAX_BPS)
		return fail(err, errlen, NULL, "link_bps", "%" PRIu64 " is outside %llu-%llu",
		            pb->link_bps, QOS_RATE_MIN_BPS, QOS_RATE_MAX_BPS);
	out->link_bps = pb->link_bps;
	out->classes = calloc(pb->n_classes ? pb->n_classes : 1, sizeof(*out->classes));
	if (!out->classes)
		return -ENOMEM;
	for (size_t i = 0; i < pb->n_classes; i++) {
		out->n = i + 1;
		ret = class_from_pb(pb->classes[i], out->link_bps, &out->classes[i], err, errlen);
		if (ret < 0)
			goto cleanup;
	}
	qsort(out->classes, out->n, sizeof(*out->classes), class_cmp);
	for (size_t i = 0; i < out->n; i++)
		for (size_t k = 0; k < i; k++) {
			if (out->classes[k].minor == out->classes[i].minor) {
				ret = fail(err, errlen, out->classes[i].name, "minor",
				           "%u is also %s's", out->classes[i].minor,
				           out->classes[k].name);
				goto cleanup;
			}
			if (strcmp(out->classes[k].name, out->classes[i].name) == 0) {
				ret = fail(err, errlen, out->classes[i].name, "name",
				           "used by more than one class");
				goto cleanup;
			}
		}
	return 0;
cleanup:
	qos_config_free(out);
	return ret;
}

static int match_to_pb(const struct qos_match *m, Netfn__QosNodeMatch *p)
{
	char buf[NF_PREFIX_STRLEN];

	p->protocol = m->protocol;
	if (m->port_first) {
		p->ports = calloc(1, sizeof(*p->ports));
		if (!p->ports)
			return -ENOMEM;
		netfn__port_range__init(p->ports);
		p->ports->first = m->port_first;
		p->ports->last = m->port_last;
	}
	if (!m->dst_any) {
		p->dst = strdup(nf_prefix_format(&m->dst, buf, sizeof(buf)));
		if (!p->dst)
			return -ENOMEM;
	}
	return 0;
}

static int class_to_pb(const struct qos_class *c, Netfn__QosNodeClass *p)
{
	int ret;

	p->minor = c->minor;
	p->name = strdup(c->name);
	p->min_bps = c->min_bps;
	p->max_bps = c->max_bps;
	p->priority = c->priority;
	p->matches = calloc(c->n_matches ? c->n_matches : 1, sizeof(*p->matches));
	if (!p->name || !p->matches)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_matches; i++) {
		Netfn__QosNodeMatch *m = calloc(1, sizeof(*m));

		if (!m)
			return -ENOMEM;
		netfn__qos_node_match__init(m);
		p->matches[p->n_matches++] = m;
		ret = match_to_pb(&c->matches[i], m);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int conv_qos_to_pb(const struct qos_config *cfg, Netfn__QosSection **out)
{
	Netfn__QosSection *pb = calloc(1, sizeof(*pb));
	int ret = -ENOMEM;

	if (!pb)
		return -ENOMEM;
	netfn__qos_section__init(pb);
	pb->revision = cfg->revision;
	pb->link_bps = cfg->link_bps;
	pb->classes = calloc(cfg->n ? cfg->n : 1, sizeof(*pb->classes));
	if (!pb->classes)
		goto fail;
	for (size_t i = 0; i < cfg->n; i++) {
		Netfn__QosNodeClass *p = calloc(1, sizeof(*p));

		if (!p)
			goto fail;
		netfn__qos_node_class__init(p);
		pb->classes[pb->n_classes++] = p;
		ret = class_to_pb(&cfg->classes[i], p);
		if (ret < 0)
			goto fail;
	}
	*out = pb;
	return 0;
fail:
	conv_qos_pb_free(pb);
	return ret;
}

/* Frees a string to_pb made; unset strings are protobuf-c's. */
static void str_free(char *s)
{
	if (s != protobuf_c_empty_string)
		free(s);
}

void conv_qos_pb_free(Netfn__QosSection *pb)
{
	if (!pb)
		return;
	for (size_t i = 0; i < pb->n_classes; i++) {
		Netfn__QosNodeClass *p = pb->classes[i];

		for (size_t k = 0; k < p->n_matches; k++) {
			free(p->matches[k]->ports);
			str_free(p->matches[k]->dst);
			free(p->matches[k]);
		}
		free(p->matches);
		str_free(p->name);
		free(p);
	}
	free(pb->classes);
	free(pb);
}
