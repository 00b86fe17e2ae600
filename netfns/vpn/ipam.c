// SPDX-License-Identifier: Apache-2.0
/*
 * Overlay address allocation: the lowest free host address of a network.
 * The controller calls this inside the store transaction that adds the node,
 * so two enrollments can never be handed the same address.
 */
#include "netfns/vpn/vpn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int vpn_ipam_alloc(const struct nf_prefix *cidr, const struct in_addr *used, size_t n,
                   struct in_addr *out)
{
	uint32_t base, first, last, mask, cand;
	uint32_t *sorted = NULL;
	size_t i = 0;
	int ret = -ENOSPC;

	if (cidr->family != AF_INET || cidr->len > 32)
		return -EINVAL;
	mask = cidr->len ? ~0u << (32 - cidr->len) : 0;
	base = ntohl(cidr->addr.v4.s_addr) & mask;
	first = base;
	last = base | ~mask;
	/* A /31 or /32 has no network or broadcast address to skip (RFC 3021). */
	if (cidr->len <= 30) {
		first++;
		last--;
	}
	if (n) {
		sorted = malloc(n * sizeof(*sorted));
		if (!sorted)
			return -ENOMEM;
		for (size_t k = 0; k < n; k++)
			sorted[k] = ntohl(used[k].s_addr);
		qsort(sorted, n, sizeof(*sorted), cmp_u32);
	}
	/* Walk candidates and the sorted used list together: O(n log n) overall. */
	for (cand = first;; cand++) {
		while (i < n && sorted[i] < cand)
			i++;
		if (i >= n || sorted[i] != cand) {
			out->s_addr = htonl(cand);
			ret = 0;
			break;
		}
		if (cand == last)
			break;
	}
	free(sorted);
	return ret;
}
