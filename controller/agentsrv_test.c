// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the agent endpoint, in process over nng's inproc transport
 * with a real store in a temp dir: enrolment with a join token (single use),
 * sync answered with the config then parked, replayed and tampered frames
 * refused, unknown keys refused, and a deleted node's parked sync woken.
 */
#include "controller/agentsrv.h"
#include "controller/agentsrv_test_util.h"
#include "controller/compile.h"
#include "controller/store/store_test_util.h"
#include "proto/rpc.h"
#include "tests/check.h"

#include <nng/protocol/reqrep0/req.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define URL "inproc://agentsrv_test"

static struct ctl ctl;

static int64_t make_network(void)
{
	struct store *s = ctl.store;
	struct st_network n = {0};

	strcpy(n.name, "blue");
	strcpy(n.cidr, "10.5.0.0/29");
	n.port = 51820;
	n.mtu = 1420;
	strcpy(n.topology, "mesh");
	CHECK(s->ops->begin(s) == 0 && s->ops->network_insert(s, &n) == 0);
	CHECK(s->ops->commit(s) == 0);
	return n.id;
}

/* Stores a join token for network and returns its secret. */
static void make_token(int64_t net, uint32_t uses, int64_t ttl, uint8_t secret[32])
{
	struct store *s = ctl.store;
	struct st_join_token t = {0};

	randombytes_buf(secret, 32);
	nf_secret_hash(secret, 32, t.hash);
	nf_hash_id(t.hash, t.id, sizeof(t.id));
	t.network_id = net;
	t.created = ctl_now();
	t.expires = t.created + ttl;
	t.uses = t.uses_left = uses;
	CHECK(s->ops->begin(s) == 0 && s->ops->join_token_insert(s, &t) == 0);
	CHECK(s->ops->commit(s) == 0);
}

static int enroll(struct test_agent *a, const char *name, const uint8_t secret[32],
                  struct nf_status *st)
{
	Netfn__EnrollRequest req = NETFN__ENROLL_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	int ret;

	req.token_secret.data = (uint8_t *)secret;
	req.token_secret.len = 32;
	req.wg_public_key.data = a->wg_pk;
	req.wg_public_key.len = 32;
	req.name = (char *)name;
	ret = nf_rpc_call_sealed(a->sock, &a->ch, &a->counter, "agent.enroll", &req.base,
	                         &netfn__enroll_reply__descriptor, &reply, st, 2000);
	if (reply)
		protobuf_c_message_free_unpacked(reply, NULL);
	return ret;
}

static Netfn__SyncReply *sync_call(struct test_agent *a, uint64_t applied, struct nf_status *st,
                                   int timeout)
{
	Netfn__SyncRequest req = NETFN__SYNC_REQUEST__INIT;
	Netfn__SectionStatus sec = NETFN__SECTION_STATUS__INIT, *secs[1] = {&sec};
	Netfn__SyncReply *reply;

	sec.function = "vpn";
	sec.applied_revision = applied;
	req.sections = secs;
	req.n_sections = 1;
	reply = test_agent_sync(a, &req, timeout);
	*st = a->st;
	return reply;
}

/* Sends a raw frame and returns the reply's status as the agent would read it. */
static int raw_status(nng_socket sock, const struct nf_channel *ch, const uint8_t *frame,
                      size_t len, char *field, size_t flen)
{
	nng_msg *msg = NULL;
	uint8_t *payload = NULL;
	size_t plen;
	uint64_t counter, echo;
	int code = -1;

	if (nng_send(sock, (void *)frame, len, 0) || nng_recvmsg(sock, &msg, 0))
		return -1;
	Netfn__Response *resp = NULL;
	if (nf_open(ch, nng_msg_body(msg), nng_msg_len(msg), &counter, &echo, &payload, &plen) == 0)
		resp = netfn__response__unpack(NULL, plen, payload);
	else /* an unsealed error: the frame could not be opened */
		resp = netfn__response__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));
	if (resp) {
		code = resp->status;
		snprintf(field, flen, "%s", resp->field);
		netfn__response__free_unpacked(resp, NULL);
	}
	free(payload);
	nng_msg_free(msg);
	return code;
}

