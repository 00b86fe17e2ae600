// SPDX-License-Identifier: Apache-2.0
/*
 * Writes the firewall's nftables objects into a batch with libnftnl: the
 * table, its three base chains, one named counter per rule, and each kernel
 * rule. Matches are encoded as nft(8) encodes them, so `nft list table inet
 * netfn` reads them back as rules a person can check ("ip saddr 10.0.0.0/8
 * tcp dport 22 accept"); a list of two or more ranges is a lookup of the
 * rule's tag and the field in a shared set (fw_nft_sets.c), which nft prints
 * as "0x2 [invalid type] . ip saddr @src4". The messages and expressions
 * the load balancer's and DNS tables use too come from nft_msg.c.
 */
#include "netfns/firewall/fw_nft.h"
#include "netfns/firewall/nft_msg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>

/* nft(8)'s datatype numbers, so that `nft list` prints set keys as addresses and ports. */
#define TYPE_IPADDR       7
#define TYPE_IP6ADDR      8
#define TYPE_INET_SERVICE 13
#define BYTEORDER_BIG     2
/* nft(8)'s default burst for a packet limit. */
#define LIMIT_BURST            5
#define LOOPBACK_IFINDEX       1   /* lo is ifindex 1 in every network namespace */
#define CT_ESTABLISHED_RELATED 0x6 /* NF_CT_STATE_BIT(ESTABLISHED) | ...(RELATED) */
#define CT_NEW                 0x8 /* NF_CT_STATE_BIT(IP_CT_NEW) */
#define TCP_FLAGS_OFF          13  /* the flags byte in the TCP header */
#define TCP_SYN                0x02

const char *const fw_chain_names[FW_CHAIN_N] = {"input", "output", "forward"};
static const uint32_t chain_hooks[FW_CHAIN_N] = {NF_INET_LOCAL_IN, NF_INET_LOCAL_OUT,
                                                 NF_INET_FORWARD};

void fw_counter_name(uint64_t id, char *buf)
{
	snprintf(buf, FW_COUNTER_NAME_MAX, "r%" PRIu64, id);
}

bool fw_counter_id(const char *name, uint64_t *id)
{
	char *end = NULL;

	if (name[0] != 'r' || name[1] < '0' || name[1] > '9')
		return false;
	errno = 0;
	*id = strtoull(name + 1, &end, 10);
	return errno == 0 && *end == '\0';
}

void fw_part_name(enum fw_chain c, uint8_t part, uint64_t id, char *buf)
{
	if (part == FW_PART_ENDS)
		snprintf(buf, FW_CHAIN_NAME_MAX, "%s_r%" PRIu64, fw_chain_names[c], id);
	else if (part == FW_PART_REST)
		snprintf(buf, FW_CHAIN_NAME_MAX, "%s_rest", fw_chain_names[c]);
	else
		snprintf(buf, FW_CHAIN_NAME_MAX, "%s", fw_chain_names[c]);
}

void fw_krule_comment(const struct fw_config *cfg, const struct fw_krule *k, char *buf)
{
	static const char *const names[] = {
	    [FW_FIX_LOOPBACK] = "loopback",
	    [FW_FIX_ESTABLISHED] = "established",
	    [FW_FIX_WIREGUARD] = "wireguard",
	    [FW_FIX_CONTROLLER] = "controller",
	    [FW_FIX_SSH] = "ssh",
	    [FW_FIX_DENY] = "default deny",
	    [FW_FIX_PICKUP] = "established before conntrack",
	    [FW_FIX_JUMP] = "rules",
	};

	if (k->fixed == FW_FIX_NONE)
		snprintf(buf, FW_COMMENT_MAX, "rule %" PRIu64, cfg->rules[k->rule].id);
	else if (k->fixed == FW_FIX_CONTROLLER)
		snprintf(buf, FW_COMMENT_MAX, "netfn: controller %u", k->index);
	else
		snprintf(buf, FW_COMMENT_MAX, "netfn: %s", names[k->fixed]);
}

/* ---- matches ---- */

static void put_nfproto(struct nft_rb *rb, uint8_t family)
{
	nft_rb_meta(rb, NFT_META_NFPROTO);
	nft_rb_cmp(rb, NFT_CMP_EQ, &family, 1);
}

