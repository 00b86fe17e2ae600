/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IP addresses and prefixes as plain values: parse, format, compare. Every
 * string that names an address on any input path goes through these parsers,
 * which accept only canonical dotted-quad / RFC 4291 text and nothing else.
 */
#ifndef NETFN_COMMON_PREFIX_H
#define NETFN_COMMON_PREFIX_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nf_prefix {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16];
	} addr;
	uint8_t len;
};

/* Longest text of a prefix, with its NUL: an IPv6 address, '/', "128". */
#define NF_PREFIX_STRLEN (INET6_ADDRSTRLEN + 4)

/* Parses "ADDR/LEN" (or "ADDR" when allow_host, as a /32 or /128). */
bool nf_prefix_parse(const char *s, bool allow_host, struct nf_prefix *out);

/* True when host bits past len are all zero (a network, not an address). */
bool nf_prefix_is_network(const struct nf_prefix *p);

/* Writes "ADDR/LEN" into buf (at least NF_PREFIX_STRLEN bytes). */
const char *nf_prefix_format(const struct nf_prefix *p, char *buf, size_t len);

/* True when the two prefixes share at least one address. */
bool nf_prefix_overlaps(const struct nf_prefix *a, const struct nf_prefix *b);

/* True when addr (same family) lies inside p. */
bool nf_prefix_contains(const struct nf_prefix *p, const struct nf_prefix *addr);

/*
 * Parses a dotted IPv4 unicast host address: the unspecified, broadcast and
 * multicast addresses are refused. NULL, or why s is not one.
 */
const char *nf_ipv4_host_parse(const char *s, struct in_addr *out);

/* Parses "IPv4:PORT" or "[IPv6]:PORT" into a socket address. */
bool nf_endpoint_parse(const char *s, struct sockaddr_storage *out);

/* Formats a socket address as nf_endpoint_parse reads it. */
const char *nf_endpoint_format(const struct sockaddr_storage *ss, char *buf, size_t len);

#endif
