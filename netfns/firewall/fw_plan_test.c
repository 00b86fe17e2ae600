// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for fw_plan.c: which kernel rules a config expands to (keeps,
 * one rule per address family, nothing for a rule that matches nothing), and
 * what the diff between two configs sends: nothing for the same config, one
 * replace for one changed rule, inserts placed before their next kept
 * neighbour, deletes, the fewest moves for a reorder, counters created and
 * removed by rule id, and a repeated id refused. No kernel, no root.
 */
#include "netfns/firewall/fw_nft.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>

/* Adds a rule; src is a comma-separated prefix list, or NULL for any. */
static struct fw_rule *add(struct fw_config *c, uint64_t id, enum fw_dir dir, enum fw_proto proto,
                           enum fw_action act, const char *src)
{
	struct fw_rule *r;

	c->rules = realloc(c->rules, (c->n_rules + 1) * sizeof(*c->rules));
	r = &c->rules[c->n_rules++];
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->dir = dir;
	r->proto = proto;
	r->action = act;
	r->dst_any = true;
	r->src_any = src == NULL;
	if (src) {
		char *list = strdup(src), *save = NULL;

		for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			r->src = realloc(r->src, (r->n_src + 1) * sizeof(*r->src));
			CHECK(nf_prefix_parse(t, true, &r->src[r->n_src++]));
		}
		free(list);
	}
	return r;
}

static void ports(struct fw_rule *r, uint16_t first, uint16_t last)
{
	r->ports = realloc(r->ports, (r->n_ports + 1) * sizeof(*r->ports));
	r->ports[r->n_ports++] = (struct fw_port_range){first, last};
}

/* A deep copy, so a test can edit one config into the next. */
static void copy(struct fw_config *dst, const struct fw_config *src)
{
	*dst = *src;
	dst->rules = calloc(src->n_rules + 1, sizeof(*dst->rules));
	for (size_t i = 0; i < src->n_rules; i++) {
		const struct fw_rule *s = &src->rules[i];
		struct fw_rule *d = &dst->rules[i];

		*d = *s;
		d->src = calloc(s->n_src + 1, sizeof(*d->src));
		d->dst = calloc(s->n_dst + 1, sizeof(*d->dst));
		d->ports = calloc(s->n_ports + 1, sizeof(*d->ports));
		if (s->n_src)
			memcpy(d->src, s->src, s->n_src * sizeof(*d->src));
		if (s->n_dst)
			memcpy(d->dst, s->dst, s->n_dst * sizeof(*d->dst));
		if (s->n_ports)
			memcpy(d->ports, s->ports, s->n_ports * sizeof(*d->ports));
	}
}

/* Expands cfg and gives its rules handles 100, 101, ... as if applied. */
static struct fw_krule *applied(const struct fw_config *cfg, size_t *n)
{
	struct fw_krule *k = NULL;

	CHECK(fw_plan_expand(cfg, &k, n) == 0);
	for (size_t i = 0; i < *n; i++) {
		k[i].handle = 100 + i;
		k[i].tag = 2 * (uint32_t)(i + 1);
	}
	return k;
}

static size_t count_ops(const struct fw_diff *d, enum fw_op_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n_ops; i++)
		n += d->ops[i].kind == kind;
	return n;
}

