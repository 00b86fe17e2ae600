// SPDX-License-Identifier: Apache-2.0
/*
 * The nftables netlink socket (see nft.h). A batch lives in one growable
 * buffer and goes to the kernel in one sendmsg, because nfnetlink only treats
 * as one transaction what arrives in one skb: the send buffer is raised to
 * the batch's size first. The kernel runs the whole batch inside that
 * sendmsg and only then queues its answers: one error per refused message
 * and nothing for the others, so the last message asks for an ack
 * (NLM_F_ACK) to prove the batch was read to the end. Answers are read until
 * that ack has come and the socket is empty.
 */
#include "netfns/firewall/nft.h"
#include "netfns/kernel/nl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libnftnl/common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

/* Big enough for any one skb the kernel queues for us (an echo batch is at most ~8 KiB). */
#define RECV_SIZE 65536
/*
 * Errors and echoes wait in the receive queue until the whole batch is done;
 * a few MiB keeps a batch with many echoed rules from overflowing it.
 */
#define RCVBUF_SIZE (4 << 20)
/* The kernel answers within the sendmsg; this only bounds a kernel that never does. */
#define ACK_TIMEOUT_MS 5000

struct nft_sock {
	struct nl_sock *nl; /* the socket, its port id and sequence numbers */
	size_t sndbuf;      /* the send buffer asked for so far */
	char *rbuf;         /* RECV_SIZE bytes */
};

struct nft_batch {
	struct nft_sock *s;
	char *buf;
	size_t len; /* bytes of finished messages */
	size_t cap;
	size_t cur;        /* offset of the message being built, or SIZE_MAX */
	size_t last;       /* offset of the last message added */
	uint32_t begin;    /* sequence number of the batch-begin message */
	uint64_t *cookies; /* cookies[i]: message with sequence number begin + 1 + i */
	size_t n;
	size_t ncap;
};

/* What the ack reader learnt from one batch. */
struct acks {
	const struct nft_batch *b;
	uint32_t last_seq;
	bool done;    /* the last message's ack, or a refusal of the whole batch, came */
	bool overrun; /* the receive queue overflowed: something was lost */
	nft_echo_cb echo;
	void *data;
	struct nft_error *err;
};

static void sock_buf(struct nft_sock *s, int force, int opt, size_t size)
{
	int v = size > INT32_MAX ? INT32_MAX : (int)size;

	/* The FORCE variant (CAP_NET_ADMIN, which nftables needs anyway) passes rmem_max/wmem_max.
	 */
	if (setsockopt(mnl_socket_get_fd(s->nl->mnl), SOL_SOCKET, force, &v, sizeof(v)) < 0)
		setsockopt(mnl_socket_get_fd(s->nl->mnl), SOL_SOCKET, opt, &v, sizeof(v));
}

int nft_sock_open(struct nft_sock **out)
{
	struct nft_sock *s = NULL;
	socklen_t vlen = sizeof(int);
	int v = 0;
	int ret = 0;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->rbuf = malloc(RECV_SIZE);
	if (!s->rbuf) {
		ret = -ENOMEM;
		goto cleanup;
	}
	/* Extended acks and capped acks (errors without a copy of the refused message). */
	ret = nl_sock_open(NETLINK_NETFILTER, &s->nl);
	if (ret < 0)
		goto cleanup;
	sock_buf(s, SO_RCVBUFFORCE, SO_RCVBUF, RCVBUF_SIZE);
	/* What the kernel gave by default (it reports twice what was asked): only ever raised. */
	if (getsockopt(mnl_socket_get_fd(s->nl->mnl), SOL_SOCKET, SO_SNDBUF, &v, &vlen) == 0 &&
	    v > 0)
		s->sndbuf = (size_t)v / 2;
	*out = s;
	s = NULL;
cleanup:
	nft_sock_close(s);
	return ret;
}

void nft_sock_close(struct nft_sock *s)
{
	if (!s)
		return;
	nl_sock_close(s->nl);
	free(s->rbuf);
	free(s);
}

/* Makes room for need more bytes after the finished messages. */
static int reserve(struct nft_batch *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 65536;
	char *p;

	while (cap - b->len < need)
		cap *= 2;
	if (cap == b->cap)
		return 0;
	p = realloc(b->buf, cap);
	if (!p)
		return -ENOMEM;
	/*
	 * libmnl leaves an attribute's alignment padding as it finds it, and
	 * libnftnl puts names without their NUL: zeroed memory keeps every
	 * message deterministic and every name terminated for whoever parses it.
	 * Each byte is written once per batch, so zeroing at growth is enough.
	 */
	memset(p + b->cap, 0, cap - b->cap);
	b->buf = p;
	b->cap = cap;
	return 0;
}

