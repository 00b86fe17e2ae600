// SPDX-License-Identifier: Apache-2.0
/*
 * The firewall's agent half (see fw_agent.h). It remembers what it applied
 * (the config, and each kernel rule's handle) and turns each new revision
 * into one nftables batch:
 *
 *  - while the kernel is known to hold the applied revision, the batch is
 *    the diff (fw_plan.c): a one-rule change sends a few messages, and other
 *    rules keep their counters;
 *  - otherwise (first apply after start, or the kernel's state is in doubt),
 *    the batch replaces the whole table: "add table; delete table; add table"
 *    then chains, counters and rules, so it works whether the table exists or
 *    not and removes whatever else someone put into it.
 *
 * A diff the kernel refuses is tried once more as a whole replacement (the
 * table may have been changed by hand); what that one says is what is
 * reported. Either way a refused batch changes nothing in the kernel. Handles
 * of new rules come back as echoes when there are few, or from one dump of
 * the table after the batch when there are many.
 *
 * Counters are named counter objects, one per rule id ("r17"): reading them
 * is one dump of this table's counters alone, not of the ruleset.
 */
#include "netfns/firewall/fw_agent.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libnftnl/common.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "netfns/common/log.h"
#include "netfns/firewall/fw_nft.h"
#include "netfns/firewall/nft_msg.h"

/*
 * Up to this many new rules are echoed back with their handles; beyond, one
 * dump after the batch is cheaper than the echoes the receive queue must hold.
 */
#define ECHO_MAX 128
/* A dump interrupted by a concurrent change is tried again this many times. */
#define DUMP_TRIES     3
#define TABLE_NAME_MAX 64

struct fw_agent {
	struct nft_sock *nft;
	char table[TABLE_NAME_MAX];
	bool known;       /* the kernel holds exactly applied and kr, with these handles */
	uint32_t tag_seq; /* the last tag given to a rule's set elements */
	struct fw_config applied;
	struct fw_krule *kr;
	size_t n_kr;
};

/* One attempt: from (old_cfg, old) to (cfg, new). */
struct attempt {
	struct fw_agent *fa;
	const struct fw_config *old_cfg;
	const struct fw_krule *old;
	size_t n_old;
	const struct fw_config *cfg;
	struct fw_krule *new;
	size_t n_new;
	bool full;
	struct nft_error nerr;
	uint64_t dup;
	size_t sent; /* messages */
	double plan_ms, kernel_ms;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- the applied config: a deep copy ---- */

static int prefixes_dup(const struct nf_prefix *src, size_t n, struct nf_prefix **out)
{
	*out = NULL;
	if (!n)
		return 0;
	*out = malloc(n * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, src, n * sizeof(**out));
	return 0;
}

static int config_copy(struct fw_config *dst, const struct fw_config *src)
{
	*dst = *src;
	dst->rules = NULL;
	dst->n_rules = 0;
	if (!src->n_rules)
		return 0;
	dst->rules = calloc(src->n_rules, sizeof(*dst->rules));
	if (!dst->rules)
		return -ENOMEM;
	for (size_t i = 0; i < src->n_rules; i++) {
		const struct fw_rule *s = &src->rules[i];
		struct fw_rule *d = &dst->rules[i];

		*d = *s;
		d->src = d->dst = NULL;
		d->ports = NULL;
		dst->n_rules = i + 1;
		if (prefixes_dup(s->src, s->n_src, &d->src) < 0 ||
		    prefixes_dup(s->dst, s->n_dst, &d->dst) < 0)
			return -ENOMEM;
		if (s->n_ports) {
			d->ports = malloc(s->n_ports * sizeof(*d->ports));
			if (!d->ports)
				return -ENOMEM;
			memcpy(d->ports, s->ports, s->n_ports * sizeof(*d->ports));
		}
	}
	return 0;
}

/* Forgets what was applied: the next apply replaces the whole table. */
static void forget(struct fw_agent *fa)
{
	fa->known = false;
	fw_config_free(&fa->applied);
	free(fa->kr);
	fa->kr = NULL;
	fa->n_kr = 0;
}

/* ---- open / close ---- */

int fw_agent_open(const char *table, struct fw_agent **out)
{
	struct fw_agent *fa = NULL;
	int ret;

	if (!table || !table[0] || strlen(table) >= TABLE_NAME_MAX)
		return -EINVAL;
	fa = calloc(1, sizeof(*fa));
	if (!fa)
		return -ENOMEM;
	snprintf(fa->table, sizeof(fa->table), "%s", table);
	ret = nft_sock_open(&fa->nft);
	if (ret < 0) {
		free(fa);
		return ret;
	}
	*out = fa;
	return 0;
}

void fw_agent_close(struct fw_agent *fa)
{
	if (!fa)
		return;
	forget(fa);
	nft_sock_close(fa->nft);
	free(fa);
}

/* ---- rule handles: echoes and dumps ---- */

struct rule_seen {
	const char *chain;
	uint64_t handle;
	char comment[FW_COMMENT_MAX];
};

static int rule_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type <= NFTA_RULE_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int comment_attr(const struct nftnl_udata *attr, void *data)
{
	char *comment = data;
	const char *v = nftnl_udata_get(attr);
	uint8_t len = nftnl_udata_len(attr);

	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT && len && v[len - 1] == '\0')
		snprintf(comment, FW_COMMENT_MAX, "%s", v);
	return 0;
}

