// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for dns_server.c and dns_nft.c (no root, no dnsmasq run): the
 * dnsmasq config a dns_config renders to (each record type, TXT quoting, the
 * upstream servers, the slot's port and pid file, local-ttl), what a
 * directory may be called, the probe's query and reply header both ways,
 * the "active" file, and the steering batch parsed back with libnftnl.
 */
#include "netfns/dns/dns_nft.h"
#include "netfns/dns/dns_server.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

static void record(struct dns_record *r, const char *name, enum dns_type t, const char *value,
                   uint32_t ttl)
{
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->type = t;
	snprintf(r->value, sizeof(r->value), "%s", value);
	r->ttl = ttl;
}

static void test_render(void)
{
	struct dns_record rec[6];
	struct dns_config cfg = {
	    .zone = "z.internal", .n_records = 6, .records = rec, .serve = true};
	const char up[2][INET6_ADDRSTRLEN] = {"192.0.2.53", "2001:db8::53"};
	struct dns_server_opts o = {
	    .dir = "/var/lib/netfn/dns", .slot = 1, .n_upstreams = 2, .upstreams = up};
	char *conf = NULL;
	size_t len = 0;

	inet_pton(AF_INET, "10.99.0.2", &cfg.listen);
	record(&rec[0], "_http._tcp.z.internal", DNS_SRV, "10 5 80 web.z.internal", 300);
	record(&rec[1], "web.z.internal", DNS_A, "10.99.0.7", 60);
	record(&rec[2], "web.z.internal", DNS_AAAA, "fd00::7", 60);
	record(&rec[3], "www.z.internal", DNS_CNAME, "web.z.internal", 120);
	record(&rec[4], "z.internal", DNS_TXT, "a \"quoted\" \\ text, # not a comment", 30);
	record(&rec[5], "e.z.internal", DNS_TXT, "", 600);
	CHECK(dns_server_render(&cfg, &o, &conf, &len) == 0);
	if (!conf)
		return;
	CHECK(strlen(conf) == len);
	CHECK(conf[0] == '#');
	CHECK(strstr(conf, "\nport=5302\nlisten-address=10.99.0.2\nbind-interfaces\n"));
	CHECK(strstr(conf, "\npid-file=/var/lib/netfn/dns/slot1.pid\n"));
	CHECK(strstr(conf, "\nno-hosts\nno-resolv\nno-poll\ndomain-needed\n"));
	CHECK(strstr(conf, "\nlocal=/z.internal/\nlocal-ttl=30\n"));
	CHECK(strstr(conf, "\nserver=192.0.2.53\nserver=2001:db8::53\n"));
	CHECK(strstr(conf, "\nsrv-host=_http._tcp.z.internal,web.z.internal,80,10,5\n"));
	CHECK(strstr(conf, "\nhost-record=web.z.internal,10.99.0.7,60\n"));
	CHECK(strstr(conf, "\nhost-record=web.z.internal,fd00::7,60\n"));
	CHECK(strstr(conf, "\ncname=www.z.internal,web.z.internal,120\n"));
	CHECK(strstr(conf,
	             "\ntxt-record=z.internal,\"a \\\"quoted\\\" \\\\ text, # not a comment\"\n"));
	CHECK(strstr(conf, "\ntxt-record=e.z.internal,\"\"\n"));
	CHECK(!strstr(conf, "user="));
	CHECK(conf[len - 1] == '\n');
	free(conf);

	/* Without SRV or TXT records the default TTL; no upstreams, no server line. */
	cfg.n_records = 2;
	cfg.records = &rec[1];
	o.n_upstreams = 0;
	o.keep_user = true;
	o.slot = 0;
	CHECK(dns_server_render(&cfg, &o, &conf, &len) == 0);
	CHECK(conf && strstr(conf, "\nport=5301\n") && strstr(conf, "\nlocal-ttl=60\n") &&
	      !strstr(conf, "server=") && strstr(conf, "\nuser=\ngroup=\n"));
	free(conf);

	/* What cannot be rendered. */
	o.slot = 2;
	CHECK(dns_server_render(&cfg, &o, &conf, &len) == -EINVAL);
	o.slot = 0;
	o.dir = "/var/lib/net fn";
	CHECK(dns_server_render(&cfg, &o, &conf, &len) == -EINVAL);
	o.dir = "/var/lib/netfn";
	cfg.listen.s_addr = 0;
	CHECK(dns_server_render(&cfg, &o, &conf, &len) == -EINVAL);
	inet_pton(AF_INET, "10.99.0.2", &cfg.listen);
	record(&rec[1], "x.z.internal", DNS_SRV, "not an srv", 60);
	CHECK(dns_server_render(&cfg, &o, &conf, &len) == -EINVAL);
}

static void test_dir(void)
{
	CHECK(dns_server_dir_ok("/var/lib/netfn/dns"));
	CHECK(dns_server_dir_ok("/tmp/x_y-z.1/dns"));
	CHECK(!dns_server_dir_ok("var/lib/netfn"));
	CHECK(!dns_server_dir_ok(""));
	CHECK(!dns_server_dir_ok(NULL));
	CHECK(!dns_server_dir_ok("/var/lib/net fn"));
	CHECK(!dns_server_dir_ok("/var/lib/a,b"));
	CHECK(!dns_server_dir_ok("/var/lib/a#b"));
	CHECK(!dns_server_dir_ok("/var/lib/a\nb"));
}

static void test_query(void)
{
	uint8_t q[300], r[64] = {0};
	int len, rcode = -1, an = -1;
	static const uint8_t want[] = {0x12, 0x34, 0x01, 0x00, 0, 1,   0, 0, 0, 0, 0, 0,
	                               3,    'w',  'e',  'b',  1, 'z', 0, 0, 1, 0, 1};

	len = dns_query_build(0x1234, "web.z", 1, q, sizeof(q));
	CHECK(len == (int)sizeof(want) && memcmp(q, want, sizeof(want)) == 0);
	CHECK(dns_query_build(1, "a..b", 1, q, sizeof(q)) == -EINVAL);
	CHECK(dns_query_build(1, "web.z", 1, q, 10) == -EINVAL);
	CHECK(dns_query_build(1, NULL, 1, q, sizeof(q)) == -EINVAL);

	memcpy(r, want, 12);
	r[2] = 0x81; /* QR, RD */
	r[3] = 0x83; /* RA, NXDOMAIN */
	r[7] = 2;
	CHECK(dns_reply_read(r, 12, 0x1234, &rcode, &an) == 0 && rcode == 3 && an == 2);
	CHECK(dns_reply_read(r, 12, 0x1235, &rcode, &an) == -EBADMSG);
	CHECK(dns_reply_read(r, 11, 0x1234, &rcode, &an) == -EBADMSG);
	r[2] = 0x01; /* a query, not an answer */
	CHECK(dns_reply_read(r, 12, 0x1234, &rcode, &an) == -EBADMSG);
}

static void test_active(void)
{
	char dir[] = "/tmp/dns_server_test.XXXXXX", path[128];

	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	CHECK(dns_server_active_load(dir) == -1);
	CHECK(dns_server_active_save(dir, 1) == 0 && dns_server_active_load(dir) == 1);
	CHECK(dns_server_active_save(dir, 0) == 0 && dns_server_active_load(dir) == 0);
	CHECK(dns_server_active_save(dir, -1) == 0 && dns_server_active_load(dir) == -1);
	CHECK(dns_server_active_save(dir, -1) == 0);
	/* No process runs a slot here. */
	CHECK(dns_server_running(dir, 0) == 0);
	CHECK(!dns_server_conf_same(dir, 0, "x", 1));
	snprintf(path, sizeof(path), "%s/active", dir);
	unlink(path);
	rmdir(dir);
}

/* ---- the batch, parsed back ---- */

#define TEXT 512

static void cat(char *text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cat(char *text, const char *fmt, ...)
{
	size_t len = strlen(text);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text + len, TEXT - len, fmt, ap);
	va_end(ap);
}

static int expr_cb(struct nftnl_expr *e, void *data)
{
	char *text = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	const uint8_t *d;
	uint32_t len = 0;

	cat(text, " %s", name);
	if (!strcmp(name, "payload")) {
		if (nftnl_expr_is_set(e, NFTNL_EXPR_PAYLOAD_SREG))
			cat(text, ":w%u+%u/csum%u@%u",
			    nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE),
			    nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET),
			    nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_CSUM_TYPE),
			    nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_CSUM_OFFSET));
		else
			cat(text, ":%u+%u", nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE),
			    nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET));
	} else if (!strcmp(name, "cmp") || !strcmp(name, "immediate")) {
		d = nftnl_expr_get(
		    e, !strcmp(name, "cmp") ? NFTNL_EXPR_CMP_DATA : NFTNL_EXPR_IMM_DATA, &len);
		cat(text, ":");
		for (uint32_t i = 0; d && i < len; i++)
			cat(text, "%02x", d[i]);
	} else if (!strcmp(name, "nat")) {
		cat(text, ":%s",
		    nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_TYPE) == NFT_NAT_DNAT ? "dnat" : "snat");
	}
	return 0;
}

