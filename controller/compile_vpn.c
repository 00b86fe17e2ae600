// SPDX-License-Identifier: Apache-2.0
/*
 * The vpn row of the compiler (compile_int.h): the network's WireGuard
 * members (its nodes, then the external clients that have a gateway, which
 * that gateway peers with), each node given the load balancer vips and
 * client addresses routed to it as extra /32s, and forwarding on the nodes
 * that host a frontend. vpn_compile turns that into a node's config.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/compile_int.h"
#include "netfns/common/log.h"
#include "proto/conv_vpn.h"

struct vpn_priv {
	struct vpn_network net;
	size_t n;
	struct vpn_member *members;
	struct nf_prefix *extra; /* the members' vips, grouped by member */
	size_t n_hosts;
	int64_t *hosts; /* nodes hosting any lb frontend, sorted */
};

static void vpn_close(void *priv)
{
	struct vpn_priv *vp = priv;

	if (!vp)
		return;
	free(vp->members);
	free(vp->extra);
	free(vp->hosts);
	free(vp);
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* A load balancer's vip, or a client's address, and the node it is routed to. */
struct vip_host {
	int64_t node_id;
	int64_t lb_id;
	uint32_t vip;
	int64_t client_id; /* a client's address (its gateway is node_id); 0 for a vip */
};

static int cmp_vip_host(const void *a, const void *b)
{
	const struct vip_host *x = a, *y = b;

	if (x->node_id != y->node_id)
		return x->node_id < y->node_id ? -1 : 1;
	if (x->client_id != y->client_id)
		return x->client_id < y->client_id ? -1 : 1;
	return (x->lb_id > y->lb_id) - (x->lb_id < y->lb_id);
}

/*
 * Gives each member the vips it hosts as extra /32s, so every peer routes
 * them to it. WireGuard routes a prefix to one peer only: a vip goes to the
 * host of its load balancer's lowest slot (a vip has one replica anyway).
 */
static int vpn_vips(const struct netctx *nc, struct vpn_priv *vp)
{
	struct vip_host *v = calloc(nc->n_pl + nc->n_gw + 1, sizeof(*v));
	size_t n = 0, k = 0;

	vp->hosts = calloc(nc->n_pl ? nc->n_pl : 1, sizeof(*vp->hosts));
	if (!v || !vp->hosts) {
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nc->n_pl; i++) {
		const struct st_placement *p = &nc->pl[i];
		const struct st_lb *lb = compile_find_lb(nc, p->object_id);

		vp->hosts[vp->n_hosts++] = p->node_id;

		if (lb->vip && (i == 0 || nc->pl[i - 1].object_id != p->object_id))
			v[n++] = (struct vip_host){p->node_id, lb->id, lb->vip, 0};
	}
	/* A client's address goes to its gateway, like a vip to its host. */
	for (size_t i = 0; i < nc->n_gw; i++) {
		const struct st_client *c = compile_find_client(nc, nc->gw[i].object_id);

		v[n++] = (struct vip_host){nc->gw[i].node_id, 0, c->overlay_addr, c->id};
	}
	qsort(v, n, sizeof(*v), cmp_vip_host);
	qsort(vp->hosts, vp->n_hosts, sizeof(*vp->hosts), cmp_id);
	vp->extra = calloc(n ? n : 1, sizeof(*vp->extra));
	if (!vp->extra) {
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		vp->extra[i].family = AF_INET;
		vp->extra[i].addr.v4.s_addr = v[i].vip;
		vp->extra[i].len = 32;
	}
	/* Node members are in node id order, like v; clients come after them. */
	for (size_t i = 0; i < vp->n; i++) {
		struct vpn_member *m = &vp->members[i];

		if (m->gateway_id)
			continue;

		while (k < n && v[k].node_id < m->id)
			k++;
		m->extra = &vp->extra[k];
		for (; k < n && v[k].node_id == m->id; k++)
			m->n_extra++;
	}
	free(v);
	return 0;
}

/*
 * Appends the clients that have a gateway to vp's members, ids negated so
 * they never meet a node's; one without a gateway has nobody to peer with.
 */
static void vpn_clients(const struct netctx *nc, struct vpn_priv *vp)
{
	for (size_t i = 0; i < nc->n_gw; i++) {
		const struct st_client *c = compile_find_client(nc, nc->gw[i].object_id);
		struct vpn_member *m = &vp->members[vp->n++];

		m->id = -c->id;
		m->gateway_id = nc->gw[i].node_id;
		snprintf(m->name, sizeof(m->name), "%s", c->name);
		memcpy(m->public_key, c->wg_pk, VPN_KEY_LEN);
		m->address.s_addr = c->overlay_addr;
	}
}

/* The network and its members as the vpn compiler sees them. */
static int vpn_open(struct store *s, const struct netctx *nc, void **priv)
{
	const struct st_network *sn = &nc->net;
	struct vpn_priv *vp = calloc(1, sizeof(*vp));
	int ret;

	(void)s;
	if (!vp)
		return -ENOMEM;
	if (!nf_prefix_parse(sn->cidr, false, &vp->net.cidr)) {
		nf_err("network %s: stored cidr '%s' does not parse", sn->name, sn->cidr);
		vpn_close(vp);
		return -EIO;
	}
	vp->net.port = sn->port;
	vp->net.mtu = sn->mtu;
	vp->net.topology = strcmp(sn->topology, "hub") == 0 ? VPN_HUB : VPN_MESH;
	vp->members = calloc(nc->nodes.n + nc->n_gw + 1, sizeof(*vp->members));
	if (!vp->members) {
		vpn_close(vp);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nc->nodes.n; i++) {
		const struct st_node *n = &nc->nodes.v[i];
		struct vpn_member *m = &vp->members[i];

		m->id = n->id;
		snprintf(m->name, sizeof(m->name), "%s", n->name);
		memcpy(m->public_key, n->wg_pk, VPN_KEY_LEN);
		m->address.s_addr = n->overlay_addr;
		m->n_endpoints =
		    n->n_endpoints < VPN_MAX_ENDPOINTS ? n->n_endpoints : VPN_MAX_ENDPOINTS;
		for (size_t k = 0; k < m->n_endpoints; k++)
			snprintf(m->endpoints[k], sizeof(m->endpoints[k]), "%s", n->endpoints[k]);
		/* The hub is named, not numbered: it may have joined after the network. */
		if (vp->net.topology == VPN_HUB && strcmp(n->name, sn->hub_name) == 0)
			vp->net.hub_node_id = n->id;
	}
	vp->n = nc->nodes.n;
	vpn_clients(nc, vp);
	ret = vpn_vips(nc, vp);
	if (ret) {
		vpn_close(vp);
		return ret;
	}
	*priv = vp;
	return 0;
}

static int vpn_config(void *priv, int64_t node_id, uint64_t revision, struct vpn_config *out)
{
	struct vpn_priv *vp = priv;
	int ret = vpn_compile(&vp->net, vp->members, vp->n, node_id, out);

	if (ret)
		return ret;
	out->revision = revision;
	/*
	 * A node hosting a frontend forwards between the overlay peers (client
	 * in, backend out). The section says so, else the vpn function turns
	 * forwarding off at each revision under the lb function's feet.
	 */
	if (bsearch(&node_id, vp->hosts, vp->n_hosts, sizeof(node_id), cmp_id))
		out->forward = true;
	return 0;
}

static int vpn_build(void *priv, int64_t node_id, uint64_t revision, ProtobufCMessage **out)
{
	struct vpn_config cfg;
	Netfn__VpnSection *pb = NULL;
	int ret = vpn_config(priv, node_id, revision, &cfg);

	if (ret)
		return ret;
	ret = conv_vpn_to_pb(&cfg, &pb);
	vpn_config_free(&cfg);
	*out = ret ? NULL : &pb->base;
	return ret;
}

static void vpn_attach(Netfn__NodeConfig *cfg, ProtobufCMessage *pb)
{
	cfg->vpn = (Netfn__VpnSection *)pb;
}

static void vpn_pb_free(ProtobufCMessage *pb)
{
	conv_vpn_pb_free((Netfn__VpnSection *)pb);
}

int compile_node_vpn(struct store *s, const struct st_node *node, struct vpn_config *out)
{
	struct netctx nc;
	struct st_section sec;
	void *priv = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = s->ops->section_get(s, node->id, "vpn", &sec);
	if (!ret)
		ret = compile_netctx_load(s, node->network_id, &nc);
	else
		memset(&nc, 0, sizeof(nc));
	if (!ret)
		ret = vpn_open(s, &nc, &priv);
	if (!ret)
		ret = vpn_config(priv, node->id, sec.desired_rev, out);
	vpn_close(priv);
	compile_netctx_free(&nc);
	return ret;
}

const struct compile_fn compile_fn_vpn = {
    .name = "vpn",
    .open = vpn_open,
    .build = vpn_build,
    .attach = vpn_attach,
    .pb_free = vpn_pb_free,
    .close = vpn_close,
};