/* Reads a rule message's chain, handle and comment; false when it is not a rule. */
static bool rule_parse(const struct nlmsghdr *nlh, struct rule_seen *out)
{
	const struct nlattr *tb[NFTA_RULE_MAX + 1] = {0};

	memset(out, 0, sizeof(*out));
	if ((nlh->nlmsg_type & 0xff) != NFT_MSG_NEWRULE ||
	    mnl_attr_parse(nlh, sizeof(struct nfgenmsg), rule_attr, tb) < 0)
		return false;
	if (!tb[NFTA_RULE_CHAIN] || !tb[NFTA_RULE_HANDLE] ||
	    mnl_attr_validate(tb[NFTA_RULE_CHAIN], MNL_TYPE_NUL_STRING) < 0 ||
	    mnl_attr_validate(tb[NFTA_RULE_HANDLE], MNL_TYPE_U64) < 0)
		return false;
	out->chain = mnl_attr_get_str(tb[NFTA_RULE_CHAIN]);
	out->handle = be64toh(mnl_attr_get_u64(tb[NFTA_RULE_HANDLE]));
	if (tb[NFTA_RULE_USERDATA])
		nftnl_udata_parse(mnl_attr_get_payload(tb[NFTA_RULE_USERDATA]),
		                  mnl_attr_get_payload_len(tb[NFTA_RULE_USERDATA]), comment_attr,
		                  out->comment);
	return true;
}

static void on_echo(const struct nlmsghdr *nlh, uint64_t cookie, void *data)
{
	struct attempt *a = data;
	struct rule_seen r;

	if (FW_COOKIE_KIND(cookie) != FW_CK_NEW_RULE || FW_COOKIE_IDX(cookie) >= a->n_new ||
	    !rule_parse(nlh, &r))
		return;
	a->new[FW_COOKIE_IDX(cookie)].handle = r.handle;
}

/* One chain's run of the wanted list, as the dump walks it. */
struct run {
	char name[FW_CHAIN_NAME_MAX];
	size_t at, end; /* next wanted rule, and past the last */
};

/* Walks the dump of the table's rules against the wanted list, chain by chain. */
struct walk {
	const struct fw_config *cfg;
	struct fw_krule *k;
	size_t n_runs;
	struct run *runs;
	bool bad;
};

static int on_dump_rule(const struct nlmsghdr *nlh, void *data)
{
	struct walk *w = data;
	char want[FW_COMMENT_MAX];
	struct rule_seen r;
	struct run *run = NULL;

	if (w->bad || !rule_parse(nlh, &r))
		return MNL_CB_OK;
	for (size_t i = 0; i < w->n_runs && !run; i++)
		if (strcmp(r.chain, w->runs[i].name) == 0)
			run = &w->runs[i];
	/* A chain we did not make, or more rules in one than we put there. */
	if (!run || run->at == run->end) {
		w->bad = true;
		return MNL_CB_OK;
	}
	fw_krule_comment(w->cfg, &w->k[run->at], want);
	if (strcmp(want, r.comment) != 0)
		w->bad = true;
	w->k[run->at++].handle = r.handle;
	return MNL_CB_OK;
}

