// SPDX-License-Identifier: Apache-2.0
/* Unit tests for sealed frames: round trip, tampering, wrong keys, counters, tokens. */
#include "proto/seal.h"
#include "proto/token.h"
#include "tests/check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void test_roundtrip_and_tamper(void)
{
	struct nf_identity a, b, c;
	struct nf_channel ab, ba, cb;
	uint8_t *frame = NULL, *payload = NULL, pk[NF_KEY_LEN];
	size_t flen, plen;
	uint64_t counter, echo;
	const char msg[] = "hello controller";

	CHECK(nf_identity_generate(&a) == 0 && nf_identity_generate(&b) == 0);
	CHECK(nf_identity_generate(&c) == 0);
	CHECK(nf_channel_init(&ab, &a, b.pk) == 0 && nf_channel_init(&ba, &b, a.pk) == 0);
	CHECK(nf_channel_init(&cb, &c, b.pk) == 0);

	CHECK(nf_seal(&ab, 7, 3, (const uint8_t *)msg, sizeof(msg), &frame, &flen) == 0);
	CHECK(nf_sealed_peek_sender(frame, flen, pk) == 0 && memcmp(pk, a.pk, NF_KEY_LEN) == 0);
	CHECK(nf_open(&ba, frame, flen, &counter, &echo, &payload, &plen) == 0);
	CHECK(counter == 7 && echo == 3 && plen == sizeof(msg) && memcmp(payload, msg, plen) == 0);
	free(payload);
	payload = NULL;

	/* Every single flipped byte of the frame is detected. */
	int undetected = 0;
	for (size_t i = 0; i < flen; i++) {
		frame[i] ^= 0x01;
		if (nf_open(&ba, frame, flen, &counter, &echo, &payload, &plen) == 0) {
			undetected++;
			free(payload);
			payload = NULL;
		}
		frame[i] ^= 0x01;
	}
	CHECK(undetected == 0);
	/* Truncated frames are refused. */
	CHECK(nf_open(&ba, frame, flen - 1, &counter, &echo, &payload, &plen) == -EBADMSG);
	CHECK(nf_open(&ba, frame, 3, &counter, &echo, &payload, &plen) == -EBADMSG);
	free(frame);

	/* A frame from c, who claims to be nobody in particular, fails on the a<->b channel. */
	CHECK(nf_seal(&cb, 8, 0, (const uint8_t *)msg, sizeof(msg), &frame, &flen) == 0);
	CHECK(nf_open(&ba, frame, flen, &counter, &echo, &payload, &plen) == -EBADMSG);
	free(frame);
	CHECK(nf_sealed_peek_sender((const uint8_t *)"garbage", 7, pk) == -EBADMSG);

	/* A low-order peer key is refused. */
	uint8_t zero[NF_KEY_LEN] = {0};
	struct nf_channel bad;
	CHECK(nf_channel_init(&bad, &a, zero) == -EINVAL);

	nf_identity_wipe(&a);
	nf_identity_wipe(&b);
	nf_identity_wipe(&c);
	nf_channel_wipe(&ab);
	nf_channel_wipe(&ba);
	nf_channel_wipe(&cb);
}

static void test_counter(void)
{
	uint64_t last = 0, prev;

	prev = nf_counter_next(&last);
	for (int i = 0; i < 1000; i++) {
		uint64_t c = nf_counter_next(&last);
		CHECK(c > prev);
		prev = c;
	}
	/* A counter ahead of the clock still advances by one. */
	last = UINT64_MAX - 10;
	CHECK(nf_counter_next(&last) == UINT64_MAX - 9);
}

static void test_tokens(void)
{
	struct nf_join_token t = {.n_urls = 2}, u;
	char *s = NULL, api[NF_TOKEN_STRLEN], id[17];
	uint8_t h1[NF_HASH_LEN], h2[NF_HASH_LEN];

	strcpy(t.urls[0], "tcp://192.0.2.1:7100");
	strcpy(t.urls[1], "tcp://[2001:db8::1]:7100");
	memset(t.controller_pk, 0xab, sizeof(t.controller_pk));
	memset(t.secret, 0x5a, sizeof(t.secret));
	CHECK(nf_join_token_encode(&t, &s) == 0 && strncmp(s, "nfj1.", 5) == 0);
	CHECK(nf_join_token_decode(s, &u) == 0);
	CHECK(u.n_urls == 2 && strcmp(u.urls[1], t.urls[1]) == 0);
	CHECK(memcmp(u.secret, t.secret, sizeof(t.secret)) == 0);
	/* Whitespace around a token read from a file is fine; inside it is not. */
	char padded[NF_TOKEN_STRLEN];
	snprintf(padded, sizeof(padded), "  %s\n", s);
	CHECK(nf_join_token_decode(padded, &u) == 0);
	s[10] = s[10] == 'A' ? 'B' : 'A';
	char broken[NF_TOKEN_STRLEN];
	snprintf(broken, sizeof(broken), "%.*s %s", 8, s, s + 8);
	CHECK(nf_join_token_decode(broken, &u) == -EINVAL);
	CHECK(nf_join_token_decode("nfj1.", &u) == -EINVAL);
	CHECK(nf_join_token_decode("nfa1.AAAA", &u) == -EINVAL);
	CHECK(nf_join_token_decode("", &u) == -EINVAL);
	free(s);

	CHECK(nf_api_token_new(api, sizeof(api), h1) == 0 && strncmp(api, "nfa1.", 5) == 0);
	CHECK(nf_api_token_hash(api, h2) == 0 && memcmp(h1, h2, NF_HASH_LEN) == 0);
	api[8] = api[8] == 'x' ? 'y' : 'x';
	CHECK(nf_api_token_hash(api, h2) == 0 && memcmp(h1, h2, NF_HASH_LEN) != 0);
	CHECK(nf_api_token_hash("nfa1.short", h2) == -EINVAL);
	CHECK(nf_api_token_hash("Bearer x", h2) == -EINVAL);
	nf_hash_id(h1, id, sizeof(id));
	CHECK(strlen(id) == 16);

	uint8_t key[32], back[32];
	char b64[45];
	memset(key, 0x11, sizeof(key));
	nf_key_to_base64(key, b64, sizeof(b64));
	CHECK(strlen(b64) == 44 && nf_key_from_base64(b64, back) == 0);
	CHECK(memcmp(key, back, 32) == 0);
	CHECK(nf_key_from_base64("short", back) == -EINVAL);
}

int main(void)
{
	CHECK(nf_crypto_init() == 0);
	test_roundtrip_and_tamper();
	test_counter();
	test_tokens();
	return check_result();
}
