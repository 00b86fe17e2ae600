// SPDX-License-Identifier: Apache-2.0
/*
 * One request, every reply read: the loop under rtnl.c and wg_genl.c. A reply
 * callback that fails part way through a dump does not end the read, because
 * the rest of that dump would otherwise sit in the socket and be mistaken for
 * the answer to the next request; the loop drains to NLMSG_DONE and then
 * returns the first error.
 */
#include "netfns/kernel/nl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <linux/netlink.h>

struct req_ctx {
	struct nl_sock *s;
	mnl_cb_t cb;
	void *data;
	int err; /* first error from cb, kept while draining */
};

int nl_sock_open(int bus, struct nl_sock **out)
{
	struct nl_sock *s = NULL;
	int one = 1;
	int ret = 0;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->mnl = mnl_socket_open2(bus, SOCK_CLOEXEC);
	if (!s->mnl) {
		ret = -errno;
		goto cleanup;
	}
	if (mnl_socket_bind(s->mnl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto cleanup;
	}
	/* Both are best effort: older kernels lack them and still work. */
	mnl_socket_setsockopt(s->mnl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(s->mnl, NETLINK_CAP_ACK, &one, sizeof(one));
	s->portid = mnl_socket_get_portid(s->mnl);
	s->seq = (uint32_t)random();
	*out = s;
	s = NULL;
cleanup:
	nl_sock_close(s);
	return ret;
}

void nl_sock_close(struct nl_sock *s)
{
	if (!s)
		return;
	if (s->mnl)
		mnl_socket_close(s->mnl);
	free(s);
}

/* Copies NLMSGERR_ATTR_MSG out of an error message, if the kernel sent one. */
static void keep_ext_ack(struct nl_sock *s, const struct nlmsghdr *nlh)
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
		if (mnl_attr_get_type(attr) != NLMSGERR_ATTR_MSG ||
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			continue;
		snprintf(s->ext_ack, sizeof(s->ext_ack), "%s", mnl_attr_get_str(attr));
	}
}

static int on_error(const struct nlmsghdr *nlh, void *data)
{
	struct req_ctx *ctx = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	keep_ext_ack(ctx->s, nlh);
	errno = -e->error;
	return MNL_CB_ERROR;
}

static int on_done(const struct nlmsghdr *nlh, void *data)
{
	const int *err = mnl_nlmsg_get_payload(nlh);

	(void)data;
	/* A dump that failed part way says so in the int after the header. */
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int) && *err < 0) {
		errno = -*err;
		return MNL_CB_ERROR;
	}
	return MNL_CB_STOP;
}

static int on_noop(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

static int on_data(const struct nlmsghdr *nlh, void *data)
{
	struct req_ctx *ctx = data;
	int ret;

	if (ctx->err || !ctx->cb)
		return MNL_CB_OK;
	ret = ctx->cb(nlh, ctx->data);
	if (ret == MNL_CB_ERROR) {
		ctx->err = errno ? -errno : -EINVAL;
		return MNL_CB_OK; /* keep reading: see the file comment */
	}
	return ret;
}

int nl_sock_request(struct nl_sock *s, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	/* Every control type is listed: libmnl uses this table instead of its own. */
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
	    [NLMSG_NOOP] = on_noop,
	    [NLMSG_ERROR] = on_error,
	    [NLMSG_DONE] = on_done,
	    [NLMSG_OVERRUN] = on_noop,
	};
	struct req_ctx ctx = {.s = s, .cb = cb, .data = data};
	char *buf = NULL;
	ssize_t n;
	int ret = 0;

	s->ext_ack[0] = '\0';
	nlh->nlmsg_seq = ++s->seq;
	nlh->nlmsg_flags |= NLM_F_ACK;
	buf = malloc(NL_RECV_SIZE);
	if (!buf)
		return -ENOMEM;
	if (mnl_socket_sendto(s->mnl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto cleanup;
	}
	for (;;) {
		n = mnl_socket_recvfrom(s->mnl, buf, NL_RECV_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto cleanup;
		}
		errno = 0;
		ret = mnl_cb_run2(buf, (size_t)n, nlh->nlmsg_seq, s->portid, on_data, &ctx, ctl,
		                  NLMSG_MIN_TYPE);
		if (ret == MNL_CB_STOP) {
			ret = ctx.err;
			goto cleanup;
		}
		if (ret == MNL_CB_ERROR) {
			ret = errno ? -errno : -EIO;
			goto cleanup;
		}
	}
cleanup:
	/* A WireGuard get reply carries the private key: leave no copy behind. */
	sodium_memzero(buf, NL_RECV_SIZE);
	free(buf);
	return ret;
}
