// SPDX-License-Identifier: Apache-2.0
/*
 * netfnctl node list|show|delete|label|rename and netfnctl status: the enrolled
 * nodes and how far each has converged. Both read the same Node messages,
 * so one renderer serves them: the JSON node object (with the "vpn"
 * section's revisions lifted to the top level, as scripts waiting for
 * convergence want them), a one-row-per-node list, a detailed show, and the
 * status view with one row per node and network function.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "controller/netfnctl/cli.h"

/* Positional words node label accepts: NAME and one per label change. */
#define MAX_LABEL_WORDS 64

static const Netfn__Section *find_section(const Netfn__Node *n, const char *function)
{
	for (size_t i = 0; i < n->n_sections; i++) {
		if (n->sections[i]->function && !strcmp(n->sections[i]->function, function))
			return n->sections[i];
	}
	return NULL;
}

/* WireGuard keys are shown in base64, as `wg` and the agent's logs show them. */
static void key_b64(const ProtobufCBinaryData *key, char *buf, size_t len)
{
	buf[0] = '\0';
	if (key->len == 0 ||
	    sodium_base64_ENCODED_LEN(key->len, sodium_base64_VARIANT_ORIGINAL) > len)
		return;
	sodium_bin2base64(buf, len, key->data, key->len, sodium_base64_VARIANT_ORIGINAL);
}

static void node_json(struct json *j, const Netfn__Node *n)
{
	const Netfn__Section *vpn = find_section(n, "vpn");
	char key[64];

	json_object_begin(j);
	json_kv_string(j, "name", n->name);
	json_kv_string(j, "network", n->network);
	json_kv_string(j, "overlay_address", n->overlay_address);
	json_kv_string(j, "status", n->status);
	json_kv_int(j, "last_seen", n->last_seen);
	json_kv_int(j, "created", n->created);
	json_key(j, "labels");
	cli_labels_json(j, n->labels, n->n_labels);
	json_key(j, "endpoints");
	json_array_begin(j);
	for (size_t i = 0; i < n->n_endpoints; i++)
		json_string(j, n->endpoints[i]);
	json_array_end(j);
	json_kv_string(j, "wg_public_key", n->wg_public_key);
	json_kv_uint(j, "desired_revision", vpn ? vpn->desired_revision : 0);
	json_kv_uint(j, "applied_revision", vpn ? vpn->applied_revision : 0);
	json_key(j, "sections");
	json_object_begin(j);
	for (size_t i = 0; i < n->n_sections; i++) {
		const Netfn__Section *s = n->sections[i];

		json_key(j, cli_str(s->function));
		json_object_begin(j);
		json_kv_uint(j, "desired_revision", s->desired_revision);
		json_kv_uint(j, "applied_revision", s->applied_revision);
		json_kv_string(j, "error", s->error);
		json_object_end(j);
	}
	json_object_end(j);
	json_key(j, "peers");
	json_array_begin(j);
	for (size_t i = 0; i < n->n_peers; i++) {
		const Netfn__PeerStat *p = n->peers[i];

		key_b64(&p->public_key, key, sizeof(key));
		json_object_begin(j);
		json_kv_string(j, "name", p->name);
		json_kv_string(j, "public_key", key);
		json_kv_string(j, "endpoint", p->endpoint);
		json_kv_int(j, "last_handshake", p->last_handshake);
		json_kv_uint(j, "rx_bytes", p->rx_bytes);
		json_kv_uint(j, "tx_bytes", p->tx_bytes);
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
}

static int nodes_json(Netfn__Node *const *v, size_t n)
{
	struct json j;

	json_init(&j, stdout);
	json_array_begin(&j);
	for (size_t i = 0; i < n; i++)
		node_json(&j, v[i]);
	json_array_end(&j);
	return json_finish(&j);
}

static int nodes_table(Netfn__Node *const *v, size_t n)
{
	static const char *const columns[] = {"NAME",      "NETWORK", "ADDRESS", "STATUS",
	                                      "LAST-SEEN", "DESIRED", "APPLIED", "LABELS"};
	struct table *t = NULL;
	char seen[32];
	int rc;

	rc = table_new(sizeof(columns) / sizeof(columns[0]), columns, &t);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const Netfn__Section *vpn = find_section(v[i], "vpn");

		table_fmt_time(v[i]->last_seen, seen, sizeof(seen));
		table_cell(t, v[i]->name);
		table_cell(t, v[i]->network);
		table_cell(t, v[i]->overlay_address);
		table_cell(t, v[i]->status);
		table_cell(t, seen);
		table_cellf(t, "%llu", vpn ? (unsigned long long)vpn->desired_revision : 0ull);
		table_cellf(t, "%llu", vpn ? (unsigned long long)vpn->applied_revision : 0ull);
		cli_labels_cell(t, v[i]->labels, v[i]->n_labels);
	}
	rc = table_print(t, stdout);
	table_free(t);
	return rc;
}

