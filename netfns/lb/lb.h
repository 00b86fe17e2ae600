/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The load balancer network function as plain C values. The controller half
 * resolves each load balancer a node hosts into an lb_frontend (backends as
 * addresses); the agent half programs those frontends as DNAT in its own
 * nftables table, runs the health checks and reports per-backend health and
 * connection counters. No protobuf here: conversion (with validation) is at
 * the RPC edge, proto/conv_lb.c.
 */
#ifndef NETFN_LB_H
#define NETFN_LB_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LB_NAME_MAX      64
#define LB_MAX_BACKENDS  1024 /* per frontend, after selector resolution */
#define LB_MAX_FRONTENDS 256  /* per node */
#define LB_WEIGHT_MAX    100

/* Health check bounds and defaults (HAProxy's: inter 2s, rise 2, fall 3). */
#define LB_HC_INTERVAL_MIN_MS 100
#define LB_HC_INTERVAL_MAX_MS 3600000
#define LB_HC_INTERVAL_DEF_MS 2000
#define LB_HC_TIMEOUT_DEF_MS  1000
#define LB_HC_RISE_DEF        2
#define LB_HC_FALL_DEF        3
#define LB_HC_COUNT_MAX       100 /* rise, fall */

enum lb_proto { LB_TCP = 0, LB_UDP = 1 };
enum lb_algo { LB_ROUND_ROBIN = 0, LB_RANDOM = 1, LB_SOURCE_HASH = 2 };

struct lb_backend {
	struct in_addr addr;
	uint16_t port;
	uint16_t weight; /* 1..LB_WEIGHT_MAX */
};

struct lb_health {
	uint32_t interval_ms; /* 0: not checked, always up */
	uint32_t timeout_ms;  /* < interval_ms */
	uint32_t rise;
	uint32_t fall;
	uint16_t port; /* 0: the backend's port */
};

struct lb_frontend {
	uint64_t id; /* the load balancer's id */
	char name[LB_NAME_MAX];
	enum lb_proto proto;
	struct in_addr addr;
	uint16_t port;
	enum lb_algo algo;
	size_t n_backends;
	struct lb_backend *backends; /* owned; sorted by address then port, no duplicates */
	struct lb_health health;
};

/* One node's desired lb section: the frontends it hosts, sorted by id. */
struct lb_config {
	uint64_t revision;
	size_t n;
	struct lb_frontend *frontends; /* owned */
};

/* What the agent reports per (frontend, backend). */
struct lb_report {
	uint64_t lb_id;
	struct in_addr addr;
	uint16_t port;
	bool healthy;
	uint64_t connections; /* new connections sent to this backend by this node */
};

/* Names as the API and the section spell them. */
const char *lb_proto_name(enum lb_proto p);
const char *lb_algo_name(enum lb_algo a);
/* -EINVAL for an unknown name. */
int lb_proto_parse(const char *s, enum lb_proto *out);
int lb_algo_parse(const char *s, enum lb_algo *out);

/* Frees what cfg owns and zeroes it; accepts a zeroed config. */
void lb_config_free(struct lb_config *cfg);

#endif
