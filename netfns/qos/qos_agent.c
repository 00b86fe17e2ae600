// SPDX-License-Identifier: Apache-2.0
/*
 * The traffic classes on a node (see qos_agent.h). Classification needs no
 * tc filters: HTB files a packet whose skb->priority is one of its leaves'
 * class ids straight into that leaf, so a postrouting rule per match sets
 * `meta priority` to 1:<minor> for packets leaving the overlay interface,
 * forwarded and local alike; the rest goes to the default leaf.
 *
 * An apply replaces the marks in one nftables transaction and changes the
 * HTB classes in place (create-or-replace), deleting the classes no longer
 * wanted, so shaping never stops while a config changes.
 */
#include "netfns/qos/qos_agent.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <libnftnl/expr.h>

#include "netfns/common/log.h"
#include "netfns/firewall/nft_msg.h"
#include "netfns/kernel/tc.h"

#define CHAIN        "postrouting"
#define COOKIE_TABLE 0
/* tc's default for HTB: sizes the rate tables and bursts, a bit above the overlay's packets. */
#define QOS_MTU 1600

#define HANDLE(minor) (((uint32_t)QOS_MAJOR << 16) | (minor))

struct qos_agent {
	char table[64];
	char wg[IFNAMSIZ];  /* where marked packets leave (the nftables match) */
	char dev[IFNAMSIZ]; /* where they are shaped: wg unless qos_agent_shape_on moved it */
	struct nft_sock *nft;
	struct tc *tc;
	struct qos_config cur; /* names and minors last applied, for counters */
};

static const struct nft_base_chain base = {
    .name = CHAIN,
    .type = "filter",
    .hook = NF_INET_POST_ROUTING,
    /* After mangle (-150) so nothing of the host's re-marks after us. */
    .prio = 0,
};

int qos_agent_open(const char *table, const char *wg_ifname, struct qos_agent **out)
{
	struct qos_agent *qa = calloc(1, sizeof(*qa));
	int ret;

	if (!qa)
		return -ENOMEM;
	snprintf(qa->table, sizeof(qa->table), "%s", table);
	snprintf(qa->wg, sizeof(qa->wg), "%s", wg_ifname ? wg_ifname : "");
	snprintf(qa->dev, sizeof(qa->dev), "%s", qa->wg);
	ret = nft_sock_open(&qa->nft);
	if (!ret)
		ret = tc_open(&qa->tc);
	if (ret < 0) {
		qos_agent_close(qa);
		return ret;
	}
	*out = qa;
	return 0;
}

void qos_agent_close(struct qos_agent *qa)
{
	if (!qa)
		return;
	nft_sock_close(qa->nft);
	tc_close(qa->tc);
	qos_config_free(&qa->cur);
	free(qa);
}

uint64_t qos_default_rate(const struct qos_config *cfg)
{
	uint64_t sum = 0, floor = cfg->link_bps / 100;

	for (size_t i = 0; i < cfg->n; i++)
		sum += cfg->classes[i].min_bps;
	if (floor < QOS_RATE_MIN_BPS)
		floor = QOS_RATE_MIN_BPS;
	return sum + floor < cfg->link_bps ? cfg->link_bps - sum : floor;
}

/* ---- nftables: the marks ---- */

