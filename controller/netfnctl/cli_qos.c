// SPDX-License-Identifier: Apache-2.0
/*
 * netfnctl qos link, qos class create|list|show|delete, qos assign and
 * qos unassign: a network's traffic classes. Rates and matches go to the
 * controller as typed: it checks them against each other and the link rate,
 * and its error line, naming the field, is what the user sees. show adds
 * each node's last reported counters of the class. --network may be left
 * out when there is one network.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/netfnctl/cli.h"
#include "controller/netfnctl/fwrule.h"

static const char *const class_columns[] = {"NAME", "MIN", "MAX", "PRIORITY", "MATCHES"};
static const char *const match_columns[] = {"ID", "PROTOCOL", "PORT", "PEER", "CIDR"};
static const char *const counter_columns[] = {"NODE", "PACKETS", "BYTES", "DROPS", "RATE"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- output ---- */

static void match_json(struct json *j, const Netfn__QosMatch *m)
{
	json_object_begin(j);
	json_kv_uint(j, "id", m->id);
	json_kv_string(j, "protocol", m->protocol);
	json_kv_string(j, "port", m->port);
	json_kv_string(j, "peer", m->peer);
	json_kv_string(j, "cidr", m->cidr);
	json_object_end(j);
}

static void class_json(struct json *j, const Netfn__QosClass *c)
{
	json_object_begin(j);
	json_kv_string(j, "name", c->name);
	json_kv_string(j, "network", c->network);
	json_kv_string(j, "min_rate", c->min_rate);
	json_kv_string(j, "max_rate", c->max_rate);
	json_kv_uint(j, "priority", c->priority);
	json_key(j, "matches");
	json_array_begin(j);
	for (size_t i = 0; i < c->n_matches; i++)
		match_json(j, c->matches[i]);
	json_array_end(j);
	json_kv_int(j, "created", c->created);
	json_kv_uint(j, "min_bps", c->min_bps);
	json_kv_uint(j, "max_bps", c->max_bps);
	if (c->n_counters) {
		json_key(j, "counters");
		json_array_begin(j);
		for (size_t i = 0; i < c->n_counters; i++) {
			const Netfn__QosClassCounter *k = c->counters[i];

			json_object_begin(j);
			json_kv_string(j, "name", k->name);
			json_kv_string(j, "node", k->node);
			json_kv_uint(j, "packets", k->packets);
			json_kv_uint(j, "bytes", k->bytes);
			json_kv_uint(j, "drops", k->drops);
			json_kv_uint(j, "rate_bps", k->rate_bps);
			json_object_end(j);
		}
		json_array_end(j);
	}
	json_object_end(j);
}

/* One match as a short phrase for the class table: "tcp:5201 ->n2". */
static void match_cell(char *buf, size_t len, const Netfn__QosMatch *m)
{
	snprintf(buf, len, "#%llu %s%s%s%s%s", (unsigned long long)m->id,
	         m->protocol[0] ? m->protocol : "any", m->port[0] ? ":" : "", m->port,
	         m->peer[0] || m->cidr[0] ? " to " : "", m->peer[0] ? m->peer : m->cidr);
}

static int classes_table(Netfn__QosClass *const *v, size_t n)
{
	struct table *t = NULL;
	char buf[160];
	int rc;

	rc = table_new(COUNT(class_columns), class_columns, &t);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		table_cell(t, v[i]->name);
		table_cell(t, v[i]->min_rate);
		table_cell(t, v[i]->max_rate);
		table_cellf(t, "%u", v[i]->priority);
		if (!v[i]->n_matches)
			table_cell(t, "-");
		else if (v[i]->n_matches == 1) {
			match_cell(buf, sizeof(buf), v[i]->matches[0]);
			table_cell(t, buf);
		} else {
			table_cellf(t, "%zu", v[i]->n_matches);
		}
	}
	rc = table_print(t, stdout);
	table_free(t);
	return rc;
}

