// SPDX-License-Identifier: Apache-2.0
/*
 * API handlers for nodes: list, show, delete (which revokes the node: its
 * peers vanish from every other node's config and its sessions are refused),
 * label, rename (a node's name is its name in the overlay zone), and status
 * (desired vs applied revision per node and function).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/agentsrv.h"
#include "controller/api.h"
#include "controller/compile.h"
#include "controller/validate.h"
#include "proto/token.h"

struct node_ctx {
	struct api_call *c;
	struct api_list sections;
};

static int add_section(void *ctx, const struct st_section *sec)
{
	struct node_ctx *nc = ctx;
	Netfn__Section *pb = api_alloc(nc->c, sizeof(*pb));

	if (!pb)
		return -ENOMEM;
	netfn__section__init(pb);
	pb->function = api_strdup(nc->c, sec->function);
	pb->desired_revision = sec->desired_rev;
	pb->applied_revision = sec->applied_rev;
	pb->error = api_strdup(nc->c, sec->error);
	return api_list_push(&nc->sections, pb);
}

static int add_peers(struct api_call *c, const struct st_node *n, Netfn__Node *pb)
{
	struct agentsrv_peer *peers = NULL;
	size_t count = 0;

	if (agentsrv_peer_stats(c->ctl->agents, n->id, &peers, &count) || !count)
		return 0;
	pb->peers = api_alloc(c, count * sizeof(*pb->peers));
	for (size_t i = 0; pb->peers && i < count; i++) {
		const struct vpn_peer_stat *st = &peers[i].stat;
		Netfn__PeerStat *p = api_alloc(c, sizeof(*p));

		if (!p)
			break;
		netfn__peer_stat__init(p);
		p->public_key.data = api_alloc(c, VPN_KEY_LEN);
		if (p->public_key.data) {
			memcpy(p->public_key.data, st->public_key, VPN_KEY_LEN);
			p->public_key.len = VPN_KEY_LEN;
		}
		p->name = api_strdup(c, peers[i].name);
		p->endpoint = api_strdup(c, st->endpoint);
		p->last_handshake = st->last_handshake;
		p->rx_bytes = st->rx_bytes;
		p->tx_bytes = st->tx_bytes;
		pb->peers[pb->n_peers++] = p;
	}
	free(peers);
	return 0;
}

static Netfn__Node *node_to_pb(struct api_call *c, const struct st_node *n)
{
	struct store *s = c->ctl->store;
	struct node_ctx nc = {.c = c, .sections = {.c = c}};
	Netfn__Node *pb = api_alloc(c, sizeof(*pb));
	struct st_network net;
	char addr[INET_ADDRSTRLEN], key[48];

	struct in_addr a = {.s_addr = n->overlay_addr};

	if (!pb)
		return NULL;
	netfn__node__init(pb);
	pb->name = api_strdup(c, n->name);
	pb->network = api_strdup(c, s->ops->network_get_id(s, n->network_id, &net) ? "" : net.name);
	pb->labels = api_labels_to_pb(c, n->labels, n->n_labels);
	pb->n_labels = n->n_labels;
	pb->endpoints = api_alloc(c, (n->n_endpoints ? n->n_endpoints : 1) * sizeof(char *));
	for (size_t i = 0; pb->endpoints && i < n->n_endpoints; i++)
		pb->endpoints[pb->n_endpoints++] = api_strdup(c, n->endpoints[i]);
	nf_key_to_base64(n->wg_pk, key, sizeof(key));
	pb->wg_public_key = api_strdup(c, key);
	inet_ntop(AF_INET, &a, addr, sizeof(addr));
	pb->overlay_address = api_strdup(c, addr);
	pb->status = api_strdup(c, ctl_node_online(c->ctl, n->last_seen) ? "online" : "offline");
	pb->last_seen = n->last_seen;
	pb->created = n->created;
	if (s->ops->section_list(s, n->id, add_section, &nc))
		return NULL;
	pb->sections = (Netfn__Section **)nc.sections.v;
	pb->n_sections = nc.sections.n;
	add_peers(c, n, pb);
	return pb;
}

/* Finds a node by name, in network when given, else in the only network that has it. */
struct find {
	const char *name;
	int found;
	struct st_node node;
};

static int match_name(void *ctx, const struct st_node *n)
{
	struct find *f = ctx;

	if (strcmp(n->name, f->name) == 0) {
		f->node = *n;
		f->found++;
	}
	return 0;
}

