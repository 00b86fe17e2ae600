// SPDX-License-Identifier: Apache-2.0
/*
 * HTB over rtnetlink (see tc.h). The kernel wants for each class a struct
 * tc_htb_opt whose rates are bytes per second in 32 bits (the 64-bit
 * TCA_HTB_RATE64/CEIL64 carry what does not fit), burst sizes as transmit
 * times in psched ticks (64 ns each), and the rate tables tc has always sent
 * (newer kernels compute rates themselves but still read a table for a
 * ratespec without a link layer; we send both, filled the way tc fills them).
 *
 * The clsact qdisc and its cls_bpf filters serve the flow datapath: the
 * filters are named by prio and handle, so that replacing or deleting ours
 * never touches anyone else's on the same qdisc.
 */
#include "netfns/kernel/tc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/gen_stats.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "netfns/kernel/nl.h"

/* Kernel time units of a psched tick: PSCHED_SHIFT is 6. */
#define TICK_NS 64.0
/* tc's burst is one timer tick's worth of bytes at the rate, plus a packet. */
#define BURST_HZ 1000
/* HTB's own limits on a quantum, in bytes: beyond them it warns and clamps. */
#define QUANTUM_MAX 200000

struct tc {
	struct nl_sock *nl;
};

int tc_open(struct tc **out)
{
	struct tc *tc = calloc(1, sizeof(*tc));
	int ret;

	if (!tc)
		return -ENOMEM;
	ret = nl_sock_open(NETLINK_ROUTE, &tc->nl);
	if (ret < 0) {
		free(tc);
		return ret;
	}
	*out = tc;
	return 0;
}

void tc_close(struct tc *tc)
{
	if (!tc)
		return;
	nl_sock_close(tc->nl);
	free(tc);
}

const char *tc_last_error(const struct tc *tc)
{
	return tc->nl->ext_ack;
}

static struct nlmsghdr *put_header(void *buf, uint16_t type, uint16_t flags, uint32_t ifindex,
                                   uint32_t parent, uint32_t handle)
{
	struct nlmsghdr *nlh;
	struct tcmsg *t;

	memset(buf, 0, TC_MSG_SIZE);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	t = mnl_nlmsg_put_extra_header(nlh, sizeof(*t));
	t->tcm_family = AF_UNSPEC;
	t->tcm_ifindex = (int)ifindex;
	t->tcm_parent = parent;
	t->tcm_handle = handle;
	return nlh;
}

struct nlmsghdr *tc_encode_htb_root(void *buf, uint32_t ifindex, uint32_t handle, uint32_t defminor)
{
	struct tc_htb_glob g = {
	    .version = 3, /* what tc sends; the kernel refuses older */
	    .rate2quantum = 10,
	    .defcls = defminor,
	};
	struct nlmsghdr *nlh;
	struct nlattr *opts;

	nlh =
	    put_header(buf, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, ifindex, TC_H_ROOT, handle);
	mnl_attr_put_strz(nlh, TCA_KIND, "htb");
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	mnl_attr_put(nlh, TCA_HTB_INIT, sizeof(g), &g);
	mnl_attr_nest_end(nlh, opts);
	return nlh;
}

/* Psched ticks to send size bytes at rate bytes per second, capped to 32 bits. */
static uint32_t xmit_ticks(uint64_t rate, uint64_t size)
{
	double t = (double)size * 1e9 / (double)rate / TICK_NS;

	return t >= 4294967295.0 ? UINT32_MAX : (uint32_t)t;
}

/* Fills a ratespec and its table the way tc's tc_calc_rtable does, for an Ethernet-like link. */
static void ratespec(struct tc_ratespec *r, uint32_t rtab[256], uint64_t rate, uint32_t mtu)
{
	unsigned cell_log = 0;

	while ((mtu >> cell_log) > 255)
		cell_log++;
	for (unsigned i = 0; i < 256; i++)
		rtab[i] = xmit_ticks(rate, (uint64_t)(i + 1) << cell_log);
	r->cell_log = (unsigned char)cell_log;
	r->cell_align = -1;
	r->linklayer = TC_LINKLAYER_ETHERNET;
	/* Over 32 bits: all ones here, the real rate in RATE64/CEIL64. */
	r->rate = rate >= UINT32_MAX ? UINT32_MAX : (uint32_t)rate;
}

