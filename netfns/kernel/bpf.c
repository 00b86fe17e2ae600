// SPDX-License-Identifier: Apache-2.0
/*
 * The datapath's programs as instruction arrays, and their loading (see
 * bpf.h). The few instruction forms used are built by the small
 * constructors below; each program lists its instructions with their index,
 * so that a jump's offset (counted from the instruction after the jump) can
 * be read off the listing.
 */
#include "netfns/kernel/bpf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/pkt_cls.h>

/*
 * The verifier log asked for when a load fails: its last lines say why. A
 * refused program this small never logs more than a few KiB.
 */
#define LOG_SIZE 65536

#define R0  BPF_REG_0
#define R1  BPF_REG_1
#define R2  BPF_REG_2
#define R3  BPF_REG_3
#define R4  BPF_REG_4
#define R5  BPF_REG_5
#define R6  BPF_REG_6
#define R7  BPF_REG_7
#define R10 BPF_REG_10

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	return (struct bpf_insn){
	    .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

/* dst = imm (64-bit move, imm sign-extended) */
static struct bpf_insn mov_imm(uint8_t dst, int32_t imm)
{
	return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}

/* dst = src */
static struct bpf_insn mov_reg(uint8_t dst, uint8_t src)
{
	return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}

/* dst += imm */
static struct bpf_insn add_imm(uint8_t dst, int32_t imm)
{
	return insn(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm);
}

/* dst = *(size *)(src + off) */
static struct bpf_insn load(uint8_t size, uint8_t dst, uint8_t src, int16_t off)
{
	return insn(BPF_LDX | BPF_MEM | size, dst, src, off, 0);
}

/* *(size *)(dst + off) = src */
static struct bpf_insn store_reg(uint8_t size, uint8_t dst, int16_t off, uint8_t src)
{
	return insn(BPF_STX | BPF_MEM | size, dst, src, off, 0);
}

/* *(size *)(dst + off) = imm */
static struct bpf_insn store_imm(uint8_t size, uint8_t dst, int16_t off, int32_t imm)
{
	return insn(BPF_ST | BPF_MEM | size, dst, 0, off, imm);
}

/* if (dst != imm) skip off instructions */
static struct bpf_insn jne_imm(uint8_t dst, int32_t imm, int16_t off)
{
	return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm);
}

static struct bpf_insn call(int32_t helper)
{
	return insn(BPF_JMP | BPF_CALL, 0, 0, 0, helper);
}

