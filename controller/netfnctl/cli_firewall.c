// SPDX-License-Identifier: Apache-2.0
/*
 * netfnctl firewall policy create|list|show|delete and firewall rule
 * add|del|list: firewall policies (a node selector, inbound default deny,
 * and an ordered list of rules) and their rules. The noun has two levels,
 * so "policy" and "rule" are verbs of the noun table that dispatch their own
 * verbs. A policy is printed the same way whichever verb fetched it; rule
 * list is the rules part of show. Rule values go to the controller as typed:
 * it validates ports, addresses, selectors and names, and its error line is
 * what the user must see; netfnctl only refuses what it cannot parse.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/netfnctl/cli.h"
#include "controller/netfnctl/fwrule.h"
#include "proto/rpc.h"

/* A rules file bigger than one request frame could not be sent anyway. */
#define RULES_FILE_MAX NF_RPC_MAX_FRAME

/* Same order as the JSON fields. */
static const char *const rule_columns[] = {"ID",  "DIRECTION", "PROTOCOL", "SRC",
                                           "DST", "PORT",      "ACTION",   "RATE",
                                           "LOG", "PACKETS",   "BYTES"};

#define N_RULE_COLUMNS (sizeof(rule_columns) / sizeof(rule_columns[0]))

static const char *const policy_columns[] = {"NAME",      "NETWORK", "SELECTOR", "DEFAULT-DENY",
                                             "BLOCK-SSH", "RULES",   "CREATED"};

#define N_POLICY_COLUMNS (sizeof(policy_columns) / sizeof(policy_columns[0]))

/*
 * src or dst as one cell. Entries are joined with '|' (they are OR-ed), not
 * ',', which already separates the labels inside a selector entry; none
 * means any address, and is shown so.
 */
static void addrs_cell(struct table *t, char *const *v, size_t n)
{
	if (n == 0)
		table_cell(t, "any");
	else
		cli_join_cell(t, v, n, "|");
}

static void rule_row(struct table *t, const Netfn__FwRule *r)
{
	table_cellf(t, "%llu", (unsigned long long)r->id);
	table_cell(t, r->direction);
	table_cell(t, r->protocol);
	addrs_cell(t, r->src, r->n_src);
	addrs_cell(t, r->dst, r->n_dst);
	table_cell(t, r->dst_port && r->dst_port[0] ? r->dst_port : "any");
	table_cell(t, r->action);
	table_cell(t, r->rate);
	table_cell(t, r->log_prefix);
	table_cellf(t, "%llu", (unsigned long long)r->packets);
	table_cellf(t, "%llu", (unsigned long long)r->bytes);
}

/* Prints rules in policy order: a table, or a JSON array with --json. */
static int print_rules(struct cli *c, Netfn__FwRule *const *v, size_t n)
{
	struct table *t = NULL;
	struct json j;
	int rc;

	if (c->json) {
		json_init(&j, stdout);
		json_array_begin(&j);
		for (size_t i = 0; i < n; i++)
			fwrule_json(&j, v[i]);
		json_array_end(&j);
		return json_finish(&j);
	}
	rc = table_new(N_RULE_COLUMNS, rule_columns, &t);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++)
		rule_row(t, v[i]);
	rc = table_print(t, stdout);
	table_free(t);
	return rc;
}

static void policy_json(struct json *j, const Netfn__FwPolicy *p)
{
	json_object_begin(j);
	json_kv_string(j, "name", p->name);
	json_kv_string(j, "network", p->network);
	json_key(j, "selector");
	cli_labels_json(j, p->selector, p->n_selector);
	json_kv_bool(j, "default_deny", p->default_deny);
	json_kv_bool(j, "block_ssh", p->block_ssh);
	json_kv_int(j, "created", p->created);
	json_key(j, "rules");
	json_array_begin(j);
	for (size_t i = 0; i < p->n_rules; i++)
		fwrule_json(j, p->rules[i]);
	json_array_end(j);
	json_object_end(j);
}

/* An empty selector picks every node of the network. */
static void selector_cell(struct table *t, const Netfn__FwPolicy *p)
{
	cli_labels_cell_or(t, p->selector, p->n_selector, "all");
}

