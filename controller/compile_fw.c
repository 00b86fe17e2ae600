// SPDX-License-Identifier: Apache-2.0
/*
 * The firewall row of the compiler (compile_int.h): the network's policies
 * with their stored rules parsed, and the nodes and live external clients
 * as the members selectors resolve to; fw_compile turns that into a node's
 * rules, to which the controller adds its own keeps (the overlay DNS ports).
 *
 * Every node gets a firewall section, empty when no policy selects it: that
 * empty section is what tells an agent to clear its table when its node
 * stops being selected.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/compile_int.h"
#include "netfns/common/log.h"
#include "netfns/firewall/fw_compile.h"
#include "proto/conv_dns.h"
#include "proto/conv_fw.h"

/* A network's policies with their parsed rules, as fw_compile_prepare takes them. */
struct fw_load {
	struct store *s;
	const struct st_network *net;
	size_t n, cap;
	struct fw_policy_spec *v;
	struct fw_rule_spec *rules; /* of the policy being read */
	size_t n_rules, cap_rules;
	int64_t policy_id;
};

static int load_rule(void *ctx, const struct st_fw_rule *r)
{
	struct fw_load *l = ctx;
	struct fw_policy_spec *p = &l->v[l->n - 1];
	struct fw_rule_text t = {.id = (uint64_t)r->id,
	                         .direction = r->direction,
	                         .protocol = r->protocol,
	                         .src = r->src,
	                         .dst = r->dst,
	                         .dst_port = r->dst_port,
	                         .action = r->action,
	                         .rate = r->rate,
	                         .log_prefix = r->log_prefix};
	struct fw_rule_spec *rules = (struct fw_rule_spec *)p->rules;
	struct fw_error err;

	if (p->n_rules == l->cap_rules) {
		size_t cap = l->cap_rules ? l->cap_rules * 2 : 8;

		rules = realloc(rules, cap * sizeof(*rules));
		if (!rules)
			return -ENOMEM;
		p->rules = rules;
		l->cap_rules = cap;
	}
	/* Only what parsed is ever stored; anything else is damage to the file. */
	if (fw_rule_parse(&t, &rules[p->n_rules], &err)) {
		nf_err("network %s: policy %s: stored rule %" PRId64
		       " does not parse: %s '%.64s' %s",
		       l->net->name, p->name, r->id, err.field, err.value, err.reason);
		return -EIO;
	}
	p->n_rules++;
	return 0;
}

static int load_policy(void *ctx, const struct st_fw_policy *sp)
{
	struct fw_load *l = ctx;
	struct fw_policy_spec *p;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct fw_policy_spec *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	p = &l->v[l->n++];
	memset(p, 0, sizeof(*p));
	p->id = sp->id;
	snprintf(p->name, sizeof(p->name), "%s", sp->name);
	p->n_selector = sp->n_selector < FW_MAX_LABELS ? sp->n_selector : FW_MAX_LABELS;
	for (size_t i = 0; i < p->n_selector; i++) {
		snprintf(p->selector[i].key, FW_NAME_MAX, "%s", sp->selector[i].key);
		snprintf(p->selector[i].value, FW_NAME_MAX, "%s", sp->selector[i].value);
	}
	p->default_deny = sp->default_deny;
	p->block_ssh = sp->block_ssh;
	l->cap_rules = 0;
	return l->s->ops->fw_rule_list(l->s, sp->id, load_rule, l);
}

/*
 * The clients as firewall members (out has room for them all), so a
 * selector in a rule resolves to the clients carrying its labels as well as
 * the nodes. Ids negated: never a node's, and never compiled for.
 */