static int find_node(struct api_call *c, const char *name, const char *network, struct st_node *out)
{
	struct store *s = c->ctl->store;
	struct find f = {.name = name};
	struct st_network net;
	char p[72];
	int ret;

	if (!valid_name(name))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "name",
		                "'%s' is not a valid node name", printable(name, p, sizeof(p)));
	if (network[0]) {
		if (s->ops->network_get(s, network, &net))
			return api_fail(c, NETFN__STATUS__NOT_FOUND, "network",
			                "network '%s' not found", printable(network, p, sizeof(p)));
		ret = s->ops->node_get(s, net.id, name, out);
		if (ret)
			return api_store_fail(c, ret, "name", "node");
		return 0;
	}
	if (s->ops->node_list(s, 0, match_name, &f))
		return -EIO;
	if (f.found == 0)
		return api_fail(c, NETFN__STATUS__NOT_FOUND, "name", "node '%s' not found", name);
	if (f.found > 1)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "network",
		                "node '%s' is in several networks: name one with --network", name);
	*out = f.node;
	return 0;
}

struct listctx {
	struct api_call *c;
	struct api_list nodes;
};

static int add_node(void *ctx, const struct st_node *n)
{
	struct listctx *l = ctx;

	return api_list_push(&l->nodes, node_to_pb(l->c, n));
}

static int node_list(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__NodeListRequest *in = (const Netfn__NodeListRequest *)m;
	struct store *s = c->ctl->store;
	struct listctx l = {.c = c, .nodes = {.c = c}};
	Netfn__NodeList *out = api_alloc(c, sizeof(*out));
	struct st_network net = {0};
	char p[72];

	if (!out)
		return -ENOMEM;
	if (in->network[0] && s->ops->network_get(s, in->network, &net))
		return api_fail(c, NETFN__STATUS__NOT_FOUND, "network", "network '%s' not found",
		                printable(in->network, p, sizeof(p)));
	if (s->ops->node_list(s, net.id, add_node, &l))
		return -EIO;
	netfn__node_list__init(out);
	out->nodes = (Netfn__Node **)l.nodes.v;
	out->n_nodes = l.nodes.n;
	*reply = &out->base;
	return 0;
}

static int node_show(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__NameRef *ref = (const Netfn__NameRef *)m;
	struct st_node n;

	if (find_node(c, ref->name, ref->network, &n))
		return -1;
	*reply = (ProtobufCMessage *)node_to_pb(c, &n);
	return *reply ? 0 : -ENOMEM;
}

static int node_delete(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__NameRef *ref = (const Netfn__NameRef *)m;
	struct store *s = c->ctl->store;
	struct st_network net;
	struct st_node n;
	char object[160];
	int ret;

	if (api_begin(c))
		return -1;
	ret = find_node(c, ref->name, ref->network, &n);
	if (ret)
		goto end;
	ret = s->ops->network_get_id(s, n.network_id, &net);
	if (!ret)
		ret = s->ops->node_delete(s, n.id);
	if (ret) {
		ret = api_store_fail(c, ret, "name", "node");
		goto end;
	}
	snprintf(object, sizeof(object), "%s/%s", net.name, n.name);
	ret = api_audit(c, object, "revoked");
	/* Its parked sync wakes to find itself gone; the others lose the peer. */
	if (!ret)
		ret = idvec_push(&c->changed, n.id);
	if (!ret)
		ret = compile_network(s, n.network_id, &c->changed);
end:
	return api_end_empty(c, ret, reply);
}

static int node_label(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__NodeLabelRequest *in = (const Netfn__NodeLabelRequest *)m;
	struct store *s = c->ctl->store;
	struct st_network net;
	struct st_node n;
	char object[160], p[72];
	int ret;

	if (api_begin(c))
		return -1;
	ret = find_node(c, in->name, in->network, &n);
	if (ret)
		goto end;
	for (size_t i = 0; i < in->n_remove; i++) {
		size_t k;

		if (!valid_label_key(in->remove[i])) {
			ret =
			    api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "remove",
			             "bad label key '%s'", printable(in->remove[i], p, sizeof(p)));
			goto end;
		}
		for (k = 0; k < n.n_labels && strcmp(n.labels[k].key, in->remove[i]); k++)
			;
		if (k < n.n_labels) {
			memmove(&n.labels[k], &n.labels[k + 1],
			        (n.n_labels - k - 1) * sizeof(n.labels[0]));
			n.n_labels--;
		}
	}
	ret = labels_merge(n.labels, &n.n_labels, in->set, in->n_set, "labels", &c->st);
	if (ret)
		goto end;
	ret = s->ops->node_update(s, &n);
	if (!ret)
		ret = s->ops->network_get_id(s, n.network_id, &net);
	if (ret) {
		ret = api_store_fail(c, ret, "name", "node");
		goto end;
	}
	snprintf(object, sizeof(object), "%s/%s", net.name, n.name);
	ret = api_audit(c, object, "labels: %zu set, %zu removed", in->n_set, in->n_remove);
	if (!ret)
		ret = compile_network(s, n.network_id, &c->changed);
