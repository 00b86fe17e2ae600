// SPDX-License-Identifier: Apache-2.0
/*
 * The flow datapath (see flow_dp.h): two veth pairs, a clsact qdisc on wg
 * and on both host ends, and four cls_bpf filters of ours, all at one
 * priority and handle, so that replacing or removing them never touches
 * another filter on the same qdisc.
 *
 * A push program has its target (a host end's ifindex) and a back program
 * wg's ifindex built in. Each filter is named after what its program was
 * built for ("nf_push_<target>", "nf_back_<wg>_in"): a dump then tells
 * whether the filter in place is the one wanted for the current links, and
 * flow_dp_ensure replaces exactly those that are not.
 *
 * The back programs are attached before the push programs, so that no packet
 * is ever sent into the bridge with no way back.
 */
#include "netfns/flow/flow_dp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/pkt_sched.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "netfns/kernel/bpf.h"
#include "netfns/kernel/rtnl.h"
#include "netfns/kernel/tc.h"

/*
 * Our filters' priority and handle. Below tc's automatic priorities (they
 * start at 0xc000 and go down), so ours run before an operator's unnamed
 * filters; unusual enough not to meet one chosen by hand.
 */
#define DP_PRIO   0x6e66
#define DP_HANDLE 0x6e66

/* The overlay MTU (1420 at most) plus the 14 bytes of Ethernet header fit. */
#define DP_MTU 1500

#define INGRESS TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)
#define EGRESS  TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)

struct dp {
	struct rtnl *rt;
	struct tc *tc;
	uint32_t wg, rx, tx; /* ifindexes */
};

/* One filter as wanted: where, and which program. */
struct hook {
	uint32_t ifindex, parent;
	bool push;
	uint32_t target; /* push: the host end; back: wg */
	bool ingress;    /* back: to wg's ingress */
	char name[32];
};

static void set_err(char *err, size_t errlen, const char *what, int ret, const char *ext_ack)
{
	snprintf(err, errlen, "flow datapath: %s: %s%s%s", what, strerror(-ret),
	         ext_ack && *ext_ack ? ": " : "", ext_ack ? ext_ack : "");
}

static int dp_open(struct dp *dp, char *err, size_t errlen)
{
	int ret;

	memset(dp, 0, sizeof(*dp));
	ret = rtnl_open(&dp->rt);
	if (ret < 0) {
		set_err(err, errlen, "rtnetlink socket", ret, NULL);
		return ret;
	}
	ret = tc_open(&dp->tc);
	if (ret < 0)
		set_err(err, errlen, "tc socket", ret, NULL);
	return ret;
}

static void dp_close(struct dp *dp)
{
	rtnl_close(dp->rt);
	tc_close(dp->tc);
}

/* The four filters for the current links, back programs first (see the file comment). */
static void plan(const struct dp *dp, struct hook h[4])
{
	memset(h, 0, 4 * sizeof(*h));
	h[0] =
	    (struct hook){.ifindex = dp->rx, .parent = INGRESS, .target = dp->wg, .ingress = true};
	h[1] = (struct hook){.ifindex = dp->tx, .parent = INGRESS, .target = dp->wg};
	h[2] = (struct hook){.ifindex = dp->wg, .parent = INGRESS, .push = true, .target = dp->rx};
	h[3] = (struct hook){.ifindex = dp->wg, .parent = EGRESS, .push = true, .target = dp->tx};
	for (int i = 0; i < 4; i++) {
		if (h[i].push)
			snprintf(h[i].name, sizeof(h[i].name), "nf_push_%u", h[i].target);
		else
			snprintf(h[i].name, sizeof(h[i].name), "nf_back_%u_%s", h[i].target,
			         h[i].ingress ? "in" : "out");
	}
}

/* Finds our filter under parent of ifindex: 1 and its name in name, 0 when absent, -errno. */
static int find_ours(struct tc *tc, uint32_t ifindex, uint32_t parent, char *name, size_t size)
{
	struct tc_filter *f = NULL;
	size_t n = 0;
	int ret = tc_filter_list(tc, ifindex, parent, &f, &n);

	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		if (f[i].prio == DP_PRIO && f[i].handle == DP_HANDLE && !strcmp(f[i].kind, "bpf")) {
			snprintf(name, size, "%s", f[i].bpf_name);
			ret = 1;
			break;
		}
	}
	free(f);
	return ret;
}

/* 1 when the filter in place for h is the one wanted, 0 when not, -errno. */
static int hook_ok(struct tc *tc, const struct hook *h)
{
	char name[TC_BPF_NAME_MAX];
	int ret = find_ours(tc, h->ifindex, h->parent, name, sizeof(name));

	return ret <= 0 ? ret : !strcmp(name, h->name);
}

