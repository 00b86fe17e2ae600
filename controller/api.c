// SPDX-License-Identifier: Apache-2.0
/*
 * API dispatch. Every call: size-checked decode of the envelope, bearer
 * token looked up by hash (constant work per call, no token ever logged),
 * role check against the method table (a reader calls only methods that do
 * not mutate), request body decode with the method's own descriptor, then
 * the handler under ctl->lock. Mutating handlers write their audit entry in
 * the same transaction as the change.
 */
#include "controller/api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/agentsrv.h"
#include "controller/server.h"
#include "netfns/common/log.h"
#include "proto/token.h"

#define API_WORKERS 8

struct arena {
	struct arena *next;
	size_t used, cap;
	max_align_t data[];
};

static struct srv *api_srv;

void *api_alloc(struct api_call *c, size_t n)
{
	struct arena *a = c->arena;

	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (!a || a->used + n > a->cap) {
		size_t cap = n > 16384 ? n : 16384;

		a = calloc(1, sizeof(*a) + cap);
		if (!a)
			return NULL;
		a->cap = cap;
		a->next = c->arena;
		c->arena = a;
	}
	void *p = (char *)a->data + a->used;
	a->used += n;
	return p;
}

char *api_strdup(struct api_call *c, const char *s)
{
	size_t n = strlen(s ? s : "") + 1;
	char *d = api_alloc(c, n);

	if (d)
		memcpy(d, s ? s : "", n);
	return d;
}

