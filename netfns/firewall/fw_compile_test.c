// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the firewall's controller half: the rule grammar (every
 * field accepted and refused, with the field named), canonical text and its
 * round trip, and the compiler: policy selection by node labels, the empty
 * selector, label selectors resolved to overlay addresses (and to nothing),
 * address lists sorted and freed of contained entries, ports, ordering, and
 * how default deny and SSH combine across policies.
 */
#include "netfns/firewall/fw_compile.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static struct fw_rule_text rule(const char *proto, const char *src, const char *ports,
                                const char *action)
{
	struct fw_rule_text t = {
	    .protocol = proto, .src = src, .dst_port = ports, .action = action};

	return t;
}

/* Parses t and expects a refusal naming field. */
static bool refused(struct fw_rule_text t, const char *field)
{
	struct fw_rule_spec r;
	struct fw_error err;

	if (fw_rule_parse(&t, &r, &err) != -EINVAL)
		return false;
	if (!err.field || strcmp(err.field, field) != 0) {
		fprintf(stderr, "expected field %s, got %s (%s)\n", field,
		        err.field ? err.field : "none", err.reason);
		return false;
	}
	return err.reason[0] != '\0';
}

static void test_parse(void)
{
	struct fw_rule_text t = rule("tcp", "10.0.0.0/8  role=web,env=prod 192.0.2.7",
	                             "443,80,81-82,8000-8100,8050", "accept");
	struct fw_rule_spec r, again;
	struct fw_rule_canon c;
	struct fw_error err;

	t.direction = "in";
	t.dst = "2001:db8::/32";
	t.rate = "10/minute";
	t.log_prefix = "web: ";
	t.id = 42;
	CHECK(fw_rule_parse(&t, &r, &err) == 0);
	CHECK(r.id == 42 && r.dir == FW_IN && r.proto == FW_TCP && r.action == FW_ACCEPT);
	CHECK(r.n_src == 3 && !r.src[0].selector && r.src[1].selector && !r.src[2].selector);
	CHECK(r.src[2].prefix.len == 32 && strcmp(r.src[2].text, "192.0.2.7/32") == 0);
	CHECK(r.n_dst == 1 && r.dst[0].prefix.family == AF_INET6);
	CHECK(r.n_ports == 3 && r.ports[0].first == 80 && r.ports[0].last == 82);
	CHECK(r.ports[1].first == 443 && r.ports[2].first == 8000 && r.ports[2].last == 8100);
	CHECK(r.rate == 10 && r.rate_unit == FW_PER_MINUTE);
	CHECK(strcmp(r.log_prefix, "web: ") == 0);

	fw_rule_canon(&r, &c);
	CHECK(strcmp(c.direction, "in") == 0 && strcmp(c.protocol, "tcp") == 0);
	CHECK(strcmp(c.src, "10.0.0.0/8 role=web,env=prod 192.0.2.7/32") == 0);
	CHECK(strcmp(c.dst, "2001:db8::/32") == 0);
	CHECK(strcmp(c.dst_port, "80-82,443,8000-8100") == 0);
	CHECK(strcmp(c.action, "accept") == 0 && strcmp(c.rate, "10/minute") == 0);
	CHECK(strcmp(c.log_prefix, "web: ") == 0);

	/* Canonical text reads back to the same rule. */
	struct fw_rule_text back = {.id = 42,
	                            .direction = c.direction,
	                            .protocol = c.protocol,
	                            .src = c.src,
	                            .dst = c.dst,
	                            .dst_port = c.dst_port,
	                            .action = c.action,
	                            .rate = c.rate,
	                            .log_prefix = c.log_prefix};
	CHECK(fw_rule_parse(&back, &again, &err) == 0);
	CHECK(memcmp(&again, &r, sizeof(r)) == 0);

	/* Defaults: in, any protocol, any address, any port; NULL reads as "". */
	struct fw_rule_text min = {.action = "drop"};
	CHECK(fw_rule_parse(&min, &r, &err) == 0);
	CHECK(r.dir == FW_IN && r.proto == FW_ANY && r.n_src == 0 && r.n_dst == 0);
	CHECK(r.n_ports == 0 && r.rate == 0 && r.action == FW_DROP);
	fw_rule_canon(&r, &c);
	CHECK(strcmp(c.direction, "in") == 0 && strcmp(c.protocol, "any") == 0);
	CHECK(c.src[0] == '\0' && c.dst_port[0] == '\0' && c.rate[0] == '\0');

	/* Each field refused by name. */
	t = rule("tcp", "", "22", "accept");
	t.direction = "sideways";
	CHECK(refused(t, "direction"));
	t.direction = "IN"; /* one spelling only */
	CHECK(refused(t, "direction"));
	CHECK(refused(rule("sctp", "", "", "accept"), "protocol"));
	CHECK(refused(rule("tcp;", "", "", "accept"), "protocol"));
	CHECK(refused(rule("tcp", "", "", ""), "action"));
	CHECK(refused(rule("tcp", "", "", "allow"), "action"));
	CHECK(refused(rule("tcp", "10.0.0.1/8", "", "accept"), "src"));
	CHECK(refused(rule("tcp", "10.0.0.256", "", "accept"), "src"));
	CHECK(refused(rule("tcp", "10.0.0.0/33", "", "accept"), "src"));
	CHECK(refused(rule("tcp", "role=web;reboot", "", "accept"), "src"));
	CHECK(refused(rule("tcp", "role=\"web\"", "", "accept"), "src"));
	CHECK(refused(rule("tcp", "=web", "", "accept"), "src"));
	CHECK(refused(rule("tcp", "role=web,", "", "accept"), "src"));
	CHECK(refused(rule("tcp", "role=a,role=b", "", "accept"), "src"));
	CHECK(refused(rule("tcp", "10.0.0.0/8\n", "", "accept"), "src"));
	CHECK(refused(rule("tcp", "any", "", "accept"), "src"));
	t = rule("tcp", "", "", "accept");
	t.dst = "10.0.0.0/8,10.1.0.0/16";
	CHECK(refused(t, "dst"));
	char many[FW_LIST_MAX];
	many[0] = '\0';
	for (int i = 0; i <= FW_MAX_ENTRIES; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "10.0.%d.0/24 ", i);
	CHECK(refused(rule("tcp", many, "", "accept"), "src"));
	CHECK(refused(rule("tcp", "", "0", "accept"), "dst_port"));
	CHECK(refused(rule("tcp", "", "65536", "accept"), "dst_port"));
	CHECK(refused(rule("tcp", "", "80-70", "accept"), "dst_port"));
	CHECK(refused(rule("tcp", "", "80,", "accept"), "dst_port"));
	CHECK(refused(rule("tcp", "", "080", "accept"), "dst_port"));
	CHECK(refused(rule("tcp", "", "80 443", "accept"), "dst_port"));
	CHECK(refused(rule("tcp", "", "http", "accept"), "dst_port"));
	CHECK(refused(rule("tcp", "", "1-", "accept"), "dst_port"));
	CHECK(refused(rule("icmp", "", "22", "accept"), "dst_port"));
	CHECK(refused(rule("any", "", "22", "accept"), "dst_port"));
	CHECK(refused(rule("", "", "22", "accept"), "dst_port"));
	t = rule("udp", "", "53", "accept");
	CHECK(fw_rule_parse(&t, &r, &err) == 0 && r.n_ports == 1 && r.ports[0].first == 53);
	t = rule("tcp", "", "1-65535", "accept");
	CHECK(fw_rule_parse(&t, &r, &err) == 0 && r.ports[0].last == 65535);
	static const char *const bad_rates[] = {"0/second", "1000001/second", "10/day",
	                                        "10",       "010/second",     "-1/hour",
	                                        "/hour",    "5/Second"};
	for (size_t i = 0; i < sizeof(bad_rates) / sizeof(bad_rates[0]); i++) {
		t = rule("tcp", "", "", "accept");
		t.rate = bad_rates[i];
		CHECK(refused(t, "rate"));
	}
	t.rate = "1000000/hour";
	CHECK(fw_rule_parse(&t, &r, &err) == 0 && r.rate == 1000000 && r.rate_unit == FW_PER_HOUR);
	static const char *const bad_prefixes[] = {"a\"b", "a'b",  "a;b",        "a\\b",
	                                           "a\nb", "a\tb", "caf\xc3\xa9"};
	for (size_t i = 0; i < sizeof(bad_prefixes) / sizeof(bad_prefixes[0]); i++) {
		t = rule("tcp", "", "", "accept");
		t.log_prefix = bad_prefixes[i];
		CHECK(refused(t, "log_prefix"));
	}
	char long_prefix[FW_LOG_PREFIX_MAX + 1];
	memset(long_prefix, 'x', FW_LOG_PREFIX_MAX);
	long_prefix[FW_LOG_PREFIX_MAX] = '\0';
	t.log_prefix = long_prefix;
	CHECK(refused(t, "log_prefix"));
	long_prefix[FW_LOG_PREFIX_MAX - 1] = '\0';
	CHECK(fw_rule_parse(&t, &r, &err) == 0);

	/* The offending value comes back as given, for the caller to show. */
	t = rule("tcp", "10.0.0.0/8 10.0.0.1/8", "", "accept");
	CHECK(fw_rule_parse(&t, &r, &err) == -EINVAL && strcmp(err.value, "10.0.0.1/8") == 0);

	struct fw_entry e;
	CHECK(fw_entry_parse("role=web", &e, &err) && e.selector);
	CHECK(fw_entry_parse("k.8s/app=a_b-c.1,empty=", &e, &err) && e.selector);
	CHECK(!fw_entry_parse("", &e, &err));
	CHECK(!fw_entry_parse("role=web env=prod", &e, &err));
}

