// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the RPC envelope (size limit, malformed frames, request ids)
 * over nng's in-process transport, and for the VpnSection conversion.
 */
#include "proto/conv_vpn.h"
#include "proto/rpc.h"
#include "tests/check.h"

#include <errno.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Echo server: answers network.show with a Network named like the request. */
static void *serve(void *arg)
{
	nng_socket rep = *(nng_socket *)arg;

	for (;;) {
		nng_msg *msg = NULL;
		Netfn__Request *req = NULL;
		struct nf_status st;
		uint8_t *out = NULL;
		size_t len;

		if (nng_recvmsg(rep, &msg, 0))
			return NULL;
		int rv = nf_rpc_decode_request(nng_msg_body(msg), nng_msg_len(msg), &req);
		nng_msg_free(msg);
		if (rv) {
			nf_status_set(&st, NETFN__STATUS__INVALID_ARGUMENT, NULL, "bad frame %d",
			              rv);
			nf_rpc_encode_response(0, &st, NULL, &out, &len);
		} else if (strcmp(req->method, "network.show") == 0) {
			Netfn__NameRef *ref =
			    netfn__name_ref__unpack(NULL, req->body.len, req->body.data);
			Netfn__Network net = NETFN__NETWORK__INIT;
			net.name = ref ? ref->name : "";
			net.cidr = req->token;
			nf_status_set(&st, NETFN__STATUS__OK, NULL, "%s", "");
			nf_rpc_encode_response(req->request_id, &st, &net.base, &out, &len);
			if (ref)
				netfn__name_ref__free_unpacked(ref, NULL);
		} else {
			nf_status_set(&st, NETFN__STATUS__NOT_FOUND, "method", "unknown method %s",
			              req->method);
			nf_rpc_encode_response(req->request_id, &st, NULL, &out, &len);
		}
		if (req)
			netfn__request__free_unpacked(req, NULL);
		nng_send(rep, out, len, 0);
		free(out);
	}
}

static void test_rpc(void)
{
	nng_socket rep, req;
	pthread_t th;
	struct nf_status st;
	ProtobufCMessage *reply = NULL;
	Netfn__NameRef ref = NETFN__NAME_REF__INIT;

	CHECK(nng_rep0_open(&rep) == 0 && nng_listen(rep, "inproc://rpc_test", NULL, 0) == 0);
	pthread_create(&th, NULL, serve, &rep);
	CHECK(nf_rpc_dial("inproc://rpc_test", &req) == 0);

	ref.name = "blue";
	CHECK(nf_rpc_call(req, "network.show", "tok", &ref.base, &netfn__network__descriptor,
	                  &reply, &st, 2000) == 0);
	CHECK(st.code == NETFN__STATUS__OK && reply);
	if (reply) {
		Netfn__Network *n = (Netfn__Network *)reply;
		CHECK(strcmp(n->name, "blue") == 0 && strcmp(n->cidr, "tok") == 0);
		protobuf_c_message_free_unpacked(reply, NULL);
	}
	CHECK(nf_rpc_call(req, "nope", NULL, NULL, NULL, NULL, &st, 2000) == 0);
	CHECK(st.code == NETFN__STATUS__NOT_FOUND && strcmp(st.field, "method") == 0);
	CHECK(strcmp(nf_status_name(st.code), "NOT_FOUND") == 0);

	/* Garbage in: the server answers with request id 0, which the client refuses. */
	uint8_t junk[64];
	memset(junk, 0xff, sizeof(junk));
	Netfn__Request *decoded = NULL;
	CHECK(nf_rpc_decode_request(junk, sizeof(junk), &decoded) == -EBADMSG && !decoded);
	CHECK(nf_rpc_decode_request(junk, NF_RPC_MAX_FRAME + 1, &decoded) == -EMSGSIZE);

	nng_close(req);
	nng_close(rep);
	pthread_join(th, NULL);

	/* Nobody listening: the call times out as UNAVAILABLE. */
	CHECK(nf_rpc_dial("inproc://nobody", &req) == 0);
	CHECK(nf_rpc_call(req, "x", NULL, NULL, NULL, NULL, &st, 100) < 0);
	CHECK(st.code == NETFN__STATUS__UNAVAILABLE);
	nng_close(req);
	CHECK(nf_rpc_dial("bogus://x", &req) == -EINVAL);
}

