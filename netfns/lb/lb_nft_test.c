// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for lb_nft.c (no root): a config is built into a batch with no
 * socket and every message is parsed back with libnftnl's parsers (set
 * elements by hand, see elems_summarise): the table and nat base chains
 * created without EXCL, one flush of the table's rules, chains and counters
 * before the rules naming them, each backend's rule, each frontend's map
 * with weights as intervals and down backends left out, a reject when none
 * is up, the entry and masquerade rules, and what the table held beyond the
 * config deleted last. Also the names of counters, both ways.
 */
#include "netfns/lb/lb_nft.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
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

#define MAX_SEEN 128
#define TEXT     512

/* What the batch held, in order. */
struct seen {
	size_t n;
	uint16_t type[MAX_SEEN];
	uint16_t flags[MAX_SEEN];
	uint32_t seq[MAX_SEEN];
	char text[MAX_SEEN][TEXT];
};

/* Appends to text, a buffer of size bytes. */
static void cat(char *text, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cat(char *text, size_t size, const char *fmt, ...)
{
	size_t len = strlen(text);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text + len, size - len, fmt, ap);
	va_end(ap);
}

static int expr_cb(struct nftnl_expr *e, void *data)
{
	char *text = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	uint32_t len = 0;
	const uint8_t *d;

	cat(text, TEXT, " %s", name);
	if (!strcmp(name, "objref")) {
		cat(text, TEXT, ":%s", nftnl_expr_get_str(e, NFTNL_EXPR_OBJREF_IMM_NAME));
	} else if (!strcmp(name, "numgen")) {
		cat(text, TEXT, ":%s:%u",
		    nftnl_expr_get_u32(e, NFTNL_EXPR_NG_TYPE) == NFT_NG_RANDOM ? "random" : "inc",
		    nftnl_expr_get_u32(e, NFTNL_EXPR_NG_MODULUS));
	} else if (!strcmp(name, "hash")) {
		cat(text, TEXT, ":%u:%08x", nftnl_expr_get_u32(e, NFTNL_EXPR_HASH_MODULUS),
		    nftnl_expr_get_u32(e, NFTNL_EXPR_HASH_SEED));
	} else if (!strcmp(name, "lookup")) {
		cat(text, TEXT, ":%s:%u", nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET),
		    nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_SET_ID));
	} else if (!strcmp(name, "reject")) {
		cat(text, TEXT, ":%s",
		    nftnl_expr_get_u32(e, NFTNL_EXPR_REJECT_TYPE) == NFT_REJECT_TCP_RST ? "rst"
		                                                                        : "icmp");
	} else if (!strcmp(name, "immediate")) {
		if (nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN)) {
			cat(text, TEXT, ":%s", nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN));
		} else if ((d = nftnl_expr_get(e, NFTNL_EXPR_IMM_DATA, &len))) {
			cat(text, TEXT, ":");
			for (uint32_t i = 0; i < len; i++)
				cat(text, TEXT, "%02x", d[i]);
		}
	} else if (!strcmp(name, "cmp")) {
		d = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);
		cat(text, TEXT, "%s",
		    nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP) == NFT_CMP_NEQ ? "!" : "");
		cat(text, TEXT, ":");
		for (uint32_t i = 0; d && i < len; i++)
			cat(text, TEXT, "%02x", d[i]);
	} else if (!strcmp(name, "nat")) {
		cat(text, TEXT, ":%s",
		    nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_TYPE) == NFT_NAT_DNAT ? "dnat" : "snat");
	}
	return 0;
}

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT)
		snprintf(data, 96, "%s", (const char *)nftnl_udata_get(attr));
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
 * Reads a NEWSETELEM message by hand: libnftnl numbers the nests of the
 * elements it builds 1, 2, ... and its own parser reads only the first.
 * Prints each element as its key, then ">chain" or "e" (interval end).
 */
