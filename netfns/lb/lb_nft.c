// SPDX-License-Identifier: Apache-2.0
/*
 * Writes the load balancer's table into an nft batch with libnftnl (see
 * lb_nft.h). Expressions are encoded as nft(8) 1.0.6 encodes the same
 * statements (checked with `nft --debug=netlink`), so `nft list table ip
 * netfn_lb` prints rules a person can read and nft can load back:
 *
 *   prerouting, output:  ip daddr 10.99.0.1 tcp dport 80 jump fe7
 *   fe7:                 numgen inc mod 3 vmap { 0 : jump be7_0, 1-2 : jump be7_1 }
 *   be7_1:               meta l4proto tcp counter name "c7_10_99_0_3_8080"
 *                          dnat to 10.99.0.3:8080
 *   postrouting:         ct status dnat ct original ip daddr 10.99.0.1 ct protocol tcp
 *                          ct original proto-dst 80 oif != "lo"
 *                          fib saddr . oif type != local masquerade
 *
 * Weights are intervals of 0..TOTAL-1 (TOTAL the sum of the up backends'
 * weights); the interval map wants big-endian keys, so numgen's and jhash's
 * host-order result is swapped first, as nft does. A frontend with no backend
 * up rejects instead (tcp reset, or icmp port unreachable).
 *
 * Why each apply flushes every rule and adds them all again rather than
 * diffing: the rules are few (three per frontend and one per backend) and the
 * anonymous maps cannot be edited once bound, while a flush and re-add in one
 * transaction is atomic for packets and keeps the named counters, which are
 * created without NLM_F_EXCL and so survive.
 */
#include "netfns/lb/lb_nft.h"
#include "netfns/firewall/nft_msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnftnl/expr.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>
#include <netinet/ip_icmp.h>

/* nft(8)'s datatype and byte order numbers, so that `nft list` prints the maps' keys. */
#define TYPE_INTEGER   4
#define BYTEORDER_HOST 1
#define MAP_NAME       "__map%d" /* the kernel picks the number */
#define NAT_PRIO       -100      /* dstnat */
#define SNAT_PRIO      100       /* srcnat */
#define COMMENT_MAX    (LB_NAME_MAX + 32)
#define SEED_MULT      0x9e3779b97f4a7c15ULL /* 2^64 / golden ratio: spreads ids */
#define COOKIE_TABLE   0
#define LO_IFINDEX     1 /* lo is ifindex 1 in every network namespace */

static const struct nft_base_chain bases[] = {
    {"prerouting", "nat", NF_INET_PRE_ROUTING, NAT_PRIO},
    {"output", "nat", NF_INET_LOCAL_OUT, NAT_PRIO},
    {"postrouting", "nat", NF_INET_POST_ROUTING, SNAT_PRIO},
};
#define N_BASES (sizeof(bases) / sizeof(bases[0]))

/* ---- names ---- */

