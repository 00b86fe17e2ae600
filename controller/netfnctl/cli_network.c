// SPDX-License-Identifier: Apache-2.0
/*
 * netfnctl network create|list|show|delete: the overlay networks (with the
 * domain of each one's DNS zone and how many DNS servers it runs). A network
 * is shown the same way whichever verb fetched it (create prints what the
 * controller stored, defaults filled in), as one table row per network or
 * as JSON objects with the stable field names scripts depend on.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "controller/netfnctl/cli.h"
#include "controller/netfnctl/json.h"
#include "controller/netfnctl/table.h"
#include "proto/netfn.pb-c.h"

/* Same order as the JSON fields. */
static const char *const columns[] = {"NAME", "CIDR",  "PORT",   "MTU",         "TOPOLOGY",
                                      "HUB",  "NODES", "DOMAIN", "DNS-SERVERS", "CREATED"};

#define N_COLUMNS (sizeof(columns) / sizeof(columns[0]))

static void network_json(struct json *j, const Netfn__Network *n)
{
	json_object_begin(j);
	json_kv_string(j, "name", n->name);
	json_kv_string(j, "cidr", n->cidr);
	json_kv_uint(j, "port", n->port);
	json_kv_uint(j, "mtu", n->mtu);
	json_kv_string(j, "topology", n->topology);
	json_kv_string(j, "hub", n->hub);
	json_kv_uint(j, "nodes", n->nodes);
	json_kv_string(j, "domain", n->domain);
	json_kv_uint(j, "dns_replicas", n->dns_replicas);
	json_kv_int(j, "created", n->created);
	json_object_end(j);
}

static void network_row(struct table *t, const Netfn__Network *n)
{
	char created[32];

	table_fmt_time(n->created, created, sizeof(created));
	table_cell(t, n->name);
	table_cell(t, n->cidr);
	table_cellf(t, "%u", n->port);
	table_cellf(t, "%u", n->mtu);
	table_cell(t, n->topology);
	table_cell(t, n->hub);
	table_cellf(t, "%u", n->nodes);
	table_cell(t, n->domain);
	table_cellf(t, "%u", n->dns_replicas);
	table_cell(t, created);
}

/* Prints networks; as_array picks a JSON array (list) over one object (show). */
static int print_networks(struct cli *c, Netfn__Network *const *v, size_t n, bool as_array)
{
	struct table *t = NULL;
	struct json j;
	int rc;

	if (c->json) {
		json_init(&j, stdout);
		if (as_array)
			json_array_begin(&j);
		for (size_t i = 0; i < n; i++)
			network_json(&j, v[i]);
		if (as_array)
			json_array_end(&j);
		return json_finish(&j);
	}
	rc = table_new(N_COLUMNS, columns, &t);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++)
		network_row(t, v[i]);
	rc = table_print(t, stdout);
	table_free(t);
	return rc;
}

