// SPDX-License-Identifier: Apache-2.0
/*
 * DnsSection <-> struct dns_config. The agent runs from_pb on what came over
 * the network before any resolver setting or dnsmasq config is written, so
 * every field is checked here with the grammar of netfns/dns/dns.c, and an
 * error names the field: "zone: ...", "servers[1]: ...", "records[7].value:
 * ...". Names are folded to lower case and values made canonical, so two
 * sections that mean the same compare equal. The controller runs to_pb on
 * what it compiled.
 */
#include "proto/conv_dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netfns/common/prefix.h"

/* Writes "field: reason" into err; always -EINVAL. */
__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, const char *field,
                                                      const char *fmt, ...)
{
	size_t len;
	va_list ap;

	len = (size_t)snprintf(err, errlen, "%s: ", field);
	if (len < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + len, errlen - len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* s for a reason: at most 64 bytes, the unprintable ones as '?'. */
static const char *shown(const char *s, char out[72])
{
	size_t i;

	for (i = 0; s[i] && i < 64; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
	if (s[i])
		strcat(out, "...");
	return out;
}

/* A valid name, folded to lower case into out (DNS_NAME_MAX). */
static int name_parse(const char *field, const char *s, char *out, char *err, size_t errlen)
{
	char why[200];

	if (!dns_name_valid(s, why, sizeof(why)))
		return fail(err, errlen, field, "%s", why);
	for (size_t i = 0;; i++) {
		char c = s[i];

		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
		if (!c)
			break;
	}
	return 0;
}

/* Whether name is zone or below it. */
static bool inside(const char *name, const char *zone)
{
	size_t n = strlen(name), z = strlen(zone);

	if (n == z)
		return strcmp(name, zone) == 0;
	return n > z && name[n - z - 1] == '.' && strcmp(name + n - z, zone) == 0;
}

static int record_from_pb(size_t i, const Netfn__DnsEntry *p, const char *zone,
                          struct dns_record *r, char *err, size_t errlen)
{
	char field[48], why[200], show[72];
	const char *value;
	size_t n;

	snprintf(field, sizeof(field), "records[%zu].name", i);
	if (name_parse(field, p->name, r->name, err, errlen) < 0)
		return -EINVAL;
	if (!inside(r->name, zone))
		return fail(err, errlen, field, "'%s' is not in the zone %s", r->name, zone);
	snprintf(field, sizeof(field), "records[%zu].type", i);
	if (dns_type_parse(p->type, &r->type) < 0)
		return fail(err, errlen, field, "'%s' is not A, AAAA, CNAME, SRV or TXT",
		            shown(p->type ? p->type : "", show));
	snprintf(field, sizeof(field), "records[%zu].value", i);
	value = p->value ? p->value : "";
	/*
	 * Targets arrive fully qualified without the final dot, so no zone is
	 * given (dns.c then reads them as absolute) and a final dot, which
	 * would otherwise just be dropped, is refused as not this section's.
	 */
	n = strlen(value);
	if ((r->type == DNS_CNAME || r->type == DNS_SRV) && n > 1 && value[n - 1] == '.')
		return fail(err, errlen, field, "ends with '.' (targets here have no final dot)");
	if (dns_value_canon(r->type, value, NULL, r->value, why, sizeof(why)) < 0)
		return fail(err, errlen, field, "%s", why);
	snprintf(field, sizeof(field), "records[%zu].ttl", i);
	if (p->ttl > DNS_TTL_MAX)
		return fail(err, errlen, field, "%u is above %d", p->ttl, DNS_TTL_MAX);
	r->ttl = p->ttl ? p->ttl : DNS_TTL_DEFAULT;
	return 0;
}

/* Records in the order of dns.h (name, type, value), with their index in the section. */
struct ordered {
	const struct dns_record *r;
	size_t at;
};

static int record_cmp(const struct dns_record *x, const struct dns_record *y)
{
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return strcmp(x->value, y->value);
}

static int ordered_cmp(const void *a, const void *b)
{
	const struct ordered *x = a, *y = b;
	int c = record_cmp(x->r, y->r);

	return c ? c : (x->at > y->at) - (x->at < y->at);
}

/*
 * Sorts out's records, drops exact repeats (a name both automatic and
 * custom, say), and refuses a CNAME that shares its name with any other
 * record: a name that is an alias has no other data (RFC 1034 3.6.2).
 */
static int records_order(struct dns_config *out, char *err, size_t errlen)
{
	struct ordered *o = NULL;
	struct dns_record *sorted = NULL;
	size_t n = out->n_records, k = 0;
	char field[48];
	int ret = 0;

	if (n == 0)
		return 0;
	o = calloc(n, sizeof(*o));
	sorted = calloc(n, sizeof(*sorted));
	if (!o || !sorted) {
		ret = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++)
		o[i] = (struct ordered){.r = &out->records[i], .at = i};
	qsort(o, n, sizeof(*o), ordered_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct ordered *prev = i ? &o[i - 1] : NULL;

		if (prev && record_cmp(prev->r, o[i].r) == 0)
			continue; /* the same record again: one is enough */
		if (prev && strcmp(prev->r->name, o[i].r->name) == 0 &&
		    (prev->r->type == DNS_CNAME || o[i].r->type == DNS_CNAME)) {
			const struct ordered *c = prev->r->type == DNS_CNAME ? prev : &o[i];
			const struct ordered *other = c == prev ? &o[i] : prev;

			snprintf(field, sizeof(field), "records[%zu].name", other->at);
			ret = fail(err, errlen, field,
			           "'%s' is an alias (the CNAME of records[%zu]) and can have no "
			           "other record",
			           c->r->name, c->at);
			goto cleanup;
		}
		sorted[k++] = *o[i].r;
	}
	free(out->records);
	out->records = sorted;
	out->n_records = k;
	sorted = NULL;
cleanup:
	free(o);
	free(sorted);
	return ret;
}

int conv_dns_from_pb(const Netfn__DnsSection *pb, struct dns_config *out, char *err, size_t errlen)
{
	char field[32], show[72];
	const char *why;
	int ret = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	out->revision = pb->revision;
	if (!pb->zone || !pb->zone[0]) {
		/* No overlay DNS here: the section must say nothing else. */
		if (pb->n_servers || pb->serve || pb->n_records || (pb->listen && pb->listen[0]))
			return fail(err, errlen, "zone", "empty, but the section has %s",
			            pb->n_servers   ? "servers"
			            : pb->serve     ? "serve"
			            : pb->n_records ? "records"
			                            : "a listen address");
		return 0;
	}
	if (name_parse("zone", pb->zone, out->zone, err, errlen) < 0)
		return -EINVAL;
	if (pb->n_servers > DNS_MAX_SERVERS)
		return fail(err, errlen, "servers", "%zu servers, at most %d", pb->n_servers,
		            DNS_MAX_SERVERS);
	for (size_t i = 0; i < pb->n_servers; i++) {
		snprintf(field, sizeof(field), "servers[%zu]", i);
		if ((why = nf_ipv4_host_parse(pb->servers[i], &out->servers[i])))
			return fail(err, errlen, field, "'%s': %s",
			            shown(pb->servers[i] ? pb->servers[i] : "", show), why);
		for (size_t k = 0; k < i; k++)
			if (out->servers[k].s_addr == out->servers[i].s_addr)
				return fail(err, errlen, field, "%s is servers[%zu] again",
				            pb->servers[i], k);
		out->n_servers = i + 1;
	}
	out->serve = pb->serve;
	if (pb->serve || (pb->listen && pb->listen[0])) {
		if ((why = nf_ipv4_host_parse(pb->listen, &out->listen)))
			return fail(err, errlen, "listen", "'%s': %s%s",
			            shown(pb->listen ? pb->listen : "", show), why,
			            pb->serve ? " (a server needs the address to answer on)" : "");
	}
	if (pb->n_records > DNS_MAX_RECORDS)
		return fail(err, errlen, "records", "%zu records, at most %d", pb->n_records,
		            DNS_MAX_RECORDS);
	if (pb->n_records) {
		out->records = calloc(pb->n_records, sizeof(*out->records));
		if (!out->records)
			return -ENOMEM;
	}
	for (size_t i = 0; i < pb->n_records; i++) {
		out->n_records = i + 1;
		ret = record_from_pb(i, pb->records[i], out->zone, &out->records[i], err, errlen);
		if (ret < 0)
			goto cleanup;
	}
	ret = records_order(out, err, errlen);
	if (ret < 0)
		goto cleanup;
	return 0;
cleanup:
	dns_config_free(out);
	return ret;
}

static char *addr_dup(struct in_addr a)
{
	char buf[INET_ADDRSTRLEN];

	return strdup(inet_ntop(AF_INET, &a, buf, sizeof(buf)));
}

int conv_dns_to_pb(const struct dns_config *cfg, Netfn__DnsSection **out)
{
	Netfn__DnsSection *pb = calloc(1, sizeof(*pb));
	int ret = -ENOMEM;

	if (!pb)
		return -ENOMEM;
	netfn__dns_section__init(pb);
	pb->revision = cfg->revision;
	pb->serve = cfg->serve;
	if (cfg->n_servers > DNS_MAX_SERVERS) {
		ret = -EINVAL;
		goto fail;
	}
	pb->zone = strdup(cfg->zone);
	pb->servers = calloc(cfg->n_servers ? cfg->n_servers : 1, sizeof(*pb->servers));
	pb->records = calloc(cfg->n_records ? cfg->n_records : 1, sizeof(*pb->records));
	if (!pb->zone || !pb->servers || !pb->records)
		goto fail;
	for (size_t i = 0; i < cfg->n_servers; i++) {
		pb->servers[i] = addr_dup(cfg->servers[i]);
		if (!pb->servers[i])
			goto fail;
		pb->n_servers = i + 1;
	}
	if (cfg->serve || cfg->listen.s_addr) {
		pb->listen = addr_dup(cfg->listen);
		if (!pb->listen)
			goto fail;
	}
	for (size_t i = 0; i < cfg->n_records; i++) {
		const struct dns_record *r = &cfg->records[i];
		Netfn__DnsEntry *e;

		/* Out-of-range types would have no name. */
		if ((unsigned)r->type > DNS_TXT) {
			ret = -EINVAL;
			goto fail;
		}
		e = calloc(1, sizeof(*e));
		if (!e)
			goto fail;
		netfn__dns_entry__init(e);
		pb->records[pb->n_records++] = e;
		e->type = (char *)dns_type_name(r->type);
		e->ttl = r->ttl;
		e->name = strndup(r->name, sizeof(r->name) - 1);
		e->value = strndup(r->value, sizeof(r->value) - 1);
		if (!e->name || !e->value)
			goto fail;
	}
	*out = pb;
	return 0;
fail:
	conv_dns_pb_free(pb);
	return ret;
}

/* Frees a string to_pb made: type names are static, unset strings protobuf-c's. */
static void str_free(char *s)
{
	if (s != protobuf_c_empty_string)
		free(s);
}

void conv_dns_pb_free(Netfn__DnsSection *pb)
{
	if (!pb)
		return;
	for (size_t i = 0; i < pb->n_servers; i++)
		free(pb->servers[i]);
	free(pb->servers);
	for (size_t i = 0; i < pb->n_records; i++) {
		str_free(pb->records[i]->name);
		str_free(pb->records[i]->value);
		free(pb->records[i]);
	}
	free(pb->records);
	str_free(pb->zone);
	str_free(pb->listen);
	free(pb);
}
