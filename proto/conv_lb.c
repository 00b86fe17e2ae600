// SPDX-License-Identifier: Apache-2.0
/*
 * LbSection <-> struct lb_config, and the lb SectionStatus's reports. The
 * agent runs from_pb on what came over the network before anything reaches
 * nftables or the health checker, so every field is checked here and an
 * error names the frontend by id and the field ("frontends[7].backends[2].port:
 * 0 is not a port"), which the agent reports as the object that failed. The
 * controller runs to_pb on what it compiled, and reports_from_pb on what
 * agents sent.
 */
#include "proto/conv_lb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netfns/common/prefix.h"

/* Writes "frontends[ID].field: reason" into err and names the frontend; always -EINVAL. */
__attribute__((format(printf, 6, 7))) static int fail(char *err, size_t errlen, uint64_t *bad_id,
                                                      uint64_t id, const char *field,
                                                      const char *fmt, ...)
{
	size_t len;
	va_list ap;

	*bad_id = id;
	len = (size_t)snprintf(err, errlen, "frontends[%" PRIu64 "].%s: ", id, field);
	if (len < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + len, errlen - len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* True for printable ASCII without the characters that quote or escape in nft or a shell. */
static bool text_ok(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || strchr("\"'\\;", *s))
			return false;
	return true;
}

static int health_from_pb(uint64_t id, const Netfn__LbHealthCheck *p, struct lb_health *h,
                          char *err, size_t errlen, uint64_t *bad_id)
{
	memset(h, 0, sizeof(*h));
	/* Absent, or interval 0: checks off, every backend counts as up. */
	if (!p || p->interval_ms == 0)
		return 0;
	if (p->interval_ms < LB_HC_INTERVAL_MIN_MS || p->interval_ms > LB_HC_INTERVAL_MAX_MS)
		return fail(err, errlen, bad_id, id, "health.interval_ms",
		            "%u is outside %u-%u (or 0: no checks)", p->interval_ms,
		            LB_HC_INTERVAL_MIN_MS, LB_HC_INTERVAL_MAX_MS);
	if (p->timeout_ms == 0 || p->timeout_ms >= p->interval_ms)
		return fail(err, errlen, bad_id, id, "health.timeout_ms",
		            "%u is not between 0 and the interval (%u), both excluded",
		            p->timeout_ms, p->interval_ms);
	if (p->rise < 1 || p->rise > LB_HC_COUNT_MAX)
		return fail(err, errlen, bad_id, id, "health.rise", "%u is outside 1-%u", p->rise,
		            LB_HC_COUNT_MAX);
	if (p->fall < 1 || p->fall > LB_HC_COUNT_MAX)
		return fail(err, errlen, bad_id, id, "health.fall", "%u is outside 1-%u", p->fall,
		            LB_HC_COUNT_MAX);
	if (p->port > 65535)
		return fail(err, errlen, bad_id, id, "health.port",
		            "%u is not a port (0: the "
		            "backend's own)",
		            p->port);
	h->interval_ms = p->interval_ms;
	h->timeout_ms = p->timeout_ms;
	h->rise = p->rise;
	h->fall = p->fall;
	h->port = (uint16_t)p->port;
	return 0;
}

static int backend_cmp(const void *a, const void *b)
{
	const struct lb_backend *x = a, *y = b;
	uint32_t xa = ntohl(x->addr.s_addr), ya = ntohl(y->addr.s_addr);

	if (xa != ya)
		return xa < ya ? -1 : 1;
	return (x->port > y->port) - (x->port < y->port);
}

static int backends_from_pb(uint64_t id, Netfn__LbBackend **in, size_t n, struct lb_frontend *f,
                            char *err, size_t errlen, uint64_t *bad_id)
{
	char field[48], buf[INET_ADDRSTRLEN];
	const char *why;

	if (n > LB_MAX_BACKENDS)
		return fail(err, errlen, bad_id, id, "backends", "%zu backends, at most %d", n,
		            LB_MAX_BACKENDS);
	f->backends = calloc(n ? n : 1, sizeof(*f->backends));
	if (!f->backends)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const Netfn__LbBackend *p = in[i];
		struct lb_backend *b = &f->backends[i];

		snprintf(field, sizeof(field), "backends[%zu].address", i);
		if ((why = nf_ipv4_host_parse(p->address, &b->addr)))
			return fail(err, errlen, bad_id, id, field, "'%.64s': %s", p->address, why);
		snprintf(field, sizeof(field), "backends[%zu].port", i);
		if (p->port < 1 || p->port > 65535)
			return fail(err, errlen, bad_id, id, field, "%u is not a port (1-65535)",
			            p->port);
		b->port = (uint16_t)p->port;
		snprintf(field, sizeof(field), "backends[%zu].weight", i);
		if (p->weight > LB_WEIGHT_MAX)
			return fail(err, errlen, bad_id, id, field, "%u is above %d", p->weight,
			            LB_WEIGHT_MAX);
		b->weight = p->weight ? (uint16_t)p->weight : 1;
		f->n_backends = i + 1;
	}
	/* Sorted, one (address, port) once: the order names counters and chains. */
	qsort(f->backends, n, sizeof(*f->backends), backend_cmp);
	for (size_t i = 1; i < n; i++)
		if (backend_cmp(&f->backends[i - 1], &f->backends[i]) == 0)
			return fail(err, errlen, bad_id, id, "backends", "%s:%u is listed twice",
			            inet_ntop(AF_INET, &f->backends[i].addr, buf, sizeof(buf)),
			            f->backends[i].port);
	return 0;
}