/* Splits the wanted list into its chains' runs (each chain's rules are contiguous). */
static int runs_make(const struct fw_krule *k, size_t n, struct run **out, size_t *n_runs)
{
	struct run *runs = calloc(n + 1, sizeof(*runs));
	size_t m = 0;

	if (!runs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || k[i].chain != k[i - 1].chain || k[i].part != k[i - 1].part ||
		    k[i].part_id != k[i - 1].part_id) {
			fw_part_name(k[i].chain, k[i].part, k[i].part_id, runs[m].name);
			runs[m].at = i;
			m++;
		}
		runs[m - 1].end = i + 1;
	}
	*out = runs;
	*n_runs = m;
	return 0;
}

/* Learns every rule's handle from one dump of the table; -ESTALE when it holds other rules. */
static int handles_dump(struct fw_agent *fa, const struct fw_config *cfg, struct fw_krule *k,
                        size_t n)
{
	char buf[512];
	struct nftnl_rule *r = NULL;
	int ret = -EINTR;

	r = nftnl_rule_alloc();
	if (!r)
		return -ENOMEM;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, fa->table);
	for (int t = 0; t < DUMP_TRIES && ret == -EINTR; t++) {
		struct walk w = {.cfg = cfg, .k = k};
		struct nlmsghdr *nlh =
		    nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, 0, 0);

		ret = runs_make(k, n, &w.runs, &w.n_runs);
		if (ret < 0)
			break;
		nftnl_rule_nlmsg_build_payload(nlh, r);
		ret = nft_sock_dump(fa->nft, nlh, on_dump_rule, &w);
		for (size_t i = 0; ret == 0 && i < w.n_runs; i++)
			if (w.runs[i].at != w.runs[i].end)
				w.bad = true;
		if (ret == 0 && w.bad)
			ret = -ESTALE;
		free(w.runs);
	}
	nftnl_rule_free(r);
	return ret;
}

/* ---- one batch ---- */

static bool diff_empty(const struct fw_diff *d)
{
	return !d->n_ops && !d->n_add && !d->n_del;
}

/* Builds and commits one batch; 0 when the kernel holds cfg (or already did). */
static int attempt_run(struct attempt *a)
{
	struct fw_diff d = {0};
	struct nft_batch *b = NULL;
	uint32_t tag_seq;
	int ret;

	double t0 = now_ms(), t1;

	for (size_t i = 0; i < a->n_new; i++)
		a->new[i].handle = 0;
	ret = fw_plan_diff(a->old_cfg, a->old, a->n_old, a->cfg, a->new, a->n_new, &d, &a->dup);
	if (ret < 0)
		goto cleanup;
	if (!a->full && diff_empty(&d))
		goto cleanup; /* nothing to send: an empty batch is never sent */
	ret = nft_batch_new(a->fa->nft, &b);
	if (ret < 0)
		goto cleanup;
	/* A new table has no elements yet; a refused batch used no tags either way. */
	tag_seq = a->full ? 0 : a->fa->tag_seq;
	ret = fw_nft_put_plan(b, a->fa->table, a->full, a->old_cfg, a->old, a->cfg, a->new, &d,
	                      ECHO_MAX, &tag_seq);
	if (ret < 0)
		goto cleanup;
	a->sent = nft_batch_count(b);
	t1 = now_ms();
	a->plan_ms = t1 - t0;
	ret = nft_batch_commit(b, on_echo, a, &a->nerr);
	a->kernel_ms = now_ms() - t1;
	if (ret == 0)
		a->fa->tag_seq = tag_seq;
cleanup:
	nft_batch_free(b);
	fw_diff_free(&d);
	return ret;
}

