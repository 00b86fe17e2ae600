/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The traffic control part of rtnetlink: an HTB root qdisc and its classes
 * on one interface, and the classes' counters; a clsact qdisc and cls_bpf
 * filters on it (the flow datapath's programs). It owns its own rtnetlink
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

/* Longest cls_bpf filter name we read back; longer ones are cut. */
#define TC_BPF_NAME_MAX 64

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

/* A filter as a dump describes it; bpf_name only for cls_bpf. */
struct tc_filter {
	uint32_t handle;
	uint16_t prio, protocol; /* protocol in host order (ETH_P_*) */
	char kind[TC_KIND_MAX];
	char bpf_name[TC_BPF_NAME_MAX]; /* TCA_BPF_NAME, "" if none */
	uint32_t bpf_id;                /* TCA_BPF_ID, the program's id, 0 if none */
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

/* Adds a clsact qdisc to ifindex; an existing one (of anyone) is kept and is no error. */
int tc_clsact_add(struct tc *tc, uint32_t ifindex);

/*
 * Attaches (or replaces) the direct-action cls_bpf filter prio/handle of
 * protocol ETH_P_ALL, running program prog_fd, under parent (a clsact's
 * TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS or TC_H_MIN_EGRESS)). Other
 * filters are left alone. The filter keeps the program loaded.
 */
int tc_bpf_attach(struct tc *tc, uint32_t ifindex, uint32_t parent, uint16_t prio, uint32_t handle,
                  int prog_fd, const char *name);

/* Deletes the cls_bpf filter prio/handle under parent; -ENOENT when it is not there. */
int tc_filter_del(struct tc *tc, uint32_t ifindex, uint32_t parent, uint16_t prio, uint32_t handle);

/* Lists the filters under parent of ifindex (none when it has no such qdisc); *out malloc'd. */
int tc_filter_list(struct tc *tc, uint32_t ifindex, uint32_t parent, struct tc_filter **out,
                   size_t *n);

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

/* RTM_NEWQDISC (create, exclusive) of a clsact qdisc on ifindex. */
struct nlmsghdr *tc_encode_clsact(void *buf, uint32_t ifindex);

/* RTM_NEWTFILTER (create, replace) of the cls_bpf filter described at tc_bpf_attach. */
struct nlmsghdr *tc_encode_bpf_filter(void *buf, uint32_t ifindex, uint32_t parent, uint16_t prio,
                                      uint32_t handle, int prog_fd, const char *name);

/* RTM_DELTFILTER of the cls_bpf filter prio/handle (prio must not be 0: that would flush). */
struct nlmsghdr *tc_encode_filter_del(void *buf, uint32_t ifindex, uint32_t parent, uint16_t prio,
                                      uint32_t handle);

/* An RTM_GETTFILTER dump of the filters under parent of ifindex. */
struct nlmsghdr *tc_encode_filter_dump(void *buf, uint32_t ifindex, uint32_t parent);

/*
 * Reads an RTM_NEWTFILTER message of ifindex; -ENOENT for another link's
 * or for the message describing a whole priority rather than one filter
 * (handle 0).
 */
int tc_parse_filter(const struct nlmsghdr *nlh, uint32_t ifindex, struct tc_filter *out);

/* Reads an RTM_NEWQDISC or RTM_NEWTCLASS message of ifindex; -ENOENT for another link's. */
int tc_parse_obj(const struct nlmsghdr *nlh, uint32_t ifindex, struct tc_obj *out);

#endif