static void put_range(struct nft_rb *rb, const struct fw_span *s, size_t len)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "range");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_OP, NFT_RANGE_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_RANGE_FROM_DATA, s->lo, (uint32_t)len);
	nftnl_expr_set(e, NFTNL_EXPR_RANGE_TO_DATA, s->hi, (uint32_t)len);
}

/* Matches register 1, just loaded with a len-byte field, against one range: a prefix or not. */
static void put_span(struct nft_rb *rb, const struct fw_span *s, size_t len)
{
	uint8_t mask[16], x[16];
	size_t plen = 0;

	/* A prefix: lo and hi agree on the first plen bits, then lo has 0s and hi 1s. */
	for (size_t i = 0; i < len; i++) {
		x[i] = s->lo[i] ^ s->hi[i];
		mask[i] = (uint8_t)~x[i];
	}
	while (plen < len * 8 && !(x[plen / 8] & (0x80 >> (plen % 8))))
		plen++;
	for (size_t i = plen; i < len * 8; i++) {
		uint8_t bit = (uint8_t)(0x80 >> (i % 8));

		if (!(x[i / 8] & bit) || (s->lo[i / 8] & bit)) {
			put_range(rb, s, len);
			return;
		}
	}
	if (plen < len * 8)
		nft_rb_bitwise(rb, mask, len);
	nft_rb_cmp(rb, NFT_CMP_EQ, s->lo, len);
}

/*
 * Matches one dimension of user rule k: the field is loaded into register 1
 * and compared for one range, or loaded next to the rule's tag and looked up
 * in the shared set for more. A failure is left in rb->err.
 */
static void put_dim(struct nft_rb *rb, const struct fw_config *cfg, const struct fw_krule *k,
                    enum fw_dim d)
{
	static const uint32_t v4_off[] = {[FW_DIM_SRC] = 12, [FW_DIM_DST] = 16};
	static const uint32_t v6_off[] = {[FW_DIM_SRC] = 8, [FW_DIM_DST] = 24};
	uint8_t tag[4] = {(uint8_t)(k->tag >> 24), (uint8_t)(k->tag >> 16), (uint8_t)(k->tag >> 8),
	                  (uint8_t)k->tag};
	struct fw_dim_match m;
	uint32_t base = NFT_PAYLOAD_NETWORK_HEADER, off;
	char name[FW_SET_NAME_MAX];
	struct nftnl_expr *e;
	int ret;

	ret = fw_dim_spans(cfg, k, d, &m);
	if (ret < 0 && !rb->err)
		rb->err = ret;
	if (ret < 0 || m.n == 0)
		goto cleanup;
	if (d == FW_DIM_PORT) {
		base = NFT_PAYLOAD_TRANSPORT_HEADER;
		off = NFT_TH_DPORT_OFF;
	} else {
		off = m.len == 4 ? v4_off[d] : v6_off[d];
	}
	if (m.n == 1) {
		nft_rb_payload(rb, base, off, (uint32_t)m.len, NFT_REG_1);
		put_span(rb, m.spans, m.len);
		goto cleanup;
	}
	nft_rb_imm(rb, NFT_REG32_00, tag, sizeof(tag));
	nft_rb_payload(rb, base, off, (uint32_t)m.len, NFT_REG32_01);
	e = nft_rb_expr(rb, "lookup");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG32_00);
		fw_set_name(m.set, k->tag, name);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, name);
	}
cleanup:
	fw_dim_free(&m);
}

/* ---- rules ---- */

