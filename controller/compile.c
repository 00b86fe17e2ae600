// SPDX-License-Identifier: Apache-2.0
/*
 * Compiler driver. For each node of a changed network it runs the vpn
 * function's compiler, hashes the packed section, and bumps that node's
 * desired revision only when the hash differs from the stored one: a change
 * that does not alter a node's config does not wake that node, and a node's
 * revision never moves for nothing. Runs inside the caller's transaction so
 * revisions and the change that caused them commit together.
 */
#include "controller/compile.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "netfns/common/log.h"
#include "proto/conv_vpn.h"
#include "proto/rpc.h"

struct nodevec {
	size_t n, cap;
	struct st_node *v;
};

static int collect_node(void *ctx, const struct st_node *n)
{
	struct nodevec *nv = ctx;

	if (nv->n == nv->cap) {
		size_t cap = nv->cap ? nv->cap * 2 : 16;
		struct st_node *v = realloc(nv->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		nv->v = v;
		nv->cap = cap;
	}
	nv->v[nv->n++] = *n;
	return 0;
}

/* Loads the network and its members as the vpn compiler sees them. */
static int load(struct store *s, int64_t network_id, struct vpn_network *net,
                struct vpn_member **members, struct nodevec *nodes)
{
	struct st_network sn;
	struct vpn_member *m;
	int ret;

	ret = s->ops->network_get_id(s, network_id, &sn);
	if (ret)
		return ret;
	memset(net, 0, sizeof(*net));
	if (!nf_prefix_parse(sn.cidr, false, &net->cidr)) {
		nf_err("network %s: stored cidr '%s' does not parse", sn.name, sn.cidr);
		return -EIO;
	}
	net->port = sn.port;
	net->mtu = sn.mtu;
	net->topology = strcmp(sn.topology, "hub") == 0 ? VPN_HUB : VPN_MESH;
	ret = s->ops->node_list(s, network_id, collect_node, nodes);
	if (ret)
		return ret;
	m = calloc(nodes->n ? nodes->n : 1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i < nodes->n; i++) {
		const struct st_node *sn2 = &nodes->v[i];

		m[i].id = sn2->id;
		snprintf(m[i].name, sizeof(m[i].name), "%s", sn2->name);
		memcpy(m[i].public_key, sn2->wg_pk, VPN_KEY_LEN);
		m[i].address.s_addr = sn2->overlay_addr;
		m[i].n_endpoints =
		    sn2->n_endpoints < VPN_MAX_ENDPOINTS ? sn2->n_endpoints : VPN_MAX_ENDPOINTS;
		for (size_t k = 0; k < m[i].n_endpoints; k++)
			snprintf(m[i].endpoints[k], sizeof(m[i].endpoints[k]), "%s",
			         sn2->endpoints[k]);
		/* The hub is named, not numbered: it may have joined after the network. */
		if (net->topology == VPN_HUB && strcmp(sn2->name, sn.hub_name) == 0)
			net->hub_node_id = sn2->id;
	}
	*members = m;
	return 0;
}

/* BLAKE2b of the packed section with its revision cleared. */
static int section_hash(const struct vpn_config *cfg, uint8_t hash[ST_HASH_LEN])
{
	struct vpn_config copy = *cfg;
	Netfn__VpnSection *pb = NULL;
	uint8_t *buf = NULL;
	size_t len;
	int ret;

	copy.revision = 0;
	ret = conv_vpn_to_pb(&copy, &pb);
	if (ret)
		return ret;
	ret = nf_pb_pack(&pb->base, &buf, &len);
	if (!ret)
		crypto_generichash(hash, ST_HASH_LEN, buf, len, NULL, 0);
	free(buf);
	conv_vpn_pb_free(pb);
	return ret;
}

int compile_network(struct store *s, int64_t network_id, struct idvec *changed)
{
	struct nodevec nodes = {0};
	struct vpn_member *members = NULL;
	struct vpn_network net;
	int ret;

	ret = load(s, network_id, &net, &members, &nodes);
	if (ret)
		goto cleanup;
	for (size_t i = 0; i < nodes.n; i++) {
		struct vpn_config cfg;
		struct st_section sec;
		uint8_t hash[ST_HASH_LEN];

		ret = vpn_compile(&net, members, nodes.n, nodes.v[i].id, &cfg);
		if (ret)
			goto cleanup;
		ret = section_hash(&cfg, hash);
		vpn_config_free(&cfg);
		if (ret)
			goto cleanup;
		ret = s->ops->section_get(s, nodes.v[i].id, "vpn", &sec);
		if (ret == -ENOENT) {
			memset(&sec, 0, sizeof(sec));
			sec.node_id = nodes.v[i].id;
			strcpy(sec.function, "vpn");
		} else if (ret) {
			goto cleanup;
		} else if (memcmp(sec.hash, hash, ST_HASH_LEN) == 0) {
			continue;
		}
		ret = s->ops->next_revision(s, &sec.desired_rev);
		if (ret)
			goto cleanup;
		memcpy(sec.hash, hash, ST_HASH_LEN);
		ret = s->ops->section_put(s, &sec);
		if (ret)
			goto cleanup;
		if (changed && (ret = idvec_push(changed, nodes.v[i].id)))
			goto cleanup;
	}
	ret = 0;
cleanup:
	free(members);
	free(nodes.v);
	return ret;
}

int compile_node_vpn(struct store *s, const struct st_node *node, struct vpn_config *out)
{
	struct nodevec nodes = {0};
	struct vpn_member *members = NULL;
	struct vpn_network net;
	struct st_section sec;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = s->ops->section_get(s, node->id, "vpn", &sec);
	if (ret)
		return ret;
	ret = load(s, node->network_id, &net, &members, &nodes);
	if (!ret)
		ret = vpn_compile(&net, members, nodes.n, node->id, out);
	if (!ret)
		out->revision = sec.desired_rev;
	free(members);
	free(nodes.v);
	return ret;
}

int compile_node_config(struct store *s, const struct st_node *node, Netfn__NodeConfig **out)
{
	Netfn__NodeConfig *cfg = NULL;
	struct st_network net;
	struct vpn_config vpn;
	int ret;

	ret = s->ops->network_get_id(s, node->network_id, &net);
	if (ret)
		return ret;
	ret = compile_node_vpn(s, node, &vpn);
	if (ret)
		return ret;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		ret = -ENOMEM;
		goto cleanup;
	}
	netfn__node_config__init(cfg);
	cfg->name = strdup(node->name);
	cfg->network = strdup(net.name);
	if (!cfg->name || !cfg->network) {
		ret = -ENOMEM;
		goto cleanup;
	}
	ret = conv_vpn_to_pb(&vpn, &cfg->vpn);
	if (ret)
		goto cleanup;
	*out = cfg;
	cfg = NULL;
cleanup:
	vpn_config_free(&vpn);
	compile_config_free(cfg);
	return ret;
}

void compile_config_free(Netfn__NodeConfig *cfg)
{
	if (!cfg)
		return;
	if (cfg->name != protobuf_c_empty_string)
		free(cfg->name);
	if (cfg->network != protobuf_c_empty_string)
		free(cfg->network);
	conv_vpn_pb_free(cfg->vpn);
	free(cfg);
}
