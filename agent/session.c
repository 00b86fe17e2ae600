// SPDX-License-Identifier: Apache-2.0
/*
 * The controller session (see session.h). One req socket at a time, dialed to
 * the current controller URL; a URL that does not connect within a few
 * seconds, or any other transport failure, closes it and moves to the next
 * URL after a jittered backoff. The socket handle is shared with
 * session_stop under a mutex: stopping closes it, which makes a blocked send
 * or long-poll receive return at once, and every pause between attempts is a
 * condition wait that stopping also ends.
 */
#include "agent/session.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netfns/common/log.h"
#include "netfns/common/pause.h"

/* Repeated failures are logged once, then at most once per this interval. */
#define LOG_EVERY_MS 60000
/* Heartbeats outside this range are clamped: 2 * heartbeat + 5 s must fit an int. */
#define HEARTBEAT_MIN 1000
#define HEARTBEAT_MAX 300000
/* Pause after a reply whose config had nothing to apply (see idle_pause). */
#define IDLE_FIRST_MS 1000
/*
 * How long a fresh socket may take to connect before the URL counts as
 * unreachable: the call timeout is sized for the long-poll, far too long to
 * wait before trying the next controller.
 */
#define CONNECT_TIMEOUT_MS 5000

struct ratelimit {
	int64_t next_ms;
	unsigned held;
};

