// SPDX-License-Identifier: Apache-2.0
/*
 * From an fw_config to the kernel rules that enforce it, and from the rules
 * applied to the rules wanted, the fewest messages that get there. A one-rule
 * change to a 10,000-rule policy then costs the kernel one rule, not 10,000,
 * and every other rule keeps its handle, its place and its counter.
 *
 * Each chain is a list of rules with stable keys: a user rule's id, address
 * family (a rule with both IPv4 and IPv6 addresses is two kernel rules: one
 * payload offset per family) and part (fw_nft.h), or a fixed rule's kind. A
 * base chain holds the fixed rules and one jump per part; a part holds user
 * rules; old and new lists run chain by chain, base chain first. The diff
 * keeps the longest run of rules that are still in the same order (a longest
 * increasing subsequence of their old positions), replaces in place those of
 * them whose content changed, deletes the other old rules and inserts the
 * other new ones before their next kept neighbour, or at the chain's end.
 */
#include "netfns/firewall/fw_nft.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>

/* What identifies a kernel rule across revisions. */
struct kkey {
	uint64_t id;      /* user rule id; a jump's target part id; 0 for other fixed rules */
	uint64_t part_id; /* the part the rule sits in */
	uint8_t chain, fixed, family, index, part;
};

/* An open-addressing index from keys to positions in a key array. */
struct kmap {
	size_t mask;
	size_t *slot; /* position + 1; 0: empty */
	const struct kkey *keys;
};

static uint64_t mix64(uint64_t h)
{
	/* splitmix64's finaliser: ids are often consecutive. */
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

static uint64_t key_hash(const struct kkey *k)
{
	uint64_t h =
	    k->id ^ (k->part_id * 0x9e3779b97f4a7c15ULL) ^
	    ((uint64_t)k->chain << 56 | (uint64_t)k->fixed << 48 | (uint64_t)k->family << 40 |
	     (uint64_t)k->index << 32 | (uint64_t)k->part << 24);

	return mix64(h);
}

static bool key_eq(const struct kkey *a, const struct kkey *b)
{
	return a->id == b->id && a->part_id == b->part_id && a->chain == b->chain &&
	       a->fixed == b->fixed && a->family == b->family && a->index == b->index &&
	       a->part == b->part;
}

/* Finds key in m; returns its position or SIZE_MAX. */
static size_t kmap_find(const struct kmap *m, const struct kkey *key)
{
	for (size_t i = key_hash(key) & m->mask;; i = (i + 1) & m->mask) {
		if (!m->slot[i])
			return SIZE_MAX;
		if (key_eq(&m->keys[m->slot[i] - 1], key))
			return m->slot[i] - 1;
	}
}

/* Indexes keys[0..n); -EEXIST with *dup set when a key repeats. */
static int kmap_build(struct kmap *m, const struct kkey *keys, size_t n, size_t *dup)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	m->slot = calloc(cap, sizeof(*m->slot));
	if (!m->slot)
		return -ENOMEM;
	m->mask = cap - 1;
	m->keys = keys;
	for (size_t i = 0; i < n; i++) {
		size_t j = key_hash(&keys[i]) & m->mask;

		for (; m->slot[j]; j = (j + 1) & m->mask) {
			if (key_eq(&keys[m->slot[j] - 1], &keys[i])) {
				*dup = i;
				return -EEXIST;
			}
		}
		m->slot[j] = i + 1;
	}
	return 0;
}

static void kmap_free(struct kmap *m)
{
	free(m->slot);
	m->slot = NULL;
}

/* ---- expand ---- */

static bool has_family(const struct nf_prefix *p, size_t n, int af)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].family == af)
			return true;
	return false;
}

/* Adds the kernel rules of user rule i: none, one, or one per address family. */
static void expand_user(const struct fw_config *cfg, size_t i, enum fw_chain c,
                        struct fw_krule *out, size_t *n)
{
	static const struct {
		uint8_t nfproto;
		int af;
	} fams[] = {{NFPROTO_IPV4, AF_INET}, {NFPROTO_IPV6, AF_INET6}};
	const struct fw_rule *r = &cfg->rules[i];