/* One policy for people: its fields, then its rules. */
static int policy_detail(struct cli *c, const Netfn__FwPolicy *p)
{
	struct table *t = NULL;
	char created[32];
	int rc;

	rc = table_new(2, NULL, &t);
	if (rc)
		return rc;
	table_fmt_time(p->created, created, sizeof(created));
	table_cell(t, "name:");
	table_cell(t, p->name);
	table_cell(t, "network:");
	table_cell(t, p->network);
	table_cell(t, "selector:");
	selector_cell(t, p);
	table_cell(t, "default_deny:");
	table_cell(t, p->default_deny ? "yes" : "no");
	table_cell(t, "block_ssh:");
	table_cell(t, p->block_ssh ? "yes" : "no");
	table_cell(t, "created:");
	table_cell(t, created);
	table_cell(t, "rules:");
	table_cellf(t, "%zu", p->n_rules);
	rc = table_print(t, stdout);
	table_free(t);
	if (rc)
		return rc;
	fputc('\n', stdout);
	return print_rules(c, p->rules, p->n_rules);
}

/* Prints one policy (create, show, rule add): detail, or a JSON object. */
static int print_policy(struct cli *c, const Netfn__FwPolicy *p)
{
	struct json j;

	if (!c->json)
		return policy_detail(c, p);
	json_init(&j, stdout);
	policy_json(&j, p);
	return json_finish(&j);
}

static int print_policies(struct cli *c, Netfn__FwPolicy *const *v, size_t n)
{
	struct table *t = NULL;
	char created[32];
	struct json j;
	int rc;

	if (c->json) {
		json_init(&j, stdout);
		json_array_begin(&j);
		for (size_t i = 0; i < n; i++)
			policy_json(&j, v[i]);
		json_array_end(&j);
		return json_finish(&j);
	}
	rc = table_new(N_POLICY_COLUMNS, policy_columns, &t);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		table_fmt_time(v[i]->created, created, sizeof(created));
		table_cell(t, v[i]->name);
		table_cell(t, v[i]->network);
		selector_cell(t, v[i]);
		table_cell(t, v[i]->default_deny ? "yes" : "no");
		table_cell(t, v[i]->block_ssh ? "yes" : "no");
		table_cellf(t, "%zu", v[i]->n_rules);
		table_cell(t, created);
	}
	rc = table_print(t, stdout);
	table_free(t);
	return rc;
}

/* Reads a whole file ("-": stdin) into a fresh buffer; a usage error names the flag. */
static int read_input(struct cli *c, const char *flag, const char *path, char **out,
                      size_t *out_len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	char *buf = NULL;
	size_t len = 0, got;
	int rc = 0;

	if (!f)
		return cli_usage(c, "%s %.128s: %s", flag, path, strerror(errno));
	/* One byte more than allowed, to tell "exactly the limit" from "too big". */
	buf = malloc(RULES_FILE_MAX + 1);
	if (!buf) {
		rc = cli_fail(c, -ENOMEM, "reading rules");
		goto cleanup;
	}
	while ((got = fread(buf + len, 1, RULES_FILE_MAX + 1 - len, f)) > 0) {
		len += got;
		if (len > RULES_FILE_MAX)
			break;
	}
	if (ferror(f)) {
		rc = cli_usage(c, "%s %.128s: %s", flag, path, strerror(errno));
		goto cleanup;
	}
	if (len > RULES_FILE_MAX) {
		rc = cli_usage(c, "%s %.128s: larger than %u bytes", flag, path,
		               (unsigned)RULES_FILE_MAX);
		goto cleanup;
	}
	*out = buf;
	*out_len = len;
	buf = NULL;
cleanup:
	free(buf);
	if (f != stdin)
		fclose(f);
	return rc;
}

/* ---- policy ---- */