int lb_nft_names_add(struct lb_nft_names *l, const char *name)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	/* Whole, however long: a name cut short would name nothing to delete. */
	l->v[l->n] = strdup(name);
	if (!l->v[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

void lb_nft_names_free(struct lb_nft_names *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void lb_nft_fe_chain(uint64_t id, char *buf)
{
	snprintf(buf, LB_NFT_NAME_MAX, "fe%" PRIu64, id);
}

void lb_nft_be_chain(uint64_t id, size_t k, char *buf)
{
	snprintf(buf, LB_NFT_NAME_MAX, "be%" PRIu64 "_%zu", id, k);
}

void lb_nft_counter_name(uint64_t id, struct in_addr addr, uint16_t port, char *buf)
{
	uint32_t a = ntohl(addr.s_addr);

	/* Underscores only: nft can load the listing back, which a dot or colon would break. */
	snprintf(buf, LB_NFT_NAME_MAX, "c%" PRIu64 "_%u_%u_%u_%u_%u", id, a >> 24, (a >> 16) & 0xff,
	         (a >> 8) & 0xff, a & 0xff, port);
}

/* Reads a decimal number of at most max at *s and moves past it; false if there is none. */
static bool number(const char **s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = *s;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (max - (uint64_t)(*p - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*s = p;
	*out = v;
	return true;
}

bool lb_nft_counter_parse(const char *name, uint64_t *id, struct in_addr *addr, uint16_t *port)
{
	const char *p = name;
	uint64_t v[6];

	if (*p++ != 'c')
		return false;
	for (int i = 0; i < 6; i++) {
		if (i > 0 && *p++ != '_')
			return false;
		if (!number(&p, i == 0 ? UINT64_MAX : i == 5 ? 65535 : 255, &v[i]))
			return false;
	}
	if (*p)
		return false;
	*id = v[0];
	addr->s_addr = htonl((uint32_t)(v[1] << 24 | v[2] << 16 | v[3] << 8 | v[4]));
	*port = (uint16_t)v[5];
	return true;
}

uint32_t lb_nft_seed(uint64_t id)
{
	return (uint32_t)((id * SEED_MULT) >> 32);
}

/* ---- rules ---- */

static uint8_t l4(const struct lb_frontend *f)
{
	return f->proto == LB_UDP ? IPPROTO_UDP : IPPROTO_TCP;
}

/*
 * Starts a rule appended to chain of table (family ip), with comment when
 * not NULL; a failure is kept for rule_end to return.
 */
static void rule_start(struct nft_rb *rb, const char *table, const char *chain, const char *comment)
{
	nft_rb_start(rb, NFPROTO_IPV4, table, chain, comment);
}

/* Adds the rule being built to the batch and frees it. */
static int rule_end(struct nft_batch *b, struct nft_rb *rb, uint64_t cookie)
{
	return nft_rb_end(rb, b, NLM_F_CREATE | NLM_F_APPEND, cookie);
}

/* be7_0: meta l4proto tcp counter name "c7_..." dnat to ADDR:PORT */
static int put_backend_rule(struct nft_batch *b, const char *table, const struct lb_frontend *f,
                            size_t k)
{
	const struct lb_backend *be = &f->backends[k];
	char chain[LB_NFT_NAME_MAX], name[LB_NFT_NAME_MAX];
	struct nft_rb rb;

	lb_nft_be_chain(f->id, k, chain);
	rule_start(&rb, table, chain, NULL);
	/* nft wants a protocol before a port mapping; the kernel does not care. */
	nft_rb_l4proto(&rb, l4(f));
	/* nat chains see a connection's first packet only: this counts new connections. */
	lb_nft_counter_name(f->id, be->addr, be->port, name);
	nft_rb_counter_ref(&rb, name);
	nft_rb_dnat_ip(&rb, be->addr, be->port);
	return rule_end(b, &rb, f->id);
}

/* The anonymous interval verdict map of a frontend: key 4 bytes big-endian, data a verdict. */
static int put_map(struct nft_batch *b, const char *table, uint64_t cookie, uint32_t set_id,
                   uint32_t n_elems)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(64);
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!s || !ud)
		goto cleanup;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, MAP_NAME);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_IPV4);
	nftnl_set_set_u32(s, NFTNL_SET_ID, set_id);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS,
	                  NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_INTERVAL | NFT_SET_MAP);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, TYPE_INTEGER);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
	nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
	nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 0);
	/* The kernel sizes the set by this and refuses elements past it. */
	nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, n_elems);
	/* As nft says it: numgen's and jhash's values are host-order integers. */
	if (!nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, BYTEORDER_HOST))
		goto cleanup;
	nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud),
	                   nftnl_udata_buf_len(ud));
	nlh = nft_batch_add(b, NFT_MSG_NEWSET, NFPROTO_IPV4, NLM_F_CREATE, cookie);
	if (nlh) {
		nftnl_set_nlmsg_build_payload(nlh, s);
		ret = 0;
	}
cleanup:
	nftnl_udata_buf_free(ud);
	nftnl_set_free(s);
	return ret;
}

/* One element: key v (big-endian), jumping to chain, or (chain NULL) an interval end. */
static int map_elem(struct nftnl_set *s, uint32_t v, const char *chain)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	uint32_t key = htonl(v);

	if (!e)
		return -ENOMEM;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &key, sizeof(key));
	if (chain) {
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, (uint32_t)NFT_JUMP);
		nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, chain);
	} else {
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
	}
	nftnl_set_elem_add(s, e);
	return 0;
}

/*
 * The map's elements, NFT_ELEMS_PER_MSG per message: up backend k covers
 * [start, start + weight - 1]; the intervals touch, so each start ends the
 * one before and one end element closes the last at total.
 */
