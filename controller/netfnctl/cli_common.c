// SPDX-License-Identifier: Apache-2.0
/*
 * What netfnctl's commands do alike, kept in one place so they stay alike:
 * the NAME [--network NET] and [--network NET] forms and the calls made
 * with them (show, delete, list), a verb with verbs of its own (lb backend,
 * dns record, firewall policy|rule), the --ttl duration flag, and where
 * the scheduler placed a load balancer's replicas or a zone's servers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/netfnctl/cli.h"

static const char *const placement_columns[] = {"SLOT", "NODE", "ADDRESS", "SINCE", "REASON"};

void cli_reply_free(void *reply)
{
	if (reply)
		protobuf_c_message_free_unpacked(reply, NULL);
}

int cli_parse_network(struct cli *c, int argc, char **argv, const char **network, const char **pos,
                      size_t min_pos, size_t max_pos, size_t *n_pos, const char *pos_desc)
{
	const struct args_opt opts[] = {
	    {.name = "--network", .kind = ARGS_STR, .dest = network},
	};

	*network = NULL;
	return cli_parse(c, argc, argv, opts, 1, pos, min_pos, max_pos, n_pos, pos_desc);
}

int cli_parse_ref(struct cli *c, int argc, char **argv, const char *pos_desc, Netfn__NameRef *ref)
{
	const char *network, *pos[1];
	size_t n_pos;
	int rc;

	netfn__name_ref__init(ref);
	rc = cli_parse_network(c, argc, argv, &network, pos, 1, 1, &n_pos, pos_desc);
	if (rc)
		return rc;
	ref->name = cli_str(pos[0]);
	ref->network = cli_str(network);
	return 0;
}

int cli_call_ref(struct cli *c, int argc, char **argv, const char *pos_desc, Netfn__NameRef *ref,
                 const char *method, const ProtobufCMessageDescriptor *reply_desc,
                 ProtobufCMessage **reply)
{
	int rc;

	rc = cli_parse_ref(c, argc, argv, pos_desc, ref);
	if (rc)
		return rc;
	return cli_call(c, method, &ref->base, reply_desc, reply);
}

int cli_call_network(struct cli *c, int argc, char **argv, const char *method,
                     const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply)
{
	Netfn__NodeListRequest req = NETFN__NODE_LIST_REQUEST__INIT;
	const char *network;
	size_t n_pos;
	int rc;

	rc = cli_parse_network(c, argc, argv, &network, NULL, 0, 0, &n_pos, "");
	if (rc)
		return rc;
	req.network = cli_str(network);
	return cli_call(c, method, &req.base, reply_desc, reply);
}

int cli_dispatch(struct cli *c, int argc, char **argv, const struct cli_verb *verbs, size_t n,
                 const char *hint)
{
	if (argc < 1 || argv[0][0] == '-')
		return cli_usage(c, "%s %s: missing verb%s%s%s", c->noun->name, c->verb,
		                 hint ? " (" : "", hint ? hint : "", hint ? ")" : "");
	for (size_t k = 0; k < n; k++) {
		if (!strcmp(verbs[k].name, argv[0]))
			return verbs[k].run(c, argc - 1, argv + 1);
	}
	return cli_usage(c, "%s %s: unknown verb '%.64s'", c->noun->name, c->verb, argv[0]);
}

int cli_parse_ttl(struct cli *c, const char *value, int64_t *seconds)
{
	*seconds = 0;
	if (value && args_parse_duration(value, seconds))
		return cli_usage(
		    c, "--ttl: bad duration '%.32s' (use 90s, 30m, 12h, 7d or seconds)", value);
	return 0;
}

void cli_join_cell(struct table *t, char *const *v, size_t n, const char *sep)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		table_cell(t, "?");
		return;
	}
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? sep : "", cli_str(v[i]));
	table_cell(t, fclose(f) == 0 ? buf : "?");
	free(buf);
}

void cli_placements_json(struct json *j, Netfn__Placement *const *v, size_t n)
{
	json_array_begin(j);
	for (size_t i = 0; i < n; i++) {
		json_object_begin(j);
		json_kv_uint(j, "slot", v[i]->slot);
		json_kv_string(j, "node", v[i]->node);
		json_kv_string(j, "address", v[i]->address);
		json_kv_int(j, "since", v[i]->since);
		json_kv_string(j, "reason", v[i]->reason);
		json_object_end(j);
	}
	json_array_end(j);
}

int cli_placements_table(Netfn__Placement *const *v, size_t n)
{
	struct table *t = NULL;
	char since[32];
	int rc;

	rc = table_new(sizeof(placement_columns) / sizeof(placement_columns[0]), placement_columns,
	               &t);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		table_cellf(t, "%u", v[i]->slot);
		table_cell(t, v[i]->node);
		table_cell(t, v[i]->address);
		table_fmt_time(v[i]->since, since, sizeof(since));
		table_cell(t, since);
		table_cell(t, v[i]->reason);
	}
	rc = table_print(t, stdout);
	table_free(t);
	return rc;
}
