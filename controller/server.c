// SPDX-License-Identifier: Apache-2.0
/*
 * The rep0 server with parked requests. A work item is a context plus two
 * aios: io (receive, then send the reply) and timer (the park). Work items
 * are never freed while the server runs: a parked one is reused for
 * receiving after it answers, so the pool grows to the largest number of
 * requests ever parked at once plus `workers`, and no more.
 */
#include "controller/server.h"

#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "netfns/common/log.h"

enum work_state { W_RECV, W_HANDLE, W_SEND, W_PARKED };

struct srv_work {
	struct srv *srv;
	nng_ctx ctx;
	nng_aio *io;
	nng_aio *timer;
	enum work_state state;
	srv_resume resume;
	void *user;
	struct srv_work *next; /* all items, for shutdown */
};

struct srv {
	nng_socket sock;
	srv_handler handler;
	void *arg;
	pthread_mutex_t lock;
	struct srv_work *all;
	bool closing;
};

static void io_cb(void *arg);
static void timer_cb(void *arg);

static void work_free(struct srv_work *w)
{
	if (!w)
		return;
	if (w->io)
		nng_aio_free(w->io);
	if (w->timer)
		nng_aio_free(w->timer);
	nng_ctx_close(w->ctx);
	free(w);
}

/* Makes a work item and starts it receiving. */
static int work_new(struct srv *s)
{
	struct srv_work *w = calloc(1, sizeof(*w));
	int rv;

	if (!w)
		return -ENOMEM;
	w->srv = s;
	if ((rv = nng_aio_alloc(&w->io, io_cb, w)) ||
	    (rv = nng_aio_alloc(&w->timer, timer_cb, w)) || (rv = nng_ctx_open(&w->ctx, s->sock))) {
		nf_err("server: cannot make a context: %s", nng_strerror(rv));
		work_free(w);
		return -ENOMEM;
	}
	pthread_mutex_lock(&s->lock);
	w->next = s->all;
	s->all = w;
	pthread_mutex_unlock(&s->lock);
	w->state = W_RECV;
	nng_ctx_recv(w->ctx, w->io);
	return 0;
}

static void io_cb(void *arg)
{
	struct srv_work *w = arg;
	struct srv *s = w->srv;
	int rv = nng_aio_result(w->io);
	nng_msg *msg;

	if (w->state == W_SEND) {
		if (rv) {
			/* On a failed send the message is still ours. */
			msg = nng_aio_get_msg(w->io);
			if (msg)
				nng_msg_free(msg);
		}
		if (rv == NNG_ECLOSED || s->closing)
			return;
		w->state = W_RECV;
		nng_ctx_recv(w->ctx, w->io);
		return;
	}
	/* W_RECV */
	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED || s->closing)
		return;
	if (rv) {
		nng_ctx_recv(w->ctx, w->io);
		return;
	}
	msg = nng_aio_get_msg(w->io);
	w->state = W_HANDLE;
	s->handler(s->arg, w, nng_msg_body(msg), nng_msg_len(msg));
	nng_msg_free(msg);
}

static void timer_cb(void *arg)
{
	struct srv_work *w = arg;
	int rv = nng_aio_result(w->timer);

	if (w->srv->closing)
		return;
	w->state = W_HANDLE;
	w->resume(w->srv->arg, w, rv == NNG_ECANCELED);
}

void srv_reply(struct srv_work *w, uint8_t *buf, size_t len)
{
	nng_msg *msg = NULL;

	if (nng_msg_alloc(&msg, 0) || nng_msg_append(msg, buf, len)) {
		/* Out of memory: drop the reply; the requester times out and retries. */
		nf_err("server: cannot allocate a %zu byte reply", len);
		if (msg)
			nng_msg_free(msg);
		free(buf);
		w->state = W_RECV;
		nng_ctx_recv(w->ctx, w->io);
		return;
	}
	free(buf);
	w->state = W_SEND;
	nng_aio_set_msg(w->io, msg);
	nng_ctx_send(w->ctx, w->io);
}

void srv_park(struct srv_work *w, uint32_t ms, srv_resume resume, void *user)
{
	w->resume = resume;
	w->user = user;
	w->state = W_PARKED;
	nng_sleep_aio((nng_duration)ms, w->timer);
	/* Keep the server listening while this request waits. */
	if (work_new(w->srv))
		nf_err("server: no receiver could replace a parked request");
}

void srv_wake(struct srv_work *w)
{
	nng_aio_cancel(w->timer);
}

void *srv_work_user(const struct srv_work *w)
{
	return w->user;
}

/* Listens on a tls+tcp:// URL with the certificate and key in cert_file. */
static int listen_tls(nng_socket sock, const char *url, const char *cert_file)
{
	nng_listener l = NNG_LISTENER_INITIALIZER;
	nng_tls_config *cfg = NULL;
	int rv;

	if (!cert_file) {
		nf_err("server: %s needs --tls-cert", url);
		return NNG_EINVAL;
	}
	if ((rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_SERVER)) ||
	    (rv = nng_tls_config_version(cfg, NNG_TLS_1_2, NNG_TLS_1_3)) ||
	    (rv = nng_tls_config_cert_key_file(cfg, cert_file, NULL))) {
		nf_err("server: %s: cannot load certificate and key from %s: %s", url, cert_file,
		       nng_strerror(rv));
		goto cleanup;
	}
	if ((rv = nng_listener_create(&l, sock, url)) ||
	    (rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg)) ||
	    (rv = nng_listener_start(l, 0)))
		nf_err("server: cannot listen on %s: %s", url, nng_strerror(rv));
cleanup:
	if (cfg)
		nng_tls_config_free(cfg); /* the listener holds its own reference */
	return rv;
}

int srv_start(const char *const *urls, size_t n_urls, const char *tls_cert, size_t workers,
              size_t max_frame, srv_handler handler, void *arg, struct srv **out)
{
	struct srv *s = calloc(1, sizeof(*s));
	int rv, ret = -EIO;

	if (!s)
		return -ENOMEM;
	s->handler = handler;
	s->arg = arg;
	pthread_mutex_init(&s->lock, NULL);
	rv = nng_rep0_open(&s->sock);
	if (rv) {
		nf_err("server: %s", nng_strerror(rv));
		free(s);
		return -EIO;
	}
	nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, max_frame);
	for (size_t i = 0; i < n_urls; i++) {
		if (strncmp(urls[i], "tls+", 4) == 0)
			rv = listen_tls(s->sock, urls[i], tls_cert);
		else if ((rv = nng_listen(s->sock, urls[i], NULL, 0)))
			nf_err("server: cannot listen on %s: %s", urls[i], nng_strerror(rv));
		if (rv) {
			ret = rv == NNG_EADDRINUSE ? -EADDRINUSE : -EINVAL;
			goto fail;
		}
		nf_info("listening on %s", urls[i]);
	}
	for (size_t i = 0; i < workers; i++)
		if ((ret = work_new(s)))
			goto fail;
	*out = s;
	return 0;
fail:
	srv_stop(s);
	return ret;
}

void srv_stop(struct srv *s)
{
	struct srv_work *w, *next;

	if (!s)
		return;
	s->closing = true;
	nng_close(s->sock);
	pthread_mutex_lock(&s->lock);
	w = s->all;
	s->all = NULL;
	pthread_mutex_unlock(&s->lock);
	for (struct srv_work *x = w; x; x = x->next) {
		nng_aio_stop(x->io);
		nng_aio_stop(x->timer);
	}
	for (; w; w = next) {
		next = w->next;
		work_free(w);
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}