static struct fw_member member(int64_t id, const char *addr, const char *labels)
{
	struct fw_member m = {.id = id};
	char buf[256];

	inet_pton(AF_INET, addr, &m.address);
	snprintf(buf, sizeof(buf), "%s", labels);
	for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv;
	     kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');

		*eq = '\0';
		snprintf(m.labels[m.n_labels].key, FW_NAME_MAX, "%s", kv);
		snprintf(m.labels[m.n_labels].value, FW_NAME_MAX, "%s", eq + 1);
		m.n_labels++;
	}
	return m;
}

static struct fw_rule_spec spec(uint64_t id, const char *proto, const char *src, const char *ports,
                                const char *action)
{
	struct fw_rule_text t = rule(proto, src, ports, action);
	struct fw_rule_spec r;
	struct fw_error err;

	t.id = id;
	CHECK(fw_rule_parse(&t, &r, &err) == 0);
	return r;
}

static bool has_host(const struct nf_prefix *v, size_t n, const char *addr)
{
	struct nf_prefix p;

	nf_prefix_parse(addr, true, &p);
	for (size_t i = 0; i < n; i++)
		if (v[i].family == p.family && v[i].len == p.len &&
		    memcmp(v[i].addr.bytes, p.addr.bytes, 16) == 0)
			return true;
	return false;
}

