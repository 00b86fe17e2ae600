// SPDX-License-Identifier: Apache-2.0
/*
 * The flow datapath with real packets (needs root), in a private network
 * namespace: a TUN device of our own stands for the overlay interface, and
 * the test plays the bridge with packet sockets on both bridge ports,
 * sending back whatever arrives. An ICMP echo request written into the TUN
 * must pass the RX port, reach the host stack as received on the TUN, and
 * the reply pass the TX port before it is read back from the TUN; a TCP SYN
 * must get its SYN-ACK the same way. When the fake bridge holds packets
 * back, nothing reaches the TUN (fail closed). Then: check after ensure and
 * teardown, ensure twice, a re-created TUN (new ifindex), and a foreign
 * cls_bpf filter and HTB root that must survive ensure and teardown.
 */
#include "netfns/flow/flow_dp.h"
#include "netfns/kernel/bpf.h"
#include "netfns/kernel/rtnl.h"
#include "netfns/kernel/tc.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#define TUN      "nftun0"
#define HOST_IP  "10.77.0.1"
#define PEER_IP  "10.77.0.2"
#define TCP_PORT 7777

/* The fake bridge and what it saw. */
struct bridge {
	int rx, tx;  /* packet sockets on the two bridge ports */
	bool bounce; /* send back what arrives */
	int n_rx, n_tx;
	int bad_eth; /* frames without our header or ethertype 0x0800 */
};

static int tun_fd = -1;

static uint16_t csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Writes a 20-byte IPv4 header from PEER_IP to HOST_IP. */
static void ip_header(uint8_t *p, size_t total, uint8_t proto)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	put16(p + 2, (uint16_t)total);
	p[8] = 64;
	p[9] = proto;
	inet_pton(AF_INET, PEER_IP, p + 12);
	inet_pton(AF_INET, HOST_IP, p + 16);
	put16(p + 10, csum(p, 20, 0));
}

static void write_ping(uint16_t id, uint16_t seq)
{
	uint8_t p[20 + 8 + 16];

	ip_header(p, sizeof(p), 1);
	memset(p + 20, 0, sizeof(p) - 20);
	p[20] = 8; /* echo request */
	put16(p + 24, id);
	put16(p + 26, seq);
	memcpy(p + 28, "netfn flow dp  ", 16);
	put16(p + 22, csum(p + 20, sizeof(p) - 20, 0));
	CHECK(write(tun_fd, p, sizeof(p)) == (ssize_t)sizeof(p));
}