/* Names what the kernel refused: "rule 17 (policy web): Invalid argument: <kernel text>". */
static void describe(const struct attempt *a, int ret, char *err, size_t errlen, uint64_t *bad_rule)
{
	const struct nft_error *e = &a->nerr;
	const struct fw_config *cfg = NULL;
	const struct fw_rule *r = NULL;
	size_t idx = FW_COOKIE_IDX(e->cookie);
	char what[96];
	char comment[FW_COMMENT_MAX];

	if (a->dup) {
		*bad_rule = a->dup;
		snprintf(err, errlen, "rule %" PRIu64 ": id used by more than one rule", a->dup);
		return;
	}
	snprintf(what, sizeof(what), "table inet %s", a->fa->table);
	switch (e->cookie == NFT_COOKIE_NONE ? 0 : FW_COOKIE_KIND(e->cookie)) {
	case FW_CK_NEW_RULE:
	case FW_CK_OLD_RULE: {
		const struct fw_krule *k =
		    FW_COOKIE_KIND(e->cookie) == FW_CK_NEW_RULE ? &a->new[idx] : &a->old[idx];

		cfg = FW_COOKIE_KIND(e->cookie) == FW_CK_NEW_RULE ? a->cfg : a->old_cfg;
		if (k->fixed == FW_FIX_NONE) {
			r = &cfg->rules[k->rule];
		} else {
			fw_krule_comment(cfg, k, comment);
			snprintf(what, sizeof(what), "%s", comment);
		}
		break;
	}
	case FW_CK_NEW_CTR:
		r = &a->cfg->rules[idx];
		break;
	case FW_CK_OLD_CTR:
		r = &a->old_cfg->rules[idx];
		break;
	default:
		break;
	}
	if (r) {
		*bad_rule = r->id;
		if (r->policy[0])
			snprintf(what, sizeof(what), "rule %" PRIu64 " (policy %s)", r->id,
			         r->policy);
		else
			snprintf(what, sizeof(what), "rule %" PRIu64, r->id);
	}
	snprintf(err, errlen, "%s: %s%s%s", what, strerror(-ret), e->ext_ack[0] ? ": " : "",
	         e->ext_ack);
}

/*
 * The encoders index tables by these enums and trust prefix lengths: a
 * config that did not come through conv_fw_from_pb (a test, a tool) is
 * checked for what would make them read out of bounds.
 */
static int config_check(const struct fw_config *cfg, char *err, size_t errlen, uint64_t *bad_rule)
{
	for (size_t i = 0; i < cfg->n_rules; i++) {
		const struct fw_rule *r = &cfg->rules[i];
		bool ok = r->dir <= FW_FORWARD && r->proto <= FW_ICMPV6 && r->action <= FW_REJECT &&
		          r->rate_unit <= FW_PER_HOUR &&
		          memchr(r->log_prefix, '\0', sizeof(r->log_prefix)) != NULL;

		for (size_t j = 0; ok && j < r->n_src + r->n_dst; j++) {
			const struct nf_prefix *p =
			    j < r->n_src ? &r->src[j] : &r->dst[j - r->n_src];

			ok = (p->family == AF_INET && p->len <= 32) ||
			     (p->family == AF_INET6 && p->len <= 128);
		}
		for (size_t j = 0; ok && j < r->n_ports; j++)
			ok = r->ports[j].first <= r->ports[j].last;
		if (!ok) {
			*bad_rule = r->id;
			snprintf(err, errlen, "rule %" PRIu64 ": not a valid rule", r->id);
			return -EINVAL;
		}
	}
	return 0;
}

