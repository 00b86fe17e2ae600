// SPDX-License-Identifier: Apache-2.0
/*
 * The WireGuard sync as a pure function: running device + wanted device ->
 * the smallest set request, or none. Both peer lists are walked in public-key
 * order; allowed IPs are compared as sets after masking host bits, because
 * both the kernel and wireguard-go store them masked and report them in their
 * own order. Keeping this free of I/O is what lets "apply twice, change
 * nothing" be a unit test.
 */
#include "netfns/kernel/wg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct diff {
	struct wg_device *out;
	const char *name;
};

static int cmp_peer_ptr(const void *a, const void *b)
{
	const struct wg_peer *const *pa = a;
	const struct wg_peer *const *pb = b;

	return memcmp((*pa)->public_key, (*pb)->public_key, WG_KEY_LEN);
}

static int cmp_aip(const void *a, const void *b)
{
	const struct wg_allowedip *x = a;
	const struct wg_allowedip *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->cidr != y->cidr)
		return x->cidr < y->cidr ? -1 : 1;
	return memcmp(x->ip.bytes, y->ip.bytes, 16);
}

/* Clears host bits and everything past the family's address length. */
static void mask_aip(struct wg_allowedip *a)
{
	int n = a->family == AF_INET ? 4 : 16;

	for (int i = 0; i < 16; i++) {
		int bits = (int)a->cidr - i * 8;

		if (i >= n || bits <= 0)
			a->ip.bytes[i] = 0;
		else if (bits < 8)
			a->ip.bytes[i] &= (uint8_t)(0xff << (8 - bits));
	}
}

/* A peer's allowed IPs masked, sorted and without duplicates; *out malloc'd. */
static int normalize(const struct wg_peer *p, struct wg_allowedip **out, size_t *n)
{
	struct wg_allowedip *v = NULL;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (!p->n_allowedips)
		return 0;
	v = malloc(p->n_allowedips * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_allowedips; i++) {
		v[i] = p->allowedips[i];
		mask_aip(&v[i]);
	}
	qsort(v, p->n_allowedips, sizeof(*v), cmp_aip);
	for (size_t i = 0; i < p->n_allowedips; i++)
		if (k == 0 || cmp_aip(&v[k - 1], &v[i]))
			v[k++] = v[i];
	*out = v;
	*n = k;
	return 0;
}

/* Peers of dev in public-key order; *out malloc'd (NULL when none). */
static int sorted_peers(const struct wg_device *dev, const struct wg_peer ***out)
{
	const struct wg_peer **v = NULL;

	*out = NULL;
	if (!dev || !dev->n_peers)
		return 0;
	v = malloc(dev->n_peers * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < dev->n_peers; i++)
		v[i] = &dev->peers[i];
	qsort(v, dev->n_peers, sizeof(*v), cmp_peer_ptr);
	for (size_t i = 1; i < dev->n_peers; i++) {
		if (!cmp_peer_ptr(&v[i - 1], &v[i])) {
			free(v);
			return -EINVAL; /* the same key twice: no device can hold that */
		}
	}
	*out = v;
	return 0;
}

static int out_device(struct diff *d)
{
	if (!d->out)
		d->out = wg_new_device(d->name);
	return d->out ? 0 : -ENOMEM;
}

static struct wg_peer *out_peer(struct diff *d, const uint8_t key[WG_KEY_LEN])
{
	struct wg_peer *p;

	if (out_device(d) < 0)
		return NULL;
	p = wg_device_add_peer(d->out);
	if (p) {
		memcpy(p->public_key, key, WG_KEY_LEN);
		p->flags = WG_PEER_HAS_PUBLIC_KEY;
	}
	return p;
}

