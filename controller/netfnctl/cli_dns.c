// SPDX-License-Identifier: Apache-2.0
/*
 * netfnctl dns show and dns record add|delete|list: a network's overlay
 * zone. Every read is one dns.zone call: the zone's name, where the
 * scheduler placed its servers, and its records, the ones the controller
 * keeps for nodes and clients (AUTO) first. Values go to the controller as
 * typed (an SRV value may be given as four words): it checks names, types
 * and values against the zone, and its error line, naming the field, is what
 * the user sees. --network may be left out when there is one network.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/netfnctl/cli.h"
#include "controller/netfnctl/fwrule.h"

static const char *const record_columns[] = {"ID", "NAME", "TYPE", "VALUE", "TTL", "AUTO"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Words an SRV value may be typed as: PRIORITY WEIGHT PORT TARGET. */
#define MAX_VALUE_WORDS 4

/* ---- output ---- */

static void record_json(struct json *j, const Netfn__DnsRecord *r)
{
	json_object_begin(j);
	json_kv_uint(j, "id", r->id);
	json_kv_string(j, "name", r->name);
	json_kv_string(j, "type", r->type);
	json_kv_string(j, "value", r->value);
	json_kv_uint(j, "ttl", r->ttl);
	json_kv_bool(j, "automatic", r->automatic);
	json_object_end(j);
}

static void records_json(struct json *j, Netfn__DnsRecord *const *v, size_t n)
{
	json_array_begin(j);
	for (size_t i = 0; i < n; i++)
		record_json(j, v[i]);
	json_array_end(j);
}

static void zone_json(struct json *j, const Netfn__DnsZone *z)
{
	json_object_begin(j);
	json_kv_string(j, "network", z->network);
	json_kv_string(j, "zone", z->zone);
	json_key(j, "records");
	records_json(j, z->records, z->n_records);
	json_key(j, "servers");
	cli_placements_json(j, z->servers, z->n_servers);
	json_object_end(j);
}

/* The records as a table; the automatic ones have no id ("-"). */
static int records_table(Netfn__DnsRecord *const *v, size_t n)
{
	struct table *t = NULL;
	int rc;

	rc = table_new(COUNT(record_columns), record_columns, &t);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (v[i]->id)
			table_cellf(t, "%llu", (unsigned long long)v[i]->id);
		else
			table_cell(t, "");
		table_cell(t, v[i]->name);
		table_cell(t, v[i]->type);
		table_cell(t, v[i]->value);
		table_cellf(t, "%u", v[i]->ttl);
		table_cell(t, v[i]->automatic ? "yes" : "no");
	}
	rc = table_print(t, stdout);
	table_free(t);
	return rc;
}

/* The zone for people: its name, its servers, then its records. */
static int zone_detail(const Netfn__DnsZone *z)
{
	int rc;

	printf("zone: %s (network %s)\n\n", cli_str(z->zone), cli_str(z->network));
	rc = cli_placements_table(z->servers, z->n_servers);
	if (rc)
		return rc;
	fputc('\n', stdout);
	return records_table(z->records, z->n_records);
}

/* ---- calls ---- */

/* [--network NET]: fetches the zone of that network (not given: the only one). */
static int get_zone(struct cli *c, int argc, char **argv, Netfn__DnsZone **out)
{
	return cli_call_network(c, argc, argv, "dns.zone", &netfn__dns_zone__descriptor,
	                        (ProtobufCMessage **)out);
}

static int cmd_show(struct cli *c, int argc, char **argv)
{
	Netfn__DnsZone *zone = NULL;
	struct json j;
	int rc;

	rc = get_zone(c, argc, argv, &zone);
	if (rc)
		goto cleanup;
	if (c->json) {
		json_init(&j, stdout);
		zone_json(&j, zone);
		rc = json_finish(&j);
	} else {
		rc = zone_detail(zone);
	}
cleanup:
	cli_reply_free(zone);
	return rc;
}