int api_list_push(struct api_list *l, void *item)
{
	if (!item)
		return -ENOMEM;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void **v = api_alloc(l->c, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		if (l->n)
			memcpy(v, l->v, l->n * sizeof(*v));
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = item;
	return 0;
}

Netfn__Label **api_labels_to_pb(struct api_call *c, const struct st_label *l, size_t n)
{
	Netfn__Label **v = api_alloc(c, (n ? n : 1) * sizeof(*v));

	for (size_t i = 0; v && i < n; i++) {
		v[i] = api_alloc(c, sizeof(**v));
		if (!v[i])
			return NULL;
		netfn__label__init(v[i]);
		v[i]->key = api_strdup(c, l[i].key);
		v[i]->value = api_strdup(c, l[i].value);
	}
	return v;
}

ProtobufCMessage *api_empty(struct api_call *c)
{
	Netfn__Empty *e = api_alloc(c, sizeof(*e));

	if (e)
		netfn__empty__init(e);
	return e ? &e->base : NULL;
}

static void arena_free(struct arena *a)
{
	while (a) {
		struct arena *next = a->next;

		free(a);
		a = next;
	}
}

int api_fail(struct api_call *c, int code, const char *field, const char *fmt, ...)
{
	va_list ap;

	c->st.code = code;
	snprintf(c->st.field, sizeof(c->st.field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(c->st.message, sizeof(c->st.message), fmt, ap);
	va_end(ap);
	return -1;
}

int api_store_fail(struct api_call *c, int err, const char *field, const char *what)
{
	if (err == -ENOENT)
		return api_fail(c, NETFN__STATUS__NOT_FOUND, field, "%s not found", what);
	if (err == -EEXIST)
		return api_fail(c, NETFN__STATUS__ALREADY_EXISTS, field, "%s already exists", what);
	return api_fail(c, NETFN__STATUS__INTERNAL, NULL, "store error %d", err);
}

int api_begin(struct api_call *c)
{
	struct store *s = c->ctl->store;

	if (s->ops->begin(s))
		return api_fail(c, NETFN__STATUS__INTERNAL, NULL, "store unavailable");
	return 0;
}

int api_end(struct api_call *c, int ret)
{
	struct store *s = c->ctl->store;

	if (ret) {
		s->ops->rollback(s);
		if (c->st.code == NETFN__STATUS__OK)
			api_fail(c, NETFN__STATUS__INTERNAL, NULL, "internal error %d", ret);
		return ret;
	}
	if (s->ops->commit(s)) {
		s->ops->rollback(s);
		return api_fail(c, NETFN__STATUS__INTERNAL, NULL, "store commit failed");
	}
	agentsrv_wake(c->ctl->agents, c->changed.v, c->changed.n);
	return 0;
}

int api_end_empty(struct api_call *c, int ret, ProtobufCMessage **reply)
{
	if (api_end(c, ret))
		return -1;
	*reply = api_empty(c);
	return *reply ? 0 : -ENOMEM;
}

int api_audit(struct api_call *c, const char *object, const char *fmt, ...)
{
	struct store *s = c->ctl->store;
	struct st_audit a = {0};
	va_list ap;

	a.time = ctl_now();
	snprintf(a.actor, sizeof(a.actor), "%s", c->actor);
	snprintf(a.method, sizeof(a.method), "%s", c->method);
	snprintf(a.object, sizeof(a.object), "%s", object);
	va_start(ap, fmt);
	vsnprintf(a.detail, sizeof(a.detail), fmt, ap);
	va_end(ap);
	if (s->ops->audit_add(s, &a))
		return api_fail(c, NETFN__STATUS__INTERNAL, NULL, "audit write failed");
	return 0;
}

static const struct api_method *find_method(const char *name)
{
	static const struct api_method *const tables[] = {
	    api_network_methods,  api_token_methods, api_node_methods,
	    api_firewall_methods, api_lb_methods,    api_client_methods,
	    api_dns_methods,      api_qos_methods,   api_flow_methods};

	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (const struct api_method *m = tables[t]; m->name; m++)
			if (strcmp(m->name, name) == 0)
				return m;
	return NULL;
}

/* Checks the bearer token; fills c->actor and *admin. */
static int authenticate(struct api_call *c, const char *token, bool *admin)
{
	struct store *s = c->ctl->store;
	uint8_t hash[NF_HASH_LEN];
	struct st_api_token t;

	if (!token || !token[0])
		return api_fail(c, NETFN__STATUS__UNAUTHENTICATED, "token",
		                "an API token is required (--token or NETFN_TOKEN)");
	if (nf_api_token_hash(token, hash) || s->ops->api_token_get_hash(s, hash, &t) || t.revoked)
		return api_fail(c, NETFN__STATUS__UNAUTHENTICATED, "token",
		                "unknown or revoked API token");
	snprintf(c->actor, sizeof(c->actor), "apitoken:%s", t.id);
	*admin = strcmp(t.role, "admin") == 0;
	return 0;
}

static void handle(void *arg, struct srv_work *w, const uint8_t *buf, size_t len)
{
	struct api_call call = {.ctl = arg};
	const struct api_method *m = NULL;
	Netfn__Request *req = NULL;
	ProtobufCMessage *body = NULL, *reply = NULL;
	uint8_t *out = NULL;
	size_t out_len = 0;
	uint64_t id = 0;
	bool admin = false;

	if (nf_rpc_decode_request(buf, len, &req)) {
		api_fail(&call, NETFN__STATUS__INVALID_ARGUMENT, "request",
		         "malformed or oversized request (%zu bytes)", len);
		goto reply;
	}
	id = req->request_id;
	call.method = req->method;
	pthread_mutex_lock(&call.ctl->lock);
	if (authenticate(&call, req->token, &admin))
		goto unlock;
	m = find_method(req->method);
	if (!m) {
		api_fail(&call, NETFN__STATUS__NOT_FOUND, "method", "unknown method");
		goto unlock;
	}
	if (m->mutates && !admin) {
		api_fail(&call, NETFN__STATUS__PERMISSION_DENIED, "token",
		         "role reader may not call %s", m->name);
		goto unlock;
	}
	body = nf_pb_unpack_strict(m->request, req->body.len, req->body.data);
	if (!body) {
		api_fail(&call, NETFN__STATUS__INVALID_ARGUMENT, "request",
		         "malformed %s body (or a string with a NUL byte)", m->name);
		goto unlock;
	}
	call.method = m->name;
	if (m->fn(&call, body, &reply) && call.st.code == NETFN__STATUS__OK)
		api_fail(&call, NETFN__STATUS__INTERNAL, NULL, "%s failed", m->name);
	if (call.st.code != NETFN__STATUS__OK)
		nf_info("api %s by %s: %s: %s: %s", m->name, call.actor,
		        nf_status_name(call.st.code), call.st.field, call.st.message);
	else if (m->mutates)
		nf_info("api %s by %s: ok", m->name, call.actor);
unlock:
	pthread_mutex_unlock(&call.ctl->lock);
reply:
	if (nf_rpc_encode_response(id, &call.st, reply, &out, &out_len)) {
		out = NULL;
		out_len = 0;
	}
	if (body)
		protobuf_c_message_free_unpacked(body, NULL);
	if (req)
		netfn__request__free_unpacked(req, NULL);
	idvec_free(&call.changed);
	arena_free(call.arena);
	srv_reply(w, out ? out : calloc(1, 1), out_len);
}

int api_start(struct ctl *c, const char *const *urls, size_t n, const char *tls_cert)
{
	return srv_start(urls, n, tls_cert, API_WORKERS, NF_RPC_MAX_FRAME, handle, c, &api_srv);
}

void api_stop(void)
{
	srv_stop(api_srv);
	api_srv = NULL;
}