static int attach(struct dp *dp, const struct hook *h, char *err, size_t errlen)
{
	struct bpf_insn insns[BPF_PUSH_MAX_INSNS];
	char what[64];
	size_t n;
	int fd, ret;

	snprintf(what, sizeof(what), "filter %s on ifindex %u", h->name, h->ifindex);
	ret = tc_clsact_add(dp->tc, h->ifindex);
	if (ret < 0) {
		set_err(err, errlen, what, ret, tc_last_error(dp->tc));
		return ret;
	}
	if (h->push)
		n = bpf_build_push(insns, FLOW_DP_MARK, h->target);
	else
		n = bpf_build_back(insns, FLOW_DP_MARK, h->target, h->ingress);
	fd = bpf_load_sched_cls(insns, n, h->push ? "nf_push" : "nf_back", err, errlen);
	if (fd < 0)
		return fd;
	/* The filter holds the program from here on; our fd is not needed after. */
	ret = tc_bpf_attach(dp->tc, h->ifindex, h->parent, DP_PRIO, DP_HANDLE, fd, h->name);
	close(fd);
	if (ret < 0)
		set_err(err, errlen, what, ret, tc_last_error(dp->tc));
	return ret;
}

/* Best effort: keeps router solicitations and the like out of the bridge. */
static void no_ipv6(const char *ifname)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "1", 1) != 1) {
		/* an IPv6-less kernel or a read-only /proc: nothing to keep out */
	}
	close(fd);
}

/*
 * Turns transmit checksum offload off on a host end (which also turns TSO
 * off). The push programs redirect packets at wg's egress hook, before the
 * kernel finishes what the device would: a TCP packet still carries a
 * partial checksum and may be a GSO super-packet. Without the offloads,
 * the host end's own transmit path completes the checksum and segments;
 * otherwise the bridge (ovs-vswitchd reading the peer with AF_PACKET) would
 * send the packet back with the checksum unfinished, and the receiver drops
 * it.
 */
