// SPDX-License-Identifier: Apache-2.0
/*
 * The nftables messages shared by the firewall, the load balancer and the
 * DNS function (see nft_msg.h), written with libnftnl into an nft batch.
 * Objects are created with NLM_F_CREATE and never NLM_F_EXCL, so that adding
 * one that exists leaves it as it is: chains keep their rules and counters
 * their values (counters have no update). A rule's steps never fail alone:
 * the first failure (of nft_rb_start or of an allocation) is kept in the
 * rule builder and every later step does nothing, so a rule is written as a
 * straight list of statements and checked once, at nft_rb_end.
 */
#include "netfns/firewall/nft_msg.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

/* ---- objects ---- */

int nft_put_table(struct nft_batch *b, uint16_t family, const char *table, uint16_t type,
                  uint64_t cookie)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nlh = nft_batch_add(b, type, family, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0, cookie);
	if (nlh) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		ret = 0;
	}
	nftnl_table_free(t);
	return ret;
}

int nft_put_chain(struct nft_batch *b, uint16_t family, const char *table,
                  const struct nft_base_chain *base, const char *name, uint16_t type,
                  uint64_t cookie)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!ch)
		return -ENOMEM;
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, base ? base->name : name);
	if (base) {
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, base->type);
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, base->hook);
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, base->prio);
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	nlh = nft_batch_add(b, type, family, type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE : 0, cookie);
	if (nlh) {
		nftnl_chain_nlmsg_build_payload(nlh, ch);
		ret = 0;
	}
	nftnl_chain_free(ch);
	return ret;
}

int nft_put_counter(struct nft_batch *b, uint16_t family, const char *table, const char *name,
                    uint16_t type, uint64_t cookie)
{
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!o)
		return -ENOMEM;
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, table);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, family);
	nlh = nft_batch_add(b, type, family, type == NFT_MSG_NEWOBJ ? NLM_F_CREATE : 0, cookie);
	if (nlh) {
		nftnl_obj_nlmsg_build_payload(nlh, o);
		ret = 0;
	}
	nftnl_obj_free(o);
	return ret;
}

int nft_put_delrule(struct nft_batch *b, uint16_t family, const char *table, const char *chain,
                    uint64_t handle, uint64_t cookie)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!r)
		return -ENOMEM;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	if (chain)
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, family);
	if (chain && handle)
		nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
	nlh = nft_batch_add(b, NFT_MSG_DELRULE, family, 0, cookie);
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		ret = 0;
	}
	nftnl_rule_free(r);
	return ret;
}

/* ---- rules ---- */

int nft_rb_start(struct nft_rb *rb, uint16_t family, const char *table, const char *chain,
                 const char *comment)
{
	struct nftnl_udata_buf *ud = NULL;
	int ret = -ENOMEM;

	rb->family = family;
	rb->err = 0;
	rb->r = nftnl_rule_alloc();
	if (!rb->r)
		goto cleanup;
	nftnl_rule_set_str(rb->r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(rb->r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(rb->r, NFTNL_RULE_FAMILY, family);
	if (!comment || !comment[0])
		return 0;
	/* The comment (NFTNL_RULE_USERDATA) names the rule in `nft list` and in dumps. */
	ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	if (!ud)
		goto cleanup;
	ret = -EINVAL;
	if (!nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, comment))
		goto cleanup;
	nftnl_rule_set_data(rb->r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
	                    nftnl_udata_buf_len(ud));
	ret = 0;
cleanup:
	nftnl_udata_buf_free(ud);
	if (ret < 0 && rb->r) {
		nftnl_rule_free(rb->r);
		rb->r = NULL;
	}
	rb->err = ret;
	return ret;
}

int nft_rb_end(struct nft_rb *rb, struct nft_batch *b, uint16_t flags, uint64_t cookie)
{
	struct nlmsghdr *nlh;
	int ret = rb->err;

	if (!ret) {
		nlh = nft_batch_add(b, NFT_MSG_NEWRULE, rb->family, flags, cookie);
		if (nlh)
			nftnl_rule_nlmsg_build_payload(nlh, rb->r);
		else
			ret = -ENOMEM;
	}
	if (rb->r) /* NULL after a failed start */
		nftnl_rule_free(rb->r);
	rb->r = NULL;
	return ret;
}

/* ---- expressions ---- */

struct nftnl_expr *nft_rb_expr(struct nft_rb *rb, const char *name)
{
	struct nftnl_expr *e;

	if (rb->err)
		return NULL;
	e = nftnl_expr_alloc(name);
	if (!e) {
		rb->err = -ENOMEM;
		return NULL;
	}
	nftnl_rule_add_expr(rb->r, e);
	return e;
}

void nft_rb_cmp(struct nft_rb *rb, uint32_t op, const void *data, size_t len)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "cmp");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, (uint32_t)len);
}

void nft_rb_meta(struct nft_rb *rb, uint32_t key)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
}

void nft_rb_l4proto(struct nft_rb *rb, uint8_t proto)
{
	nft_rb_meta(rb, NFT_META_L4PROTO);
	nft_rb_cmp(rb, NFT_CMP_EQ, &proto, 1);
}

void nft_rb_payload(struct nft_rb *rb, uint32_t base, uint32_t off, uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "payload");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
}

void nft_rb_payload_eq(struct nft_rb *rb, uint32_t base, uint32_t off, const void *data,
                       uint32_t len)
{
	nft_rb_payload(rb, base, off, len, NFT_REG_1);
	nft_rb_cmp(rb, NFT_CMP_EQ, data, len);
}

