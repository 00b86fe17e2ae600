// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the client's key pair, wg-quick file and QR code: public
 * keys match what `wg pubkey` printed for fixed private keys (computed once
 * with wireguard-tools and written here, so the test runs nothing), keys are
 * clamped as `wg genkey` clamps them, two made keys differ, the file reads
 * line by line as wg-quick expects (with a placeholder when no private key
 * is known, without DNS when no server is placed), a value with a line
 * break is refused, and the QR code is square, framed by its quiet zone.
 */
#include "controller/netfnctl/wgquick.h"
#include "tests/check.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Private keys in base64 and the public key `wg pubkey` printed for each. */
static const struct {
	const char *priv, *pub;
} vectors[] = {
    /* Bytes 0..31, unclamped: wg pubkey clamps, so must we. */
    {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
     "j0DFrbaPJWJK5bIU6nZ6bslNgp09e14a0bpvPiE4KF8="},
    /* The same, clamped. */
    {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHl8=",
     "j0DFrbaPJWJK5bIU6nZ6bslNgp09e14a0bpvPiE4KF8="},
    {"//////////////////////////////////////////8=",
     "hHwNLDdSNPNl5mCVUYejc1oPdhPRYJ06ak2MU66qWiI="},
};

static void from_b64(const char *s, uint8_t out[WGQUICK_KEY_LEN])
{
	size_t n = 0;

	CHECK(sodium_base642bin(out, WGQUICK_KEY_LEN, s, strlen(s), NULL, &n, NULL,
	                        sodium_base64_VARIANT_ORIGINAL) == 0 &&
	      n == WGQUICK_KEY_LEN);
}

static void test_keys(void)
{
	uint8_t priv[WGQUICK_KEY_LEN], pub[WGQUICK_KEY_LEN], priv2[WGQUICK_KEY_LEN];
	uint8_t pub2[WGQUICK_KEY_LEN];
	char b64[WGQUICK_KEY_B64];

	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		from_b64(vectors[i].priv, priv);
		CHECK(wgquick_pubkey(priv, pub) == 0);
		wgquick_key_b64(pub, b64);
		CHECK(strcmp(b64, vectors[i].pub) == 0);
	}
	/* Clamping, as wg genkey does it. */
	memset(priv, 0xff, sizeof(priv));
	wgquick_clamp(priv);
	CHECK(priv[0] == 0xf8 && priv[31] == 0x7f && priv[15] == 0xff);
	memset(priv, 0, sizeof(priv));
	wgquick_clamp(priv);
	CHECK(priv[0] == 0 && priv[31] == 0x40);

	/* Made keys: clamped, their public key derived, never twice the same. */
	CHECK(wgquick_keypair(priv, pub) == 0 && wgquick_keypair(priv2, pub2) == 0);
	CHECK((priv[0] & 7) == 0 && (priv[31] & 0xc0) == 0x40);
	CHECK(memcmp(priv, priv2, sizeof(priv)) != 0 && memcmp(pub, pub2, sizeof(pub)) != 0);
	CHECK(wgquick_pubkey(priv, pub2) == 0 && memcmp(pub, pub2, sizeof(pub)) == 0);
	wgquick_key_b64(priv, b64);
	CHECK(strlen(b64) == 44 && b64[43] == '=');
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(priv2, sizeof(priv2));
}

static void test_format(void)
{
	char *dns[] = {"10.9.0.1", "10.9.0.2"};
	struct wgquick_config c = {
	    .name = "laptop",
	    .network = "prod",
	    .private_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHl8=",
	    .address = "10.9.0.3",
	    .n_dns = 2,
	    .dns = dns,
	    .dns_zone = "prod.netfn.internal",
	    .mtu = 1420,
	    .peer_key = "hHwNLDdSNPNl5mCVUYejc1oPdhPRYJ06ak2MU66qWiI=",
	    .endpoint = "192.0.2.2:51820",
	    .allowed_ips = "10.9.0.0/24",
	};
	static const char want[] = "# netfn external client laptop of network prod\n"
	                           "[Interface]\n"
	                           "PrivateKey = AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHl8=\n"
	                           "Address = 10.9.0.3/32\n"
	                           "DNS = 10.9.0.1, 10.9.0.2, prod.netfn.internal\n"
	                           "MTU = 1420\n"
	                           "\n"
	                           "[Peer]\n"
	                           "PublicKey = hHwNLDdSNPNl5mCVUYejc1oPdhPRYJ06ak2MU66qWiI=\n"
	                           "Endpoint = 192.0.2.2:51820\n"
	                           "AllowedIPs = 10.9.0.0/24\n"
	                           "PersistentKeepalive = 25\n";
	char buf[WGQUICK_TEXT_MAX];

	CHECK(wgquick_format(&c, buf, sizeof(buf)) == 0 && strcmp(buf, want) == 0);

	/* No private key: a placeholder; no DNS server yet: no DNS line. */
	c.private_key = NULL;
	c.n_dns = 0;
	CHECK(wgquick_format(&c, buf, sizeof(buf)) == 0);
	CHECK(strstr(buf, "\n# PrivateKey = <") != NULL && !strstr(buf, "\nPrivateKey"));
	CHECK(!strstr(buf, "\nDNS =") && strstr(buf, "\n# DNS: ") != NULL);

	/* A line break in any value could add lines: refused. */
	c.endpoint = "192.0.2.2:51820\nPostUp = evil";
	CHECK(wgquick_format(&c, buf, sizeof(buf)) == -EINVAL);
	c.endpoint = "192.0.2.2:51820";
	dns[1] = "10.9.0.2\r";
	c.n_dns = 2;
	CHECK(wgquick_format(&c, buf, sizeof(buf)) == -EINVAL);
	dns[1] = "10.9.0.2";

	/* Too small a buffer: an error, and nothing half-written left in it. */
	CHECK(wgquick_format(&c, buf, 100) == -ENOSPC && buf[0] == '\0');
}

/* Counts the lines of text and checks each has width characters (UTF-8 aware). */
static size_t lines(const char *text, size_t *width)
{
	size_t n = 0, w = 0;

	*width = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '\n') {
			if (n == 0)
				*width = w;
			CHECK(w == *width);
			n++;
			w = 0;
		} else if ((*p & 0xc0) != 0x80) {
			w++;
		}
	}
	return n;
}

static void test_qr(void)
{
	char *out = NULL, big[8000];
	size_t len = 0, width;
	FILE *f = open_memstream(&out, &len);

	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(wgquick_qr("[Interface]\nAddress = 10.9.0.3/32\n", f) == 0);
	fclose(f);
	/* Version 2 or 3 (25 or 29 modules) plus 4 on each side, two rows a line. */
	CHECK(lines(out, &width) == (width + 1) / 2);
	CHECK(width == 33 || width == 37);
	/* The quiet zone: the first line is all light. */
	CHECK(strncmp(out, "\u2588\u2588\u2588\u2588", 12) == 0);
	free(out);

	/* Past the largest code: refused. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(wgquick_qr(big, stdout) == -EMSGSIZE);
}

int main(void)
{
	CHECK(sodium_init() >= 0);
	test_keys();
	test_format();
	test_qr();
	return check_result();
}