	if (r->src_any && r->dst_any) {
		out[(*n)++] = (struct fw_krule){.chain = c, .rule = i};
		return;
	}
	for (size_t f = 0; f < 2; f++) {
		if ((r->proto == FW_ICMP && fams[f].af != AF_INET) ||
		    (r->proto == FW_ICMPV6 && fams[f].af != AF_INET6))
			continue;
		/* An empty list with !any matches nothing: no kernel rule at all. */
		if (!r->src_any && !has_family(r->src, r->n_src, fams[f].af))
			continue;
		if (!r->dst_any && !has_family(r->dst, r->n_dst, fams[f].af))
			continue;
		out[(*n)++] = (struct fw_krule){.chain = c, .rule = i, .family = fams[f].nfproto};
	}
}

/* True when a user rule of dir can refuse a packet: then the keeps must come first. */
static bool chain_refuses(const struct fw_config *cfg, enum fw_dir dir)
{
	for (size_t i = 0; i < cfg->n_rules; i++)
		if (cfg->rules[i].dir == dir && cfg->rules[i].action != FW_ACCEPT)
			return true;
	return false;
}

static void push_fixed(struct fw_krule *out, size_t *n, enum fw_chain c, enum fw_fixed f,
                       uint8_t index)
{
	out[(*n)++] = (struct fw_krule){.chain = c, .fixed = f, .index = index};
}

/*
 * The keeps: what must pass before any user rule gets a say (the controller
 * session and the overlay, so that a policy can always be replaced by the
 * next one, and SSH when default deny keeps it).
 */
static void expand_keeps(const struct fw_config *cfg, enum fw_chain c, struct fw_krule *out,
                         size_t *n)
{
	push_fixed(out, n, c, FW_FIX_LOOPBACK, 0);
	if (cfg->wg_port)
		push_fixed(out, n, c, FW_FIX_WIREGUARD, 0);
	for (size_t i = 0; i < cfg->n_keep && i < FW_MAX_KEEP; i++)
		if (cfg->keep[i].ss_family == AF_INET || cfg->keep[i].ss_family == AF_INET6)
			push_fixed(out, n, c, FW_FIX_CONTROLLER, (uint8_t)i);
	if (c == FW_CHAIN_INPUT && cfg->default_deny && cfg->keep_ssh)
		push_fixed(out, n, c, FW_FIX_SSH, 0);
}

/* True when user rule id closes its part (see fw_nft.h). */
static bool part_ends(uint64_t id)
{
	return mix64(id) % FW_PART_SIZE == 0;
}

/*
 * Adds chain c's user rules to parts: into u (they are copied behind the base
 * chain later), one jump per part into k.
 */
static void expand_parts(const struct fw_config *cfg, enum fw_chain c, enum fw_dir dir,
                         struct fw_krule *k, size_t *m, struct fw_krule *u, size_t *nu)
{
	size_t open = *nu; /* first rule of the part being filled */

	for (size_t i = 0; i < cfg->n_rules; i++) {
		if (cfg->rules[i].dir != dir)
			continue;
		expand_user(cfg, i, c, u, nu);
		if (!part_ends(cfg->rules[i].id) || open == *nu)
			continue;
		for (size_t j = open; j < *nu; j++) {
			u[j].part = FW_PART_ENDS;
			u[j].part_id = cfg->rules[i].id;
		}
		k[(*m)++] = (struct fw_krule){.chain = c,
		                              .fixed = FW_FIX_JUMP,
		                              .to_part = FW_PART_ENDS,
		                              .to_id = cfg->rules[i].id};
		open = *nu;
	}
	if (open == *nu)
		return;
	for (size_t j = open; j < *nu; j++)
		u[j].part = FW_PART_REST;
	k[(*m)++] = (struct fw_krule){.chain = c, .fixed = FW_FIX_JUMP, .to_part = FW_PART_REST};
}

/*
 * Established/related traffic is accepted after the user rules, right before
 * default deny's drop, not first: every packet then reaches the user rules,
 * so a rule's counters count all its packets (not only each flow's first)
 * and a drop rule drops a flow that was open before it.
 *
 * Conntrack only starts tracking in a namespace when a rule first needs it,
 * so a TCP connection opened before this table existed shows up as "new"
 * mid-stream and would be cut by default deny. The pickup rule accepts such
 * packets when they are not SYNs: no new connection gets through, and the
 * old one becomes established with the host's next reply.
 */
