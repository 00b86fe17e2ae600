// SPDX-License-Identifier: Apache-2.0
/*
 * The RPC envelope over nng req/rep. Every frame is size-checked before it is
 * decoded (nng enforces the same limit on receive, this is the second gate
 * for frames that arrive by other paths), every reply is matched to its
 * request id, and errors come back as a status code plus the offending field
 * so a person can fix their input.
 */
#include "proto/rpc.h"

#include <errno.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const status_names[] = {
    [NETFN__STATUS__OK] = "OK",
    [NETFN__STATUS__INVALID_ARGUMENT] = "INVALID_ARGUMENT",
    [NETFN__STATUS__NOT_FOUND] = "NOT_FOUND",
    [NETFN__STATUS__ALREADY_EXISTS] = "ALREADY_EXISTS",
    [NETFN__STATUS__PERMISSION_DENIED] = "PERMISSION_DENIED",
    [NETFN__STATUS__UNAUTHENTICATED] = "UNAUTHENTICATED",
    [NETFN__STATUS__FAILED_PRECONDITION] = "FAILED_PRECONDITION",
    [NETFN__STATUS__RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
    [NETFN__STATUS__INTERNAL] = "INTERNAL",
    [NETFN__STATUS__UNAVAILABLE] = "UNAVAILABLE",
};

const char *nf_status_name(int code)
{
	if (code < 0 || (size_t)code >= sizeof(status_names) / sizeof(status_names[0]) ||
	    !status_names[code])
		return "UNKNOWN";
	return status_names[code];
}

int nf_status_set(struct nf_status *st, int code, const char *field, const char *fmt, ...)
{
	va_list ap;

	st->code = code;
	snprintf(st->field, sizeof(st->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(st->message, sizeof(st->message), fmt, ap);
	va_end(ap);
	switch (code) {
	case NETFN__STATUS__OK:
		return 0;
	case NETFN__STATUS__NOT_FOUND:
		return -ENOENT;
	case NETFN__STATUS__ALREADY_EXISTS:
		return -EEXIST;
	case NETFN__STATUS__PERMISSION_DENIED:
	case NETFN__STATUS__UNAUTHENTICATED:
		return -EACCES;
	case NETFN__STATUS__UNAVAILABLE:
		return -EAGAIN;
	case NETFN__STATUS__INTERNAL:
		return -EIO;
	default:
		return -EINVAL;
	}
}

int nf_pb_pack(const ProtobufCMessage *m, uint8_t **out, size_t *out_len)
{
	size_t len = m ? protobuf_c_message_get_packed_size(m) : 0;
	uint8_t *buf = malloc(len ? len : 1);

	if (!buf)
		return -ENOMEM;
	if (m)
		protobuf_c_message_pack(m, buf);
	*out = buf;
	*out_len = len;
	return 0;
}

static int map_dial_error(int rv)
{
	if (rv == NNG_EADDRINVAL || rv == NNG_ENOTSUP || rv == NNG_EINVAL)
		return -EINVAL;
	if (rv == NNG_ECONNREFUSED || rv == NNG_ENOENT)
		return -ECONNREFUSED;
	return rv == NNG_EPEERAUTH || rv == NNG_ECRYPTO ? -EACCES : -EIO;
}

/* Dials url over TLS, checking the server's certificate against ca_file. */
static int dial_tls(nng_socket s, const char *url, const char *ca_file)
{
	nng_dialer d = NNG_DIALER_INITIALIZER;
	nng_tls_config *cfg = NULL;
	char host[256];
	const char *h = url + strlen("tls+tcp://"), *end;
	int rv;

	/* The certificate must name the host we dialled. */
	end = *h == '[' ? strchr(h, ']') : strrchr(h, ':');
	if (!end || (size_t)(end - h) >= sizeof(host))
		return NNG_EADDRINVAL;
	h += *h == '[';
	memcpy(host, h, (size_t)(end - h));
	host[end - h] = '\0';
	if ((rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT)) ||
	    (rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED)) ||
	    (rv = nng_tls_config_ca_file(cfg, ca_file)) ||
	    (rv = nng_tls_config_server_name(cfg, host)))
		goto cleanup;
	if ((rv = nng_dialer_create(&d, s, url)) ||
	    (rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg)))
		goto cleanup;
	rv = nng_dialer_start(d, 0);
cleanup:
	if (cfg)
		nng_tls_config_free(cfg);
	return rv;
}

