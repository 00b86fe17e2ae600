/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RPC layer shared by all programs: a Request/Response envelope over nng
 * req/rep sockets, with the frame size checked before any decode. The API
 * carries a bearer token in the envelope; the agent channel wraps each
 * envelope in a sealed frame (seal.h).
 *
 * Method names and their messages (request -> reply):
 *   network.create Network -> Network      network.list Empty -> NetworkList
 *   network.show NameRef -> Network        network.delete NameRef -> Empty
 *   token.create TokenCreate -> TokenCreated   token.list Empty -> TokenList
 *   token.revoke IdRef -> Empty
 *   node.list NodeListRequest -> NodeList  node.show NameRef -> Node
 *   node.delete NameRef -> Empty           node.label NodeLabelRequest -> Node
 *   apitoken.create ApiTokenCreate -> TokenCreated
 *   apitoken.list Empty -> ApiTokenList    apitoken.revoke IdRef -> Empty
 *   audit.list AuditListRequest -> AuditList
 *   status NodeListRequest -> NodeList (with sections)
 *   firewall.policy.create FwPolicy -> FwPolicy (rules may be given at once)
 *   firewall.policy.list NodeListRequest -> FwPolicyList (network filter)
 *   firewall.policy.show NameRef -> FwPolicy (rules with counters)
 *   firewall.policy.delete NameRef -> Empty
 *   firewall.rule.add FwRuleAdd -> FwPolicy
 *   firewall.rule.del FwRuleRef -> FwPolicy
 *   agent.enroll EnrollRequest -> EnrollReply     (sealed, agent channel)
 *   agent.sync SyncRequest -> SyncReply           (sealed, agent channel)
 */
#ifndef NETFN_PROTO_RPC_H
#define NETFN_PROTO_RPC_H

#include <nng/nng.h>
#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "proto/netfn.pb-c.h"
#include "proto/seal.h"

/* Largest frame any program accepts; checked before decoding. */
#define NF_RPC_MAX_FRAME (4u << 20)

/* The outcome of a call: code is a NETFN__STATUS__* value. */
struct nf_status {
	int code;
	char field[64];
	char message[256];
	uint64_t received_ns; /* CLOCK_MONOTONIC when the reply frame arrived; 0: none */
};

/* Sets a status; field may be NULL. Returns -EINVAL-like errno for code (for chaining). */
int nf_status_set(struct nf_status *st, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Name of a status code ("INVALID_ARGUMENT"). */
const char *nf_status_name(int code);

/* Opens a req0 socket dialed to url with the frame limit set; redials in the background. */
int nf_rpc_dial(const char *url, nng_socket *out);

/*
 * The same, but fails at once (-ECONNREFUSED) when nothing listens: for
 * one-shot clients. A tls+tcp:// URL needs ca_file, the PEM of the CA that
 * signed the controller's certificate; the URL's host must match it.
 */
int nf_rpc_dial_now(const char *url, const char *ca_file, nng_socket *out);

/*
 * One API call: packs req, sends it with token, waits up to timeout_ms for the
 * reply. Returns 0 when a reply arrived (st->code tells OK or the remote
 * error; on OK and reply_desc != NULL, *reply is the unpacked body, to free
 * with protobuf_c_message_free_unpacked), or -errno when the transport failed
 * (st says UNAVAILABLE and why).
 */
int nf_rpc_call(nng_socket sock, const char *method, const char *token, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply,
                struct nf_status *st, int timeout_ms);

/*
 * The same over a sealed channel: the request is sealed with the next value
 * of *counter; the reply must open on ch and echo that counter.
 */
int nf_rpc_call_sealed(nng_socket sock, const struct nf_channel *ch, uint64_t *counter,
                       const char *method, const ProtobufCMessage *req,
                       const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply,
                       struct nf_status *st, int timeout_ms);

/* Server side: unpacks a Request after checking its size; -EMSGSIZE / -EBADMSG. */
int nf_rpc_decode_request(const uint8_t *buf, size_t len, Netfn__Request **out);

/* Server side: packs a Response (body only when st is OK); *out is malloc'd. */
int nf_rpc_encode_response(uint64_t request_id, const struct nf_status *st,
                           const ProtobufCMessage *body, uint8_t **out, size_t *out_len);

/*
 * Unpacks a message received from the network and accepts it only when it is
 * canonical: packing it again gives exactly len bytes. That refuses strings
 * with an embedded NUL (which C would see truncated), repeated singular
 * fields, and padding. NULL when malformed or not canonical.
 */
ProtobufCMessage *nf_pb_unpack_strict(const ProtobufCMessageDescriptor *desc, size_t len,
                                      const uint8_t *data);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t nf_monotonic_ns(void);

/* Packs any message into a malloc'd buffer. */
int nf_pb_pack(const ProtobufCMessage *m, uint8_t **out, size_t *out_len);

#endif
