/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside the firewall's agent half: how an fw_config becomes nftables
 * objects. fw_plan.c expands a config into kernel rules (struct fw_krule:
 * the fixed rules default deny keeps, each user rule once per address family
 * it needs, in parts the base chains jump to) and diffs two such lists into
 * the few messages that turn one into the other; fw_nft_sets.c turns address
 * and port lists into elements of shared sets; fw_nft_build.c writes each
 * object as a netlink message into an nft batch. All are pure (no socket),
 * so the unit tests check them without root. fw_agent.c puts them together.
 */
#ifndef NETFN_FIREWALL_FW_NFT_H
#define NETFN_FIREWALL_FW_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netfns/firewall/fw.h"
#include "netfns/firewall/nft.h"

enum fw_chain { FW_CHAIN_INPUT = 0, FW_CHAIN_OUTPUT, FW_CHAIN_FORWARD, FW_CHAIN_N };

/* What a rule the agent adds on its own is for; FW_FIX_NONE: a user rule. */
enum fw_fixed {
	FW_FIX_NONE = 0,
	FW_FIX_LOOPBACK,    /* iif/oif lo accept */
	FW_FIX_ESTABLISHED, /* ct state established,related accept (input, before the deny) */
	FW_FIX_WIREGUARD,   /* the overlay's UDP port */
	FW_FIX_CONTROLLER,  /* one controller endpoint */
	FW_FIX_SSH,         /* tcp/22 under default deny */
	FW_FIX_DENY,        /* the final drop of default deny */
	FW_FIX_PICKUP,      /* TCP flows older than conntrack: new, but not a SYN (input) */
	FW_FIX_JUMP,        /* to one part of the chain's user rules */
};

/*
 * User rules sit in parts: regular chains the base chain jumps to in order,
 * so that a change rebuilds one part in the kernel, not the whole chain. A
 * part ends after a rule whose id hashes to 0 mod FW_PART_SIZE (named after
 * it, "input_r17"), the last one after the last rule ("input_rest"): parts
 * depend on the rules around them only, so an edit reshapes one part at most.
 */
enum fw_part { FW_PART_BASE = 0, FW_PART_ENDS, FW_PART_REST };
#define FW_PART_SIZE      256
#define FW_CHAIN_NAME_MAX 32

/* One rule as the kernel holds it. */
struct fw_krule {
	enum fw_chain chain;
	enum fw_fixed fixed;
	size_t rule;      /* user rules: index in the config's rules */
	uint8_t family;   /* user rules: 0 (no address match), NFPROTO_IPV4 or NFPROTO_IPV6 */
	uint8_t index;    /* FW_FIX_CONTROLLER: which keep[] endpoint */
	uint8_t part;     /* enum fw_part: where the rule sits (user rules: never the base) */
	uint8_t to_part;  /* FW_FIX_JUMP: the part jumped to */
	uint64_t part_id; /* FW_PART_ENDS: the id of the rule that ends the part */
	uint64_t to_id;   /* FW_FIX_JUMP: its part_id */
	uint32_t tag;     /* keys this rule's elements in the shared sets (even, > 0) */
	uint64_t handle;  /* the kernel's handle once applied; 0 while unknown */
};

/* The name of a chain: "input", "input_r17", "input_rest"; buf has FW_CHAIN_NAME_MAX bytes. */
void fw_part_name(enum fw_chain c, uint8_t part, uint64_t id, char *buf);

/* What a user rule matches on beyond protocol and family. */
enum fw_dim { FW_DIM_SRC = 0, FW_DIM_DST, FW_DIM_PORT, FW_DIM_N };

/* The shared sets that hold every rule's lists, keyed by tag (fw_nft_sets.c). */
enum fw_set { FW_SET_SRC4 = 0, FW_SET_DST4, FW_SET_SRC6, FW_SET_DST6, FW_SET_PORT, FW_SET_N };

/* A closed range of big-endian values. */
struct fw_span {
	uint8_t lo[16];
	uint8_t hi[16];
};

/* One dimension of a kernel rule: its merged ranges (n 0: not matched). */
struct fw_dim_match {
	size_t n;
	struct fw_span *spans; /* malloc'd */
	size_t len;            /* bytes of a value: 4, 16 or 2 */
	enum fw_set set;       /* where the ranges go when there are several */
};

/* One change to a chain, as the diff orders them. */
enum fw_op_kind {
	FW_OP_DELETE,  /* old[idx] goes */
	FW_OP_INSERT,  /* new[idx] is added before the rule with handle pos, or appended (pos 0) */
	FW_OP_REPLACE, /* old rule with handle pos becomes new[idx] in place */
};

struct fw_op {
	enum fw_op_kind kind;
	size_t idx;
	uint64_t pos;
	size_t old; /* FW_OP_REPLACE: the old rule's index */
};

/* What turns an applied config into a new one. */
struct fw_diff {
	size_t n_ops;
	struct fw_op *ops; /* deletes, then inserts, then replaces */
	size_t n_add;
	size_t *add; /* indexes of new rules whose counter is created */
	size_t n_del;
	size_t *del; /* indexes of old rules whose counter goes */
	size_t n_add_parts;
	size_t *add_parts; /* new jump rules whose part is a new chain */
	size_t n_del_parts;
	size_t *del_parts; /* old jump rules whose part goes */
};

