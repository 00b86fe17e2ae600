// SPDX-License-Identifier: Apache-2.0
/*
 * netfnctl token ... (join tokens, which agents enroll with) and
 * netfnctl apitoken ... (bearer tokens for API clients). Both create a
 * secret the controller shows exactly once: create prints only that secret
 * on stdout, one line, so `T=$(netfnctl token create ...)` just works, and
 * the id used to revoke it goes to stderr. The secret is wiped from memory
 * once printed.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "controller/netfnctl/cli.h"

/* Prints a created secret (JSON {"id","token"} or the bare token), then wipes it. */
static int print_created(struct cli *c, Netfn__TokenCreated *tc, const char *kind)
{
	struct json j;
	int rc;

	if (c->json) {
		json_init(&j, stdout);
		json_object_begin(&j);
		json_kv_string(&j, "id", tc->id);
		json_kv_string(&j, "token", tc->token);
		json_object_end(&j);
		rc = json_finish(&j);
	} else {
		fprintf(stdout, "%s\n", cli_str(tc->token));
		rc = fflush(stdout) || ferror(stdout) ? -EIO : 0;
	}
	/*
	 * Our copy goes now; stdio's buffer may still hold the bytes, but the
	 * process exits right after this.
	 */
	if (tc->token)
		sodium_memzero(tc->token, strlen(tc->token));
	if (rc == 0)
		cli_note("%s %s created", kind, cli_str(tc->id));
	return rc;
}

/* Revokes by id; shared by both nouns. */
static int revoke(struct cli *c, int argc, char **argv, const char *method, const char *kind)
{
	Netfn__IdRef req = NETFN__ID_REF__INIT;
	const char *pos[1];
	size_t n_pos;
	int rc;

	rc = cli_parse(c, argc, argv, NULL, 0, pos, 1, 1, &n_pos, "ID");
	if (rc)
		return rc;
	req.id = cli_str(pos[0]);
	rc = cli_call(c, method, &req.base, NULL, NULL);
	if (rc)
		return rc;
	cli_note("%s %s revoked", kind, pos[0]);
	return 0;
}

/* ---- join tokens ---- */

static int token_create(struct cli *c, int argc, char **argv)
{
	Netfn__TokenCreate req = NETFN__TOKEN_CREATE__INIT;
	Netfn__TokenCreated *reply = NULL;
	struct args_label labels[ARGS_MAX_LABELS];
	Netfn__Label label_msgs[ARGS_MAX_LABELS];
	Netfn__Label *label_ptrs[ARGS_MAX_LABELS];
	const char *network = NULL, *ttl = NULL, *label_arg = NULL;
	uint32_t uses = 0;
	const struct args_opt opts[] = {
	    {.name = "--network", .kind = ARGS_STR, .dest = &network},
	    {.name = "--ttl", .kind = ARGS_STR, .dest = &ttl},
	    {.name = "--uses", .kind = ARGS_UINT, .dest = &uses, .min = 1, .max = UINT32_MAX},
	    {.name = "--labels", .kind = ARGS_STR, .dest = &label_arg},
	};
	size_t n_labels, n_pos;
	int64_t ttl_s;
	int rc;

	rc = cli_parse(c, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), NULL, 0, 0, &n_pos, "");
	if (rc)
		return rc;
	if (!network)
		return cli_usage(c, "token create: missing --network");
	rc = cli_parse_ttl(c, ttl, &ttl_s);
	if (rc)
		return rc;
	rc = cli_labels_parse(c, "--labels", label_arg, labels, &n_labels);
	if (rc)
		return rc;
	cli_labels_to_pb(labels, n_labels, label_msgs, label_ptrs);
	req.network = cli_str(network);
	req.ttl_seconds = ttl_s;
	req.uses = uses;
	req.n_labels = n_labels;
	req.labels = label_ptrs;
	rc = cli_call(c, "token.create", &req.base, &netfn__token_created__descriptor,
	              (ProtobufCMessage **)&reply);
	if (rc)
		goto cleanup;
	rc = print_created(c, reply, "join token");
cleanup:
	cli_reply_free(reply);
	return rc;
}

static void token_json(struct json *j, const Netfn__TokenInfo *t)
{
	json_object_begin(j);
	json_kv_string(j, "id", t->id);
	json_kv_string(j, "network", t->network);
	json_kv_int(j, "expires", t->expires);
	json_kv_uint(j, "uses", t->uses);
	json_kv_uint(j, "uses_left", t->uses_left);
	json_key(j, "labels");
	cli_labels_json(j, t->labels, t->n_labels);
	json_kv_bool(j, "revoked", t->revoked);
	json_kv_int(j, "created", t->created);
	json_object_end(j);
}

static int token_list(struct cli *c, int argc, char **argv)
{
	static const char *const columns[] = {"ID",        "NETWORK", "EXPIRES", "USES",
	                                      "USES-LEFT", "LABELS",  "REVOKED", "CREATED"};
	Netfn__Empty req = NETFN__EMPTY__INIT;
	Netfn__TokenList *reply = NULL;
	struct table *t = NULL;
	char expires[32], created[32];
	struct json j;
	size_t n_pos;
	int rc;

	rc = cli_parse(c, argc, argv, NULL, 0, NULL, 0, 0, &n_pos, "");
	if (rc)
		return rc;
	rc = cli_call(c, "token.list", &req.base, &netfn__token_list__descriptor,
	              (ProtobufCMessage **)&reply);
	if (rc)
		goto cleanup;
	if (c->json) {
		json_init(&j, stdout);
		json_array_begin(&j);
		for (size_t i = 0; i < reply->n_tokens; i++)
			token_json(&j, reply->tokens[i]);
		json_array_end(&j);
		rc = json_finish(&j);
		goto cleanup;
	}
	rc = table_new(sizeof(columns) / sizeof(columns[0]), columns, &t);
	if (rc)
		goto cleanup;
	for (size_t i = 0; i < reply->n_tokens; i++) {
		const Netfn__TokenInfo *ti = reply->tokens[i];

		table_fmt_time(ti->expires, expires, sizeof(expires));
		table_fmt_time(ti->created, created, sizeof(created));
		table_cell(t, ti->id);
		table_cell(t, ti->network);
		table_cell(t, expires);
		table_cellf(t, "%u", ti->uses);
		table_cellf(t, "%u", ti->uses_left);
		cli_labels_cell(t, ti->labels, ti->n_labels);
		table_cell(t, ti->revoked ? "yes" : "no");
		table_cell(t, created);
	}
	rc = table_print(t, stdout);
cleanup:
	table_free(t);
	cli_reply_free(reply);
	return rc;
}

