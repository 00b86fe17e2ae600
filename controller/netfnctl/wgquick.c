// SPDX-License-Identifier: Apache-2.0
/*
 * The client's WireGuard key pair, its wg-quick file and the file as a QR
 * code (see wgquick.h). The private key only ever sits in the caller's
 * fixed-size buffers, which the caller wipes; the QR encoder's copy of the
 * text is wiped here before it is freed.
 */
#include "controller/netfnctl/wgquick.h"

#include <errno.h>
#include <qrencode.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

/* Modules of light border around the code: what the QR standard asks for. */
#define QUIET_ZONE 4

void wgquick_clamp(uint8_t key[WGQUICK_KEY_LEN])
{
	/* RFC 7748: a multiple of the cofactor 8, below 2^255, top bit 254 set. */
	key[0] &= 248;
	key[31] &= 127;
	key[31] |= 64;
}

int wgquick_pubkey(const uint8_t priv[WGQUICK_KEY_LEN], uint8_t pub[WGQUICK_KEY_LEN])
{
	uint8_t k[WGQUICK_KEY_LEN];
	int ret;

	memcpy(k, priv, sizeof(k));
	wgquick_clamp(k);
	ret = crypto_scalarmult_base(pub, k) ? -EINVAL : 0;
	sodium_memzero(k, sizeof(k));
	return ret;
}

int wgquick_keypair(uint8_t priv[WGQUICK_KEY_LEN], uint8_t pub[WGQUICK_KEY_LEN])
{
	if (sodium_init() < 0)
		return -EIO;
	randombytes_buf(priv, WGQUICK_KEY_LEN);
	wgquick_clamp(priv);
	return wgquick_pubkey(priv, pub);
}

void wgquick_key_b64(const uint8_t key[WGQUICK_KEY_LEN], char out[WGQUICK_KEY_B64])
{
	sodium_bin2base64(out, WGQUICK_KEY_B64, key, WGQUICK_KEY_LEN,
	                  sodium_base64_VARIANT_ORIGINAL);
}

/* True when s may go on a line of the file: no line break, no control character. */
static bool one_line(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* Appends to buf at *off; a text that does not fit sets *off past len. */
static void put(char *buf, size_t len, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void put(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	*off = n < 0 ? len : *off + (size_t)n;
}

int wgquick_format(const struct wgquick_config *c, char *buf, size_t len)
{
	const char *fields[] = {c->name,     c->network,  c->private_key, c->address,
	                        c->dns_zone, c->peer_key, c->endpoint,    c->allowed_ips};
	size_t off = 0;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (!one_line(fields[i]))
			return -EINVAL;
	for (size_t i = 0; i < c->n_dns; i++)
		if (!one_line(c->dns[i]))
			return -EINVAL;
	if (!len)
		return -ENOSPC;
	put(buf, len, &off, "# netfn external client %s of network %s\n", c->name, c->network);
	put(buf, len, &off, "[Interface]\n");
	if (c->private_key)
		put(buf, len, &off, "PrivateKey = %s\n", c->private_key);
	else
		put(buf, len, &off,
		    "# PrivateKey = <the private key of the public key you gave>\n");
	put(buf, len, &off, "Address = %s/32\n", c->address);
	if (c->n_dns) {
		/* wg-quick takes the zone, not being an address, as a search domain. */
		put(buf, len, &off, "DNS = ");
		for (size_t i = 0; i < c->n_dns; i++)
			put(buf, len, &off, "%s, ", c->dns[i]);
		put(buf, len, &off, "%s\n", c->dns_zone);
	} else {
		put(buf, len, &off, "# DNS: no overlay DNS server is placed yet\n");
	}
	if (c->mtu)
		put(buf, len, &off, "MTU = %u\n", c->mtu);
	put(buf, len, &off, "\n[Peer]\n");
	put(buf, len, &off, "PublicKey = %s\n", c->peer_key);
	if (c->endpoint && c->endpoint[0])
		put(buf, len, &off, "Endpoint = %s\n", c->endpoint);
	else
		put(buf, len, &off, "# Endpoint: the gateway has none yet\n");
	put(buf, len, &off, "AllowedIPs = %s\n", c->allowed_ips);
	put(buf, len, &off, "PersistentKeepalive = %d\n", WGQUICK_KEEPALIVE);
	if (off >= len) {
		/* Half a file is no use, and it may hold the key. */
		sodium_memzero(buf, len);
		return -ENOSPC;
	}
	return 0;
}

/* Whether the module at (x, y) is dark; outside the code is the light quiet zone. */
static bool dark(const QRcode *qr, int x, int y)
{
	if (x < 0 || y < 0 || x >= qr->width || y >= qr->width)
		return false;
	return qr->data[y * qr->width + x] & 1;
}

int wgquick_qr(const char *text, FILE *f)
{
	/* Light is drawn: top and bottom module light, top only, bottom only, neither. */
	static const char *const cell[4] = {"\u2588", "\u2580", "\u2584", " "};
	QRcode *qr;
	int ret = 0;

	/* Low error correction: the densest code; a screen is not a worn label. */
	qr = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
	if (!qr)
		return errno == ERANGE ? -EMSGSIZE : -ENOMEM;
	for (int y = -QUIET_ZONE; y < qr->width + QUIET_ZONE; y += 2) {
		for (int x = -QUIET_ZONE; x < qr->width + QUIET_ZONE; x++)
			fputs(cell[dark(qr, x, y) * 2 + dark(qr, x, y + 1)], f);
		fputc('\n', f);
	}
	if (fflush(f) || ferror(f))
		ret = -EIO;
	/* The code carries the file, private key and all. */
	sodium_memzero(qr->data, (size_t)qr->width * (size_t)qr->width);
	QRcode_free(qr);
	return ret;
}