static void fw_clients(const struct netctx *nc, struct fw_member *out)
{
	for (size_t i = 0; i < nc->n_clients; i++) {
		const struct st_client *c = &nc->clients[i];
		struct fw_member *m = &out[i];

		m->id = -c->id;
		m->address.s_addr = c->overlay_addr;
		m->n_labels = c->n_labels < FW_MAX_LABELS ? c->n_labels : FW_MAX_LABELS;
		for (size_t k = 0; k < m->n_labels; k++) {
			snprintf(m->labels[k].key, FW_NAME_MAX, "%s", c->labels[k].key);
			snprintf(m->labels[k].value, FW_NAME_MAX, "%s", c->labels[k].value);
		}
	}
}

/*
 * The firewall's compiler, plus what the controller itself keeps open on a
 * node under default deny: the overlay DNS server's ports on the nodes that
 * serve it (a managed service must not die of a policy that never named it).
 */
struct fw_priv {
	struct fw_compiler *fc;
	struct nf_prefix cidr;
	size_t n_dns;
	int64_t dns_nodes[DNS_MAX_SERVERS];
};

/*
 * Rule ids of the rules the controller adds: far above any stored rule's
 * (SQLite rowids), never reported as a policy's.
 */
#define FW_KEEP_DNS_UDP (UINT64_C(1) << 62)
#define FW_KEEP_DNS_TCP (FW_KEEP_DNS_UDP + 1)

static int collect_dns_node(void *ctx, const struct st_placement *p)
{
	struct fw_priv *fp = ctx;

	if (fp->n_dns < DNS_MAX_SERVERS)
		fp->dns_nodes[fp->n_dns++] = p->node_id;
	return 0;
}

static void fw_close(void *priv)
{
	struct fw_priv *fp = priv;

	if (!fp)
		return;
	fw_compile_free(fp->fc);
	free(fp);
}

static int fw_open_rules(struct store *s, const struct netctx *nc, struct fw_compiler **out);

static int fw_open(struct store *s, const struct netctx *nc, void **priv)
{
	struct fw_priv *fp = calloc(1, sizeof(*fp));
	int ret;

	if (!fp)
		return -ENOMEM;
	if (!nf_prefix_parse(nc->net.cidr, false, &fp->cidr)) {
		nf_err("network %s: stored cidr '%s' does not parse", nc->net.name, nc->net.cidr);
		free(fp);
		return -EIO;
	}
	ret = s->ops->placement_list(s, "dns", nc->net.id, collect_dns_node, fp);
	if (!ret)
		ret = fw_open_rules(s, nc, &fp->fc);
	if (ret) {
		fw_close(fp);
		return ret;
	}
	*priv = fp;
	return 0;
}

/* One accept rule for the DNS server's ports from the overlay, first in the list. */
static int fw_keep_dns(const struct fw_priv *fp, struct fw_config *cfg)
{
	struct fw_rule *rules = calloc(cfg->n_rules + 2, sizeof(*rules));

	if (!rules)
		return -ENOMEM;
	for (int i = 0; i < 2; i++) {
		struct fw_rule *r = &rules[i];

		r->id = i ? FW_KEEP_DNS_TCP : FW_KEEP_DNS_UDP;
		r->dir = FW_IN;
		r->proto = i ? FW_TCP : FW_UDP;
		r->src = calloc(1, sizeof(*r->src));
		r->ports = calloc(2, sizeof(*r->ports));
		if (!r->src || !r->ports) {
			for (int k = 0; k <= i; k++) {
				free(rules[k].src);
				free(rules[k].ports);
			}
			free(rules);
			return -ENOMEM;
		}
		r->src[0] = fp->cidr;
		r->n_src = 1;
		r->dst_any = true;
		r->ports[0] = (struct fw_port_range){DNS_PORT, DNS_PORT};
		r->ports[1] = (struct fw_port_range){DNS_SLOT_PORT, DNS_SLOT_PORT + DNS_SLOTS - 1};
		r->n_ports = 2;
		r->action = FW_ACCEPT;
		snprintf(r->policy, sizeof(r->policy), "netfn-dns");
	}
	if (cfg->n_rules)
		memcpy(&rules[2], cfg->rules, cfg->n_rules * sizeof(*rules));
	free(cfg->rules);
	cfg->rules = rules;
	cfg->n_rules += 2;
	return 0;
}