/* A class for people: its rates, its matches, then each node's counters. */
static int class_detail(const Netfn__QosClass *c)
{
	struct table *t = NULL;
	int rc;

	printf("class: %s (network %s)\nmin: %s\nmax: %s\npriority: %u\n\n", cli_str(c->name),
	       cli_str(c->network), cli_str(c->min_rate), cli_str(c->max_rate), c->priority);
	rc = table_new(COUNT(match_columns), match_columns, &t);
	if (rc)
		return rc;
	for (size_t i = 0; i < c->n_matches; i++) {
		const Netfn__QosMatch *m = c->matches[i];

		table_cellf(t, "%llu", (unsigned long long)m->id);
		table_cell(t, m->protocol[0] ? m->protocol : "any");
		table_cell(t, m->port[0] ? m->port : "-");
		table_cell(t, m->peer[0] ? m->peer : "-");
		table_cell(t, m->cidr[0] ? m->cidr : "-");
	}
	rc = table_print(t, stdout);
	table_free(t);
	if (rc)
		return rc;
	fputc('\n', stdout);
	rc = table_new(COUNT(counter_columns), counter_columns, &t);
	if (rc)
		return rc;
	for (size_t i = 0; i < c->n_counters; i++) {
		const Netfn__QosClassCounter *k = c->counters[i];

		table_cell(t, k->node);
		table_cellf(t, "%llu", (unsigned long long)k->packets);
		table_cellf(t, "%llu", (unsigned long long)k->bytes);
		table_cellf(t, "%llu", (unsigned long long)k->drops);
		table_cellf(t, "%llu", (unsigned long long)k->rate_bps);
	}
	rc = table_print(t, stdout);
	table_free(t);
	return rc;
}

/* Prints a class reply as --json or the human form says. */
static int print_class(struct cli *c, const Netfn__QosClass *cl)
{
	struct json j;

	if (c->json) {
		json_init(&j, stdout);
		class_json(&j, cl);
		return json_finish(&j);
	}
	return class_detail(cl);
}

/* ---- calls ---- */

static int cmd_link(struct cli *c, int argc, char **argv)
{
	Netfn__QosLink req = NETFN__QOS_LINK__INIT;
	const char *network, *pos[1];
	size_t n_pos;
	int rc;

	rc = cli_parse_network(c, argc, argv, &network, pos, 1, 1, &n_pos, "RATE");
	if (rc)
		return rc;
	req.network = cli_str(network);
	req.rate = cli_str(pos[0]);
	rc = cli_call(c, "qos.link", &req.base, NULL, NULL);
	if (rc)
		return rc;
	if (!strcmp(pos[0], "0") || !pos[0][0])
		cli_note("qos link rate unset");
	else
		cli_note("qos link rate set to %s", pos[0]);
	return 0;
}

static int class_create(struct cli *c, int argc, char **argv)
{
	Netfn__QosClass req = NETFN__QOS_CLASS__INIT;
	Netfn__QosClass *reply = NULL;
	const char *network = NULL, *min = NULL, *max = NULL, *pos[1];
	uint32_t priority = 0;
	const struct args_opt opts[] = {
	    {.name = "--network", .kind = ARGS_STR, .dest = &network},
	    {.name = "--min", .kind = ARGS_STR, .dest = &min},
	    {.name = "--max", .kind = ARGS_STR, .dest = &max},
	    {.name = "--priority", .kind = ARGS_UINT, .dest = &priority, .min = 0, .max = 7},
	};
	size_t n_pos;
	int rc;

	rc = cli_parse(c, argc, argv, opts, COUNT(opts), pos, 1, 1, &n_pos, "NAME");
	if (rc)
		return rc;
	if (!min)
		return cli_usage(c, "qos class create: --min RATE is required");
	req.name = cli_str(pos[0]);
	req.network = cli_str(network);
	req.min_rate = cli_str(min);
	req.max_rate = cli_str(max);
	req.priority = priority;
	rc = cli_call(c, "qos.class_create", &req.base, &netfn__qos_class__descriptor,
	              (ProtobufCMessage **)&reply);
	if (rc)
		return rc;
	rc = print_class(c, reply);
	if (rc == 0)
		cli_note("qos class %s created in network %s", reply->name, reply->network);
	cli_reply_free(reply);
	return rc;
}

static int class_list(struct cli *c, int argc, char **argv)
{
	Netfn__QosClassList *list = NULL;
	struct json j;
	int rc;

	rc = cli_call_network(c, argc, argv, "qos.class_list", &netfn__qos_class_list__descriptor,
	                      (ProtobufCMessage **)&list);
	if (rc)
		return rc;
	if (c->json) {
		json_init(&j, stdout);
		json_object_begin(&j);
		json_kv_string(&j, "link_rate", list->link_rate);
		json_key(&j, "classes");
		json_array_begin(&j);
		for (size_t i = 0; i < list->n_classes; i++)
			class_json(&j, list->classes[i]);
		json_array_end(&j);
		json_object_end(&j);
		rc = json_finish(&j);
	} else {
		printf("link rate: %s\n\n", list->link_rate[0] ? list->link_rate : "none");
		rc = classes_table(list->classes, list->n_classes);
	}
	cli_reply_free(list);
	return rc;
}

static int class_show(struct cli *c, int argc, char **argv)
{
	Netfn__NameRef ref = NETFN__NAME_REF__INIT;
	Netfn__QosClass *reply = NULL;
	int rc;

	rc = cli_call_ref(c, argc, argv, "NAME", &ref, "qos.class_show",
	                  &netfn__qos_class__descriptor, (ProtobufCMessage **)&reply);
	if (rc)
		return rc;
	rc = print_class(c, reply);
	cli_reply_free(reply);
	return rc;
}