static int policy_create(struct cli *c, int argc, char **argv)
{
	Netfn__FwPolicy req = NETFN__FW_POLICY__INIT;
	Netfn__FwPolicy *reply = NULL;
	struct args_label sel[ARGS_MAX_LABELS];
	Netfn__Label sel_msgs[ARGS_MAX_LABELS];
	Netfn__Label *sel_ptrs[ARGS_MAX_LABELS];
	const char *network = NULL, *selector = NULL, *rules_file = NULL;
	bool default_deny = false, block_ssh = false;
	const struct args_opt opts[] = {
	    {.name = "--network", .kind = ARGS_STR, .dest = &network},
	    {.name = "--selector", .kind = ARGS_STR, .dest = &selector},
	    {.name = "--default-deny", .kind = ARGS_BOOL, .dest = &default_deny},
	    {.name = "--block-ssh", .kind = ARGS_BOOL, .dest = &block_ssh},
	    {.name = "--rules-file", .kind = ARGS_STR, .dest = &rules_file},
	};
	Netfn__FwRule **rules = NULL;
	size_t n_sel, n_rules = 0, n_pos, text_len = 0;
	const char *pos[1];
	char *text = NULL;
	char err[256];
	int rc;

	rc = cli_parse(c, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), pos, 1, 1, &n_pos,
	               "NAME");
	if (rc)
		return rc;
	if (!network)
		return cli_usage(c, "firewall policy create: missing --network");
	rc = cli_labels_parse(c, "--selector", selector, sel, &n_sel);
	if (rc)
		return rc;
	if (rules_file) {
		rc = read_input(c, "--rules-file", rules_file, &text, &text_len);
		if (rc)
			goto cleanup;
		rc = fwrule_list_from_text(text, text_len, &rules, &n_rules, err, sizeof(err));
		if (rc == -EINVAL) {
			rc = cli_usage(c, "--rules-file %.128s: %s", rules_file, err);
			goto cleanup;
		}
		if (rc) {
			rc = cli_fail(c, rc, "reading rules");
			goto cleanup;
		}
	}
	cli_labels_to_pb(sel, n_sel, sel_msgs, sel_ptrs);
	req.name = cli_str(pos[0]);
	req.network = cli_str(network);
	req.n_selector = n_sel;
	req.selector = sel_ptrs;
	req.default_deny = default_deny;
	req.block_ssh = block_ssh;
	req.n_rules = n_rules;
	req.rules = rules;
	rc = cli_call(c, "firewall.policy.create", &req.base, &netfn__fw_policy__descriptor,
	              (ProtobufCMessage **)&reply);
	if (rc)
		goto cleanup;
	rc = print_policy(c, reply);
cleanup:
	cli_reply_free(reply);
	fwrule_list_free(rules, n_rules);
	free(text);
	return rc;
}

static int policy_list(struct cli *c, int argc, char **argv)
{
	Netfn__FwPolicyList *reply = NULL;
	int rc;

	rc = cli_call_network(c, argc, argv, "firewall.policy.list",
	                      &netfn__fw_policy_list__descriptor, (ProtobufCMessage **)&reply);
	if (rc == 0)
		rc = print_policies(c, reply->policies, reply->n_policies);
	cli_reply_free(reply);
	return rc;
}

/* pos_desc [--network NET]: fetches one policy with its rules and counters. */
static int fetch_policy(struct cli *c, int argc, char **argv, const char *pos_desc,
                        Netfn__FwPolicy **out)
{
	Netfn__NameRef ref;

	return cli_call_ref(c, argc, argv, pos_desc, &ref, "firewall.policy.show",
	                    &netfn__fw_policy__descriptor, (ProtobufCMessage **)out);
}

static int policy_show(struct cli *c, int argc, char **argv)
{
	Netfn__FwPolicy *reply = NULL;
	int rc;

	rc = fetch_policy(c, argc, argv, "NAME", &reply);
	if (rc == 0)
		rc = print_policy(c, reply);
	cli_reply_free(reply);
	return rc;
}

static int policy_delete(struct cli *c, int argc, char **argv)
{
	Netfn__NameRef ref;
	int rc;

	rc = cli_call_ref(c, argc, argv, "NAME", &ref, "firewall.policy.delete", NULL, NULL);
	if (rc == 0)
		cli_note("firewall policy %s deleted", ref.name);
	return rc;
}

/* ---- rule ---- */

/* The string flags that describe a rule, as indexes into rule add's vals[]. */
enum rule_flag { F_DIRECTION, F_PROTOCOL, F_PORT, F_ACTION, F_RATE, F_LOG_PREFIX, N_RULE_FLAGS };

static const char *const rule_flags[N_RULE_FLAGS] = {
    [F_DIRECTION] = "--direction", [F_PROTOCOL] = "--protocol", [F_PORT] = "--port",
    [F_ACTION] = "--action",       [F_RATE] = "--rate",         [F_LOG_PREFIX] = "--log-prefix",
};

/* A rule flag given beside --from-json, which carries every rule field itself; or NULL. */
static const char *flag_beside_json(const struct fwrule_multi *multi, size_t n_multi,
                                    const char *const *vals)
{
	for (size_t i = 0; i < N_RULE_FLAGS; i++) {
		if (vals[i])
			return rule_flags[i];
	}
	for (size_t i = 0; i < n_multi; i++) {
		if (multi[i].n)
			return multi[i].name;
	}
	return NULL;
}

