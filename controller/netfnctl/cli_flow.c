// SPDX-License-Identifier: Apache-2.0
/*
 * netfnctl flow add|del|list|show: a network's flow filters, each dropping
 * or allowing one node's overlay traffic by protocol, TCP/UDP destination
 * port and IPv4 source and destination. Values go to the controller as
 * typed (numbers only parsed as numbers): it checks them and its error line,
 * naming the field, is what the user sees. list adds, per node, what went
 * through its bridge and which ports it blocks. --json prints the API's
 * messages with their proto field names, which scripts read.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/netfnctl/cli.h"

static const char *const filter_columns[] = {"ID",    "NAME", "NODE",   "PROTO", "DPORT",
                                             "SRC",   "DST",  "ACTION", "PRIO",  "PACKETS",
                                             "BYTES", "PPS",  "BPS",    "STATUS"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- output ---- */

static void counter_json(struct json *j, const Netfn__FlowCounter *k)
{
	json_object_begin(j);
	json_kv_uint(j, "id", k->id);
	json_kv_string(j, "node", k->node);
	json_kv_uint(j, "packets", k->packets);
	json_kv_uint(j, "bytes", k->bytes);
	json_kv_uint(j, "packets_per_s", k->packets_per_s);
	json_kv_uint(j, "bits_per_s", k->bits_per_s);
	json_kv_int(j, "at", k->at);
	json_object_end(j);
}

static void filter_json(struct json *j, const Netfn__FlowFilter *f)
{
	json_object_begin(j);
	json_kv_uint(j, "id", f->id);
	json_kv_string(j, "name", f->name);
	json_kv_string(j, "network", f->network);
	json_kv_string(j, "node", f->node);
	json_kv_string(j, "protocol", f->protocol);
	json_kv_uint(j, "dst_port", f->dst_port);
	json_kv_string(j, "src", f->src);
	json_kv_string(j, "dst", f->dst);
	json_kv_string(j, "action", f->action);
	json_kv_uint(j, "priority", f->priority);
	json_kv_int(j, "created", f->created);
	json_kv_string(j, "status", f->status);
	if (f->counter) {
		json_key(j, "counter");
		counter_json(j, f->counter);
	}
	json_object_end(j);
}

static const char *or_any(const char *s)
{
	return s && s[0] ? s : "any";
}

/* Bytes for people, in decimal units: "5.6 MB". */
static void fmt_bytes(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = {"kB", "MB", "GB", "TB", "PB"};
	double d = (double)v;
	size_t u = 0;

	if (v < 1000) {
		snprintf(buf, len, "%" PRIu64 " B", v);
		return;
	}
	for (d /= 1000; d >= 999.95 && u + 1 < COUNT(units); u++)
		d /= 1000;
	snprintf(buf, len, "%.1f %s", d, units[u]);
}

static void counter_cells(struct table *t, const Netfn__FlowCounter *k)
{
	if (!k) {
		for (int i = 0; i < 4; i++)
			table_cell(t, "-");
		return;
	}
	table_cellf(t, "%" PRIu64, k->packets);
	table_cellf(t, "%" PRIu64, k->bytes);
	table_cellf(t, "%" PRIu64, k->packets_per_s);
	table_cellf(t, "%" PRIu64, k->bits_per_s);
}

static int filters_table(Netfn__FlowFilter *const *v, size_t n)
{
	struct table *t = NULL;
	int rc;

	rc = table_new(COUNT(filter_columns), filter_columns, &t);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const Netfn__FlowFilter *f = v[i];

		table_cellf(t, "%" PRIu64, f->id);
		table_cell(t, f->name[0] ? f->name : "-");
		table_cell(t, f->node);
		table_cell(t, or_any(f->protocol));
		if (f->dst_port)
			table_cellf(t, "%u", f->dst_port);
		else
			table_cell(t, "any");
		table_cell(t, or_any(f->src));
		table_cell(t, or_any(f->dst));
		table_cell(t, f->action);
		table_cellf(t, "%u", f->priority);
		counter_cells(t, f->counter);
		table_cell(t, f->status[0] ? f->status : "-");
	}
	rc = table_print(t, stdout);
	table_free(t);
	return rc;
}

/* "tcp/8080 to 10.90.0.5/32", "udp/53", "any from 10.1.0.0/16": what a drop filter blocks. */
static void blocked_phrase(FILE *f, const Netfn__FlowFilter *k)
{
	fputs(or_any(k->protocol), f);
	if (k->dst_port)
		fprintf(f, "/%u", k->dst_port);
	if (k->src[0])
		fprintf(f, " from %s", k->src);
	if (k->dst[0])
		fprintf(f, " to %s", k->dst);
}

/*
 * The drop filters of node in l, joined by ", " ("" when none): those the
 * node failed to apply apart, since they block nothing.
 */