static void put_user_tail(struct nft_rb *rb, const struct fw_rule *r)
{
	static const uint64_t units[] = {
	    [FW_PER_SECOND] = 1, [FW_PER_MINUTE] = 60, [FW_PER_HOUR] = 3600};
	char name[FW_COUNTER_NAME_MAX];
	struct nftnl_expr *e;

	if (r->rate) {
		e = nft_rb_expr(rb, "limit");
		if (e) {
			nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_RATE, r->rate);
			nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_UNIT, units[r->rate_unit]);
			nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_BURST, LIMIT_BURST);
			nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
			nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_FLAGS, 0);
		}
	}
	/* The rule's named counter: it survives edits of the rule and is read alone. */
	fw_counter_name(r->id, name);
	nft_rb_counter_ref(rb, name);
	if (r->log_prefix[0]) {
		e = nft_rb_expr(rb, "log");
		if (e)
			nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, r->log_prefix);
	}
	switch (r->action) {
	case FW_ACCEPT:
		nft_rb_verdict(rb, NF_ACCEPT, NULL);
		break;
	case FW_DROP:
		nft_rb_verdict(rb, NF_DROP, NULL);
		break;
	case FW_REJECT:
		if (r->proto == FW_TCP)
			nft_rb_reject(rb, NFT_REJECT_TCP_RST, 0);
		else
			nft_rb_reject(rb, NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_PORT_UNREACH);
		break;
	}
}

static void put_user(struct nft_rb *rb, const struct fw_config *cfg, const struct fw_krule *k)
{
	static const uint8_t l4[] = {[FW_TCP] = IPPROTO_TCP,
	                             [FW_UDP] = IPPROTO_UDP,
	                             [FW_ICMP] = IPPROTO_ICMP,
	                             [FW_ICMPV6] = IPPROTO_ICMPV6};
	const struct fw_rule *r = &cfg->rules[k->rule];

	if (k->family)
		put_nfproto(rb, k->family);
	if (r->proto != FW_ANY)
		nft_rb_l4proto(rb, l4[r->proto]);
	for (int d = 0; !rb->err && d < FW_DIM_N; d++)
		put_dim(rb, cfg, k, (enum fw_dim)d);
	put_user_tail(rb, r);
}

/* Matches the peer of a controller session: its address and TCP port on the far side. */
static void put_endpoint(struct nft_rb *rb, const struct sockaddr_storage *ss, bool in)
{
	uint32_t port_off = in ? NFT_TH_SPORT_OFF : NFT_TH_DPORT_OFF;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		put_nfproto(rb, NFPROTO_IPV4);
		nft_rb_payload_eq(rb, NFT_PAYLOAD_NETWORK_HEADER,
		                  in ? NFT_IP_SADDR_OFF : NFT_IP_DADDR_OFF, &sin->sin_addr, 4);
		nft_rb_port(rb, IPPROTO_TCP, port_off, ntohs(sin->sin_port));
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		put_nfproto(rb, NFPROTO_IPV6);
		nft_rb_payload_eq(rb, NFT_PAYLOAD_NETWORK_HEADER, in ? 8 : 24, &sin6->sin6_addr,
		                  16);
		nft_rb_port(rb, IPPROTO_TCP, port_off, ntohs(sin6->sin6_port));
	}
}

/* Matches when the conntrack state has any of the bits (host order, as the kernel keeps it). */
static void put_ct_state(struct nft_rb *rb, uint32_t bits)
{
	uint32_t zero = 0;

	nft_rb_ct(rb, NFT_CT_STATE, -1);
	nft_rb_bitwise(rb, &bits, sizeof(bits));
	nft_rb_cmp(rb, NFT_CMP_NEQ, &zero, sizeof(zero));
}

