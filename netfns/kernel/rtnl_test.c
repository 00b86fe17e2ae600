// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the rtnetlink encoders and decoders: each request is built
 * into a buffer and read back attribute by attribute, with no socket, so
 * they need neither root nor a network namespace.
 */
#include "netfns/kernel/rtnl.h"
#include "tests/check.h"

#include <errno.h>
#include <stdalign.h>
#include <string.h>

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

struct tb {
	const struct nlattr *a[64];
};

static int keep(const struct nlattr *attr, void *data)
{
	struct tb *tb = data;

	if (mnl_attr_get_type(attr) < 64)
		tb->a[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static void parse(const struct nlmsghdr *nlh, size_t hdr, struct tb *tb)
{
	memset(tb, 0, sizeof(*tb));
	CHECK(mnl_attr_parse(nlh, (unsigned)hdr, keep, tb) >= 0);
}

static void test_links(void)
{
	alignas(struct nlmsghdr) char buf[RTNL_MSG_SIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct rtnl_link link;
	struct tb tb, info;

	nlh = rtnl_encode_newlink(buf, "wgtest0", "wireguard");
	CHECK(nlh && nlh->nlmsg_type == RTM_NEWLINK);
	CHECK(nlh->nlmsg_flags & NLM_F_CREATE && nlh->nlmsg_flags & NLM_F_EXCL);
	parse(nlh, sizeof(struct ifinfomsg), &tb);
	CHECK(tb.a[IFLA_IFNAME] && !strcmp(mnl_attr_get_str(tb.a[IFLA_IFNAME]), "wgtest0"));
	CHECK(tb.a[IFLA_LINKINFO]);
	memset(&info, 0, sizeof(info));
	CHECK(mnl_attr_parse_nested(tb.a[IFLA_LINKINFO], keep, &info) >= 0);
	CHECK(info.a[IFLA_INFO_KIND] &&
	      !strcmp(mnl_attr_get_str(info.a[IFLA_INFO_KIND]), "wireguard"));

	/* The kernel's RTM_NEWLINK answer has the same shape; the decoder reads it. */
	ifi = mnl_nlmsg_get_payload(nlh);
	ifi->ifi_index = 7;
	ifi->ifi_flags = IFF_UP;
	mnl_attr_put_u32(nlh, IFLA_MTU, 1420);
	CHECK(rtnl_parse_link(nlh, &link) == 0);
	CHECK(link.index == 7 && link.mtu == 1420 && link.flags == IFF_UP);
	CHECK(!strcmp(link.name, "wgtest0") && !strcmp(link.kind, "wireguard"));

	CHECK(rtnl_encode_newlink(buf, "a-name-far-too-long", "wireguard") == NULL);
	CHECK(rtnl_encode_getlink(buf, "") == NULL);
	nlh = rtnl_encode_getlink(buf, "eth0");
	CHECK(nlh && nlh->nlmsg_type == RTM_GETLINK && !(nlh->nlmsg_flags & NLM_F_DUMP));

	nlh = rtnl_encode_setlink(buf, 9, 1380, true);
	CHECK(nlh && nlh->nlmsg_type == RTM_SETLINK);
	ifi = mnl_nlmsg_get_payload(nlh);
	CHECK(ifi->ifi_index == 9 && ifi->ifi_flags == IFF_UP && ifi->ifi_change == IFF_UP);
	parse(nlh, sizeof(*ifi), &tb);
	CHECK(tb.a[IFLA_MTU] && mnl_attr_get_u32(tb.a[IFLA_MTU]) == 1380);
	nlh = rtnl_encode_setlink(buf, 9, 1380, false);
	ifi = mnl_nlmsg_get_payload(nlh);
	CHECK(ifi->ifi_change == 0); /* an MTU change must not touch the flags */

	nlh = rtnl_encode_dellink(buf, 9);
	CHECK(nlh && nlh->nlmsg_type == RTM_DELLINK);
	CHECK(((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_index == 9);
	CHECK(rtnl_encode_dellink(buf, 0) == NULL);
}

static void test_addrs(void)
{
	alignas(struct nlmsghdr) char buf[RTNL_MSG_SIZE];
	struct nf_prefix p, q;
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	uint32_t ifindex = 0;
	struct tb tb;

	CHECK(nf_prefix_parse("10.88.0.2/24", false, &p));
	nlh = rtnl_encode_addr(buf, RTM_NEWADDR, 5, &p);
	CHECK(nlh && nlh->nlmsg_type == RTM_NEWADDR);
	ifa = mnl_nlmsg_get_payload(nlh);
	CHECK(ifa->ifa_family == AF_INET && ifa->ifa_prefixlen == 24 && ifa->ifa_index == 5);
	parse(nlh, sizeof(*ifa), &tb);
	CHECK(tb.a[IFA_LOCAL] && mnl_attr_get_payload_len(tb.a[IFA_LOCAL]) == 4);
	CHECK(!memcmp(mnl_attr_get_payload(tb.a[IFA_LOCAL]), &p.addr.v4, 4));
	CHECK(rtnl_parse_addr(nlh, &ifindex, &q) == 0);
	CHECK(ifindex == 5 && q.family == AF_INET && q.len == 24 &&
	      q.addr.v4.s_addr == p.addr.v4.s_addr);

	CHECK(nf_prefix_parse("fd00:88::2/64", false, &p));
	nlh = rtnl_encode_addr(buf, RTM_DELADDR, 5, &p);
	CHECK(nlh && nlh->nlmsg_type == RTM_DELADDR);
	CHECK(rtnl_parse_addr(nlh, &ifindex, &q) == 0);
	CHECK(q.family == AF_INET6 && q.len == 64 && !memcmp(&q.addr.v6, &p.addr.v6, 16));

	p.len = 129;
	CHECK(rtnl_encode_addr(buf, RTM_NEWADDR, 5, &p) == NULL);
	CHECK(rtnl_encode_addr(buf, RTM_NEWROUTE, 5, &q) == NULL);

	nlh = rtnl_encode_dump(buf, RTM_GETADDR, AF_INET6, 5);
	CHECK(nlh && (nlh->nlmsg_flags & NLM_F_DUMP));
	ifa = mnl_nlmsg_get_payload(nlh);
	CHECK(ifa->ifa_family == AF_INET6 && ifa->ifa_index == 5 && ifa->ifa_prefixlen == 0);
}

static void test_routes(void)
{
	alignas(struct nlmsghdr) char buf[RTNL_MSG_SIZE];
	struct nf_prefix p, q;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	uint32_t oif = 0;
	bool ours = false;
	struct tb tb;

	CHECK(nf_prefix_parse("192.168.50.0/24", false, &p));
	nlh = rtnl_encode_route(buf, RTM_NEWROUTE, 11, &p);
	CHECK(nlh && nlh->nlmsg_type == RTM_NEWROUTE && (nlh->nlmsg_flags & NLM_F_EXCL));
	rtm = mnl_nlmsg_get_payload(nlh);
	CHECK(rtm->rtm_protocol == RTPROT_NETFN && rtm->rtm_table == RT_TABLE_MAIN);
	CHECK(rtm->rtm_scope == RT_SCOPE_LINK && rtm->rtm_type == RTN_UNICAST);
	CHECK(rtm->rtm_dst_len == 24);
	parse(nlh, sizeof(*rtm), &tb);
	CHECK(tb.a[RTA_OIF] && mnl_attr_get_u32(tb.a[RTA_OIF]) == 11);
	CHECK(tb.a[RTA_DST] && !memcmp(mnl_attr_get_payload(tb.a[RTA_DST]), &p.addr.v4, 4));
	CHECK(rtnl_parse_route(nlh, &ours, &oif, &q) == 0);
	CHECK(ours && oif == 11 && q.len == 24 && q.addr.v4.s_addr == p.addr.v4.s_addr);

	/* Someone else's route through the same link is not ours. */
	rtm->rtm_protocol = RTPROT_BOOT;
	CHECK(rtnl_parse_route(nlh, &ours, &oif, &q) == 0 && !ours);
	rtm->rtm_protocol = RTPROT_NETFN;
	rtm->rtm_table = RT_TABLE_LOCAL;
	CHECK(rtnl_parse_route(nlh, &ours, &oif, &q) == 0 && !ours);

	/* A default route has no RTA_DST. */
	CHECK(nf_prefix_parse("::/0", false, &p));
	nlh = rtnl_encode_route(buf, RTM_DELROUTE, 11, &p);
	CHECK(nlh && nlh->nlmsg_type == RTM_DELROUTE);
	parse(nlh, sizeof(struct rtmsg), &tb);
	CHECK(!tb.a[RTA_DST]);
	CHECK(rtnl_parse_route(nlh, &ours, &oif, &q) == 0 && ours && q.family == AF_INET6 &&
	      q.len == 0);

	nlh = rtnl_encode_dump(buf, RTM_GETROUTE, AF_INET, 11);
	CHECK(nlh && (nlh->nlmsg_flags & NLM_F_DUMP));
	rtm = mnl_nlmsg_get_payload(nlh);
	CHECK(rtm->rtm_protocol == RTPROT_NETFN && rtm->rtm_table == RT_TABLE_MAIN);
	CHECK(rtm->rtm_dst_len == 0 && rtm->rtm_scope == 0); /* strict checking refuses others */
	parse(nlh, sizeof(*rtm), &tb);
	CHECK(tb.a[RTA_OIF] && mnl_attr_get_u32(tb.a[RTA_OIF]) == 11);
	CHECK(rtnl_encode_dump(buf, RTM_GETLINK, AF_INET, 11) == NULL);
}

static void test_malformed(void)
{
	alignas(struct nlmsghdr) char buf[RTNL_MSG_SIZE];
	struct nf_prefix p, q;
	struct nlmsghdr *nlh;
	struct nlattr *attr;
	uint32_t ifindex;

	CHECK(nf_prefix_parse("10.0.0.1/32", false, &p));
	nlh = rtnl_encode_addr(buf, RTM_NEWADDR, 3, &p);
	/* An IPv4 address attribute of the wrong length. */
	attr = (struct nlattr *)((char *)mnl_nlmsg_get_payload(nlh) +
	                         MNL_ALIGN(sizeof(struct ifaddrmsg)));
	attr->nla_len = 6;
	CHECK(rtnl_parse_addr(nlh, &ifindex, &q) == -EBADMSG);
	/* A length running past the message. */
	attr->nla_len = 400;
	CHECK(rtnl_parse_addr(nlh, &ifindex, &q) == -EBADMSG);
	nlh->nlmsg_len = 10;
	CHECK(rtnl_parse_addr(nlh, &ifindex, &q) == -EBADMSG);
}

int main(void)
{
	test_links();
	test_addrs();
	test_routes();
	test_malformed();
	return check_result();
}
