// SPDX-License-Identifier: Apache-2.0
/*
 * netfnctl audit list: the controller's record of every mutation, who made
 * it and when. Entries come back in the order the controller keeps them;
 * --limit asks for only the newest N (0, the default, lets the controller
 * pick its own bound).
 */
#include <errno.h>
#include <stdio.h>

#include "controller/netfnctl/cli.h"

static void entry_json(struct json *j, const Netfn__AuditEntry *e)
{
	json_object_begin(j);
	json_kv_int(j, "id", e->id);
	json_kv_int(j, "time", e->time);
	json_kv_string(j, "actor", e->actor);
	json_kv_string(j, "method", e->method);
	json_kv_string(j, "object", e->object);
	json_kv_string(j, "detail", e->detail);
	json_object_end(j);
}

static int print_entries(struct cli *c, Netfn__AuditEntry *const *v, size_t n)
{
	static const char *const columns[] = {"ID", "TIME", "ACTOR", "METHOD", "OBJECT", "DETAIL"};
	struct table *t = NULL;
	char when[32];
	struct json j;
	int rc;

	if (c->json) {
		json_init(&j, stdout);
		json_array_begin(&j);
		for (size_t i = 0; i < n; i++)
			entry_json(&j, v[i]);
		json_array_end(&j);
		return json_finish(&j);
	}
	rc = table_new(sizeof(columns) / sizeof(columns[0]), columns, &t);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		table_fmt_time(v[i]->time, when, sizeof(when));
		table_cellf(t, "%lld", (long long)v[i]->id);
		table_cell(t, when);
		table_cell(t, v[i]->actor);
		table_cell(t, v[i]->method);
		table_cell(t, v[i]->object);
		table_cell(t, v[i]->detail);
	}
	rc = table_print(t, stdout);
	table_free(t);
	return rc;
}

static int cmd_list(struct cli *c, int argc, char **argv)
{
	Netfn__AuditListRequest req = NETFN__AUDIT_LIST_REQUEST__INIT;
	Netfn__AuditList *reply = NULL;
	uint32_t limit = 0;
	const struct args_opt opts[] = {
	    {.name = "--limit", .kind = ARGS_UINT, .dest = &limit, .max = UINT32_MAX},
	};
	size_t n_pos;
	int rc;

	rc = cli_parse(c, argc, argv, opts, 1, NULL, 0, 0, &n_pos, "");
	if (rc)
		return rc;
	req.limit = limit;
	rc = cli_call(c, "audit.list", &req.base, &netfn__audit_list__descriptor,
	              (ProtobufCMessage **)&reply);
	if (rc)
		goto cleanup;
	rc = print_entries(c, reply->entries, reply->n_entries);
cleanup:
	if (reply)
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	return rc;
}

static const struct cli_verb verbs[] = {
    {"list", cmd_list},
};

const struct cli_noun cli_noun_audit = {
    .name = "audit",
    .verbs = verbs,
    .n_verbs = sizeof(verbs) / sizeof(verbs[0]),
    .usage = "  netfnctl audit list [--limit N]\n",
};
