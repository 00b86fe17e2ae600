// SPDX-License-Identifier: Apache-2.0
/*
 * Sealed frames for the agent channel. A frame is a packed netfn.Sealed:
 * the sender's public key (so the receiver can find the channel), a random
 * 24-byte nonce (random nonces are safe at 192 bits and keep the two
 * directions, which share one key, from ever colliding), and
 * crypto_box_easy_afternm of a packed SealedPlain.
 */
#include "proto/seal.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/netfn.pb-c.h"

int nf_crypto_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

int nf_identity_generate(struct nf_identity *id)
{
	return crypto_box_keypair(id->pk, id->sk) ? -EIO : 0;
}

void nf_identity_wipe(struct nf_identity *id)
{
	sodium_memzero(id->sk, sizeof(id->sk));
}

int nf_channel_init(struct nf_channel *ch, const struct nf_identity *self,
                    const uint8_t peer_pk[NF_KEY_LEN])
{
	memcpy(ch->self_pk, self->pk, NF_KEY_LEN);
	memcpy(ch->peer_pk, peer_pk, NF_KEY_LEN);
	/* Fails for low-order points, which would make the shared key predictable. */
	if (crypto_box_beforenm(ch->shared, peer_pk, self->sk) != 0) {
		sodium_memzero(ch->shared, sizeof(ch->shared));
		return -EINVAL;
	}
	return 0;
}

void nf_channel_wipe(struct nf_channel *ch)
{
	sodium_memzero(ch->shared, sizeof(ch->shared));
}

int nf_seal(const struct nf_channel *ch, uint64_t counter, uint64_t echo, const uint8_t *payload,
            size_t len, uint8_t **out, size_t *out_len)
{
	Netfn__SealedPlain plain = NETFN__SEALED_PLAIN__INIT;
	Netfn__Sealed frame = NETFN__SEALED__INIT;
	uint8_t nonce[crypto_box_NONCEBYTES];
	uint8_t *pbuf = NULL, *box = NULL, *buf = NULL;
	size_t plen, blen, flen;
	int ret = -ENOMEM;

	plain.counter = counter;
	plain.echo = echo;
	plain.payload.data = (uint8_t *)payload;
	plain.payload.len = len;
	plen = netfn__sealed_plain__get_packed_size(&plain);
	pbuf = malloc(plen ? plen : 1);
	if (!pbuf)
		goto cleanup;
	netfn__sealed_plain__pack(&plain, pbuf);

	blen = plen + crypto_box_MACBYTES;
	box = malloc(blen);
	if (!box)
		goto cleanup;
	randombytes_buf(nonce, sizeof(nonce));
	if (crypto_box_easy_afternm(box, pbuf, plen, nonce, ch->shared) != 0) {
		ret = -EIO;
		goto cleanup;
	}

	frame.sender_pk.data = (uint8_t *)ch->self_pk;
	frame.sender_pk.len = NF_KEY_LEN;
	frame.nonce.data = nonce;
	frame.nonce.len = sizeof(nonce);
	frame.box.data = box;
	frame.box.len = blen;
	flen = netfn__sealed__get_packed_size(&frame);
	buf = malloc(flen);
	if (!buf)
		goto cleanup;
	netfn__sealed__pack(&frame, buf);
	*out = buf;
	*out_len = flen;
	buf = NULL;
	ret = 0;
cleanup:
	if (pbuf)
		sodium_memzero(pbuf, plen);
	free(pbuf);
	free(box);
	free(buf);
	return ret;
}

int nf_sealed_peek_sender(const uint8_t *frame, size_t len, uint8_t sender_pk[NF_KEY_LEN])
{
	Netfn__Sealed *f = netfn__sealed__unpack(NULL, len, frame);
	int ret = -EBADMSG;

	if (f && f->sender_pk.len == NF_KEY_LEN) {
		memcpy(sender_pk, f->sender_pk.data, NF_KEY_LEN);
		ret = 0;
	}
	if (f)
		netfn__sealed__free_unpacked(f, NULL);
	return ret;
}

int nf_open(const struct nf_channel *ch, const uint8_t *frame, size_t len, uint64_t *counter,
            uint64_t *echo, uint8_t **payload, size_t *payload_len)
{
	Netfn__Sealed *f = NULL;
	Netfn__SealedPlain *plain = NULL;
	uint8_t *pbuf = NULL;
	size_t plen = 0;
	int ret = -EBADMSG;

	f = netfn__sealed__unpack(NULL, len, frame);
	if (!f || f->sender_pk.len != NF_KEY_LEN || f->nonce.len != crypto_box_NONCEBYTES ||
	    f->box.len < crypto_box_MACBYTES)
		goto cleanup;
	if (sodium_memcmp(f->sender_pk.data, ch->peer_pk, NF_KEY_LEN) != 0)
		goto cleanup;
	plen = f->box.len - crypto_box_MACBYTES;
	pbuf = malloc(plen ? plen : 1);
	if (!pbuf) {
		ret = -ENOMEM;
		goto cleanup;
	}
	if (crypto_box_open_easy_afternm(pbuf, f->box.data, f->box.len, f->nonce.data,
	                                 ch->shared) != 0)
		goto cleanup;
	plain = netfn__sealed_plain__unpack(NULL, plen, pbuf);
	if (!plain)
		goto cleanup;
	*payload = malloc(plain->payload.len ? plain->payload.len : 1);
	if (!*payload) {
		ret = -ENOMEM;
		goto cleanup;
	}
	memcpy(*payload, plain->payload.data, plain->payload.len);
	*payload_len = plain->payload.len;
	*counter = plain->counter;
	*echo = plain->echo;
	ret = 0;
cleanup:
	if (plain)
		netfn__sealed_plain__free_unpacked(plain, NULL);
	if (pbuf)
		sodium_memzero(pbuf, plen);
	free(pbuf);
	if (f)
		netfn__sealed__free_unpacked(f, NULL);
	return ret;
}

uint64_t nf_counter_next(uint64_t *last)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	/* Wall-clock based so a restarted agent starts above what it sent before. */
	*last = now > *last ? now : *last + 1;
	return *last;
}
