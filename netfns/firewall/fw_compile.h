/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The controller half of the firewall. Rules live as text (what the API
 * carries and the store keeps); fw_rule_parse is the one grammar for that
 * text, used by the API to refuse bad input and by the compiler to read the
 * store back, so nothing is stored that the compiler cannot read. The
 * compiler turns a network's policies and members into one node's
 * fw_config, resolving label selectors to the members' overlay addresses.
 * Pure C: no store, no protobuf.
 *
 * Grammar, per field:
 *   direction   in | out | forward                      ("" means in)
 *   protocol    tcp | udp | icmp | icmpv6 | any          ("" means any)
 *   src, dst    entries separated by spaces, none meaning any; each a
 *               prefix ("10.0.0.0/8", "2001:db8::/32"), an address
 *               ("192.0.2.7", a /32) or a label selector "k=v[,k2=v2...]"
 *               (the members carrying all of these labels)
 *   dst_port    "22", "8000-8080" or a list "80,443,8000-8100"; ports
 *               1-65535, tcp and udp only; "" any
 *   action      accept | drop | reject                   (required)
 *   rate        "N/second", "N/minute" or "N/hour", N 1-1000000; "" none
 *   log_prefix  printable ASCII without " ' \ ;, under 64 chars
 */
#ifndef NETFN_FIREWALL_FW_COMPILE_H
#define NETFN_FIREWALL_FW_COMPILE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netfns/firewall/fw.h"

#define FW_MAX_LABELS     16  /* a member's labels, a policy's selector */
#define FW_MAX_ENTRIES    16  /* src or dst entries of one rule */
#define FW_ENTRY_MAX      128 /* one entry's text, with its NUL */
#define FW_LIST_MAX       (FW_MAX_ENTRIES * FW_ENTRY_MAX) /* src or dst text, joined */
#define FW_MAX_PORTS      32                              /* ports and ranges of one rule */
#define FW_PORTS_TEXT_MAX 256
#define FW_RATE_TEXT_MAX  24
#define FW_WORD_MAX       8 /* direction, protocol, action: "forward" and its NUL */
#define FW_RATE_MAX       1000000
#define FW_MAX_POLICY_RULES                                                                        \
	10000 /* bounds one policy; 10k rules pack to ~0.7 MiB, under the 4 MiB frame */

struct fw_label {
	char key[FW_NAME_MAX];
	char value[FW_NAME_MAX];
};

/* A src or dst entry: a prefix, or a label selector resolved at compile time. */
struct fw_entry {
	bool selector;
	struct nf_prefix prefix; /* when !selector */
	char text[FW_ENTRY_MAX]; /* canonical: the prefix formatted, or the selector as given */
};

/* A rule parsed and checked; its selectors are not resolved yet. */
struct fw_rule_spec {
	uint64_t id;
	enum fw_dir dir;
	enum fw_proto proto;
	size_t n_src, n_dst;
	struct fw_entry src[FW_MAX_ENTRIES];
	struct fw_entry dst[FW_MAX_ENTRIES];
	size_t n_ports;
	struct fw_port_range ports[FW_MAX_PORTS]; /* sorted, overlaps merged */
	enum fw_action action;
	uint32_t rate; /* 0: no limit */
	enum fw_rate_unit rate_unit;
	char log_prefix[FW_LOG_PREFIX_MAX];
};

/* A rule as text: each field as in the grammar above; NULL reads as "". */
struct fw_rule_text {
	uint64_t id;
	const char *direction;
	const char *protocol;
	const char *src; /* entries separated by spaces */
	const char *dst;
	const char *dst_port;
	const char *action;
	const char *rate;
	const char *log_prefix;
};

/* Why text was refused: the field, the offending value as given (make it printable before
 * showing it), and the reason. */
struct fw_error {
	const char *field; /* "direction", "protocol", "src", "dst", "dst_port", ... */
	char value[FW_ENTRY_MAX];
	char reason[160];
};

/* A rule's canonical text, as the store keeps it. */
struct fw_rule_canon {
	char direction[FW_WORD_MAX];
	char protocol[FW_WORD_MAX];
	char src[FW_LIST_MAX];
	char dst[FW_LIST_MAX];
	char dst_port[FW_PORTS_TEXT_MAX];
	char action[FW_WORD_MAX];
	char rate[FW_RATE_TEXT_MAX];
	char log_prefix[FW_LOG_PREFIX_MAX];
};

/* A policy as the compiler sees it. */
struct fw_policy_spec {
	int64_t id;
	char name[FW_NAME_MAX];
	size_t n_selector; /* 0: every member */
	struct fw_label selector[FW_MAX_LABELS];
	bool default_deny;
	bool block_ssh;
	size_t n_rules;
	const struct fw_rule_spec *rules; /* in position order */
};

/* A member node as the compiler sees it. */
struct fw_member {
	int64_t id;
	struct in_addr address; /* overlay address */
	size_t n_labels;
	struct fw_label labels[FW_MAX_LABELS];
};

/* A network's policies with every selector resolved, ready to compile each node. */
struct fw_compiler;

/* Parses one src/dst entry; false with the reason in err (field left to the caller). */
bool fw_entry_parse(const char *s, struct fw_entry *out, struct fw_error *err);

/* Parses and checks a rule's text into out; -EINVAL with err filled when any field is bad. */
int fw_rule_parse(const struct fw_rule_text *in, struct fw_rule_spec *out, struct fw_error *err);

/* Writes a parsed rule's canonical text (what fw_rule_parse reads back to the same rule). */
void fw_rule_canon(const struct fw_rule_spec *r, struct fw_rule_canon *out);

/* True when the labels include every label of the selector (an empty selector: always). */
bool fw_labels_match(const struct fw_label *selector, size_t n_selector,
                     const struct fw_label *labels, size_t n_labels);

/*
 * Resolves every rule of policies[0..n) (ordered by id) against members
 * [0..n_members); everything needed is copied, so the inputs may go.
 */
int fw_compile_prepare(const struct fw_policy_spec *policies, size_t n,
                       const struct fw_member *members, size_t n_members, uint16_t wg_port,
                       struct fw_compiler **out);

/*
 * Compiles member self_id's config: the rules of the policies whose
 * selector its labels match, policy by policy, each in position order.
 * Inbound is default-deny when any of those policies asks for it; SSH stays
 * open under it unless one of the default-deny policies sets block_ssh.
 * -ENOENT when self_id is not a member.
 */
int fw_compile_node(const struct fw_compiler *fc, int64_t self_id, struct fw_config *out);

/* Frees a compiler; accepts NULL. */
void fw_compile_free(struct fw_compiler *fc);

/* fw_compile_prepare, fw_compile_node and fw_compile_free in one, for a single node. */
int fw_compile(const struct fw_policy_spec *policies, size_t n, const struct fw_member *members,
               size_t n_members, uint16_t wg_port, int64_t self_id, struct fw_config *out);

#endif
