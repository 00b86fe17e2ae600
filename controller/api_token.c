// SPDX-License-Identifier: Apache-2.0
/*
 * API handlers for access: join tokens (made here, shown once, stored as a
 * hash, limited in time and uses), API tokens with their roles, and the
 * audit log that records every mutation.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/api.h"
#include "controller/validate.h"
#include "netfns/common/log.h"
#include "proto/token.h"

#define DEFAULT_TTL (24 * 3600)
#define MAX_TTL     (365 * 24 * 3600)
#define MAX_USES    100000

static int token_create(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__TokenCreate *in = (const Netfn__TokenCreate *)m;
	struct ctl *ctl = c->ctl;
	struct store *s = ctl->store;
	struct nf_join_token jt = {0};
	struct st_join_token t = {0};
	struct st_network net;
	Netfn__TokenCreated *out;
	char *text = NULL, p[72];
	int ret;

	if (in->ttl_seconds < 0 || in->ttl_seconds > MAX_TTL)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "ttl",
		                "%lld s is outside 1 s to 365 days", (long long)in->ttl_seconds);
	if (in->uses > MAX_USES)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "uses", "%u is over %d",
		                in->uses, MAX_USES);
	if (labels_merge(t.labels, &t.n_labels, in->labels, in->n_labels, "labels", &c->st))
		return -1;
	if (ctl->n_advertise == 0)
		return api_fail(c, NETFN__STATUS__FAILED_PRECONDITION, "advertise",
		                "the controller has no agent URL to put in tokens: start it with "
		                "--advertise tcp://HOST:PORT");
	if (s->ops->network_get(s, in->network, &net))
		return api_fail(c, NETFN__STATUS__NOT_FOUND, "network", "network '%s' not found",
		                printable(in->network, p, sizeof(p)));

	randombytes_buf(jt.secret, sizeof(jt.secret));
	memcpy(jt.controller_pk, ctl->id.pk, sizeof(jt.controller_pk));
	jt.n_urls = ctl->n_advertise;
	for (size_t i = 0; i < ctl->n_advertise; i++)
		memcpy(jt.urls[i], ctl->advertise[i], sizeof(jt.urls[i]));
	nf_secret_hash(jt.secret, sizeof(jt.secret), t.hash);
	nf_hash_id(t.hash, t.id, sizeof(t.id));
	t.network_id = net.id;
	t.created = ctl_now();
	t.expires = t.created + (in->ttl_seconds ? in->ttl_seconds : DEFAULT_TTL);
	t.uses = t.uses_left = in->uses ? in->uses : 1;
	ret = nf_join_token_encode(&jt, &text);
	sodium_memzero(jt.secret, sizeof(jt.secret));
	if (ret)
		return ret;

	if (api_begin(c)) {
		ret = -1;
		goto cleanup;
	}
	ret = s->ops->join_token_insert(s, &t);
	if (ret)
		ret = api_store_fail(c, ret, "token", "token");
	else
		ret = api_audit(c, t.id, "network=%s uses=%u expires=%lld", net.name, t.uses,
		                (long long)t.expires);
	if (api_end(c, ret))
		goto cleanup;
	out = api_alloc(c, sizeof(*out));
	if (!out) {
		ret = -ENOMEM;
		goto cleanup;
	}
	netfn__token_created__init(out);
	out->id = api_strdup(c, t.id);
	out->token = api_strdup(c, text);
	*reply = &out->base;
	ret = 0;
cleanup:
	if (text) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	return ret;
}

static int add_token(void *ctx, const struct st_join_token *t)
{
	struct api_list *l = ctx;
	struct store *s = l->c->ctl->store;
	Netfn__TokenInfo *pb = api_alloc(l->c, sizeof(*pb));
	struct st_network net;

	if (!pb)
		return -ENOMEM;
	netfn__token_info__init(pb);
	pb->id = api_strdup(l->c, t->id);
	pb->network =
	    api_strdup(l->c, s->ops->network_get_id(s, t->network_id, &net) == 0 ? net.name : "");
	pb->expires = t->expires;
	pb->uses = t->uses;
	pb->uses_left = t->uses_left;
	pb->revoked = t->revoked;
	pb->created = t->created;
	pb->labels = api_labels_to_pb(l->c, t->labels, t->n_labels);
	pb->n_labels = t->n_labels;
	return api_list_push(l, pb);
}

static int token_list(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	struct store *s = c->ctl->store;
	struct api_list l = {.c = c};
	Netfn__TokenList *out = api_alloc(c, sizeof(*out));

	(void)m;
	if (!out || s->ops->join_token_list(s, add_token, &l))
		return -EIO;
	netfn__token_list__init(out);
	out->tokens = (Netfn__TokenInfo **)l.v;
	out->n_tokens = l.n;
	*reply = &out->base;
	return 0;
}

static int token_revoke(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__IdRef *ref = (const Netfn__IdRef *)m;
	struct store *s = c->ctl->store;
	struct st_join_token t;
	int ret;

	if (api_begin(c))
		return -1;
	ret = s->ops->join_token_get(s, ref->id, &t);
	if (ret) {
		ret = api_store_fail(c, ret, "id", "token");
		goto end;
	}
	t.revoked = true;
	ret = s->ops->join_token_update(s, &t);
	if (!ret)
		ret = api_audit(c, t.id, "revoked");
end:
	return api_end_empty(c, ret, reply);
}

static int apitoken_create(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__ApiTokenCreate *in = (const Netfn__ApiTokenCreate *)m;
	struct store *s = c->ctl->store;
	struct st_api_token t = {0};
	Netfn__TokenCreated *out;
	char text[NF_TOKEN_STRLEN], p[72];
	int ret;

	if (strcmp(in->role, "admin") && strcmp(in->role, "reader"))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "role",
		                "'%s' is not admin or reader", printable(in->role, p, sizeof(p)));
	if (in->name[0] && !valid_name(in->name))
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "name",
		                "'%s' is not a valid name", printable(in->name, p, sizeof(p)));
	if (nf_api_token_new(text, sizeof(text), t.hash))
		return -EIO;
	nf_hash_id(t.hash, t.id, sizeof(t.id));
	snprintf(t.role, sizeof(t.role), "%s", in->role);
	snprintf(t.name, sizeof(t.name), "%s", in->name);
	t.created = ctl_now();
	if (api_begin(c)) {
		ret = -1;
		goto cleanup;
	}
	ret = s->ops->api_token_insert(s, &t);
	if (ret)
		ret = api_store_fail(c, ret, "token", "API token");
	else
		ret = api_audit(c, t.id, "role=%s name=%s", t.role, t.name);
	if (api_end(c, ret))
		goto cleanup;
	out = api_alloc(c, sizeof(*out));
	if (!out) {
		ret = -ENOMEM;
		goto cleanup;
	}
	netfn__token_created__init(out);
	out->id = api_strdup(c, t.id);
	out->token = api_strdup(c, text);
	*reply = &out->base;
	ret = 0;
cleanup:
	sodium_memzero(text, sizeof(text));
	return ret;
}

static int add_apitoken(void *ctx, const struct st_api_token *t)
{
	struct api_list *l = ctx;
	Netfn__ApiTokenInfo *pb = api_alloc(l->c, sizeof(*pb));

	if (!pb)
		return -ENOMEM;
	netfn__api_token_info__init(pb);
	pb->id = api_strdup(l->c, t->id);
	pb->role = api_strdup(l->c, t->role);
	pb->name = api_strdup(l->c, t->name);
	pb->created = t->created;
	pb->revoked = t->revoked;
	return api_list_push(l, pb);
}

static int apitoken_list(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	struct store *s = c->ctl->store;
	struct api_list l = {.c = c};
	Netfn__ApiTokenList *out = api_alloc(c, sizeof(*out));

	(void)m;
	if (!out || s->ops->api_token_list(s, add_apitoken, &l))
		return -EIO;
	netfn__api_token_list__init(out);
	out->tokens = (Netfn__ApiTokenInfo **)l.v;
	out->n_tokens = l.n;
	*reply = &out->base;
	return 0;
}

static int apitoken_revoke(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__IdRef *ref = (const Netfn__IdRef *)m;
	struct store *s = c->ctl->store;
	struct st_api_token t;
	int ret;

	if (api_begin(c))
		return -1;
	ret = s->ops->api_token_get(s, ref->id, &t);
	if (ret) {
		ret = api_store_fail(c, ret, "id", "API token");
		goto end;
	}
	t.revoked = true;
	ret = s->ops->api_token_update(s, &t);
	if (!ret)
		ret = api_audit(c, t.id, "revoked");
end:
	return api_end_empty(c, ret, reply);
}

static int add_audit(void *ctx, const struct st_audit *a)
{
	struct api_list *l = ctx;
	Netfn__AuditEntry *pb = api_alloc(l->c, sizeof(*pb));

	if (!pb)
		return -ENOMEM;
	netfn__audit_entry__init(pb);
	pb->id = a->id;
	pb->time = a->time;
	pb->actor = api_strdup(l->c, a->actor);
	pb->method = api_strdup(l->c, a->method);
	pb->object = api_strdup(l->c, a->object);
	pb->detail = api_strdup(l->c, a->detail);
	return api_list_push(l, pb);
}

static int audit_list(struct api_call *c, const ProtobufCMessage *m, ProtobufCMessage **reply)
{
	const Netfn__AuditListRequest *in = (const Netfn__AuditListRequest *)m;
	struct store *s = c->ctl->store;
	struct api_list l = {.c = c};
	Netfn__AuditList *out = api_alloc(c, sizeof(*out));
	uint32_t limit = in->limit ? in->limit : 100;

	if (limit > 100000)
		return api_fail(c, NETFN__STATUS__INVALID_ARGUMENT, "limit", "%u is over 100000",
		                limit);
	if (!out || s->ops->audit_list(s, limit, add_audit, &l))
		return -EIO;
	netfn__audit_list__init(out);
	out->entries = (Netfn__AuditEntry **)l.v;
	out->n_entries = l.n;
	*reply = &out->base;
	return 0;
}

const struct api_method api_token_methods[] = {
    {"token.create", &netfn__token_create__descriptor, true, token_create},
    {"token.list", &netfn__empty__descriptor, false, token_list},
    {"token.revoke", &netfn__id_ref__descriptor, true, token_revoke},
    {"apitoken.create", &netfn__api_token_create__descriptor, true, apitoken_create},
    {"apitoken.list", &netfn__empty__descriptor, false, apitoken_list},
    {"apitoken.revoke", &netfn__id_ref__descriptor, true, apitoken_revoke},
    {"audit.list", &netfn__audit_list_request__descriptor, false, audit_list},
    {0},
};
