/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tc BPF programs of the flow datapath (netfns/flow/flow_dp.h), written
 * as instruction arrays (no BPF toolchain is needed to build netfn) and
 * loaded with bpf(2) as BPF_PROG_TYPE_SCHED_CLS for cls_bpf in direct-action
 * mode. Attaching them is tc.c's business; this file only builds and loads.
 * Loading needs CAP_BPF (or CAP_SYS_ADMIN) besides the CAP_NET_ADMIN that
 * attaching needs.
 */
#ifndef NETFN_KERNEL_BPF_H
#define NETFN_KERNEL_BPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/bpf.h>

/* Instructions in the longest program below. */
#define BPF_PUSH_MAX_INSNS 32

/*
 * The locally administered MACs of the Ethernet header the push program
 * writes: the bridge sees the overlay's packets as sent from SRC to DST.
 */
#define BPF_PUSH_DST_MAC                                                                           \
	{                                                                                          \
		0x02, 0x6e, 0x66, 0x00, 0x00, 0x01                                                 \
	}
#define BPF_PUSH_SRC_MAC                                                                           \
	{                                                                                          \
		0x02, 0x6e, 0x66, 0x00, 0x00, 0x02                                                 \
	}

/*
 * Writes the push program into insns (BPF_PUSH_MAX_INSNS) and returns its
 * length: a packet carrying mark has the mark cleared and passes (TC_ACT_OK);
 * any other gets an Ethernet header (ethertype skb->protocol) and is
 * redirected out of target_ifindex; a failing helper drops it.
 */
size_t bpf_build_push(struct bpf_insn *insns, uint32_t mark, uint32_t target_ifindex);

/*
 * Writes the back program and returns its length: the packet gets mark and
 * is redirected to wg_ifindex, to its ingress when ingress, else its egress.
 */
size_t bpf_build_back(struct bpf_insn *insns, uint32_t mark, uint32_t wg_ifindex, bool ingress);

/*
 * Loads n instructions as a sched_cls program called name (at most 15
 * characters of [A-Za-z0-9_.]) and returns its fd or -errno, with the
 * verifier's last words in err when it refused the program.
 */
int bpf_load_sched_cls(const struct bpf_insn *insns, size_t n, const char *name, char *err,
                       size_t errlen);

#endif
