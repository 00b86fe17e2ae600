// SPDX-License-Identifier: Apache-2.0
/*
 * rtnetlink for the vpn agent: encoders and decoders are pure functions over
 * message buffers; the few functions that talk to the kernel pair one encoder
 * with nl_sock_request. Dumps ask the kernel to filter (NETLINK_GET_STRICT_CHK)
 * and are filtered again here, because a kernel without strict checking
 * ignores the filter and returns everything.
 */
#include "netfns/kernel/rtnl.h"

#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <linux/rtnetlink.h>

#include "netfns/kernel/nl.h"

struct rtnl {
	struct nl_sock *nl;
};

/* A growing list of prefixes filled by the dump callbacks. */
struct prefix_list {
	uint32_t ifindex;
	struct nf_prefix *v;
	size_t n, cap;
};

static int addr_bytes(int family)
{
	return family == AF_INET ? 4 : 16;
}

static bool valid_prefix(const struct nf_prefix *p)
{
	return p && (p->family == AF_INET || p->family == AF_INET6) &&
	       p->len <= addr_bytes(p->family) * 8;
}

int rtnl_open(struct rtnl **out)
{
	struct rtnl *rt = NULL;
	int one = 1;
	int ret;

	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	ret = nl_sock_open(NETLINK_ROUTE, &rt->nl);
	if (ret < 0)
		goto cleanup;
	/* Best effort: without it dumps are merely unfiltered (see the file comment). */
	mnl_socket_setsockopt(rt->nl->mnl, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	*out = rt;
	rt = NULL;
cleanup:
	rtnl_close(rt);
	return ret;
}

void rtnl_close(struct rtnl *rt)
{
	if (!rt)
		return;
	nl_sock_close(rt->nl);
	free(rt);
}

const char *rtnl_last_error(const struct rtnl *rt)
{
	return rt ? rt->nl->ext_ack : "";
}

/* ---- encoders ---- */

static struct nlmsghdr *put_header(void *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, RTNL_MSG_SIZE);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

struct nlmsghdr *rtnl_encode_getlink(void *buf, const char *ifname)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return NULL;
	nlh = put_header(buf, RTM_GETLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	return nlh;
}

struct nlmsghdr *rtnl_encode_newlink(void *buf, const char *ifname, const char *kind)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nlattr *info;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ || !kind || !*kind ||
	    strlen(kind) >= RTNL_KIND_MAX)
		return NULL;
	nlh = put_header(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	mnl_attr_nest_end(nlh, info);
	return nlh;
}

struct nlmsghdr *rtnl_encode_newveth(void *buf, const char *ifname, const char *peer_ifname)
{
	struct nlattr *info, *data, *peer;
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ || !peer_ifname || !*peer_ifname ||
	    strlen(peer_ifname) >= IFNAMSIZ)
		return NULL;
	nlh = put_header(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	/* The peer is described as a whole link message: its ifinfomsg, then its attributes. */
	peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_ifname);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nlh;
}

struct nlmsghdr *rtnl_encode_dellink(void *buf, uint32_t ifindex)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (!ifindex)
		return NULL;
	nlh = put_header(buf, RTM_DELLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	return nlh;
}

struct nlmsghdr *rtnl_encode_setlink(void *buf, uint32_t ifindex, uint32_t mtu, bool up)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (!ifindex)
		return NULL;
	nlh = put_header(buf, RTM_SETLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	if (up) {
		ifi->ifi_flags = IFF_UP;
		ifi->ifi_change = IFF_UP;
	}
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nlh;
}

struct nlmsghdr *rtnl_encode_addr(void *buf, uint16_t type, uint32_t ifindex,
                                  const struct nf_prefix *addr)
{
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	size_t alen;

	if (!ifindex || !valid_prefix(addr) || (type != RTM_NEWADDR && type != RTM_DELADDR))
		return NULL;
	alen = (size_t)addr_bytes(addr->family);
	nlh = put_header(buf, type, type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)addr->family;
	ifa->ifa_prefixlen = addr->len;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;
	/*
	 * IFA_LOCAL is our address; on a point-to-point link IFA_ADDRESS would
	 * be the far end, so it is set equal to get an ordinary subnet address.
	 */
	mnl_attr_put(nlh, IFA_LOCAL, alen, addr->addr.bytes);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, addr->addr.bytes);
	return nlh;
}