/* One kernel rule as "chain:what", e.g. "input:lo", "input_rest:r1/4", "input:jump(input_rest)". */
static void krule_str(const struct fw_config *c, const struct fw_krule *k, char *buf, size_t len)
{
	static const char *const fixed[] = {
	    [FW_FIX_LOOPBACK] = "lo",    [FW_FIX_ESTABLISHED] = "est", [FW_FIX_WIREGUARD] = "wg",
	    [FW_FIX_CONTROLLER] = "ctl", [FW_FIX_SSH] = "ssh",         [FW_FIX_DENY] = "deny",
	    [FW_FIX_PICKUP] = "pickup",
	};
	char chain[FW_CHAIN_NAME_MAX], to[FW_CHAIN_NAME_MAX];

	fw_part_name(k->chain, k->part, k->part_id, chain);
	if (k->fixed == FW_FIX_NONE) {
		snprintf(buf, len, "%s:r%llu%s", chain, (unsigned long long)c->rules[k->rule].id,
		         k->family == NFPROTO_IPV4   ? "/4"
		         : k->family == NFPROTO_IPV6 ? "/6"
		                                     : "");
	} else if (k->fixed == FW_FIX_JUMP) {
		fw_part_name(k->chain, k->to_part, k->to_id, to);
		snprintf(buf, len, "%s:jump(%s)", chain, to);
	} else {
		snprintf(buf, len, "%s:%s", chain, fixed[k->fixed]);
	}
}

/* The whole list, space-separated. */
static const char *plan_str(const struct fw_config *c, const struct fw_krule *k, size_t n)
{
	static char buf[4096];
	char one[96];

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		krule_str(c, &k[i], one, sizeof(one));
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? " " : "", one);
	}
	return buf;
}

/* The diff's operations: "del input_rest:r3@105 ins input_rest:r9<106 rep input:wg@101 ...". */
static const char *ops_str(const struct fw_config *oc, const struct fw_krule *ok,
                           const struct fw_config *nc, const struct fw_krule *nk,
                           const struct fw_diff *d)
{
	static char buf[4096];
	char one[96];

	buf[0] = '\0';
	for (size_t i = 0; i < d->n_ops; i++) {
		const struct fw_op *op = &d->ops[i];

		if (op->kind == FW_OP_DELETE)
			krule_str(oc, &ok[op->idx], one, sizeof(one));
		else
			krule_str(nc, &nk[op->idx], one, sizeof(one));
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s %s%c%llu",
		         i ? " " : "",
		         op->kind == FW_OP_DELETE   ? "del"
		         : op->kind == FW_OP_INSERT ? "ins"
		                                    : "rep",
		         one, op->kind == FW_OP_INSERT ? '<' : '@', (unsigned long long)op->pos);
	}
	return buf;
}

#define CHECK_STR(got, want)                                                                       \
	do {                                                                                       \
		const char *g_ = (got);                                                            \
		CHECK(strcmp(g_, want) == 0);                                                      \
		if (strcmp(g_, want) != 0)                                                         \
			fprintf(stderr, "  got:  %s\n  want: %s\n", g_, want);                     \
	} while (0)

static void base(struct fw_config *c)
{
	memset(c, 0, sizeof(*c));
	c->revision = 1;
	add(c, 1, FW_IN, FW_TCP, FW_ACCEPT, "10.0.0.0/8,2001:db8::/32");
	add(c, 2, FW_IN, FW_TCP, FW_DROP, NULL);
	ports(&c->rules[1], 8081, 8081);
	add(c, 3, FW_IN, FW_UDP, FW_REJECT, "10.1.0.0/16");
	add(c, 4, FW_IN, FW_ICMP, FW_ACCEPT, NULL);
}