static int put_rule(struct nft_batch *b, const char *table, const char *wg,
                    const struct qos_class *c, const struct qos_match *m)
{
	char ifname[IFNAMSIZ] = {0};
	uint32_t prio = HANDLE(c->minor);
	struct nftnl_expr *e;
	struct nft_rb rb;

	nft_rb_start(&rb, NFPROTO_IPV4, table, CHAIN, c->name);
	snprintf(ifname, sizeof(ifname), "%s", wg);
	nft_rb_meta(&rb, NFT_META_OIFNAME);
	nft_rb_cmp(&rb, NFT_CMP_EQ, ifname, sizeof(ifname));
	if (m->protocol)
		nft_rb_l4proto(&rb, m->protocol);
	if (m->port_first) {
		uint16_t lo = htons(m->port_first), hi = htons(m->port_last);

		nft_rb_payload(&rb, NFT_PAYLOAD_TRANSPORT_HEADER, NFT_TH_DPORT_OFF, 2, NFT_REG_1);
		if (lo == hi) {
			nft_rb_cmp(&rb, NFT_CMP_EQ, &lo, 2);
		} else {
			/* Network order compares as numbers: cmp is a memcmp. */
			nft_rb_cmp(&rb, NFT_CMP_GTE, &lo, 2);
			nft_rb_cmp(&rb, NFT_CMP_LTE, &hi, 2);
		}
	}
	if (!m->dst_any && m->dst.len) {
		uint32_t mask = htonl(m->dst.len == 32 ? UINT32_MAX : ~(UINT32_MAX >> m->dst.len));

		nft_rb_payload(&rb, NFT_PAYLOAD_NETWORK_HEADER, NFT_IP_DADDR_OFF, 4, NFT_REG_1);
		if (m->dst.len < 32)
			nft_rb_bitwise(&rb, &mask, 4);
		nft_rb_cmp(&rb, NFT_CMP_EQ, &m->dst.addr.v4, 4);
	}
	/* meta priority set 1:<minor>: host order, as nft writes it. */
	nft_rb_imm(&rb, NFT_REG_1, &prio, sizeof(prio));
	e = nft_rb_expr(&rb, "meta");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_PRIORITY);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
	}
	/* First match wins, as the classes are listed (by minor). */
	nft_rb_verdict(&rb, NF_ACCEPT, NULL);
	return nft_rb_end(&rb, b, NLM_F_CREATE | NLM_F_APPEND, c->minor);
}

int qos_nft_put_apply(struct nft_batch *b, const char *table, const char *wg,
                      const struct qos_config *cfg)
{
	int ret = nft_put_table(b, NFPROTO_IPV4, table, NFT_MSG_NEWTABLE, COOKIE_TABLE);

	if (!ret)
		ret = nft_put_chain(b, NFPROTO_IPV4, table, &base, NULL, NFT_MSG_NEWCHAIN,
		                    COOKIE_TABLE);
	if (!ret)
		ret = nft_put_delrule(b, NFPROTO_IPV4, table, NULL, 0, COOKIE_TABLE);
	for (size_t i = 0; !ret && i < cfg->n; i++)
		for (size_t k = 0; !ret && k < cfg->classes[i].n_matches; k++)
			ret = put_rule(b, table, wg, &cfg->classes[i], &cfg->classes[i].matches[k]);
	return ret;
}

static const char *class_name(const struct qos_config *cfg, uint64_t cookie)
{
	for (size_t i = 0; i < cfg->n; i++)
		if (cfg->classes[i].minor == cookie)
			return cfg->classes[i].name;
	return NULL;
}

static int nft_apply(struct qos_agent *qa, const struct qos_config *cfg, char *err, size_t errlen)
{
	struct nft_error e = {0};
	struct nft_batch *b = NULL;
	const char *name;
	int ret;

	ret = nft_batch_new(qa->nft, &b);
	if (!ret)
		ret = cfg ? qos_nft_put_apply(b, qa->table, qa->wg, cfg) : 0;
	if (!ret && !cfg) {
		/* Adding it first makes the delete succeed whether or not the table exists. */
		ret = nft_put_table(b, NFPROTO_IPV4, qa->table, NFT_MSG_NEWTABLE, COOKIE_TABLE);
		if (!ret)
			ret = nft_put_table(b, NFPROTO_IPV4, qa->table, NFT_MSG_DELTABLE,
			                    COOKIE_TABLE);
	}
	if (ret < 0) {
		snprintf(err, errlen, "table ip %s: cannot build the change: %s", qa->table,
		         strerror(-ret));
		goto cleanup;
	}
	ret = nft_batch_commit(b, NULL, NULL, &e);
	if (ret < 0) {
		name = cfg ? class_name(cfg, e.cookie) : NULL;
		snprintf(err, errlen, "table ip %s%s%s: %s%s%s", qa->table, name ? ", class " : "",
		         name ? name : "", strerror(-ret), e.ext_ack[0] ? ": " : "", e.ext_ack);
	}
cleanup:
	nft_batch_free(b);
	return ret;
}

/* ---- HTB ---- */

/* 1 when ifindex's root qdisc is our HTB, 0 when not, or -errno. */
static int root_is_ours(struct qos_agent *qa, uint32_t ifindex)
{
	struct tc_obj *q = NULL;
	size_t n = 0;
	int ret = tc_list(qa->tc, RTM_GETQDISC, ifindex, &q, &n);

	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++)
		if (q[i].parent == TC_H_ROOT)
			ret = q[i].handle == HANDLE(0) && !strcmp(q[i].kind, "htb");
	free(q);
	return ret;
}

