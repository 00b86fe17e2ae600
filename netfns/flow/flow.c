// SPDX-License-Identifier: Apache-2.0
/*
 * The grammar both halves of the flow filters share (protocol and action
 * names, the IPv4 prefixes a filter matches) and the check of a filter's
 * fields together. The controller checks what an API client sends with
 * these, and the agent what the controller sends, so a filter means the
 * same on both sides and nothing else reaches an OpenFlow match.
 */
#include "netfns/flow/flow.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	uint8_t number;
} protocols[] = {
    {"tcp", 6},
    {"udp", 17},
    {"icmp", 1},
    {"any", 0},
};

#define N_PROTOCOLS (sizeof(protocols) / sizeof(protocols[0]))

bool flow_protocol_parse(const char *s, uint8_t *protocol, char *why, size_t whylen)
{
	if (s && !s[0]) {
		*protocol = 0;
		return true;
	}
	for (size_t i = 0; s && i < N_PROTOCOLS; i++)
		if (strcmp(s, protocols[i].name) == 0) {
			*protocol = protocols[i].number;
			return true;
		}
	snprintf(why, whylen, "'%.16s' is not tcp, udp, icmp or any", s ? s : "");
	return false;
}

const char *flow_protocol_name(uint8_t protocol)
{
	for (size_t i = 0; i < N_PROTOCOLS; i++)
		if (protocols[i].number == protocol)
			return protocols[i].name;
	return "any";
}

bool flow_action_parse(const char *s, enum flow_action *action, char *why, size_t whylen)
{
	if (s && strcmp(s, "drop") == 0) {
		*action = FLOW_DROP;
		return true;
	}
	if (s && strcmp(s, "allow") == 0) {
		*action = FLOW_ALLOW;
		return true;
	}
	snprintf(why, whylen, "'%.16s' is not drop or allow", s ? s : "");
	return false;
}

const char *flow_action_name(enum flow_action action)
{
	return action == FLOW_DROP ? "drop" : "allow";
}

bool flow_cidr_parse(const char *s, bool *any, struct nf_prefix *out, char *why, size_t whylen)
{
	char canon[NF_PREFIX_STRLEN], given[NF_PREFIX_STRLEN + 4];
	struct nf_prefix p;

	memset(out, 0, sizeof(*out));
	*any = false;
	if (s && !s[0]) {
		*any = true;
		return true;
	}
	if (!s || !nf_prefix_parse(s, true, &p)) {
		snprintf(why, whylen, "'%.64s' is not an IPv4 address or CIDR", s ? s : "");
		return false;
	}
	if (p.family != AF_INET) {
		snprintf(why, whylen, "'%.64s' is IPv6; the overlay is IPv4", s);
		return false;
	}
	if (!nf_prefix_is_network(&p)) {
		struct nf_prefix net = p;
		char want[NF_PREFIX_STRLEN];
		uint32_t mask = p.len ? 0xffffffffu << (32 - p.len) : 0;

		net.addr.v4.s_addr = htonl(ntohl(p.addr.v4.s_addr) & mask);
		snprintf(why, whylen, "%.64s: host bits set; did you mean %s?", s,
		         nf_prefix_format(&net, want, sizeof(want)));
		return false;
	}
	/*
	 * nf_prefix_parse already takes only inet_pton's dotted quad and a
	 * plain decimal length; comparing with the formatted value keeps the
	 * promise whatever it comes to accept: what is stored, compiled and
	 * shown is the same text.
	 */
	nf_prefix_format(&p, canon, sizeof(canon));
	snprintf(given, sizeof(given), strchr(s, '/') ? "%s" : "%s/32", s);
	if (strcmp(given, canon) != 0) {
		snprintf(why, whylen, "'%.64s' is not canonical (%s)", s, canon);
		return false;
	}
	*out = p;
	return true;
}

/* Checks one side's prefix: IPv4 and a network. */
static bool prefix_ok(const char *field, bool any, const struct nf_prefix *p, char *why,
                      size_t whylen)
{
	char buf[NF_PREFIX_STRLEN];

	if (any)
		return true;
	if (p->family != AF_INET || p->len > 32) {
		snprintf(why, whylen, "%s: not an IPv4 prefix", field);
		return false;
	}
	if (!nf_prefix_is_network(p)) {
		snprintf(why, whylen, "%s: %s has host bits set", field,
		         nf_prefix_format(p, buf, sizeof(buf)));
		return false;
	}
	return true;
}

bool flow_filter_check(const struct flow_filter *f, char *why, size_t whylen)
{
	if (f->id < 1 || f->id > FLOW_ID_MAX) {
		snprintf(why, whylen, "id: %" PRIu64 " is outside 1-%llu", f->id, FLOW_ID_MAX);
		return false;
	}
	if (f->priority < FLOW_PRIO_MIN || f->priority > FLOW_PRIO_MAX) {
		snprintf(why, whylen, "priority: %u is outside %d-%d", f->priority, FLOW_PRIO_MIN,
		         FLOW_PRIO_MAX);
		return false;
	}
	if (f->protocol != 0 && f->protocol != 1 && f->protocol != 6 && f->protocol != 17) {
		snprintf(why, whylen, "protocol: %u is not 0 (any), 1 (icmp), 6 (tcp) or 17 (udp)",
		         f->protocol);
		return false;
	}
	if (f->dst_port && f->protocol != 6 && f->protocol != 17) {
		snprintf(why, whylen, "dst_port: a port needs tcp or udp");
		return false;
	}
	if (f->action != FLOW_ALLOW && f->action != FLOW_DROP) {
		snprintf(why, whylen, "action: %d is not drop or allow", (int)f->action);
		return false;
	}
	return prefix_ok("src", f->src_any, &f->src, why, whylen) &&
	       prefix_ok("dst", f->dst_any, &f->dst, why, whylen);
}

void flow_config_free(struct flow_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->filters);
	memset(cfg, 0, sizeof(*cfg));
}