static int put_allowedips(struct wg_peer *p, const struct wg_allowedip *v, size_t n)
{
	int ret;

	p->flags |= WG_PEER_REPLACE_ALLOWEDIPS;
	for (size_t i = 0; i < n; i++) {
		ret = wg_peer_add_allowedip(p, &v[i]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Adds what changes between a running peer (NULL: none) and the wanted one. */
static int diff_peer(struct diff *d, const struct wg_peer *run, const struct wg_peer *want)
{
	struct wg_allowedip *rv = NULL, *wv = NULL;
	size_t rn = 0, wn = 0;
	bool set_ips, set_ep, set_ka;
	struct wg_peer *p;
	int ret;

	ret = normalize(want, &wv, &wn);
	if (ret < 0 || (run && (ret = normalize(run, &rv, &rn)) < 0))
		goto cleanup;
	set_ips = !run || rn != wn || (wn && memcmp(rv, wv, wn * sizeof(*wv)));
	set_ep = want->endpoint.addr.sa_family != AF_UNSPEC &&
	         (!run || !wg_endpoint_equal(&run->endpoint, &want->endpoint));
	set_ka = (want->flags & WG_PEER_HAS_KEEPALIVE) &&
	         (run ? run->keepalive != want->keepalive : want->keepalive != 0);
	if (run && !set_ips && !set_ep && !set_ka)
		goto cleanup;
	p = out_peer(d, want->public_key);
	if (!p) {
		ret = -ENOMEM;
		goto cleanup;
	}
	if (set_ep)
		p->endpoint = want->endpoint;
	if (set_ka) {
		p->flags |= WG_PEER_HAS_KEEPALIVE;
		p->keepalive = want->keepalive;
	}
	if (set_ips)
		ret = put_allowedips(p, wv, wn);
cleanup:
	free(rv);
	free(wv);
	return ret;
}

static int remove_peer(struct diff *d, const struct wg_peer *run)
{
	struct wg_peer *p = out_peer(d, run->public_key);

	if (!p)
		return -ENOMEM;
	p->flags |= WG_PEER_REMOVE_ME;
	return 0;
}

static int diff_identity(struct diff *d, const struct wg_device *run, const struct wg_device *want)
{
	uint32_t rf = run ? run->flags : 0;
	int ret;

	if ((want->flags & WG_DEV_HAS_PRIVATE_KEY) &&
	    (!(rf & WG_DEV_HAS_PRIVATE_KEY) ||
	     memcmp(run->private_key, want->private_key, WG_KEY_LEN))) {
		if ((ret = out_device(d)) < 0)
			return ret;
		d->out->flags |= WG_DEV_HAS_PRIVATE_KEY;
		memcpy(d->out->private_key, want->private_key, WG_KEY_LEN);
	}
	if ((want->flags & WG_DEV_HAS_LISTEN_PORT) &&
	    (!run || run->listen_port != want->listen_port)) {
		if ((ret = out_device(d)) < 0)
			return ret;
		d->out->flags |= WG_DEV_HAS_LISTEN_PORT;
		d->out->listen_port = want->listen_port;
	}
	if ((want->flags & WG_DEV_HAS_FWMARK) && (!run || run->fwmark != want->fwmark)) {
		if ((ret = out_device(d)) < 0)
			return ret;
		d->out->flags |= WG_DEV_HAS_FWMARK;
		d->out->fwmark = want->fwmark;
	}
	return 0;
}

int wg_device_diff(const struct wg_device *running, const struct wg_device *wanted,
                   struct wg_device **out)
{
	const struct wg_peer **rp = NULL, **wp = NULL;
	struct diff d = {.name = wanted->name};
	size_t rn = running ? running->n_peers : 0, wn = wanted->n_peers;
	size_t i = 0, j = 0;
	int ret;

	*out = NULL;
	ret = sorted_peers(running, &rp);
	if (ret < 0 || (ret = sorted_peers(wanted, &wp)) < 0)
		goto cleanup;
	ret = diff_identity(&d, running, wanted);
	/* Merge walk of both key-ordered lists. */
	while (ret == 0 && (i < rn || j < wn)) {
		int c = i == rn ? 1 : j == wn ? -1 : cmp_peer_ptr(&rp[i], &wp[j]);

		if (c < 0)
			ret = remove_peer(&d, rp[i++]);
		else if (c > 0)
			ret = diff_peer(&d, NULL, wp[j++]);
		else
			ret = diff_peer(&d, rp[i++], wp[j++]);
	}
	if (ret < 0)
		goto cleanup;
	*out = d.out;
	d.out = NULL;
cleanup:
	wg_free_device(d.out);
	free(rp);
	free(wp);
	return ret;
}