/* node_id's firewall config: its policies' rules, and the controller's own keeps. */
static int fw_node_config(const struct fw_priv *fp, int64_t node_id, struct fw_config *out)
{
	int ret = fw_compile_node(fp->fc, node_id, out);
	bool serves_dns = false;

	for (size_t i = 0; i < fp->n_dns; i++)
		serves_dns |= fp->dns_nodes[i] == node_id;
	if (!ret && out->default_deny && serves_dns)
		ret = fw_keep_dns(fp, out);
	if (ret)
		fw_config_free(out);
	return ret;
}

static int fw_open_rules(struct store *s, const struct netctx *nc, struct fw_compiler **out)
{
	struct fw_load l = {.s = s, .net = &nc->net};
	struct fw_member *members = NULL;
	struct fw_compiler *fc = NULL;
	int ret;

	ret = s->ops->fw_policy_list(s, nc->net.id, load_policy, &l);
	if (ret)
		goto cleanup;
	members = calloc(nc->nodes.n + nc->n_clients + 1, sizeof(*members));
	if (!members) {
		ret = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < nc->nodes.n; i++) {
		const struct st_node *n = &nc->nodes.v[i];
		struct fw_member *m = &members[i];

		m->id = n->id;
		m->address.s_addr = n->overlay_addr;
		m->n_labels = n->n_labels < FW_MAX_LABELS ? n->n_labels : FW_MAX_LABELS;
		for (size_t k = 0; k < m->n_labels; k++) {
			snprintf(m->labels[k].key, FW_NAME_MAX, "%s", n->labels[k].key);
			snprintf(m->labels[k].value, FW_NAME_MAX, "%s", n->labels[k].value);
		}
	}
	fw_clients(nc, &members[nc->nodes.n]);
	ret = fw_compile_prepare(l.v, l.n, members, nc->nodes.n + nc->n_clients, nc->net.port, &fc);
	if (!ret)
		*out = fc;
cleanup:
	for (size_t i = 0; i < l.n; i++)
		free((void *)l.v[i].rules);
	free(l.v);
	free(members);
	return ret;
}

static int fw_build(void *priv, int64_t node_id, uint64_t revision, ProtobufCMessage **out)
{
	struct fw_config cfg;
	Netfn__FirewallSection *pb = NULL;
	int ret = fw_node_config(priv, node_id, &cfg);

	if (ret)
		return ret;
	cfg.revision = revision;
	ret = conv_fw_to_pb(&cfg, &pb);
	fw_config_free(&cfg);
	*out = ret ? NULL : &pb->base;
	return ret;
}

static void fw_attach(Netfn__NodeConfig *cfg, ProtobufCMessage *pb)
{
	cfg->firewall = (Netfn__FirewallSection *)pb;
}

static void fw_pb_free(ProtobufCMessage *pb)
{
	conv_fw_pb_free((Netfn__FirewallSection *)pb);
}

int compile_node_firewall(struct store *s, const struct st_node *node, struct fw_config *out)
{
	struct netctx nc;
	struct st_section sec;
	void *priv = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = s->ops->section_get(s, node->id, "firewall", &sec);
	if (!ret)
		ret = compile_netctx_load(s, node->network_id, &nc);
	else
		memset(&nc, 0, sizeof(nc));
	if (!ret)
		ret = fw_open(s, &nc, &priv);
	if (!ret)
		ret = fw_node_config(priv, node->id, out);
	if (!ret)
		out->revision = sec.desired_rev;
	fw_close(priv);
	compile_netctx_free(&nc);
	return ret;
}

const struct compile_fn compile_fn_firewall = {
    .name = "firewall",
    .open = fw_open,
    .build = fw_build,
    .attach = fw_attach,
    .pb_free = fw_pb_free,
    .close = fw_close,
};
