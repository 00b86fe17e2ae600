/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The flow filters network function as plain C values. A node's filters act
 * on its overlay traffic, which the agent passes through an Open vSwitch
 * bridge of its own (flow_dp.h moves the packets, flow_ovs.h programs the
 * bridge over OVSDB and OpenFlow 1.3). Every flow the agent installs carries
 * a cookie with FLOW_COOKIE_TAG in its top 16 bits and the filter's id (0
 * for the bridge's base flows) below: the agent touches only flows whose
 * cookie matches FLOW_COOKIE_TAG under FLOW_COOKIE_MASK. No protobuf here:
 * conversion is at the RPC edge, proto/conv_flow.c.
 */
#ifndef NETFN_FLOW_H
#define NETFN_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netfns/common/prefix.h"

#define FLOW_PRIO_MIN     1
#define FLOW_PRIO_MAX     65000
#define FLOW_PRIO_DEFAULT 100
#define FLOW_MAX_FILTERS  1024 /* per node */
#define FLOW_NAME_MAX     64

#define FLOW_COOKIE_TAG  0x6e66000000000000ULL /* "nf" */
#define FLOW_COOKIE_MASK 0xffff000000000000ULL
#define FLOW_ID_MAX      0x0000ffffffffffffULL /* ids fit below the tag */

/* The bytes the datapath adds in front of each IP packet (an Ethernet header). */
#define FLOW_L2_OVERHEAD 14

enum flow_action { FLOW_ALLOW = 0, FLOW_DROP = 1 };

struct flow_filter {
	uint64_t id;       /* 1..FLOW_ID_MAX */
	uint32_t priority; /* FLOW_PRIO_MIN..FLOW_PRIO_MAX */
	uint8_t protocol;  /* 0 any, 1 icmp, 6 tcp, 17 udp */
	uint16_t dst_port; /* 0 any; only with tcp or udp */
	bool src_any, dst_any;
	struct nf_prefix src, dst; /* IPv4 networks (host bits zero) */
	enum flow_action action;
};

/* One node's desired flow section. */
struct flow_config {
	uint64_t revision;
	size_t n;
	struct flow_filter *filters; /* owned, sorted by id, ids unique */
};

/* Counters of one filter, or of the node's whole bridge (id 0). */
struct flow_counter {
	uint64_t id;
	uint64_t packets, bytes; /* bytes of the IP packets (FLOW_L2_OVERHEAD taken off) */
	uint64_t pps, bps;       /* over the last two readings; 0 until there are two */
};

/* "tcp" | "udp" | "icmp" | "any" | "" into 6, 17, 1, 0, 0; false with the reason. */
bool flow_protocol_parse(const char *s, uint8_t *protocol, char *why, size_t whylen);

/* "tcp", "udp", "icmp" or "any". */
const char *flow_protocol_name(uint8_t protocol);

/* "drop" | "allow"; false with the reason. */
bool flow_action_parse(const char *s, enum flow_action *action, char *why, size_t whylen);

/* "drop" or "allow". */
const char *flow_action_name(enum flow_action action);

/*
 * Parses an IPv4 CIDR or address (as a /32) for a filter's src or dst: ""
 * is any. Refuses IPv6, host bits set past the length, and anything not
 * canonical. false with the reason.
 */
bool flow_cidr_parse(const char *s, bool *any, struct nf_prefix *out, char *why, size_t whylen);

/*
 * Checks a filter's fields together: id and priority in range, a port only
 * with tcp or udp, prefixes IPv4 networks. false with "field: reason"
 * (fields named as in FlowNodeFilter: id, priority, protocol, dst_port, src,
 * dst).
 */
bool flow_filter_check(const struct flow_filter *f, char *why, size_t whylen);

/* Frees what cfg owns and zeroes it; accepts a zeroed config. */
void flow_config_free(struct flow_config *cfg);

#endif
