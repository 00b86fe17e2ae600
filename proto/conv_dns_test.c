// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for conv_dns.c: a good DnsSection converts to the plain config
 * (names folded to lower case, records sorted and repeats dropped, ttl 0 read
 * as the default) and back through the wire format unchanged; each bad field
 * is refused with the field named ("records[2].value: ...") and leaves the
 * config empty.
 */
#include "proto/conv_dns.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define N_REC 6

/* A section with storage for what its fields point to. */
struct section {
	Netfn__DnsSection pb;
	char *servers[DNS_MAX_SERVERS + 1];
	Netfn__DnsEntry rec[N_REC];
	Netfn__DnsEntry *rec_ptrs[N_REC];
};

static void section_init(struct section *s)
{
	static const char *const rec[N_REC][3] = {
	    {"web.prod.netfn.internal", "A", "10.99.0.3"},
	    {"DB.Prod.netfn.internal", "a", "10.99.0.2"},
	    {"_pg._tcp.prod.netfn.internal", "SRV", "0 5 5432 db.prod.netfn.internal"},
	    {"www.prod.netfn.internal", "CNAME", "web.prod.netfn.internal"},
	    {"prod.netfn.internal", "TXT", "hello, \"world\""},
	    {"web.prod.netfn.internal", "AAAA", "FD00:0::3"},
	};

	memset(s, 0, sizeof(*s));
	netfn__dns_section__init(&s->pb);
	s->pb.revision = 7;
	s->pb.zone = "prod.netfn.internal";
	s->servers[0] = "10.99.0.2";
	s->servers[1] = "10.99.0.3";
	s->pb.servers = s->servers;
	s->pb.n_servers = 2;
	s->pb.serve = true;
	s->pb.listen = "10.99.0.2";
	for (int i = 0; i < N_REC; i++) {
		netfn__dns_entry__init(&s->rec[i]);
		s->rec[i].name = (char *)rec[i][0];
		s->rec[i].type = (char *)rec[i][1];
		s->rec[i].value = (char *)rec[i][2];
		s->rec[i].ttl = i == 0 ? 0 : 300;
		s->rec_ptrs[i] = &s->rec[i];
	}
	s->pb.records = s->rec_ptrs;
	s->pb.n_records = N_REC;
}

static char err[256];

/* True when from_pb refuses s with an error starting with want, leaving the config empty. */
static bool refused(const struct section *s, const char *want)
{
	struct dns_config cfg;
	int ret;

	memset(&cfg, 0x5a, sizeof(cfg));
	err[0] = '\0';
	ret = conv_dns_from_pb(&s->pb, &cfg, err, sizeof(err));
	if (ret != -EINVAL || strncmp(err, want, strlen(want)) != 0) {
		fprintf(stderr, "  got %d '%s', want '%s'\n", ret, err, want);
		dns_config_free(&cfg);
		return false;
	}
	return cfg.records == NULL && cfg.n_records == 0;
}

static void test_good(void)
{
	struct section s;
	struct dns_config cfg, back;
	Netfn__DnsSection *pb = NULL, *unpacked;
	uint8_t *buf;
	size_t len;
	char a[INET_ADDRSTRLEN];

	section_init(&s);
	CHECK(conv_dns_from_pb(&s.pb, &cfg, err, sizeof(err)) == 0);
	CHECK(cfg.revision == 7 && strcmp(cfg.zone, "prod.netfn.internal") == 0);
	CHECK(cfg.n_servers == 2 && cfg.serve);
	CHECK(strcmp(inet_ntop(AF_INET, &cfg.servers[1], a, sizeof(a)), "10.99.0.3") == 0);
	CHECK(strcmp(inet_ntop(AF_INET, &cfg.listen, a, sizeof(a)), "10.99.0.2") == 0);
	CHECK(cfg.n_records == N_REC);
	/* Sorted by name, then type, then value; names folded, values canonical. */
	CHECK(strcmp(cfg.records[0].name, "_pg._tcp.prod.netfn.internal") == 0);
	CHECK(cfg.records[0].type == DNS_SRV &&
	      strcmp(cfg.records[0].value, "0 5 5432 db.prod.netfn.internal") == 0);
	CHECK(strcmp(cfg.records[1].name, "db.prod.netfn.internal") == 0 &&
	      cfg.records[1].type == DNS_A);
	CHECK(strcmp(cfg.records[2].name, "prod.netfn.internal") == 0 &&
	      strcmp(cfg.records[2].value, "hello, \"world\"") == 0);
	CHECK(strcmp(cfg.records[3].name, "web.prod.netfn.internal") == 0 &&
	      cfg.records[3].type == DNS_A && cfg.records[3].ttl == DNS_TTL_DEFAULT);
	CHECK(cfg.records[4].type == DNS_AAAA && strcmp(cfg.records[4].value, "fd00::3") == 0 &&
	      cfg.records[4].ttl == 300);
	CHECK(cfg.records[5].type == DNS_CNAME &&
	      strcmp(cfg.records[5].value, "web.prod.netfn.internal") == 0);

	/* Through the wire format and back: the same config. */
	CHECK(conv_dns_to_pb(&cfg, &pb) == 0);
	len = netfn__dns_section__get_packed_size(pb);
	buf = malloc(len);
	netfn__dns_section__pack(pb, buf);
	unpacked = netfn__dns_section__unpack(NULL, len, buf);
	CHECK(unpacked != NULL);
	CHECK(conv_dns_from_pb(unpacked, &back, err, sizeof(err)) == 0);
	CHECK(back.revision == cfg.revision && strcmp(back.zone, cfg.zone) == 0 &&
	      back.n_servers == cfg.n_servers && back.serve == cfg.serve &&
	      back.listen.s_addr == cfg.listen.s_addr && back.n_records == cfg.n_records);
	CHECK(memcmp(back.servers, cfg.servers, sizeof(cfg.servers)) == 0);
	for (size_t i = 0; i < cfg.n_records && i < back.n_records; i++)
		CHECK(strcmp(back.records[i].name, cfg.records[i].name) == 0 &&
		      back.records[i].type == cfg.records[i].type &&
		      strcmp(back.records[i].value, cfg.records[i].value) == 0 &&
		      back.records[i].ttl == cfg.records[i].ttl);
	netfn__dns_section__free_unpacked(unpacked, NULL);
	free(buf);
	conv_dns_pb_free(pb);
	dns_config_free(&back);
	dns_config_free(&cfg);
	conv_dns_pb_free(NULL);
}