/* Closes the message being built: its length is final once the next one starts. */
static void finish(struct nft_batch *b)
{
	const struct nlmsghdr *nlh;

	if (b->cur == SIZE_MAX)
		return;
	nlh = (const struct nlmsghdr *)(b->buf + b->cur);
	/* Past NFT_BATCH_MSG_MAX the builder already wrote beyond what was reserved. */
	if (nlh->nlmsg_len > NFT_BATCH_MSG_MAX)
		abort();
	b->len = b->cur + NLMSG_ALIGN(nlh->nlmsg_len);
	b->last = b->cur;
	b->cur = SIZE_MAX;
}

int nft_batch_new(struct nft_sock *s, struct nft_batch **out)
{
	struct nft_batch *b = NULL;
	struct nlmsghdr *nlh;
	int ret;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->s = s;
	b->cur = SIZE_MAX;
	ret = reserve(b, NFT_BATCH_MSG_MAX);
	if (ret < 0) {
		nft_batch_free(b);
		return ret;
	}
	b->begin = s ? ++s->nl->seq : 1;
	nlh = nftnl_batch_begin(b->buf, b->begin);
	b->len = NLMSG_ALIGN(nlh->nlmsg_len);
	*out = b;
	return 0;
}

struct nlmsghdr *nft_batch_add(struct nft_batch *b, uint16_t type, uint16_t family, uint16_t flags,
                               uint64_t cookie)
{
	struct nlmsghdr *nlh;

	finish(b);
	if (b->n == b->ncap) {
		size_t ncap = b->ncap ? b->ncap * 2 : 256;
		uint64_t *c = realloc(b->cookies, ncap * sizeof(*c));

		if (!c)
			return NULL;
		b->cookies = c;
		b->ncap = ncap;
	}
	/* One more header for the batch end, which commit adds. */
	if (reserve(b, NFT_BATCH_MSG_MAX + NLMSG_HDRLEN + 16) < 0)
		return NULL;
	nlh = nftnl_nlmsg_build_hdr(b->buf + b->len, type, family, flags, b->begin + 1 + b->n);
	b->cookies[b->n++] = cookie;
	b->cur = b->len;
	if (b->s)
		b->s->nl->seq = nlh->nlmsg_seq;
	return nlh;
}

size_t nft_batch_count(const struct nft_batch *b)
{
	return b->n;
}

const void *nft_batch_data(struct nft_batch *b, size_t *len)
{
	finish(b);
	*len = b->len;
	return b->buf;
}

void nft_batch_free(struct nft_batch *b)
{
	if (!b)
		return;
	free(b->buf);
	free(b->cookies);
	free(b);
}

static uint64_t cookie_of(const struct nft_batch *b, uint32_t seq)
{
	uint32_t i = seq - b->begin - 1;

	return i < b->n ? b->cookies[i] : NFT_COOKIE_NONE;
}

/* Copies NLMSGERR_ATTR_MSG out of an error message, when the kernel sent one. */
static void ext_ack_copy(const struct nlmsghdr *nlh, char *out, size_t outlen)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr, *start;
	size_t off, total;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	total = mnl_nlmsg_get_payload_len(nlh);
	if (off >= total)
		return;
	start = (const struct nlattr *)((const char *)e + off);
	mnl_attr_for_each_payload(start, total - off)
	{
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			snprintf(out, outlen, "%s", mnl_attr_get_str(attr));
	}
}

static void on_error(struct acks *a, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
		return;
	/* The batch-begin's sequence number: the kernel refused or failed the whole batch. */
	if (nlh->nlmsg_seq == a->last_seq || nlh->nlmsg_seq == a->b->begin)
		a->done = true;
	if (e->error == 0)
		return;
	/* The kernel reports errors in batch order: the first is the cause, later ones may follow
	 * from it. */
	if (a->err->count++ == 0) {
		a->err->err = e->error;
		a->err->cookie = cookie_of(a->b, nlh->nlmsg_seq);
		a->err->ext_ack[0] = '\0';
		ext_ack_copy(nlh, a->err->ext_ack, sizeof(a->err->ext_ack));
	}
}

