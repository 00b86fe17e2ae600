/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's one rtnetlink channel: links, addresses and routes of the
 * interfaces netfn manages. Each request is built by a pure encoder into a
 * caller buffer (so unit tests can parse it back without a socket) and then
 * sent with NLM_F_ACK; every call returns 0 or the kernel's -errno.
 *
 * Routes made here carry rtm_protocol RTPROT_NETFN, so listing and pruning
 * only ever see netfn's own routes and never touch those of the kernel, DHCP
 * or the operator.
 */
#ifndef NETFN_KERNEL_RTNL_H
#define NETFN_KERNEL_RTNL_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

#include "netfns/common/prefix.h"

/* Our routes' rtm_protocol: unused by iproute2's rt_protos and by routing daemons. */
#define RTPROT_NETFN 110

/* Every request below fits in this many bytes; encoders assume a buffer this big. */
#define RTNL_MSG_SIZE 512

#define RTNL_KIND_MAX 32

struct rtnl;

/* A link as RTM_GETLINK describes it. */
struct rtnl_link {
	uint32_t index;
	uint32_t mtu;
	uint32_t flags; /* IFF_* */
	char name[IFNAMSIZ];
	char kind[RTNL_KIND_MAX]; /* IFLA_INFO_KIND ("wireguard", "tun", ...), "" if none */
};

/* Opens the rtnetlink socket. */
int rtnl_open(struct rtnl **out);

/* Closes it; accepts NULL. */
void rtnl_close(struct rtnl *rt);

/* The kernel's extended-ack text for the last failed request, or "". */
const char *rtnl_last_error(const struct rtnl *rt);

/* Looks up a link by name; -ENODEV when there is none. */
int rtnl_get_link(struct rtnl *rt, const char *ifname, struct rtnl_link *out);

/* Creates a link of the given kind; -EOPNOTSUPP when the kernel has no such kind. */
int rtnl_create_link(struct rtnl *rt, const char *ifname, const char *kind);

/* Creates a veth pair, ifname and its peer peer_ifname, both down. */
int rtnl_create_veth(struct rtnl *rt, const char *ifname, const char *peer_ifname);

/* Deletes a link. */
int rtnl_delete_link(struct rtnl *rt, uint32_t ifindex);

/* Sets a link's MTU. */
int rtnl_set_mtu(struct rtnl *rt, uint32_t ifindex, uint32_t mtu);

/* Sets a link administratively up. */
int rtnl_set_up(struct rtnl *rt, uint32_t ifindex);

/* Lists the IPv4 and IPv6 addresses of a link (address with its prefix length); *out malloc'd. */
int rtnl_list_addrs(struct rtnl *rt, uint32_t ifindex, struct nf_prefix **out, size_t *n);

/* Adds an address with its prefix length to a link. */
int rtnl_add_addr(struct rtnl *rt, uint32_t ifindex, const struct nf_prefix *addr);

/* Removes an address from a link. */
int rtnl_del_addr(struct rtnl *rt, uint32_t ifindex, const struct nf_prefix *addr);

/* Adds a main-table, scope-link, RTPROT_NETFN route to dst through a link. */
int rtnl_add_route(struct rtnl *rt, uint32_t ifindex, const struct nf_prefix *dst);

/* Deletes such a route; routes of other protocols are never matched. */
int rtnl_del_route(struct rtnl *rt, uint32_t ifindex, const struct nf_prefix *dst);

/* Lists the RTPROT_NETFN main-table routes through a link; *out malloc'd. */
int rtnl_list_routes(struct rtnl *rt, uint32_t ifindex, struct nf_prefix **out, size_t *n);

/*
 * Asks the kernel which route it would use to reach the host dst (a full
 * length prefix): the link the packets leave through (*oif, 0 if none) and
 * the route's type (*type, RTN_LOCAL when dst is one of this host's own).
 */
int rtnl_route_get(struct rtnl *rt, const struct nf_prefix *dst, uint32_t *oif, uint8_t *type);

/*
 * Encoders: each writes one request into buf (RTNL_MSG_SIZE bytes) and
 * returns it, or NULL when an argument cannot be encoded (a name too long).
 * Sequence number and NLM_F_ACK are added by the sender.
 */

/* RTM_GETLINK for one name. */
struct nlmsghdr *rtnl_encode_getlink(void *buf, const char *ifname);

/* RTM_NEWLINK creating ifname with IFLA_LINKINFO/IFLA_INFO_KIND kind. */
struct nlmsghdr *rtnl_encode_newlink(void *buf, const char *ifname, const char *kind);

/* RTM_NEWLINK creating the veth pair ifname / peer_ifname (VETH_INFO_PEER). */
struct nlmsghdr *rtnl_encode_newveth(void *buf, const char *ifname, const char *peer_ifname);

/* RTM_DELLINK by index. */
struct nlmsghdr *rtnl_encode_dellink(void *buf, uint32_t ifindex);

/* RTM_SETLINK: mtu when non-zero, IFF_UP when up. */
struct nlmsghdr *rtnl_encode_setlink(void *buf, uint32_t ifindex, uint32_t mtu, bool up);

/* RTM_NEWADDR (type) or RTM_DELADDR of addr on ifindex. */
struct nlmsghdr *rtnl_encode_addr(void *buf, uint16_t type, uint32_t ifindex,
                                  const struct nf_prefix *addr);

/* RTM_NEWROUTE (type) or RTM_DELROUTE of dst through ifindex, as described above. */
struct nlmsghdr *rtnl_encode_route(void *buf, uint16_t type, uint32_t ifindex,
                                   const struct nf_prefix *dst);

/*
 * An RTM_GETADDR or RTM_GETROUTE dump of one family, filtered by the kernel
 * (strict checking) to ifindex and, for routes, to RTPROT_NETFN in main.
 */
struct nlmsghdr *rtnl_encode_dump(void *buf, uint16_t type, int family, uint32_t ifindex);

/* Decoders: 0 on success, -EBADMSG on a malformed message. */

/* Reads an RTM_NEWLINK message. */
int rtnl_parse_link(const struct nlmsghdr *nlh, struct rtnl_link *out);

/* Reads an RTM_NEWADDR message: the link it is on and the address. */
int rtnl_parse_addr(const struct nlmsghdr *nlh, uint32_t *ifindex, struct nf_prefix *out);

/*
 * Reads an RTM_NEWROUTE message; *ours is true only for a unicast
 * RTPROT_NETFN route of the main table through a single link (*oif).
 */
int rtnl_parse_route(const struct nlmsghdr *nlh, bool *ours, uint32_t *oif, struct nf_prefix *dst);

#endif
