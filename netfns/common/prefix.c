// SPDX-License-Identifier: Apache-2.0
/*
 * IP prefixes and endpoints: strict parsing and canonical formatting. These
 * are the gate for every address that arrives from an API client, an agent
 * or a stored record, so they accept exactly inet_pton's forms plus a
 * decimal prefix length and nothing else (no leading zeros games, no
 * trailing junk, no whitespace).
 */
#include "netfns/common/prefix.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static bool parse_uint(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (!*s || strlen(s) > 5 || (s[0] == '0' && s[1]))
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

bool nf_prefix_parse(const char *s, bool allow_host, struct nf_prefix *out)
{
	char buf[NF_PREFIX_STRLEN];
	char *slash;
	unsigned len;

	if (!s || strlen(s) >= sizeof(buf))
		return false;
	memset(out, 0, sizeof(*out));
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, &out->addr.v4) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, &out->addr.v6) == 1)
		out->family = AF_INET6;
	else
		return false;
	if (!slash) {
		if (!allow_host)
			return false;
		out->len = (uint8_t)(addr_len(out->family) * 8);
		return true;
	}
	if (!parse_uint(slash + 1, (unsigned)addr_len(out->family) * 8, &len))
		return false;
	out->len = (uint8_t)len;
	return true;
}

bool nf_prefix_is_network(const struct nf_prefix *p)
{
	int n = addr_len(p->family);

	for (int i = 0; i < n; i++) {
		int bits = (int)p->len - i * 8;
		uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));

		if (p->addr.bytes[i] & (uint8_t)~mask)
			return false;
	}
	return true;
}

const char *nf_prefix_format(const struct nf_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(p->family, p->addr.bytes, a, sizeof(a)))
		a[0] = '\0';
	snprintf(buf, len, "%s/%u", a, p->len);
	return buf;
}

/* True when the first bits bits of a and b are equal. */
static bool same_bits(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full))
		return false;
	if (!rest)
		return true;
	return ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool nf_prefix_overlaps(const struct nf_prefix *a, const struct nf_prefix *b)
{
	if (a->family != b->family)
		return false;
	return same_bits(a->addr.bytes, b->addr.bytes, a->len < b->len ? a->len : b->len);
}

bool nf_prefix_contains(const struct nf_prefix *p, const struct nf_prefix *addr)
{
	if (p->family != addr->family || addr->len < p->len)
		return false;
	return same_bits(p->addr.bytes, addr->addr.bytes, p->len);
}

const char *nf_ipv4_host_parse(const char *s, struct in_addr *out)
{
	uint32_t h;

	if (!s || inet_pton(AF_INET, s, out) != 1)
		return "not a dotted IPv4 address";
	h = ntohl(out->s_addr);
	if (h == 0)
		return "0.0.0.0 is not a host";
	if (h == 0xffffffffu)
		return "the broadcast address is not a host";
	if ((h >> 28) == 0xe)
		return "a multicast address is not a host";
	return NULL;
}

bool nf_endpoint_parse(const char *s, struct sockaddr_storage *out)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	unsigned port;
	size_t hlen;

	if (!s)
		return false;
	memset(out, 0, sizeof(*out));
	colon = strrchr(s, ':');
	if (!colon || !parse_uint(colon + 1, 65535, &port) || port == 0)
		return false;
	hlen = (size_t)(colon - s);
	if (hlen == 0 || hlen >= sizeof(host))
		return false;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (host[0] == '[') {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

		if (hlen < 3 || host[hlen - 1] != ']')
			return false;
		host[hlen - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &sin6->sin6_addr) != 1)
			return false;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		return true;
	}
	struct sockaddr_in *sin = (struct sockaddr_in *)out;

	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return false;
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return true;
}

const char *nf_endpoint_format(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(sin->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(sin6->sin6_port));
	} else {
		snprintf(buf, len, "%s", "");
	}
	return buf;
}