static void put_fixed(struct nft_rb *rb, const struct fw_config *cfg, const struct fw_krule *k)
{
	bool in = k->chain == FW_CHAIN_INPUT;
	char name[FW_CHAIN_NAME_MAX];
	uint32_t v;

	switch (k->fixed) {
	case FW_FIX_LOOPBACK:
		v = LOOPBACK_IFINDEX;
		nft_rb_meta(rb, in ? NFT_META_IIF : NFT_META_OIF);
		nft_rb_cmp(rb, NFT_CMP_EQ, &v, sizeof(v));
		break;
	case FW_FIX_ESTABLISHED:
		put_ct_state(rb, CT_ESTABLISHED_RELATED);
		break;
	case FW_FIX_PICKUP: {
		uint8_t syn = TCP_SYN, zero = 0;

		put_ct_state(rb, CT_NEW);
		nft_rb_l4proto(rb, IPPROTO_TCP);
		nft_rb_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, TCP_FLAGS_OFF, 1, NFT_REG_1);
		nft_rb_bitwise(rb, &syn, 1);
		nft_rb_cmp(rb, NFT_CMP_EQ, &zero, 1);
		break;
	}
	case FW_FIX_WIREGUARD:
		nft_rb_port(rb, IPPROTO_UDP, in ? NFT_TH_DPORT_OFF : NFT_TH_SPORT_OFF,
		            cfg->wg_port);
		break;
	case FW_FIX_CONTROLLER:
		put_endpoint(rb, &cfg->keep[k->index], in);
		break;
	case FW_FIX_SSH:
		nft_rb_port(rb, IPPROTO_TCP, NFT_TH_DPORT_OFF, FW_SSH_PORT);
		break;
	case FW_FIX_DENY:
		/* Unnamed: what default deny drops is visible in `nft list`, not reported. */
		nft_rb_expr(rb, "counter");
		nft_rb_verdict(rb, NF_DROP, NULL);
		return;
	case FW_FIX_JUMP:
		fw_part_name(k->chain, k->to_part, k->to_id, name);
		nft_rb_verdict(rb, NFT_JUMP, name);
		return;
	case FW_FIX_NONE:
		return;
	}
	nft_rb_verdict(rb, NF_ACCEPT, NULL);
}

int fw_nft_put_rule(struct nft_batch *b, const char *table, const struct fw_config *cfg,
                    const struct fw_krule *k, uint64_t pos, bool replace, bool echo,
                    uint64_t cookie)
{
	char comment[FW_COMMENT_MAX];
	char chain[FW_CHAIN_NAME_MAX];
	uint16_t flags = NLM_F_CREATE;
	struct nft_rb rb;
	int ret;

	fw_part_name(k->chain, k->part, k->part_id, chain);
	fw_krule_comment(cfg, k, comment);
	ret = nft_rb_start(&rb, NFPROTO_INET, table, chain, comment);
	if (ret < 0)
		return ret;
	if (replace) {
		nftnl_rule_set_u64(rb.r, NFTNL_RULE_HANDLE, pos);
		flags |= NLM_F_REPLACE;
	} else if (pos) {
		nftnl_rule_set_u64(rb.r, NFTNL_RULE_POSITION, pos); /* before it: no NLM_F_APPEND */
	} else {
		flags |= NLM_F_APPEND;
	}
	if (echo)
		flags |= NLM_F_ECHO;
	if (k->fixed == FW_FIX_NONE)
		put_user(&rb, cfg, k);
	else
		put_fixed(&rb, cfg, k);
	return nft_rb_end(&rb, b, flags, cookie);
}

/* ---- table, chains, counters ---- */

int fw_nft_put_table(struct nft_batch *b, const char *table, uint16_t type, uint64_t cookie)
{
	return nft_put_table(b, NFPROTO_INET, table, type, cookie);
}

int fw_nft_put_chain(struct nft_batch *b, const char *table, enum fw_chain c, uint64_t cookie)
{
	/*
	 * Policy accept (as every base chain's): default deny is the input
	 * chain's last rule, so that deleting this table (by hand, or at exit)
	 * can never leave the host locked out.
	 */
	struct nft_base_chain base = {fw_chain_names[c], "filter", chain_hooks[c], 0};

	return nft_put_chain(b, NFPROTO_INET, table, &base, NULL, NFT_MSG_NEWCHAIN, cookie);
}

int fw_nft_put_counter(struct nft_batch *b, const char *table, uint64_t id, uint16_t type,
                       uint64_t cookie)
{
	char name[FW_COUNTER_NAME_MAX];

	fw_counter_name(id, name);
	return nft_put_counter(b, NFPROTO_INET, table, name, type, cookie);
}

int fw_nft_put_delrule(struct nft_batch *b, const char *table, const struct fw_krule *k,
                       uint64_t handle, uint64_t cookie)
{
	char chain[FW_CHAIN_NAME_MAX];

	fw_part_name(k->chain, k->part, k->part_id, chain);
	return nft_put_delrule(b, NFPROTO_INET, table, chain, handle, cookie);
}