struct nlmsghdr *tc_encode_htb_class(void *buf, uint32_t ifindex, const struct tc_htb_class *c)
{
	uint64_t rate = c->rate_bps / 8, ceil = c->ceil_bps / 8, quantum;
	uint32_t mtu = c->mtu ? c->mtu : 1500;
	uint32_t rtab[256], ctab[256];
	/* An estimator every second, averaged over about 8: `tc -s` shows the rate. */
	struct tc_estimator est = {.interval = 0, .ewma_log = 3};
	struct tc_htb_opt opt = {0};
	struct nlmsghdr *nlh;
	struct nlattr *opts;

	if (!rate || !ceil || ceil < rate || c->prio >= TC_HTB_NUMPRIO)
		return NULL;
	ratespec(&opt.rate, rtab, rate, mtu);
	ratespec(&opt.ceil, ctab, ceil, mtu);
	opt.buffer = xmit_ticks(rate, rate / BURST_HZ + mtu);
	opt.cbuffer = xmit_ticks(ceil, ceil / BURST_HZ + mtu);
	/* HTB's own rule (rate / r2q) but kept inside its bounds, so it never warns. */
	quantum = rate / 10;
	opt.quantum = (uint32_t)(quantum < mtu           ? mtu
	                         : quantum > QUANTUM_MAX ? QUANTUM_MAX
	                                                 : quantum);
	opt.prio = c->prio;

	nlh = put_header(buf, RTM_NEWTCLASS, NLM_F_CREATE | NLM_F_REPLACE, ifindex, c->parent,
	                 c->classid);
	mnl_attr_put_strz(nlh, TCA_KIND, "htb");
	mnl_attr_put(nlh, TCA_RATE, sizeof(est), &est);
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	if (rate >= UINT32_MAX)
		mnl_attr_put_u64(nlh, TCA_HTB_RATE64, rate);
	if (ceil >= UINT32_MAX)
		mnl_attr_put_u64(nlh, TCA_HTB_CEIL64, ceil);
	mnl_attr_put(nlh, TCA_HTB_PARMS, sizeof(opt), &opt);
	mnl_attr_put(nlh, TCA_HTB_RTAB, sizeof(rtab), rtab);
	mnl_attr_put(nlh, TCA_HTB_CTAB, sizeof(ctab), ctab);
	mnl_attr_nest_end(nlh, opts);
	return nlh;
}

struct nlmsghdr *tc_encode_del(void *buf, uint16_t type, uint32_t ifindex, uint32_t handle)
{
	if (type == RTM_DELQDISC)
		return put_header(buf, type, 0, ifindex, TC_H_ROOT, 0);
	if (type == RTM_DELTCLASS)
		return put_header(buf, type, 0, ifindex, 0, handle);
	return NULL;
}

struct nlmsghdr *tc_encode_dump(void *buf, uint16_t type, uint32_t ifindex)
{
	if (type != RTM_GETQDISC && type != RTM_GETTCLASS)
		return NULL;
	return put_header(buf, type, NLM_F_DUMP, ifindex, 0, 0);
}

struct nlmsghdr *tc_encode_clsact(void *buf, uint32_t ifindex)
{
	/* Exclusive: a clsact cannot be "changed", so replacing an existing one fails. */
	struct nlmsghdr *nlh = put_header(buf, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex,
	                                  TC_H_CLSACT, TC_H_MAKE(TC_H_CLSACT, 0));

	mnl_attr_put_strz(nlh, TCA_KIND, "clsact");
	return nlh;
}

/* tcm_info of a filter: its priority above, its protocol (network order) below. */
static uint32_t filter_info(uint16_t prio)
{
	return TC_H_MAKE((uint32_t)prio << 16, htons(ETH_P_ALL));
}

