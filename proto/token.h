/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Join tokens and API tokens as strings. A join token ("nfj1." + base64url of
 * a packed netfn.JoinToken) carries the controller's agent URLs, its public
 * key and a 32-byte secret; an API token is "nfa1." + base64url(32 random
 * bytes). The controller keeps only nf_secret_hash() of either secret.
 */
#ifndef NETFN_PROTO_TOKEN_H
#define NETFN_PROTO_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define NF_SECRET_LEN     32
#define NF_HASH_LEN       32
#define NF_TOKEN_MAX_URLS 4
#define NF_TOKEN_URL_MAX  128
#define NF_JOIN_PREFIX    "nfj1."
#define NF_API_PREFIX     "nfa1."
#define NF_TOKEN_STRLEN   512 /* longest token string accepted, with NUL */

struct nf_join_token {
	size_t n_urls;
	char urls[NF_TOKEN_MAX_URLS][NF_TOKEN_URL_MAX];
	uint8_t controller_pk[32];
	uint8_t secret[NF_SECRET_LEN];
};

/* Encodes a join token; *out is malloc'd. */
int nf_join_token_encode(const struct nf_join_token *t, char **out);

/* Decodes a join token string (surrounding whitespace allowed); -EINVAL if malformed. */
int nf_join_token_decode(const char *s, struct nf_join_token *out);

/* Makes a new API token string into buf (NF_TOKEN_STRLEN) and its secret's hash. */
int nf_api_token_new(char *buf, size_t len, uint8_t hash[NF_HASH_LEN]);

/* Hashes an API token string's secret; -EINVAL if it is not an API token. */
int nf_api_token_hash(const char *token, uint8_t hash[NF_HASH_LEN]);

/* Hash of a secret as stored (BLAKE2b-256). */
void nf_secret_hash(const uint8_t *secret, size_t len, uint8_t hash[NF_HASH_LEN]);

/* Short printable id of a hash (first 8 bytes, hex) into buf (>= 17 bytes). */
void nf_hash_id(const uint8_t hash[NF_HASH_LEN], char *buf, size_t len);

/* base64 (standard, padded, as WireGuard prints keys) of a 32-byte key into buf (>= 45). */
void nf_key_to_base64(const uint8_t key[32], char *buf, size_t len);

/* Parses a base64 32-byte key; -EINVAL otherwise. */
int nf_key_from_base64(const char *s, uint8_t key[32]);

#endif