int fw_plan_expand(const struct fw_config *cfg, struct fw_krule **out, size_t *n)
{
	static const enum fw_dir dirs[FW_CHAIN_N] = {FW_IN, FW_OUT, FW_FORWARD};
	struct fw_krule *k = NULL, *u = NULL;
	size_t cap = 3 * cfg->n_rules + 3 * (FW_MAX_KEEP + 8);
	size_t m = 0;

	k = calloc(cap, sizeof(*k));
	u = calloc(2 * cfg->n_rules + 1, sizeof(*u));
	if (!k || !u) {
		free(k);
		free(u);
		return -ENOMEM;
	}
	for (int c = 0; c < FW_CHAIN_N; c++) {
		bool deny = c == FW_CHAIN_INPUT && cfg->default_deny;
		size_t nu = 0;

		if (c != FW_CHAIN_FORWARD && (deny || chain_refuses(cfg, dirs[c])))
			expand_keeps(cfg, (enum fw_chain)c, k, &m);
		expand_parts(cfg, (enum fw_chain)c, dirs[c], k, &m, u, &nu);
		if (deny) {
			push_fixed(k, &m, (enum fw_chain)c, FW_FIX_ESTABLISHED, 0);
			push_fixed(k, &m, (enum fw_chain)c, FW_FIX_PICKUP, 0);
			push_fixed(k, &m, (enum fw_chain)c, FW_FIX_DENY, 0);
		}
		memcpy(k + m, u, nu * sizeof(*u));
		m += nu;
	}
	free(u);
	*out = k;
	*n = m;
	return 0;
}

/* ---- diff ---- */

static bool prefixes_same(const struct nf_prefix *a, const struct nf_prefix *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].family != b[i].family || a[i].len != b[i].len ||
		    memcmp(a[i].addr.bytes, b[i].addr.bytes, a[i].family == AF_INET ? 4 : 16) != 0)
			return false;
	return true;
}

bool fw_rule_same(const struct fw_rule *a, const struct fw_rule *b)
{
	if (a->id != b->id || a->dir != b->dir || a->proto != b->proto ||
	    a->src_any != b->src_any || a->dst_any != b->dst_any || a->n_src != b->n_src ||
	    a->n_dst != b->n_dst || a->n_ports != b->n_ports || a->action != b->action ||
	    a->rate != b->rate || (a->rate && a->rate_unit != b->rate_unit) ||
	    strcmp(a->log_prefix, b->log_prefix) != 0)
		return false;
	for (size_t i = 0; i < a->n_ports; i++)
		if (a->ports[i].first != b->ports[i].first || a->ports[i].last != b->ports[i].last)
			return false;
	return prefixes_same(a->src, b->src, a->n_src) && prefixes_same(a->dst, b->dst, a->n_dst);
}

static bool endpoint_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

	return x->sin6_port == y->sin6_port &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

/* True when two kernel rules with the same key have the same content. */
static bool krule_same(const struct fw_config *ca, const struct fw_krule *a,
                       const struct fw_config *cb, const struct fw_krule *b)
{
	switch (a->fixed) {
	case FW_FIX_NONE:
		return fw_rule_same(&ca->rules[a->rule], &cb->rules[b->rule]);
	case FW_FIX_WIREGUARD:
		return ca->wg_port == cb->wg_port;
	case FW_FIX_CONTROLLER:
		return endpoint_same(&ca->keep[a->index], &cb->keep[b->index]);
	default:
		return true;
	}
}

static struct kkey key_of(const struct fw_config *cfg, const struct fw_krule *k)
{
	struct kkey key = {.part_id = k->part_id,
	                   .chain = (uint8_t)k->chain,
	                   .fixed = (uint8_t)k->fixed,
	                   .family = k->family,
	                   .index = k->index,
	                   .part = k->part};

	if (k->fixed == FW_FIX_NONE) {
		key.id = cfg->rules[k->rule].id;
	} else if (k->fixed == FW_FIX_JUMP) {
		key.id = k->to_id;
		key.index = k->to_part;
	}
	return key;
}

/* True when a and b sit in the same chain (base chain or part). */
static bool same_chain(const struct fw_krule *a, const struct fw_krule *b)
{
	return a->chain == b->chain && a->part == b->part && a->part_id == b->part_id;
}

static struct kkey *keys_of(const struct fw_config *cfg, const struct fw_krule *k, size_t n)
{
	struct kkey *keys = calloc(n ? n : 1, sizeof(*keys));

	for (size_t i = 0; keys && i < n; i++)
		keys[i] = key_of(cfg, &k[i]);
	return keys;
}

static struct kkey *ids_of(const struct fw_config *cfg)
{
	struct kkey *keys = calloc(cfg->n_rules ? cfg->n_rules : 1, sizeof(*keys));

