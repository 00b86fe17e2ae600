/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The traffic control part of rtnetlink: an HTB root qdisc and its classes
 * on one interface, and the classes' counters. It owns its own rtnetlink
 * socket (one owner per socket: rtnl.c keeps links, addresses and routes).
 * Requests are built by pure encoders into a caller buffer, so unit tests
 * parse them back without a socket; every call returns 0 or the kernel's
 * -errno, with its extended-ack text kept.
 */
#ifndef NETFN_KERNEL_TC_H
#define NETFN_KERNEL_TC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

/* Every request below fits: two 1 KiB rate tables and a few small attributes. */
#define TC_MSG_SIZE 4096

#define TC_KIND_MAX 16

struct tc;

/* One HTB class as we want it: rates in bits per second. */
struct tc_htb_class {
	uint32_t parent;  /* the parent's handle (major:minor) */
	uint32_t classid; /* major:minor */
	uint64_t rate_bps, ceil_bps;
	uint32_t prio;
	uint32_t mtu; /* sizes the burst and the rate tables */
};

/* A class or qdisc as a dump describes it, with its counters. */
struct tc_obj {
	uint32_t handle, parent;
	char kind[TC_KIND_MAX];
	uint64_t bytes, packets, drops;
	uint64_t rate_bps; /* the kernel's estimate; 0 without an estimator */
};

/* Opens the socket. */
int tc_open(struct tc **out);

/* Closes it; accepts NULL. */
void tc_close(struct tc *tc);

/* The kernel's extended-ack text for the last failed request, or "". */
const char *tc_last_error(const struct tc *tc);

/* Makes an HTB qdisc with handle (major:0) and default class defminor the root of ifindex
 * (replacing any). */
int tc_htb_root(struct tc *tc, uint32_t ifindex, uint32_t handle, uint32_t defminor);

/* Deletes the root qdisc of ifindex; -ENOENT when there is none of ours. */
int tc_del_root(struct tc *tc, uint32_t ifindex);

/* Creates or changes an HTB class. */
int tc_htb_set_class(struct tc *tc, uint32_t ifindex, const struct tc_htb_class *c);

/* Deletes class classid of ifindex. */
int tc_del_class(struct tc *tc, uint32_t ifindex, uint32_t classid);

/* Lists the qdiscs (type RTM_GETQDISC) or classes (RTM_GETTCLASS) of ifindex; *out malloc'd. */
int tc_list(struct tc *tc, uint16_t type, uint32_t ifindex, struct tc_obj **out, size_t *n);

/* Encoders: each writes one request into buf (TC_MSG_SIZE bytes) and returns it (NULL: cannot). */

/* RTM_NEWQDISC (create, replace) of the root HTB described above. */
struct nlmsghdr *tc_encode_htb_root(void *buf, uint32_t ifindex, uint32_t handle,
                                    uint32_t defminor);

/* RTM_NEWTCLASS (create, replace) of c, with its rate tables and an estimator. */
struct nlmsghdr *tc_encode_htb_class(void *buf, uint32_t ifindex, const struct tc_htb_class *c);

/* RTM_DELQDISC of the root, or RTM_DELTCLASS of classid, of ifindex. */
struct nlmsghdr *tc_encode_del(void *buf, uint16_t type, uint32_t ifindex, uint32_t handle);

/* An RTM_GETQDISC or RTM_GETTCLASS dump of ifindex. */
struct nlmsghdr *tc_encode_dump(void *buf, uint16_t type, uint32_t ifindex);

/* Reads an RTM_NEWQDISC or RTM_NEWTCLASS message of ifindex; -ENOENT for another link's. */
int tc_parse_obj(const struct nlmsghdr *nlh, uint32_t ifindex, struct tc_obj *out);

#endif