/* The id the controller gave the rule just added at position (0: the end). */
static bool added_id(const Netfn__FwPolicy *p, uint32_t position, uint64_t *id)
{
	if (p->n_rules == 0)
		return false;
	if (position == 0 || position > p->n_rules)
		position = (uint32_t)p->n_rules;
	*id = p->rules[position - 1]->id;
	return true;
}

static int rule_add(struct cli *c, int argc, char **argv)
{
	Netfn__FwRuleAdd req = NETFN__FW_RULE_ADD__INIT;
	Netfn__FwRule flags = NETFN__FW_RULE__INIT;
	Netfn__FwRule *from_json = NULL;
	Netfn__FwPolicy *reply = NULL;
	const char *vals[N_RULE_FLAGS] = {NULL};
	const char *network = NULL, *json_text = NULL;
	uint32_t position = 0;
	const struct args_opt opts[] = {
	    {.name = "--network", .kind = ARGS_STR, .dest = &network},
	    {.name = rule_flags[F_DIRECTION], .kind = ARGS_STR, .dest = &vals[F_DIRECTION]},
	    {.name = rule_flags[F_PROTOCOL], .kind = ARGS_STR, .dest = &vals[F_PROTOCOL]},
	    {.name = rule_flags[F_PORT], .kind = ARGS_STR, .dest = &vals[F_PORT]},
	    {.name = rule_flags[F_ACTION], .kind = ARGS_STR, .dest = &vals[F_ACTION]},
	    {.name = rule_flags[F_RATE], .kind = ARGS_STR, .dest = &vals[F_RATE]},
	    {.name = rule_flags[F_LOG_PREFIX], .kind = ARGS_STR, .dest = &vals[F_LOG_PREFIX]},
	    {.name = "--from-json", .kind = ARGS_STR, .dest = &json_text},
	    {.name = "--position",
	     .kind = ARGS_UINT,
	     .dest = &position,
	     .min = 1,
	     .max = UINT32_MAX},
	};
	struct fwrule_multi multi[2] = {{.name = "--src"}, {.name = "--dst"}};
	char **rest = NULL;
	const char *pos[1], *beside;
	size_t n_pos;
	uint64_t id;
	char err[256];
	int n_rest, rc;

	/* Every word could be a --src or --dst value: argc entries each is enough. */
	rest = calloc((size_t)argc + 1, sizeof(*rest));
	multi[0].vals = calloc((size_t)argc + 1, sizeof(char *));
	multi[1].vals = calloc((size_t)argc + 1, sizeof(char *));
	if (!rest || !multi[0].vals || !multi[1].vals) {
		rc = cli_fail(c, -ENOMEM, "parsing flags");
		goto cleanup;
	}
	rc = fwrule_split_args(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), multi,
	                       sizeof(multi) / sizeof(multi[0]), rest, &n_rest, err, sizeof(err));
	if (rc) {
		rc = cli_usage(c, "%s", err);
		goto cleanup;
	}
	rc = cli_parse(c, n_rest, rest, opts, sizeof(opts) / sizeof(opts[0]), pos, 1, 1, &n_pos,
	               "POLICY");
	if (rc)
		goto cleanup;
	if (json_text) {
		beside = flag_beside_json(multi, sizeof(multi) / sizeof(multi[0]), vals);
		if (beside) {
			rc = cli_usage(c, "--from-json: cannot be combined with %s", beside);
			goto cleanup;
		}
		rc = fwrule_from_text(json_text, strlen(json_text), &from_json, err, sizeof(err));
		if (rc == -EINVAL) {
			rc = cli_usage(c, "--from-json: %s", err);
			goto cleanup;
		}
		if (rc) {
			rc = cli_fail(c, rc, "reading the rule");
			goto cleanup;
		}
		req.rule = from_json;
	} else {
		if (!vals[F_DIRECTION] || !vals[F_ACTION]) {
			rc = cli_usage(c, "firewall rule add: missing %s (or give --from-json)",
			               rule_flags[vals[F_DIRECTION] ? F_ACTION : F_DIRECTION]);
			goto cleanup;
		}
		flags.direction = cli_str(vals[F_DIRECTION]);
		flags.protocol = cli_str(vals[F_PROTOCOL] ? vals[F_PROTOCOL] : "any");
		flags.dst_port = cli_str(vals[F_PORT]);
		flags.action = cli_str(vals[F_ACTION]);
		flags.rate = cli_str(vals[F_RATE]);
		flags.log_prefix = cli_str(vals[F_LOG_PREFIX]);
		flags.n_src = multi[0].n;
		flags.src = multi[0].vals;
		flags.n_dst = multi[1].n;
		flags.dst = multi[1].vals;
		req.rule = &flags;
	}
	req.policy = cli_str(pos[0]);
	req.network = cli_str(network);
	req.position = position;
	rc = cli_call(c, "firewall.rule.add", &req.base, &netfn__fw_policy__descriptor,
	              (ProtobufCMessage **)&reply);
	if (rc)
		goto cleanup;
	rc = print_policy(c, reply);
	if (rc == 0 && added_id(reply, position, &id))
		cli_note("firewall rule %llu added to policy %s", (unsigned long long)id, pos[0]);