int main(void)
{
	char dir[] = "/tmp/netfn-agentsrv-XXXXXX";
	struct agentsrv *srv = NULL;
	struct test_agent a, b, c;
	struct nf_status st;
	uint8_t secret[32], secret2[32];
	char field[64];
	int64_t net;

	CHECK(nf_crypto_init() == 0);
	CHECK(mkdtemp(dir) != NULL);
	pthread_mutex_init(&ctl.lock, NULL);
	ctl.heartbeat_ms = 300;
	CHECK(nf_identity_generate(&ctl.id) == 0);
	CHECK(store_open(dir, &ctl.store) == 0);
	if (!ctl.store)
		return check_result();
	CHECK(agentsrv_start(&ctl, (const char *const[]){URL}, 1, &srv) == 0);
	net = make_network();
	make_token(net, 1, 3600, secret);

	/* Enrol, then the same single-use token is refused for another agent. */
	test_agent_open(&a, &ctl, URL);
	test_agent_open(&b, &ctl, URL);
	CHECK(enroll(&a, "web1", secret, &st) == 0 && st.code == NETFN__STATUS__OK);
	/* A retried enrolment (its reply lost) gets the same answer, using no token. */
	CHECK(enroll(&a, "web1", secret, &st) == 0 && st.code == NETFN__STATUS__OK);
	CHECK(enroll(&b, "web2", secret, &st) == 0);
	CHECK(st.code == NETFN__STATUS__PERMISSION_DENIED && strcmp(st.field, "token") == 0);
	CHECK(strstr(st.message, "already used") != NULL);
	/* An expired token is refused too. */
	make_token(net, 5, -1, secret2);
	CHECK(enroll(&b, "web2", secret2, &st) == 0 && strstr(st.message, "expired") != NULL);
	/* Bad names never reach the store. */
	make_token(net, 5, 3600, secret2);
	CHECK(enroll(&b, "Web;2", secret2, &st) == 0 && strcmp(st.field, "name") == 0);

	/* First sync: answered at once with the config at the node's revision. */
	Netfn__SyncReply *r = sync_call(&a, 0, &st, 2000);
	CHECK(st.code == NETFN__STATUS__OK && r && r->config && r->config->vpn);
	uint64_t rev = r && r->config && r->config->vpn ? r->config->vpn->revision : 0;
	CHECK(rev > 0 && r && strcmp(r->config->vpn->address, "10.5.0.1/29") == 0);
	if (r)
		netfn__sync_reply__free_unpacked(r, NULL);

	/* An agent that waits less than a heartbeat is answered within its wait. */
	ctl.heartbeat_ms = 5000;
	Netfn__SyncRequest wreq = NETFN__SYNC_REQUEST__INIT;
	Netfn__SectionStatus wsec = NETFN__SECTION_STATUS__INIT, *wsecs[1] = {&wsec};
	Netfn__SyncReply *wreply;
	wsec.function = "vpn";
	wsec.applied_revision = rev;
	wreq.sections = wsecs;
	wreq.n_sections = 1;
	wreq.wait_ms = 200;
	wreply = test_agent_sync(&a, &wreq, 1500);
	CHECK(a.ret == 0);
	CHECK(a.st.code == NETFN__STATUS__OK && wreply);
	test_agent_done(wreply);
	ctl.heartbeat_ms = 300;

	/* Synced: parked, then answered empty after the heartbeat. */
	r = sync_call(&a, rev, &st, 3000);
	CHECK(st.code == NETFN__STATUS__OK && r && !r->config && r->heartbeat_ms == 300);
	if (r)
		netfn__sync_reply__free_unpacked(r, NULL);

	/* A replayed frame is refused, and so is a tampered one. */
	Netfn__SyncRequest sreq = NETFN__SYNC_REQUEST__INIT;
	uint8_t *body = NULL, *frame = NULL, *packed = NULL;
	size_t blen, flen, plen;
	Netfn__Request env = NETFN__REQUEST__INIT;
	CHECK(nf_pb_pack(&sreq.base, &body, &blen) == 0);
	env.method = "agent.sync";
	env.request_id = 77;
	env.body.data = body;
	env.body.len = blen;
	CHECK(nf_pb_pack(&env.base, &packed, &plen) == 0);
	CHECK(nf_seal(&a.ch, nf_counter_next(&a.counter), 0, packed, plen, &frame, &flen) == 0);
	nng_socket raw;
	CHECK(nng_req0_open(&raw) == 0 && nng_dial(raw, URL, NULL, 0) == 0);
	nng_socket_set_ms(raw, NNG_OPT_RECVTIMEO, 3000);
	CHECK(raw_status(raw, &a.ch, frame, flen, field, sizeof(field)) == NETFN__STATUS__OK);
	CHECK(raw_status(raw, &a.ch, frame, flen, field, sizeof(field)) ==
	      NETFN__STATUS__UNAUTHENTICATED);
	CHECK(strcmp(field, "counter") == 0);
	frame[flen - 3] ^= 0x40;
	CHECK(raw_status(raw, &a.ch, frame, flen, field, sizeof(field)) ==
	      NETFN__STATUS__UNAUTHENTICATED);
	CHECK(strcmp(field, "frame") == 0);
	CHECK(raw_status(raw, &a.ch, (const uint8_t *)"junk", 4, field, sizeof(field)) ==
	      NETFN__STATUS__INVALID_ARGUMENT);
	free(body);
	free(packed);
	free(frame);
	nng_close(raw);

	/* An agent whose key the controller does not know is refused. */
	test_agent_open(&c, &ctl, URL);
	r = sync_call(&c, 0, &st, 2000);
	CHECK(!r && st.code == NETFN__STATUS__UNAUTHENTICATED && strcmp(st.field, "node") == 0);

	/* A second node joins: the first one's parked sync wakes with the new peer. */
	CHECK(enroll(&b, "web2", secret2, &st) == 0 && st.code == NETFN__STATUS__OK);
	r = sync_call(&a, rev, &st, 3000);
	CHECK(r && r->config && r->config->vpn && r->config->vpn->n_peers == 1);
	if (r)
		netfn__sync_reply__free_unpacked(r, NULL);

	test_agent_close(&a);
	test_agent_close(&b);
	test_agent_close(&c);
	agentsrv_stop(srv);
	store_close(ctl.store);
	store_test_dir_remove(dir);
	return check_result();
}