static int tx_offload_off(const char *ifname)
{
	struct ethtool_value ev = {.cmd = ETHTOOL_STXCSUM, .data = 0};
	struct ifreq ifr = {0};
	int fd, ret = 0;

	if (strlen(ifname) >= sizeof(ifr.ifr_name))
		return -EINVAL;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	ifr.ifr_data = (void *)&ev;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static bool link_ready(const struct rtnl_link *l)
{
	return !strcmp(l->kind, "veth") && (l->flags & IFF_UP);
}

/* 1 when both ends of a pair exist as veths and are up, 0 when not, -errno. */
static int pair_ok(struct rtnl *rt, const char *host, const char *port, uint32_t *host_index)
{
	struct rtnl_link h, p;
	int ret = rtnl_get_link(rt, host, &h);

	if (ret == 0)
		ret = rtnl_get_link(rt, port, &p);
	if (ret == -ENODEV)
		return 0;
	if (ret < 0)
		return ret;
	*host_index = h.index;
	return link_ready(&h) && link_ready(&p);
}

/* Removes whatever exists of a pair (one end is enough for a veth). */
static int pair_delete(struct rtnl *rt, const char *host, const char *port)
{
	const char *ends[2] = {host, port};
	struct rtnl_link l;
	int ret = 0;

	for (int i = 0; i < 2 && ret == 0; i++) {
		ret = rtnl_get_link(rt, ends[i], &l);
		if (ret == 0)
			ret = rtnl_delete_link(rt, l.index);
		if (ret == -ENODEV)
			ret = 0;
	}
	return ret;
}

static int pair_ensure(struct rtnl *rt, const char *host, const char *port, uint32_t *host_index,
                       char *err, size_t errlen)
{
	const char *ends[2] = {host, port};
	struct rtnl_link h, p;
	const char *what = host;
	int ret;

	ret = rtnl_get_link(rt, host, &h);
	if (ret == 0)
		ret = rtnl_get_link(rt, port, &p);
	if (ret == 0 && !strcmp(h.kind, "veth") && !strcmp(p.kind, "veth"))
		goto up;
	if (ret < 0 && ret != -ENODEV)
		goto fail;
	/* Missing or not a veth (half a pair, a leftover of something else): made anew. */
	ret = pair_delete(rt, host, port);
	if (ret == 0)
		ret = rtnl_create_veth(rt, host, port);
	if (ret < 0)
		goto fail;
	/* Before they go up, so that not one router solicitation is sent. */
	no_ipv6(host);
	no_ipv6(port);
up:
	for (int i = 0; i < 2; i++) {
		struct rtnl_link l;

		what = ends[i];
		ret = rtnl_get_link(rt, ends[i], &l);
		if (ret == 0 && (!(l.flags & IFF_UP) || l.mtu != DP_MTU)) {
			ret = rtnl_set_mtu(rt, l.index, DP_MTU);
			if (ret == 0)
				ret = rtnl_set_up(rt, l.index);
		}
		if (ret < 0)
			goto fail;
		if (i == 0 && (ret = tx_offload_off(ends[i])) < 0) {
			set_err(err, errlen, what, ret, "turning off transmit checksum offload");
			return ret;
		}
		if (i == 0)
			*host_index = l.index;
	}
	return 0;
fail:
	set_err(err, errlen, what, ret, rtnl_last_error(rt));
	return ret;
}

int flow_dp_ensure(const char *wg_ifname, char *err, size_t errlen)
{
	struct rtnl_link wg;
	struct hook h[4];
	struct dp dp;
	int ret;

	ret = dp_open(&dp, err, errlen);
	if (ret < 0)
		goto cleanup;
	ret = rtnl_get_link(dp.rt, wg_ifname, &wg);
	if (ret < 0) {
		set_err(err, errlen, wg_ifname, ret, rtnl_last_error(dp.rt));
		goto cleanup;
	}
	dp.wg = wg.index;
	ret = pair_ensure(dp.rt, FLOW_DP_RX, FLOW_DP_RX_PORT, &dp.rx, err, errlen);
	if (ret == 0)
		ret = pair_ensure(dp.rt, FLOW_DP_TX, FLOW_DP_TX_PORT, &dp.tx, err, errlen);
	if (ret < 0)
		goto cleanup;
	plan(&dp, h);
	for (int i = 0; i < 4; i++) {
		ret = hook_ok(dp.tc, &h[i]);
		if (ret < 0) {
			set_err(err, errlen, h[i].name, ret, tc_last_error(dp.tc));
			goto cleanup;
		}
		if (ret == 0) {
			ret = attach(&dp, &h[i], err, errlen);
			if (ret < 0)
				goto cleanup;
		}
	}
	ret = 0;
cleanup:
	dp_close(&dp);
	return ret;
}

int flow_dp_check(const char *wg_ifname)
{
	struct rtnl_link wg;
	struct hook h[4];
	struct dp dp;
	char err[16];
	int ret;

	ret = dp_open(&dp, err, sizeof(err));
	if (ret < 0)
		goto cleanup;
	ret = rtnl_get_link(dp.rt, wg_ifname, &wg);
	if (ret < 0)
		goto cleanup;
	dp.wg = wg.index;
	ret = pair_ok(dp.rt, FLOW_DP_RX, FLOW_DP_RX_PORT, &dp.rx);
	if (ret > 0)
		ret = pair_ok(dp.rt, FLOW_DP_TX, FLOW_DP_TX_PORT, &dp.tx);
	if (ret <= 0)
		goto cleanup;
	plan(&dp, h);
	for (int i = 0; i < 4 && ret > 0; i++)
		ret = hook_ok(dp.tc, &h[i]);
cleanup:
	dp_close(&dp);
	return ret == -ENODEV ? 0 : ret;
}

int flow_dp_teardown(const char *wg_ifname, char *err, size_t errlen)
{
	static const uint32_t parents[2] = {INGRESS, EGRESS};
	struct rtnl_link wg;
	char name[TC_BPF_NAME_MAX];
	struct dp dp;
	int ret;

	ret = dp_open(&dp, err, errlen);
	if (ret < 0)
		goto cleanup;
	ret = rtnl_get_link(dp.rt, wg_ifname, &wg);
	if (ret < 0 && ret != -ENODEV) {
		set_err(err, errlen, wg_ifname, ret, rtnl_last_error(dp.rt));
		goto cleanup;
	}
	/* No wg: nothing of ours on it. */
	for (int i = 0; i < 2 && ret == 0; i++) {
		ret = find_ours(dp.tc, wg.index, parents[i], name, sizeof(name));
		if (ret > 0)
			ret = tc_filter_del(dp.tc, wg.index, parents[i], DP_PRIO, DP_HANDLE);
		if (ret < 0) {
			set_err(err, errlen, wg_ifname, ret, tc_last_error(dp.tc));
			goto cleanup;
		}
	}
	/* The host ends' qdiscs and filters go with them. */
	ret = pair_delete(dp.rt, FLOW_DP_RX, FLOW_DP_RX_PORT);
	if (ret == 0)
		ret = pair_delete(dp.rt, FLOW_DP_TX, FLOW_DP_TX_PORT);
	if (ret < 0)
		set_err(err, errlen, "veth pairs", ret, rtnl_last_error(dp.rt));
cleanup:
	dp_close(&dp);
	return ret;
}
