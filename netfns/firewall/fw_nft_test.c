// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the batch the agent sends: a small config is built into a
 * batch (no socket) and every message is parsed back with libnftnl's own
 * parsers: the table replaced, three base chains, one named counter per
 * rule, anonymous sets with their interval encoding, rules in order with
 * their comments and expressions, one sequence number per message. Then a
 * one-rule change, which must be one replace and nothing else.
 */
#include "netfns/firewall/fw_nft.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#define MAX_SEEN 64

/* What the batch held, in order. */
struct seen {
	size_t n;
	uint16_t type[MAX_SEEN];
	uint16_t flags[MAX_SEEN];
	uint32_t seq[MAX_SEEN];
	char text[MAX_SEEN][512]; /* a summary per message */
};

static int add_prefix(struct fw_rule *r, bool src, const char *s)
{
	struct nf_prefix **v = src ? &r->src : &r->dst;
	size_t *n = src ? &r->n_src : &r->n_dst;

	*v = realloc(*v, (*n + 1) * sizeof(**v));
	return nf_prefix_parse(s, true, &(*v)[(*n)++]) ? 0 : -1;
}

static void config(struct fw_config *c)
{
	struct fw_rule *r;

	memset(c, 0, sizeof(*c));
	c->revision = 7;
	c->default_deny = true;
	c->keep_ssh = true;
	c->wg_port = 51820;
	c->n_rules = 3;
	c->rules = calloc(3, sizeof(*c->rules));
	r = &c->rules[0]; /* ip saddr {10/8, 192.168.1/24} tcp dport {80, 443, 8000-8100} accept */
	r->id = 11;
	r->proto = FW_TCP;
	r->dst_any = true;
	add_prefix(r, true, "10.0.0.0/8");
	add_prefix(r, true, "192.168.1.0/24");
	r->n_ports = 3;
	r->ports = calloc(3, sizeof(*r->ports));
	r->ports[0] = (struct fw_port_range){443, 443};
	r->ports[1] = (struct fw_port_range){80, 80};
	r->ports[2] = (struct fw_port_range){8000, 8100};
	r = &c->rules[1]; /* tcp dport 8082 log reject with tcp reset */
	r->id = 12;
	r->proto = FW_TCP;
	r->action = FW_REJECT;
	r->src_any = r->dst_any = true;
	r->n_ports = 1;
	r->ports = calloc(1, sizeof(*r->ports));
	r->ports[0] = (struct fw_port_range){8082, 8082};
	strcpy(r->log_prefix, "nf-rej ");
	r = &c->rules[2]; /* udp from two adjacent hosts, 10/minute, icmpx reject */
	r->id = 13;
	r->proto = FW_UDP;
	r->action = FW_REJECT;
	r->dst_any = true;
	add_prefix(r, true, "10.1.2.3");
	add_prefix(r, true, "10.1.2.4");
	r->rate = 10;
	r->rate_unit = FW_PER_MINUTE;
}

static int expr_cb(struct nftnl_expr *e, void *data)
{
	char *text = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	strncat(text, " ", 511 - strlen(text));
	strncat(text, name, 511 - strlen(text));
	if (!strcmp(name, "objref")) {
		strncat(text, ":", 511 - strlen(text));
		strncat(text, nftnl_expr_get_str(e, NFTNL_EXPR_OBJREF_IMM_NAME),
		        511 - strlen(text));
	} else if (!strcmp(name, "reject")) {
		strncat(text,
		        nftnl_expr_get_u32(e, NFTNL_EXPR_REJECT_TYPE) == NFT_REJECT_TCP_RST
		            ? ":rst"
		            : ":icmpx",
		        511 - strlen(text));
	} else if (!strcmp(name, "limit")) {
		strncat(text, nftnl_expr_get_u64(e, NFTNL_EXPR_LIMIT_UNIT) == 60 ? ":min" : ":?",
		        511 - strlen(text));
	}
	return 0;
}

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT)
		snprintf(data, 64, "%s", (const char *)nftnl_udata_get(attr));
	return 0;
}

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_get_type(attr) < 16)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