static void write_syn(uint16_t sport, uint32_t seq)
{
	uint8_t p[20 + 20], pseudo[12];
	uint32_t sum = 0;

	ip_header(p, sizeof(p), 6);
	memset(p + 20, 0, 20);
	put16(p + 20, sport);
	put16(p + 22, TCP_PORT);
	put16(p + 24, (uint16_t)(seq >> 16));
	put16(p + 26, (uint16_t)seq);
	p[32] = 5 << 4; /* data offset */
	p[33] = 0x02;   /* SYN */
	put16(p + 34, 65535);
	memcpy(pseudo, p + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = 6;
	put16(pseudo + 10, 20);
	for (size_t i = 0; i < sizeof(pseudo); i += 2)
		sum += get16(pseudo + i);
	put16(p + 36, csum(p + 20, 20, sum));
	CHECK(write(tun_fd, p, sizeof(p)) == (ssize_t)sizeof(p));
}

/* One frame at a bridge port: checked, counted and, when bouncing, sent back unchanged. */
static void serve_port(struct bridge *b, int fd, int *count)
{
	static const uint8_t dst[6] = BPF_PUSH_DST_MAC;
	uint8_t frame[2048];
	struct sockaddr_ll from;
	socklen_t fromlen = sizeof(from);
	ssize_t n = recvfrom(fd, frame, sizeof(frame), 0, (struct sockaddr *)&from, &fromlen);

	if (n < 0 || from.sll_pkttype == PACKET_OUTGOING)
		return;
	if (n < ETH_HLEN + 20 || memcmp(frame, dst, 6) || get16(frame + 12) != ETH_P_IP) {
		b->bad_eth++;
		return;
	}
	(*count)++;
	if (b->bounce)
		CHECK(send(fd, frame, (size_t)n, 0) == n);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Runs the bridge for up to ms milliseconds or until a packet read from the
 * TUN satisfies want; returns 1 then, 0 on time out.
 */
static int run(struct bridge *b, int ms, bool (*want)(const uint8_t *, size_t, uint32_t),
               uint32_t arg, int *other)
{
	struct pollfd pfd[3] = {
	    {.fd = tun_fd, .events = POLLIN},
	    {.fd = b->rx, .events = POLLIN},
	    {.fd = b->tx, .events = POLLIN},
	};
	uint8_t pkt[2048];
	int64_t end = now_ms() + ms, left;

	while ((left = end - now_ms()) > 0 && poll(pfd, 3, (int)left) > 0) {
		if (pfd[1].revents & POLLIN)
			serve_port(b, b->rx, &b->n_rx);
		if (pfd[2].revents & POLLIN)
			serve_port(b, b->tx, &b->n_tx);
		if (pfd[0].revents & POLLIN) {
			ssize_t n = read(tun_fd, pkt, sizeof(pkt));

			if (n > 0 && want && want(pkt, (size_t)n, arg))
				return 1;
			if (n > 0 && other)
				(*other)++;
		}
	}
	return 0;
}

static bool from_host(const uint8_t *p, size_t n, uint8_t proto)
{
	uint8_t host[4], peer[4];

	inet_pton(AF_INET, HOST_IP, host);
	inet_pton(AF_INET, PEER_IP, peer);
	return n >= 40 && p[0] == 0x45 && p[9] == proto && !memcmp(p + 12, host, 4) &&
	       !memcmp(p + 16, peer, 4);
}

/* arg: id << 16 | seq */
static bool is_echo_reply(const uint8_t *p, size_t n, uint32_t arg)
{
	return from_host(p, n, 1) && p[20] == 0 && get16(p + 24) == arg >> 16 &&
	       get16(p + 26) == (arg & 0xffff);
}

/*
 * A TCP segment's checksum over the pseudo header is right: the host hands
 * wg's egress a partial one (finished by the device, which the programs run
 * before), so the datapath must finish it on the way into the bridge.
 */
static bool tcp_csum_ok(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	size_t tcp_len = n - 20;

	for (size_t i = 12; i < 20; i += 2)
		sum += get16(p + i);
	sum += 6 + (uint32_t)tcp_len;
	return csum(p + 20, tcp_len, sum) == 0;
}

/* arg: our SYN's sequence number; the SYN-ACK acknowledges it plus one, checksum right */
static bool is_syn_ack(const uint8_t *p, size_t n, uint32_t arg)
{
	return from_host(p, n, 6) && get16(p + 20) == TCP_PORT && (p[33] & 0x12) == 0x12 &&
	       ((uint32_t)get16(p + 28) << 16 | get16(p + 30)) == arg + 1 && tcp_csum_ok(p, n);
}

static int ifindex(struct rtnl *rt, const char *name)
{
	struct rtnl_link l;

	return rtnl_get_link(rt, name, &l) == 0 ? (int)l.index : -1;
}

static int port_socket(struct rtnl *rt, const char *name)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));

	sll.sll_ifindex = ifindex(rt, name);
	CHECK(fd >= 0 && sll.sll_ifindex > 0);
	CHECK(bind(fd, (struct sockaddr *)&sll, sizeof(sll)) == 0);
	return fd;
}

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		CHECK(write(fd, s, strlen(s)) == (ssize_t)strlen(s));
		close(fd);
	}
}

static int read_flag(const char *path)
{
	char c = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c - '0';
}

/* Opens the TUN, IPv6 off (no solicitations in the way), address, up; returns its ifindex. */
static uint32_t tun_open(struct rtnl *rt)
{
	struct ifreq ifr = {.ifr_flags = IFF_TUN | IFF_NO_PI};
	struct nf_prefix a;
	int idx;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TUN);
	tun_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	CHECK(tun_fd >= 0 && ioctl(tun_fd, TUNSETIFF, &ifr) == 0);
	write_file("/proc/sys/net/ipv6/conf/" TUN "/disable_ipv6", "1");
	idx = ifindex(rt, TUN);
	CHECK(idx > 0);
	CHECK(nf_prefix_parse(HOST_IP "/24", true, &a));
	CHECK(rtnl_add_addr(rt, (uint32_t)idx, &a) == 0);
	CHECK(rtnl_set_up(rt, (uint32_t)idx) == 0);
	return (uint32_t)idx;
}

/* An echo request through the whole path: 1 when its reply came back through both ports. */
static void ping_through(struct bridge *b, uint16_t seq)
{
	int rx = b->n_rx, tx = b->n_tx;

	b->bounce = true;
	write_ping(0x6e66, seq);
	CHECK(run(b, 2000, is_echo_reply, 0x6e660000u | seq, NULL) == 1);
	CHECK(b->n_rx == rx + 1 && b->n_tx == tx + 1);
}

/* A filter at prio (and called name, unless NULL) under parent of idx. */
static bool has_filter(struct tc *tc, uint32_t idx, uint32_t parent, uint16_t prio,
                       const char *name)
{
	struct tc_filter *f = NULL;
	size_t n = 0;
	bool found = false;

	CHECK(tc_filter_list(tc, idx, parent, &f, &n) == 0);
	for (size_t i = 0; i < n; i++)
		found |= f[i].prio == prio && (!name || !strcmp(f[i].bpf_name, name));
	free(f);
	return found;
}

static bool has_htb_root(struct tc *tc, uint32_t idx)
{
	struct tc_obj *q = NULL;
	size_t n = 0;
	bool found = false;

	CHECK(tc_list(tc, RTM_GETQDISC, idx, &q, &n) == 0);
	for (size_t i = 0; i < n; i++)
		found |=
		    q[i].handle == 0x10000 && q[i].parent == TC_H_ROOT && !strcmp(q[i].kind, "htb");
	free(q);
	return found;
}

