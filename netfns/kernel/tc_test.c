// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for tc.c's encoders and decoder, without a socket: the root
 * qdisc and a class are built and parsed back attribute by attribute (rates
 * in bytes per second, 64-bit rates beyond 32 bits, rate tables as tc fills
 * them), and a class dump message with counters reads back.
 */
#include "netfns/kernel/tc.h"
#include "tests/check.h"

#include <errno.h>
#include <string.h>

#include <linux/gen_stats.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

static int collect(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_get_type(attr) < 32)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static void test_root(void)
{
	char buf[TC_MSG_SIZE];
	const struct nlattr *tb[32] = {0}, *ob[32] = {0};
	struct nlmsghdr *nlh = tc_encode_htb_root(buf, 7, 0x10000, 0xffff);
	const struct tcmsg *t = mnl_nlmsg_get_payload(nlh);
	struct tc_htb_glob g;

	CHECK(nlh->nlmsg_type == RTM_NEWQDISC &&
	      (nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_REPLACE)) ==
	          (NLM_F_CREATE | NLM_F_REPLACE));
	CHECK(t->tcm_ifindex == 7 && t->tcm_parent == TC_H_ROOT && t->tcm_handle == 0x10000);
	CHECK(mnl_attr_parse(nlh, sizeof(*t), collect, tb) >= 0);
	CHECK(tb[TCA_KIND] && !strcmp(mnl_attr_get_str(tb[TCA_KIND]), "htb"));
	CHECK(tb[TCA_OPTIONS] && mnl_attr_parse_nested(tb[TCA_OPTIONS], collect, ob) >= 0);
	CHECK(ob[TCA_HTB_INIT] && mnl_attr_get_payload_len(ob[TCA_HTB_INIT]) == sizeof(g));
	if (ob[TCA_HTB_INIT]) {
		memcpy(&g, mnl_attr_get_payload(ob[TCA_HTB_INIT]), sizeof(g));
		CHECK(g.version == 3 && g.defcls == 0xffff && g.rate2quantum == 10);
	}
}

static void test_class(void)
{
	char buf[TC_MSG_SIZE];
	struct tc_htb_class c = {.parent = 0x10001,
	                         .classid = 0x10002,
	                         .rate_bps = 10000000,
	                         .ceil_bps = 50000000,
	                         .prio = 2,
	                         .mtu = 1420};
	const struct nlattr *tb[32] = {0}, *ob[32] = {0};
	struct nlmsghdr *nlh = tc_encode_htb_class(buf, 7, &c);
	const struct tcmsg *t = mnl_nlmsg_get_payload(nlh);
	struct tc_htb_opt o;
	uint32_t rtab[256];

	CHECK(nlh->nlmsg_type == RTM_NEWTCLASS && t->tcm_parent == 0x10001 &&
	      t->tcm_handle == 0x10002 && t->tcm_ifindex == 7);
	CHECK(mnl_attr_parse(nlh, sizeof(*t), collect, tb) >= 0);
	CHECK(tb[TCA_RATE] && tb[TCA_OPTIONS]);
	CHECK(mnl_attr_parse_nested(tb[TCA_OPTIONS], collect, ob) >= 0);
	CHECK(ob[TCA_HTB_PARMS] && ob[TCA_HTB_RTAB] && ob[TCA_HTB_CTAB]);
	CHECK(!ob[TCA_HTB_RATE64] && !ob[TCA_HTB_CEIL64]);
	if (!ob[TCA_HTB_PARMS] || !ob[TCA_HTB_RTAB])
		return;
	memcpy(&o, mnl_attr_get_payload(ob[TCA_HTB_PARMS]), sizeof(o));
	CHECK(o.rate.rate == 1250000 && o.ceil.rate == 6250000 && o.prio == 2);
	CHECK(o.rate.linklayer == TC_LINKLAYER_ETHERNET && o.rate.cell_log == 3);
	CHECK(o.quantum == 125000 && o.buffer > 0 && o.cbuffer > 0 && o.cbuffer < o.buffer);
	CHECK(mnl_attr_get_payload_len(ob[TCA_HTB_RTAB]) == sizeof(rtab));
	memcpy(rtab, mnl_attr_get_payload(ob[TCA_HTB_RTAB]), sizeof(rtab));
	/* 8 bytes at 1.25 MB/s: 6.4 us, 100 ticks of 64 ns. */
	CHECK(rtab[0] == 100 && rtab[255] == 25600);

	/* Beyond 32 bits of bytes per second: the 64-bit attributes carry it. */
	c.rate_bps = 40000000000ULL;
	c.ceil_bps = 100000000000ULL;
	memset(ob, 0, sizeof(ob));
	memset(tb, 0, sizeof(tb));
	nlh = tc_encode_htb_class(buf, 7, &c);
	CHECK(mnl_attr_parse(nlh, sizeof(*t), collect, tb) >= 0 &&
	      mnl_attr_parse_nested(tb[TCA_OPTIONS], collect, ob) >= 0);
	CHECK(ob[TCA_HTB_RATE64] && mnl_attr_get_u64(ob[TCA_HTB_RATE64]) == 5000000000ULL);
	CHECK(ob[TCA_HTB_CEIL64] && mnl_attr_get_u64(ob[TCA_HTB_CEIL64]) == 12500000000ULL);
	memcpy(&o, mnl_attr_get_payload(ob[TCA_HTB_PARMS]), sizeof(o));
	CHECK(o.rate.rate == UINT32_MAX && o.quantum == 200000);

	c.ceil_bps = 1000;
	CHECK(tc_encode_htb_class(buf, 7, &c) == NULL);
	c.ceil_bps = c.rate_bps;
	c.prio = 8;
	CHECK(tc_encode_htb_class(buf, 7, &c) == NULL);
}