struct nlmsghdr *tc_encode_bpf_filter(void *buf, uint32_t ifindex, uint32_t parent, uint16_t prio,
                                      uint32_t handle, int prog_fd, const char *name)
{
	struct nlmsghdr *nlh;
	struct nlattr *opts;
	struct tcmsg *t;

	if (!prio || !handle || prog_fd < 0 || !name || strlen(name) >= TC_BPF_NAME_MAX)
		return NULL;
	nlh =
	    put_header(buf, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_REPLACE, ifindex, parent, handle);
	t = mnl_nlmsg_get_payload(nlh);
	t->tcm_info = filter_info(prio);
	mnl_attr_put_strz(nlh, TCA_KIND, "bpf");
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	mnl_attr_put_u32(nlh, TCA_BPF_FD, (uint32_t)prog_fd);
	mnl_attr_put_strz(nlh, TCA_BPF_NAME, name);
	mnl_attr_put_u32(nlh, TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
	mnl_attr_nest_end(nlh, opts);
	return nlh;
}

struct nlmsghdr *tc_encode_filter_del(void *buf, uint32_t ifindex, uint32_t parent, uint16_t prio,
                                      uint32_t handle)
{
	struct nlmsghdr *nlh;
	struct tcmsg *t;

	if (!prio || !handle)
		return NULL;
	nlh = put_header(buf, RTM_DELTFILTER, 0, ifindex, parent, handle);
	t = mnl_nlmsg_get_payload(nlh);
	t->tcm_info = filter_info(prio);
	/* The kernel then refuses to delete a filter of another kind at that place. */
	mnl_attr_put_strz(nlh, TCA_KIND, "bpf");
	return nlh;
}

struct nlmsghdr *tc_encode_filter_dump(void *buf, uint32_t ifindex, uint32_t parent)
{
	return put_header(buf, RTM_GETTFILTER, NLM_F_DUMP, ifindex, parent, 0);
}

/* ---- decoders ---- */

static int collect(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	/* TCA_MAX and TCA_STATS_MAX are both well under 32. */
	if (type < 32)
		tb[type] = attr;
	return MNL_CB_OK;
}

static void parse_stats2(const struct nlattr *nest, struct tc_obj *o)
{
	const struct nlattr *tb[32] = {0};

	if (mnl_attr_parse_nested(nest, collect, tb) < 0)
		return;
	if (tb[TCA_STATS_BASIC] &&
	    mnl_attr_get_payload_len(tb[TCA_STATS_BASIC]) >= sizeof(struct gnet_stats_basic)) {
		struct gnet_stats_basic b;

		memcpy(&b, mnl_attr_get_payload(tb[TCA_STATS_BASIC]), sizeof(b));
		o->bytes = b.bytes;
		o->packets = b.packets;
	}
	if (tb[TCA_STATS_QUEUE] &&
	    mnl_attr_get_payload_len(tb[TCA_STATS_QUEUE]) >= sizeof(struct gnet_stats_queue)) {
		struct gnet_stats_queue q;

		memcpy(&q, mnl_attr_get_payload(tb[TCA_STATS_QUEUE]), sizeof(q));
		o->drops = q.drops;
	}
	/* Rates in bytes per second; the 64-bit one when the 32-bit one would overflow. */
	if (tb[TCA_STATS_RATE_EST64] && mnl_attr_get_payload_len(tb[TCA_STATS_RATE_EST64]) >=
	                                    sizeof(struct gnet_stats_rate_est64)) {
		struct gnet_stats_rate_est64 r;

		memcpy(&r, mnl_attr_get_payload(tb[TCA_STATS_RATE_EST64]), sizeof(r));
		o->rate_bps = r.bps * 8;
	} else if (tb[TCA_STATS_RATE_EST] && mnl_attr_get_payload_len(tb[TCA_STATS_RATE_EST]) >=
	                                         sizeof(struct gnet_stats_rate_est)) {
		struct gnet_stats_rate_est r;

		memcpy(&r, mnl_attr_get_payload(tb[TCA_STATS_RATE_EST]), sizeof(r));
		o->rate_bps = (uint64_t)r.bps * 8;
	}
}

int tc_parse_obj(const struct nlmsghdr *nlh, uint32_t ifindex, struct tc_obj *out)
{
	const struct nlattr *tb[32] = {0};
	const struct tcmsg *t;

	memset(out, 0, sizeof(*out));
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*t)))
		return -EBADMSG;
	t = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*t), collect, tb) < 0)
		return -EBADMSG;
	if ((uint32_t)t->tcm_ifindex != ifindex)
		return -ENOENT;
	out->handle = t->tcm_handle;
	out->parent = t->tcm_parent;
	if (tb[TCA_KIND] && mnl_attr_validate(tb[TCA_KIND], MNL_TYPE_NUL_STRING) == 0)
		strncpy(out->kind, mnl_attr_get_str(tb[TCA_KIND]), sizeof(out->kind) - 1);
	if (tb[TCA_STATS2])
		parse_stats2(tb[TCA_STATS2], out);
	return 0;
}