static void test_expand(void)
{
	struct fw_config c = {0};
	struct fw_krule *k = NULL;
	struct sockaddr_in *sin = (struct sockaddr_in *)&c.keep[0];
	size_t n = 0;

	c.default_deny = true;
	c.keep_ssh = true;
	c.wg_port = 51820;
	c.n_keep = 1;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(7001);
	add(&c, 1, FW_IN, FW_TCP, FW_ACCEPT, "10.0.0.0/8,2001:db8::/32"); /* two families */
	add(&c, 2, FW_IN, FW_ICMP, FW_ACCEPT, "2001:db8::/32");           /* icmp, v6 only: none */
	add(&c, 3, FW_IN, FW_ANY, FW_DROP, NULL)->src_any = false;        /* empty list: none */
	add(&c, 4, FW_OUT, FW_UDP, FW_DROP, NULL);                        /* out refuses: keeps */
	add(&c, 5, FW_FORWARD, FW_ANY, FW_ACCEPT, NULL);
	CHECK(fw_plan_expand(&c, &k, &n) == 0);
	/* Keeps first, then the parts, then what default deny keeps last; no established on output.
	 */
	CHECK_STR(plan_str(&c, k, n),
	          "input:lo input:wg input:ctl input:ssh input:jump(input_rest) input:est "
	          "input:pickup input:deny input_rest:r1/4 input_rest:r1/6 "
	          "output:lo output:wg output:ctl output:jump(output_rest) output_rest:r4 "
	          "forward:jump(forward_rest) forward_rest:r5");
	free(k);

	/* Without default deny and with accepts only, nothing is kept first. */
	c.default_deny = false;
	c.n_rules = 1;
	CHECK(fw_plan_expand(&c, &k, &n) == 0);
	CHECK_STR(plan_str(&c, k, n), "input:jump(input_rest) input_rest:r1/4 input_rest:r1/6");
	free(k);
	c.n_rules = 5;
	fw_config_free(&c);
}

static void test_same(void)
{
	struct fw_config a, b;
	struct fw_krule *ka, *kb;
	struct fw_diff d;
	uint64_t dup = 1;
	size_t na, nb;

	base(&a);
	copy(&b, &a);
	b.revision = 2;
	snprintf(b.rules[0].policy, sizeof(b.rules[0].policy), "renamed"); /* not in the kernel */
	ka = applied(&a, &na);
	CHECK(fw_plan_expand(&b, &kb, &nb) == 0);
	CHECK(fw_plan_diff(&a, ka, na, &b, kb, nb, &d, &dup) == 0 && dup == 0);
	CHECK(d.n_ops == 0 && d.n_add == 0 && d.n_del == 0);
	CHECK(d.n_add_parts == 0 && d.n_del_parts == 0);
	for (size_t i = 0; i < nb; i++)
		CHECK(kb[i].handle == 100 + i && kb[i].tag == 2 * (i + 1));
	fw_diff_free(&d);
	free(ka);
	free(kb);
	fw_config_free(&a);
	fw_config_free(&b);
}

static void test_change_insert_delete(void)
{
	struct fw_config a, b;
	struct fw_krule *ka, *kb;
	struct fw_diff d;
	uint64_t dup;
	size_t na, nb;

	base(&a);
	ka = applied(&a, &na);
	CHECK_STR(plan_str(&a, ka, na),
	          "input:lo input:jump(input_rest) input_rest:r1/4 "
	          "input_rest:r1/6 input_rest:r2 input_rest:r3/4 input_rest:r4");

	/* r2's port changes: one replace, in place, and nothing else. */
	copy(&b, &a);
	b.rules[1].ports[0].first = b.rules[1].ports[0].last = 8082;
	CHECK(fw_plan_expand(&b, &kb, &nb) == 0);
	CHECK(fw_plan_diff(&a, ka, na, &b, kb, nb, &d, &dup) == 0);
	CHECK_STR(ops_str(&a, ka, &b, kb, &d), "rep input_rest:r2@104");
	CHECK(d.ops[0].old == 4); /* whose set elements go */
	CHECK(d.n_add == 0 && d.n_del == 0);
	CHECK(kb[4].handle == 0 && kb[5].handle == 105 && kb[5].tag == 12);
	fw_diff_free(&d);
	free(kb);
	fw_config_free(&b);

	/* r9 between r2 and r4, r10 at the end, r3 gone. */
	memset(&b, 0, sizeof(b));
	add(&b, 1, FW_IN, FW_TCP, FW_ACCEPT, "10.0.0.0/8,2001:db8::/32");
	add(&b, 2, FW_IN, FW_TCP, FW_DROP, NULL);
	ports(&b.rules[1], 8081, 8081);
	add(&b, 9, FW_IN, FW_TCP, FW_DROP, NULL);
	add(&b, 4, FW_IN, FW_ICMP, FW_ACCEPT, NULL);
	add(&b, 10, FW_IN, FW_UDP, FW_DROP, NULL);
	CHECK(fw_plan_expand(&b, &kb, &nb) == 0);
	CHECK(fw_plan_diff(&a, ka, na, &b, kb, nb, &d, &dup) == 0);
	/* Inserts in chain order: r9 before r4 (handle 106), r10 appended. */
	CHECK_STR(ops_str(&a, ka, &b, kb, &d),
	          "del input_rest:r3/4@105 ins input_rest:r9<106 ins input_rest:r10<0");
	CHECK(d.n_add == 2 && b.rules[d.add[0]].id == 9 && b.rules[d.add[1]].id == 10);
	CHECK(d.n_del == 1 && a.rules[d.del[0]].id == 3);
	fw_diff_free(&d);
	free(kb);
	fw_config_free(&b);
	free(ka);
	fw_config_free(&a);
}

