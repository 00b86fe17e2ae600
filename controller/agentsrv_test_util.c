// SPDX-License-Identifier: Apache-2.0
/*
 * The agent endpoint tests' fake agent: keys made here, a join token put
 * straight into the store (under ctl->lock, as the API would), and the
 * agent's calls sealed the way the real agent seals them. Each step of the
 * plumbing is checked here, with the test's counts (tests/check.h).
 */
#include "controller/agentsrv_test_util.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "tests/check.h"

void test_agent_open(struct test_agent *a, const struct ctl *ctl, const char *url)
{
	memset(a, 0, sizeof(*a));
	CHECK(nf_identity_generate(&a->id) == 0);
	CHECK(nf_channel_init(&a->ch, &a->id, ctl->id.pk) == 0);
	randombytes_buf(a->wg_pk, sizeof(a->wg_pk));
	CHECK(nf_rpc_dial(url, &a->sock) == 0);
}

/* Stores a join token for network_id, good for one use; secret is what the agent presents. */
static void make_token(struct ctl *ctl, int64_t network_id, uint8_t secret[32])
{
	struct store *s = ctl->store;
	struct st_join_token t = {0};

	randombytes_buf(secret, 32);
	nf_secret_hash(secret, 32, t.hash);
	nf_hash_id(t.hash, t.id, sizeof(t.id));
	t.network_id = network_id;
	t.created = ctl_now();
	t.expires = t.created + 3600;
	t.uses = t.uses_left = 1;
	pthread_mutex_lock(&ctl->lock);
	CHECK(s->ops->begin(s) == 0 && s->ops->join_token_insert(s, &t) == 0);
	CHECK(s->ops->commit(s) == 0);
	pthread_mutex_unlock(&ctl->lock);
}

void test_agent_enroll(struct test_agent *a, struct ctl *ctl, const char *url, int64_t network_id,
                       const char *name)
{
	struct store *s = ctl->store;
	Netfn__EnrollRequest req = NETFN__ENROLL_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	struct nf_status st;
	struct st_node node;
	uint8_t secret[32];

	test_agent_open(a, ctl, url);
	make_token(ctl, network_id, secret);
	req.token_secret.data = secret;
	req.token_secret.len = sizeof(secret);
	req.wg_public_key.data = a->wg_pk;
	req.wg_public_key.len = sizeof(a->wg_pk);
	req.name = (char *)name;
	CHECK(nf_rpc_call_sealed(a->sock, &a->ch, &a->counter, "agent.enroll", &req.base,
	                         &netfn__enroll_reply__descriptor, &reply, &st, 5000) == 0);
	CHECK(st.code == NETFN__STATUS__OK && reply);
	if (reply) {
		snprintf(a->addr, sizeof(a->addr), "%s",
		         ((Netfn__EnrollReply *)reply)->overlay_address);
		protobuf_c_message_free_unpacked(reply, NULL);
	}
	pthread_mutex_lock(&ctl->lock);
	CHECK(s->ops->node_get_key(s, a->id.pk, &node) == 0);
	pthread_mutex_unlock(&ctl->lock);
	a->node_id = node.id;
}

Netfn__SyncReply *test_agent_sync(struct test_agent *a, const Netfn__SyncRequest *req,
                                  int timeout_ms)
{
	ProtobufCMessage *reply = NULL;

	memset(&a->st, 0, sizeof(a->st));
	a->ret = nf_rpc_call_sealed(a->sock, &a->ch, &a->counter, "agent.sync", &req->base,
	                            &netfn__sync_reply__descriptor, &reply, &a->st, timeout_ms);
	return (Netfn__SyncReply *)reply;
}

void test_agent_done(Netfn__SyncReply *reply)
{
	if (reply)
		netfn__sync_reply__free_unpacked(reply, NULL);
}

void test_agent_close(struct test_agent *a)
{
	nng_close(a->sock);
}