static int dial(const char *url, const char *ca_file, int flags, nng_socket *out)
{
	nng_socket s = NNG_SOCKET_INITIALIZER;
	int rv;

	rv = nng_req0_open(&s);
	if (rv)
		return -ENOMEM;
	nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, NF_RPC_MAX_FRAME);
	/* A lost reply is the caller's to retry: never resend a request by itself. */
	nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_ms(s, NNG_OPT_RECONNMINT, 100);
	nng_socket_set_ms(s, NNG_OPT_RECONNMAXT, 2000);
	if (strncmp(url, "tls+tcp://", 10) == 0)
		rv = ca_file ? dial_tls(s, url, ca_file) : NNG_EINVAL;
	else
		rv = nng_dial(s, url, NULL, flags);
	if (rv) {
		nng_close(s);
		return map_dial_error(rv);
	}
	*out = s;
	return 0;
}

int nf_rpc_dial(const char *url, nng_socket *out)
{
	/* Non-blocking: the dialer keeps reconnecting in the background. */
	return dial(url, NULL, NNG_FLAG_NONBLOCK, out);
}

int nf_rpc_dial_now(const char *url, const char *ca_file, nng_socket *out)
{
	return dial(url, ca_file, 0, out);
}

uint64_t nf_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t next_request_id(void)
{
	static uint64_t id;

	if (!__atomic_load_n(&id, __ATOMIC_RELAXED)) {
		uint64_t seed;

		randombytes_buf(&seed, sizeof(seed));
		uint64_t zero = 0;
		__atomic_compare_exchange_n(&id, &zero, seed | 1, false, __ATOMIC_RELAXED,
		                            __ATOMIC_RELAXED);
	}
	return __atomic_add_fetch(&id, 1, __ATOMIC_RELAXED);
}

/* Sends buf and waits for one reply frame (malloc'd into *reply). */
static int exchange(nng_socket sock, const uint8_t *buf, size_t len, int timeout_ms,
                    uint8_t **reply, size_t *reply_len, struct nf_status *st)
{
	nng_msg *msg = NULL;
	int rv;

	nng_socket_set_ms(sock, NNG_OPT_SENDTIMEO, timeout_ms);
	nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, timeout_ms);
	rv = nng_send(sock, (void *)buf, len, 0);
	if (rv == 0)
		rv = nng_recvmsg(sock, &msg, 0);
	if (rv) {
		nf_status_set(st, NETFN__STATUS__UNAVAILABLE, NULL, "controller: %s",
		              nng_strerror(rv));
		return rv == NNG_ETIMEDOUT ? -ETIMEDOUT : rv == NNG_ECLOSED ? -ECANCELED : -EIO;
	}
	st->received_ns = nf_monotonic_ns();
	*reply_len = nng_msg_len(msg);
	*reply = malloc(*reply_len ? *reply_len : 1);
	if (!*reply) {
		nng_msg_free(msg);
		return -ENOMEM;
	}
	memcpy(*reply, nng_msg_body(msg), *reply_len);
	nng_msg_free(msg);
	return 0;
}

/* Reads a Response for request id into st and *reply. */
static int finish(const uint8_t *buf, size_t len, uint64_t id,
                  const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply,
                  struct nf_status *st)
{
	Netfn__Response *resp;

	if (len > NF_RPC_MAX_FRAME || !(resp = netfn__response__unpack(NULL, len, buf))) {
		nf_status_set(st, NETFN__STATUS__INTERNAL, NULL, "malformed reply");
		return -EBADMSG;
	}
	if (resp->request_id != id) {
		netfn__response__free_unpacked(resp, NULL);
		nf_status_set(st, NETFN__STATUS__INTERNAL, NULL, "reply to another request");
		return -EBADMSG;
	}
	nf_status_set(st, resp->status, resp->field, "%s", resp->error);
	if (resp->status == NETFN__STATUS__OK && reply_desc && reply) {
		*reply =
		    protobuf_c_message_unpack(reply_desc, NULL, resp->body.len, resp->body.data);
		if (!*reply) {
			nf_status_set(st, NETFN__STATUS__INTERNAL, NULL, "malformed reply body");
			netfn__response__free_unpacked(resp, NULL);
			return -EBADMSG;
		}
	}
	netfn__response__free_unpacked(resp, NULL);
	return 0;
}