int tc_parse_filter(const struct nlmsghdr *nlh, uint32_t ifindex, struct tc_filter *out)
{
	const struct nlattr *tb[32] = {0}, *ob[32] = {0};
	const struct tcmsg *t;

	memset(out, 0, sizeof(*out));
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*t)))
		return -EBADMSG;
	t = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*t), collect, tb) < 0)
		return -EBADMSG;
	if ((uint32_t)t->tcm_ifindex != ifindex || !t->tcm_handle)
		return -ENOENT;
	out->handle = t->tcm_handle;
	out->prio = (uint16_t)(t->tcm_info >> 16);
	out->protocol = ntohs((uint16_t)(t->tcm_info & 0xffff));
	if (tb[TCA_KIND] && mnl_attr_validate(tb[TCA_KIND], MNL_TYPE_NUL_STRING) == 0)
		strncpy(out->kind, mnl_attr_get_str(tb[TCA_KIND]), sizeof(out->kind) - 1);
	if (strcmp(out->kind, "bpf") || !tb[TCA_OPTIONS])
		return 0;
	if (mnl_attr_parse_nested(tb[TCA_OPTIONS], collect, ob) < 0)
		return -EBADMSG;
	if (ob[TCA_BPF_NAME] && mnl_attr_validate(ob[TCA_BPF_NAME], MNL_TYPE_NUL_STRING) == 0)
		strncpy(out->bpf_name, mnl_attr_get_str(ob[TCA_BPF_NAME]),
		        sizeof(out->bpf_name) - 1);
	if (ob[TCA_BPF_ID] && mnl_attr_validate(ob[TCA_BPF_ID], MNL_TYPE_U32) == 0)
		out->bpf_id = mnl_attr_get_u32(ob[TCA_BPF_ID]);
	return 0;
}

/* ---- requests ---- */

static int send_msg(struct tc *tc, struct nlmsghdr *nlh)
{
	return nlh ? nl_sock_request(tc->nl, nlh, NULL, NULL) : -EINVAL;
}

int tc_htb_root(struct tc *tc, uint32_t ifindex, uint32_t handle, uint32_t defminor)
{
	char buf[TC_MSG_SIZE];

	return send_msg(tc, tc_encode_htb_root(buf, ifindex, handle, defminor));
}

int tc_del_root(struct tc *tc, uint32_t ifindex)
{
	char buf[TC_MSG_SIZE];

	return send_msg(tc, tc_encode_del(buf, RTM_DELQDISC, ifindex, 0));
}

int tc_htb_set_class(struct tc *tc, uint32_t ifindex, const struct tc_htb_class *c)
{
	char buf[TC_MSG_SIZE];

	return send_msg(tc, tc_encode_htb_class(buf, ifindex, c));
}