static int frontend_from_pb(const Netfn__LbFrontend *p, struct lb_frontend *f, char *err,
                            size_t errlen, uint64_t *bad_id)
{
	uint64_t id = p->id;
	const char *why;

	f->id = id;
	if (id == 0)
		return fail(err, errlen, bad_id, id, "id", "0 is not a load balancer id");
	if (strlen(p->name) >= sizeof(f->name) || !text_ok(p->name))
		return fail(err, errlen, bad_id, id, "name",
		            "not a name (printable ASCII without quotes, backslash or ';', under "
		            "%zu characters)",
		            sizeof(f->name));
	strcpy(f->name, p->name);
	if (lb_proto_parse(p->protocol, &f->proto) < 0)
		return fail(err, errlen, bad_id, id, "protocol", "'%.16s' is not tcp or udp",
		            p->protocol);
	if ((why = nf_ipv4_host_parse(p->address, &f->addr)))
		return fail(err, errlen, bad_id, id, "address", "'%.64s': %s", p->address, why);
	if (p->port < 1 || p->port > 65535)
		return fail(err, errlen, bad_id, id, "port", "%u is not a port (1-65535)", p->port);
	f->port = (uint16_t)p->port;
	if (lb_algo_parse(p->algorithm, &f->algo) < 0)
		return fail(err, errlen, bad_id, id, "algorithm",
		            "'%.16s' is not round-robin, random or source-hash", p->algorithm);
	if (health_from_pb(id, p->health, &f->health, err, errlen, bad_id) < 0)
		return -EINVAL;
	return backends_from_pb(id, p->backends, p->n_backends, f, err, errlen, bad_id);
}