static void elems_summarise(const struct nlmsghdr *nlh, char *text, size_t size)
{
	const struct nlattr *tb[16] = {0};
	const struct nlattr *e;

	CHECK(mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, tb) >= 0);
	if (!tb[NFTA_SET_ELEM_LIST_SET] || !tb[NFTA_SET_ELEM_LIST_ELEMENTS]) {
		CHECK(false);
		return;
	}
	snprintf(text, size, "elems %s id %u:", mnl_attr_get_str(tb[NFTA_SET_ELEM_LIST_SET]),
	         tb[NFTA_SET_ELEM_LIST_SET_ID]
	             ? ntohl(mnl_attr_get_u32(tb[NFTA_SET_ELEM_LIST_SET_ID]))
	             : 0);
	mnl_attr_for_each_nested(e, tb[NFTA_SET_ELEM_LIST_ELEMENTS])
	{
		const struct nlattr *el[16] = {0}, *key[16] = {0}, *data[16] = {0}, *v[16] = {0};

		CHECK(mnl_attr_parse_nested(e, attr_cb, el) >= 0 && el[NFTA_SET_ELEM_KEY]);
		if (!el[NFTA_SET_ELEM_KEY] ||
		    mnl_attr_parse_nested(el[NFTA_SET_ELEM_KEY], attr_cb, key) < 0 ||
		    !key[NFTA_DATA_VALUE] || mnl_attr_get_payload_len(key[NFTA_DATA_VALUE]) != 4) {
			CHECK(false);
			continue;
		}
		cat(text, size, " %u", ntohl(mnl_attr_get_u32(key[NFTA_DATA_VALUE])));
		if (el[NFTA_SET_ELEM_FLAGS] &&
		    ntohl(mnl_attr_get_u32(el[NFTA_SET_ELEM_FLAGS])) & NFT_SET_ELEM_INTERVAL_END)
			cat(text, size, "e");
		if (el[NFTA_SET_ELEM_DATA] &&
		    mnl_attr_parse_nested(el[NFTA_SET_ELEM_DATA], attr_cb, data) >= 0 &&
		    data[NFTA_DATA_VERDICT] &&
		    mnl_attr_parse_nested(data[NFTA_DATA_VERDICT], attr_cb, v) >= 0 &&
		    v[NFTA_VERDICT_CODE] && v[NFTA_VERDICT_CHAIN] &&
		    (int32_t)ntohl(mnl_attr_get_u32(v[NFTA_VERDICT_CODE])) == NFT_JUMP)
			cat(text, size, ">%s", mnl_attr_get_str(v[NFTA_VERDICT_CHAIN]));
	}
}