static void test_compile(void)
{
	struct fw_member m[] = {
	    member(1, "10.7.0.1", "role=web,env=prod"),
	    member(2, "10.7.0.2", "role=web,env=dev"),
	    member(3, "10.7.0.3", "role=db,env=prod"),
	    member(4, "10.7.0.4", ""),
	};
	struct fw_rule_spec all_rules[] = {
	    spec(10, "tcp", "", "80,443", "accept"),
	};
	struct fw_rule_spec db_rules[] = {
	    spec(20, "tcp", "role=web,env=prod", "5432", "accept"),
	    spec(21, "tcp", "role=cache", "6379", "accept"),                /* matches no node */
	    spec(22, "any", "10.0.0.0/8 role=web 10.7.0.0/24", "", "drop"), /* contained */
	    spec(23, "icmp", "192.0.2.0/24 role=web 10.7.0.3", "", "reject"),
	};
	struct fw_rule_spec web_rules[] = {
	    spec(30, "udp", "role=db", "53", "accept"),
	};
	struct fw_policy_spec p[] = {
	    {.id = 1, .name = "base", .rules = all_rules, .n_rules = 1},
	    {.id = 2,
	     .name = "db",
	     .n_selector = 1,
	     .selector = {{"role", "db"}},
	     .default_deny = true,
	     .rules = db_rules,
	     .n_rules = 4},
	    {.id = 3,
	     .name = "web",
	     .n_selector = 2,
	     .selector = {{"role", "web"}, {"env", "prod"}},
	     .default_deny = true,
	     .block_ssh = true,
	     .rules = web_rules,
	     .n_rules = 1},
	    {.id = 4,
	     .name = "noop",
	     .n_selector = 1,
	     .selector = {{"env", "dev"}},
	     .block_ssh = true},
	};
	struct fw_compiler *fc = NULL;
	struct fw_config cfg;

	CHECK(fw_compile_prepare(p, 4, m, 4, 51820, &fc) == 0 && fc);
	if (!fc)
		return;

	/* db: the base policy, then its own, in position order. */
	CHECK(fw_compile_node(fc, 3, &cfg) == 0);
	CHECK(cfg.n_rules == 5 && cfg.wg_port == 51820);
	CHECK(cfg.default_deny && cfg.keep_ssh);
	CHECK(cfg.rules[0].id == 10 && cfg.rules[1].id == 20 && cfg.rules[2].id == 21);
	CHECK(cfg.rules[3].id == 22 && cfg.rules[4].id == 23);
	CHECK(strcmp(cfg.rules[0].policy, "base") == 0 && strcmp(cfg.rules[1].policy, "db") == 0);
	CHECK(cfg.rules[0].src_any && cfg.rules[0].n_src == 0 && cfg.rules[0].dst_any);
	CHECK(cfg.rules[0].n_ports == 2 && cfg.rules[0].ports[1].first == 443);
	/* A selector becomes the /32s of the members carrying all its labels. */
	CHECK(!cfg.rules[1].src_any && cfg.rules[1].n_src == 1);
	CHECK(has_host(cfg.rules[1].src, cfg.rules[1].n_src, "10.7.0.1"));
	/* Matching nobody: an empty list that matches nothing, not any. */
	CHECK(!cfg.rules[2].src_any && cfg.rules[2].n_src == 0);
	/* Entries inside another entry of the list go. */
	CHECK(cfg.rules[3].n_src == 1 && has_host(cfg.rules[3].src, 1, "10.0.0.0/8"));
	CHECK(cfg.rules[4].n_src == 4 && cfg.rules[4].proto == FW_ICMP);
	CHECK(has_host(cfg.rules[4].src, 4, "10.7.0.1/32") &&
	      has_host(cfg.rules[4].src, 4, "10.7.0.2/32") &&
	      has_host(cfg.rules[4].src, 4, "10.7.0.3/32"));
	/* Sorted: the 10.7 hosts before 192.0.2.0/24. */
	CHECK(cfg.rules[4].src[0].addr.bytes[0] == 10 && cfg.rules[4].src[3].addr.bytes[0] == 192);
	CHECK(cfg.rules[4].action == FW_REJECT && cfg.rules[3].action == FW_DROP);
	fw_config_free(&cfg);
	CHECK(cfg.rules == NULL && cfg.n_rules == 0);

	/* web in prod: base and web; web's block_ssh closes SSH. */
	CHECK(fw_compile_node(fc, 1, &cfg) == 0);
	CHECK(cfg.n_rules == 2 && cfg.rules[0].id == 10 && cfg.rules[1].id == 30);
	CHECK(cfg.default_deny && !cfg.keep_ssh);
	CHECK(cfg.rules[1].n_src == 1 && has_host(cfg.rules[1].src, 1, "10.7.0.3"));
	fw_config_free(&cfg);

	/* web in dev: base and noop, whose block_ssh without default deny means nothing. */
	CHECK(fw_compile_node(fc, 2, &cfg) == 0);
	CHECK(cfg.n_rules == 1 && !cfg.default_deny && !cfg.keep_ssh);
	fw_config_free(&cfg);

	/* No labels: only the empty-selector policy. */
	CHECK(fw_compile_node(fc, 4, &cfg) == 0);
	CHECK(cfg.n_rules == 1 && cfg.rules[0].id == 10 && !cfg.default_deny);
	fw_config_free(&cfg);

	CHECK(fw_compile_node(fc, 99, &cfg) == -ENOENT);
	fw_compile_free(fc);
	fw_compile_free(NULL);

	/* Selected by nothing: an empty config, still carrying the overlay port. */
	CHECK(fw_compile(&p[1], 1, m, 4, 51821, 1, &cfg) == 0);
	CHECK(cfg.n_rules == 0 && cfg.rules == NULL && !cfg.default_deny && cfg.wg_port == 51821);
	fw_config_free(&cfg);
	/* No policies, no members. */
	CHECK(fw_compile(NULL, 0, m, 1, 51820, 1, &cfg) == 0 && cfg.n_rules == 0);
	CHECK(fw_compile(NULL, 0, NULL, 0, 51820, 1, &cfg) == -ENOENT);

	/* A label change moves a node in or out of a selector's addresses. */
	m[1] = member(2, "10.7.0.2", "role=web,env=prod");
	CHECK(fw_compile(p, 4, m, 4, 51820, 3, &cfg) == 0);
	CHECK(cfg.n_rules == 5 && cfg.rules[1].n_src == 2 &&
	      has_host(cfg.rules[1].src, 2, "10.7.0.2"));
	fw_config_free(&cfg);
}

static void test_labels_match(void)
{
	struct fw_label sel[] = {{"role", "web"}, {"env", ""}};
	struct fw_label have[] = {{"env", ""}, {"role", "web"}, {"x", "y"}};

	CHECK(fw_labels_match(NULL, 0, NULL, 0));
	CHECK(fw_labels_match(sel, 2, have, 3));
	CHECK(!fw_labels_match(sel, 2, have, 1));
	CHECK(!fw_labels_match(sel, 1, NULL, 0));
}

int main(void)
{
	test_parse();
	test_compile();
	test_labels_match();
	return check_result();
}
