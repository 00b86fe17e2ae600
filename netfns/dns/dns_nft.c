// SPDX-License-Identifier: Apache-2.0
/*
 * Writes the DNS function's steering table into an nft batch with libnftnl
 * (see dns_nft.h). Expressions are encoded as nft(8) 1.0.6 encodes the same
 * statements (checked with `nft --debug=netlink`), so `nft list table ip
 * netfn_dns` prints the rules of dns_nft.h.
 *
 * Each apply flushes the table's rules and adds them all again in the same
 * transaction rather than editing one: that is atomic for packets, and the
 * flip from one slot to the other is exactly such an apply.
 */
#include "netfns/dns/dns_nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>

#define IP_SADDR_OFF 12
#define IP_DADDR_OFF 16
#define TH_SPORT_OFF 0
#define TH_DPORT_OFF 2
#define UDP_CSUM_OFF 6
#define DNS_PORT     53
#define COOKIE       0

enum { PRE_NAT, OUT_NAT, STEER, ANSWER };

static const struct {
	const char *name;
	const char *type;
	uint32_t hook;
	int32_t prio;
} bases[] = {
    [PRE_NAT] = {"prerouting", "nat", NF_INET_PRE_ROUTING, -100}, /* dstnat */
    [OUT_NAT] = {"output", "nat", NF_INET_LOCAL_OUT, -100},       /* dstnat */
    [STEER] = {"steer", "filter", NF_INET_PRE_ROUTING, -150},     /* mangle: after conntrack */
    [ANSWER] = {"answer", "filter", NF_INET_LOCAL_OUT, -300},     /* raw: before conntrack */
};
#define N_BASES (sizeof(bases) / sizeof(bases[0]))

static int put_table(struct nft_batch *b, const char *table, uint16_t type)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
	nlh = nft_batch_add(b, type, NFPROTO_IPV4, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0,
	                    COOKIE);
	if (nlh) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		ret = 0;
	}
	nftnl_table_free(t);
	return ret;
}

static int put_base_chain(struct nft_batch *b, const char *table, size_t i)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!ch)
		return -ENOMEM;
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, bases[i].name);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, bases[i].type);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, bases[i].hook);
	nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, bases[i].prio);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	/* No NLM_F_EXCL: a chain that exists is left as it is. */
	nlh = nft_batch_add(b, NFT_MSG_NEWCHAIN, NFPROTO_IPV4, NLM_F_CREATE, COOKIE);
	if (nlh) {
		nftnl_chain_nlmsg_build_payload(nlh, ch);
		ret = 0;
	}
	nftnl_chain_free(ch);
	return ret;
}

/* DELRULE naming the table and no chain: every rule of the table goes. */
static int put_flush(struct nft_batch *b, const char *table)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!r)
		return -ENOMEM;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
	nlh = nft_batch_add(b, NFT_MSG_DELRULE, NFPROTO_IPV4, 0, COOKIE);
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		ret = 0;
	}
	nftnl_rule_free(r);
	return ret;
}

/* Adds a new expression named name to r; NULL when out of memory. */
static struct nftnl_expr *expr(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (e)
		nftnl_rule_add_expr(r, e);
	return e;
}

