// SPDX-License-Identifier: Apache-2.0
/*
 * The agent half of the vpn function: brings one WireGuard interface to a
 * vpn_config and reads its peer statistics back. Every step reads the
 * kernel's state first and changes only what differs: WireGuard through one
 * set call carrying the diff (none when nothing changed), then address, MTU,
 * link state, netfn's own routes and forwarding over rtnetlink and procfs.
 * Nothing is torn down to be rebuilt, so re-applying after an agent restart
 * does not drop a packet.
 */
#include "netfns/vpn/vpn_agent.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "netfns/common/log.h"
#include "netfns/kernel/rtnl.h"
#include "netfns/kernel/wg.h"

struct vpn_agent {
	char ifname[IFNAMSIZ];
	uint8_t private_key[VPN_KEY_LEN]; /* wiped on close, never logged */
	struct rtnl *rt;
	struct wg_backend *wg; /* chosen on first use: the choice may create the link */
	uint64_t n_sets;       /* WireGuard set calls made, for the logs */
};

/* Writes "<what>: <reason>[: <kernel's text>]" into err and returns ret. */
static int vfail(char *err, size_t errlen, int ret, const char *detail, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

static int vfail(char *err, size_t errlen, int ret, const char *detail, const char *fmt, va_list ap)
{
	char what[256];

	vsnprintf(what, sizeof(what), fmt, ap);
	if (err && errlen)
		snprintf(err, errlen, "%s: %s%s%s", what, strerror(-ret),
		         detail && *detail ? ": " : "", detail ? detail : "");
	return ret;
}

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ret = vfail(err, errlen, ret, NULL, fmt, ap);
	va_end(ap);
	return ret;
}