/* Parses one message into a one-line summary. */
static void summarise(const struct nlmsghdr *nlh, char *text)
{
	uint16_t type = nlh->nlmsg_type & 0xff;
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);

	text[0] = '\0';
	if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN) {
		strcpy(text, "begin");
		return;
	}
	/* Every message is for family ip. */
	CHECK(nfg->nfgen_family == NFPROTO_IPV4);
	if (type == NFT_MSG_NEWTABLE || type == NFT_MSG_DELTABLE) {
		struct nftnl_table *t = nftnl_table_alloc();

		CHECK(nftnl_table_nlmsg_parse(nlh, t) == 0);
		snprintf(text, TEXT, "%s %s", type == NFT_MSG_NEWTABLE ? "table" : "deltable",
		         nftnl_table_get_str(t, NFTNL_TABLE_NAME));
		nftnl_table_free(t);
	} else if (type == NFT_MSG_NEWCHAIN || type == NFT_MSG_DELCHAIN) {
		struct nftnl_chain *c = nftnl_chain_alloc();

		CHECK(nftnl_chain_nlmsg_parse(nlh, c) == 0);
		snprintf(text, TEXT, "%s %s", type == NFT_MSG_NEWCHAIN ? "chain" : "delchain",
		         nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
		if (nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM))
			cat(text, TEXT, " %s hook %u prio %d",
			    nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE),
			    nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM),
			    nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO));
		nftnl_chain_free(c);
	} else if (type == NFT_MSG_NEWOBJ || type == NFT_MSG_DELOBJ) {
		struct nftnl_obj *o = nftnl_obj_alloc();

		CHECK(nftnl_obj_nlmsg_parse(nlh, o) == 0);
		CHECK(nftnl_obj_get_u32(o, NFTNL_OBJ_TYPE) == NFT_OBJECT_COUNTER);
		snprintf(text, TEXT, "%s %s", type == NFT_MSG_NEWOBJ ? "counter" : "delcounter",
		         nftnl_obj_get_str(o, NFTNL_OBJ_NAME));
		nftnl_obj_free(o);
	} else if (type == NFT_MSG_NEWSET) {
		struct nftnl_set *s = nftnl_set_alloc();

		CHECK(nftnl_set_nlmsg_parse(nlh, s) == 0);
		snprintf(text, TEXT, "set %s id %u flags %x key %u/%u data %x size %u",
		         nftnl_set_get_str(s, NFTNL_SET_NAME), nftnl_set_get_u32(s, NFTNL_SET_ID),
		         nftnl_set_get_u32(s, NFTNL_SET_FLAGS),
		         nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE),
		         nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN),
		         nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE),
		         nftnl_set_get_u32(s, NFTNL_SET_DESC_SIZE));
		nftnl_set_free(s);
	} else if (type == NFT_MSG_NEWSETELEM) {
		elems_summarise(nlh, text, TEXT);
	} else if (type == NFT_MSG_NEWRULE || type == NFT_MSG_DELRULE) {
		struct nftnl_rule *r = nftnl_rule_alloc();
		char comment[96] = "";
		uint32_t len = 0;
		const void *ud;

		CHECK(nftnl_rule_nlmsg_parse(nlh, r) == 0);
		if (type == NFT_MSG_DELRULE) {
			snprintf(text, TEXT, "delrule %s %s",
			         nftnl_rule_get_str(r, NFTNL_RULE_TABLE),
			         nftnl_rule_is_set(r, NFTNL_RULE_CHAIN)
			             ? nftnl_rule_get_str(r, NFTNL_RULE_CHAIN)
			             : "*");
			nftnl_rule_free(r);
			return;
		}
		ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
		if (ud)
			nftnl_udata_parse(ud, len, comment_cb, comment);
		snprintf(text, TEXT, "rule %s [%s]:", nftnl_rule_get_str(r, NFTNL_RULE_CHAIN),
		         comment);
		nftnl_expr_foreach(r, expr_cb, text);
		nftnl_rule_free(r);
	} else {
		snprintf(text, TEXT, "type %u", nlh->nlmsg_type);
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

static int find(const struct seen *s, const char *text)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->text[i], text))
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

static void backend(struct lb_frontend *f, const char *addr, uint16_t port, uint16_t weight)
{
	struct lb_backend *b = &f->backends[f->n_backends++];

	inet_pton(AF_INET, addr, &b->addr);
	b->port = port;
	b->weight = weight;
}

/* web: tcp round-robin over three weighted backends; dns: udp source-hash; api: none up. */
static void config(struct lb_config *c)
{
	struct lb_frontend *f;

	memset(c, 0, sizeof(*c));
	c->revision = 5;
	c->n = 3;
	c->frontends = calloc(3, sizeof(*c->frontends));
	f = &c->frontends[0];
	f->id = 7;
	strcpy(f->name, "web");
	inet_pton(AF_INET, "10.99.0.1", &f->addr);
	f->port = 80;
	f->backends = calloc(3, sizeof(*f->backends));
	backend(f, "10.99.0.2", 8080, 1);
	backend(f, "10.99.0.3", 8080, 2);
	backend(f, "10.99.0.4", 8080, 1);
	f = &c->frontends[1];
	f->id = 9;
	strcpy(f->name, "dns");
	f->proto = LB_UDP;
	f->algo = LB_SOURCE_HASH;
	inet_pton(AF_INET, "10.99.0.1", &f->addr);
	f->port = 53;
	f->backends = calloc(3, sizeof(*f->backends));
	backend(f, "10.99.0.2", 53, 3);
	backend(f, "10.99.0.3", 53, 1);
	backend(f, "192.0.2.9", 5353, 2);
	f = &c->frontends[2];
	f->id = 11;
	f->algo = LB_RANDOM;
	inet_pton(AF_INET, "10.99.0.5", &f->addr);
	f->port = 443;
	f->backends = calloc(1, sizeof(*f->backends));
	backend(f, "10.99.0.6", 443, 1);
}

