/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The firewall network function as plain C values. The controller half
 * (fw_compile.c) turns a network's policies and nodes into one node's
 * fw_config, resolving label selectors to overlay addresses; the agent half
 * (fw_agent.h) applies an fw_config to the node's own nftables table in one
 * transaction and reads back per-rule counters. No protobuf here: conversion
 * happens at the RPC edge (proto/conv_fw.c).
 */
#ifndef NETFN_FIREWALL_FW_H
#define NETFN_FIREWALL_FW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "netfns/common/prefix.h"

#define FW_NAME_MAX       64
#define FW_LOG_PREFIX_MAX 64 /* nftables allows 127; shorter keeps log lines readable */
#define FW_MAX_KEEP       4  /* controller endpoints kept open under default deny */
#define FW_SSH_PORT       22

enum fw_dir { FW_IN = 0, FW_OUT, FW_FORWARD };
enum fw_proto { FW_ANY = 0, FW_TCP, FW_UDP, FW_ICMP, FW_ICMPV6 };
enum fw_action { FW_ACCEPT = 0, FW_DROP, FW_REJECT };
enum fw_rate_unit { FW_PER_SECOND = 0, FW_PER_MINUTE, FW_PER_HOUR };

struct fw_port_range {
	uint16_t first, last; /* first <= last; a single port has first == last */
};

struct fw_rule {
	uint64_t id; /* stable across revisions: counters and errors are reported by id */
	enum fw_dir dir;
	enum fw_proto proto;
	bool src_any; /* no source constraint */
	size_t n_src;
	struct nf_prefix *src; /* owned; empty with !src_any: the rule matches nothing */
	bool dst_any;
	size_t n_dst;
	struct nf_prefix *dst; /* owned */
	size_t n_ports;
	struct fw_port_range *ports; /* owned; empty: any port (tcp/udp only) */
	enum fw_action action;
	uint32_t rate; /* packets per rate_unit; 0: no limit */
	enum fw_rate_unit rate_unit;
	char log_prefix[FW_LOG_PREFIX_MAX]; /* "" no logging; printable, no quotes */
	char policy[FW_NAME_MAX];           /* the policy it came from, for messages */
};

/* One node's desired firewall, in evaluation order. */
struct fw_config {
	uint64_t revision;
	bool default_deny; /* inbound */
	bool keep_ssh;     /* with default_deny: tcp/22 stays open */
	uint16_t wg_port;  /* the overlay's UDP port, kept open with default_deny */
	size_t n_keep;
	struct sockaddr_storage keep[FW_MAX_KEEP]; /* controller endpoints (agent side) */
	size_t n_rules;
	struct fw_rule *rules; /* owned */
};

/* Per-rule counters read back from the kernel. */
struct fw_counter {
	uint64_t rule_id;
	uint64_t packets;
	uint64_t bytes;
};

/* Frees what a fw_config owns and zeroes it; accepts a zeroed config. */
void fw_config_free(struct fw_config *cfg);

#endif
