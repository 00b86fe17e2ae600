/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The traffic classes network function as plain C values. A network's
 * classes apply to what each node sends into the overlay: the agent marks
 * matching packets with their class (nftables `meta priority`, in its own
 * table) and shapes its overlay interface with an HTB tree over rtnetlink:
 * the root at the network's link rate, one class per traffic class with its
 * floor (rate) and ceiling (ceil), and a default class for the rest. No
 * protobuf here: conversion is at the RPC edge, proto/conv_qos.c.
 */
#ifndef NETFN_QOS_H
#define NETFN_QOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netfns/common/prefix.h"

#define QOS_NAME_MAX      64
#define QOS_MAX_CLASSES   64
#define QOS_MAX_MATCHES   64 /* per class */
#define QOS_PRIO_MAX      7
#define QOS_RATE_MIN_BPS  8000ULL         /* 8 kbit */
#define QOS_RATE_MAX_BPS  100000000000ULL /* 100 gbit */
#define QOS_MINOR_FIRST   2               /* 1: the root class */
#define QOS_MINOR_DEFAULT 0xffff          /* unclassified traffic */

struct qos_match {
	uint8_t protocol;               /* 0 any, 6 tcp, 17 udp */
	uint16_t port_first, port_last; /* 0, 0: any (with tcp/udp only) */
	bool dst_any;
	struct nf_prefix dst;
};

struct qos_class {
	uint32_t minor; /* QOS_MINOR_FIRST .. QOS_MINOR_DEFAULT - 1 */
	char name[QOS_NAME_MAX];
	uint64_t min_bps; /* <= max_bps */
	uint64_t max_bps; /* <= the link */
	uint32_t priority;
	size_t n_matches;
	struct qos_match *matches; /* owned */
};

/* One node's desired qos section; no classes: no shaping and nothing of ours on the interface. */
struct qos_config {
	uint64_t revision;
	uint64_t link_bps;
	size_t n;
	struct qos_class *classes; /* owned, sorted by minor */
};

/* A class's counters as read back from the kernel. */
struct qos_counter {
	char name[QOS_NAME_MAX];
	uint64_t packets, bytes, drops, rate_bps;
};

/*
 * Parses a rate: a number with an optional unit bit|kbit|mbit|gbit (SI,
 * like tc; none: bits per second) into bits per second, within
 * QOS_RATE_MIN_BPS..QOS_RATE_MAX_BPS. false with the reason in why.
 */
bool qos_rate_parse(const char *s, uint64_t *bps, char *why, size_t whylen);

/* Prints bps the way qos_rate_parse reads it back, in the largest exact unit ("20mbit"). */
void qos_rate_format(uint64_t bps, char *buf, size_t len);

/* Frees what cfg owns and zeroes it; accepts a zeroed config. */
void qos_config_free(struct qos_config *cfg);

#endif
