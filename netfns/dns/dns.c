// SPDX-License-Identifier: Apache-2.0
/*
 * The grammar of the overlay DNS (see dns.h): record types, names and
 * values. The API checks what a user typed with it and the agent checks
 * again what crossed the network, so what reaches dnsmasq's config file is
 * only ever letters, digits, '-', '_', '.', re-printed addresses, small
 * numbers and printable ASCII text, whatever came in.
 *
 * Reasons never repeat a control or non-ASCII byte of the input: they are
 * logged and sent back to API clients, where such a byte could forge a line.
 */
#include "netfns/dns/dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const types[] = {[DNS_A] = "A",
                                    [DNS_AAAA] = "AAAA",
                                    [DNS_CNAME] = "CNAME",
                                    [DNS_SRV] = "SRV",
                                    [DNS_TXT] = "TXT"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The SRV numbers (priority, weight, port) are 16-bit. */
#define SRV_NUM_MAX 65535

const char *dns_type_name(enum dns_type t)
{
	return (unsigned)t < COUNT(types) ? types[t] : "?";
}

/* Case-insensitive: "cname" typed on a command line is the same type. */
int dns_type_parse(const char *s, enum dns_type *out)
{
	for (size_t i = 0; s && i < COUNT(types); i++)
		if (strcasecmp(s, types[i]) == 0) {
			*out = (enum dns_type)i;
			return 0;
		}
	return -EINVAL;
}

static void say(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* Why byte c (at 1-based position pos) cannot be in a name. */
static void bad_char(unsigned char c, size_t pos, char *why, size_t whylen)
{
	if (c < 0x20 || c == 0x7f)
		say(why, whylen, "control character 0x%02x at position %zu", c, pos);
	else if (c >= 0x80)
		say(why, whylen,
		    "non-ASCII byte 0x%02x at position %zu (an internationalised name must be "
		    "given as its xn-- form)",
		    c, pos);
	else
		say(why, whylen, "'%c' at position %zu is not a letter, digit, '-' or '_'", c, pos);
}

static bool name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

bool dns_name_valid(const char *name, char *why, size_t whylen)
{
	size_t len, start = 0;

	if (!name || !name[0]) {
		say(why, whylen, "empty name");
		return false;
	}
	len = strlen(name);
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)name[i];
		size_t n;

		if (c && c != '.') {
			if (!name_char(c)) {
				bad_char(c, i + 1, why, whylen);
				return false;
			}
			continue;
		}
		/* The end of a label: name[start, i). */
		n = i - start;
		if (n == 0) {
			if (c == '\0')
				say(why, whylen,
				    "ends with '.' (give names without the final dot)");
			else
				say(why, whylen, "empty label at position %zu", i + 1);
			return false;
		}
		if (n > DNS_LABEL_MAX) {
			say(why, whylen, "label '%.16s...' has %zu characters, at most %d",
			    name + start, n, DNS_LABEL_MAX);
			return false;
		}
		if (name[start] == '-' || name[i - 1] == '-') {
			say(why, whylen, "label '%.*s' %s with '-'", (int)n, name + start,
			    name[start] == '-' ? "starts" : "ends");
			return false;
		}
		start = i + 1;
	}
	/* Checked last: a bad character is the more useful reason. */
	if (len > DNS_NAME_MAX - 1) {
		say(why, whylen, "%zu characters, at most %d", len, DNS_NAME_MAX - 1);
		return false;
	}
	return true;
}