static void test_empty_and_client(void)
{
	struct section s;
	struct dns_config cfg;
	Netfn__DnsSection *pb = NULL;

	/* No zone, nothing else: no overlay DNS. */
	netfn__dns_section__init(&s.pb);
	s.pb.revision = 3;
	CHECK(conv_dns_from_pb(&s.pb, &cfg, err, sizeof(err)) == 0);
	CHECK(cfg.revision == 3 && cfg.zone[0] == '\0' && cfg.n_servers == 0 && !cfg.serve);
	CHECK(conv_dns_to_pb(&cfg, &pb) == 0 && pb->zone[0] == '\0' && pb->listen[0] == '\0');
	conv_dns_pb_free(pb);
	dns_config_free(&cfg);

	/* A node that only resolves: servers, no records, no listen. */
	section_init(&s);
	s.pb.serve = false;
	s.pb.listen = "";
	s.pb.n_records = 0;
	CHECK(conv_dns_from_pb(&s.pb, &cfg, err, sizeof(err)) == 0);
	CHECK(!cfg.serve && cfg.listen.s_addr == 0 && cfg.n_servers == 2 && !cfg.records);
	dns_config_free(&cfg);

	/* Repeats are dropped. */
	section_init(&s);
	s.rec[1].name = "web.prod.netfn.internal";
	s.rec[1].value = "10.99.0.3";
	CHECK(conv_dns_from_pb(&s.pb, &cfg, err, sizeof(err)) == 0 && cfg.n_records == N_REC - 1);
	dns_config_free(&cfg);
}