struct session {
	struct agent_state *st;
	const struct agent_args *args;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;   /* under lock */
	bool sock_open;  /* under lock */
	nng_socket sock; /* under lock */
	/*
	 * Connections of the current socket, counted by nng's pipe callbacks.
	 * Atomics, not the lock: the callbacks run in nng's threads, possibly
	 * inside an nng_close made under the lock.
	 */
	atomic_int sock_id;
	atomic_int pipes;
	size_t n_urls;
	char urls[NF_TOKEN_MAX_URLS][NF_TOKEN_URL_MAX];
	size_t url_idx;
	struct nf_channel ch;
	uint64_t counter;
	int backoff_ms;
	int idle_ms;
	unsigned failures; /* transport failures since the last answer */
	const char *node;
	const char *network;
	struct ratelimit rl_transport;
	struct ratelimit rl_refused;
	struct ratelimit rl_remote;
	struct ratelimit rl_mismatch;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* True when a repeated event may be logged now; *held gets how many were not. */
static bool rl_pass(struct ratelimit *rl, unsigned *held)
{
	int64_t now = now_ms();

	if (rl->next_ms && now < rl->next_ms) {
		rl->held++;
		return false;
	}
	*held = rl->held;
	rl->held = 0;
	rl->next_ms = now + LOG_EVERY_MS;
	return true;
}

int session_open(struct agent_state *st, const struct agent_args *args, struct session **out)
{
	struct session *s = NULL;
	pthread_condattr_t ca;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->st = st;
	s->args = args;
	s->node = args->name;
	s->network = "-";
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	/* Pauses are measured on the monotonic clock: wall-clock steps must not stretch them. */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	ret = -pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (ret < 0) {
		pthread_mutex_destroy(&s->lock);
		free(s);
		return ret;
	}
	*out = s;
	return 0;
}

void session_stop(struct session *s)
{
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	if (s->sock_open) {
		/* Aborts a send or receive in flight in the session's thread. */
		nng_close(s->sock);
		s->sock_open = false;
	}
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

bool session_stopping(struct session *s)
{
	bool stopping;

	pthread_mutex_lock(&s->lock);
	stopping = s->stopping;
	pthread_mutex_unlock(&s->lock);
	return stopping;
}

void session_close(struct session *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->sock_open)
		nng_close(s->sock);
	s->sock_open = false;
	pthread_mutex_unlock(&s->lock);
	nf_channel_wipe(&s->ch);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Waits ms unless stopped first; false when stopped. */
static bool pause_ms(struct session *s, int ms)
{
	return nf_pause_ms(&s->lock, &s->cond, &s->stopping, ms > 0 ? (uint32_t)ms : 0);
}

/*
 * Next delay: 250 ms doubling to 30 s, drawn from its upper half so that
 * agents that lost the controller together do not come back in step.
 */
static int backoff_next(struct session *s)
{
	int d = s->backoff_ms ? s->backoff_ms * 2 : SESSION_BACKOFF_FIRST_MS;

	if (d > SESSION_BACKOFF_MAX_MS)
		d = SESSION_BACKOFF_MAX_MS;
	s->backoff_ms = d;
	return d / 2 + (int)randombytes_uniform((uint32_t)(d / 2) + 1);
}

static void on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct session *s = arg;
	int n;

	/* Events of a socket already replaced are no news. */
	if (nng_socket_id(nng_pipe_socket(p)) != atomic_load(&s->sock_id))
		return;
	if (ev == NNG_PIPE_EV_ADD_POST) {
		atomic_fetch_add(&s->pipes, 1);
		return;
	}
	n = atomic_load(&s->pipes);
	while (n > 0 && !atomic_compare_exchange_weak(&s->pipes, &n, n - 1))
		;
}

/* The socket for the current URL, dialing it when needed; -ECANCELED once stopped. */
static int sock_get(struct session *s, nng_socket *out)
{
	nng_socket sock;
	bool have;
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = s->stopping ? -ECANCELED : 0;
	have = s->sock_open;
	if (ret == 0 && have)
		*out = s->sock;
	pthread_mutex_unlock(&s->lock);
	if (ret < 0 || have)
		return ret;

	/* Non-blocking dial (nf_rpc_dial): nng connects, and reconnects, in the background. */
	ret = nf_rpc_dial(s->urls[s->url_idx], &sock);
	if (ret < 0)
		return ret;
	atomic_store(&s->pipes, 0);
	atomic_store(&s->sock_id, nng_socket_id(sock));
	/*
	 * Registered just after the dial started: a connection made in between
	 * would be missed, but connecting takes a round trip and the SP
	 * handshake, far longer than this gap; the cost would be one retry.
	 */
	nng_pipe_notify(sock, NNG_PIPE_EV_ADD_POST, on_pipe, s);
	nng_pipe_notify(sock, NNG_PIPE_EV_REM_POST, on_pipe, s);
	nf_debug("node %s network %s: dialing controller %s", s->node, s->network,
	         s->urls[s->url_idx]);
	pthread_mutex_lock(&s->lock);
	if (s->stopping) {
		nng_close(sock);
		ret = -ECANCELED;
	} else {
		s->sock = sock;
		s->sock_open = true;
		*out = sock;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* Waits until the socket is connected: 0, -ETIMEDOUT, or -ECANCELED when stopped. */
static int wait_connected(struct session *s)
{
	int64_t deadline = now_ms() + CONNECT_TIMEOUT_MS;

	/* Polled: the pipe callback may not take the lock to signal a condition. */
	while (atomic_load(&s->pipes) == 0) {
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		if (!pause_ms(s, 10))
			return -ECANCELED;
	}
	return 0;
}

/*
 * One sealed call on the current controller: dials it if needed and gives
 * up early when it does not connect. Returns what nf_rpc_call_sealed does,
 * with st saying why on a transport failure; *connected tells whether the
 * controller was connected when the call went out.
 */
static int call(struct session *s, const char *method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply,
                struct nf_status *st, int timeout_ms, bool *connected)
{
	nng_socket sock;
	int ret;

	*connected = false;
	ret = sock_get(s, &sock);
	if (ret == 0)
		ret = wait_connected(s);
	if (ret == -ECANCELED)
		return ret;
	if (ret == -ETIMEDOUT) {
		nf_status_set(st, NETFN__STATUS__UNAVAILABLE, NULL, "not connected after %d ms",
		              CONNECT_TIMEOUT_MS);
		return ret;
	}
	if (ret < 0) {
		nf_status_set(st, NETFN__STATUS__UNAVAILABLE, NULL, "cannot dial: %s",
		              strerror(-ret));
		return ret;
	}
	*connected = true;
	return nf_rpc_call_sealed(sock, &s->ch, &s->counter, method, req, reply_desc, reply, st,
	                          timeout_ms);
}

static void sock_drop(struct session *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->sock_open)
		nng_close(s->sock);
	s->sock_open = false;
	pthread_mutex_unlock(&s->lock);
}

/* Sets the URLs (--controller wins over those given) and the channel to pk. */
static int use_controller(struct session *s, const char (*urls)[NF_TOKEN_URL_MAX], size_t n,
                          const uint8_t pk[NF_KEY_LEN])
{
	if (s->args->n_controllers) {
		urls = s->args->controllers;
		n = s->args->n_controllers;
	}
	if (n == 0)
		return -EDESTADDRREQ;
	for (size_t i = 0; i < n; i++)
		memcpy(s->urls[i], urls[i], NF_TOKEN_URL_MAX);
	s->n_urls = n;
	s->url_idx = 0;
	return nf_channel_init(&s->ch, &s->st->identity, pk);
}

/*
 * After a transport failure: drop the socket, back off, and move to the next
 * URL unless told to stay (a controller that is reachable, just slow).
 */
static void transport_failed(struct session *s, const struct nf_status *st, bool stay)
{
	const char *url = s->urls[s->url_idx];
	unsigned held;
	int delay;

	sock_drop(s);
	s->failures++;
	delay = backoff_next(s);
	if (rl_pass(&s->rl_transport, &held))
		nf_warn("node %s network %s: controller %s: %s; retrying in %d ms, "
		        "data plane left as is (%u failures, %u not logged)",
		        s->node, s->network, url, st->message, delay, s->failures, held);
	if (!stay)
		s->url_idx = (s->url_idx + 1) % s->n_urls;
	pause_ms(s, delay);
}

/* After an answer: the controller is reachable again. */
static void answered(struct session *s)
{
	if (s->failures)
		nf_info("node %s network %s: controller %s answers again after %u failures",
		        s->node, s->network, s->urls[s->url_idx], s->failures);
	s->failures = 0;
	s->backoff_ms = 0;
	memset(&s->rl_transport, 0, sizeof(s->rl_transport));
}

/* Formats "CODE: field: message" as the controller stated it. */
static const char *status_text(const struct nf_status *st, char *buf, size_t len)
{
	size_t flen = strlen(st->field);

	if (flen && strncmp(st->message, st->field, flen) != 0)
		snprintf(buf, len, "%s: %s: %s", nf_status_name(st->code), st->field, st->message);
	else
		snprintf(buf, len, "%s: %s", nf_status_name(st->code), st->message);
	return buf;
}

int session_enroll(struct session *s, const struct nf_join_token *tok, struct agent_enrollment *enr,
                   struct nf_status *st)
{
	Netfn__EnrollRequest req = NETFN__ENROLL_REQUEST__INIT;
	Netfn__Label labels[AGENT_MAX_LABELS];
	Netfn__Label *label_ptrs[AGENT_MAX_LABELS];
	char *endpoints[VPN_MAX_ENDPOINTS];
	const struct agent_args *a = s->args;
	char text[400];
	int ret;

	memset(st, 0, sizeof(*st));
	ret = use_controller(s, tok->urls, tok->n_urls, tok->controller_pk);
	if (ret == -EDESTADDRREQ) {
		nf_status_set(st, NETFN__STATUS__INVALID_ARGUMENT, "--controller",
		              "the join token names no controller URL; give --controller");
		return ret;
	}
	if (ret < 0) {
		nf_status_set(st, NETFN__STATUS__INVALID_ARGUMENT, "token",
		              "the controller key in the join token is unusable");
		return ret;
	}
	req.token_secret.data = (uint8_t *)tok->secret;
	req.token_secret.len = NF_SECRET_LEN;
	req.wg_public_key.data = s->st->wg_public;
	req.wg_public_key.len = VPN_KEY_LEN;
	req.name = (char *)a->name;
	for (size_t i = 0; i < a->n_labels; i++) {
		netfn__label__init(&labels[i]);
		labels[i].key = (char *)a->labels[i].key;
		labels[i].value = (char *)a->labels[i].value;
		label_ptrs[i] = &labels[i];
	}
	req.n_labels = a->n_labels;
	req.labels = label_ptrs;
	for (size_t i = 0; i < a->n_endpoints; i++)
		endpoints[i] = (char *)a->endpoints[i];
	req.n_endpoints = a->n_endpoints;
	req.endpoints = endpoints;

	nf_info("node %s: enrolling with controller %s", a->name, s->urls[0]);
	for (;;) {
		Netfn__EnrollReply *reply = NULL;
		bool connected;
		unsigned held;

		ret = call(s, "agent.enroll", &req.base, &netfn__enroll_reply__descriptor,
		           (ProtobufCMessage **)&reply, st, SESSION_ENROLL_TIMEOUT_MS, &connected);
		if (ret == -ECANCELED || session_stopping(s)) {
			if (reply)
				netfn__enroll_reply__free_unpacked(reply, NULL);
			return -ECANCELED;
		}
		if (ret < 0) {
			transport_failed(s, st, false);
			continue;
		}
		answered(s);
		if (st->code == NETFN__STATUS__UNAVAILABLE) {
			/* The controller is up but not ready: the one answer worth waiting out. */
			if (rl_pass(&s->rl_remote, &held))
				nf_warn("node %s: enroll: %s; retrying", a->name,
				        status_text(st, text, sizeof(text)));
			pause_ms(s, backoff_next(s));
			continue;
		}
		if (st->code != NETFN__STATUS__OK)
			return -EACCES;

		memset(enr, 0, sizeof(*enr));
		memcpy(enr->controller_pk, tok->controller_pk, NF_KEY_LEN);
		memcpy(enr->urls, s->urls, sizeof(enr->urls));
		enr->n_urls = s->n_urls;
		ret = 0;
		if (!reply->name[0] || strlen(reply->name) >= sizeof(enr->name) ||
		    !reply->network[0] || strlen(reply->network) >= sizeof(enr->network) ||
		    strlen(reply->overlay_address) >= sizeof(enr->overlay_address)) {
			nf_status_set(st, NETFN__STATUS__INTERNAL, NULL,
			              "the controller's enroll reply has a bad name, network or "
			              "address");
			ret = -EBADMSG;
		} else {
			strcpy(enr->name, reply->name);
			strcpy(enr->network, reply->network);
			strcpy(enr->overlay_address, reply->overlay_address);
		}
		netfn__enroll_reply__free_unpacked(reply, NULL);
		return ret;
	}
}

/* Refused by the controller: the node was deleted or its key revoked. */
static void refused(struct session *s, const struct nf_status *st)
{
	char text[400];
	unsigned held;

	if (st->code == NETFN__STATUS__UNAUTHENTICATED ||
	    st->code == NETFN__STATUS__PERMISSION_DENIED) {
		/*
		 * Retried slowly forever: an operator may undo a deletion, and
		 * the data plane must stay up meanwhile.
		 */
		s->backoff_ms = SESSION_BACKOFF_MAX_MS;
		if (rl_pass(&s->rl_refused, &held))
			nf_err("node %s network %s: controller %s refuses this node (deleted or "
			       "revoked?): %s; retrying every %d s (%u refusals not logged)",
			       s->node, s->network, s->urls[s->url_idx],
			       status_text(st, text, sizeof(text)), SESSION_BACKOFF_MAX_MS / 1000,
			       held);
	} else if (rl_pass(&s->rl_remote, &held)) {
		nf_warn("node %s network %s: sync: %s; retrying (%u not logged)", s->node,
		        s->network, status_text(st, text, sizeof(text)), held);
	}
	pause_ms(s, backoff_next(s));
}

/*
 * A config arrived but none of it was newer, or what is newer failed a
 * moment ago: the controller may keep answering at once, so wait a little,
 * longer each time, instead of spinning.
 */
static void idle_pause(struct session *s)
{
	s->idle_ms = s->idle_ms ? s->idle_ms * 2 : IDLE_FIRST_MS;
	if (s->idle_ms > SESSION_BACKOFF_MAX_MS)
		s->idle_ms = SESSION_BACKOFF_MAX_MS;
	nf_debug("node %s network %s: nothing to apply in the config; next sync in %d ms", s->node,
	         s->network, s->idle_ms);
	pause_ms(s, s->idle_ms);
}

static int apply_config(struct session *s, const struct agent_enrollment *enr, struct reconcile *rc,
                        const Netfn__NodeConfig *cfg, uint64_t received_ns)
{
	unsigned held;

	if ((strcmp(cfg->name, enr->name) != 0 || strcmp(cfg->network, enr->network) != 0) &&
	    rl_pass(&s->rl_mismatch, &held))
		nf_warn("node %s network %s: the controller sent the config of node %s network "
		        "%s; applying it anyway",
		        enr->name, enr->network, cfg->name, cfg->network);
	return reconcile_apply(rc, cfg, received_ns);
}

/* The controller's heartbeat, defaulted and clamped. */
static int heartbeat_of(const Netfn__SyncReply *reply)
{
	if (reply->heartbeat_ms == 0)
		return SESSION_HEARTBEAT_MS;
	if (reply->heartbeat_ms < HEARTBEAT_MIN)
		return HEARTBEAT_MIN;
	if (reply->heartbeat_ms > HEARTBEAT_MAX)
		return HEARTBEAT_MAX;
	return (int)reply->heartbeat_ms;
}

int session_run(struct session *s, const struct agent_enrollment *enr, struct reconcile *rc)
{
	int heartbeat = SESSION_HEARTBEAT_MS;
	int ret;

	ret = use_controller(s, enr->urls, enr->n_urls, enr->controller_pk);
	if (ret < 0) {
		nf_err("node %s network %s: the enrollment record has no usable controller "
		       "(URL or key)",
		       enr->name, enr->network);
		return ret;
	}
	s->node = enr->name;
	s->network = enr->network;
	nf_info("node %s network %s: syncing with controller %s", s->node, s->network, s->urls[0]);
	while (!session_stopping(s)) {
		Netfn__SyncRequest req = NETFN__SYNC_REQUEST__INIT;
		Netfn__SyncReply *reply = NULL;
		char *endpoints[VPN_MAX_ENDPOINTS];
		struct nf_status st = {0};
		bool connected;
		bool grow;
		int tried = -1;

		reconcile_retry(rc);
		reconcile_status(rc, &req);
		for (size_t i = 0; i < s->args->n_endpoints; i++)
			endpoints[i] = (char *)s->args->endpoints[i];
		req.n_endpoints = s->args->n_endpoints;
		req.endpoints = endpoints;
		/* Tell the controller never to hold the poll past our own timeout. */
		req.wait_ms = (uint32_t)(2 * heartbeat + 3000);

		/* The controller holds the call up to one heartbeat: allow two, plus slack. */
		ret = call(s, "agent.sync", &req.base, &netfn__sync_reply__descriptor,
		           (ProtobufCMessage **)&reply, &st, 2 * heartbeat + 5000, &connected);
		if (ret == -ECANCELED || session_stopping(s)) {
			if (reply)
				netfn__sync_reply__free_unpacked(reply, NULL);
			break;
		}
		/*
		 * Connected, yet no answer in time: the controller may hold polls
		 * longer than assumed (its heartbeat is only learnt from a reply).
		 * Wait longer next time, on the same controller; once at the
		 * longest, it is as good as unreachable.
		 */
		grow = ret == -ETIMEDOUT && connected && heartbeat < HEARTBEAT_MAX;
		if (grow) {
			heartbeat = heartbeat * 2 > HEARTBEAT_MAX ? HEARTBEAT_MAX : heartbeat * 2;
			nf_info("node %s network %s: no answer in time; assuming a heartbeat of "
			        "%d ms",
			        s->node, s->network, heartbeat);
		}
		if (ret < 0) {
			transport_failed(s, &st, grow);
			continue;
		}
		answered(s);
		if (st.code != NETFN__STATUS__OK) {
			refused(s, &st);
			continue;
		}
		memset(&s->rl_refused, 0, sizeof(s->rl_refused));
		heartbeat = heartbeat_of(reply);
		if (reply->config) {
			tried = apply_config(s, enr, rc, reply->config, st.received_ns);
		} else
			nf_debug("node %s network %s: heartbeat", s->node, s->network);
		netfn__sync_reply__free_unpacked(reply, NULL);
		if (tried == 0)
			idle_pause(s);
		else
			s->idle_ms = 0;
	}
	sock_drop(s);
	return 0;
}