static void test_apply(void)
{
	/* web all up; dns 10.99.0.3:53 down; api's only backend down. */
	static const bool up[] = {true, true, true, true, false, true, false};
	struct lb_nft_names chains = {0}, ctrs = {0};
	static const char *const had[] = {"prerouting", "output", "postrouting", "fe7",   "be7_0",
	                                  "be7_3",      "fe3",    "be3_0",       "be9_x", "junk"};
	struct lb_config c;
	struct nft_batch *b = NULL;
	struct seen s;
	char want[TEXT];
	int i, j;

	config(&c);
	for (size_t k = 0; k < sizeof(had) / sizeof(had[0]); k++)
		CHECK(lb_nft_names_add(&chains, had[k]) == 0);
	CHECK(lb_nft_names_add(&ctrs, "c7_10_99_0_2_8080") == 0);
	CHECK(lb_nft_names_add(&ctrs, "c7_10_99_0_9_8080") == 0);
	CHECK(lb_nft_names_add(&ctrs, "c3_1_2_3_4_5") == 0);
	CHECK(lb_nft_names_add(&ctrs, "other") == 0);
	CHECK(nft_batch_new(NULL, &b) == 0);
	CHECK(lb_nft_put_apply(b, "netfn_lb", &c, up, &chains, &ctrs) == 0);
	read_back(b, &s);
	for (size_t k = 0; k < s.n; k++)
		printf("  %2zu seq %u: %s\n", k, s.seq[k], s.text[k]);

	CHECK(!strcmp(s.text[0], "begin"));
	for (size_t k = 1; k < s.n; k++) {
		CHECK(s.seq[k] == s.seq[k - 1] + 1); /* one sequence number per message */
		CHECK(!(s.flags[k] & NLM_F_EXCL));   /* what exists is kept */
	}
	CHECK(!strcmp(s.text[1], "table netfn_lb") && (s.flags[1] & NLM_F_CREATE));
	CHECK(!strcmp(s.text[2], "chain prerouting nat hook 0 prio -100"));
	CHECK(!strcmp(s.text[3], "chain output nat hook 3 prio -100"));
	CHECK(!strcmp(s.text[4], "chain postrouting nat hook 4 prio 100"));
	CHECK(!strcmp(s.text[5], "delrule netfn_lb *")); /* the whole table's rules */
	/* Chains and counters, created if missing, before any rule names them. */
	i = find(&s, "chain fe7");
	CHECK(i == 6 && !strcmp(s.text[7], "chain be7_0") &&
	      !strcmp(s.text[8], "counter c7_10_99_0_2_8080"));
	CHECK(count(&s, "chain be") == 7 && count(&s, "counter ") == 7);
	CHECK(find(&s, "counter c9_192_0_2_9_5353") > 0 && find(&s, "chain be11_0") > 0);
	for (size_t k = 6; k < s.n; k++)
		if (s.type[k] == NFT_MSG_NEWCHAIN || s.type[k] == NFT_MSG_NEWOBJ)
			CHECK((s.flags[k] & NLM_F_CREATE) &&
			      (int)k < find(&s, "rule be7_0 []: meta "
			                        "cmp:06 objref:c7_10_99_0_"
			                        "2_8080 immediate:0a630002 "
			                        "immediate:1f90 nat:dnat"));

	/* web: weights 1, 2, 1 are [0,0] [1,2] [3,3] of 4, then one end. */
	CHECK(find(&s, "rule be7_1 []: meta cmp:06 objref:c7_10_99_0_3_8080 immediate:0a630003 "
	               "immediate:1f90 nat:dnat") > 0);
	i = find(&s, "set __map%d id 1 flags f key 4/4 data ffffff00 size 4");
	CHECK(i > 0);
	CHECK(i > 0 && !strcmp(s.text[i + 1], "elems __map%d id 1: 0>be7_0 1>be7_1 3>be7_2 4e") &&
	      !strcmp(s.text[i + 2], "rule fe7 []: numgen:inc:4 byteorder lookup:__map%d:1"));
	i = find(&s, "rule prerouting [lb 7 web]: payload cmp:0a630001 meta cmp:06 payload "
	             "cmp:0050 immediate:fe7");
	j = find(&s, "rule output [lb 7 web]: payload cmp:0a630001 meta cmp:06 payload cmp:0050 "
	             "immediate:fe7");
	CHECK(i > 0 && j > i);
	CHECK(find(&s, "rule postrouting [lb 7 web]: ct bitwise cmp!:00000000 ct cmp:0a630001 ct "
	               "cmp:06 ct cmp:0050 meta cmp!:01000000 fib cmp!:02000000 masq") > 0);

	/* dns: 10.99.0.3 is down, so weights 3 and 2 make [0,2] [3,4] of 5. */
	snprintf(want, sizeof(want), "rule fe9 []: payload hash:5:%08x byteorder lookup:__map%%d:2",
	         lb_nft_seed(9));
	i = find(&s, "set __map%d id 2 flags f key 4/4 data ffffff00 size 3");
	CHECK(i > 0 && !strcmp(s.text[i + 1], "elems __map%d id 2: 0>be9_0 3>be9_2 5e") &&
	      !strcmp(s.text[i + 2], want));
	CHECK(find(&s, "rule be9_1 []: meta cmp:11 objref:c9_10_99_0_3_53 immediate:0a630003 "
	               "immediate:0035 nat:dnat") > 0); /* down: its chain and counter stay */
	CHECK(find(&s, "rule prerouting [lb 9 dns]: payload cmp:0a630001 meta cmp:11 payload "
	               "cmp:0035 immediate:fe9") > 0);

	/* api: nothing up, so new connections are refused, and no map. */
	CHECK(find(&s, "rule fe11 [no backend up]: meta cmp:06 reject:rst") > 0);
	CHECK(count(&s, "set ") == 2);
	CHECK(find(&s, "rule postrouting [lb 11]: ct bitwise cmp!:00000000 ct cmp:0a630005 ct "
	               "cmp:06 ct cmp:01bb meta cmp!:01000000 fib cmp!:02000000 masq") > 0);

	/* What the table held and the config no longer wants goes last, in that order. */
	i = find(&s, "delchain be7_3");
	CHECK(i > 0 && !strcmp(s.text[i + 1], "delchain fe3") &&
	      !strcmp(s.text[i + 2], "delchain be3_0") &&
	      !strcmp(s.text[i + 3], "delchain be9_x") && !strcmp(s.text[i + 4], "delchain junk") &&
	      !strcmp(s.text[i + 5], "delcounter c7_10_99_0_9_8080") &&
	      !strcmp(s.text[i + 6], "delcounter c3_1_2_3_4_5") &&
	      !strcmp(s.text[i + 7], "delcounter other") && (size_t)i + 8 == s.n);
	CHECK(count(&s, "delchain") == 5 && count(&s, "delcounter") == 3);
	for (size_t k = 1; k < (size_t)i; k++)
		CHECK(s.type[k] != NFT_MSG_DELCHAIN && s.type[k] != NFT_MSG_DELOBJ);
	nft_batch_free(b);

	/* All up (up NULL), nothing held: no deletes; udp with none up rejects with icmp. */
	c.frontends[1].n_backends = 0;
	CHECK(nft_batch_new(NULL, &b) == 0);
	CHECK(lb_nft_put_apply(b, "netfn_lb", &c, NULL, NULL, NULL) == 0);
	read_back(b, &s);
	CHECK(find(&s, "elems __map%d id 1: 0>be7_0 1>be7_1 3>be7_2 4e") > 0);
	CHECK(find(&s, "rule fe9 [no backend up]: reject:icmp") > 0);
	CHECK(find(&s, "elems __map%d id 3: 0>be11_0 1e") > 0);
	CHECK(count(&s, "del") == 1); /* the flush */
	nft_batch_free(b);

	/* Out of order: refused before anything is built. */
	c.frontends[0].id = 10;
	CHECK(nft_batch_new(NULL, &b) == 0);
	CHECK(lb_nft_put_apply(b, "netfn_lb", &c, NULL, NULL, NULL) == -EINVAL);
	nft_batch_free(b);
	lb_nft_names_free(&chains);
	lb_nft_names_free(&ctrs);
	lb_config_free(&c);
}

