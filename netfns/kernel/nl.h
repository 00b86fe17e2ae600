/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The netlink socket setup and request/acknowledge loop shared by the
 * agent's netlink channels. Each channel (rtnl.c for rtnetlink, wg_genl.c for
 * the WireGuard generic netlink family, netfns/firewall/nft.c for nftables,
 * which sends batches with its own loop) owns its own nl_sock; this file only knows how to
 * send one request and read every reply until its ack or NLMSG_DONE, so that
 * a kernel error always comes back as -errno with the kernel's extended-ack
 * text kept for the log.
 */
#ifndef NETFN_KERNEL_NL_H
#define NETFN_KERNEL_NL_H

#include <libmnl/libmnl.h>
#include <stdint.h>

/*
 * Receive buffer for replies. The kernel sizes dump messages by the largest
 * buffer the reader has offered, capped near 32 KiB, so this never truncates.
 */
#define NL_RECV_SIZE 32768

struct nl_sock {
	struct mnl_socket *mnl;
	uint32_t portid;
	uint32_t seq;
	char ext_ack[160]; /* the kernel's text for the last error, or "" */
};

/* Opens a netlink socket on bus (NETLINK_ROUTE, NETLINK_GENERIC), extended acks on. */
int nl_sock_open(int bus, struct nl_sock **out);

/* Closes the socket; accepts NULL. */
void nl_sock_close(struct nl_sock *s);

/*
 * Sends nlh (with a fresh sequence number and NLM_F_ACK) and runs cb on each
 * data message of the reply until the ack or NLMSG_DONE. Returns 0 or -errno,
 * either the kernel's or the first one cb reported.
 */
int nl_sock_request(struct nl_sock *s, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

#endif
