// SPDX-License-Identifier: Apache-2.0
/*
 * VpnSection <-> struct vpn_config. The agent runs from_pb on what arrived
 * from the controller before anything touches the kernel, so every field is
 * checked here and an error names it with its value; the controller runs
 * to_pb on what it compiled.
 */
#include "proto/conv_vpn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PEERS   65536
#define MAX_ALLOWED 1024
#define MAX_ROUTES  1024

static int fail(char *err, size_t errlen, const char *fmt, const char *what, const char *value)
{
	snprintf(err, errlen, fmt, what, value);
	return -EINVAL;
}

/* Parses a list of network prefixes (no host bits) into a malloc'd array. */
static int prefixes(char **in, size_t n, size_t max, const char *what, struct nf_prefix **out,
                    char *err, size_t errlen)
{
	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	if (n > max)
		return fail(err, errlen, "%s: more than allowed (%s)", what, "1024");
	for (size_t i = 0; i < n; i++)
		if (!nf_prefix_parse(in[i], false, &(*out)[i]) || !nf_prefix_is_network(&(*out)[i]))
			return fail(err, errlen, "%s: not a network prefix: '%.64s'", what, in[i]);
	return 0;
}

int conv_vpn_from_pb(const Netfn__VpnSection *pb, struct vpn_config *out, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	char num[32];
	int ret;

	memset(out, 0, sizeof(*out));
	out->revision = pb->revision;
	if (!nf_prefix_parse(pb->address, false, &out->address) || out->address.family != AF_INET ||
	    out->address.len > 32)
		return fail(err, errlen, "%s: not an IPv4 address with prefix: '%.64s'",
		            "vpn.address", pb->address);
	if (pb->listen_port > 65535) {
		snprintf(num, sizeof(num), "%u", pb->listen_port);
		return fail(err, errlen, "%s: out of range: %s", "vpn.listen_port", num);
	}
	out->listen_port = (uint16_t)pb->listen_port;
	if (pb->mtu && (pb->mtu < 576 || pb->mtu > 9000)) {
		snprintf(num, sizeof(num), "%u", pb->mtu);
		return fail(err, errlen, "%s: out of range 576-9000: %s", "vpn.mtu", num);
	}
	out->mtu = pb->mtu;
	out->forward = pb->forward;
	if (pb->n_peers > MAX_PEERS)
		return fail(err, errlen, "%s: too many (%s)", "vpn.peers", "> 65536");

	out->peers = calloc(pb->n_peers ? pb->n_peers : 1, sizeof(*out->peers));
	if (!out->peers)
		return -ENOMEM;
	for (size_t i = 0; i < pb->n_peers; i++) {
		const Netfn__VpnPeer *p = pb->peers[i];
		struct vpn_peer *q = &out->peers[i];

		out->n_peers++;
		if (p->public_key.len != VPN_KEY_LEN) {
			ret = fail(err, errlen, "%s: public_key must be 32 bytes (%s)", "vpn.peers",
			           p->name);
			goto cleanup;
		}
		memcpy(q->public_key, p->public_key.data, VPN_KEY_LEN);
		if (strlen(p->name) >= sizeof(q->name)) {
			ret = fail(err, errlen, "%s: name too long: '%.64s'", "vpn.peers", p->name);
			goto cleanup;
		}
		strcpy(q->name, p->name);
		if (p->endpoint[0] && (strlen(p->endpoint) >= sizeof(q->endpoint) ||
		                       !nf_endpoint_parse(p->endpoint, &ss))) {
			ret = fail(err, errlen, "%s: bad endpoint: '%.64s'", "vpn.peers.endpoint",
			           p->endpoint);
			goto cleanup;
		}
		strcpy(q->endpoint, p->endpoint);
		if (p->keepalive > 65535) {
			ret = fail(err, errlen, "%s: out of range (%s)", "vpn.peers.keepalive",
			           p->name);
			goto cleanup;
		}
		q->keepalive = (uint16_t)p->keepalive;
		ret = prefixes(p->allowed_ips, p->n_allowed_ips, MAX_ALLOWED,
		               "vpn.peers.allowed_ips", &q->allowed, err, errlen);
		if (ret)
			goto cleanup;
		q->n_allowed = p->n_allowed_ips;
	}
	ret =
	    prefixes(pb->routes, pb->n_routes, MAX_ROUTES, "vpn.routes", &out->routes, err, errlen);
	if (ret)
		goto cleanup;
	out->n_routes = pb->n_routes;
	return 0;
cleanup:
	vpn_config_free(out);
	return ret;
}

