/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The overlay DNS network function as plain C values. The controller half
 * compiles a network's zone (every node's own name plus the custom records)
 * into each node's dns_config: which servers its resolver uses and, on the
 * nodes the scheduler placed a server on, every record to serve. The agent
 * half keeps the VM's resolver pointed at those servers for the zone and, on
 * serving nodes, runs dnsmasq for it. The validators here are the one
 * grammar the API and the agent both use. No protobuf here: conversion is at
 * the RPC edge, proto/conv_dns.c.
 */
#ifndef NETFN_DNS_H
#define NETFN_DNS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX     254 /* a name, without the trailing dot: 253 + NUL */
#define DNS_LABEL_MAX    63
#define DNS_VALUE_MAX    512
#define DNS_TXT_MAX      255 /* one character-string */
#define DNS_MAX_SERVERS  4
#define DNS_MAX_RECORDS  10000
#define DNS_TTL_DEFAULT  60
#define DNS_TTL_MAX      86400
#define DNS_DEFAULT_ZONE "netfn.internal"
#define DNS_PORT         53
/*
 * A serving node runs DNS_SLOTS dnsmasq slots, slot s on DNS_SLOT_PORT + s,
 * with port 53 steered to the active one: what a node's firewall sees of a
 * query after the steer (the controller keeps these open on serving nodes).
 */
#define DNS_SLOTS     2
#define DNS_SLOT_PORT 5301

enum dns_type { DNS_A = 0, DNS_AAAA, DNS_CNAME, DNS_SRV, DNS_TXT };

struct dns_record {
	char name[DNS_NAME_MAX]; /* fully qualified, lower case, no trailing dot */
	enum dns_type type;
	char value[DNS_VALUE_MAX]; /* canonical: CNAME/SRV targets fully qualified, no trailing dot
	                            */
	uint32_t ttl;
};

/* One node's desired dns section. */
struct dns_config {
	uint64_t revision;
	char zone[DNS_NAME_MAX]; /* "" : no overlay DNS for this node */
	size_t n_servers;
	struct in_addr servers[DNS_MAX_SERVERS];
	bool serve;
	struct in_addr listen;
	size_t n_records;
	struct dns_record *records; /* owned; sorted by name, type, value */
};

/* "A", "AAAA", ...; -EINVAL for an unknown name. */
const char *dns_type_name(enum dns_type t);
int dns_type_parse(const char *s, enum dns_type *out);

/*
 * Whether name is a valid domain name: dot-separated labels of 1-63 letters,
 * digits, '-' (not first or last) and '_' (service labels), 253 chars at
 * most, no trailing dot, no control or other characters. false with the
 * reason in why.
 */
bool dns_name_valid(const char *name, char *why, size_t whylen);

/*
 * Checks value for a record of type t and writes its canonical form into out
 * (DNS_VALUE_MAX): addresses re-printed, names lower-cased and made fully
 * qualified against zone (a name ending in '.' is absolute; otherwise
 * relative to zone), SRV "PRIORITY WEIGHT PORT TARGET" with numbers in
 * range, TXT printable ASCII up to DNS_TXT_MAX. -EINVAL with the reason.
 */
int dns_value_canon(enum dns_type t, const char *value, const char *zone, char *out, char *why,
                    size_t whylen);

/* Frees what cfg owns and zeroes it; accepts a zeroed config. */
void dns_config_free(struct dns_config *cfg);

#endif
