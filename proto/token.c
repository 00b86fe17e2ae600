// SPDX-License-Identifier: Apache-2.0
/*
 * Token strings. Join tokens pack a netfn.JoinToken (where to find the
 * controller, how to recognise it, and the secret) so one string is all an
 * operator hands to cloud-init. Only BLAKE2b hashes of secrets are stored,
 * so a leaked store does not leak usable tokens.
 */
#include "proto/token.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/netfn.pb-c.h"

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING

int nf_join_token_encode(const struct nf_join_token *t, char **out)
{
	Netfn__JoinToken m = NETFN__JOIN_TOKEN__INIT;
	char *urls[NF_TOKEN_MAX_URLS];
	uint8_t *buf = NULL;
	char *s = NULL;
	size_t len, b64len;
	int ret = -ENOMEM;

	for (size_t i = 0; i < t->n_urls && i < NF_TOKEN_MAX_URLS; i++)
		urls[i] = (char *)t->urls[i];
	m.n_controller_urls = t->n_urls < NF_TOKEN_MAX_URLS ? t->n_urls : NF_TOKEN_MAX_URLS;
	m.controller_urls = urls;
	m.controller_pk.data = (uint8_t *)t->controller_pk;
	m.controller_pk.len = sizeof(t->controller_pk);
	m.secret.data = (uint8_t *)t->secret;
	m.secret.len = sizeof(t->secret);
	len = netfn__join_token__get_packed_size(&m);
	buf = malloc(len);
	if (!buf)
		goto cleanup;
	netfn__join_token__pack(&m, buf);
	b64len = sodium_base64_ENCODED_LEN(len, B64URL);
	s = malloc(strlen(NF_JOIN_PREFIX) + b64len);
	if (!s)
		goto cleanup;
	strcpy(s, NF_JOIN_PREFIX);
	sodium_bin2base64(s + strlen(NF_JOIN_PREFIX), b64len, buf, len, B64URL);
	*out = s;
	s = NULL;
	ret = 0;
cleanup:
	if (buf)
		sodium_memzero(buf, len);
	free(buf);
	free(s);
	return ret;
}

/* Copies s without surrounding whitespace into buf; false when too long or empty. */
static bool trimmed(const char *s, char *buf, size_t len)
{
	size_t n;

	while (*s && isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (!n || n >= len)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return true;
}

int nf_join_token_decode(const char *s, struct nf_join_token *out)
{
	char text[NF_TOKEN_STRLEN];
	uint8_t bin[NF_TOKEN_STRLEN];
	Netfn__JoinToken *m = NULL;
	size_t len;
	int ret = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (!trimmed(s, text, sizeof(text)) || strncmp(text, NF_JOIN_PREFIX, 5) != 0)
		return -EINVAL;
	if (sodium_base642bin(bin, sizeof(bin), text + 5, strlen(text + 5), NULL, &len, NULL,
	                      B64URL) != 0)
		goto cleanup;
	m = netfn__join_token__unpack(NULL, len, bin);
	if (!m || m->controller_pk.len != 32 || m->secret.len != NF_SECRET_LEN ||
	    m->n_controller_urls == 0 || m->n_controller_urls > NF_TOKEN_MAX_URLS)
		goto cleanup;
	for (size_t i = 0; i < m->n_controller_urls; i++) {
		if (strlen(m->controller_urls[i]) >= NF_TOKEN_URL_MAX ||
		    strncmp(m->controller_urls[i], "tcp://", 6) != 0)
			goto cleanup;
		strcpy(out->urls[i], m->controller_urls[i]);
	}
	out->n_urls = m->n_controller_urls;
	memcpy(out->controller_pk, m->controller_pk.data, 32);
	memcpy(out->secret, m->secret.data, NF_SECRET_LEN);
	ret = 0;
cleanup:
	if (m)
		netfn__join_token__free_unpacked(m, NULL);
	sodium_memzero(bin, sizeof(bin));
	sodium_memzero(text, sizeof(text));
	if (ret)
		sodium_memzero(out, sizeof(*out));
	return ret;
}

void nf_secret_hash(const uint8_t *secret, size_t len, uint8_t hash[NF_HASH_LEN])
{
	crypto_generichash(hash, NF_HASH_LEN, secret, len, NULL, 0);
}

int nf_api_token_new(char *buf, size_t len, uint8_t hash[NF_HASH_LEN])
{
	uint8_t secret[NF_SECRET_LEN];
	size_t need = strlen(NF_API_PREFIX) + sodium_base64_ENCODED_LEN(sizeof(secret), B64URL);

	if (len < need)
		return -ENOSPC;
	randombytes_buf(secret, sizeof(secret));
	strcpy(buf, NF_API_PREFIX);
	sodium_bin2base64(buf + strlen(NF_API_PREFIX), len - strlen(NF_API_PREFIX), secret,
	                  sizeof(secret), B64URL);
	nf_secret_hash(secret, sizeof(secret), hash);
	sodium_memzero(secret, sizeof(secret));
	return 0;
}

int nf_api_token_hash(const char *token, uint8_t hash[NF_HASH_LEN])
{
	uint8_t secret[NF_SECRET_LEN];
	size_t len;

	if (!token || strncmp(token, NF_API_PREFIX, 5) != 0)
		return -EINVAL;
	if (sodium_base642bin(secret, sizeof(secret), token + 5, strlen(token + 5), NULL, &len,
	                      NULL, B64URL) != 0 ||
	    len != sizeof(secret))
		return -EINVAL;
	nf_secret_hash(secret, sizeof(secret), hash);
	sodium_memzero(secret, sizeof(secret));
	return 0;
}

void nf_hash_id(const uint8_t hash[NF_HASH_LEN], char *buf, size_t len)
{
	sodium_bin2hex(buf, len, hash, len >= 17 ? 8 : (len - 1) / 2);
}

void nf_key_to_base64(const uint8_t key[32], char *buf, size_t len)
{
	sodium_bin2base64(buf, len, key, 32, sodium_base64_VARIANT_ORIGINAL);
}

int nf_key_from_base64(const char *s, uint8_t key[32])
{
	size_t len;

	if (!s || strlen(s) != 44)
		return -EINVAL;
	if (sodium_base642bin(key, 32, s, 44, NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) !=
	        0 ||
	    len != 32)
		return -EINVAL;
	return 0;
}
