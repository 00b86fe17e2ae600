// SPDX-License-Identifier: Apache-2.0
/*
 * FlowSection <-> struct flow_config. The agent runs from_pb on what came
 * over the network before anything reaches Open vSwitch, so every field is
 * bounded here and then checked with flow_filter_check, the same check the
 * controller's side uses; an error names the filter by id and the field
 * ("filters[7].dst_port: a port needs tcp or udp"). The controller runs
 * to_pb on what it compiled.
 */
#include "proto/conv_flow.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes "filters[ID].field: reason" (or "field: reason" for the section) into err; -EINVAL. */
__attribute__((format(printf, 5, 6))) static int fail(char *err, size_t errlen, bool filter,
                                                      uint64_t id, const char *fmt, ...)
{
	size_t len = 0;
	va_list ap;

	if (filter)
		len = (size_t)snprintf(err, errlen, "filters[%" PRIu64 "].", id);
	if (len < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + len, errlen - len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A protobuf-c string that may be unset in a hand-built message. */
static const char *str(const char *s)
{
	return s ? s : "";
}

static int filter_from_pb(const Netfn__FlowNodeFilter *p, struct flow_filter *f, char *err,
                          size_t errlen)
{
	char why[160];

	memset(f, 0, sizeof(*f));
	/* Bounded before narrowing: 0x10006 must not pass for tcp. */
	if (p->id < 1 || p->id > FLOW_ID_MAX)
		return fail(err, errlen, true, p->id, "id: outside 1-%llu", FLOW_ID_MAX);
	if (p->protocol > 255)
		return fail(err, errlen, true, p->id,
		            "protocol: %u is not 0 (any), 1 (icmp), 6 (tcp) or 17 (udp)",
		            p->protocol);
	if (p->dst_port > 65535)
		return fail(err, errlen, true, p->id, "dst_port: %u is above 65535", p->dst_port);
	f->id = p->id;
	f->priority = p->priority;
	f->protocol = (uint8_t)p->protocol;
	f->dst_port = (uint16_t)p->dst_port;
	f->action = p->drop ? FLOW_DROP : FLOW_ALLOW;
	if (!flow_cidr_parse(str(p->src), &f->src_any, &f->src, why, sizeof(why)))
		return fail(err, errlen, true, p->id, "src: %s", why);
	if (!flow_cidr_parse(str(p->dst), &f->dst_any, &f->dst, why, sizeof(why)))
		return fail(err, errlen, true, p->id, "dst: %s", why);
	if (!flow_filter_check(f, why, sizeof(why)))
		return fail(err, errlen, true, p->id, "%s", why);
	return 0;
}

static int filter_cmp(const void *a, const void *b)
{
	const struct flow_filter *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

int conv_flow_from_pb(const Netfn__FlowSection *pb, struct flow_config *out, char *err,
                      size_t errlen)
{
	int ret;

	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	out->revision = pb->revision;
	if (pb->n_filters > FLOW_MAX_FILTERS)
		return fail(err, errlen, false, 0, "filters: %zu filters, at most %d",
		            pb->n_filters, FLOW_MAX_FILTERS);
	if (!pb->n_filters)
		return 0;
	out->filters = calloc(pb->n_filters, sizeof(*out->filters));
	if (!out->filters)
		return -ENOMEM;
	for (size_t i = 0; i < pb->n_filters; i++) {
		ret = filter_from_pb(pb->filters[i], &out->filters[i], err, errlen);
		if (ret < 0)
			goto cleanup;
		out->n = i + 1;
	}
	/* Sorted, a repeated id is a neighbour: the cookie must name one flow. */
	qsort(out->filters, out->n, sizeof(*out->filters), filter_cmp);
	for (size_t i = 1; i < out->n; i++)
		if (out->filters[i].id == out->filters[i - 1].id) {
			ret = fail(err, errlen, true, out->filters[i].id,
			           "id: used by more than one filter");
			goto cleanup;
		}
	return 0;
cleanup:
	flow_config_free(out);
	out->revision = 0;
	return ret;
}

static int filter_to_pb(const struct flow_filter *f, Netfn__FlowNodeFilter *p)
{
	char buf[NF_PREFIX_STRLEN];

	p->id = f->id;
	p->priority = f->priority;
	p->protocol = f->protocol;
	p->dst_port = f->dst_port;
	p->drop = f->action == FLOW_DROP;
	if (!f->src_any) {
		p->src = strdup(nf_prefix_format(&f->src, buf, sizeof(buf)));
		if (!p->src)
			return -ENOMEM;
	}
	if (!f->dst_any) {
		p->dst = strdup(nf_prefix_format(&f->dst, buf, sizeof(buf)));
		if (!p->dst)
			return -ENOMEM;
	}
	return 0;
}

int conv_flow_to_pb(const struct flow_config *cfg, Netfn__FlowSection **out)
{
	Netfn__FlowSection *pb = calloc(1, sizeof(*pb));
	int ret = -ENOMEM;

	*out = NULL;
	if (!pb)
		return -ENOMEM;
	netfn__flow_section__init(pb);
	pb->revision = cfg->revision;
	if (cfg->n) {
		pb->filters = calloc(cfg->n, sizeof(*pb->filters));
		if (!pb->filters)
			goto fail;
	}
	for (size_t i = 0; i < cfg->n; i++) {
		Netfn__FlowNodeFilter *p = calloc(1, sizeof(*p));

		if (!p)
			goto fail;
		netfn__flow_node_filter__init(p);
		pb->filters[pb->n_filters++] = p;
		ret = filter_to_pb(&cfg->filters[i], p);
		if (ret < 0)
			goto fail;
	}
	*out = pb;
	return 0;
fail:
	conv_flow_pb_free(pb);
	return ret;
}

/* Frees a string to_pb made; unset strings are protobuf-c's. */
static void str_free(char *s)
{
	if (s != protobuf_c_empty_string)
		free(s);
}

void conv_flow_pb_free(Netfn__FlowSection *pb)
{
	if (!pb)
		return;
	for (size_t i = 0; i < pb->n_filters; i++) {
		str_free(pb->filters[i]->src);
		str_free(pb->filters[i]->dst);
		free(pb->filters[i]);
	}
	free(pb->filters);
	free(pb);
}