int fw_nft_put_part(struct nft_batch *b, const char *table, const struct fw_krule *jump,
                    uint16_t type, uint64_t cookie)
{
	char name[FW_CHAIN_NAME_MAX];

	fw_part_name(jump->chain, jump->to_part, jump->to_id, name);
	return nft_put_chain(b, NFPROTO_INET, table, NULL, name, type, cookie);
}

/* ---- a whole plan ---- */

int fw_nft_put_plan(struct nft_batch *b, const char *table, bool full,
                    const struct fw_config *old_cfg, const struct fw_krule *old,
                    const struct fw_config *cfg, struct fw_krule *new, const struct fw_diff *d,
                    size_t echo_max, uint32_t *tag_seq)
{
	uint64_t tc = FW_COOKIE(FW_CK_TABLE, 0);
	uint16_t made[FW_SET_N] = {0}; /* set buckets this batch creates */
	size_t n_rules = 0;
	bool echo;
	int ret = 0;

	if (full) {
		/* Create (if missing), delete, create: one transaction whatever was there. */
		ret = fw_nft_put_table(b, table, NFT_MSG_NEWTABLE, tc);
		if (!ret)
			ret = fw_nft_put_table(b, table, NFT_MSG_DELTABLE, tc);
		if (!ret)
			ret = fw_nft_put_table(b, table, NFT_MSG_NEWTABLE, tc);
		for (int c = 0; !ret && c < FW_CHAIN_N; c++)
			ret = fw_nft_put_chain(b, table, (enum fw_chain)c, tc);
	}
	/* Parts before the jumps to them and the rules in them; gone only after both. */
	for (size_t i = 0; !ret && i < d->n_add_parts; i++)
		ret = fw_nft_put_part(b, table, &new[d->add_parts[i]], NFT_MSG_NEWCHAIN, tc);
	/* Counters before the rules that name them, and gone only after them. */
	for (size_t i = 0; !ret && i < d->n_add; i++)
		ret = fw_nft_put_counter(b, table, cfg->rules[d->add[i]].id, NFT_MSG_NEWOBJ,
		                         FW_COOKIE(FW_CK_NEW_CTR, d->add[i]));
	for (size_t i = 0; i < d->n_ops; i++)
		n_rules += d->ops[i].kind != FW_OP_DELETE;
	echo = n_rules <= echo_max;
	for (size_t i = 0; !ret && i < d->n_ops; i++) {
		const struct fw_op *op = &d->ops[i];
		uint64_t ck = FW_COOKIE(FW_CK_NEW_RULE, op->idx);

		if (op->kind == FW_OP_DELETE) {
			ret = fw_nft_put_delrule(b, table, &old[op->idx], op->pos,
			                         FW_COOKIE(FW_CK_OLD_RULE, op->idx));
			continue;
		}
		/* A new or changed rule gets a new tag: its old elements go below, untouched. */
		*tag_seq += 2;
		new[op->idx].tag = *tag_seq;
		ret = fw_nft_put_elems(b, table, cfg, &new[op->idx], true, made, ck);
		if (!ret)
			ret = fw_nft_put_rule(b, table, cfg, &new[op->idx], op->pos,
			                      op->kind == FW_OP_REPLACE, echo, ck);
	}
	for (size_t i = 0; !ret && i < d->n_ops; i++) {
		const struct fw_op *op = &d->ops[i];
		size_t o = op->kind == FW_OP_DELETE ? op->idx : op->old;

		if (op->kind == FW_OP_INSERT)
			continue;
		ret = fw_nft_put_elems(b, table, old_cfg, &old[o], false, made,
		                       FW_COOKIE(FW_CK_OLD_RULE, o));
	}
	for (size_t i = 0; !ret && i < d->n_del_parts; i++)
		ret = fw_nft_put_part(b, table, &old[d->del_parts[i]], NFT_MSG_DELCHAIN, tc);
	for (size_t i = 0; !ret && i < d->n_del; i++)
		ret = fw_nft_put_counter(b, table, old_cfg->rules[d->del[i]].id, NFT_MSG_DELOBJ,
		                         FW_COOKIE(FW_CK_OLD_CTR, d->del[i]));
	return ret;
}