static struct bpf_insn ret(void)
{
	return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/* The bytes at mac[at..at+3] (or +1) as an immediate that stores them in that order. */
static int32_t bytes4(const uint8_t *mac, size_t at)
{
	int32_t v;

	memcpy(&v, mac + at, sizeof(v));
	return v;
}

static int32_t bytes2(const uint8_t *mac, size_t at)
{
	int16_t v;

	memcpy(&v, mac + at, sizeof(v));
	return v;
}

size_t bpf_build_push(struct bpf_insn *insns, uint32_t mark, uint32_t target_ifindex)
{
	static const uint8_t dst[6] = BPF_PUSH_DST_MAC, src[6] = BPF_PUSH_SRC_MAC;
	const int16_t mark_off = offsetof(struct __sk_buff, mark);
	/*
	 * The header is built at fp-16 by aligned immediate stores (the
	 * verifier refuses misaligned stack writes), the ethertype from a
	 * register: __sk_buff.protocol holds skb->protocol's bytes as they are
	 * (network order), so a 2-byte store puts them on the wire as is.
	 */
	const struct bpf_insn p[] = {
	    /* 0 */ mov_reg(R6, R1),
	    /* 1 */ load(BPF_W, R2, R6, mark_off),
	    /* 2 */ jne_imm(R2, (int32_t)mark, 4), /* to 7 */
	                                           /* back from the bridge: let it through once */
	    /* 3 */ mov_imm(R2, 0),
	    /* 4 */ store_reg(BPF_W, R6, mark_off, R2),
	    /* 5 */ mov_imm(R0, TC_ACT_OK),
	    /* 6 */ ret(),
	    /* 7 */ load(BPF_W, R7, R6, offsetof(struct __sk_buff, protocol)),
	    /* 8 */ mov_reg(R1, R6),
	    /* 9 */ mov_imm(R2, 14),
	    /* 10 */ mov_imm(R3, 0),
	    /* 11 */ call(BPF_FUNC_skb_change_head),
	    /* 12 */ jne_imm(R0, 0, 17), /* to 30 */
	    /* 13 */ store_imm(BPF_W, R10, -16, bytes4(dst, 0)),
	    /* 14 */ store_imm(BPF_H, R10, -12, bytes2(dst, 4)),
	    /* 15 */ store_imm(BPF_H, R10, -10, bytes2(src, 0)),
	    /* 16 */ store_imm(BPF_W, R10, -8, bytes4(src, 2)),
	    /* 17 */ store_reg(BPF_H, R10, -4, R7),
	    /* 18 */ mov_reg(R1, R6),
	    /* 19 */ mov_imm(R2, 0),
	    /* 20 */ mov_reg(R3, R10),
	    /* 21 */ add_imm(R3, -16),
	    /* 22 */ mov_imm(R4, 14),
	    /* 23 */ mov_imm(R5, 0),
	    /* 24 */ call(BPF_FUNC_skb_store_bytes),
	    /* 25 */ jne_imm(R0, 0, 4), /* to 30 */
	    /* 26 */ mov_imm(R1, (int32_t)target_ifindex),
	    /* 27 */ mov_imm(R2, 0),
	    /* 28 */ call(BPF_FUNC_redirect),
	    /* 29 */ ret(),
	    /* 30 */ mov_imm(R0, TC_ACT_SHOT),
	    /* 31 */ ret(),
	};
	_Static_assert(sizeof(p) / sizeof(p[0]) <= BPF_PUSH_MAX_INSNS, "push program too long");

	memcpy(insns, p, sizeof(p));
	return sizeof(p) / sizeof(p[0]);
}

size_t bpf_build_back(struct bpf_insn *insns, uint32_t mark, uint32_t wg_ifindex, bool ingress)
{
	const struct bpf_insn p[] = {
	    /* 0 */ mov_imm(R2, (int32_t)mark),
	    /* 1 */ store_reg(BPF_W, R1, offsetof(struct __sk_buff, mark), R2),
	    /* 2 */ mov_imm(R1, (int32_t)wg_ifindex),
	    /* 3 */ mov_imm(R2, ingress ? BPF_F_INGRESS : 0),
	    /* 4 */ call(BPF_FUNC_redirect),
	    /* 5 */ ret(),
	};

	memcpy(insns, p, sizeof(p));
	return sizeof(p) / sizeof(p[0]);
}

/* Copies the log's last non-empty line (the verifier's reason) into err. */
static void last_line(const char *log, char *err, size_t errlen, int code)
{
	size_t end = strnlen(log, LOG_SIZE), start;

	while (end && (log[end - 1] == '\n' || log[end - 1] == ' '))
		end--;
	start = end;
	while (start && log[start - 1] != '\n')
		start--;
	snprintf(err, errlen, "bpf program load: %s%s%.*s", strerror(code), end ? ": " : "",
	         (int)(end - start), log + start);
}

static int prog_load(const struct bpf_insn *insns, size_t n, const char *name, char *log)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SCHED_CLS;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = (uint32_t)n;
	/* Ours; none of the helpers used is GPL-only. */
	attr.license = (uint64_t)(uintptr_t) "Apache-2.0";
	strncpy(attr.prog_name, name, sizeof(attr.prog_name) - 1);
	if (log) {
		attr.log_level = 1;
		attr.log_buf = (uint64_t)(uintptr_t)log;
		attr.log_size = LOG_SIZE;
	}
	return (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
}

int bpf_load_sched_cls(const struct bpf_insn *insns, size_t n, const char *name, char *err,
                       size_t errlen)
{
	char *log = NULL;
	int fd, code;

	if (!n || strlen(name) >= BPF_OBJ_NAME_LEN) {
		snprintf(err, errlen, "bpf program %s: empty or name too long", name);
		return -EINVAL;
	}
	fd = prog_load(insns, n, name, NULL);
	if (fd >= 0)
		return fd;
	code = errno;
	/* Again with the verifier's log, only to say why. */
	log = calloc(1, LOG_SIZE);
	if (log) {
		fd = prog_load(insns, n, name, log);
		if (fd >= 0)
			goto cleanup; /* a passing failure (out of memory?) that went away */
		code = errno;
	}
	fd = -code;
	last_line(log ? log : "", err, errlen, code);
cleanup:
	free(log);
	return fd;
}
