// SPDX-License-Identifier: Apache-2.0
/*
 * vpn-agent-try: a manual driver for the vpn agent half, for trying it by
 * hand or from a script in network namespaces (needs root). It builds a
 * vpn_config from its arguments, applies or observes it, and exits, which is
 * also how one checks that the data plane outlives the agent.
 *
 *   vpn-agent-try genkey
 *   vpn-agent-try [-v] IFNAME PRIVKEY apply ADDR/LEN PORT [mtu N] [forward]
 *                 [peer PUBKEY ENDPOINT|- IP/LEN[,IP/LEN...]]... [route PREFIX]...
 *   vpn-agent-try [-v] IFNAME PRIVKEY observe|teardown
 *
 * Keys are base64, as wg(8) prints them.
 */
#include "netfns/vpn/vpn_agent.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "netfns/common/log.h"

static int usage(void)
{
	fprintf(stderr, "usage: vpn-agent-try genkey\n"
	                "       vpn-agent-try [-v] IFNAME PRIVKEY apply ADDR/LEN PORT [mtu N] "
	                "[forward] [peer PUBKEY ENDPOINT|- IP/LEN[,...]]... [route PREFIX]...\n"
	                "       vpn-agent-try [-v] IFNAME PRIVKEY observe|teardown\n");
	return 2;
}

static bool key_parse(const char *s, uint8_t key[VPN_KEY_LEN])
{
	size_t n = 0;

	return sodium_base642bin(key, VPN_KEY_LEN, s, strlen(s), NULL, &n, NULL,
	                         sodium_base64_VARIANT_ORIGINAL) == 0 &&
	       n == VPN_KEY_LEN;
}

static void key_print(const char *label, const uint8_t key[VPN_KEY_LEN])
{
	char b64[sodium_base64_ENCODED_LEN(VPN_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(b64, sizeof(b64), key, VPN_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
	printf("%s %s\n", label, b64);
}

static int genkey(void)
{
	uint8_t priv[VPN_KEY_LEN], pub[VPN_KEY_LEN];

	randombytes_buf(priv, sizeof(priv));
	priv[0] &= 248; /* Curve25519 clamping, as wg genkey stores it */
	priv[31] = (priv[31] & 127) | 64;
	if (crypto_scalarmult_curve25519_base(pub, priv) != 0)
		return 1;
	key_print("private", priv);
	key_print("public", pub);
	sodium_memzero(priv, sizeof(priv));
	return 0;
}

static int add_peer(struct vpn_config *cfg, char **argv)
{
	struct vpn_peer *p;
	char *list = NULL, *tok, *save = NULL;

	p = realloc(cfg->peers, (cfg->n_peers + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	cfg->peers = p;
	p = &cfg->peers[cfg->n_peers++];
	memset(p, 0, sizeof(*p));
	if (!key_parse(argv[0], p->public_key))
		return -EINVAL;
	snprintf(p->name, sizeof(p->name), "peer%zu", cfg->n_peers);
	if (strcmp(argv[1], "-")) {
		snprintf(p->endpoint, sizeof(p->endpoint), "%s", argv[1]);
		p->keepalive = VPN_KEEPALIVE;
	}
	list = strdup(argv[2]);
	if (!list)
		return -ENOMEM;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct nf_prefix *a = realloc(p->allowed, (p->n_allowed + 1) * sizeof(*a));

		if (!a)
			break;
		p->allowed = a;
		if (!nf_prefix_parse(tok, false, &p->allowed[p->n_allowed++])) {
			free(list);
			return -EINVAL;
		}
	}
	free(list);
	return 0;
}

static int parse_apply(int argc, char **argv, struct vpn_config *cfg)
{
	int i = 2;

	if (argc < 2 || !nf_prefix_parse(argv[0], false, &cfg->address))
		return -EINVAL;
	cfg->listen_port = (uint16_t)atoi(argv[1]);
	cfg->revision = 1;
	while (i < argc) {
		if (!strcmp(argv[i], "mtu") && i + 1 < argc) {
			cfg->mtu = (uint32_t)atoi(argv[i + 1]);
			i += 2;
		} else if (!strcmp(argv[i], "forward")) {
			cfg->forward = true;
			i++;
		} else if (!strcmp(argv[i], "peer") && i + 3 < argc) {
			if (add_peer(cfg, &argv[i + 1]) < 0)
				return -EINVAL;
			i += 4;
		} else if (!strcmp(argv[i], "route") && i + 1 < argc) {
			struct nf_prefix *r =
			    realloc(cfg->routes, (cfg->n_routes + 1) * sizeof(*r));

			if (!r)
				return -ENOMEM;
			cfg->routes = r;
			if (!nf_prefix_parse(argv[i + 1], false, &cfg->routes[cfg->n_routes++]))
				return -EINVAL;
			i += 2;
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

static int observe(struct vpn_agent *va)
{
	struct vpn_peer_stat *st = NULL;
	size_t n = 0;
	int ret = vpn_agent_observe(va, &st, &n);

	for (size_t i = 0; ret == 0 && i < n; i++) {
		key_print("peer", st[i].public_key);
		printf("  endpoint %s handshake %" PRId64 " rx %" PRIu64 " tx %" PRIu64 "\n",
		       st[i].endpoint[0] ? st[i].endpoint : "-", st[i].last_handshake,
		       st[i].rx_bytes, st[i].tx_bytes);
	}
	free(st);
	return ret;
}

int main(int argc, char **argv)
{
	struct vpn_config cfg = {0};
	struct vpn_agent *va = NULL;
	uint8_t priv[VPN_KEY_LEN];
	char err[512] = "";
	int ret = 1, r;

	if (sodium_init() < 0)
		return 1;
	nf_log_set_ident("vpn-agent-try");
	if (argc == 2 && !strcmp(argv[1], "genkey"))
		return genkey();
	if (argc > 1 && !strcmp(argv[1], "-v")) {
		nf_log_set_level(NF_LOG_DEBUG);
		argc--;
		argv++;
	}
	if (argc < 4 || !key_parse(argv[2], priv))
		return usage();
	r = vpn_agent_open(argv[1], priv, &va);
	sodium_memzero(priv, sizeof(priv));
	if (r < 0) {
		fprintf(stderr, "open %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	if (!strcmp(argv[3], "apply")) {
		if (parse_apply(argc - 4, argv + 4, &cfg) < 0) {
			ret = usage();
			goto cleanup;
		}
		r = vpn_agent_apply(va, &cfg, err, sizeof(err));
		if (r < 0)
			fprintf(stderr, "apply: %s\n", err);
	} else if (!strcmp(argv[3], "observe")) {
		r = observe(va);
		if (r < 0)
			fprintf(stderr, "observe: %s\n", strerror(-r));
	} else if (!strcmp(argv[3], "teardown")) {
		r = vpn_agent_teardown(va);
		if (r < 0)
			fprintf(stderr, "teardown: %s\n", strerror(-r));
	} else {
		ret = usage();
		goto cleanup;
	}
	ret = r < 0 ? 1 : 0;
cleanup:
	for (size_t i = 0; i < cfg.n_peers; i++)
		free(cfg.peers[i].allowed);
	free(cfg.peers);
	free(cfg.routes);
	vpn_agent_close(va);
	return ret;
}