static int class_delete(struct cli *c, int argc, char **argv)
{
	Netfn__NameRef ref = NETFN__NAME_REF__INIT;
	int rc;

	rc = cli_call_ref(c, argc, argv, "NAME", &ref, "qos.class_delete", NULL, NULL);
	if (rc)
		return rc;
	cli_note("qos class %s deleted", ref.name);
	return 0;
}

static const struct cli_verb class_verbs[] = {
    {"create", class_create},
    {"list", class_list},
    {"show", class_show},
    {"delete", class_delete},
};

/* "class" is a verb with verbs of its own; global flags go after them. */
static int cmd_class(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, argc, argv, class_verbs, COUNT(class_verbs),
	                    "create, list, show or delete");
}

static int cmd_assign(struct cli *c, int argc, char **argv)
{
	Netfn__QosAssign req = NETFN__QOS_ASSIGN__INIT;
	Netfn__QosMatch match = NETFN__QOS_MATCH__INIT;
	Netfn__QosClass *reply = NULL;
	const char *network = NULL, *protocol = NULL, *port = NULL, *peer = NULL, *cidr = NULL;
	const struct args_opt opts[] = {
	    {.name = "--network", .kind = ARGS_STR, .dest = &network},
	    {.name = "--protocol", .kind = ARGS_STR, .dest = &protocol},
	    {.name = "--port", .kind = ARGS_STR, .dest = &port},
	    {.name = "--peer", .kind = ARGS_STR, .dest = &peer},
	    {.name = "--cidr", .kind = ARGS_STR, .dest = &cidr},
	};
	const char *pos[1];
	size_t n_pos;
	int rc;

	rc = cli_parse(c, argc, argv, opts, COUNT(opts), pos, 1, 1, &n_pos, "CLASS");
	if (rc)
		return rc;
	if (!protocol && !port && !peer && !cidr)
		return cli_usage(c, "qos assign: give --protocol, --port, --peer or --cidr");
	match.protocol = cli_str(protocol);
	match.port = cli_str(port);
	match.peer = cli_str(peer);
	match.cidr = cli_str(cidr);
	req.class_ = cli_str(pos[0]);
	req.network = cli_str(network);
	req.match = &match;
	rc = cli_call(c, "qos.assign", &req.base, &netfn__qos_class__descriptor,
	              (ProtobufCMessage **)&reply);
	if (rc)
		return rc;
	rc = print_class(c, reply);
	if (rc == 0 && reply->n_matches)
		cli_note("qos class %s: match %llu added", reply->name,
		         (unsigned long long)reply->matches[reply->n_matches - 1]->id);
	cli_reply_free(reply);
	return rc;
}

static int cmd_unassign(struct cli *c, int argc, char **argv)
{
	Netfn__QosMatchRef req = NETFN__QOS_MATCH_REF__INIT;
	const char *network, *pos[2];
	size_t n_pos;
	int rc;

	rc = cli_parse_network(c, argc, argv, &network, pos, 2, 2, &n_pos, "CLASS ID");
	if (rc)
		return rc;
	if (fwrule_parse_id(pos[1], &req.id) || req.id == 0)
		return cli_usage(c,
		                 "qos unassign: '%.32s' is not a match id (a number; see netfnctl "
		                 "qos class show)",
		                 pos[1]);
	req.class_ = cli_str(pos[0]);
	req.network = cli_str(network);
	rc = cli_call(c, "qos.unassign", &req.base, NULL, NULL);
	if (rc)
		return rc;
	cli_note("qos class %s: match %s removed", pos[0], pos[1]);
	return 0;
}

static const struct cli_verb verbs[] = {
    {"link", cmd_link},
    {"class", cmd_class},
    {"assign", cmd_assign},
    {"unassign", cmd_unassign},
};

const struct cli_noun cli_noun_qos = {
    .name = "qos",
    .verbs = verbs,
    .n_verbs = COUNT(verbs),
    .usage = "  netfnctl qos link RATE [--network NET]\n"
             "  netfnctl qos class create NAME --min RATE [--max RATE] [--priority N] "
             "[--network NET]\n"
             "  netfnctl qos class list [--network NET]\n"
             "  netfnctl qos class show NAME [--network NET]\n"
             "  netfnctl qos class delete NAME [--network NET]\n"
             "  netfnctl qos assign CLASS [--protocol tcp|udp|any] [--port P|P-Q] [--peer NODE] "
             "[--cidr CIDR] [--network NET]\n"
             "  netfnctl qos unassign CLASS ID [--network NET]\n",
};