/* A map of more elements than fit one message is split, all under the one set id. */
static void test_big(void)
{
	struct lb_config c = {0};
	struct lb_frontend f = {.id = 1, .port = 80};
	struct nft_batch *b = NULL;
	const struct nlmsghdr *nlh;
	static char text[16384];
	char addr[32];
	int left, n_msgs = 0, n_elems = 0;
	size_t len = 0;

	f.backends = calloc(LB_MAX_BACKENDS, sizeof(*f.backends));
	for (int k = 0; k < LB_MAX_BACKENDS; k++) {
		snprintf(addr, sizeof(addr), "10.1.%d.%d", k / 256, k % 256);
		backend(&f, addr, 80, LB_WEIGHT_MAX);
	}
	c.n = 1;
	c.frontends = &f;
	CHECK(nft_batch_new(NULL, &b) == 0);
	CHECK(lb_nft_put_apply(b, "netfn_lb", &c, NULL, NULL, NULL) == 0);
	nlh = nft_batch_data(b, &len);
	left = (int)len;
	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN ||
		    (nlh->nlmsg_type & 0xff) != NFT_MSG_NEWSETELEM)
			continue;
		elems_summarise(nlh, text, sizeof(text));
		CHECK(!strncmp(text, "elems __map%d id 1:", 19));
		if (n_msgs++ == 0)
			CHECK(strstr(text, ": 0>be1_0 100>be1_1 200>be1_2 ") != NULL);
		for (const char *p = strchr(text, ':'); (p = strchr(p + 1, ' '));)
			n_elems++;
	}
	CHECK(left == 0);
	CHECK(!strcmp(text, "elems __map%d id 1: 102400e")); /* 1025 elements: 256 + ... + 1 */
	CHECK(n_elems == LB_MAX_BACKENDS + 1);
	CHECK(n_msgs == (LB_MAX_BACKENDS + NFT_ELEMS_PER_MSG) / NFT_ELEMS_PER_MSG);
	nft_batch_free(b);
	free(f.backends);
}