/* Adds the node's endpoints as one cell, comma-separated like labels. */
/* node show for people: the node's fields, then its sections and peers. */
static int node_detail(const Netfn__Node *n)
{
	static const char *const sec_cols[] = {"FUNCTION", "DESIRED", "APPLIED", "ERROR"};
	static const char *const peer_cols[] = {"PEER",      "PUBLIC-KEY", "ENDPOINT",
	                                        "HANDSHAKE", "RX",         "TX"};
	struct table *t = NULL;
	char buf[64];
	int rc;

	rc = table_new(2, NULL, &t);
	if (rc)
		goto cleanup;
	table_cell(t, "name:");
	table_cell(t, n->name);
	table_cell(t, "network:");
	table_cell(t, n->network);
	table_cell(t, "overlay_address:");
	table_cell(t, n->overlay_address);
	table_cell(t, "status:");
	table_cell(t, n->status);
	table_fmt_time(n->last_seen, buf, sizeof(buf));
	table_cell(t, "last_seen:");
	table_cell(t, buf);
	table_fmt_time(n->created, buf, sizeof(buf));
	table_cell(t, "created:");
	table_cell(t, buf);
	table_cell(t, "labels:");
	cli_labels_cell(t, n->labels, n->n_labels);
	table_cell(t, "endpoints:");
	cli_join_cell(t, n->endpoints, n->n_endpoints, ",");
	table_cell(t, "wg_public_key:");
	table_cell(t, n->wg_public_key);
	rc = table_print(t, stdout);
	table_free(t);
	t = NULL;
	if (rc)
		goto cleanup;

	fputc('\n', stdout);
	rc = table_new(4, sec_cols, &t);
	if (rc)
		goto cleanup;
	for (size_t i = 0; i < n->n_sections; i++) {
		const Netfn__Section *s = n->sections[i];

		table_cell(t, s->function);
		table_cellf(t, "%llu", (unsigned long long)s->desired_revision);
		table_cellf(t, "%llu", (unsigned long long)s->applied_revision);
		table_cell(t, s->error);
	}
	rc = table_print(t, stdout);
	table_free(t);
	t = NULL;
	if (rc || n->n_peers == 0)
		goto cleanup;

	fputc('\n', stdout);
	rc = table_new(6, peer_cols, &t);
	if (rc)
		goto cleanup;
	for (size_t i = 0; i < n->n_peers; i++) {
		const Netfn__PeerStat *p = n->peers[i];

		key_b64(&p->public_key, buf, sizeof(buf));
		table_cell(t, p->name);
		table_cell(t, buf);
		table_cell(t, p->endpoint);
		table_fmt_time(p->last_handshake, buf, sizeof(buf));
		table_cell(t, buf);
		table_cellf(t, "%llu", (unsigned long long)p->rx_bytes);
		table_cellf(t, "%llu", (unsigned long long)p->tx_bytes);
	}
	rc = table_print(t, stdout);
cleanup:
	table_free(t);
	return rc;
}