static int frontend_cmp(const void *a, const void *b)
{
	const struct lb_frontend *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

int conv_lb_from_pb(const Netfn__LbSection *pb, struct lb_config *out, char *err, size_t errlen,
                    uint64_t *bad_id)
{
	int ret;

	memset(out, 0, sizeof(*out));
	*bad_id = 0;
	if (errlen)
		err[0] = '\0';
	out->revision = pb->revision;
	if (pb->n_frontends > LB_MAX_FRONTENDS) {
		snprintf(err, errlen, "frontends: %zu frontends, at most %d", pb->n_frontends,
		         LB_MAX_FRONTENDS);
		return -EINVAL;
	}
	out->frontends = calloc(pb->n_frontends ? pb->n_frontends : 1, sizeof(*out->frontends));
	if (!out->frontends)
		return -ENOMEM;
	for (size_t i = 0; i < pb->n_frontends; i++) {
		out->n = i + 1;
		ret = frontend_from_pb(pb->frontends[i], &out->frontends[i], err, errlen, bad_id);
		if (ret < 0)
			goto cleanup;
	}
	/* Ids name chains, counters and reports: each must be one frontend's. */
	qsort(out->frontends, out->n, sizeof(*out->frontends), frontend_cmp);
	for (size_t i = 1; i < out->n; i++)
		if (out->frontends[i].id == out->frontends[i - 1].id) {
			ret = fail(err, errlen, bad_id, out->frontends[i].id, "id",
			           "used by more than one frontend");
			goto cleanup;
		}
	return 0;
cleanup:
	lb_config_free(out);
	return ret;
}

static char *addr_dup(struct in_addr a)
{
	char buf[INET_ADDRSTRLEN];

	return strdup(inet_ntop(AF_INET, &a, buf, sizeof(buf)));
}

static int frontend_to_pb(const struct lb_frontend *f, Netfn__LbFrontend *p)
{
	p->id = f->id;
	p->name = strdup(f->name);
	p->protocol = (char *)lb_proto_name(f->proto);
	p->algorithm = (char *)lb_algo_name(f->algo);
	p->address = addr_dup(f->addr);
	p->port = f->port;
	p->backends = calloc(f->n_backends ? f->n_backends : 1, sizeof(*p->backends));
	if (!p->name || !p->address || !p->backends)
		return -ENOMEM;
	for (size_t i = 0; i < f->n_backends; i++) {
		Netfn__LbBackend *b = calloc(1, sizeof(*b));

		if (!b)
			return -ENOMEM;
		netfn__lb_backend__init(b);
		p->backends[p->n_backends++] = b;
		b->address = addr_dup(f->backends[i].addr);
		if (!b->address)
			return -ENOMEM;
		b->port = f->backends[i].port;
		b->weight = f->backends[i].weight;
	}
	/* No message for checks off: absent means off on the way back. */
	if (f->health.interval_ms) {
		p->health = calloc(1, sizeof(*p->health));
		if (!p->health)
			return -ENOMEM;
		netfn__lb_health_check__init(p->health);
		p->health->interval_ms = f->health.interval_ms;
		p->health->timeout_ms = f->health.timeout_ms;
		p->health->rise = f->health.rise;
		p->health->fall = f->health.fall;
		p->health->port = f->health.port;
	}
	return 0;
}

int conv_lb_to_pb(const struct lb_config *cfg, Netfn__LbSection **out)
{
	Netfn__LbSection *pb = calloc(1, sizeof(*pb));
	int ret = -ENOMEM;

	if (!pb)
		return -ENOMEM;
	netfn__lb_section__init(pb);
	pb->revision = cfg->revision;
	pb->frontends = calloc(cfg->n ? cfg->n : 1, sizeof(*pb->frontends));
	if (!pb->frontends)
		goto fail;
	for (size_t i = 0; i < cfg->n; i++) {
		Netfn__LbFrontend *p = calloc(1, sizeof(*p));

		if (!p)
			goto fail;
		netfn__lb_frontend__init(p);
		pb->frontends[pb->n_frontends++] = p;
		/* Out-of-range enums would have no name. */
		if (cfg->frontends[i].proto > LB_UDP || cfg->frontends[i].algo > LB_SOURCE_HASH) {
			ret = -EINVAL;
			goto fail;
		}
		ret = frontend_to_pb(&cfg->frontends[i], p);
		if (ret < 0)
			goto fail;
	}
	*out = pb;
	return 0;
fail:
	conv_lb_pb_free(pb);
	return ret;
}

/* Frees a string to_pb made: the names of words are static, unset strings protobuf-c's. */
static void str_free(char *s)
{
	if (s != protobuf_c_empty_string)
		free(s);
}

void conv_lb_pb_free(Netfn__LbSection *pb)
{
	if (!pb)
		return;
	for (size_t i = 0; i < pb->n_frontends; i++) {
		Netfn__LbFrontend *p = pb->frontends[i];

		for (size_t k = 0; k < p->n_backends; k++) {
			str_free(p->backends[k]->address);
			free(p->backends[k]);
		}
		free(p->backends);
		str_free(p->name);
		str_free(p->address);
		free(p->health);
		free(p);
	}
	free(pb->frontends);
	free(pb);
}

int conv_lb_reports_from_pb(const Netfn__SectionStatus *ss, struct lb_report **out, size_t *n)
{
	struct lb_report *r = NULL;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (ss->n_backends == 0)
		return 0;
	r = calloc(ss->n_backends, sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < ss->n_backends; i++) {
		const Netfn__LbBackendHealth *h = ss->backends[i];

		if (!h->address || inet_pton(AF_INET, h->address, &r[k].addr) != 1 || h->port < 1 ||
		    h->port > 65535)
			continue;
		r[k].lb_id = h->lb_id;
		r[k].port = (uint16_t)h->port;
		r[k].healthy = h->healthy;
		r[k].connections = h->connections;
		k++;
	}
	if (k == 0) {
		free(r);
		return 0;
	}
	*out = r;
	*n = k;
	return 0;
}