/* A foreign filter that only looks (TC_ACT_UNSPEC: on to the next filter), before ours. */
static void add_foreign(struct tc *tc, uint32_t idx)
{
	struct bpf_insn p[2] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = TC_ACT_UNSPEC},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	char err[256] = "";
	int fd = bpf_load_sched_cls(p, 2, "foreign", err, sizeof(err));

	CHECK(fd >= 0);
	CHECK(tc_clsact_add(tc, idx) == 0);
	CHECK(tc_bpf_attach(tc, idx, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), 1, 1, fd,
	                    "foreign") == 0);
	close(fd);
	CHECK(tc_htb_root(tc, idx, 0x10000, 1) == 0);
}

static int tcp_listener(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(TCP_PORT)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, HOST_IP, &sin.sin_addr);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 && listen(fd, 4) == 0);
	return fd;
}

int main(void)
{
	struct bridge b = {.rx = -1, .tx = -1};
	struct rtnl *rt = NULL;
	struct tc *tc = NULL;
	char err[256] = "";
	uint32_t idx;
	int lfd, n_rx, other = 0, ret;

	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s (the test needs root)\n",
		        strerror(errno));
		return 1;
	}
	CHECK(rtnl_open(&rt) == 0 && tc_open(&tc) == 0);
	if (!rt || !tc)
		return check_result();
	idx = tun_open(rt);

	CHECK(flow_dp_check(TUN) == 0);
	ret = flow_dp_ensure(TUN, err, sizeof(err));
	CHECK(ret == 0);
	if (ret < 0) {
		fprintf(stderr, "ensure: %s\n", err);
		return check_result();
	}
	CHECK(flow_dp_check(TUN) == 1);
	CHECK(flow_dp_ensure(TUN, err, sizeof(err)) == 0); /* idempotent */
	CHECK(flow_dp_check(TUN) == 1);
	CHECK(read_flag("/proc/sys/net/ipv6/conf/" FLOW_DP_RX "/disable_ipv6") == 1);
	CHECK(read_flag("/proc/sys/net/ipv6/conf/" FLOW_DP_TX_PORT "/disable_ipv6") == 1);
	b.rx = port_socket(rt, FLOW_DP_RX_PORT);
	b.tx = port_socket(rt, FLOW_DP_TX_PORT);

	/* ICMP and TCP through the bridge, both ways. */
	ping_through(&b, 1);
	lfd = tcp_listener();
	write_syn(40000, 0x11223344);
	CHECK(run(&b, 2000, is_syn_ack, 0x11223344, NULL) == 1);
	close(lfd); /* its half-open connection goes with it: no SYN-ACK resent later */
	n_rx = b.n_rx;

	/* Fail closed: the bridge holds the packet, the host never sees it. */
	b.bounce = false;
	write_ping(0x6e66, 2);
	CHECK(run(&b, 300, is_echo_reply, 0x6e660002, &other) == 0);
	CHECK(b.n_rx == n_rx + 1 && other == 0);
	CHECK(b.bad_eth == 0);

	/* A new TUN (new ifindex): check notices, ensure fixes, foreign parts stay. */
	close(tun_fd);
	idx = tun_open(rt);
	CHECK(flow_dp_check(TUN) == 0);
	add_foreign(tc, idx);
	CHECK(flow_dp_ensure(TUN, err, sizeof(err)) == 0);
	CHECK(flow_dp_check(TUN) == 1);
	ping_through(&b, 3);
	CHECK(has_filter(tc, idx, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), 1, "foreign"));
	CHECK(has_htb_root(tc, idx));

	/* Teardown: ours gone, theirs kept, packets go straight to the host again. */
	CHECK(flow_dp_teardown(TUN, err, sizeof(err)) == 0);
	CHECK(flow_dp_check(TUN) == 0);
	CHECK(ifindex(rt, FLOW_DP_RX) < 0 && ifindex(rt, FLOW_DP_TX_PORT) < 0);
	CHECK(has_filter(tc, idx, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), 1, "foreign"));
	CHECK(!has_filter(tc, idx, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), 0x6e66, NULL));
	CHECK(!has_filter(tc, idx, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS), 0x6e66, NULL));
	CHECK(has_htb_root(tc, idx));
	CHECK(flow_dp_teardown(TUN, err, sizeof(err)) == 0); /* nothing left: no error */
	close(b.rx);
	close(b.tx);
	b.rx = b.tx = -1;
	write_ping(0x6e66, 4);
	{
		struct pollfd p = {.fd = tun_fd, .events = POLLIN};
		uint8_t pkt[2048];
		ssize_t n = 0;

		if (poll(&p, 1, 1000) == 1)
			n = read(tun_fd, pkt, sizeof(pkt));
		CHECK(n > 0 && is_echo_reply(pkt, (size_t)n, 0x6e660004));
	}

	close(tun_fd);
	tc_close(tc);
	rtnl_close(rt);
	return check_result();
}