static int token_revoke(struct cli *c, int argc, char **argv)
{
	return revoke(c, argc, argv, "token.revoke", "join token");
}

/* ---- API tokens ---- */

static int apitoken_create(struct cli *c, int argc, char **argv)
{
	Netfn__ApiTokenCreate req = NETFN__API_TOKEN_CREATE__INIT;
	Netfn__TokenCreated *reply = NULL;
	const char *role = NULL, *name = NULL;
	const struct args_opt opts[] = {
	    {.name = "--role", .kind = ARGS_STR, .dest = &role},
	    {.name = "--name", .kind = ARGS_STR, .dest = &name},
	};
	size_t n_pos;
	int rc;

	rc = cli_parse(c, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), NULL, 0, 0, &n_pos, "");
	if (rc)
		return rc;
	if (!role)
		return cli_usage(c, "apitoken create: missing --role");
	if (strcmp(role, "admin") && strcmp(role, "reader"))
		return cli_usage(c, "--role: expected admin or reader, got '%.32s'", role);
	req.role = cli_str(role);
	req.name = cli_str(name);
	rc = cli_call(c, "apitoken.create", &req.base, &netfn__token_created__descriptor,
	              (ProtobufCMessage **)&reply);
	if (rc)
		goto cleanup;
	rc = print_created(c, reply, "API token");
cleanup:
	cli_reply_free(reply);
	return rc;
}

static int apitoken_list(struct cli *c, int argc, char **argv)
{
	static const char *const columns[] = {"ID", "ROLE", "NAME", "REVOKED", "CREATED"};
	Netfn__Empty req = NETFN__EMPTY__INIT;
	Netfn__ApiTokenList *reply = NULL;
	struct table *t = NULL;
	char created[32];
	struct json j;
	size_t n_pos;
	int rc;

	rc = cli_parse(c, argc, argv, NULL, 0, NULL, 0, 0, &n_pos, "");
	if (rc)
		return rc;
	rc = cli_call(c, "apitoken.list", &req.base, &netfn__api_token_list__descriptor,
	              (ProtobufCMessage **)&reply);
	if (rc)
		goto cleanup;
	if (c->json) {
		json_init(&j, stdout);
		json_array_begin(&j);
		for (size_t i = 0; i < reply->n_tokens; i++) {
			const Netfn__ApiTokenInfo *ti = reply->tokens[i];

			json_object_begin(&j);
			json_kv_string(&j, "id", ti->id);
			json_kv_string(&j, "role", ti->role);
			json_kv_string(&j, "name", ti->name);
			json_kv_int(&j, "created", ti->created);
			json_kv_bool(&j, "revoked", ti->revoked);
			json_object_end(&j);
		}
		json_array_end(&j);
		rc = json_finish(&j);
		goto cleanup;
	}
	rc = table_new(sizeof(columns) / sizeof(columns[0]), columns, &t);
	if (rc)
		goto cleanup;
	for (size_t i = 0; i < reply->n_tokens; i++) {
		const Netfn__ApiTokenInfo *ti = reply->tokens[i];

		table_fmt_time(ti->created, created, sizeof(created));
		table_cell(t, ti->id);
		table_cell(t, ti->role);
		table_cell(t, ti->name);
		table_cell(t, ti->revoked ? "yes" : "no");
		table_cell(t, created);
	}
	rc = table_print(t, stdout);
cleanup:
	table_free(t);
	cli_reply_free(reply);
	return rc;
}

static int apitoken_revoke(struct cli *c, int argc, char **argv)
{
	return revoke(c, argc, argv, "apitoken.revoke", "API token");
}

static const struct cli_verb token_verbs[] = {
    {"create", token_create},
    {"list", token_list},
    {"revoke", token_revoke},
};

const struct cli_noun cli_noun_token = {
    .name = "token",
    .verbs = token_verbs,
    .n_verbs = sizeof(token_verbs) / sizeof(token_verbs[0]),
    .usage = "  netfnctl token create --network NAME [--ttl DURATION] [--uses N]"
             " [--labels k=v,...]\n"
             "  netfnctl token list\n"
             "  netfnctl token revoke ID\n",
};

static const struct cli_verb apitoken_verbs[] = {
    {"create", apitoken_create},
    {"list", apitoken_list},
    {"revoke", apitoken_revoke},
};

const struct cli_noun cli_noun_apitoken = {
    .name = "apitoken",
    .verbs = apitoken_verbs,
    .n_verbs = sizeof(apitoken_verbs) / sizeof(apitoken_verbs[0]),
    .usage = "  netfnctl apitoken create --role admin|reader [--name N]\n"
             "  netfnctl apitoken list\n"
             "  netfnctl apitoken revoke ID\n",
};
