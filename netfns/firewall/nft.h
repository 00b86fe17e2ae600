/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one owner of the nftables netlink socket. Writes go as one batch (a
 * transaction the kernel applies whole or not at all): every message gets its
 * own sequence number and a caller's cookie, so each error the kernel reports
 * (with its extended-ack text when there is one) and each echoed rule comes
 * back tied to the message, hence to the rule, that caused it. Every ack is
 * read until the socket is empty; an empty batch is never sent. Reads are
 * plain dumps, filtered by the kernel to what the caller asks for.
 */
#ifndef NETFN_FIREWALL_NFT_H
#define NETFN_FIREWALL_NFT_H

#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Room left for one message before it is built: libnftnl's builders do not
 * bound-check, so callers keep each message below this (rules are a few
 * hundred bytes, set elements go in chunks of NFT_ELEMS_PER_MSG).
 */
#define NFT_BATCH_MSG_MAX 32768
#define NFT_ELEMS_PER_MSG 256

/* A cookie that names no object: the batch itself (a failed commit). */
#define NFT_COOKIE_NONE UINT64_MAX

struct nft_sock;
struct nft_batch;

/* The first error of a failed batch. */
struct nft_error {
	uint64_t cookie;    /* of the message the kernel refused, or NFT_COOKIE_NONE */
	int err;            /* negative errno */
	char ext_ack[160];  /* the kernel's own words, or "" */
	unsigned int count; /* errors reported in all */
};

/* Called for each message the kernel echoes (NLM_F_ECHO), with that message's cookie. */
typedef void (*nft_echo_cb)(const struct nlmsghdr *nlh, uint64_t cookie, void *data);

/* Opens the nftables socket with extended acks on. */
int nft_sock_open(struct nft_sock **out);

/* Closes the socket; accepts NULL. */
void nft_sock_close(struct nft_sock *s);

/* Starts an empty batch for socket s (NULL: a batch only to be read back, as tests do). */
int nft_batch_new(struct nft_sock *s, struct nft_batch **out);

/*
 * Starts the next message of the batch: a header of type (NFT_MSG_*) for
 * family with flags, its own sequence number, and cookie remembered for its
 * acks and echoes. The caller adds the payload (at most NFT_BATCH_MSG_MAX bytes)
 * before the next call. NULL when out of memory.
 */
struct nlmsghdr *nft_batch_add(struct nft_batch *b, uint16_t type, uint16_t family, uint16_t flags,
                               uint64_t cookie);

/* Number of messages added so far. */
size_t nft_batch_count(const struct nft_batch *b);

/* The messages so far, batch-begin first, as they would be sent (less the batch end). */
const void *nft_batch_data(struct nft_batch *b, size_t *len);

/*
 * Sends the batch as one transaction and reads every ack. Returns 0 when the
 * kernel applied it (echo, when not NULL, has seen every echoed message), or
 * the first error's -errno with *err filled; the kernel then applied nothing.
 * An empty batch returns 0 without talking to the kernel.
 */
int nft_batch_commit(struct nft_batch *b, nft_echo_cb echo, void *data, struct nft_error *err);

/* Frees the batch; accepts NULL. */
void nft_batch_free(struct nft_batch *b);

/*
 * Sends the dump request req (NLM_F_DUMP set here) and runs cb on each
 * message of the reply, reading it to the end even when cb fails. Returns 0,
 * the first error of cb or the kernel, or -EINTR when a change interrupted
 * the dump (the caller starts over).
 */
int nft_sock_dump(struct nft_sock *s, struct nlmsghdr *req, mnl_cb_t cb, void *data);

#endif