static void blocked_of(const Netfn__FlowFilterList *l, const char *node, FILE *f)
{
	for (int failed = 0; failed < 2; failed++) {
		bool first = true;

		for (size_t i = 0; i < l->n_filters; i++) {
			const Netfn__FlowFilter *k = l->filters[i];

			if (strcmp(k->node, node) != 0 || strcmp(k->action, "drop") != 0 ||
			    (strncmp(k->status, "failed", 6) == 0) != failed)
				continue;
			fputs(!first ? ", " : failed ? "; not applied: " : "; blocked: ", f);
			blocked_phrase(f, k);
			first = false;
		}
	}
}

/* Whether node already had its line: it is in nodes[0..n) or filters[0..i) with the same node. */
static bool seen_node(const Netfn__FlowFilterList *l, size_t i, const char *node)
{
	for (size_t k = 0; k < l->n_nodes; k++)
		if (!strcmp(l->nodes[k]->node, node))
			return true;
	for (size_t k = 0; k < i; k++)
		if (!strcmp(l->filters[k]->node, node))
			return true;
	return false;
}

/*
 * One line per node: what went through its bridge and what it blocks
 * ("web1: 1234 packets, 5.6 MB through the bridge; blocked: tcp/8080 to
 * 10.90.0.5/32, udp/53"); nodes with filters that reported nothing say so.
 */
static void node_lines(const Netfn__FlowFilterList *l)
{
	char bytes[32];

	for (size_t i = 0; i < l->n_nodes; i++) {
		const Netfn__FlowCounter *k = l->nodes[i];

		fmt_bytes(k->bytes, bytes, sizeof(bytes));
		printf("%s: %" PRIu64 " packets, %s through the bridge", k->node, k->packets,
		       bytes);
		blocked_of(l, k->node, stdout);
		fputc('\n', stdout);
	}
	for (size_t i = 0; i < l->n_filters; i++) {
		const char *node = l->filters[i]->node;

		if (seen_node(l, i, node))
			continue;
		printf("%s: no report from its bridge yet", node);
		blocked_of(l, node, stdout);
		fputc('\n', stdout);
	}
}

/* A filter for people: one field per line. */
static void filter_detail(const Netfn__FlowFilter *f)
{
	const Netfn__FlowCounter *k = f->counter;
	char created[32], at[32], bytes[32];

	table_fmt_time(f->created, created, sizeof(created));
	printf("filter: %" PRIu64 "%s%s (network %s)\n", f->id, f->name[0] ? " " : "", f->name,
	       f->network);
	printf("node: %s\naction: %s\nprotocol: %s\n", f->node, f->action, or_any(f->protocol));
	if (f->dst_port)
		printf("dst port: %u\n", f->dst_port);
	else
		printf("dst port: any\n");
	printf("src: %s\ndst: %s\npriority: %u\ncreated: %s\nstatus: %s\n", or_any(f->src),
	       or_any(f->dst), f->priority, created, f->status);
	if (!k) {
		printf("counters: none reported yet\n");
		return;
	}
	table_fmt_time(k->at, at, sizeof(at));
	fmt_bytes(k->bytes, bytes, sizeof(bytes));
	printf("counters: %" PRIu64 " packets, %" PRIu64 " bytes (%s), %" PRIu64
	       " packets/s, %" PRIu64 " bits/s, at %s\n",
	       k->packets, k->bytes, bytes, k->packets_per_s, k->bits_per_s, at);
}

static int print_filter(struct cli *c, const Netfn__FlowFilter *f)
{
	struct json j;

	if (c->json) {
		json_init(&j, stdout);
		filter_json(&j, f);
		return json_finish(&j);
	}
	filter_detail(f);
	return 0;
}

/* ---- calls ---- */

static int cmd_add(struct cli *c, int argc, char **argv)
{
	Netfn__FlowFilter req = NETFN__FLOW_FILTER__INIT;
	Netfn__FlowFilter *reply = NULL;
	const char *network = NULL, *node = NULL, *action = NULL, *name = NULL, *protocol = NULL,
	           *src = NULL, *dst = NULL;
	uint32_t port = 0, priority = 0;
	/* Numbers as wide as the message's fields: the controller says what is out of range. */
	const struct args_opt opts[] = {
	    {.name = "--network", .kind = ARGS_STR, .dest = &network},
	    {.name = "--node", .kind = ARGS_STR, .dest = &node},
	    {.name = "--action", .kind = ARGS_STR, .dest = &action},
	    {.name = "--name", .kind = ARGS_STR, .dest = &name},
	    {.name = "--protocol", .kind = ARGS_STR, .dest = &protocol},
	    {.name = "--dst-port", .kind = ARGS_UINT, .dest = &port, .min = 0, .max = UINT32_MAX},
	    {.name = "--src", .kind = ARGS_STR, .dest = &src},
	    {.name = "--dst", .kind = ARGS_STR, .dest = &dst},
	    {.name = "--priority",
	     .kind = ARGS_UINT,
	     .dest = &priority,
	     .min = 0,
	     .max = UINT32_MAX},
	};
	size_t n_pos;
	int rc;

	rc = cli_parse(c, argc, argv, opts, COUNT(opts), NULL, 0, 0, &n_pos, "");
	if (rc)
		return rc;
	if (!node)
		return cli_usage(c, "flow add: --node NODE is required");
	if (!action)
		return cli_usage(c, "flow add: --action drop|allow is required");
	req.network = cli_str(network);
	req.node = cli_str(node);
	req.action = cli_str(action);
	req.name = cli_str(name);
	req.protocol = cli_str(protocol);
	req.dst_port = port;
	req.src = cli_str(src);
	req.dst = cli_str(dst);
	req.priority = priority;
	rc = cli_call(c, "flow.add", &req.base, &netfn__flow_filter__descriptor,
	              (ProtobufCMessage **)&reply);
	if (rc)
		return rc;
	if (c->json) {
		rc = print_filter(c, reply);
	} else {
		printf("flow %" PRIu64 " added\n", reply->id);
		rc = fflush(stdout) ? -errno : 0;
	}
	cli_reply_free(reply);
	return rc;
}