static int put_map_elems(struct nft_batch *b, const char *table, const struct lb_frontend *f,
                         const bool *up, uint32_t set_id, uint32_t total)
{
	char chain[LB_NFT_NAME_MAX];
	struct nftnl_set *s = NULL;
	struct nlmsghdr *nlh;
	uint32_t start = 0;
	size_t in_msg = 0;
	int ret = 0;

	for (size_t k = 0; k <= f->n_backends && !ret; k++) {
		bool last = k == f->n_backends;

		if (!last && up && !up[k])
			continue;
		if (!s) {
			s = nftnl_set_alloc();
			if (!s)
				return -ENOMEM;
			nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
			nftnl_set_set_str(s, NFTNL_SET_NAME, MAP_NAME);
			nftnl_set_set_u32(s, NFTNL_SET_ID, set_id);
		}
		if (last) {
			ret = map_elem(s, total, NULL);
		} else {
			lb_nft_be_chain(f->id, k, chain);
			ret = map_elem(s, start, chain);
			start += f->backends[k].weight;
		}
		if (ret < 0 || (++in_msg < NFT_ELEMS_PER_MSG && !last))
			continue;
		nlh = nft_batch_add(b, NFT_MSG_NEWSETELEM, NFPROTO_IPV4, NLM_F_CREATE, f->id);
		if (!nlh) {
			ret = -ENOMEM;
			break;
		}
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		nftnl_set_free(s);
		s = NULL;
		in_msg = 0;
	}
	if (s) /* libnftnl's free does not take NULL */
		nftnl_set_free(s);
	return ret;
}

/*
 * fe7: picks a backend among those up, through the map of set_id; with none
 * up, rejects the new connection.
 */
static int put_frontend_rule(struct nft_batch *b, const char *table, const struct lb_frontend *f,
                             const bool *up, uint32_t set_id)
{
	char chain[LB_NFT_NAME_MAX];
	struct nftnl_expr *e;
	uint32_t total = 0, n_up = 0;
	struct nft_rb rb;
	int ret;

	for (size_t k = 0; k < f->n_backends; k++)
		if (!up || up[k]) {
			total += f->backends[k].weight;
			n_up++;
		}
	lb_nft_fe_chain(f->id, chain);
	if (total == 0) {
		rule_start(&rb, table, chain, "no backend up");
		if (f->proto == LB_TCP) {
			nft_rb_l4proto(&rb, IPPROTO_TCP);
			nft_rb_reject(&rb, NFT_REJECT_TCP_RST, 0);
		} else {
			nft_rb_reject(&rb, NFT_REJECT_ICMP_UNREACH, ICMP_PORT_UNREACH);
		}
		return rule_end(b, &rb, f->id);
	}
	/* The map first: the rule refers to it by id within this transaction. */
	ret = put_map(b, table, f->id, set_id, n_up + 1);
	if (!ret)
		ret = put_map_elems(b, table, f, up, set_id, total);
	if (ret < 0)
		return ret;
	rule_start(&rb, table, chain, NULL);
	if (f->algo == LB_SOURCE_HASH) {
		nft_rb_payload(&rb, NFT_PAYLOAD_NETWORK_HEADER, NFT_IP_SADDR_OFF, 4, NFT_REG_2);
		e = nft_rb_expr(&rb, "hash");
		if (e) {
			nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_SREG, NFT_REG_2);
			nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_DREG, NFT_REG_1);
			nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_LEN, 4);
			nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_MODULUS, total);
			nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_SEED, lb_nft_seed(f->id));
			nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_OFFSET, 0);
			nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_TYPE, NFT_HASH_JENKINS);
		}
	} else {
		e = nft_rb_expr(&rb, "numgen");
		if (e) {
			nftnl_expr_set_u32(e, NFTNL_EXPR_NG_DREG, NFT_REG_1);
			nftnl_expr_set_u32(e, NFTNL_EXPR_NG_MODULUS, total);
			nftnl_expr_set_u32(e, NFTNL_EXPR_NG_TYPE,
			                   f->algo == LB_RANDOM ? NFT_NG_RANDOM
			                                        : NFT_NG_INCREMENTAL);
			nftnl_expr_set_u32(e, NFTNL_EXPR_NG_OFFSET, 0);
		}
	}
	e = nft_rb_expr(&rb, "byteorder");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, 4);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, 4);
	}
	e = nft_rb_expr(&rb, "lookup");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, MAP_NAME);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
	}
	return rule_end(b, &rb, f->id);
}

/* prerouting and output: ip daddr FE tcp dport PORT jump fe7 */
static int put_entry_rule(struct nft_batch *b, const char *table, const char *chain,
                          const struct lb_frontend *f, const char *comment)
{
	char fe[LB_NFT_NAME_MAX];
	struct nft_rb rb;

	rule_start(&rb, table, chain, comment);
	nft_rb_payload_eq(&rb, NFT_PAYLOAD_NETWORK_HEADER, NFT_IP_DADDR_OFF, &f->addr, 4);
	nft_rb_port(&rb, l4(f), NFT_TH_DPORT_OFF, f->port);
	lb_nft_fe_chain(f->id, fe);
	nft_rb_verdict(&rb, NFT_JUMP, fe);
	return rule_end(b, &rb, f->id);
}