/*
 * Reads a NEWSETELEM/DELSETELEM message by hand: libnftnl numbers the nests of the
 * elements it builds 1, 2, ... and its own parser accepts only type 1
 * (NFTA_LIST_ELEM), so it cannot read back more than one element. The
 * kernel does not look at the nest type.
 */
static void elems_summarise(const struct nlmsghdr *nlh, char *text)
{
	const struct nlattr *tb[16] = {0};
	const struct nlattr *e;

	CHECK(mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, tb) >= 0);
	CHECK(tb[NFTA_SET_ELEM_LIST_SET] && tb[NFTA_SET_ELEM_LIST_ELEMENTS]);
	if (!tb[NFTA_SET_ELEM_LIST_SET] || !tb[NFTA_SET_ELEM_LIST_ELEMENTS])
		return;
	snprintf(text, 512,
	         "%s %s:", (nlh->nlmsg_type & 0xff) == NFT_MSG_NEWSETELEM ? "elems" : "delelems",
	         mnl_attr_get_str(tb[NFTA_SET_ELEM_LIST_SET]));
	mnl_attr_for_each_nested(e, tb[NFTA_SET_ELEM_LIST_ELEMENTS])
	{
		const struct nlattr *el[16] = {0}, *key[16] = {0};
		const uint8_t *k;
		char buf[64] = " ";
		uint16_t len;

		CHECK(mnl_attr_parse_nested(e, attr_cb, el) >= 0 && el[NFTA_SET_ELEM_KEY]);
		if (!el[NFTA_SET_ELEM_KEY])
			continue;
		CHECK(mnl_attr_parse_nested(el[NFTA_SET_ELEM_KEY], attr_cb, key) >= 0 &&
		      key[NFTA_DATA_VALUE]);
		k = mnl_attr_get_payload(key[NFTA_DATA_VALUE]);
		len = mnl_attr_get_payload_len(key[NFTA_DATA_VALUE]);
		for (uint16_t i = 0; i < len && i < 24; i++)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%02x", k[i]);
		strncat(text, buf, 511 - strlen(text));
		if (el[NFTA_SET_ELEM_FLAGS] &&
		    ntohl(mnl_attr_get_u32(el[NFTA_SET_ELEM_FLAGS])) & NFT_SET_ELEM_INTERVAL_END)
			strncat(text, "e", 511 - strlen(text));
	}
}