/* Packs a Request carrying req. */
static int pack_request(const char *method, uint64_t id, const char *token,
                        const ProtobufCMessage *req, uint8_t **out, size_t *out_len)
{
	Netfn__Request r = NETFN__REQUEST__INIT;
	uint8_t *body = NULL;
	size_t blen;
	int ret;

	ret = nf_pb_pack(req, &body, &blen);
	if (ret)
		return ret;
	r.method = (char *)method;
	r.request_id = id;
	r.token = (char *)(token ? token : "");
	r.body.data = body;
	r.body.len = blen;
	ret = nf_pb_pack(&r.base, out, out_len);
	free(body);
	return ret;
}

int nf_rpc_call(nng_socket sock, const char *method, const char *token, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply,
                struct nf_status *st, int timeout_ms)
{
	uint64_t id = next_request_id();
	uint8_t *buf = NULL, *rbuf = NULL;
	size_t len = 0, rlen = 0;
	int ret;

	if (reply)
		*reply = NULL;
	ret = pack_request(method, id, token, req, &buf, &len);
	if (ret)
		return ret;
	ret = exchange(sock, buf, len, timeout_ms, &rbuf, &rlen, st);
	if (!ret)
		ret = finish(rbuf, rlen, id, reply_desc, reply, st);
	if (buf)
		sodium_memzero(buf, len); /* it held the bearer token */
	free(buf);
	free(rbuf);
	return ret;
}

int nf_rpc_call_sealed(nng_socket sock, const struct nf_channel *ch, uint64_t *counter,
                       const char *method, const ProtobufCMessage *req,
                       const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply,
                       struct nf_status *st, int timeout_ms)
{
	uint64_t id = next_request_id(), sent, rcounter = 0, echo = 0;
	uint8_t *buf = NULL, *frame = NULL, *rframe = NULL, *rbuf = NULL;
	size_t len = 0, flen = 0, rflen = 0, rlen = 0;
	int ret;

	if (reply)
		*reply = NULL;
	ret = pack_request(method, id, NULL, req, &buf, &len);
	if (ret)
		goto cleanup;
	sent = nf_counter_next(counter);
	ret = nf_seal(ch, sent, 0, buf, len, &frame, &flen);
	if (ret)
		goto cleanup;
	ret = exchange(sock, frame, flen, timeout_ms, &rframe, &rflen, st);
	if (ret)
		goto cleanup;
	if (nf_open(ch, rframe, rflen, &rcounter, &echo, &rbuf, &rlen) != 0 || echo != sent) {
		/* Not from our controller, or not the answer to this request. */
		nf_status_set(st, NETFN__STATUS__UNAUTHENTICATED, NULL,
		              "reply failed authentication");
		ret = -EBADMSG;
		goto cleanup;
	}
	ret = finish(rbuf, rlen, id, reply_desc, reply, st);
cleanup:
	if (buf)
		sodium_memzero(buf, len);
	free(buf);
	free(frame);
	free(rframe);
	if (rbuf)
		sodium_memzero(rbuf, rlen);
	free(rbuf);
	return ret;
}

ProtobufCMessage *nf_pb_unpack_strict(const ProtobufCMessageDescriptor *desc, size_t len,
                                      const uint8_t *data)
{
	ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, len, data);

	if (m && protobuf_c_message_get_packed_size(m) != len) {
		protobuf_c_message_free_unpacked(m, NULL);
		return NULL;
	}
	return m;
}

int nf_rpc_decode_request(const uint8_t *buf, size_t len, Netfn__Request **out)
{
	if (len > NF_RPC_MAX_FRAME)
		return -EMSGSIZE;
	*out = (Netfn__Request *)nf_pb_unpack_strict(&netfn__request__descriptor, len, buf);
	if (!*out)
		return -EBADMSG;
	if (!(*out)->method || !(*out)->method[0]) {
		netfn__request__free_unpacked(*out, NULL);
		*out = NULL;
		return -EBADMSG;
	}
	return 0;
}

int nf_rpc_encode_response(uint64_t request_id, const struct nf_status *st,
                           const ProtobufCMessage *body, uint8_t **out, size_t *out_len)
{
	Netfn__Response r = NETFN__RESPONSE__INIT;
	uint8_t *b = NULL;
	size_t blen = 0;
	int ret;

	r.request_id = request_id;
	r.status = (Netfn__Status)st->code;
	r.error = (char *)st->message;
	r.field = (char *)st->field;
	if (st->code == NETFN__STATUS__OK && body) {
		ret = nf_pb_pack(body, &b, &blen);
		if (ret)
			return ret;
		r.body.data = b;
		r.body.len = blen;
	}
	ret = nf_pb_pack(&r.base, out, out_len);
	free(b);
	return ret;
}