struct nlmsghdr *rtnl_encode_route(void *buf, uint16_t type, uint32_t ifindex,
                                   const struct nf_prefix *dst)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if (!ifindex || !valid_prefix(dst) || (type != RTM_NEWROUTE && type != RTM_DELROUTE))
		return NULL;
	nlh = put_header(buf, type, type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_EXCL : 0);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)dst->family;
	rtm->rtm_dst_len = dst->len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_NETFN; /* on delete: match only our own route */
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	if (dst->len)
		mnl_attr_put(nlh, RTA_DST, (size_t)addr_bytes(dst->family), dst->addr.bytes);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	return nlh;
}

struct nlmsghdr *rtnl_encode_dump(void *buf, uint16_t type, int family, uint32_t ifindex)
{
	struct nlmsghdr *nlh;

	if (family != AF_INET && family != AF_INET6)
		return NULL;
	nlh = put_header(buf, type, NLM_F_DUMP);
	if (type == RTM_GETADDR) {
		struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

		ifa->ifa_family = (uint8_t)family;
		ifa->ifa_index = ifindex;
	} else if (type == RTM_GETROUTE) {
		struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

		rtm->rtm_family = (uint8_t)family;
		rtm->rtm_table = RT_TABLE_MAIN;
		rtm->rtm_protocol = RTPROT_NETFN;
		if (ifindex)
			mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	} else {
		return NULL;
	}
	return nlh;
}

/* ---- decoders ---- */

struct attrs {
	const struct nlattr *tb[64];
	int max;
};

static int collect(const struct nlattr *attr, void *data)
{
	struct attrs *a = data;
	int type = mnl_attr_get_type(attr);

	if (type <= a->max && type < (int)(sizeof(a->tb) / sizeof(a->tb[0])))
		a->tb[type] = attr;
	return MNL_CB_OK;
}

static int parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen, int max, struct attrs *a)
{
	memset(a, 0, sizeof(*a));
	a->max = max;
	if (nlh->nlmsg_len < mnl_nlmsg_size(hdrlen))
		return -EBADMSG;
	if (mnl_attr_parse(nlh, (unsigned)hdrlen, collect, a) < 0)
		return -EBADMSG;
	return 0;
}

/* Copies a binary address attribute of exactly the family's length. */
static int get_addr(const struct nlattr *attr, int family, struct nf_prefix *out)
{
	size_t alen = (size_t)addr_bytes(family);

	if (mnl_attr_get_payload_len(attr) != alen)
		return -EBADMSG;
	memcpy(out->addr.bytes, mnl_attr_get_payload(attr), alen);
	return 0;
}

static int get_u32(const struct nlattr *attr, uint32_t *out)
{
	if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return -EBADMSG;
	*out = mnl_attr_get_u32(attr);
	return 0;
}

static int get_str(const struct nlattr *attr, char *out, size_t size)
{
	size_t len = mnl_attr_get_payload_len(attr);
	const char *s = mnl_attr_get_payload(attr);

	/* Kernel strings are NUL terminated; tolerate a missing NUL, never overflow. */
	if (len && s[len - 1] == '\0')
		len--;
	if (len >= size || memchr(s, '\0', len))
		return -EBADMSG;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

int rtnl_parse_link(const struct nlmsghdr *nlh, struct rtnl_link *out)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct attrs a, info;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = parse_attrs(nlh, sizeof(*ifi), IFLA_MAX, &a);
	if (ret < 0)
		return ret;
	out->index = (uint32_t)ifi->ifi_index;
	out->flags = ifi->ifi_flags;
	if (a.tb[IFLA_MTU] && get_u32(a.tb[IFLA_MTU], &out->mtu) < 0)
		return -EBADMSG;
	if (a.tb[IFLA_IFNAME] && get_str(a.tb[IFLA_IFNAME], out->name, sizeof(out->name)) < 0)
		return -EBADMSG;
	if (a.tb[IFLA_LINKINFO]) {
		memset(&info, 0, sizeof(info));
		info.max = IFLA_INFO_MAX;
		if (mnl_attr_parse_nested(a.tb[IFLA_LINKINFO], collect, &info) < 0)
			return -EBADMSG;
		if (info.tb[IFLA_INFO_KIND] &&
		    get_str(info.tb[IFLA_INFO_KIND], out->kind, sizeof(out->kind)) < 0)
			return -EBADMSG;
	}
	return 0;
}

