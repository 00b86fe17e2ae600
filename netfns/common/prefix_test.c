// SPDX-License-Identifier: Apache-2.0
/* Unit tests for prefix and endpoint parsing: the forms accepted and refused. */
#include "netfns/common/prefix.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

int main(void)
{
	struct nf_prefix p, q;
	struct sockaddr_storage ss;
	struct in_addr a;
	char buf[NF_PREFIX_STRLEN];

	CHECK(nf_prefix_parse("10.0.0.0/24", false, &p) && p.family == AF_INET && p.len == 24);
	CHECK(nf_prefix_is_network(&p));
	CHECK(strcmp(nf_prefix_format(&p, buf, sizeof(buf)), "10.0.0.0/24") == 0);
	CHECK(nf_prefix_parse("10.0.0.1/24", false, &p) && !nf_prefix_is_network(&p));
	CHECK(!nf_prefix_parse("10.0.0.0/33", false, &p));
	CHECK(!nf_prefix_parse("300.1.2.3/24", false, &p));
	CHECK(!nf_prefix_parse("abc", true, &p));
	CHECK(!nf_prefix_parse("10.0.0.0/024", false, &p));
	CHECK(!nf_prefix_parse("10.0.0.0/", false, &p));
	CHECK(!nf_prefix_parse("10.0.0.0/24 ", false, &p));
	CHECK(!nf_prefix_parse("10.0.0.1", false, &p));
	CHECK(nf_prefix_parse("10.0.0.1", true, &p) && p.len == 32);
	CHECK(nf_prefix_parse("fd00::/64", false, &p) && p.family == AF_INET6);
	CHECK(!nf_prefix_parse("fd00::/129", false, &p));
	CHECK(!nf_prefix_parse("10.0.0.0/8;rm -rf", false, &p));

	CHECK(nf_prefix_parse("10.0.0.0/8", false, &p) &&
	      nf_prefix_parse("10.1.0.0/16", false, &q));
	CHECK(nf_prefix_overlaps(&p, &q) && nf_prefix_overlaps(&q, &p));
	CHECK(nf_prefix_contains(&p, &q) && !nf_prefix_contains(&q, &p));
	CHECK(nf_prefix_parse("10.1.0.0/16", false, &p) &&
	      nf_prefix_parse("10.2.0.0/16", false, &q));
	CHECK(!nf_prefix_overlaps(&p, &q));
	CHECK(nf_prefix_parse("10.0.0.0/25", false, &p) &&
	      nf_prefix_parse("10.0.0.128/25", false, &q));
	CHECK(!nf_prefix_overlaps(&p, &q));

	CHECK(!nf_ipv4_host_parse("10.0.0.1", &a) && a.s_addr == htonl(0x0a000001));
	CHECK(nf_ipv4_host_parse("0.0.0.0", &a) && nf_ipv4_host_parse("255.255.255.255", &a));
	CHECK(nf_ipv4_host_parse("224.0.0.5", &a) && nf_ipv4_host_parse("10.0.0.1:80", &a));
	CHECK(nf_ipv4_host_parse("fd00::1", &a) && nf_ipv4_host_parse(NULL, &a));

	CHECK(nf_endpoint_parse("192.0.2.1:51820", &ss) && ss.ss_family == AF_INET);
	CHECK(strcmp(nf_endpoint_format(&ss, buf, sizeof(buf)), "192.0.2.1:51820") == 0);
	CHECK(nf_endpoint_parse("[2001:db8::1]:443", &ss) && ss.ss_family == AF_INET6);
	CHECK(strcmp(nf_endpoint_format(&ss, buf, sizeof(buf)), "[2001:db8::1]:443") == 0);
	CHECK(!nf_endpoint_parse("192.0.2.1", &ss));
	CHECK(!nf_endpoint_parse("192.0.2.1:0", &ss));
	CHECK(!nf_endpoint_parse("192.0.2.1:65536", &ss));
	CHECK(!nf_endpoint_parse("host:80", &ss));
	CHECK(!nf_endpoint_parse("[2001:db8::1:443", &ss));
	return check_result();
}
