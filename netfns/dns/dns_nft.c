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
#include "netfns/firewall/nft_msg.h"

#include <errno.h>

#include <libnftnl/expr.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>

#define UDP_CSUM_OFF 6
#define DNS_PORT     53
#define COOKIE       0

enum { PRE_NAT, OUT_NAT, STEER, ANSWER };

static const struct nft_base_chain bases[] = {
    [PRE_NAT] = {"prerouting", "nat", NF_INET_PRE_ROUTING, -100}, /* dstnat */
    [OUT_NAT] = {"output", "nat", NF_INET_LOCAL_OUT, -100},       /* dstnat */
    [STEER] = {"steer", "filter", NF_INET_PRE_ROUTING, -150},     /* mangle: after conntrack */
    [ANSWER] = {"answer", "filter", NF_INET_LOCAL_OUT, -300},     /* raw: before conntrack */
};
#define N_BASES (sizeof(bases) / sizeof(bases[0]))

/*
 * Starts a rule appended to base chain i that matches "ip saddr|daddr ADDR
 * PROTO sport|dport PORT"; a failure is kept for rule_end to return.
 */
static void rule_start(struct nft_rb *rb, const char *table, size_t i, uint32_t addr_off,
                       struct in_addr addr, uint8_t proto, uint32_t port_off, uint16_t port)
{
	nft_rb_start(rb, NFPROTO_IPV4, table, bases[i].name, NULL);
	nft_rb_payload_eq(rb, NFT_PAYLOAD_NETWORK_HEADER, addr_off, &addr.s_addr, 4);
	nft_rb_port(rb, proto, port_off, port);
}

/* "udp sport|dport set PORT", the UDP checksum updated (left 0 when it is 0). */
static void put_port_set(struct nft_rb *rb, uint32_t port_off, uint16_t port)
{
	uint8_t p[2] = {(uint8_t)(port >> 8), (uint8_t)port};
	struct nftnl_expr *e;

	nft_rb_imm(rb, NFT_REG_1, p, 2);
	e = nft_rb_expr(rb, "payload");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, port_off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, 2);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_CSUM_TYPE, NFT_PAYLOAD_CSUM_INET);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_CSUM_OFFSET, UDP_CSUM_OFF);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_FLAGS, 0);
}

/* Adds the rule being built to the batch and frees it. */
static int rule_end(struct nft_batch *b, struct nft_rb *rb)
{
	return nft_rb_end(rb, b, NLM_F_CREATE | NLM_F_APPEND, COOKIE);
}

int dns_nft_put_apply(struct nft_batch *b, const char *table, struct in_addr listen, uint16_t port,
                      const uint16_t *ports, size_t n_ports)
{
	struct nft_rb rb;
	int ret;

	if (!port || !listen.s_addr)
		return -EINVAL;
	ret = nft_put_table(b, NFPROTO_IPV4, table, NFT_MSG_NEWTABLE, COOKIE);
	for (size_t i = 0; i < N_BASES && !ret; i++)
		ret = nft_put_chain(b, NFPROTO_IPV4, table, &bases[i], NULL, NFT_MSG_NEWCHAIN,
		                    COOKIE);
	/* A DELRULE naming the table and no chain: every rule of the table goes. */
	if (!ret)
		ret = nft_put_delrule(b, NFPROTO_IPV4, table, NULL, 0, COOKIE);
	/* TCP: NAT, for peers (prerouting) and for the node itself (output). */
	for (size_t i = PRE_NAT; i <= OUT_NAT && !ret; i++) {
		rule_start(&rb, table, i, NFT_IP_DADDR_OFF, listen, IPPROTO_TCP, NFT_TH_DPORT_OFF,
		           DNS_PORT);
		nft_rb_dnat_ip(&rb, listen, port);
		ret = rule_end(b, &rb);
	}
	/* UDP: queries to the active slot's port, answers from every slot's back to 53. */
	if (!ret) {
		rule_start(&rb, table, STEER, NFT_IP_DADDR_OFF, listen, IPPROTO_UDP,
		           NFT_TH_DPORT_OFF, DNS_PORT);
		put_port_set(&rb, NFT_TH_DPORT_OFF, port);
		ret = rule_end(b, &rb);
	}
	for (size_t k = 0; k < n_ports && !ret; k++) {
		rule_start(&rb, table, ANSWER, NFT_IP_SADDR_OFF, listen, IPPROTO_UDP,
		           NFT_TH_SPORT_OFF, ports[k]);
		put_port_set(&rb, NFT_TH_SPORT_OFF, DNS_PORT);
		ret = rule_end(b, &rb);
	}
	return ret;
}

int dns_nft_put_delete(struct nft_batch *b, const char *table)
{
	int ret = nft_put_table(b, NFPROTO_IPV4, table, NFT_MSG_NEWTABLE, COOKIE);

	return ret ? ret : nft_put_table(b, NFPROTO_IPV4, table, NFT_MSG_DELTABLE, COOKIE);
}