/* Parses one message into a one-line summary. */
static void summarise(const struct nlmsghdr *nlh, char *text)
{
	uint16_t type = nlh->nlmsg_type & 0xff;

	text[0] = '\0';
	if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN) {
		strcpy(text, "begin");
	} else if (type == NFT_MSG_NEWTABLE || type == NFT_MSG_DELTABLE) {
		struct nftnl_table *t = nftnl_table_alloc();

		CHECK(nftnl_table_nlmsg_parse(nlh, t) == 0);
		snprintf(text, 512, "%s %s %u", type == NFT_MSG_NEWTABLE ? "table" : "deltable",
		         nftnl_table_get_str(t, NFTNL_TABLE_NAME),
		         nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY));
		nftnl_table_free(t);
	} else if (type == NFT_MSG_NEWCHAIN) {
		struct nftnl_chain *c = nftnl_chain_alloc();

		CHECK(nftnl_chain_nlmsg_parse(nlh, c) == 0);
		snprintf(text, 512, "chain %s hook %u %s policy %u",
		         nftnl_chain_get_str(c, NFTNL_CHAIN_NAME),
		         nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM),
		         nftnl_chain_is_set(c, NFTNL_CHAIN_TYPE)
		             ? nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE)
		             : "-",
		         nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY));
		nftnl_chain_free(c);
	} else if (type == NFT_MSG_NEWOBJ || type == NFT_MSG_DELOBJ) {
		struct nftnl_obj *o = nftnl_obj_alloc();

		CHECK(nftnl_obj_nlmsg_parse(nlh, o) == 0);
		snprintf(
		    text, 512, "%s %s type %u", type == NFT_MSG_NEWOBJ ? "counter" : "delcounter",
		    nftnl_obj_get_str(o, NFTNL_OBJ_NAME), nftnl_obj_get_u32(o, NFTNL_OBJ_TYPE));
		nftnl_obj_free(o);
	} else if (type == NFT_MSG_NEWSET) {
		struct nftnl_set *s = nftnl_set_alloc();

		CHECK(nftnl_set_nlmsg_parse(nlh, s) == 0);
		snprintf(text, 512, "set %s id %u flags %u len %u",
		         nftnl_set_get_str(s, NFTNL_SET_NAME), nftnl_set_get_u32(s, NFTNL_SET_ID),
		         nftnl_set_get_u32(s, NFTNL_SET_FLAGS),
		         nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN));
		nftnl_set_free(s);
	} else if (type == NFT_MSG_NEWSETELEM || type == NFT_MSG_DELSETELEM) {
		elems_summarise(nlh, text);
	} else if (type == NFT_MSG_NEWRULE || type == NFT_MSG_DELRULE) {
		struct nftnl_rule *r = nftnl_rule_alloc();
		char comment[64] = "";
		uint32_t len = 0;
		const void *ud;

		CHECK(nftnl_rule_nlmsg_parse(nlh, r) == 0);
		ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
		if (ud)
			nftnl_udata_parse(ud, len, comment_cb, comment);
		snprintf(text, 512, "%s %s [%s]", type == NFT_MSG_NEWRULE ? "rule" : "delrule",
		         nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), comment);
		if (nftnl_rule_is_set(r, NFTNL_RULE_HANDLE))
			snprintf(text + strlen(text), 64, " handle %llu",
			         (unsigned long long)nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE));
		if (nftnl_rule_is_set(r, NFTNL_RULE_POSITION))
			snprintf(text + strlen(text), 64, " before %llu",
			         (unsigned long long)nftnl_rule_get_u64(r, NFTNL_RULE_POSITION));
		strcat(text, ":");
		nftnl_expr_foreach(r, expr_cb, text);
		nftnl_rule_free(r);
	} else {
		snprintf(text, 512, "type %u", nlh->nlmsg_type);
	}
}

static void read_back(struct nft_batch *b, struct seen *s)
{
	const struct nlmsghdr *nlh;
	size_t len = 0;
	int left;

	memset(s, 0, sizeof(*s));
	nlh = nft_batch_data(b, &len);
	left = (int)len;
	for (; mnl_nlmsg_ok(nlh, left) && s->n < MAX_SEEN; nlh = mnl_nlmsg_next(nlh, &left)) {
		s->type[s->n] = nlh->nlmsg_type & 0xff;
		s->flags[s->n] = nlh->nlmsg_flags;
		s->seq[s->n] = nlh->nlmsg_seq;
		summarise(nlh, s->text[s->n]);
		s->n++;
	}
	CHECK(left == 0);
}

/* The index of the first message whose summary starts with prefix, or -1. */
static int find(const struct seen *s, const char *prefix)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strncmp(s->text[i], prefix, strlen(prefix)))
			return (int)i;
	return -1;
}

static int count(const struct seen *s, const char *prefix)
{
	int n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += !strncmp(s->text[i], prefix, strlen(prefix));
	return n;
}

/* The index of the kernel rule of user rule idx (its first family). */
static size_t user_at(const struct fw_krule *k, size_t n, size_t idx)
{
	for (size_t i = 0; i < n; i++)
		if (k[i].fixed == FW_FIX_NONE && k[i].rule == idx)
			return i;
	return n;
}

