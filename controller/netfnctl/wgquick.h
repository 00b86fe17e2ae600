/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What `netfnctl client create` hands a machine that runs no agent: a
 * WireGuard key pair made on the caller's machine (the private key never
 * leaves it), the standard wg-quick file for the client, and that file as a
 * terminal QR code for a phone's WireGuard app. Pure apart from the
 * randomness of the key: no RPC, so the unit test checks keys against
 * known vectors and the file line by line.
 */
#ifndef NETFN_NETFNCTL_WGQUICK_H
#define NETFN_NETFNCTL_WGQUICK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define WGQUICK_KEY_LEN 32
#define WGQUICK_KEY_B64 45 /* 44 characters of base64 and the NUL */
/* A client's file: a few hundred bytes; this bounds the DNS list and names too. */
#define WGQUICK_TEXT_MAX  4096
#define WGQUICK_KEEPALIVE 25 /* seconds: keeps the laptop's NAT mapping open */

/* Clamps a Curve25519 private key in place, as WireGuard and `wg genkey` do. */
void wgquick_clamp(uint8_t key[WGQUICK_KEY_LEN]);

/* The public key of a private key (clamped first, so any 32 bytes will do). */
int wgquick_pubkey(const uint8_t priv[WGQUICK_KEY_LEN], uint8_t pub[WGQUICK_KEY_LEN]);

/* Makes a clamped private key from the system's randomness, and its public key. */
int wgquick_keypair(uint8_t priv[WGQUICK_KEY_LEN], uint8_t pub[WGQUICK_KEY_LEN]);

/* A key in base64, as wg(8) prints it. */
void wgquick_key_b64(const uint8_t key[WGQUICK_KEY_LEN], char out[WGQUICK_KEY_B64]);

/* What a client's file says; every string as the controller gave it. */
struct wgquick_config {
	const char *name; /* the client and its network, for the heading comment */
	const char *network;
	const char *private_key; /* base64; NULL: a commented placeholder to fill in */
	const char *address;     /* the client's overlay address (a /32) */
	size_t n_dns;
	char *const *dns;     /* overlay DNS server addresses */
	const char *dns_zone; /* a search domain: wg-quick takes a non-address DNS entry as one */
	uint32_t mtu;         /* 0: wg-quick's default */
	const char *peer_key; /* the gateway's public key */
	const char *endpoint; /* "host:port"; "" none known yet */
	const char *allowed_ips; /* the network's range */
};

/*
 * Writes c as a wg-quick file into buf. -EINVAL when a value holds a line
 * break or control character (it could add lines to the file), -ENOSPC when
 * the text does not fit.
 */
int wgquick_format(const struct wgquick_config *c, char *buf, size_t len);

/*
 * Writes text as a QR code to f: two modules per character with Unicode half
 * blocks, light modules drawn, so it reads on a dark terminal, within a
 * quiet zone. -EMSGSIZE when text is too long for a QR code, -EIO when f
 * fails.
 */
int wgquick_qr(const char *text, FILE *f);

#endif