static bool put_payload_cmp(struct nftnl_rule *r, uint32_t base, uint32_t off, const void *data,
                            uint32_t len)
{
	struct nftnl_expr *p = expr(r, "payload");
	struct nftnl_expr *c = p ? expr(r, "cmp") : NULL;

	if (!c)
		return false;
	nftnl_expr_set_u32(p, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(p, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(p, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(p, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(c, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(c, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(c, NFTNL_EXPR_CMP_DATA, data, len);
	return true;
}

static bool put_imm(struct nftnl_rule *r, uint32_t dreg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = expr(r, "immediate");

	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
	return true;
}

/* Starts a rule appended to base chain i. */
static struct nftnl_rule *rule_new(const char *table, size_t i)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return NULL;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, bases[i].name);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
	return r;
}

/* "ip saddr|daddr ADDR PROTO sport|dport PORT" into r. */
static bool put_match(struct nftnl_rule *r, uint32_t addr_off, struct in_addr addr, uint8_t proto,
                      uint32_t port_off, uint16_t port)
{
	uint8_t p[2] = {(uint8_t)(port >> 8), (uint8_t)port};
	struct nftnl_expr *m, *c;

	if (!put_payload_cmp(r, NFT_PAYLOAD_NETWORK_HEADER, addr_off, &addr.s_addr, 4))
		return false;
	m = expr(r, "meta");
	c = m ? expr(r, "cmp") : NULL;
	if (!c)
		return false;
	nftnl_expr_set_u32(m, NFTNL_EXPR_META_KEY, NFT_META_L4PROTO);
	nftnl_expr_set_u32(m, NFTNL_EXPR_META_DREG, NFT_REG_1);
	nftnl_expr_set_u32(c, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(c, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(c, NFTNL_EXPR_CMP_DATA, &proto, 1);
	return put_payload_cmp(r, NFT_PAYLOAD_TRANSPORT_HEADER, port_off, p, 2);
}

/* "udp sport|dport set PORT", the UDP checksum updated (left 0 when it is 0). */
static bool put_port_set(struct nftnl_rule *r, uint32_t port_off, uint16_t port)
{
	uint8_t p[2] = {(uint8_t)(port >> 8), (uint8_t)port};
	struct nftnl_expr *e;

	if (!put_imm(r, NFT_REG_1, p, 2))
		return false;
	e = expr(r, "payload");
	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, port_off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, 2);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_CSUM_TYPE, NFT_PAYLOAD_CSUM_INET);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_CSUM_OFFSET, UDP_CSUM_OFF);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_FLAGS, 0);
	return true;
}

/* "dnat to ADDR:PORT" */
static bool put_dnat(struct nftnl_rule *r, struct in_addr addr, uint16_t port)
{
	uint8_t p[2] = {(uint8_t)(port >> 8), (uint8_t)port};
	struct nftnl_expr *e;

	if (!put_imm(r, NFT_REG_1, &addr.s_addr, 4) || !put_imm(r, NFT_REG_2, p, 2))
		return false;
	e = expr(r, "nat");
	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
	return true;
}

/* Adds r to the batch (ok false: it could not be built) and frees it. */
static int rule_end(struct nft_batch *b, struct nftnl_rule *r, bool ok)
{
	struct nlmsghdr *nlh = NULL;

	if (ok)
		nlh = nft_batch_add(b, NFT_MSG_NEWRULE, NFPROTO_IPV4, NLM_F_CREATE | NLM_F_APPEND,
		                    COOKIE);
	if (nlh)
		nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	return nlh ? 0 : -ENOMEM;
}

int dns_nft_put_apply(struct nft_batch *b, const char *table, struct in_addr listen, uint16_t port,
                      const uint16_t *ports, size_t n_ports)
{
	struct nftnl_rule *r;
	int ret;

	if (!port || !listen.s_addr)
		return -EINVAL;
	ret = put_table(b, table, NFT_MSG_NEWTABLE);
	for (size_t i = 0; i < N_BASES && !ret; i++)
		ret = put_base_chain(b, table, i);
	if (!ret)
		ret = put_flush(b, table);
	/* TCP: NAT, for peers (prerouting) and for the node itself (output). */
	for (size_t i = PRE_NAT; i <= OUT_NAT && !ret; i++) {
		r = rule_new(table, i);
		if (!r)
			return -ENOMEM;
		ret = rule_end(
		    b, r,
		    put_match(r, IP_DADDR_OFF, listen, IPPROTO_TCP, TH_DPORT_OFF, DNS_PORT) &&
		        put_dnat(r, listen, port));
	}
	/* UDP: queries to the active slot's port, answers from every slot's back to 53. */
	if (!ret) {
		r = rule_new(table, STEER);
		if (!r)
			return -ENOMEM;
		ret = rule_end(
		    b, r,
		    put_match(r, IP_DADDR_OFF, listen, IPPROTO_UDP, TH_DPORT_OFF, DNS_PORT) &&
		        put_port_set(r, TH_DPORT_OFF, port));
	}
	for (size_t k = 0; k < n_ports && !ret; k++) {
		r = rule_new(table, ANSWER);
		if (!r)
			return -ENOMEM;
		ret = rule_end(
		    b, r,
		    put_match(r, IP_SADDR_OFF, listen, IPPROTO_UDP, TH_SPORT_OFF, ports[k]) &&
		        put_port_set(r, TH_SPORT_OFF, DNS_PORT));
	}
	return ret;
}

int dns_nft_put_delete(struct nft_batch *b, const char *table)
{
	int ret = put_table(b, table, NFT_MSG_NEWTABLE);

	return ret ? ret : put_table(b, table, NFT_MSG_DELTABLE);
}