static void test_full(void)
{
	static const struct fw_config none;
	struct fw_config c;
	struct fw_krule *k = NULL;
	struct nft_batch *b = NULL;
	struct fw_diff d;
	struct seen s;
	uint64_t dup;
	uint32_t tag_seq = 0, t;
	char want[256];
	size_t n = 0;
	int i;

	config(&c);
	CHECK(fw_plan_expand(&c, &k, &n) == 0);
	/* input: lo, wg, ssh, jump, established, pickup, deny; input_rest: r11, r12, r13 */
	CHECK(n == 10);
	CHECK(fw_plan_diff(&none, NULL, 0, &c, k, n, &d, &dup) == 0);
	CHECK(nft_batch_new(NULL, &b) == 0);
	CHECK(fw_nft_put_plan(b, "netfn", true, &none, NULL, &c, k, &d, 128, &tag_seq) == 0);
	read_back(b, &s);
	for (size_t j = 0; j < s.n; j++)
		printf("  %2zu seq %u: %s\n", j, s.seq[j], s.text[j]);

	CHECK(!strcmp(s.text[0], "begin"));
	for (size_t j = 1; j < s.n; j++)
		CHECK(s.seq[j] == s.seq[j - 1] + 1); /* one sequence number per message */
	CHECK(!strcmp(s.text[1], "table netfn 1") && !strcmp(s.text[2], "deltable netfn 1") &&
	      !strcmp(s.text[3], "table netfn 1"));
	CHECK(!strcmp(s.text[4], "chain input hook 1 filter policy 1"));
	CHECK(!strcmp(s.text[5], "chain output hook 3 filter policy 1"));
	CHECK(!strcmp(s.text[6], "chain forward hook 2 filter policy 1"));
	CHECK(!strcmp(s.text[7], "chain input_rest hook 0 - policy 0")); /* a part: no hook */
	CHECK(count(&s, "counter r1") == 3 && find(&s, "counter r11 type 1") == 8);
	CHECK(count(&s, "rule ") == 10);
	CHECK(find(&s, "rule input [netfn: loopback]: meta cmp immediate") > 0);
	CHECK(find(&s, "rule input [netfn: wireguard]: meta cmp payload cmp immediate") > 0);
	CHECK(find(&s, "rule input [netfn: ssh]: meta cmp payload cmp immediate") > 0);
	CHECK(find(&s, "rule input [netfn: rules]: immediate") > 0);
	/* r11: family, protocol, tag and address looked up, tag and port looked up, counter,
	 * accept. */
	CHECK(find(&s, "rule input_rest [rule 11]: meta cmp meta cmp immediate payload lookup "
	               "immediate payload lookup objref:r11 immediate") > 0);
	CHECK(
	    find(&s, "rule input_rest [rule 12]: meta cmp payload cmp objref:r12 log reject:rst") >
	    0);
	/* r13: two adjacent hosts merge into one range, no set. */
	CHECK(find(&s, "rule input_rest [rule 13]: meta cmp meta cmp payload range limit:min "
	               "objref:r13 reject:icmpx") > 0);
	i = find(&s, "rule input [netfn: established]: ct bitwise cmp immediate");
	CHECK(i > 0 && !strcmp(s.text[i + 1], "rule input [netfn: established before conntrack]: "
	                                      "ct bitwise cmp meta cmp payload bitwise cmp "
	                                      "immediate"));
	CHECK(!strcmp(s.text[i + 2], "rule input [netfn: default deny]: counter immediate"));
	/*
	 * Each range is a start element tag|lo and an end element tag|hi+1, in
	 * the rule's bucket; ports sit in a 4-byte register, two zero bytes after.
	 */
	t = k[user_at(k, n, 0)].tag;
	CHECK(t && t % 2 == 0);
	snprintf(want, sizeof(want), "set src4_%u id %u flags 4 len 8", fw_set_bucket(t),
	         fw_set_bucket(t) + 1);
	i = find(&s, want);
	snprintf(want, sizeof(want),
	         "elems src4_%u: %08x0a000000 %08x0b000000e %08xc0a80100 %08xc0a80200e",
	         fw_set_bucket(t), t, t, t, t);
	CHECK(i > 0 && !strcmp(s.text[i + 1], want));
	snprintf(want, sizeof(want), "set dport_%u id %u flags 4 len 8", fw_set_bucket(t),
	         4 * FW_SET_BUCKETS + fw_set_bucket(t) + 1);
	i = find(&s, want);
	snprintf(want, sizeof(want),
	         "elems dport_%u: %08x00500000 %08x00500001e %08x01bb0000 %08x01bb0001e "
	         "%08x1f400000 %08x1fa40001e",
	         fw_set_bucket(t), t, t, t, t, t, t);
	CHECK(i > 0 && !strcmp(s.text[i + 1], want));
	CHECK(count(&s, "set ") == 2);
	/* Elements come before the rule that looks them up. */
	CHECK(i < find(&s, "rule input_rest [rule 11]"));
	for (size_t j = 1; j < s.n; j++)
		if (s.type[j] == NFT_MSG_NEWRULE)
			CHECK((s.flags[j] & NLM_F_APPEND) && (s.flags[j] & NLM_F_ECHO));

	/* Past echo_max no echo is asked for (the agent dumps the handles instead). */
	nft_batch_free(b);
	CHECK(nft_batch_new(NULL, &b) == 0);
	CHECK(fw_nft_put_plan(b, "netfn", true, &none, NULL, &c, k, &d, 2, &tag_seq) == 0);
	read_back(b, &s);
	for (size_t j = 1; j < s.n; j++)
		if (s.type[j] == NFT_MSG_NEWRULE)
			CHECK(!(s.flags[j] & NLM_F_ECHO));
	fw_diff_free(&d);
	nft_batch_free(b);
	free(k);
	fw_config_free(&c);
}

