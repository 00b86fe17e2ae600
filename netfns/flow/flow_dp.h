/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The datapath that puts a node's overlay traffic through its Open vSwitch
 * bridge, without touching routes or addresses. The overlay interface (a
 * WireGuard TUN device, layer 3) cannot be a port of a userspace bridge
 * (layer 2), so four small tc BPF programs (cls_bpf, direct action, loaded
 * with bpf(2), attached over rtnetlink) move the packets:
 *
 *   wg ingress:  an Ethernet header is pushed, redirected out FLOW_DP_RX
 *                (its peer FLOW_DP_RX_PORT is a bridge port);
 *   wg egress:   the same, out FLOW_DP_TX;
 *   FLOW_DP_RX ingress (what the bridge sent back): marked, redirected to
 *                wg's ingress without the header (the host receives it on
 *                wg as before: firewall, conntrack and sockets see no
 *                difference);
 *   FLOW_DP_TX ingress: marked, redirected to wg's egress (WireGuard sends it).
 *
 * The wg programs let marked packets through once (clearing the mark).
 * Nothing of ours is in the path when the datapath is torn down. While the
 * bridge is not forwarding (ovs-vswitchd stopped) overlay traffic stops:
 * the filters fail closed, as an OVS bridge in fail_mode secure does.
 */
#ifndef NETFN_FLOW_DP_H
#define NETFN_FLOW_DP_H

#include <stddef.h>

/* The host ends (the programs' side) and the bridge ends of the two veth pairs. */
#define FLOW_DP_RX      "nf-ovs-rx"
#define FLOW_DP_RX_PORT "nf-ovs-rx-p"
#define FLOW_DP_TX      "nf-ovs-tx"
#define FLOW_DP_TX_PORT "nf-ovs-tx-p"

/* The mark a packet returning from the bridge carries to wg's programs. */
#define FLOW_DP_MARK 0x6e660f5fu

/*
 * Makes the veth pairs exist and be up, and the four programs be attached
 * (a clsact qdisc on wg and on both host ends), replacing ours where they
 * were attached to an older wg (its ifindex changed). Idempotent; other
 * qdiscs of wg (a root HTB of traffic classes) are left alone. -errno with
 * the reason in err.
 */
int flow_dp_ensure(const char *wg_ifname, char *err, size_t errlen);

/* 1 when everything is in place for wg_ifname as flow_dp_ensure leaves it, 0 when not, -errno. */
int flow_dp_check(const char *wg_ifname);

/* Detaches our programs from wg and deletes both veth pairs; a missing part is not an error. */
int flow_dp_teardown(const char *wg_ifname, char *err, size_t errlen);

#endif