/*
 * postrouting: connections this frontend DNATed leave with this host's
 * address on the way to the backend, so that backends answer through it.
 */
static int put_snat_rule(struct nft_batch *b, const char *table, const struct lb_frontend *f,
                         const char *comment)
{
	uint8_t port[2] = {(uint8_t)(f->port >> 8), (uint8_t)f->port};
	uint32_t dnat = IPS_DST_NAT, zero = 0, local = RTN_LOCAL, lo = LO_IFINDEX;
	uint8_t proto = l4(f);
	struct nftnl_expr *e;
	struct nft_rb rb;

	rule_start(&rb, table, bases[2].name, comment);
	nft_rb_ct(&rb, NFT_CT_STATUS, -1);
	nft_rb_bitwise(&rb, &dnat, 4);
	nft_rb_cmp(&rb, NFT_CMP_NEQ, &zero, 4);
	nft_rb_ct(&rb, NFT_CT_DST_IP, IP_CT_DIR_ORIGINAL);
	nft_rb_cmp(&rb, NFT_CMP_EQ, &f->addr, 4);
	nft_rb_ct(&rb, NFT_CT_PROTOCOL, IP_CT_DIR_ORIGINAL);
	nft_rb_cmp(&rb, NFT_CMP_EQ, &proto, 1);
	nft_rb_ct(&rb, NFT_CT_PROTO_DST, IP_CT_DIR_ORIGINAL);
	nft_rb_cmp(&rb, NFT_CMP_EQ, port, 2);
	/* To a backend on this host: the source is this host's already. */
	nft_rb_meta(&rb, NFT_META_OIF);
	nft_rb_cmp(&rb, NFT_CMP_NEQ, &lo, 4);
	/*
	 * "fib saddr . oif type != local": the source is not an address of the
	 * interface the packet leaves by. True for every forwarded client; for
	 * a client on this host, true only when it picked its source for the
	 * frontend's route (say, the overlay address) and the backend lies
	 * behind another interface, whose network may have no way back to it.
	 */
	e = nft_rb_expr(&rb, "fib");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_SADDR | NFTA_FIB_F_OIF);
	}
	nft_rb_cmp(&rb, NFT_CMP_NEQ, &local, 4);
	nft_rb_expr(&rb, "masq");
	return rule_end(b, &rb, f->id);
}

/* ---- what is wanted ---- */