/* Digests one datagram of answers. */
static void on_answers(struct acks *a, const char *buf, size_t len)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int left = (int)len;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		/* Only answers to this batch: its sequence numbers, from begin to end. */
		if (nlh->nlmsg_pid != a->b->s->nl->portid && nlh->nlmsg_pid != 0)
			continue;
		if (nlh->nlmsg_seq - a->b->begin > a->b->n + 1)
			continue;
		if (nlh->nlmsg_type == NLMSG_ERROR)
			on_error(a, nlh);
		else if ((nlh->nlmsg_type >> 8) == NFNL_SUBSYS_NFTABLES && a->echo)
			a->echo(nlh, cookie_of(a->b, nlh->nlmsg_seq), a->data);
	}
}

/* Reads answers until the batch is done and the socket is empty. */
static int read_acks(struct acks *a)
{
	struct nft_sock *s = a->b->s;
	int fd = mnl_socket_get_fd(s->nl->mnl);

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (!a->done) {
			int r = poll(&pfd, 1, ACK_TIMEOUT_MS);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -errno;
			if (r == 0)
				return -ETIMEDOUT;
		}
		n = recv(fd, s->rbuf, RECV_SIZE, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				a->overrun = true;
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (a->done)
					return 0;
				continue;
			}
			return -errno;
		}
		if (n > RECV_SIZE)
			return -EMSGSIZE;
		on_answers(a, s->rbuf, (size_t)n);
	}
}

/* Raises the send buffer so the whole batch fits in one sendmsg. */
static void sndbuf_fit(struct nft_sock *s, size_t len)
{
	if (len + 4096 <= s->sndbuf)
		return;
	/* The kernel doubles what it is given and wants len below sk_sndbuf - 32. */
	s->sndbuf = len + 4096;
	sock_buf(s, SO_SNDBUFFORCE, SO_SNDBUF, s->sndbuf);
}

int nft_batch_commit(struct nft_batch *b, nft_echo_cb echo, void *data, struct nft_error *err)
{
	struct nft_error scratch;
	struct nlmsghdr *nlh;
	struct acks a = {.b = b, .echo = echo, .data = data};
	uint32_t end;
	ssize_t sent;
	int ret;

	if (!err)
		err = &scratch;
	memset(err, 0, sizeof(*err));
	err->cookie = NFT_COOKIE_NONE;
	a.err = err;
	finish(b);
	if (b->n == 0)
		return 0;
	if (!b->s)
		return -ENOTCONN;
	nlh = (struct nlmsghdr *)(b->buf + b->last);
	nlh->nlmsg_flags |= NLM_F_ACK;
	a.last_seq = nlh->nlmsg_seq;
	end = b->begin + 1 + (uint32_t)b->n;
	nlh = nftnl_batch_end(b->buf + b->len, end);
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	b->s->nl->seq = end;

	sndbuf_fit(b->s, b->len);
	sent = mnl_socket_sendto(b->s->nl->mnl, b->buf, b->len);
	/* The end message is not part of the batch any more: a retry of commit must not repeat it.
	 */
	b->len -= NLMSG_ALIGN(nlh->nlmsg_len);
	if (sent < 0) {
		err->err = -errno;
		return -errno;
	}
	ret = read_acks(&a);
	if (err->count)
		return err->err;
	if (ret == 0 && a.overrun)
		ret = -ENOBUFS; /* an error may have been lost: nothing is known */
	if (ret < 0)
		err->err = ret;
	return ret;
}

int nft_sock_dump(struct nft_sock *s, struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	bool intr = false;
	int cb_err = 0;
	int ret = 0;

	req->nlmsg_flags |= NLM_F_DUMP;
	req->nlmsg_seq = ++s->nl->seq;
	req->nlmsg_pid = 0;
	if (mnl_socket_sendto(s->nl->mnl, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		const struct nlmsghdr *nlh;
		ssize_t n;
		int left;

		n = recv(mnl_socket_get_fd(s->nl->mnl), s->rbuf, RECV_SIZE, MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n > RECV_SIZE)
			return -EMSGSIZE;
		left = (int)n;
		for (nlh = (const struct nlmsghdr *)s->rbuf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_seq != req->nlmsg_seq)
				continue;
			if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = true;
			if (nlh->nlmsg_type == NLMSG_DONE) {
				const int *e = mnl_nlmsg_get_payload(nlh);

				if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int) && *e < 0)
					ret = *e;
				goto done;
			}
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

				if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(*e)))
					ret = e->error;
				goto done;
			}
			if (nlh->nlmsg_type < NLMSG_MIN_TYPE || cb_err)
				continue;
			if (cb(nlh, data) == MNL_CB_ERROR)
				cb_err = errno ? -errno : -EINVAL;
		}
	}
done:
	if (ret < 0)
		return ret;
	if (cb_err < 0)
		return cb_err;
	return intr ? -EINTR : 0;
}
