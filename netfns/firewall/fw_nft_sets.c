// SPDX-License-Identifier: Apache-2.0
/*
 * Address and port lists as nftables set elements. A rule's list is sorted
 * and merged first (the kernel refuses overlapping intervals, and one merged
 * range needs no set at all). Lists of two or more ranges go into shared
 * named interval sets (src4, dst4, src6, dst6, dport, each in
 * FW_SET_BUCKETS buckets: "src4_3"), each element's key prefixed with the
 * kernel rule's tag: the rule loads its tag and the packet's field into
 * adjacent registers and looks the pair up in its bucket.
 *
 * Why shared sets and not one anonymous set per rule, as nft(8) makes: the
 * kernel keeps a table's sets on a list and walks it (and, for anonymous
 * sets, the whole transaction) for every set it adds or binds, so a
 * 10,000-rule policy with per-rule sets costs it minutes of O(n^2) work; with
 * five sets the same policy is elements in five trees. A lookup is one
 * search of an rbtree, O(log n) over every rule's ranges.
 *
 * Buckets, because this kernel's rbtree sets rebuild a sorted array of all
 * their elements at every commit that changes them: with one set per field,
 * a one-rule change to a 10,000-rule policy paid for 30,000 elements. A
 * bucket is created by the first rule that needs it.
 *
 * A range [lo, hi] of tag T is a start element T|lo and an end element
 * (flagged INTERVAL_END) at T|hi + 1, computed over the whole key: a range
 * that reaches the top of the value space ends at (T+1)|0. Tags are even, so
 * that key is never another rule's start.
 */
#include "netfns/firewall/fw_nft.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#define TAG_LEN 4
#define KEY_MAX (TAG_LEN + 16)

/* The shared sets, indexed by enum fw_set. */
static const struct {
	const char *name;
	uint32_t key_len;
} sets[FW_SET_N] = {
    [FW_SET_SRC4] = {"src4", TAG_LEN + 4},
    [FW_SET_DST4] = {"dst4", TAG_LEN + 4},
    [FW_SET_SRC6] = {"src6", TAG_LEN + 16},
    [FW_SET_DST6] = {"dst6", TAG_LEN + 16},
    /* A 2-byte port fills its 4-byte register with two zero bytes after it. */
    [FW_SET_PORT] = {"dport", TAG_LEN + 4},
};

void fw_set_name(enum fw_set s, uint32_t tag, char *buf)
{
	snprintf(buf, FW_SET_NAME_MAX, "%s_%u", sets[s].name, fw_set_bucket(tag));
}

unsigned int fw_set_bucket(uint32_t tag)
{
	/* Tags go up by two per rule: consecutive rules land in different buckets. */
	return (tag >> 1) % FW_SET_BUCKETS;
}

/* ---- values ---- */

/* Adds one to a big-endian value; true when it wrapped past the top. */
static bool be_inc(uint8_t *v, size_t len)
{
	for (size_t i = len; i-- > 0;)
		if (++v[i] != 0)
			return false;
	return true;
}

static bool be_is_zero(const uint8_t *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (v[i])
			return false;
	return true;
}

static bool be_is_max(const uint8_t *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (v[i] != 0xff)
			return false;
	return true;
}

static size_t sort_len; /* qsort has no context argument; set just before each sort */

static int span_cmp(const void *a, const void *b)
{
	return memcmp(((const struct fw_span *)a)->lo, ((const struct fw_span *)b)->lo, sort_len);
}

/* Sorts spans and merges those that overlap or touch; returns how many are left. */
static size_t spans_merge(struct fw_span *s, size_t n, size_t len)
{
	size_t out = 0;

	if (n == 0)
		return 0;
	sort_len = len;
	qsort(s, n, sizeof(*s), span_cmp);
	for (size_t i = 1; i < n; i++) {
		struct fw_span *cur = &s[out];
		uint8_t next[16];
		bool top;

		memcpy(next, cur->hi, len);
		top = be_inc(next, len);
		if (top || memcmp(s[i].lo, next, len) <= 0) {
			if (memcmp(s[i].hi, cur->hi, len) > 0)
				memcpy(cur->hi, s[i].hi, len);
		} else {
			s[++out] = s[i];
		}
	}
	return out + 1;
}

