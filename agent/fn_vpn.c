// SPDX-License-Identifier: Apache-2.0
/*
 * The vpn row of the reconcile table: glue between the protobuf VpnSection
 * and the vpn function's agent half. It validates the section with
 * conv_vpn_from_pb (data from the network: nothing unvalidated reaches
 * vpn_agent_apply), applies it, and turns vpn_agent_observe's peer
 * statistics into SyncRequest.peers, naming each peer from the applied
 * config.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/reconcile.h"
#include "netfns/vpn/vpn_agent.h"
#include "proto/conv_vpn.h"

/* One PeerStat with the storage its fields point to. */
struct peer_out {
	Netfn__PeerStat pb;
	uint8_t key[VPN_KEY_LEN];
	char name[VPN_NAME_MAX];
	char endpoint[VPN_ENDPOINT_MAX];
};

struct vpn_fn {
	struct vpn_agent *va;
	struct vpn_config applied; /* the last config applied, for peer names */
	struct peer_out *peers;
	Netfn__PeerStat **peer_ptrs;
};

/*
 * The validators and the backend name the culprit first ("peers[2].endpoint:
 * ..."); that prefix becomes SectionStatus.error_object when it looks like
 * one (a single word), otherwise the section itself is named.
 */
static void guess_object(struct reconcile_error *err)
{
	const char *colon = strstr(err->message, ": ");
	size_t len;

	if (!colon)
		return;
	len = (size_t)(colon - err->message);
	if (len == 0 || len >= sizeof(err->object) || memchr(err->message, ' ', len))
		return;
	memcpy(err->object, err->message, len);
	err->object[len] = '\0';
}

static int vpn_fn_open(const struct reconcile_env *env, void **priv)
{
	struct vpn_fn *vf = NULL;
	int ret;

	vf = calloc(1, sizeof(*vf));
	if (!vf)
		return -ENOMEM;
	ret = vpn_agent_open(env->wg_ifname, env->wg_private_key, &vf->va);
	if (ret < 0) {
		free(vf);
		return ret;
	}
	*priv = vf;
	return 0;
}

static int vpn_fn_apply(void *priv, const ProtobufCMessage *section, struct reconcile_error *err)
{
	struct vpn_fn *vf = priv;
	struct vpn_config cfg = {0};
	int ret;

	/* A section that does not validate is refused before anything is touched. */
	ret = conv_vpn_from_pb((const Netfn__VpnSection *)section, &cfg, err->message,
	                       sizeof(err->message));
	if (ret < 0) {
		guess_object(err);
		goto cleanup;
	}
	ret = vpn_agent_apply(vf->va, &cfg, err->message, sizeof(err->message));
	if (ret < 0) {
		guess_object(err);
		goto cleanup;
	}
	vpn_config_free(&vf->applied);
	vf->applied = cfg;
	memset(&cfg, 0, sizeof(cfg));
cleanup:
	vpn_config_free(&cfg);
	return ret;
}

static const char *peer_name(const struct vpn_config *cfg, const uint8_t key[VPN_KEY_LEN])
{
	for (size_t i = 0; i < cfg->n_peers; i++)
		if (memcmp(cfg->peers[i].public_key, key, VPN_KEY_LEN) == 0)
			return cfg->peers[i].name;
	return "";
}

static void peers_free(struct vpn_fn *vf)
{
	free(vf->peers);
	free(vf->peer_ptrs);
	vf->peers = NULL;
	vf->peer_ptrs = NULL;
}

static int vpn_fn_observe(void *priv, Netfn__SyncRequest *req)
{
	struct vpn_fn *vf = priv;
	struct vpn_peer_stat *stats = NULL;
	size_t n = 0;
	int ret;

	peers_free(vf);
	ret = vpn_agent_observe(vf->va, &stats, &n);
	if (ret < 0)
		return ret;
	if (n == 0)
		goto cleanup;
	vf->peers = calloc(n, sizeof(*vf->peers));
	vf->peer_ptrs = calloc(n, sizeof(*vf->peer_ptrs));
	if (!vf->peers || !vf->peer_ptrs) {
		peers_free(vf);
		ret = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		struct peer_out *p = &vf->peers[i];

		netfn__peer_stat__init(&p->pb);
		memcpy(p->key, stats[i].public_key, VPN_KEY_LEN);
		snprintf(p->name, sizeof(p->name), "%s", peer_name(&vf->applied, p->key));
		snprintf(p->endpoint, sizeof(p->endpoint), "%s", stats[i].endpoint);
		p->pb.public_key.data = p->key;
		p->pb.public_key.len = VPN_KEY_LEN;
		p->pb.name = p->name;
		p->pb.endpoint = p->endpoint;
		p->pb.last_handshake = stats[i].last_handshake;
		p->pb.rx_bytes = stats[i].rx_bytes;
		p->pb.tx_bytes = stats[i].tx_bytes;
		vf->peer_ptrs[i] = &p->pb;
	}
	req->n_peers = n;
	req->peers = vf->peer_ptrs;
cleanup:
	free(stats);
	return ret;
}

static int vpn_fn_teardown(void *priv)
{
	struct vpn_fn *vf = priv;

	return vpn_agent_teardown(vf->va);
}

static void vpn_fn_close(void *priv)
{
	struct vpn_fn *vf = priv;

	if (!vf)
		return;
	vpn_agent_close(vf->va);
	vpn_config_free(&vf->applied);
	peers_free(vf);
	free(vf);
}

const struct reconcile_fn reconcile_fn_vpn = {
    .name = "vpn",
    .open = vpn_fn_open,
    .apply = vpn_fn_apply,
    .observe = vpn_fn_observe,
    .teardown = vpn_fn_teardown,
    .close = vpn_fn_close,
};