	for (size_t i = 0; keys && i < cfg->n_rules; i++)
		keys[i] = (struct kkey){.id = cfg->rules[i].id};
	return keys;
}

/*
 * Marks keep[i] for the entries of seq (old positions, SIZE_MAX: none) that
 * form a longest strictly increasing subsequence.
 */
static int lis_mark(const size_t *seq, size_t n, bool *keep)
{
	size_t *tail = NULL, *prev = NULL; /* tail[l]: index ending the best run of length l+1 */
	size_t len = 0;
	int ret = -ENOMEM;

	tail = malloc((n ? n : 1) * sizeof(*tail));
	prev = malloc((n ? n : 1) * sizeof(*prev));
	if (!tail || !prev)
		goto cleanup;
	for (size_t i = 0; i < n; i++) {
		size_t lo = 0, hi = len;

		if (seq[i] == SIZE_MAX)
			continue;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (seq[tail[mid]] < seq[i])
				lo = mid + 1;
			else
				hi = mid;
		}
		prev[i] = lo ? tail[lo - 1] : SIZE_MAX;
		tail[lo] = i;
		if (lo == len)
			len++;
	}
	for (size_t i = len ? tail[len - 1] : SIZE_MAX; i != SIZE_MAX; i = prev[i])
		keep[i] = true;
	ret = 0;
cleanup:
	free(tail);
	free(prev);
	return ret;
}

static void ops_push(struct fw_diff *d, enum fw_op_kind kind, size_t idx, uint64_t pos)
{
	d->ops[d->n_ops++] = (struct fw_op){.kind = kind, .idx = idx, .pos = pos};
}

/* The counters: ids that appear (new rules) and ids that go (old rules). */
static int diff_ids(const struct fw_config *old_cfg, const struct fw_config *new_cfg,
                    struct fw_diff *d, uint64_t *dup)
{
	struct kkey *oid = NULL, *nid = NULL;
	struct kmap om = {0}, nm = {0};
	size_t at = 0;
	int ret = -ENOMEM;

	oid = ids_of(old_cfg);
	nid = ids_of(new_cfg);
	d->add = calloc(new_cfg->n_rules ? new_cfg->n_rules : 1, sizeof(*d->add));
	d->del = calloc(old_cfg->n_rules ? old_cfg->n_rules : 1, sizeof(*d->del));
	if (!oid || !nid || !d->add || !d->del)
		goto cleanup;
	ret = kmap_build(&nm, nid, new_cfg->n_rules, &at);
	if (ret == -EEXIST) {
		*dup = nid[at].id;
		ret = -EINVAL;
	}
	if (ret < 0)
		goto cleanup;
	/* The applied config was checked the same way when it was applied. */
	ret = kmap_build(&om, oid, old_cfg->n_rules, &at);
	if (ret < 0)
		goto cleanup;
	for (size_t i = 0; i < new_cfg->n_rules; i++)
		if (kmap_find(&om, &nid[i]) == SIZE_MAX)
			d->add[d->n_add++] = i;
	for (size_t i = 0; i < old_cfg->n_rules; i++)
		if (kmap_find(&nm, &oid[i]) == SIZE_MAX)
			d->del[d->n_del++] = i;
cleanup:
	kmap_free(&om);
	kmap_free(&nm);
	free(oid);
	free(nid);
	return ret;
}

/* Lists the old jumps with no new twin: their parts are chains to delete. */
static int mark_gone_parts(const struct fw_krule *old, size_t n_old, const struct kkey *okeys,
                           const struct fw_krule *new, const struct kkey *nkeys, size_t n_new,
                           struct fw_diff *d)
{
	struct kkey *jumps = NULL;
	struct kmap jm = {0};
	size_t n = 0, at;
	int ret = -ENOMEM;

	/* Only jumps matter: index those alone, not every new rule again. */
	jumps = calloc(n_new + 1, sizeof(*jumps));
	if (!jumps)
		return -ENOMEM;
	for (size_t i = 0; i < n_new; i++)
		if (new[i].fixed == FW_FIX_JUMP)
			jumps[n++] = nkeys[i];
	ret = kmap_build(&jm, jumps, n, &at);
	for (size_t j = 0; ret == 0 && j < n_old; j++)
		if (old[j].fixed == FW_FIX_JUMP && kmap_find(&jm, &okeys[j]) == SIZE_MAX)
			d->del_parts[d->n_del_parts++] = j;
	kmap_free(&jm);
	free(jumps);
	return ret;
}