/* status for people: one row per node and network function. */
static int status_table(Netfn__Node *const *v, size_t n)
{
	static const char *const columns[] = {"NODE",    "NETWORK", "FUNCTION",
	                                      "DESIRED", "APPLIED", "ERROR"};
	struct table *t = NULL;
	int rc;

	rc = table_new(sizeof(columns) / sizeof(columns[0]), columns, &t);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		/* A node without sections still gets a row, or it would look absent. */
		if (v[i]->n_sections == 0) {
			table_cell(t, v[i]->name);
			table_cell(t, v[i]->network);
			table_cell(t, "");
			table_cell(t, "");
			table_cell(t, "");
			table_cell(t, "");
		}
		for (size_t k = 0; k < v[i]->n_sections; k++) {
			const Netfn__Section *s = v[i]->sections[k];

			table_cell(t, v[i]->name);
			table_cell(t, v[i]->network);
			table_cell(t, s->function);
			table_cellf(t, "%llu", (unsigned long long)s->desired_revision);
			table_cellf(t, "%llu", (unsigned long long)s->applied_revision);
			table_cell(t, s->error);
		}
	}
	rc = table_print(t, stdout);
	table_free(t);
	return rc;
}

/* node list and status: the same request, two views. */
static int list_nodes(struct cli *c, int argc, char **argv, const char *method, bool status)
{
	Netfn__NodeList *reply = NULL;
	int rc;

	rc = cli_call_network(c, argc, argv, method, &netfn__node_list__descriptor,
	                      (ProtobufCMessage **)&reply);
	if (rc)
		goto cleanup;
	if (c->json)
		rc = nodes_json(reply->nodes, reply->n_nodes);
	else if (status)
		rc = status_table(reply->nodes, reply->n_nodes);
	else
		rc = nodes_table(reply->nodes, reply->n_nodes);
cleanup:
	cli_reply_free(reply);
	return rc;
}

static int cmd_list(struct cli *c, int argc, char **argv)
{
	return list_nodes(c, argc, argv, "node.list", false);
}

static int cmd_status(struct cli *c, int argc, char **argv)
{
	return list_nodes(c, argc, argv, "status", true);
}

static int cmd_show(struct cli *c, int argc, char **argv)
{
	Netfn__NameRef ref;
	Netfn__Node *reply = NULL;
	struct json j;
	int rc;

	rc = cli_call_ref(c, argc, argv, "NAME", &ref, "node.show", &netfn__node__descriptor,
	                  (ProtobufCMessage **)&reply);
	if (rc)
		goto cleanup;
	if (c->json) {
		json_init(&j, stdout);
		node_json(&j, reply);
		rc = json_finish(&j);
	} else {
		rc = node_detail(reply);
	}
cleanup:
	cli_reply_free(reply);
	return rc;
}

static int cmd_delete(struct cli *c, int argc, char **argv)
{
	Netfn__NameRef ref;
	int rc;

	rc = cli_call_ref(c, argc, argv, "NAME", &ref, "node.delete", NULL, NULL);
	if (rc == 0)
		cli_note("node %s deleted", ref.name);
	return rc;
}

/* True when key is already among the set or removed keys. */
static bool seen_key(const char *key, const struct args_label *set, size_t n_set,
                     char *const *remove, size_t n_remove)
{
	for (size_t i = 0; i < n_set; i++) {
		if (!strcmp(set[i].key, key))
			return true;
	}
	for (size_t i = 0; i < n_remove; i++) {
		if (!strcmp(remove[i], key))
			return true;
	}
	return false;
}