/* As fail, for an rtnetlink request: adds the kernel's extended-ack text. */
static int fail_rt(struct vpn_agent *va, char *err, size_t errlen, int ret, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail_rt(struct vpn_agent *va, char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ret = vfail(err, errlen, ret, rtnl_last_error(va->rt), fmt, ap);
	va_end(ap);
	return ret;
}

/* Names a peer in errors by its config name and public key (public keys may be shown). */
static const char *peer_label(const struct vpn_peer *p, char *buf, size_t size)
{
	char b64[sodium_base64_ENCODED_LEN(VPN_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(b64, sizeof(b64), p->public_key, VPN_KEY_LEN,
	                  sodium_base64_VARIANT_ORIGINAL);
	snprintf(buf, size, "peer %s (%s)", p->name[0] ? p->name : "?", b64);
	return buf;
}

static int addr_bytes(int family)
{
	return family == AF_INET ? 4 : 16;
}

static bool same_prefix(const struct nf_prefix *a, const struct nf_prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       !memcmp(a->addr.bytes, b->addr.bytes, (size_t)addr_bytes(a->family));
}

int vpn_agent_open(const char *ifname, const uint8_t private_key[VPN_KEY_LEN],
                   struct vpn_agent **out)
{
	struct vpn_agent *va = NULL;
	int ret;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/'))
		return -EINVAL;
	va = calloc(1, sizeof(*va));
	if (!va)
		return -ENOMEM;
	snprintf(va->ifname, sizeof(va->ifname), "%s", ifname);
	memcpy(va->private_key, private_key, VPN_KEY_LEN);
	ret = rtnl_open(&va->rt);
	if (ret < 0)
		goto cleanup;
	*out = va;
	va = NULL;
cleanup:
	vpn_agent_close(va);
	return ret;
}

void vpn_agent_close(struct vpn_agent *va)
{
	if (!va)
		return;
	wg_backend_close(va->wg);
	rtnl_close(va->rt);
	sodium_memzero(va->private_key, sizeof(va->private_key));
	free(va);
}

static int add_peer(struct wg_device *dev, const struct vpn_peer *vp, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct wg_peer *p;
	char label[160];
	int ret;

	p = wg_device_add_peer(dev);
	if (!p)
		return -ENOMEM;
	memcpy(p->public_key, vp->public_key, VPN_KEY_LEN);
	/* Always set, so that a keepalive turned off is turned off. */
	p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_KEEPALIVE;
	p->keepalive = vp->keepalive;
	if (vp->endpoint[0]) {
		if (!nf_endpoint_parse(vp->endpoint, &ss))
			return fail(err, errlen, -EINVAL, "%s: endpoint \"%s\"",
			            peer_label(vp, label, sizeof(label)), vp->endpoint);
		if (ss.ss_family == AF_INET)
			memcpy(&p->endpoint.addr4, &ss, sizeof(p->endpoint.addr4));
		else
			memcpy(&p->endpoint.addr6, &ss, sizeof(p->endpoint.addr6));
	}
	for (size_t i = 0; i < vp->n_allowed; i++) {
		const struct nf_prefix *a = &vp->allowed[i];
		struct wg_allowedip aip = {.family = a->family, .cidr = a->len};
		char text[NF_PREFIX_STRLEN];

		if ((a->family != AF_INET && a->family != AF_INET6) ||
		    a->len > addr_bytes(a->family) * 8)
			return fail(err, errlen, -EINVAL, "%s: allowed IP %s",
			            peer_label(vp, label, sizeof(label)),
			            nf_prefix_format(a, text, sizeof(text)) ? text : "?");
		memcpy(aip.ip.bytes, a->addr.bytes, sizeof(aip.ip.bytes));
		ret = wg_peer_add_allowedip(p, &aip);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* The WireGuard device cfg describes, as a wanted state for wg_device_diff. */
static int build_wanted(struct vpn_agent *va, const struct vpn_config *cfg, struct wg_device **out,
                        char *err, size_t errlen)
{
	struct wg_device *dev = NULL;
	char label[160];
	int ret = 0;

	dev = wg_new_device(va->ifname);
	if (!dev)
		return -ENOMEM;
	dev->flags = WG_DEV_HAS_PRIVATE_KEY;
	memcpy(dev->private_key, va->private_key, WG_KEY_LEN);
	if (cfg->listen_port) {
		dev->flags |= WG_DEV_HAS_LISTEN_PORT;
		dev->listen_port = cfg->listen_port;
	}
	for (size_t i = 0; i < cfg->n_peers; i++) {
		for (size_t j = 0; j < i; j++) {
			if (!memcmp(cfg->peers[j].public_key, cfg->peers[i].public_key,
			            VPN_KEY_LEN)) {
				ret = fail(err, errlen, -EINVAL, "%s: public key used twice",
				           peer_label(&cfg->peers[i], label, sizeof(label)));
				goto cleanup;
			}
		}
		ret = add_peer(dev, &cfg->peers[i], err, errlen);
		if (ret < 0)
			goto cleanup;
	}
	*out = dev;
	dev = NULL;
cleanup:
	wg_free_device(dev);
	return ret;
}

static int open_backend(struct vpn_agent *va)
{
	int ret;

	if (va->wg)
		return 0;
	ret = wg_backend_open(va->rt, va->ifname, &va->wg);
	if (ret == 0)
		nf_info("vpn %s: WireGuard backend %s", va->ifname, va->wg->ops->name);
	return ret;
}

static int apply_wireguard(struct vpn_agent *va, const struct vpn_config *cfg, char *err,
                           size_t errlen)
{
	struct wg_device *running = NULL, *wanted = NULL, *diff = NULL;
	size_t removed = 0;
	int ret;

	/* The config is checked in full before anything is created. */
	ret = build_wanted(va, cfg, &wanted, err, errlen);
	if (ret < 0)
		goto cleanup;
	ret = open_backend(va);
	if (ret < 0) {
		fail(err, errlen, ret, "WireGuard backend for %s", va->ifname);
		goto cleanup;
	}
	ret = va->wg->ops->ensure_link(va->wg, va->ifname);
	if (ret < 0) {
		fail(err, errlen, ret, "interface %s (%s)", va->ifname, va->wg->ops->name);
		goto cleanup;
	}
	ret = va->wg->ops->get_device(va->wg, va->ifname, &running);
	if (ret < 0) {
		fail(err, errlen, ret, "reading WireGuard device %s", va->ifname);
		goto cleanup;
	}
	ret = wg_device_diff(running, wanted, &diff);
	if (ret < 0) {
		fail(err, errlen, ret, "comparing WireGuard device %s", va->ifname);
		goto cleanup;
	}
	if (!diff) {
		nf_debug("vpn %s rev %" PRIu64 ": WireGuard unchanged, no set call", va->ifname,
		         cfg->revision);
		goto cleanup;
	}
	for (size_t i = 0; i < diff->n_peers; i++)
		removed += !!(diff->peers[i].flags & WG_PEER_REMOVE_ME);
	ret = va->wg->ops->set_device(va->wg, diff);
	if (ret < 0) {
		fail(err, errlen, ret, "setting WireGuard device %s (%zu peers changed)",
		     va->ifname, diff->n_peers);
		goto cleanup;
	}
	va->n_sets++;
	nf_info("vpn %s rev %" PRIu64 ": WireGuard set #%" PRIu64
	        ": %zu peers added or changed, %zu removed%s%s",
	        va->ifname, cfg->revision, va->n_sets, diff->n_peers - removed, removed,
	        diff->flags & WG_DEV_HAS_PRIVATE_KEY ? ", key" : "",
	        diff->flags & WG_DEV_HAS_LISTEN_PORT ? ", port" : "");
cleanup:
	wg_free_device(diff);
	wg_free_device(wanted);
	wg_free_device(running);
	return ret;
}

/* Leaves exactly want on the link; IPv6 link-local addresses belong to the kernel. */
static int apply_address(struct vpn_agent *va, uint32_t ifindex, const struct nf_prefix *want,
                         char *err, size_t errlen)
{
	struct nf_prefix *have = NULL;
	char text[NF_PREFIX_STRLEN];
	bool present = false;
	size_t n = 0;
	int ret;

	/*
	 * Others go first, then ours is added: removing the last IPv4 address
	 * flushes the link's routes, which apply_routes puts back afterwards,
	 * while adding first would make ours a secondary that the kernel drops
	 * with the old primary unless promote_secondaries is set.
	 */
	ret = rtnl_list_addrs(va->rt, ifindex, &have, &n);
	if (ret < 0) {
		fail_rt(va, err, errlen, ret, "listing addresses of %s", va->ifname);
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		if (same_prefix(&have[i], want)) {
			present = true;
			continue;
		}
		if (have[i].family == AF_INET6 && have[i].addr.bytes[0] == 0xfe &&
		    (have[i].addr.bytes[1] & 0xc0) == 0x80)
			continue;
		ret = rtnl_del_addr(va->rt, ifindex, &have[i]);
		if (ret < 0 && ret != -EADDRNOTAVAIL) {
			fail_rt(va, err, errlen, ret, "removing address %s from %s",
			        nf_prefix_format(&have[i], text, sizeof(text)), va->ifname);
			goto cleanup;
		}
		nf_info("vpn %s: removed address %s", va->ifname,
		        nf_prefix_format(&have[i], text, sizeof(text)));
	}
	ret = 0;
	if (!present) {
		ret = rtnl_add_addr(va->rt, ifindex, want);
		if (ret == -EEXIST)
			ret = 0;
		if (ret < 0) {
			fail_rt(va, err, errlen, ret, "address %s on %s",
			        nf_prefix_format(want, text, sizeof(text)), va->ifname);
			goto cleanup;
		}
		nf_info("vpn %s: added address %s", va->ifname,
		        nf_prefix_format(want, text, sizeof(text)));
	}
cleanup:
	free(have);
	return ret;
}

/*
 * Deletes netfn's routes the config no longer has, then adds the missing
 * ones. A route that cannot be added does not stop the others: the first
 * error is reported and the rest of the table still converges.
 */
static int apply_routes(struct vpn_agent *va, uint32_t ifindex, const struct vpn_config *cfg,
                        char *err, size_t errlen)
{
	struct nf_prefix *have = NULL;
	char text[NF_PREFIX_STRLEN];
	int ret, first = 0;
	size_t n = 0;

	ret = rtnl_list_routes(va->rt, ifindex, &have, &n);
	if (ret < 0) {
		fail_rt(va, err, errlen, ret, "listing routes of %s", va->ifname);
		goto cleanup;
	}
	for (size_t j = 0; j < n; j++) {
		bool wanted = false;

		for (size_t i = 0; i < cfg->n_routes && !wanted; i++)
			wanted = same_prefix(&have[j], &cfg->routes[i]);
		if (wanted)
			continue;
		ret = rtnl_del_route(va->rt, ifindex, &have[j]);
		if (ret < 0 && ret != -ESRCH) {
			if (!first)
				first = fail_rt(va, err, errlen, ret, "removing route %s via %s",
				                nf_prefix_format(&have[j], text, sizeof(text)),
				                va->ifname);
			continue;
		}
		nf_info("vpn %s: removed route %s", va->ifname,
		        nf_prefix_format(&have[j], text, sizeof(text)));
	}
	for (size_t i = 0; i < cfg->n_routes; i++) {
		bool present = false;

		for (size_t j = 0; j < n && !present; j++)
			present = same_prefix(&have[j], &cfg->routes[i]);
		if (present)
			continue;
		ret = rtnl_add_route(va->rt, ifindex, &cfg->routes[i]);
		if (ret < 0) {
			/* EEXIST: a route to it that netfn did not make; left alone. */
			if (!first)
				first =
				    fail_rt(va, err, errlen, ret, "route %s via %s",
				            nf_prefix_format(&cfg->routes[i], text, sizeof(text)),
				            va->ifname);
			continue;
		}
		nf_info("vpn %s: added route %s", va->ifname,
		        nf_prefix_format(&cfg->routes[i], text, sizeof(text)));
	}
	ret = first;
cleanup:
	free(have);
	return ret;
}

/* Sets /proc/sys/net/<family>/conf/IFNAME/forwarding, writing only when it differs. */
static int apply_forwarding(struct vpn_agent *va, const char *family, bool on, char *err,
                            size_t errlen)
{
	char path[128], cur = 0, want = on ? '1' : '0';
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/forwarding", family, va->ifname);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, -errno, "%s", path);
	if (read(fd, &cur, 1) != 1 || cur != want) {
		if (pwrite(fd, &want, 1, 0) != 1)
			ret = fail(err, errlen, -errno, "%s", path);
		else
			nf_info("vpn %s: %s forwarding %s", va->ifname, family, on ? "on" : "off");
	}
	close(fd);
	return ret;
}

int vpn_agent_apply(struct vpn_agent *va, const struct vpn_config *cfg, char *err, size_t errlen)
{
	struct rtnl_link link;
	char text[NF_PREFIX_STRLEN];
	int ret, first;

	if (err && errlen)
		err[0] = '\0';
	if (cfg->address.family != AF_INET && cfg->address.family != AF_INET6)
		return fail(err, errlen, -EINVAL, "address: missing");
	for (size_t i = 0; i < cfg->n_routes; i++) {
		if (!nf_prefix_is_network(&cfg->routes[i]))
			return fail(err, errlen, -EINVAL, "route %s: host bits set",
			            nf_prefix_format(&cfg->routes[i], text, sizeof(text)));
	}
	ret = apply_wireguard(va, cfg, err, errlen);
	if (ret < 0)
		return ret;
	ret = rtnl_get_link(va->rt, va->ifname, &link);
	if (ret < 0)
		return fail_rt(va, err, errlen, ret, "interface %s", va->ifname);
	if (cfg->mtu && link.mtu != cfg->mtu) {
		ret = rtnl_set_mtu(va->rt, link.index, cfg->mtu);
		if (ret < 0)
			return fail_rt(va, err, errlen, ret, "MTU %" PRIu32 " on %s", cfg->mtu,
			               va->ifname);
	}
	ret = apply_address(va, link.index, &cfg->address, err, errlen);
	if (ret < 0)
		return ret;
	/* Up before routes: the kernel refuses a route through a link that is down. */
	if (!(link.flags & IFF_UP)) {
		ret = rtnl_set_up(va->rt, link.index);
		if (ret < 0)
			return fail_rt(va, err, errlen, ret, "bringing %s up", va->ifname);
	}
	/* A bad route is reported but does not hold back forwarding. */
	first = apply_routes(va, link.index, cfg, err, errlen);
	ret = apply_forwarding(va, "ipv4", cfg->forward, first ? NULL : err, errlen);
	if (ret == 0 && cfg->address.family == AF_INET6)
		ret = apply_forwarding(va, "ipv6", cfg->forward, first ? NULL : err, errlen);
	if (first < 0)
		return first;
	if (ret < 0)
		return ret;
	nf_debug("vpn %s rev %" PRIu64 ": applied, address %s, %zu peers, %zu routes", va->ifname,
	         cfg->revision, nf_prefix_format(&cfg->address, text, sizeof(text)), cfg->n_peers,
	         cfg->n_routes);
	return 0;
}

/* Opens the backend only for an interface that exists, so reading never creates one. */
static int backend_for_existing(struct vpn_agent *va)
{
	struct rtnl_link link;
	int ret;

	if (va->wg)
		return 0;
	ret = rtnl_get_link(va->rt, va->ifname, &link);
	if (ret < 0)
		return ret;
	return open_backend(va);
}

int vpn_agent_observe(struct vpn_agent *va, struct vpn_peer_stat **stats, size_t *n)
{
	struct wg_device *dev = NULL;
	struct vpn_peer_stat *v = NULL;
	int ret;

	*stats = NULL;
	*n = 0;
	ret = backend_for_existing(va);
	if (ret < 0)
		return ret;
	ret = va->wg->ops->get_device(va->wg, va->ifname, &dev);
	if (ret < 0)
		return ret;
	if (dev->n_peers) {
		v = calloc(dev->n_peers, sizeof(*v));
		if (!v) {
			ret = -ENOMEM;
			goto cleanup;
		}
	}
	for (size_t i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *p = &dev->peers[i];
		struct sockaddr_storage ss = {0};

		memcpy(v[i].public_key, p->public_key, VPN_KEY_LEN);
		if (p->endpoint.addr.sa_family == AF_INET)
			memcpy(&ss, &p->endpoint.addr4, sizeof(p->endpoint.addr4));
		else if (p->endpoint.addr.sa_family == AF_INET6)
			memcpy(&ss, &p->endpoint.addr6, sizeof(p->endpoint.addr6));
		if (ss.ss_family && !nf_endpoint_format(&ss, v[i].endpoint, sizeof(v[i].endpoint)))
			v[i].endpoint[0] = '\0';
		v[i].last_handshake = (int64_t)p->last_handshake.tv_sec;
		v[i].rx_bytes = p->rx_bytes;
		v[i].tx_bytes = p->tx_bytes;
	}
	*stats = v;
	*n = dev->n_peers;
	v = NULL;
cleanup:
	free(v);
	wg_free_device(dev);
	return ret;
}

int vpn_agent_teardown(struct vpn_agent *va)
{
	int ret;

	ret = backend_for_existing(va);
	if (ret == -ENODEV)
		return 0; /* nothing to remove */
	if (ret < 0)
		return ret;
	ret = va->wg->ops->delete_link(va->wg, va->ifname);
	if (ret == 0)
		nf_info("vpn %s: interface removed (%s)", va->ifname, va->wg->ops->name);
	return ret;
}