cleanup:
	cli_reply_free(reply);
	fwrule_free(from_json);
	free(multi[0].vals);
	free(multi[1].vals);
	free(rest);
	return rc;
}

static int rule_del(struct cli *c, int argc, char **argv)
{
	Netfn__FwRuleRef req = NETFN__FW_RULE_REF__INIT;
	Netfn__FwPolicy *reply = NULL;
	const char *network, *pos[2];
	size_t n_pos;
	int rc;

	rc = cli_parse_network(c, argc, argv, &network, pos, 2, 2, &n_pos, "POLICY ID");
	if (rc)
		return rc;
	if (fwrule_parse_id(pos[1], &req.id))
		return cli_usage(c, "ID: expected a rule id (a number), got '%.32s'", pos[1]);
	req.policy = cli_str(pos[0]);
	req.network = cli_str(network);
	rc = cli_call(c, "firewall.rule.del", &req.base, &netfn__fw_policy__descriptor,
	              (ProtobufCMessage **)&reply);
	if (rc)
		goto cleanup;
	cli_note("firewall rule %llu deleted from policy %s", (unsigned long long)req.id, pos[0]);
cleanup:
	cli_reply_free(reply);
	return rc;
}

static int rule_list(struct cli *c, int argc, char **argv)
{
	Netfn__FwPolicy *reply = NULL;
	int rc;

	rc = fetch_policy(c, argc, argv, "POLICY", &reply);
	if (rc == 0)
		rc = print_rules(c, reply->rules, reply->n_rules);
	cli_reply_free(reply);
	return rc;
}

/* ---- the two levels ---- */

static const struct cli_verb policy_verbs[] = {
    {"create", policy_create},
    {"list", policy_list},
    {"show", policy_show},
    {"delete", policy_delete},
};

static const struct cli_verb rule_verbs[] = {
    {"add", rule_add},
    {"del", rule_del},
    {"list", rule_list},
};

static int cmd_policy(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, argc, argv, policy_verbs,
	                    sizeof(policy_verbs) / sizeof(policy_verbs[0]), NULL);
}

static int cmd_rule(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, argc, argv, rule_verbs, sizeof(rule_verbs) / sizeof(rule_verbs[0]),
	                    NULL);
}

static const struct cli_verb verbs[] = {
    {"policy", cmd_policy},
    {"rule", cmd_rule},
};

const struct cli_noun cli_noun_firewall = {
    .name = "firewall",
    .verbs = verbs,
    .n_verbs = sizeof(verbs) / sizeof(verbs[0]),
    .usage = "  netfnctl firewall policy create NAME --network NET [--selector k=v,...]"
             " [--default-deny] [--block-ssh] [--rules-file FILE]\n"
             "  netfnctl firewall policy list [--network NET]\n"
             "  netfnctl firewall policy show NAME [--network NET]\n"
             "  netfnctl firewall policy delete NAME [--network NET]\n"
             "  netfnctl firewall rule add POLICY [--network NET] --direction in|out|forward"
             " [--protocol tcp|udp|icmp|icmpv6|any] [--src X]... [--dst X]... [--port PORTS]"
             " --action accept|drop|reject [--rate N/second|minute|hour] [--log-prefix S]"
             " [--position N]\n"
             "  netfnctl firewall rule add POLICY [--network NET] --from-json JSON"
             " [--position N]\n"
             "  netfnctl firewall rule del POLICY ID [--network NET]\n"
             "  netfnctl firewall rule list POLICY [--network NET]\n",
};