/* Parses ID|NAME [--network NET] into ref, pointing into argv. */
static int parse_ref(struct cli *c, int argc, char **argv, Netfn__FlowRef *ref)
{
	const char *network, *pos[1];
	size_t n_pos;
	int rc;

	netfn__flow_ref__init(ref);
	rc = cli_parse_network(c, argc, argv, &network, pos, 1, 1, &n_pos, "ID|NAME");
	if (rc)
		return rc;
	ref->ref = cli_str(pos[0]);
	ref->network = cli_str(network);
	return 0;
}

static int cmd_del(struct cli *c, int argc, char **argv)
{
	Netfn__FlowRef ref;
	int rc;

	rc = parse_ref(c, argc, argv, &ref);
	if (!rc)
		rc = cli_call(c, "flow.delete", &ref.base, NULL, NULL);
	if (rc)
		return rc;
	cli_note("flow %s deleted", ref.ref);
	return 0;
}

static int cmd_list(struct cli *c, int argc, char **argv)
{
	Netfn__FlowListRequest req = NETFN__FLOW_LIST_REQUEST__INIT;
	Netfn__FlowFilterList *list = NULL;
	const char *network = NULL, *node = NULL;
	const struct args_opt opts[] = {
	    {.name = "--network", .kind = ARGS_STR, .dest = &network},
	    {.name = "--node", .kind = ARGS_STR, .dest = &node},
	};
	struct json j;
	size_t n_pos;
	int rc;

	rc = cli_parse(c, argc, argv, opts, COUNT(opts), NULL, 0, 0, &n_pos, "");
	if (rc)
		return rc;
	req.network = cli_str(network);
	req.node = cli_str(node);
	rc = cli_call(c, "flow.list", &req.base, &netfn__flow_filter_list__descriptor,
	              (ProtobufCMessage **)&list);
	if (rc)
		return rc;
	if (c->json) {
		json_init(&j, stdout);
		json_object_begin(&j);
		json_key(&j, "filters");
		json_array_begin(&j);
		for (size_t i = 0; i < list->n_filters; i++)
			filter_json(&j, list->filters[i]);
		json_array_end(&j);
		json_key(&j, "nodes");
		json_array_begin(&j);
		for (size_t i = 0; i < list->n_nodes; i++)
			counter_json(&j, list->nodes[i]);
		json_array_end(&j);
		json_object_end(&j);
		rc = json_finish(&j);
	} else {
		rc = filters_table(list->filters, list->n_filters);
		if (!rc && (list->n_nodes || list->n_filters)) {
			fputc('\n', stdout);
			node_lines(list);
		}
	}
	cli_reply_free(list);
	return rc;
}

static int cmd_show(struct cli *c, int argc, char **argv)
{
	Netfn__FlowFilter *reply = NULL;
	Netfn__FlowRef ref;
	int rc;

	rc = parse_ref(c, argc, argv, &ref);
	if (!rc)
		rc = cli_call(c, "flow.show", &ref.base, &netfn__flow_filter__descriptor,
		              (ProtobufCMessage **)&reply);
	if (rc)
		return rc;
	rc = print_filter(c, reply);
	cli_reply_free(reply);
	return rc;
}

static const struct cli_verb verbs[] = {
    {"add", cmd_add},
    {"del", cmd_del},
    {"list", cmd_list},
    {"show", cmd_show},
};

const struct cli_noun cli_noun_flow = {
    .name = "flow",
    .verbs = verbs,
    .n_verbs = COUNT(verbs),
    .usage = "  netfnctl flow add --node NODE --action drop|allow [--network NET] [--name NAME] "
             "[--protocol tcp|udp|icmp|any] [--dst-port P] [--src CIDR] [--dst CIDR] "
             "[--priority N]\n"
             "  netfnctl flow del ID|NAME [--network NET]\n"
             "  netfnctl flow list [--network NET] [--node NODE]\n"
             "  netfnctl flow show ID|NAME [--network NET]\n",
};