static int cmd_label(struct cli *c, int argc, char **argv)
{
	Netfn__NodeLabelRequest req = NETFN__NODE_LABEL_REQUEST__INIT;
	Netfn__Node *reply = NULL;
	struct args_label set[ARGS_MAX_LABELS];
	Netfn__Label set_msgs[ARGS_MAX_LABELS];
	Netfn__Label *set_ptrs[ARGS_MAX_LABELS];
	/* Keys to remove, copied out of argv without their trailing '-'. */
	char remove_keys[MAX_LABEL_WORDS][ARGS_LABEL_LEN + 1];
	char *remove[MAX_LABEL_WORDS];
	const char *network, *pos[MAX_LABEL_WORDS + 1];
	size_t n_pos, n_set = 0, n_remove = 0;
	char err[160];
	int rc;

	rc =
	    cli_parse_network(c, argc, argv, &network, pos, 1, MAX_LABEL_WORDS + 1, &n_pos, "NAME");
	if (rc)
		return rc;
	if (n_pos < 2)
		return cli_usage(c, "node label: nothing to change (give key=value or key-)");
	for (size_t i = 1; i < n_pos; i++) {
		const char *w = pos[i];
		size_t len = strlen(w);
		struct args_label l;

		if (strchr(w, '=')) {
			if (args_parse_label(w, len, &l, err, sizeof(err)))
				return cli_usage(c, "%s", err);
			if (n_set == ARGS_MAX_LABELS)
				return cli_usage(c, "more than %d labels to set", ARGS_MAX_LABELS);
		} else if (len > 0 && w[len - 1] == '-') {
			if (args_check_label_key(w, len - 1, err, sizeof(err)))
				return cli_usage(c, "%s", err);
			memcpy(l.key, w, len - 1);
			l.key[len - 1] = '\0';
		} else {
			return cli_usage(c, "expected key=value or key-, got '%.64s'", w);
		}
		if (seen_key(l.key, set, n_set, remove, n_remove))
			return cli_usage(c, "label '%s' given twice", l.key);
		if (strchr(w, '=')) {
			set[n_set++] = l;
		} else {
			memcpy(remove_keys[n_remove], l.key, sizeof(l.key));
			remove[n_remove] = remove_keys[n_remove];
			n_remove++;
		}
	}
	cli_labels_to_pb(set, n_set, set_msgs, set_ptrs);
	req.name = cli_str(pos[0]);
	req.network = cli_str(network);
	req.n_set = n_set;
	req.set = set_ptrs;
	req.n_remove = n_remove;
	req.remove = remove;
	rc = cli_call(c, "node.label", &req.base, &netfn__node__descriptor,
	              (ProtobufCMessage **)&reply);
	if (rc)
		goto cleanup;
	cli_note("node %s labels updated", pos[0]);
cleanup:
	cli_reply_free(reply);
	return rc;
}

/* NAME NEW_NAME [--network NET]: the node's name, and so its name in the zone. */
static int cmd_rename(struct cli *c, int argc, char **argv)
{
	Netfn__NodeRename req = NETFN__NODE_RENAME__INIT;
	Netfn__Node *reply = NULL;
	const char *network, *pos[2];
	size_t n_pos;
	int rc;

	rc = cli_parse_network(c, argc, argv, &network, pos, 2, 2, &n_pos, "NAME NEW_NAME");
	if (rc)
		return rc;
	req.name = cli_str(pos[0]);
	req.new_name = cli_str(pos[1]);
	req.network = cli_str(network);
	rc = cli_call(c, "node.rename", &req.base, &netfn__node__descriptor,
	              (ProtobufCMessage **)&reply);
	if (rc)
		goto cleanup;
	cli_note("node %s renamed to %s in network %s", pos[0], reply->name, reply->network);
cleanup:
	cli_reply_free(reply);
	return rc;
}

static const struct cli_verb verbs[] = {
    {"list", cmd_list},   {"show", cmd_show},     {"delete", cmd_delete},
    {"label", cmd_label}, {"rename", cmd_rename},
};

const struct cli_noun cli_noun_node = {
    .name = "node",
    .verbs = verbs,
    .n_verbs = sizeof(verbs) / sizeof(verbs[0]),
    .usage = "  netfnctl node list [--network NAME]\n"
             "  netfnctl node show NAME [--network NAME]\n"
             "  netfnctl node delete NAME [--network NAME]\n"
             "  netfnctl node label NAME [--network NAME] key=value... key-...\n"
             "  netfnctl node rename NAME NEW_NAME [--network NAME]\n",
};

const struct cli_noun cli_noun_status = {
    .name = "status",
    .run = cmd_status,
    .usage = "  netfnctl status [--network NAME]\n",
};