static void prefix_span(const struct nf_prefix *p, size_t len, struct fw_span *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < len; i++) {
		size_t bits = p->len > i * 8 ? p->len - i * 8 : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		s->lo[i] = p->addr.bytes[i] & mask;
		s->hi[i] = p->addr.bytes[i] | (uint8_t)~mask;
	}
}

int fw_dim_spans(const struct fw_config *cfg, const struct fw_krule *k, enum fw_dim d,
                 struct fw_dim_match *out)
{
	const struct fw_rule *r = &cfg->rules[k->rule];
	const struct nf_prefix *p = d == FW_DIM_SRC ? r->src : r->dst;
	size_t np = d == FW_DIM_SRC ? r->n_src : r->n_dst;
	bool any = d == FW_DIM_SRC ? r->src_any : r->dst_any;
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	if (k->fixed != FW_FIX_NONE)
		return 0;
	if (d == FW_DIM_PORT) {
		if (!r->n_ports || (r->proto != FW_TCP && r->proto != FW_UDP))
			return 0;
		out->spans = calloc(r->n_ports, sizeof(*out->spans));
		if (!out->spans)
			return -ENOMEM;
		for (size_t i = 0; i < r->n_ports; i++) {
			out->spans[i].lo[0] = (uint8_t)(r->ports[i].first >> 8);
			out->spans[i].lo[1] = (uint8_t)r->ports[i].first;
			out->spans[i].hi[0] = (uint8_t)(r->ports[i].last >> 8);
			out->spans[i].hi[1] = (uint8_t)r->ports[i].last;
		}
		out->len = 2;
		out->set = FW_SET_PORT;
		out->n = spans_merge(out->spans, r->n_ports, 2);
		return 0;
	}
	/* Without a family the rule matches no address (fw_plan.c only leaves it so for "any"). */
	if (any || !k->family)
		return 0;
	out->len = k->family == NFPROTO_IPV4 ? 4 : 16;
	out->spans = calloc(np ? np : 1, sizeof(*out->spans));
	if (!out->spans)
		return -ENOMEM;
	for (size_t i = 0; i < np; i++)
		if (p[i].family == (k->family == NFPROTO_IPV4 ? AF_INET : AF_INET6))
			prefix_span(&p[i], out->len, &out->spans[n++]);
	n = spans_merge(out->spans, n, out->len);
	/* Every address of the family: nothing to match beyond the family itself. */
	if (n == 1 && be_is_zero(out->spans[0].lo, out->len) &&
	    be_is_max(out->spans[0].hi, out->len))
		n = 0;
	out->n = n;
	if (k->family == NFPROTO_IPV4)
		out->set = d == FW_DIM_SRC ? FW_SET_SRC4 : FW_SET_DST4;
	else
		out->set = d == FW_DIM_SRC ? FW_SET_SRC6 : FW_SET_DST6;
	return 0;
}

void fw_dim_free(struct fw_dim_match *m)
{
	free(m->spans);
	memset(m, 0, sizeof(*m));
}

/* ---- messages ---- */

/* Creates set s's bucket for tag (or leaves it as it is: no NLM_F_EXCL). */
static int put_set(struct nft_batch *b, const char *table, enum fw_set set, uint32_t tag,
                   uint64_t cookie)
{
	struct nftnl_set *s = nftnl_set_alloc();
	char name[FW_SET_NAME_MAX];
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!s)
		return -ENOMEM;
	fw_set_name(set, tag, name);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	/* The kernel wants an id even for a named set: one per bucket keeps them unique. */
	nftnl_set_set_u32(s, NFTNL_SET_ID, (uint32_t)set * FW_SET_BUCKETS + fw_set_bucket(tag) + 1);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_INTERVAL);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, sets[set].key_len);
	/*
	 * Key type 0: nft(8) has no type for "tag . address" in an rbtree and
	 * prints the keys as hex; a concatenation type makes nft 1.0.6 crash
	 * listing the set.
	 */
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, 0);
	nlh = nft_batch_add(b, NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_CREATE, cookie);
	if (nlh) {
		nftnl_set_nlmsg_build_payload(nlh, s);
		ret = 0;
	}
	nftnl_set_free(s);
	return ret;
}