static const struct lb_frontend *frontend_of(const struct lb_config *cfg, uint64_t id)
{
	size_t lo = 0, hi = cfg->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cfg->frontends[mid].id == id)
			return &cfg->frontends[mid];
		if (cfg->frontends[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int backend_cmp(const struct lb_backend *x, struct in_addr a, uint16_t port)
{
	uint32_t xa = ntohl(x->addr.s_addr), ya = ntohl(a.s_addr);

	if (xa != ya)
		return xa < ya ? -1 : 1;
	return (x->port > port) - (x->port < port);
}

static bool has_backend(const struct lb_frontend *f, struct in_addr a, uint16_t port)
{
	size_t lo = 0, hi = f->n_backends;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = backend_cmp(&f->backends[mid], a, port);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Whether cfg wants a chain of this name: a base chain, fe<ID> or be<ID>_<k>. */
static bool chain_wanted(const struct lb_config *cfg, const char *name)
{
	const struct lb_frontend *f;
	const char *p = name + 2;
	uint64_t id, k;

	for (size_t i = 0; i < N_BASES; i++)
		if (strcmp(name, bases[i].name) == 0)
			return true;
	if (strncmp(name, "fe", 2) && strncmp(name, "be", 2))
		return false;
	if (!number(&p, UINT64_MAX, &id) || !(f = frontend_of(cfg, id)))
		return false;
	if (name[0] == 'f')
		return *p == '\0';
	if (*p++ != '_' || !number(&p, SIZE_MAX, &k) || *p)
		return false;
	return k < f->n_backends;
}

static bool counter_wanted(const struct lb_config *cfg, const char *name)
{
	const struct lb_frontend *f;
	struct in_addr a;
	uint16_t port;
	uint64_t id;

	return lb_nft_counter_parse(name, &id, &a, &port) && (f = frontend_of(cfg, id)) &&
	       has_backend(f, a, port);
}

/* The lookups above need frontends by id and backends by address then port, no repeats. */
static bool sorted(const struct lb_config *cfg)
{
	for (size_t i = 0; i < cfg->n; i++) {
		const struct lb_frontend *f = &cfg->frontends[i];

		if (i > 0 && f->id <= cfg->frontends[i - 1].id)
			return false;
		if (f->proto > LB_UDP || f->algo > LB_SOURCE_HASH)
			return false;
		for (size_t k = 0; k < f->n_backends; k++) {
			if (f->backends[k].weight < 1 || f->backends[k].weight > LB_WEIGHT_MAX)
				return false;
			if (k > 0 && backend_cmp(&f->backends[k - 1], f->backends[k].addr,
			                         f->backends[k].port) >= 0)
				return false;
		}
	}
	return true;
}

/* ---- the batch ---- */

int lb_nft_put_apply(struct nft_batch *b, const char *table, const struct lb_config *cfg,
                     const bool *up, const struct lb_nft_names *chains,
                     const struct lb_nft_names *counters)
{
	char name[LB_NFT_NAME_MAX], comment[COMMENT_MAX];
	uint32_t set_id = 0;
	size_t at = 0;
	int ret;

	if (!sorted(cfg))
		return -EINVAL;
	ret = nft_put_table(b, NFPROTO_IPV4, table, NFT_MSG_NEWTABLE, COOKIE_TABLE);
	for (size_t i = 0; !ret && i < N_BASES; i++)
		ret = nft_put_chain(b, NFPROTO_IPV4, table, &bases[i], NULL, NFT_MSG_NEWCHAIN,
		                    COOKIE_TABLE);
	/* A DELRULE naming the table and no chain: every rule of the table goes. */
	if (!ret)
		ret = nft_put_delrule(b, NFPROTO_IPV4, table, NULL, 0, COOKIE_TABLE);
	/* Chains and counters before the rules that name them. */
	for (size_t i = 0; !ret && i < cfg->n; i++) {
		const struct lb_frontend *f = &cfg->frontends[i];

		lb_nft_fe_chain(f->id, name);
		ret = nft_put_chain(b, NFPROTO_IPV4, table, NULL, name, NFT_MSG_NEWCHAIN, f->id);
		for (size_t k = 0; !ret && k < f->n_backends; k++) {
			lb_nft_be_chain(f->id, k, name);
			ret = nft_put_chain(b, NFPROTO_IPV4, table, NULL, name, NFT_MSG_NEWCHAIN,
			                    f->id);
			lb_nft_counter_name(f->id, f->backends[k].addr, f->backends[k].port, name);
			if (!ret)
				ret = nft_put_counter(b, NFPROTO_IPV4, table, name, NFT_MSG_NEWOBJ,
				                      f->id);
		}
	}
	for (size_t i = 0; !ret && i < cfg->n; i++) {
		const struct lb_frontend *f = &cfg->frontends[i];

		for (size_t k = 0; !ret && k < f->n_backends; k++)
			ret = put_backend_rule(b, table, f, k);
		if (!ret)
			ret = put_frontend_rule(b, table, f, up ? up + at : NULL, ++set_id);
		at += f->n_backends;
		snprintf(comment, sizeof(comment), "lb %" PRIu64 "%s%s", f->id,
		         f->name[0] ? " " : "", f->name);
		for (size_t c = 0; !ret && c < 2; c++)
			ret = put_entry_rule(b, table, bases[c].name, f, comment);
		if (!ret)
			ret = put_snat_rule(b, table, f, comment);
	}
	/* What is no longer wanted goes last, once no rule refers to it. */
	for (size_t i = 0; !ret && chains && i < chains->n; i++)
		if (!chain_wanted(cfg, chains->v[i]))
			ret = nft_put_chain(b, NFPROTO_IPV4, table, NULL, chains->v[i],
			                    NFT_MSG_DELCHAIN, COOKIE_TABLE);
	for (size_t i = 0; !ret && counters && i < counters->n; i++)
		if (!counter_wanted(cfg, counters->v[i]))
			ret = nft_put_counter(b, NFPROTO_IPV4, table, counters->v[i],
			                      NFT_MSG_DELOBJ, COOKIE_TABLE);
	return ret;
}

int lb_nft_put_delete(struct nft_batch *b, const char *table)
{
	/* Adding it first makes the delete succeed whether or not the table exists. */
	int ret = nft_put_table(b, NFPROTO_IPV4, table, NFT_MSG_NEWTABLE, COOKIE_TABLE);

	return ret ? ret : nft_put_table(b, NFPROTO_IPV4, table, NFT_MSG_DELTABLE, COOKIE_TABLE);
}
