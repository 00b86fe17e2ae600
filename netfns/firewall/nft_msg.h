/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The nftables messages every network function's table is made of, written
 * with libnftnl into an nft batch (nft.h): the table, its chains, named
 * counters, rule deletes and flushes, and a rule builder with the
 * expressions more than one function needs. Each takes the address family
 * of its table: NFPROTO_INET for the firewall, NFPROTO_IPV4 for the load
 * balancer and DNS tables. Expressions are encoded as nft(8) encodes the same
 * statements, so `nft list` prints them back as rules a person can read.
 * What one function alone matches on (sets, maps, limits, logging) it builds
 * itself with nft_rb_expr.
 */
#ifndef NETFN_FIREWALL_NFT_MSG_H
#define NETFN_FIREWALL_NFT_MSG_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "netfns/firewall/nft.h"

struct nftnl_expr;
struct nftnl_rule;

/* Offsets of header fields, for nft_rb_payload and nft_rb_payload_eq. */
#define NFT_IP_SADDR_OFF 12
#define NFT_IP_DADDR_OFF 16
#define NFT_TH_SPORT_OFF 0
#define NFT_TH_DPORT_OFF 2

/* A named counter object as read back from the kernel. */
struct nft_counter_val {
	char name[64]; /* longer names are not ours and are skipped */
	uint64_t packets;
	uint64_t bytes;
};

/*
 * Reads every named counter of table (in family) with one dump, started over
 * when a change interrupts it; *out is malloc'd (NULL with *n 0 when the
 * table has none or does not exist).
 */
int nft_counters_read(struct nft_sock *s, uint16_t family, const char *table,
                      struct nft_counter_val **out, size_t *n);

/* A base chain: where it hooks in; its policy is always accept. */
struct nft_base_chain {
	const char *name;
	const char *type; /* "filter", "nat" */
	uint32_t hook;    /* NF_INET_* */
	int32_t prio;
};

/* A rule being built; err keeps the first failure, after which nothing more is added. */
struct nft_rb {
	struct nftnl_rule *r;
	uint16_t family;
	int err;
};

/* Adds a NEWTABLE (with NLM_F_CREATE) or DELTABLE message for table; -ENOMEM on failure. */
int nft_put_table(struct nft_batch *b, uint16_t family, const char *table, uint16_t type,
                  uint64_t cookie);

/*
 * Adds a NEWCHAIN (with NLM_F_CREATE, never NLM_F_EXCL) or DELCHAIN message:
 * for the base chain base, or with base NULL for the regular chain name.
 */
int nft_put_chain(struct nft_batch *b, uint16_t family, const char *table,
                  const struct nft_base_chain *base, const char *name, uint16_t type,
                  uint64_t cookie);

/* Adds a NEWOBJ (with NLM_F_CREATE, never NLM_F_EXCL) or DELOBJ message for named counter name. */
int nft_put_counter(struct nft_batch *b, uint16_t family, const char *table, const char *name,
                    uint16_t type, uint64_t cookie);

/*
 * Adds a DELRULE message: rule handle of chain, every rule of chain (handle
 * 0), or every rule of the table (chain NULL).
 */
int nft_put_delrule(struct nft_batch *b, uint16_t family, const char *table, const char *chain,
                    uint64_t handle, uint64_t cookie);

/*
 * Starts a rule of chain, commented comment unless it is NULL or "". Returns
 * 0, or -ENOMEM (-EINVAL for a comment longer than the kernel keeps), kept in
 * rb->err too: the rest of the rule may still be written, and nft_rb_end
 * returns that error.
 */
int nft_rb_start(struct nft_rb *rb, uint16_t family, const char *table, const char *chain,
                 const char *comment);

/*
 * Adds the rule to b as a NEWRULE message with flags (NLM_F_CREATE |
 * NLM_F_APPEND to append) unless building it failed, frees it, and returns
 * the first error.
 */
int nft_rb_end(struct nft_rb *rb, struct nft_batch *b, uint16_t flags, uint64_t cookie);

/* Appends a new expression of type name; NULL (with rb->err set) on failure or after one. */
struct nftnl_expr *nft_rb_expr(struct nft_rb *rb, const char *name);

/* Compares register 1 with the len bytes at data (op NFT_CMP_*). */
void nft_rb_cmp(struct nft_rb *rb, uint32_t op, const void *data, size_t len);

/* Loads meta key (NFT_META_*) into register 1. */
void nft_rb_meta(struct nft_rb *rb, uint32_t key);

/* Matches the layer 4 protocol (IPPROTO_*): "meta l4proto tcp". */
void nft_rb_l4proto(struct nft_rb *rb, uint8_t proto);

/* Loads len bytes at off of header base (NFT_PAYLOAD_*_HEADER) into register dreg. */
void nft_rb_payload(struct nft_rb *rb, uint32_t base, uint32_t off, uint32_t len, uint32_t dreg);

/* Matches len bytes at off of header base against data: "ip daddr 10.0.0.1". */
void nft_rb_payload_eq(struct nft_rb *rb, uint32_t base, uint32_t off, const void *data,
                       uint32_t len);

/* Matches protocol proto and the port at off (NFT_TH_*_OFF) of its header: "tcp dport 80". */
void nft_rb_port(struct nft_rb *rb, uint8_t proto, uint32_t off, uint16_t port);

/* ANDs the len bytes of register 1 with mask, in place. */
void nft_rb_bitwise(struct nft_rb *rb, const void *mask, size_t len);

/* Loads conntrack key (NFT_CT_*) of direction dir (IP_CT_DIR_*; < 0: none) into register 1. */
void nft_rb_ct(struct nft_rb *rb, uint32_t key, int dir);

/* Loads the len bytes at data into register dreg. */
void nft_rb_imm(struct nft_rb *rb, uint32_t dreg, const void *data, size_t len);

/* Ends the rule with verdict (NF_ACCEPT, NF_DROP, NFT_JUMP, NFT_GOTO), to chain for the last two.
 */
void nft_rb_verdict(struct nft_rb *rb, int verdict, const char *chain);

/* Counts the packet in the table's named counter name. */
void nft_rb_counter_ref(struct nft_rb *rb, const char *name);

/* Rejects the packet with type (NFT_REJECT_*) and code. */
void nft_rb_reject(struct nft_rb *rb, uint32_t type, uint8_t code);

/* Rewrites the destination to addr:port (host order): "dnat ip to 10.0.0.2:8080". */
void nft_rb_dnat_ip(struct nft_rb *rb, struct in_addr addr, uint16_t port);

#endif