int rtnl_parse_addr(const struct nlmsghdr *nlh, uint32_t *ifindex, struct nf_prefix *out)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	struct attrs a;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = parse_attrs(nlh, sizeof(*ifa), IFA_MAX, &a);
	if (ret < 0)
		return ret;
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return -EAFNOSUPPORT;
	out->family = ifa->ifa_family;
	out->len = ifa->ifa_prefixlen;
	if (out->len > addr_bytes(out->family) * 8)
		return -EBADMSG;
	/* IFA_LOCAL is ours when present; IFA_ADDRESS may be a point-to-point peer. */
	attr = a.tb[IFA_LOCAL] ? a.tb[IFA_LOCAL] : a.tb[IFA_ADDRESS];
	if (!attr)
		return -EBADMSG;
	*ifindex = ifa->ifa_index;
	return get_addr(attr, out->family, out);
}

int rtnl_parse_route(const struct nlmsghdr *nlh, bool *ours, uint32_t *oif, struct nf_prefix *dst)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	uint32_t table;
	struct attrs a;
	int ret;

	*ours = false;
	*oif = 0;
	memset(dst, 0, sizeof(*dst));
	ret = parse_attrs(nlh, sizeof(*rtm), RTA_MAX, &a);
	if (ret < 0)
		return ret;
	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return 0;
	dst->family = rtm->rtm_family;
	dst->len = rtm->rtm_dst_len;
	if (dst->len > addr_bytes(dst->family) * 8)
		return -EBADMSG;
	if (a.tb[RTA_DST] && get_addr(a.tb[RTA_DST], dst->family, dst) < 0)
		return -EBADMSG;
	if (a.tb[RTA_OIF] && get_u32(a.tb[RTA_OIF], oif) < 0)
		return -EBADMSG;
	table = rtm->rtm_table;
	if (a.tb[RTA_TABLE] && get_u32(a.tb[RTA_TABLE], &table) < 0)
		return -EBADMSG;
	*ours = rtm->rtm_protocol == RTPROT_NETFN && table == RT_TABLE_MAIN &&
	        rtm->rtm_type == RTN_UNICAST && !(rtm->rtm_flags & RTM_F_CLONED) && *oif;
	return 0;
}

/* ---- requests ---- */

static int request(struct rtnl *rt, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	if (!nlh)
		return -EINVAL;
	return nl_sock_request(rt->nl, nlh, cb, data);
}

static int on_link(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	if (rtnl_parse_link(nlh, data) < 0) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

int rtnl_get_link(struct rtnl *rt, const char *ifname, struct rtnl_link *out)
{
	alignas(struct nlmsghdr) char buf[RTNL_MSG_SIZE];

	memset(out, 0, sizeof(*out));
	return request(rt, rtnl_encode_getlink(buf, ifname), on_link, out);
}

int rtnl_create_link(struct rtnl *rt, const char *ifname, const char *kind)
{
	alignas(struct nlmsghdr) char buf[RTNL_MSG_SIZE];

	return request(rt, rtnl_encode_newlink(buf, ifname, kind), NULL, NULL);
}

int rtnl_create_veth(struct rtnl *rt, const char *ifname, const char *peer_ifname)
{
	alignas(struct nlmsghdr) char buf[RTNL_MSG_SIZE];

	return request(rt, rtnl_encode_newveth(buf, ifname, peer_ifname), NULL, NULL);
}

int rtnl_delete_link(struct rtnl *rt, uint32_t ifindex)
{
	alignas(struct nlmsghdr) char buf[RTNL_MSG_SIZE];

	return request(rt, rtnl_encode_dellink(buf, ifindex), NULL, NULL);
}

int rtnl_set_mtu(struct rtnl *rt, uint32_t ifindex, uint32_t mtu)
{
	alignas(struct nlmsghdr) char buf[RTNL_MSG_SIZE];

	if (!mtu)
		return -EINVAL;
	return request(rt, rtnl_encode_setlink(buf, ifindex, mtu, false), NULL, NULL);
}

int rtnl_set_up(struct rtnl *rt, uint32_t ifindex)
{
	alignas(struct nlmsghdr) char buf[RTNL_MSG_SIZE];

	return request(rt, rtnl_encode_setlink(buf, ifindex, 0, true), NULL, NULL);
}

int rtnl_add_addr(struct rtnl *rt, uint32_t ifindex, const struct nf_prefix *addr)
{
	alignas(struct nlmsghdr) char buf[RTNL_MSG_SIZE];

	return request(rt, rtnl_encode_addr(buf, RTM_NEWADDR, ifindex, addr), NULL, NULL);
}

int rtnl_del_addr(struct rtnl *rt, uint32_t ifindex, const struct nf_prefix *addr)
{
	alignas(struct nlmsghdr) char buf[RTNL_MSG_SIZE];

	return request(rt, rtnl_encode_addr(buf, RTM_DELADDR, ifindex, addr), NULL, NULL);
}

int rtnl_add_route(struct rtnl *rt, uint32_t ifindex, const struct nf_prefix *dst)
{
	alignas(struct nlmsghdr) char buf[RTNL_MSG_SIZE];

	return request(rt, rtnl_encode_route(buf, RTM_NEWROUTE, ifindex, dst), NULL, NULL);
}

int rtnl_del_route(struct rtnl *rt, uint32_t ifindex, const struct nf_prefix *dst)
{
	alignas(struct nlmsghdr) char buf[RTNL_MSG_SIZE];

	return request(rt, rtnl_encode_route(buf, RTM_DELROUTE, ifindex, dst), NULL, NULL);
}

static int list_push(struct prefix_list *l, const struct nf_prefix *p)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct nf_prefix *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *p;
	return 0;
}