static void test_dump(void)
{
	char buf[TC_MSG_SIZE];
	struct nlmsghdr *nlh = tc_encode_dump(buf, RTM_GETTCLASS, 9);
	struct gnet_stats_basic b = {.bytes = 123456, .packets = 99};
	struct gnet_stats_queue q = {.drops = 4};
	struct gnet_stats_rate_est r = {.bps = 1000};
	struct gnet_stats_rate_est64 r64 = {.bps = 5000000000ULL};
	struct nlattr *st;
	struct tcmsg *t;
	struct tc_obj o;

	CHECK(nlh->nlmsg_type == RTM_GETTCLASS && (nlh->nlmsg_flags & NLM_F_DUMP));
	CHECK(tc_encode_dump(buf, RTM_GETLINK, 9) == NULL);
	CHECK(tc_encode_del(buf, RTM_DELTCLASS, 9, 0x10005)->nlmsg_type == RTM_DELTCLASS);

	/* A reply as the kernel writes it. */
	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWTCLASS;
	t = mnl_nlmsg_put_extra_header(nlh, sizeof(*t));
	t->tcm_ifindex = 9;
	t->tcm_handle = 0x10005;
	t->tcm_parent = 0x10001;
	mnl_attr_put_strz(nlh, TCA_KIND, "htb");
	st = mnl_attr_nest_start(nlh, TCA_STATS2);
	mnl_attr_put(nlh, TCA_STATS_BASIC, sizeof(b), &b);
	mnl_attr_put(nlh, TCA_STATS_RATE_EST, sizeof(r), &r);
	mnl_attr_put(nlh, TCA_STATS_QUEUE, sizeof(q), &q);
	mnl_attr_nest_end(nlh, st);
	CHECK(tc_parse_obj(nlh, 9, &o) == 0);
	CHECK(o.handle == 0x10005 && o.parent == 0x10001 && !strcmp(o.kind, "htb"));
	CHECK(o.bytes == 123456 && o.packets == 99 && o.drops == 4 && o.rate_bps == 8000);
	CHECK(tc_parse_obj(nlh, 8, &o) == -ENOENT);
	st = mnl_attr_nest_start(nlh, TCA_STATS2);
	mnl_attr_put(nlh, TCA_STATS_RATE_EST64, sizeof(r64), &r64);
	mnl_attr_nest_end(nlh, st);
	CHECK(tc_parse_obj(nlh, 9, &o) == 0 && o.rate_bps == 40000000000ULL);
	nlh->nlmsg_len = 8;
	CHECK(tc_parse_obj(nlh, 9, &o) == -EBADMSG);
}

int main(void)
{
	test_root();
	test_class();
	test_dump();
	return check_result();
}