void nft_rb_port(struct nft_rb *rb, uint8_t proto, uint32_t off, uint16_t port)
{
	uint8_t be[2] = {(uint8_t)(port >> 8), (uint8_t)port};

	nft_rb_l4proto(rb, proto);
	nft_rb_payload_eq(rb, NFT_PAYLOAD_TRANSPORT_HEADER, off, be, sizeof(be));
}

void nft_rb_bitwise(struct nft_rb *rb, const void *mask, size_t len)
{
	static const uint8_t zero[16]; /* the longest register value: an IPv6 address */
	struct nftnl_expr *e = nft_rb_expr(rb, "bitwise");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, (uint32_t)len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, (uint32_t)len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, (uint32_t)len);
}

void nft_rb_ct(struct nft_rb *rb, uint32_t key, int dir)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "ct");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	if (dir >= 0)
		nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, (uint8_t)dir);
}

void nft_rb_imm(struct nft_rb *rb, uint32_t dreg, const void *data, size_t len)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, (uint32_t)len);
}

void nft_rb_verdict(struct nft_rb *rb, int verdict, const char *chain)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	if (chain)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
}

void nft_rb_counter_ref(struct nft_rb *rb, const char *name)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "objref");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
	nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, name);
}

void nft_rb_reject(struct nft_rb *rb, uint32_t type, uint8_t code)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "reject");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
	nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, code);
}

void nft_rb_dnat_ip(struct nft_rb *rb, struct in_addr addr, uint16_t port)
{
	uint8_t be[2] = {(uint8_t)(port >> 8), (uint8_t)port};
	struct nftnl_expr *e;

	nft_rb_imm(rb, NFT_REG_1, &addr.s_addr, sizeof(addr.s_addr));
	nft_rb_imm(rb, NFT_REG_2, be, sizeof(be));
	e = nft_rb_expr(rb, "nat");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
}

/* ---- reading counters back ---- */

#define DUMP_TRIES 3

struct counters_acc {
	const char *table;
	struct nft_counter_val *v;
	size_t n, cap;
};

static int obj_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type <= NFTA_OBJ_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int counter_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type <= NFTA_COUNTER_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static uint64_t u64_of(const struct nlattr *a)
{
	return a && mnl_attr_validate(a, MNL_TYPE_U64) == 0 ? be64toh(mnl_attr_get_u64(a)) : 0;
}

static int on_counter(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NFTA_OBJ_MAX + 1] = {0};
	const struct nlattr *ct[NFTA_COUNTER_MAX + 1] = {0};
	struct counters_acc *acc = data;
	struct nft_counter_val *c;

	if ((nlh->nlmsg_type & 0xff) != NFT_MSG_NEWOBJ ||
	    mnl_attr_parse(nlh, sizeof(struct nfgenmsg), obj_attr, tb) < 0 || !tb[NFTA_OBJ_NAME] ||
	    !tb[NFTA_OBJ_TABLE] || mnl_attr_validate(tb[NFTA_OBJ_NAME], MNL_TYPE_NUL_STRING) < 0 ||
	    mnl_attr_validate(tb[NFTA_OBJ_TABLE], MNL_TYPE_NUL_STRING) < 0 ||
	    strcmp(mnl_attr_get_str(tb[NFTA_OBJ_TABLE]), acc->table) != 0 ||
	    strlen(mnl_attr_get_str(tb[NFTA_OBJ_NAME])) >= sizeof(c->name))
		return MNL_CB_OK;
	if (acc->n == acc->cap) {
		size_t cap = acc->cap ? acc->cap * 2 : 64;
		struct nft_counter_val *v = realloc(acc->v, cap * sizeof(*v));

		if (!v) {
			errno = ENOMEM;
			return MNL_CB_ERROR;
		}
		acc->v = v;
		acc->cap = cap;
	}
	c = &acc->v[acc->n++];
	memset(c, 0, sizeof(*c));
	strcpy(c->name, mnl_attr_get_str(tb[NFTA_OBJ_NAME]));
	if (tb[NFTA_OBJ_DATA] && mnl_attr_parse_nested(tb[NFTA_OBJ_DATA], counter_attr, ct) >= 0) {
		c->packets = u64_of(ct[NFTA_COUNTER_PACKETS]);
		c->bytes = u64_of(ct[NFTA_COUNTER_BYTES]);
	}
	return MNL_CB_OK;
}

int nft_counters_read(struct nft_sock *s, uint16_t family, const char *table,
                      struct nft_counter_val **out, size_t *n)
{
	struct counters_acc acc = {.table = table};
	struct nftnl_obj *o = nftnl_obj_alloc();
	char buf[512];
	int ret = -EINTR;

	*out = NULL;
	*n = 0;
	if (!o)
		return -ENOMEM;
	/* The kernel filters the dump to this table's counters; on_counter checks again. */
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, table);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	for (int t = 0; t < DUMP_TRIES && ret == -EINTR; t++) {
		struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETOBJ, family, 0, 0);

		nftnl_obj_nlmsg_build_payload(nlh, o);
		acc.n = 0; /* what an interrupted dump found */
		ret = nft_sock_dump(s, nlh, on_counter, &acc);
	}
	nftnl_obj_free(o);
	if (ret == -ENOENT)
		ret = 0; /* no table: no counters */
	if (ret < 0 || !acc.n) {
		free(acc.v);
		return ret;
	}
	*out = acc.v;
	*n = acc.n;
	return 0;
}