static void test_move_and_dir(void)
{
	struct fw_config a, b;
	struct fw_krule *ka, *kb;
	struct fw_diff d;
	struct fw_rule t;
	uint64_t dup;
	size_t na, nb;

	base(&a);
	ka = applied(&a, &na);

	/* r4 moves to the front: the other four stay, r4 is deleted and re-inserted first. */
	copy(&b, &a);
	t = b.rules[3];
	memmove(&b.rules[1], &b.rules[0], 3 * sizeof(t));
	b.rules[0] = t;
	CHECK(fw_plan_expand(&b, &kb, &nb) == 0);
	CHECK(fw_plan_diff(&a, ka, na, &b, kb, nb, &d, &dup) == 0);
	CHECK_STR(ops_str(&a, ka, &b, kb, &d), "del input_rest:r4@106 ins input_rest:r4<102");
	CHECK(d.n_add == 0 && d.n_del == 0); /* same ids: the counter stays */
	fw_diff_free(&d);
	free(kb);
	fw_config_free(&b);

	/* r2 goes from in to out: deleted from input, inserted into output, counter kept. */
	copy(&b, &a);
	b.rules[1].dir = FW_OUT;
	CHECK(fw_plan_expand(&b, &kb, &nb) == 0);
	CHECK(fw_plan_diff(&a, ka, na, &b, kb, nb, &d, &dup) == 0);
	/* The output chain now refuses: its keep comes first, then its part. */
	CHECK_STR(ops_str(&a, ka, &b, kb, &d), "del input_rest:r2@104 ins output:lo<0 "
	                                       "ins output:jump(output_rest)<0 "
	                                       "ins output_rest:r2<0");
	CHECK(d.n_add == 0 && d.n_del == 0);
	CHECK(d.n_add_parts == 1 && d.n_del_parts == 0);
	fw_diff_free(&d);
	free(kb);

	/* A repeated id is refused and named. */
	b.rules[2].id = 4;
	CHECK(fw_plan_expand(&b, &kb, &nb) == 0);
	CHECK(fw_plan_diff(&a, ka, na, &b, kb, nb, &d, &dup) == -EINVAL && dup == 4);
	free(kb);
	fw_config_free(&b);
	free(ka);
	fw_config_free(&a);
}

static void test_frame(void)
{
	struct fw_config a, b;
	struct fw_krule *ka, *kb;
	struct fw_diff d;
	uint64_t dup;
	size_t na, nb;

	base(&a);
	a.default_deny = true;
	a.wg_port = 51820;
	ka = applied(&a, &na);
	copy(&b, &a);
	b.wg_port = 51821;
	b.keep_ssh = true;
	CHECK(fw_plan_expand(&b, &kb, &nb) == 0);
	CHECK(fw_plan_diff(&a, ka, na, &b, kb, nb, &d, &dup) == 0);
	/* The WireGuard rule is replaced, SSH inserted before the jump; no user rule moves. */
	CHECK_STR(ops_str(&a, ka, &b, kb, &d), "ins input:ssh<102 rep input:wg@101");
	CHECK(d.n_add == 0 && d.n_del == 0);
	fw_diff_free(&d);
	free(kb);
	free(ka);
	fw_config_free(&a);
	fw_config_free(&b);
}