static void test_change(void)
{
	struct fw_config a, c;
	struct fw_krule *ka = NULL, *kc = NULL;
	struct nft_batch *b = NULL;
	struct fw_diff d;
	struct seen s;
	uint64_t dup;
	uint32_t tag_seq = 0;
	size_t na = 0, nc = 0;

	config(&a);
	CHECK(fw_plan_expand(&a, &ka, &na) == 0);
	for (size_t i = 0; i < na; i++)
		ka[i].handle = 40 + i;

	/* r12 moves to port 8083; r13 goes. */
	config(&c);
	c.rules[1].ports[0] = (struct fw_port_range){8083, 8083};
	c.n_rules = 2;
	CHECK(fw_plan_expand(&c, &kc, &nc) == 0);
	CHECK(fw_plan_diff(&a, ka, na, &c, kc, nc, &d, &dup) == 0);
	CHECK(nft_batch_new(NULL, &b) == 0);
	CHECK(fw_nft_put_plan(b, "netfn", false, &a, ka, &c, kc, &d, 128, &tag_seq) == 0);
	read_back(b, &s);
	for (size_t j = 0; j < s.n; j++)
		printf("  %2zu: %s\n", j, s.text[j]);
	CHECK(s.n == 4);
	CHECK(!strcmp(s.text[1], "delrule input_rest [] handle 49:"));
	CHECK(!strncmp(s.text[2], "rule input_rest [rule 12] handle 48:", 36) &&
	      (s.flags[2] & NLM_F_REPLACE));
	CHECK(!strcmp(s.text[3], "delcounter r13 type 1"));
	nft_batch_free(b);
	fw_diff_free(&d);
	free(ka);
	free(kc);
	c.n_rules = 3;
	fw_config_free(&c);
	fw_config_free(&a);
}