int fw_plan_diff(const struct fw_config *old_cfg, const struct fw_krule *old, size_t n_old,
                 const struct fw_config *new_cfg, struct fw_krule *new, size_t n_new,
                 struct fw_diff *out, uint64_t *dup)
{
	struct fw_diff d = {0};
	struct kkey *okeys = NULL, *nkeys = NULL;
	struct kmap om = {0};
	size_t *match = NULL;
	bool *keep = NULL, *old_kept = NULL;
	uint64_t next = 0;
	size_t at, first;
	int ret;

	*dup = 0;
	ret = diff_ids(old_cfg, new_cfg, &d, dup);
	if (ret < 0)
		goto cleanup;
	ret = -ENOMEM;
	okeys = keys_of(old_cfg, old, n_old);
	nkeys = keys_of(new_cfg, new, n_new);
	match = malloc((n_new ? n_new : 1) * sizeof(*match));
	keep = calloc(n_new ? n_new : 1, sizeof(*keep));
	old_kept = calloc(n_old ? n_old : 1, sizeof(*old_kept));
	d.ops = calloc(n_old + n_new + 1, sizeof(*d.ops));
	d.add_parts = calloc(n_new + 1, sizeof(*d.add_parts));
	d.del_parts = calloc(n_old + 1, sizeof(*d.del_parts));
	if (!okeys || !nkeys || !match || !keep || !old_kept || !d.ops || !d.add_parts ||
	    !d.del_parts)
		goto cleanup;
	ret = kmap_build(&om, okeys, n_old, &at);
	if (ret < 0)
		goto cleanup;
	for (size_t i = 0; i < n_new; i++)
		match[i] = kmap_find(&om, &nkeys[i]);
	/* Old and new lists both run chain by chain, so one subsequence serves all chains. */
	ret = lis_mark(match, n_new, keep);
	if (ret < 0)
		goto cleanup;
	for (size_t i = 0; i < n_new; i++) {
		if (keep[i])
			old_kept[match[i]] = true;
		/* A jump with no old twin: its part is a new chain. */
		if (new[i].fixed == FW_FIX_JUMP && match[i] == SIZE_MAX)
			d.add_parts[d.n_add_parts++] = i;
	}
	ret = mark_gone_parts(old, n_old, okeys, new, nkeys, n_new, &d);
	if (ret < 0)
		goto cleanup;

	for (size_t j = 0; j < n_old; j++)
		if (!old_kept[j])
			ops_push(&d, FW_OP_DELETE, j, old[j].handle);
	/* Walking backwards, next is the handle of the next kept rule in the same chain. */
	first = d.n_ops;
	for (size_t i = n_new; i-- > 0;) {
		if (i + 1 < n_new && !same_chain(&new[i + 1], &new[i]))
			next = 0;
		if (keep[i]) {
			next = old[match[i]].handle;
			continue;
		}
		new[i].handle = 0;
		new[i].tag = 0;
		ops_push(&d, FW_OP_INSERT, i, next);
	}
	/* They went in backwards; the kernel must see them in chain order. */
	for (size_t a = first, z = d.n_ops; a + 1 < z; a++, z--) {
		struct fw_op t = d.ops[a];

		d.ops[a] = d.ops[z - 1];
		d.ops[z - 1] = t;
	}
	for (size_t i = 0; i < n_new; i++) {
		if (!keep[i])
			continue;
		new[i].handle = old[match[i]].handle;
		new[i].tag = old[match[i]].tag;
		if (!krule_same(old_cfg, &old[match[i]], new_cfg, &new[i])) {
			ops_push(&d, FW_OP_REPLACE, i, new[i].handle);
			d.ops[d.n_ops - 1].old = match[i];
			new[i].handle = 0; /* a replaced rule gets a new handle (and tag) */
		}
	}
	*out = d;
	memset(&d, 0, sizeof(d));
	ret = 0;
cleanup:
	fw_diff_free(&d);
	kmap_free(&om);
	free(okeys);
	free(nkeys);
	free(match);
	free(keep);
	free(old_kept);
	return ret;
}

void fw_diff_free(struct fw_diff *d)
{
	free(d->ops);
	free(d->add);
	free(d->del);
	free(d->add_parts);
	free(d->del_parts);
	memset(d, 0, sizeof(*d));
}