static int record_list(struct cli *c, int argc, char **argv)
{
	Netfn__DnsZone *zone = NULL;
	struct json j;
	int rc;

	rc = get_zone(c, argc, argv, &zone);
	if (rc)
		goto cleanup;
	if (c->json) {
		json_init(&j, stdout);
		records_json(&j, zone->records, zone->n_records);
		rc = json_finish(&j);
	} else {
		rc = records_table(zone->records, zone->n_records);
	}
cleanup:
	cli_reply_free(zone);
	return rc;
}

/* NAME TYPE VALUE...: the words after TYPE are the value, joined by single spaces. */
static int record_add(struct cli *c, int argc, char **argv)
{
	Netfn__DnsRecord req = NETFN__DNS_RECORD__INIT;
	Netfn__DnsRecord *reply = NULL;
	const char *network = NULL;
	uint32_t ttl = 0;
	const struct args_opt opts[] = {
	    {.name = "--network", .kind = ARGS_STR, .dest = &network},
	    {.name = "--ttl", .kind = ARGS_UINT, .dest = &ttl, .min = 1, .max = UINT32_MAX},
	};
	const char *pos[2 + MAX_VALUE_WORDS];
	char *value = NULL;
	size_t n_pos, len = 0;
	struct json j;
	int rc;

	rc = cli_parse(c, argc, argv, opts, COUNT(opts), pos, 3, COUNT(pos), &n_pos,
	               "NAME TYPE VALUE");
	if (rc)
		return rc;
	for (size_t i = 2; i < n_pos; i++)
		len += strlen(pos[i]) + 1;
	value = malloc(len + 1);
	if (!value)
		return cli_fail(c, -ENOMEM, "building the value");
	value[0] = '\0';
	for (size_t i = 2; i < n_pos; i++) {
		if (i > 2)
			strcat(value, " ");
		strcat(value, pos[i]);
	}
	req.name = cli_str(pos[0]);
	req.type = cli_str(pos[1]);
	req.value = value;
	req.ttl = ttl;
	req.network = cli_str(network);
	rc = cli_call(c, "dns.record_add", &req.base, &netfn__dns_record__descriptor,
	              (ProtobufCMessage **)&reply);
	if (rc)
		goto cleanup;
	if (c->json) {
		json_init(&j, stdout);
		record_json(&j, reply);
		rc = json_finish(&j);
	} else {
		rc = records_table(&reply, 1);
	}
	if (rc == 0)
		cli_note("dns record %llu added to network %s", (unsigned long long)reply->id,
		         reply->network);
cleanup:
	cli_reply_free(reply);
	free(value);
	return rc;
}

static int record_delete(struct cli *c, int argc, char **argv)
{
	Netfn__DnsRecordRef req = NETFN__DNS_RECORD_REF__INIT;
	const char *network, *pos[1];
	size_t n_pos;
	int rc;

	rc = cli_parse_network(c, argc, argv, &network, pos, 1, 1, &n_pos, "ID");
	if (rc)
		return rc;
	if (fwrule_parse_id(pos[0], &req.id) || req.id == 0)
		return cli_usage(c,
		                 "dns record delete: '%.32s' is not a record id (a number; see "
		                 "netfnctl dns record list)",
		                 pos[0]);
	req.network = cli_str(network);
	rc = cli_call(c, "dns.record_delete", &req.base, NULL, NULL);
	if (rc)
		return rc;
	cli_note("dns record %s deleted", pos[0]);
	return 0;
}

static const struct cli_verb record_verbs[] = {
    {"add", record_add},
    {"delete", record_delete},
    {"list", record_list},
};

/* "record" is a verb with verbs of its own; global flags go after them. */
static int cmd_record(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, argc, argv, record_verbs, COUNT(record_verbs),
	                    "add, delete or list");
}

static const struct cli_verb verbs[] = {
    {"show", cmd_show},
    {"record", cmd_record},
};

const struct cli_noun cli_noun_dns = {
    .name = "dns",
    .verbs = verbs,
    .n_verbs = COUNT(verbs),
    .usage = "  netfnctl dns show [--network NET]\n"
             "  netfnctl dns record add NAME TYPE VALUE [--ttl N] [--network NET]\n"
             "  netfnctl dns record delete ID [--network NET]\n"
             "  netfnctl dns record list [--network NET]\n",
};