static int on_addr(const struct nlmsghdr *nlh, void *data)
{
	struct prefix_list *l = data;
	struct nf_prefix p;
	uint32_t ifindex;
	int ret;

	if (nlh->nlmsg_type != RTM_NEWADDR)
		return MNL_CB_OK;
	ret = rtnl_parse_addr(nlh, &ifindex, &p);
	if (ret == -EAFNOSUPPORT || (ret == 0 && ifindex != l->ifindex))
		return MNL_CB_OK;
	if (ret == 0)
		ret = list_push(l, &p);
	if (ret < 0) {
		errno = -ret;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int on_route(const struct nlmsghdr *nlh, void *data)
{
	struct prefix_list *l = data;
	struct nf_prefix p;
	uint32_t oif;
	bool ours;
	int ret;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	ret = rtnl_parse_route(nlh, &ours, &oif, &p);
	if (ret == 0 && ours && oif == l->ifindex)
		ret = list_push(l, &p);
	if (ret < 0) {
		errno = -ret;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int dump(struct rtnl *rt, uint16_t type, uint32_t ifindex, mnl_cb_t cb,
                struct nf_prefix **out, size_t *n)
{
	static const int families[] = {AF_INET, AF_INET6};
	alignas(struct nlmsghdr) char buf[RTNL_MSG_SIZE];
	struct prefix_list l = {.ifindex = ifindex};
	int ret = 0;

	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		ret = request(rt, rtnl_encode_dump(buf, type, families[i], ifindex), cb, &l);
		/* A kernel built or booted without IPv6 simply has nothing to list. */
		if (ret == -EAFNOSUPPORT && families[i] == AF_INET6)
			ret = 0;
		if (ret < 0)
			goto cleanup;
	}
	*out = l.v;
	*n = l.n;
	l.v = NULL;
cleanup:
	free(l.v);
	return ret;
}

int rtnl_list_addrs(struct rtnl *rt, uint32_t ifindex, struct nf_prefix **out, size_t *n)
{
	return dump(rt, RTM_GETADDR, ifindex, on_addr, out, n);
}

int rtnl_list_routes(struct rtnl *rt, uint32_t ifindex, struct nf_prefix **out, size_t *n)
{
	return dump(rt, RTM_GETROUTE, ifindex, on_route, out, n);
}

struct route_got {
	uint32_t oif;
	uint8_t type;
};

static int on_route_got(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route_got *g = data;
	struct attrs a;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	if (parse_attrs(nlh, sizeof(*rtm), RTA_MAX, &a) < 0 ||
	    (a.tb[RTA_OIF] && get_u32(a.tb[RTA_OIF], &g->oif) < 0)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	g->type = rtm->rtm_type;
	return MNL_CB_OK;
}

int rtnl_route_get(struct rtnl *rt, const struct nf_prefix *dst, uint32_t *oif, uint8_t *type)
{
	alignas(struct nlmsghdr) char buf[RTNL_MSG_SIZE];
	struct route_got g = {0};
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int ret;

	/* Strict checking accepts a lookup of a whole address only. */
	if (!valid_prefix(dst) || dst->len != addr_bytes(dst->family) * 8)
		return -EINVAL;
	nlh = put_header(buf, RTM_GETROUTE, 0);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)dst->family;
	rtm->rtm_dst_len = dst->len;
	mnl_attr_put(nlh, RTA_DST, (size_t)addr_bytes(dst->family), dst->addr.bytes);
	ret = request(rt, nlh, on_route_got, &g);
	if (ret < 0)
		return ret;
	*oif = g.oif;
	*type = g.type;
	return 0;
}