static bool wanted(const struct qos_config *cfg, uint32_t handle)
{
	uint32_t minor = TC_H_MIN(handle);

	if (TC_H_MAJ(handle) != HANDLE(0))
		return true; /* not under our qdisc: not ours to judge */
	if (minor == QOS_MINOR_ROOT || minor == QOS_MINOR_DEFAULT)
		return true;
	for (size_t i = 0; i < cfg->n; i++)
		if (cfg->classes[i].minor == minor)
			return true;
	return false;
}

/* A kernel refusal, with its own words, into err. */
static int tc_fail(struct qos_agent *qa, int ret, const char *what, char *err, size_t errlen)
{
	const char *ack = tc_last_error(qa->tc);

	snprintf(err, errlen, "%s on %s: %s%s%s", what, qa->dev, strerror(-ret), ack[0] ? ": " : "",
	         ack);
	return ret;
}

static int htb_apply(struct qos_agent *qa, uint32_t ifindex, const struct qos_config *cfg,
                     char *err, size_t errlen)
{
	struct tc_htb_class hc = {.mtu = QOS_MTU};
	struct tc_obj *cls = NULL;
	char what[QOS_NAME_MAX + 16];
	size_t n = 0;
	int ret;

	ret = root_is_ours(qa, ifindex);
	if (ret == 0)
		ret = tc_htb_root(qa->tc, ifindex, HANDLE(0), QOS_MINOR_DEFAULT);
	if (ret < 0)
		return tc_fail(qa, ret, "htb root qdisc", err, errlen);
	hc.parent = HANDLE(0);
	hc.classid = HANDLE(QOS_MINOR_ROOT);
	hc.rate_bps = hc.ceil_bps = cfg->link_bps;
	ret = tc_htb_set_class(qa->tc, ifindex, &hc);
	if (ret < 0)
		return tc_fail(qa, ret, "htb class 1:1 (the link)", err, errlen);
	hc.parent = HANDLE(QOS_MINOR_ROOT);
	for (size_t i = 0; i < cfg->n; i++) {
		const struct qos_class *c = &cfg->classes[i];

		hc.classid = HANDLE(c->minor);
		/* HTB needs a rate: a class without a floor gets the smallest. */
		hc.rate_bps = c->min_bps ? c->min_bps : QOS_RATE_MIN_BPS;
		hc.ceil_bps = c->max_bps;
		hc.prio = c->priority;
		ret = tc_htb_set_class(qa->tc, ifindex, &hc);
		if (ret < 0) {
			snprintf(what, sizeof(what), "class %s", c->name);
			return tc_fail(qa, ret, what, err, errlen);
		}
	}
	hc.classid = HANDLE(QOS_MINOR_DEFAULT);
	hc.rate_bps = qos_default_rate(cfg);
	hc.ceil_bps = cfg->link_bps;
	hc.prio = QOS_PRIO_MAX;
	ret = tc_htb_set_class(qa->tc, ifindex, &hc);
	if (ret < 0)
		return tc_fail(qa, ret, "the default class", err, errlen);

	ret = tc_list(qa->tc, RTM_GETTCLASS, ifindex, &cls, &n);
	if (ret < 0)
		return tc_fail(qa, ret, "listing classes", err, errlen);
	for (size_t i = 0; i < n && !ret; i++)
		if (!wanted(cfg, cls[i].handle)) {
			ret = tc_del_class(qa->tc, ifindex, cls[i].handle);
			if (ret < 0)
				tc_fail(qa, ret, "deleting an old class", err, errlen);
		}
	free(cls);
	return ret;
}

/* Deletes our root qdisc (and with it every class) if it is there. */
static int htb_remove(struct qos_agent *qa, uint32_t ifindex)
{
	int ret = root_is_ours(qa, ifindex);

	if (ret > 0)
		ret = tc_del_root(qa->tc, ifindex);
	return ret < 0 ? ret : 0;
}

