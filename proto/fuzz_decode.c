// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz harness for everything the controller decodes from the network before
 * authentication: the Request envelope and each method's body, the sealed
 * frame, join and API tokens; and, on the agent side, a VpnSection and a
 * FlowSection from the controller through conv_vpn_from_pb and
 * conv_flow_from_pb (the last gates before the kernel and Open vSwitch).
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto/conv_flow.h"
#include "proto/conv_vpn.h"
#include "proto/rpc.h"
#include "proto/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t fuzz_seeds(uint8_t ***seeds, size_t **lens);

static struct nf_channel channel;

static void setup(void)
{
	static int done;
	struct nf_identity a = {0}, b = {0};

	if (done)
		return;
	done = 1;
	nf_crypto_init();
	/* Fixed keys: the harness must be deterministic. */
	memset(a.sk, 1, sizeof(a.sk));
	memset(b.sk, 2, sizeof(b.sk));
	crypto_scalarmult_base(a.pk, a.sk);
	crypto_scalarmult_base(b.pk, b.sk);
	nf_channel_init(&channel, &a, b.pk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const ProtobufCMessageDescriptor *const bodies[] = {
	    &netfn__network__descriptor,        &netfn__name_ref__descriptor,
	    &netfn__token_create__descriptor,   &netfn__node_label_request__descriptor,
	    &netfn__enroll_request__descriptor, &netfn__sync_request__descriptor,
	};
	Netfn__Request *req = NULL;
	Netfn__VpnSection *vpn;
	Netfn__FlowSection *flow;
	struct vpn_config cfg;
	struct flow_config fcfg;
	struct nf_join_token jt;
	uint8_t pk[32], hash[32], *payload = NULL;
	uint64_t counter, echo;
	size_t plen;
	char err[256], *text;

	setup();
	if (nf_rpc_decode_request(data, size, &req) == 0) {
		for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
			ProtobufCMessage *m = protobuf_c_message_unpack(
			    bodies[i], NULL, req->body.len, req->body.data);
			if (m)
				protobuf_c_message_free_unpacked(m, NULL);
		}
		netfn__request__free_unpacked(req, NULL);
	}
	nf_sealed_peek_sender(data, size, pk);
	if (nf_open(&channel, data, size, &counter, &echo, &payload, &plen) == 0)
		free(payload);

	vpn = netfn__vpn_section__unpack(NULL, size, data);
	if (vpn) {
		if (conv_vpn_from_pb(vpn, &cfg, err, sizeof(err)) == 0) {
			Netfn__VpnSection *back = NULL;

			/* What passed validation converts back without loss of shape. */
			if (conv_vpn_to_pb(&cfg, &back) == 0) {
				if (back->n_peers != cfg.n_peers)
					abort();
				conv_vpn_pb_free(back);
			}
			vpn_config_free(&cfg);
		}
		netfn__vpn_section__free_unpacked(vpn, NULL);
	}

	flow = netfn__flow_section__unpack(NULL, size, data);
	if (flow) {
		if (conv_flow_from_pb(flow, &fcfg, err, sizeof(err)) == 0) {
			Netfn__FlowSection *back = NULL;

			/* What passed converts back to as many filters, in id order. */
			if (conv_flow_to_pb(&fcfg, &back) == 0) {
				if (back->n_filters != fcfg.n)
					abort();
				for (size_t i = 1; i < back->n_filters; i++)
					if (back->filters[i]->id <= back->filters[i - 1]->id)
						abort();
				conv_flow_pb_free(back);
			}
			flow_config_free(&fcfg);
		}
		netfn__flow_section__free_unpacked(flow, NULL);
	}

	text = malloc(size + 1);
	if (text) {
		memcpy(text, data, size);
		text[size] = '\0';
		nf_join_token_decode(text, &jt);
		nf_api_token_hash(text, hash);
		free(text);
	}
	return 0;
}

static void add(uint8_t **seeds, size_t *lens, size_t *n, uint8_t *buf, size_t len)
{
	seeds[*n] = buf;
	lens[(*n)++] = len;
}

size_t fuzz_seeds(uint8_t ***seeds, size_t **lens)
{
	Netfn__Network net = NETFN__NETWORK__INIT;
	Netfn__Request req = NETFN__REQUEST__INIT;
	Netfn__VpnSection vpn = NETFN__VPN_SECTION__INIT;
	Netfn__VpnPeer peer = NETFN__VPN_PEER__INIT, *peers[1] = {&peer};
	Netfn__FlowSection flow = NETFN__FLOW_SECTION__INIT;
	Netfn__FlowNodeFilter ff = NETFN__FLOW_NODE_FILTER__INIT, *ffs[1] = {&ff};
	char *allowed[1] = {"10.0.0.2/32"}, *tok = NULL;
	uint8_t key[32] = {7}, *buf, *body;
	size_t len, blen, n = 0;
	struct nf_join_token jt = {.n_urls = 1};

	setup();
	*seeds = calloc(8, sizeof(**seeds));
	*lens = calloc(8, sizeof(**lens));
	net.name = "blue";
	net.cidr = "10.0.0.0/24";
	nf_pb_pack(&net.base, &body, &blen);
	req.method = "network.create";
	req.request_id = 1;
	req.token = "nfa1.x";
	req.body.data = body;
	req.body.len = blen;
	nf_pb_pack(&req.base, &buf, &len);
	add(*seeds, *lens, &n, buf, len);
	if (nf_seal(&channel, 5, 0, body, blen, &buf, &len) == 0)
		add(*seeds, *lens, &n, buf, len);
	free(body);

	peer.public_key.data = key;
	peer.public_key.len = 32;
	peer.name = "n1";
	peer.endpoint = "192.0.2.1:51820";
	peer.allowed_ips = allowed;
	peer.n_allowed_ips = 1;
	vpn.address = "10.0.0.1/24";
	vpn.listen_port = 51820;
	vpn.mtu = 1420;
	vpn.peers = peers;
	vpn.n_peers = 1;
	nf_pb_pack(&vpn.base, &buf, &len);
	add(*seeds, *lens, &n, buf, len);

	ff.id = 7;
	ff.priority = 100;
	ff.protocol = 6;
	ff.dst_port = 22;
	ff.src = "10.0.0.0/24";
	ff.drop = 1;
	flow.revision = 3;
	flow.filters = ffs;
	flow.n_filters = 1;
	nf_pb_pack(&flow.base, &buf, &len);
	add(*seeds, *lens, &n, buf, len);

	strcpy(jt.urls[0], "tcp://192.0.2.1:7100");
	if (nf_join_token_encode(&jt, &tok) == 0)
		add(*seeds, *lens, &n, (uint8_t *)tok, strlen(tok));
	return n;
}