int tc_del_class(struct tc *tc, uint32_t ifindex, uint32_t classid)
{
	char buf[TC_MSG_SIZE];

	return send_msg(tc, tc_encode_del(buf, RTM_DELTCLASS, ifindex, classid));
}

/*
 * Appends item to a dump's growing array v (of *n items, room for *cap);
 * returns the array, which may have moved, or NULL out of memory (v intact).
 */
static void *push(void *v, size_t *n, size_t *cap, size_t size, const void *item)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		void *nv = realloc(v, c * size);

		if (!nv)
			return NULL;
		v = nv;
		*cap = c;
	}
	memcpy((char *)v + *n * size, item, size);
	(*n)++;
	return v;
}

struct obj_list {
	uint32_t ifindex;
	struct tc_obj *v;
	size_t n, cap;
};

static int on_obj(const struct nlmsghdr *nlh, void *data)
{
	struct obj_list *l = data;
	struct tc_obj o;
	int ret = tc_parse_obj(nlh, l->ifindex, &o);
	void *v;

	if (ret == -ENOENT)
		return MNL_CB_OK;
	if (ret < 0) {
		errno = -ret;
		return MNL_CB_ERROR;
	}
	v = push(l->v, &l->n, &l->cap, sizeof(o), &o);
	if (!v) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	l->v = v;
	return MNL_CB_OK;
}

int tc_list(struct tc *tc, uint16_t type, uint32_t ifindex, struct tc_obj **out, size_t *n)
{
	struct obj_list l = {.ifindex = ifindex};
	char buf[TC_MSG_SIZE];
	struct nlmsghdr *nlh = tc_encode_dump(buf, type, ifindex);
	int ret;

	*out = NULL;
	*n = 0;
	if (!nlh)
		return -EINVAL;
	ret = nl_sock_request(tc->nl, nlh, on_obj, &l);
	if (ret < 0) {
		free(l.v);
		return ret;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

int tc_clsact_add(struct tc *tc, uint32_t ifindex)
{
	char buf[TC_MSG_SIZE];
	int ret = send_msg(tc, tc_encode_clsact(buf, ifindex));

	if (ret == -EEXIST)
		tc->nl->ext_ack[0] = '\0';
	return ret == -EEXIST ? 0 : ret;
}

int tc_bpf_attach(struct tc *tc, uint32_t ifindex, uint32_t parent, uint16_t prio, uint32_t handle,
                  int prog_fd, const char *name)
{
	char buf[TC_MSG_SIZE];

	return send_msg(tc,
	                tc_encode_bpf_filter(buf, ifindex, parent, prio, handle, prog_fd, name));
}

int tc_filter_del(struct tc *tc, uint32_t ifindex, uint32_t parent, uint16_t prio, uint32_t handle)
{
	char buf[TC_MSG_SIZE];

	return send_msg(tc, tc_encode_filter_del(buf, ifindex, parent, prio, handle));
}

struct filter_list {
	uint32_t ifindex;
	struct tc_filter *v;
	size_t n, cap;
};

static int on_filter(const struct nlmsghdr *nlh, void *data)
{
	struct filter_list *l = data;
	struct tc_filter f;
	int ret = tc_parse_filter(nlh, l->ifindex, &f);
	void *v;

	if (ret == -ENOENT)
		return MNL_CB_OK;
	if (ret < 0) {
		errno = -ret;
		return MNL_CB_ERROR;
	}
	v = push(l->v, &l->n, &l->cap, sizeof(f), &f);
	if (!v) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	l->v = v;
	return MNL_CB_OK;
}

int tc_filter_list(struct tc *tc, uint32_t ifindex, uint32_t parent, struct tc_filter **out,
                   size_t *n)
{
	struct filter_list l = {.ifindex = ifindex};
	char buf[TC_MSG_SIZE];
	int ret;

	*out = NULL;
	*n = 0;
	ret = nl_sock_request(tc->nl, tc_encode_filter_dump(buf, ifindex, parent), on_filter, &l);
	if (ret < 0) {
		free(l.v);
		return ret;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}