static char *prefix_dup(const struct nf_prefix *p)
{
	char buf[NF_PREFIX_STRLEN];

	return strdup(nf_prefix_format(p, buf, sizeof(buf)));
}

int conv_vpn_to_pb(const struct vpn_config *cfg, Netfn__VpnSection **out)
{
	Netfn__VpnSection *pb = calloc(1, sizeof(*pb));

	if (!pb)
		return -ENOMEM;
	netfn__vpn_section__init(pb);
	pb->revision = cfg->revision;
	pb->address = prefix_dup(&cfg->address);
	pb->listen_port = cfg->listen_port;
	pb->mtu = cfg->mtu;
	pb->forward = cfg->forward;
	pb->peers = calloc(cfg->n_peers ? cfg->n_peers : 1, sizeof(*pb->peers));
	pb->routes = calloc(cfg->n_routes ? cfg->n_routes : 1, sizeof(*pb->routes));
	if (!pb->address || !pb->peers || !pb->routes)
		goto fail;
	for (size_t i = 0; i < cfg->n_peers; i++) {
		const struct vpn_peer *q = &cfg->peers[i];
		Netfn__VpnPeer *p = calloc(1, sizeof(*p));

		if (!p)
			goto fail;
		netfn__vpn_peer__init(p);
		pb->peers[pb->n_peers++] = p;
		p->public_key.data = malloc(VPN_KEY_LEN);
		p->name = strdup(q->name);
		p->endpoint = strdup(q->endpoint);
		p->allowed_ips = calloc(q->n_allowed ? q->n_allowed : 1, sizeof(char *));
		if (!p->public_key.data || !p->name || !p->endpoint || !p->allowed_ips)
			goto fail;
		memcpy(p->public_key.data, q->public_key, VPN_KEY_LEN);
		p->public_key.len = VPN_KEY_LEN;
		p->keepalive = q->keepalive;
		for (size_t k = 0; k < q->n_allowed; k++) {
			p->allowed_ips[k] = prefix_dup(&q->allowed[k]);
			if (!p->allowed_ips[k])
				goto fail;
			p->n_allowed_ips++;
		}
	}
	for (size_t i = 0; i < cfg->n_routes; i++) {
		pb->routes[i] = prefix_dup(&cfg->routes[i]);
		if (!pb->routes[i])
			goto fail;
		pb->n_routes++;
	}
	*out = pb;
	return 0;
fail:
	conv_vpn_pb_free(pb);
	return -ENOMEM;
}

void conv_vpn_pb_free(Netfn__VpnSection *pb)
{
	if (!pb)
		return;
	for (size_t i = 0; i < pb->n_peers; i++) {
		Netfn__VpnPeer *p = pb->peers[i];

		for (size_t k = 0; k < p->n_allowed_ips; k++)
			free(p->allowed_ips[k]);
		free(p->allowed_ips);
		free(p->public_key.data);
		/* Unset strings point at protobuf-c's shared empty string: never free those. */
		if (p->name != protobuf_c_empty_string)
			free(p->name);
		if (p->endpoint != protobuf_c_empty_string)
			free(p->endpoint);
		free(p);
	}
	free(pb->peers);
	for (size_t i = 0; i < pb->n_routes; i++)
		free(pb->routes[i]);
	free(pb->routes);
	if (pb->address != protobuf_c_empty_string)
		free(pb->address);
	free(pb);
}