static void test_refused(void)
{
	struct section s;
	char name[300];

	section_init(&s);
	s.pb.zone = "prod..internal";
	CHECK(refused(&s, "zone: empty label"));
	s.pb.zone = "prod.internal.";
	CHECK(refused(&s, "zone: ends with '.'"));

	section_init(&s);
	s.pb.zone = "";
	CHECK(refused(&s, "zone: empty, but the section has servers"));
	s.pb.n_servers = 0;
	s.pb.serve = false;
	s.pb.n_records = 0;
	CHECK(refused(&s, "zone: empty, but the section has a listen address"));

	section_init(&s);
	s.servers[2] = "10.99.0.4";
	s.servers[3] = "10.99.0.5";
	s.servers[4] = "10.99.0.6";
	s.pb.n_servers = 5;
	CHECK(refused(&s, "servers: 5 servers, at most 4"));
	s.pb.n_servers = 4;
	s.servers[3] = "10.99.0.2";
	CHECK(refused(&s, "servers[3]: 10.99.0.2 is servers[0] again"));
	s.servers[3] = "10.99.0.x";
	CHECK(refused(&s, "servers[3]: '10.99.0.x': not a dotted IPv4 address"));
	s.servers[3] = "fd00::1";
	CHECK(refused(&s, "servers[3]: 'fd00::1': not a dotted"));
	s.servers[3] = "224.0.0.1";
	CHECK(refused(&s, "servers[3]: '224.0.0.1': a multicast"));
	s.servers[3] = "0.0.0.0";
	CHECK(refused(&s, "servers[3]: '0.0.0.0': 0.0.0.0 is not a host"));
	s.servers[3] = "10.9.9.9\n";
	CHECK(refused(&s, "servers[3]: '10.9.9.9?'"));

	section_init(&s);
	s.pb.listen = "";
	CHECK(refused(&s, "listen: '': not a dotted IPv4 address (a server needs"));
	s.pb.listen = "255.255.255.255";
	CHECK(refused(&s, "listen: '255.255.255.255': the broadcast"));
	s.pb.serve = false;
	s.pb.listen = "nope";
	CHECK(refused(&s, "listen: 'nope': not a dotted IPv4 address"));

	section_init(&s);
	s.rec[2].name = "db.other.internal";
	CHECK(refused(&s, "records[2].name: 'db.other.internal' is not in the zone "
	                  "prod.netfn.internal"));
	s.rec[2].name = "xprod.netfn.internal";
	CHECK(refused(&s, "records[2].name: 'xprod.netfn.internal' is not in the zone"));
	s.rec[2].name = "db.prod.netfn.internal.";
	CHECK(refused(&s, "records[2].name: ends with '.'"));
	s.rec[2].name = "d\x01.prod.netfn.internal";
	CHECK(refused(&s, "records[2].name: control character 0x01 at position 2"));
	memset(name, 'a', 64);
	strcpy(name + 64, ".prod.netfn.internal");
	s.rec[2].name = name;
	CHECK(refused(&s, "records[2].name: label"));

	section_init(&s);
	s.rec[3].type = "MX";
	CHECK(refused(&s, "records[3].type: 'MX' is not A, AAAA, CNAME, SRV or TXT"));
	s.rec[3].type = "";
	CHECK(refused(&s, "records[3].type: '' is not"));

	section_init(&s);
	s.rec[0].value = "10.99.0.300";
	CHECK(refused(&s, "records[0].value: '10.99.0.300' is not a dotted IPv4 address"));
	section_init(&s);
	s.rec[5].value = "10.99.0.3";
	CHECK(refused(&s, "records[5].value: '10.99.0.3' is not an IPv6 address"));
	section_init(&s);
	s.rec[3].value = "web.prod.netfn.internal.";
	CHECK(refused(&s, "records[3].value: ends with '.' (targets here"));
	s.rec[3].value = "@";
	CHECK(refused(&s, "records[3].value: '@' (the zone) needs a zone"));
	s.rec[3].value = "we b";
	CHECK(refused(&s, "records[3].value: ' ' at position 3"));
	s.rec[3].value = "";
	CHECK(refused(&s, "records[3].value: empty name"));
	s.rec[3].value = ".";
	CHECK(refused(&s, "records[3].value: the root"));
	section_init(&s);
	s.rec[2].value = "0 5 65536 db.prod.netfn.internal";
	CHECK(refused(&s, "records[2].value: port '65536' is not a number 0-65535"));
	s.rec[2].value = "0 5 5432";
	CHECK(refused(&s, "records[2].value: '0 5 5432' is not \"PRIORITY WEIGHT PORT TARGET\""));
	section_init(&s);
	s.rec[4].value = "two\nlines";
	CHECK(refused(&s, "records[4].value: control character 0x0a at position 4"));

	section_init(&s);
	s.rec[1].ttl = DNS_TTL_MAX + 1;
	CHECK(refused(&s, "records[1].ttl: 86401 is above 86400"));
	s.rec[1].ttl = DNS_TTL_MAX;
	{
		struct dns_config cfg;

		CHECK(conv_dns_from_pb(&s.pb, &cfg, err, sizeof(err)) == 0);
		dns_config_free(&cfg);
	}

	/* An alias has no other data. */
	section_init(&s);
	s.rec[3].name = "web.prod.netfn.internal";
	CHECK(refused(&s, "records[5].name: 'web.prod.netfn.internal' is an alias (the CNAME of "
	                  "records[3])"));
	section_init(&s);
	s.rec[0].name = "www.prod.netfn.internal";
	s.rec[0].type = "CNAME";
	s.rec[0].value = "db.prod.netfn.internal";
	CHECK(refused(&s, "records[3].name: 'www.prod.netfn.internal' is an alias (the CNAME of "
	                  "records[0])"));

	/* Too many records is refused before any is read. */
	section_init(&s);
	s.pb.n_records = DNS_MAX_RECORDS + 1;
	CHECK(refused(&s, "records: 10001 records, at most 10000"));
}

int main(void)
{
	test_good();
	test_empty_and_client();
	test_refused();
	return check_result();
}
