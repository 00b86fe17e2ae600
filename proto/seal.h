/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sealing of agent<->controller messages with libsodium's crypto_box
 * (X25519 + XSalsa20-Poly1305). Each side has an identity key pair; a
 * channel is the precomputed shared key between us and one peer. Frames are
 * packed netfn.Sealed messages carrying a random nonce, so the two directions
 * never reuse one. Inside, a strictly increasing counter gives replay
 * protection and the echo binds a reply to its request.
 */
#ifndef NETFN_PROTO_SEAL_H
#define NETFN_PROTO_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define NF_KEY_LEN    32
#define NF_SHARED_LEN 32

/* A crypto_box key pair. sk is a secret: wipe with nf_identity_wipe. */
struct nf_identity {
	uint8_t pk[NF_KEY_LEN];
	uint8_t sk[NF_KEY_LEN];
};

/* The shared key between self and one peer. */
struct nf_channel {
	uint8_t self_pk[NF_KEY_LEN];
	uint8_t peer_pk[NF_KEY_LEN];
	uint8_t shared[NF_SHARED_LEN];
};

/* Initialises libsodium once; returns 0 or -EIO. Call before anything else. */
int nf_crypto_init(void);

/* Makes a fresh identity key pair. */
int nf_identity_generate(struct nf_identity *id);

/* Wipes the secret half of an identity. */
void nf_identity_wipe(struct nf_identity *id);

/* Precomputes the channel from self to peer_pk; -EINVAL for a weak peer key. */
int nf_channel_init(struct nf_channel *ch, const struct nf_identity *self,
                    const uint8_t peer_pk[NF_KEY_LEN]);

/* Wipes a channel's shared key. */
void nf_channel_wipe(struct nf_channel *ch);

/* Seals payload into a packed Sealed frame (*out is malloc'd). */
int nf_seal(const struct nf_channel *ch, uint64_t counter, uint64_t echo, const uint8_t *payload,
            size_t len, uint8_t **out, size_t *out_len);

/* Reads the sender's key from a frame without opening it; -EBADMSG if malformed. */
int nf_sealed_peek_sender(const uint8_t *frame, size_t len, uint8_t sender_pk[NF_KEY_LEN]);

/*
 * Opens a frame sent to us over ch: -EBADMSG when it is malformed, tampered
 * with, or not from ch's peer. *payload is malloc'd.
 */
int nf_open(const struct nf_channel *ch, const uint8_t *frame, size_t len, uint64_t *counter,
            uint64_t *echo, uint8_t **payload, size_t *payload_len);

/* Next counter for a sender: wall-clock nanoseconds, kept strictly above *last. */
uint64_t nf_counter_next(uint64_t *last);

#endif