static int cmd_create(struct cli *c, int argc, char **argv)
{
	Netfn__Network req = NETFN__NETWORK__INIT;
	Netfn__Network *reply = NULL;
	const char *cidr = NULL, *topology = NULL, *hub = NULL, *domain = NULL;
	uint32_t port = 0, mtu = 0, dns_replicas = 0;
	const struct args_opt opts[] = {
	    {.name = "--cidr", .kind = ARGS_STR, .dest = &cidr},
	    {.name = "--port", .kind = ARGS_UINT, .dest = &port, .min = 1, .max = 65535},
	    {.name = "--mtu", .kind = ARGS_UINT, .dest = &mtu, .min = 1, .max = 65535},
	    {.name = "--topology", .kind = ARGS_STR, .dest = &topology},
	    {.name = "--hub", .kind = ARGS_STR, .dest = &hub},
	    {.name = "--domain", .kind = ARGS_STR, .dest = &domain},
	    {.name = "--dns-replicas",
	     .kind = ARGS_UINT,
	     .dest = &dns_replicas,
	     .min = 1,
	     .max = UINT32_MAX},
	};
	const char *pos[1];
	size_t n_pos;
	int rc;

	rc = cli_parse(c, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), pos, 1, 1, &n_pos,
	               "NAME");
	if (rc)
		return rc;
	if (!cidr)
		return cli_usage(c, "network create: missing --cidr");
	/* The empty string is how the API says "the server's default". */
	if (topology && strcmp(topology, "mesh") && strcmp(topology, "hub"))
		return cli_usage(c, "--topology: expected mesh or hub, got '%.32s'", topology);
	req.name = cli_str(pos[0]);
	req.cidr = cli_str(cidr);
	req.port = port;
	req.mtu = mtu;
	req.topology = cli_str(topology);
	req.hub = cli_str(hub);
	req.domain = cli_str(domain);
	req.dns_replicas = dns_replicas;
	rc = cli_call(c, "network.create", &req.base, &netfn__network__descriptor,
	              (ProtobufCMessage **)&reply);
	if (rc)
		goto cleanup;
	rc = print_networks(c, &reply, 1, false);
cleanup:
	if (reply)
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	return rc;
}

static int cmd_list(struct cli *c, int argc, char **argv)
{
	Netfn__Empty req = NETFN__EMPTY__INIT;
	Netfn__NetworkList *reply = NULL;
	size_t n_pos;
	int rc;

	rc = cli_parse(c, argc, argv, NULL, 0, NULL, 0, 0, &n_pos, "");
	if (rc)
		return rc;
	rc = cli_call(c, "network.list", &req.base, &netfn__network_list__descriptor,
	              (ProtobufCMessage **)&reply);
	if (rc)
		goto cleanup;
	rc = print_networks(c, reply->networks, reply->n_networks, true);
cleanup:
	if (reply)
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	return rc;
}

static int cmd_show(struct cli *c, int argc, char **argv)
{
	Netfn__NameRef req = NETFN__NAME_REF__INIT;
	Netfn__Network *reply = NULL;
	const char *pos[1];
	size_t n_pos;
	int rc;

	rc = cli_parse(c, argc, argv, NULL, 0, pos, 1, 1, &n_pos, "NAME");
	if (rc)
		return rc;
	req.name = cli_str(pos[0]);
	rc = cli_call(c, "network.show", &req.base, &netfn__network__descriptor,
	              (ProtobufCMessage **)&reply);
	if (rc)
		goto cleanup;
	rc = print_networks(c, &reply, 1, false);
cleanup:
	if (reply)
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	return rc;
}

static int cmd_delete(struct cli *c, int argc, char **argv)
{
	Netfn__NameRef req = NETFN__NAME_REF__INIT;
	const char *pos[1];
	size_t n_pos;
	int rc;

	rc = cli_parse(c, argc, argv, NULL, 0, pos, 1, 1, &n_pos, "NAME");
	if (rc)
		return rc;
	req.name = cli_str(pos[0]);
	rc = cli_call(c, "network.delete", &req.base, NULL, NULL);
	if (rc)
		return rc;
	cli_note("network %s deleted", pos[0]);
	return 0;
}

static const struct cli_verb verbs[] = {
    {"create", cmd_create},
    {"list", cmd_list},
    {"show", cmd_show},
    {"delete", cmd_delete},
};

const struct cli_noun cli_noun_network = {
    .name = "network",
    .verbs = verbs,
    .n_verbs = sizeof(verbs) / sizeof(verbs[0]),
    .usage = "  netfnctl network create NAME --cidr CIDR [--port N] [--mtu N]"
             " [--topology mesh|hub] [--hub NODE] [--domain DOMAIN] [--dns-replicas 1|2]\n"
             "  netfnctl network list\n"
             "  netfnctl network show NAME\n"
             "  netfnctl network delete NAME\n",
};