/* The key of value v (len bytes) for tag: tag, value, zero padding to the set's key length. */
static void key_make(uint8_t *key, uint32_t tag, const uint8_t *v, size_t len)
{
	memset(key, 0, KEY_MAX);
	key[0] = (uint8_t)(tag >> 24);
	key[1] = (uint8_t)(tag >> 16);
	key[2] = (uint8_t)(tag >> 8);
	key[3] = (uint8_t)tag;
	memcpy(key + TAG_LEN, v, len);
}

/* One message adding (or deleting) elements [from, to) of m for tag. */
static int put_elem_msg(struct nft_batch *b, const char *table, const struct fw_dim_match *m,
                        uint32_t tag, size_t from, size_t to, bool add, uint64_t cookie)
{
	uint32_t key_len = sets[m->set].key_len;
	struct nftnl_set *s = nftnl_set_alloc();
	char name[FW_SET_NAME_MAX];
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!s)
		return -ENOMEM;
	fw_set_name(m->set, tag, name);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	for (size_t i = from; i < to; i++) {
		struct nftnl_set_elem *start = nftnl_set_elem_alloc();
		struct nftnl_set_elem *end = nftnl_set_elem_alloc();
		uint8_t key[KEY_MAX];

		if (!start || !end) {
			nftnl_set_elem_free(start);
			nftnl_set_elem_free(end);
			goto cleanup;
		}
		key_make(key, tag, m->spans[i].lo, m->len);
		nftnl_set_elem_set(start, NFTNL_SET_ELEM_KEY, key, key_len);
		nftnl_set_elem_add(s, start);
		key_make(key, tag, m->spans[i].hi, m->len);
		/* Past the top of the tag's values carries into the (unused, odd) next tag. */
		be_inc(key, key_len);
		nftnl_set_elem_set(end, NFTNL_SET_ELEM_KEY, key, key_len);
		nftnl_set_elem_set_u32(end, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
		nftnl_set_elem_add(s, end);
	}
	nlh = nft_batch_add(b, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, NFPROTO_INET,
	                    add ? NLM_F_CREATE : 0, cookie);
	if (!nlh)
		goto cleanup;
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	ret = 0;
cleanup:
	nftnl_set_free(s);
	return ret;
}

int fw_nft_put_elems(struct nft_batch *b, const char *table, const struct fw_config *cfg,
                     const struct fw_krule *k, bool add, uint16_t *made, uint64_t cookie)
{
	unsigned int bit = 1u << fw_set_bucket(k->tag);
	int ret = 0;

	for (int d = 0; !ret && d < FW_DIM_N; d++) {
		struct fw_dim_match m;

		ret = fw_dim_spans(cfg, k, (enum fw_dim)d, &m);
		if (!ret && add && m.n > 1 && !(made[m.set] & bit)) {
			ret = put_set(b, table, m.set, k->tag, cookie);
			made[m.set] |= (uint16_t)bit;
		}
		/* One range is matched in the rule itself; only lists live in the sets. */
		for (size_t i = 0; !ret && m.n > 1 && i < m.n; i += NFT_ELEMS_PER_MSG / 2) {
			size_t to =
			    i + NFT_ELEMS_PER_MSG / 2 < m.n ? i + NFT_ELEMS_PER_MSG / 2 : m.n;

			ret = put_elem_msg(b, table, &m, k->tag, i, to, add, cookie);
		}
		fw_dim_free(&m);
	}
	return ret;
}