/* Parts: bounded, in order, one jump each; deleting the rule that ends one merges two. */
static void test_parts(void)
{
	struct fw_config a = {0}, b;
	struct fw_krule *ka, *kb;
	struct fw_rule gone;
	struct fw_diff d;
	size_t na, nb, parts = 0, longest = 0, run = 0, end_at = SIZE_MAX;
	uint64_t dup, end_id = 0;

	for (uint64_t id = 1; id <= 3000; id++)
		add(&a, id, FW_IN, FW_TCP, FW_DROP, NULL);
	ka = applied(&a, &na);
	for (size_t i = 0; i < na; i++) {
		if (ka[i].fixed == FW_FIX_JUMP) {
			parts++;
			continue;
		}
		CHECK(ka[i].fixed != FW_FIX_NONE || ka[i].part != FW_PART_BASE);
		run = i && ka[i - 1].part_id == ka[i].part_id && ka[i - 1].part == ka[i].part
		          ? run + 1
		          : 1;
		longest = run > longest ? run : longest;
		/* The user rules run in config order across the parts. */
		if (i && ka[i].fixed == FW_FIX_NONE && ka[i - 1].fixed == FW_FIX_NONE)
			CHECK(a.rules[ka[i].rule].id == a.rules[ka[i - 1].rule].id + 1);
		if (ka[i].part == FW_PART_ENDS && end_at == SIZE_MAX) {
			end_id = ka[i].part_id;
			end_at = (size_t)end_id - 1;
		}
	}
	printf("  3000 rules: %zu parts, the longest %zu rules\n", parts, longest);
	CHECK(parts > 3 && parts < 40 && longest < 3 * FW_PART_SIZE);
	CHECK(end_at != SIZE_MAX);

	/* The first part's last rule goes: that part and the next become one. */
	copy(&b, &a);
	gone = b.rules[end_at];
	memmove(&b.rules[end_at], &b.rules[end_at + 1],
	        (b.n_rules - end_at - 1) * sizeof(b.rules[0]));
	b.n_rules--;
	CHECK(fw_plan_expand(&b, &kb, &nb) == 0);
	CHECK(fw_plan_diff(&a, ka, na, &b, kb, nb, &d, &dup) == 0);
	CHECK(d.n_del_parts == 1 && d.n_add_parts == 0 && ka[d.del_parts[0]].to_id == end_id);
	CHECK(count_ops(&d, FW_OP_DELETE) == end_id + 1); /* its rules and its jump */
	CHECK(count_ops(&d, FW_OP_INSERT) == end_id - 1);
	fw_diff_free(&d);
	free(kb);
	b.rules[b.n_rules++] = gone; /* so that each rule's lists are freed once */
	fw_config_free(&b);
	free(ka);
	fw_config_free(&a);
}

static void test_names(void)
{
	char name[FW_COUNTER_NAME_MAX];
	uint64_t id = 0;

	fw_counter_name(18446744073709551615ULL, name);
	CHECK(strcmp(name, "r18446744073709551615") == 0);
	CHECK(fw_counter_id(name, &id) && id == 18446744073709551615ULL);
	CHECK(!fw_counter_id("r", &id) && !fw_counter_id("x1", &id) && !fw_counter_id("r1x", &id));
	CHECK(!fw_counter_id("r-1", &id));
}

int main(void)
{
	test_expand();
	test_same();
	test_change_insert_delete();
	test_move_and_dir();
	test_frame();
	test_parts();
	test_names();
	return check_result();
}