/* Copies s into out (size at least 68) for a reason, bytes that are not printable as '?'. */
static const char *shown(const char *s, char *out, size_t size)
{
	size_t i;

	for (i = 0; s[i] && i + 4 < size; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

/*
 * The fully qualified, lower-case form of a name in a value: "@" is the zone,
 * a final '.' makes it absolute, anything else is relative to zone (taken as
 * absolute when zone is NULL or "": the agent's values are already
 * qualified).
 */
static int name_canon(const char *s, size_t n, const char *zone, char *out, char *why,
                      size_t whylen)
{
	bool rel = zone && zone[0];
	char tmp[DNS_VALUE_MAX];
	int len;

	if (n == 1 && s[0] == '@') {
		if (!rel) {
			say(why, whylen, "'@' (the zone) needs a zone");
			return -EINVAL;
		}
		len = snprintf(tmp, sizeof(tmp), "%s", zone);
	} else if (n > 0 && s[n - 1] == '.') {
		if (n == 1) {
			say(why, whylen, "the root '.' is not a target");
			return -EINVAL;
		}
		len = snprintf(tmp, sizeof(tmp), "%.*s", (int)(n - 1), s);
	} else if (rel) {
		len = snprintf(tmp, sizeof(tmp), "%.*s.%s", (int)n, s, zone);
	} else {
		len = snprintf(tmp, sizeof(tmp), "%.*s", (int)n, s);
	}
	if (len < 0 || (size_t)len >= sizeof(tmp)) {
		say(why, whylen, "the name is too long");
		return -EINVAL;
	}
	for (char *p = tmp; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (!dns_name_valid(tmp, why, whylen))
		return -EINVAL;
	memcpy(out, tmp, (size_t)len + 1);
	return 0;
}

/* A decimal 0-65535 in s[0, n), digits only. */
static bool srv_num(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > SRV_NUM_MAX)
		return false;
	*out = v;
	return true;
}

static int srv_canon(const char *value, const char *zone, char *out, char *why, size_t whylen)
{
	static const char *const what[] = {"priority", "weight", "port", "target"};
	const char *f[4];
	size_t n[4], k = 0;
	unsigned num[3];
	char target[DNS_NAME_MAX], show[72]; /* a valid name fits */
	const char *p = value;

	/* Four fields separated by spaces; anything else is not an SRV value. */
	while (*p && k < 4) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		f[k] = p;
		while (*p && *p != ' ')
			p++;
		n[k] = (size_t)(p - f[k]);
		k++;
	}
	while (*p == ' ')
		p++;
	if (k != 4 || *p) {
		say(why, whylen, "'%s' is not \"PRIORITY WEIGHT PORT TARGET\"",
		    shown(value, show, sizeof(show)));
		return -EINVAL;
	}
	for (int i = 0; i < 3; i++)
		if (!srv_num(f[i], n[i], &num[i])) {
			say(why, whylen, "%s '%.*s' is not a number 0-%d", what[i],
			    (int)(n[i] < 16 ? n[i] : 16), shown(f[i], show, sizeof(show)),
			    SRV_NUM_MAX);
			return -EINVAL;
		}
	if (name_canon(f[3], n[3], zone, target, why, whylen) < 0) {
		char inner[200];

		snprintf(inner, sizeof(inner), "%s", why ? why : "");
		say(why, whylen, "target: %s", inner);
		return -EINVAL;
	}
	snprintf(out, DNS_VALUE_MAX, "%u %u %u %s", num[0], num[1], num[2], target);
	return 0;
}

static int txt_canon(const char *value, char *out, char *why, size_t whylen)
{
	size_t len = strlen(value);

	if (len > DNS_TXT_MAX) {
		say(why, whylen, "%zu characters, at most %d", len, DNS_TXT_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c < 0x20 || c == 0x7f) {
			say(why, whylen, "control character 0x%02x at position %zu", c, i + 1);
			return -EINVAL;
		}
		if (c >= 0x80) {
			say(why, whylen,
			    "non-ASCII byte 0x%02x at position %zu (printable ASCII only)", c,
			    i + 1);
			return -EINVAL;
		}
	}
	memcpy(out, value, len + 1);
	return 0;
}

int dns_value_canon(enum dns_type t, const char *value, const char *zone, char *out, char *why,
                    size_t whylen)
{
	unsigned char addr[sizeof(struct in6_addr)];
	char show[72];

	if (!value) {
		say(why, whylen, "no value");
		return -EINVAL;
	}
	if (strlen(value) >= DNS_VALUE_MAX) {
		say(why, whylen, "%zu characters, at most %d", strlen(value), DNS_VALUE_MAX - 1);
		return -EINVAL;
	}
	switch (t) {
	case DNS_A:
		if (inet_pton(AF_INET, value, addr) != 1) {
			say(why, whylen, "'%s' is not a dotted IPv4 address",
			    shown(value, show, sizeof(show)));
			return -EINVAL;
		}
		inet_ntop(AF_INET, addr, out, DNS_VALUE_MAX);
		return 0;
	case DNS_AAAA:
		if (inet_pton(AF_INET6, value, addr) != 1) {
			say(why, whylen, "'%s' is not an IPv6 address",
			    shown(value, show, sizeof(show)));
			return -EINVAL;
		}
		inet_ntop(AF_INET6, addr, out, DNS_VALUE_MAX);
		return 0;
	case DNS_CNAME:
		return name_canon(value, strlen(value), zone, out, why, whylen);
	case DNS_SRV:
		return srv_canon(value, zone, out, why, whylen);
	case DNS_TXT:
		return txt_canon(value, out, why, whylen);
	}
	say(why, whylen, "unknown record type %d", (int)t);
	return -EINVAL;
}

void dns_config_free(struct dns_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->records);
	memset(cfg, 0, sizeof(*cfg));
}