end:
	if (api_end(c, ret))
		return -1;
	*reply = (ProtobufCMessage *)node_to_pb(c, &n);
	return *reply ? 0 : -ENOMEM;
}

/* Who else in a network has a DNS name: a client, or a custom CNAME. */
struct taken {
	const char *name;
	bool client;
	int64_t cname_id; /* 0: none */
};

static int client_named(void *ctx, const struct st_client *cl)
{
	struct taken *t = ctx;

	t->client |= strcmp(cl->name, t->name) == 0;
	return 0;
}

static int cname_named(void *ctx, const struct st_dns_record *r)
{
	struct taken *t = ctx;

	if (strcmp(r->type, "CNAME") == 0 && strcmp(r->name, t->name) == 0)
		t->cname_id = r->id;
	return 0;
}

static int name_taken(struct store *s, int64_t network_id, const char *name, struct taken *t)
{
	int ret;

	memset(t, 0, sizeof(*t));
	t->name = name;
	ret = s->ops->client_list(s, network_id, client_named, t);
	return ret ? ret : s->ops->dns_record_list(s, network_id, cname_named, t);
}

/*
 * Renames a node within its network. The agent authenticates by its key, not
 * its name, so it keeps syncing; its sections are recompiled (its name in
 * the zone, its peer name on the others), and a hub named by the old name
 * stays the hub under the new one.
 */
static int node_rename(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__NodeRename *in = (const Netfn__NodeRename *)m;
	struct store *s = c->ctl->store;
	struct st_network net;
	struct st_node n;
	struct taken t;
	char object[160], old[ST_NAME_MAX], p[72];
	bool hub;
	int ret;

	if (!valid_name(in->new_name))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "new_name",
		                "'%s' is not a valid name: 1-63 of a-z 0-9 '-', not starting or "
		                "ending with '-'",
		                printable(in->new_name, p, sizeof(p)));
	if (api_begin(c))
		return -1;
	ret = find_node(c, in->name, in->network, &n);
	if (ret)
		goto end;
	ret = s->ops->network_get_id(s, n.network_id, &net);
	if (ret) {
		ret = api_store_fail(c, ret, "network", "network");
		goto end;
	}
	if (strcmp(n.name, in->new_name) == 0)
		goto end; /* already so named: nothing to change */
	ret = name_taken(s, n.network_id, in->new_name, &t);
	if (ret)
		goto end;
	if (t.client) {
		ret = api_fail(c, NETFN__STATUS__ALREADY_EXISTS, "new_name",
		               "network '%s' has a client '%s': the two would share a DNS name",
		               net.name, in->new_name);
		goto end;
	}
	if (t.cname_id) {
		ret = api_fail(c, NETFN__STATUS__ALREADY_EXISTS, "new_name",
		               "'%s' is a CNAME of network '%s' (dns record %lld), and an alias "
		               "can have no other record: delete it first",
		               in->new_name, net.name, (long long)t.cname_id);
		goto end;
	}
	snprintf(old, sizeof(old), "%s", n.name);
	snprintf(n.name, sizeof(n.name), "%s", in->new_name);
	ret = s->ops->node_update(s, &n);
	if (ret == -EEXIST) {
		ret = api_fail(c, NETFN__STATUS__ALREADY_EXISTS, "new_name",
		               "network '%s' already has a node '%s'", net.name, n.name);
		goto end;
	}
	if (ret) {
		ret = api_store_fail(c, ret, "name", "node");
		goto end;
	}
	hub = strcmp(net.hub_name, old) == 0;
	if (hub) {
		snprintf(net.hub_name, sizeof(net.hub_name), "%s", n.name);
		ret = s->ops->network_update(s, &net);
		if (ret) {
			ret = api_store_fail(c, ret, "network", "network");
			goto end;
		}
	}
	snprintf(object, sizeof(object), "%s/%s", net.name, old);
	ret = api_audit(c, object, "renamed to %s%s", n.name, hub ? " (the network's hub)" : "");
	if (!ret)
		ret = compile_network(s, n.network_id, &c->changed);
end:
	if (api_end(c, ret))
		return -1;
	*reply = (ProtobufCMessage *)node_to_pb(c, &n);
	return *reply ? 0 : -ENOMEM;
}

const struct api_method api_node_methods[] = {
    {"node.list", &netfn__node_list_request__descriptor, false, node_list},
    {"node.show", &netfn__name_ref__descriptor, false, node_show},
    {"node.delete", &netfn__name_ref__descriptor, true, node_delete},
    {"node.label", &netfn__node_label_request__descriptor, true, node_label},
    {"node.rename", &netfn__node_rename__descriptor, true, node_rename},
    {"status", &netfn__node_list_request__descriptor, false, node_list},
    {0},
};