static void test_conv(void)
{
	struct vpn_config cfg = {0}, back;
	Netfn__VpnSection *pb = NULL;
	struct nf_prefix allowed;
	char err[256];

	cfg.revision = 9;
	nf_prefix_parse("10.9.0.2/24", false, &cfg.address);
	cfg.listen_port = 51820;
	cfg.mtu = 1420;
	cfg.n_peers = 1;
	cfg.peers = calloc(1, sizeof(*cfg.peers));
	memset(cfg.peers[0].public_key, 7, VPN_KEY_LEN);
	strcpy(cfg.peers[0].name, "web1");
	strcpy(cfg.peers[0].endpoint, "192.0.2.1:51820");
	nf_prefix_parse("10.9.0.1/32", false, &allowed);
	cfg.peers[0].allowed = calloc(1, sizeof(allowed));
	cfg.peers[0].allowed[0] = allowed;
	cfg.peers[0].n_allowed = 1;

	CHECK(conv_vpn_to_pb(&cfg, &pb) == 0);
	CHECK(conv_vpn_from_pb(pb, &back, err, sizeof(err)) == 0);
	CHECK(back.revision == 9 && back.n_peers == 1 && back.peers[0].n_allowed == 1);
	CHECK(strcmp(back.peers[0].endpoint, "192.0.2.1:51820") == 0);
	CHECK(memcmp(back.peers[0].public_key, cfg.peers[0].public_key, VPN_KEY_LEN) == 0);
	vpn_config_free(&back);

	/* Each bad field is named. */
	char *saved = pb->peers[0]->endpoint;
	pb->peers[0]->endpoint = "evil;reboot";
	CHECK(conv_vpn_from_pb(pb, &back, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "vpn.peers.endpoint") != NULL);
	pb->peers[0]->endpoint = saved;

	saved = pb->peers[0]->allowed_ips[0];
	pb->peers[0]->allowed_ips[0] = "10.9.0.1/24";
	CHECK(conv_vpn_from_pb(pb, &back, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "allowed_ips") != NULL);
	pb->peers[0]->allowed_ips[0] = saved;

	pb->peers[0]->public_key.len = 31;
	CHECK(conv_vpn_from_pb(pb, &back, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "public_key") != NULL);
	pb->peers[0]->public_key.len = 32;

	pb->mtu = 100;
	CHECK(conv_vpn_from_pb(pb, &back, err, sizeof(err)) == -EINVAL && strstr(err, "vpn.mtu"));
	pb->mtu = 1420;
	saved = pb->address;
	pb->address = "fd00::1/64";
	CHECK(conv_vpn_from_pb(pb, &back, err, sizeof(err)) == -EINVAL &&
	      strstr(err, "vpn.address"));
	pb->address = saved;
	CHECK(conv_vpn_from_pb(pb, &back, err, sizeof(err)) == 0);
	vpn_config_free(&back);

	conv_vpn_pb_free(pb);
	vpn_config_free(&cfg);
}

static void test_strict(void)
{
	/* Network{name = "ok"}: field 1, length 2. */
	const uint8_t good[] = {0x0a, 2, 'o', 'k'};
	/* The same name with a NUL inside: C would see "ok". */
	const uint8_t nul[] = {0x0a, 4, 'o', 'k', 0, 'x'};
	/* name given twice: protobuf keeps the last, silently. */
	const uint8_t twice[] = {0x0a, 1, 'a', 0x0a, 2, 'o', 'k'};
	ProtobufCMessage *m;

	m = nf_pb_unpack_strict(&netfn__network__descriptor, sizeof(good), good);
	CHECK(m && strcmp(((Netfn__Network *)m)->name, "ok") == 0);
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	CHECK(nf_pb_unpack_strict(&netfn__network__descriptor, sizeof(nul), nul) == NULL);
	CHECK(nf_pb_unpack_strict(&netfn__network__descriptor, sizeof(twice), twice) == NULL);
	CHECK(nf_pb_unpack_strict(&netfn__network__descriptor, 3, good) == NULL);
}

int main(void)
{
	CHECK(nf_crypto_init() == 0);
	test_rpc();
	test_conv();
	test_strict();
	return check_result();
}