static void test_names(void)
{
	char buf[LB_NFT_NAME_MAX];
	struct in_addr a, back;
	uint64_t id;
	uint16_t port;

	inet_pton(AF_INET, "192.168.10.254", &a);
	lb_nft_counter_name(18446744073709551615ULL, a, 65535, buf);
	CHECK(!strcmp(buf, "c18446744073709551615_192_168_10_254_65535"));
	CHECK(lb_nft_counter_parse(buf, &id, &back, &port) && id == 18446744073709551615ULL &&
	      back.s_addr == a.s_addr && port == 65535);
	CHECK(!lb_nft_counter_parse("c1_2_3_4_5", &id, &back, &port));
	CHECK(!lb_nft_counter_parse("c1_2_3_4_256_80", &id, &back, &port));
	CHECK(!lb_nft_counter_parse("c1_2_3_4_5_65536", &id, &back, &port));
	CHECK(!lb_nft_counter_parse("c18446744073709551616_1_2_3_4_5", &id, &back, &port));
	CHECK(!lb_nft_counter_parse("c1_2_3_4_5_6x", &id, &back, &port));
	CHECK(!lb_nft_counter_parse("r17", &id, &back, &port));
	CHECK(!lb_nft_counter_parse("c_1_2_3_4_5", &id, &back, &port));
	lb_nft_fe_chain(7, buf);
	CHECK(!strcmp(buf, "fe7"));
	lb_nft_be_chain(7, 12, buf);
	CHECK(!strcmp(buf, "be7_12"));
	/* Seeds differ between ids and never change for one. */
	CHECK(lb_nft_seed(1) != lb_nft_seed(2) && lb_nft_seed(7) == lb_nft_seed(7));
	CHECK(lb_nft_seed(1) == 0x9e3779b9);
}

static void test_delete(void)
{
	struct nft_batch *b = NULL;
	struct seen s;

	CHECK(nft_batch_new(NULL, &b) == 0);
	CHECK(lb_nft_put_delete(b, "netfn_lb") == 0);
	read_back(b, &s);
	CHECK(s.n == 3 && !strcmp(s.text[1], "table netfn_lb") &&
	      !strcmp(s.text[2], "deltable netfn_lb"));
	nft_batch_free(b);
}

int main(void)
{
	test_apply();
	test_big();
	test_names();
	test_delete();
	return check_result();
}