/* The counter object's name of a rule: "r<id>"; buf has FW_COUNTER_NAME_MAX bytes. */
#define FW_COUNTER_NAME_MAX 24
void fw_counter_name(uint64_t id, char *buf);

/* Parses a counter object's name back to its rule id; false when it is not one of ours. */
bool fw_counter_id(const char *name, uint64_t *id);

/* The comment the kernel keeps with a rule ("rule 17", "netfn: default deny"). */
#define FW_COMMENT_MAX 40
void fw_krule_comment(const struct fw_config *cfg, const struct fw_krule *k, char *buf);

/* Expands cfg into its kernel rules, chain by chain in order; *out is malloc'd. */
int fw_plan_expand(const struct fw_config *cfg, struct fw_krule **out, size_t *n);

/*
 * Diffs the applied rules (old, of old_cfg, with handles) against the wanted
 * ones (new, of new_cfg): new rules that stay get their handles; out lists
 * the messages. -EINVAL (with the id in *dup) when new_cfg repeats a rule id.
 */
int fw_plan_diff(const struct fw_config *old_cfg, const struct fw_krule *old, size_t n_old,
                 const struct fw_config *new_cfg, struct fw_krule *new, size_t n_new,
                 struct fw_diff *out, uint64_t *dup);

/* Frees what a diff holds and zeroes it. */
void fw_diff_free(struct fw_diff *d);

/* True when two user rules make the same kernel rules (their policy names aside). */
bool fw_rule_same(const struct fw_rule *a, const struct fw_rule *b);

/* What a message's cookie points back to: a kind and an index. */
enum fw_cookie {
	FW_CK_TABLE = 1, /* the table or a chain */
	FW_CK_NEW_RULE,  /* index in the new kernel rules */
	FW_CK_OLD_RULE,  /* index in the old kernel rules */
	FW_CK_NEW_CTR,   /* index in the new config's rules */
	FW_CK_OLD_CTR,   /* index in the old config's rules */
};
#define FW_COOKIE(kind, idx) ((uint64_t)(kind) << 48 | (uint64_t)(idx))
#define FW_COOKIE_KIND(c)    ((enum fw_cookie)((c) >> 48))
#define FW_COOKIE_IDX(c)     ((size_t)((c)&0xffffffffffffULL))

/* The chain names, indexed by enum fw_chain. */
extern const char *const fw_chain_names[FW_CHAIN_N];

/*
 * Messages for batch b, table in family inet; each one's cookie is the
 * caller's. A negative return is -ENOMEM (the batch is then unusable).
 */
int fw_nft_put_table(struct nft_batch *b, const char *table, uint16_t type, uint64_t cookie);
int fw_nft_put_chain(struct nft_batch *b, const char *table, enum fw_chain c, uint64_t cookie);
int fw_nft_put_part(struct nft_batch *b, const char *table, const struct fw_krule *jump,
                    uint16_t type, uint64_t cookie);
int fw_nft_put_counter(struct nft_batch *b, const char *table, uint64_t id, uint16_t type,
                       uint64_t cookie);
int fw_nft_put_delrule(struct nft_batch *b, const char *table, const struct fw_krule *k,
                       uint64_t handle, uint64_t cookie);

/*
 * The message that adds k: appended (pos 0), before the rule with handle
 * pos, or (replace) in place of it. Its lists must be in the shared sets
 * under k->tag (fw_nft_put_elems). echo asks the kernel to send the new rule
 * back (for its handle).
 */
int fw_nft_put_rule(struct nft_batch *b, const char *table, const struct fw_config *cfg,
                    const struct fw_krule *k, uint64_t pos, bool replace, bool echo,
                    uint64_t cookie);

/* Dimension d of user rule k of cfg, merged; out->spans is freed with fw_dim_free. */
int fw_dim_spans(const struct fw_config *cfg, const struct fw_krule *k, enum fw_dim d,
                 struct fw_dim_match *out);
void fw_dim_free(struct fw_dim_match *m);

/* The shared sets come in buckets, chosen by tag. */
#define FW_SET_BUCKETS  16
#define FW_SET_NAME_MAX 16
unsigned int fw_set_bucket(uint32_t tag);

/* The name of set s's bucket for tag ("src4_3"). */
void fw_set_name(enum fw_set s, uint32_t tag, char *buf);

/*
 * Adds (or deletes) k's lists of two or more ranges to (from) its buckets of
 * the shared sets. Adding creates a bucket first unless made[set] (one bit
 * per bucket, kept by the caller for the batch) says it was made already.
 */
int fw_nft_put_elems(struct nft_batch *b, const char *table, const struct fw_config *cfg,
                     const struct fw_krule *k, bool add, uint16_t *made, uint64_t cookie);

/*
 * All the messages of diff d as one batch: with full, the table is first
 * replaced ("add table; delete table; add table", its chains and shared
 * sets, whether or not it existed); then the new counters, the rule changes
 * in the diff's order (each new rule's set elements before it, under a new
 * tag from *tag_seq), the old rules' elements and the counters that go. New
 * rules ask for an echo (their handles) when there are at most echo_max.
 */
int fw_nft_put_plan(struct nft_batch *b, const char *table, bool full,
                    const struct fw_config *old_cfg, const struct fw_krule *old,
                    const struct fw_config *cfg, struct fw_krule *new, const struct fw_diff *d,
                    size_t echo_max, uint32_t *tag_seq);

#endif