int fw_agent_apply(struct fw_agent *fa, const struct fw_config *cfg, char *err, size_t errlen,
                   uint64_t *bad_rule)
{
	static const struct fw_config none;
	struct attempt a = {.fa = fa, .cfg = cfg};
	struct fw_config copy = {0};
	double t0 = now_ms(), t1;
	bool dumped = false;
	int ret;

	*bad_rule = 0;
	if (errlen)
		err[0] = '\0';
	ret = config_check(cfg, err, errlen, bad_rule);
	if (ret < 0)
		return ret;
	ret = fw_plan_expand(cfg, &a.new, &a.n_new);
	if (ret < 0)
		goto cleanup;
	/* Tags are never reused while the table lives: near the end of them, start a new table. */
	if (fa->tag_seq > UINT32_MAX - 2 * (uint32_t)a.n_new - 2)
		fa->known = false;
	if (fa->known) {
		a.old_cfg = &fa->applied;
		a.old = fa->kr;
		a.n_old = fa->n_kr;
		ret = attempt_run(&a);
		if (ret < 0 && !a.dup) {
			char why[256];
			uint64_t rule = 0;

			describe(&a, ret, why, sizeof(why), &rule);
			nf_warn("firewall revision %" PRIu64 ": the changes were refused (%s); "
			        "replacing the whole table instead",
			        cfg->revision, why);
		}
	}
	if (!fa->known || (ret < 0 && !a.dup)) {
		a = (struct attempt){.fa = fa, .cfg = cfg, .new = a.new, .n_new = a.n_new};
		a.old_cfg = &none;
		a.full = true;
		ret = attempt_run(&a);
	}
	t1 = now_ms();
	if (ret < 0) {
		describe(&a, ret, err, errlen, bad_rule);
		/* Lost answers leave the kernel's state unknown; a refusal leaves it as it was. */
		if (ret == -ENOBUFS || ret == -ETIMEDOUT)
			forget(fa);
		goto cleanup;
	}

	ret = config_copy(&copy, cfg);
	forget(fa);
	if (ret < 0) {
		/* The kernel has cfg but we cannot remember it: the next revision replaces it
		 * whole. */
		snprintf(err, errlen, "out of memory after the apply");
		goto cleanup;
	}
	fa->applied = copy;
	memset(&copy, 0, sizeof(copy));
	fa->kr = a.new;
	fa->n_kr = a.n_new;
	a.new = NULL;
	fa->known = true;
	for (size_t i = 0; i < fa->n_kr && fa->known; i++) {
		if (fa->kr[i].handle)
			continue;
		/* Echoes were not asked for (too many rules) or did not all come. */
		dumped = true;
		if (handles_dump(fa, &fa->applied, fa->kr, fa->n_kr) < 0) {
			nf_warn("firewall revision %" PRIu64 ": table inet %s holds rules netfn "
			        "did not put there; the next revision replaces it whole",
			        cfg->revision, fa->table);
			fa->known = false;
		}
		break;
	}
	nf_info("firewall revision %" PRIu64 " applied: %zu rules in %.1f ms", cfg->revision,
	        cfg->n_rules, t1 - t0);
	nf_debug("firewall revision %" PRIu64 ": %zu kernel rules, %zu messages%s: plan %.1f ms, "
	         "kernel %.1f ms, then %.1f ms%s",
	         cfg->revision, fa->n_kr, a.sent, a.full ? " (whole table)" : "", a.plan_ms,
	         a.kernel_ms, now_ms() - t1, dumped ? " with a dump for handles" : "");
	ret = 0;
cleanup:
	fw_config_free(&copy);
	free(a.new);
	return ret;
}

/* ---- counters ---- */

int fw_agent_counters(struct fw_agent *fa, struct fw_counter **out, size_t *n)
{
	struct nft_counter_val *v = NULL;
	size_t nv = 0, k = 0;
	int ret;

	*out = NULL;
	*n = 0;
	ret = nft_counters_read(fa->nft, NFPROTO_INET, fa->table, &v, &nv);
	if (ret < 0 || !nv)
		return ret;
	*out = calloc(nv, sizeof(**out));
	if (!*out) {
		free(v);
		return -ENOMEM;
	}
	/* Only the rules' own counters (r<id>); anything else in the table is skipped. */
	for (size_t i = 0; i < nv; i++) {
		if (!fw_counter_id(v[i].name, &(*out)[k].rule_id))
			continue;
		(*out)[k].packets = v[i].packets;
		(*out)[k].bytes = v[i].bytes;
		k++;
	}
	free(v);
	*n = k;
	return 0;
}

/* ---- teardown ---- */

int fw_agent_teardown(struct fw_agent *fa)
{
	struct nft_batch *b = NULL;
	struct nft_error e = {0};
	int ret;

	ret = nft_batch_new(fa->nft, &b);
	if (ret < 0)
		return ret;
	/* Adding it first makes the delete succeed whether or not the table exists. */
	ret = fw_nft_put_table(b, fa->table, NFT_MSG_NEWTABLE, FW_COOKIE(FW_CK_TABLE, 0));
	if (!ret)
		ret = fw_nft_put_table(b, fa->table, NFT_MSG_DELTABLE, FW_COOKIE(FW_CK_TABLE, 0));
	if (!ret)
		ret = nft_batch_commit(b, NULL, NULL, &e);
	nft_batch_free(b);
	if (ret < 0)
		nf_err("firewall: cannot delete table inet %s: %s%s%s", fa->table, strerror(-ret),
		       e.ext_ack[0] ? ": " : "", e.ext_ack);
	forget(fa);
	return ret;
}