static void test_nft(void)
{
	struct nft_batch *b = NULL;
	struct in_addr listen;
	const uint16_t ports[2] = {5301, 5302};
	char seen[16][TEXT];
	size_t n = 0, len = 0;
	const uint8_t *data;
	const struct nlmsghdr *nlh;

	inet_pton(AF_INET, "10.99.0.2", &listen);
	CHECK(nft_batch_new(NULL, &b) == 0);
	CHECK(dns_nft_put_apply(b, "netfn_dns", listen, 0, ports, 2) == -EINVAL);
	CHECK(dns_nft_put_apply(b, "netfn_dns", listen, 5302, ports, 2) == 0);
	/* table, 4 chains, flush, 2 dnat, steer, 2 answers */
	CHECK(nft_batch_count(b) == 11);
	data = nft_batch_data(b, &len);
	for (size_t off = 0; off < len && n < 16; off += NLMSG_ALIGN(nlh->nlmsg_len)) {
		uint16_t type;

		nlh = (const struct nlmsghdr *)(data + off);
		type = nlh->nlmsg_type & 0xff;
		seen[n][0] = '\0';
		if ((nlh->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES)
			continue; /* batch begin */
		if (type == NFT_MSG_NEWCHAIN) {
			struct nftnl_chain *c = nftnl_chain_alloc();

			nftnl_chain_nlmsg_parse(nlh, c);
			cat(seen[n], "chain %s %s %u %d", nftnl_chain_get_str(c, NFTNL_CHAIN_NAME),
			    nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE),
			    nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM),
			    nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO));
			nftnl_chain_free(c);
		} else if (type == NFT_MSG_NEWRULE) {
			struct nftnl_rule *r = nftnl_rule_alloc();

			nftnl_rule_nlmsg_parse(nlh, r);
			cat(seen[n], "%s:", nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
			nftnl_expr_foreach(r, expr_cb, seen[n]);
			nftnl_rule_free(r);
		} else {
			cat(seen[n], "msg %u", type);
		}
		n++;
	}
	CHECK(n == 11);
	CHECK(!strcmp(seen[0], "msg 0")); /* NEWTABLE */
	CHECK(!strcmp(seen[1], "chain prerouting nat 0 -100"));
	CHECK(!strcmp(seen[2], "chain output nat 3 -100"));
	CHECK(!strcmp(seen[3], "chain steer filter 0 -150"));
	CHECK(!strcmp(seen[4], "chain answer filter 3 -300"));
	CHECK(!strcmp(seen[5], "msg 8")); /* DELRULE: the flush */
	CHECK(!strcmp(seen[6], "prerouting: payload:1+16 cmp:0a630002 meta cmp:06 payload:2+2 "
	                       "cmp:0035 immediate:0a630002 immediate:14b6 nat:dnat"));
	CHECK(!strcmp(seen[7], "output: payload:1+16 cmp:0a630002 meta cmp:06 payload:2+2 cmp:0035 "
	                       "immediate:0a630002 immediate:14b6 nat:dnat"));
	CHECK(!strcmp(seen[8], "steer: payload:1+16 cmp:0a630002 meta cmp:11 payload:2+2 cmp:0035 "
	                       "immediate:14b6 payload:w2+2/csum1@6"));
	CHECK(!strcmp(seen[9], "answer: payload:1+12 cmp:0a630002 meta cmp:11 payload:2+0 cmp:14b5 "
	                       "immediate:0035 payload:w2+0/csum1@6"));
	CHECK(!strcmp(seen[10],
	              "answer: payload:1+12 cmp:0a630002 meta cmp:11 payload:2+0 cmp:14b6 "
	              "immediate:0035 payload:w2+0/csum1@6"));
	for (size_t i = 0; i < n; i++)
		if (check_failures)
			fprintf(stderr, "  %zu: %s\n", i, seen[i]);
	nft_batch_free(b);

	CHECK(nft_batch_new(NULL, &b) == 0);
	CHECK(dns_nft_put_delete(b, "netfn_dns") == 0 && nft_batch_count(b) == 2);
	nft_batch_free(b);
}

int main(void)
{
	test_render();
	test_dir();
	test_query();
	test_active();
	test_nft();
	return check_result();
}