/* Ranges reaching the top need no end element; a list covering everything no match at all. */
static void test_edges(void)
{
	static const struct fw_config none;
	struct fw_config c = {0};
	struct fw_krule *k = NULL;
	struct nft_batch *b = NULL;
	struct fw_diff d;
	struct seen s;
	uint64_t dup;
	uint32_t tag_seq = 0, t;
	char want[256];
	size_t n = 0;
	int i;

	c.n_rules = 1;
	c.rules = calloc(1, sizeof(*c.rules));
	c.rules[0].id = 5;
	c.rules[0].proto = FW_UDP;
	c.rules[0].dst_any = true;
	add_prefix(&c.rules[0], true, "0.0.0.0/1");
	add_prefix(&c.rules[0], true, "128.0.0.0/1");
	c.rules[0].n_ports = 2;
	c.rules[0].ports = calloc(2, sizeof(*c.rules[0].ports));
	c.rules[0].ports[0] = (struct fw_port_range){65000, 65535};
	c.rules[0].ports[1] = (struct fw_port_range){1, 1};
	CHECK(fw_plan_expand(&c, &k, &n) == 0 && n == 2); /* a jump and the rule */
	CHECK(fw_plan_diff(&none, NULL, 0, &c, k, n, &d, &dup) == 0);
	CHECK(nft_batch_new(NULL, &b) == 0);
	CHECK(fw_nft_put_plan(b, "t", false, &none, NULL, &c, k, &d, 128, &tag_seq) == 0);
	read_back(b, &s);
	/* The two halves of IPv4 are all of it: only nfproto is matched, then udp and the ports. */
	i = find(&s, "rule input_rest [rule 5]: meta cmp meta cmp immediate payload lookup "
	             "objref:r5 immediate");
	CHECK(i > 0);
	t = k[user_at(k, n, 0)].tag;
	snprintf(want, sizeof(want),
	         "elems dport_%u: %08x00010000 %08x00010001e %08xfde80000 %08xffff0001e",
	         fw_set_bucket(t), t, t, t, t);
	i = find(&s, "elems dport_");
	CHECK(i > 0 && !strcmp(s.text[i], want));
	nft_batch_free(b);
	fw_diff_free(&d);

	/* A range up to the top of the addresses ends in the next (odd, unused) tag. */
	add_prefix(&c.rules[0], false, "255.255.255.0/24");
	add_prefix(&c.rules[0], false, "10.0.0.0/8");
	c.rules[0].dst_any = false;
	CHECK(fw_plan_diff(&none, NULL, 0, &c, k, n, &d, &dup) == 0);
	CHECK(nft_batch_new(NULL, &b) == 0);
	tag_seq = 0;
	CHECK(fw_nft_put_plan(b, "t", false, &none, NULL, &c, k, &d, 128, &tag_seq) == 0);
	read_back(b, &s);
	t = k[user_at(k, n, 0)].tag;
	snprintf(want, sizeof(want),
	         "elems dst4_%u: %08x0a000000 %08x0b000000e %08xffffff00 %08x00000000e",
	         fw_set_bucket(t), t, t, t, t + 1);
	i = find(&s, "elems dst4_");
	CHECK(i > 0 && !strcmp(s.text[i], want));
	/* Deleting the rule deletes the same elements. */
	nft_batch_free(b);
	CHECK(nft_batch_new(NULL, &b) == 0);
	CHECK(fw_nft_put_elems(b, "t", &c, &k[user_at(k, n, 0)], false, NULL, 0) == 0);
	read_back(b, &s);
	CHECK(s.n == 3 && !strncmp(s.text[1], "delelems dst4_", 14) &&
	      !strcmp(strchr(s.text[1], ':'), strchr(want, ':')) &&
	      !strncmp(s.text[2], "delelems dport_", 15));
	nft_batch_free(b);
	fw_diff_free(&d);
	free(k);
	fw_config_free(&c);
}

int main(void)
{
	test_full();
	test_change();
	test_edges();
	return check_result();
}