static int config_copy(struct qos_config *dst, const struct qos_config *src)
{
	struct qos_class *v = calloc(src->n ? src->n : 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	/* Only names and minors: counters need nothing else. */
	for (size_t i = 0; i < src->n; i++) {
		v[i].minor = src->classes[i].minor;
		memcpy(v[i].name, src->classes[i].name, sizeof(v[i].name));
	}
	qos_config_free(dst);
	dst->revision = src->revision;
	dst->link_bps = src->link_bps;
	dst->n = src->n;
	dst->classes = v;
	return 0;
}

int qos_agent_shape_on(struct qos_agent *qa, const char *ifname)
{
	if (!ifname || !ifname[0] || strlen(ifname) >= sizeof(qa->dev))
		return -EINVAL;
	snprintf(qa->dev, sizeof(qa->dev), "%s", ifname);
	return 0;
}

int qos_agent_apply(struct qos_agent *qa, const struct qos_config *cfg, char *err, size_t errlen)
{
	uint32_t ifindex = qa->dev[0] ? if_nametoindex(qa->dev) : 0;
	int ret;

	if (cfg->n == 0) {
		ret = nft_apply(qa, NULL, err, errlen);
		if (!ret && ifindex) {
			ret = htb_remove(qa, ifindex);
			if (ret < 0)
				tc_fail(qa, ret, "removing the htb root", err, errlen);
		}
		if (!ret)
			qos_config_free(&qa->cur);
		return ret;
	}
	if (!ifindex) {
		snprintf(err, errlen, "no overlay interface%s%s to shape", qa->dev[0] ? " " : "",
		         qa->dev);
		return -ENODEV;
	}
	/*
	 * Shaping moved off wg (the flow datapath came): our tree left there
	 * would put every packet coming back from the bridge, unmarked by then,
	 * in the default class.
	 */
	if (strcmp(qa->dev, qa->wg) != 0 && qa->wg[0] && if_nametoindex(qa->wg)) {
		ret = htb_remove(qa, if_nametoindex(qa->wg));
		if (ret < 0)
			return tc_fail(qa, ret, "removing the htb root from the overlay interface",
			               err, errlen);
	}
	/* Classes first: a mark whose class is not there yet would go to the default. */
	ret = htb_apply(qa, ifindex, cfg, err, errlen);
	if (!ret)
		ret = nft_apply(qa, cfg, err, errlen);
	if (!ret)
		ret = config_copy(&qa->cur, cfg);
	return ret;
}

int qos_agent_counters(struct qos_agent *qa, struct qos_counter **out, size_t *n)
{
	uint32_t ifindex = qa->dev[0] ? if_nametoindex(qa->dev) : 0;
	struct qos_counter *r = NULL;
	struct tc_obj *cls = NULL;
	size_t ncls = 0, k = 0;
	int ret;

	*out = NULL;
	*n = 0;
	if (!ifindex || qa->cur.n == 0)
		return 0;
	ret = tc_list(qa->tc, RTM_GETTCLASS, ifindex, &cls, &ncls);
	if (ret < 0)
		return ret;
	r = calloc(qa->cur.n, sizeof(*r));
	if (!r) {
		ret = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < ncls; i++) {
		const char *name;

		if (TC_H_MAJ(cls[i].handle) != HANDLE(0) || k == qa->cur.n)
			continue;
		name = class_name(&qa->cur, TC_H_MIN(cls[i].handle));
		if (!name)
			continue;
		snprintf(r[k].name, sizeof(r[k].name), "%s", name);
		r[k].packets = cls[i].packets;
		r[k].bytes = cls[i].bytes;
		r[k].drops = cls[i].drops;
		r[k].rate_bps = cls[i].rate_bps;
		k++;
	}
	if (k) {
		*out = r;
		*n = k;
		r = NULL;
	}
cleanup:
	free(r);
	free(cls);
	return ret;
}

int qos_agent_teardown(struct qos_agent *qa)
{
	uint32_t ifindex = qa->dev[0] ? if_nametoindex(qa->dev) : 0;
	char err[256];
	int ret;

	ret = nft_apply(qa, NULL, err, sizeof(err));
	if (ret < 0)
		nf_err("qos: %s", err);
	if (ifindex) {
		int r = htb_remove(qa, ifindex);

		if (r < 0) {
			nf_err("qos: cannot remove the htb root on %s: %s", qa->dev, strerror(-r));
			ret = ret ? ret : r;
		}
	}
	qos_config_free(&qa->cur);
	return ret;
}
