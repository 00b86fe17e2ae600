// SPDX-License-Identifier: Apache-2.0
/*
 * Labels as netfnctl moves them around: from a flag's "k=v,..." value,
 * parsed (args.h), into the API's Label messages, and from Label messages
 * into the two outputs, a JSON object {"k":"v"} and a table cell
 * "k=v,k2=v2". Join tokens, nodes, load balancers and clients all carry
 * labels, so this lives apart from any of them.
 */
#include <stdio.h>
#include <stdlib.h>

#include "controller/netfnctl/cli.h"

void cli_labels_json(struct json *j, Netfn__Label *const *v, size_t n)
{
	json_object_begin(j);
	for (size_t i = 0; i < n; i++)
		json_kv_string(j, cli_str(v[i]->key), v[i]->value);
	json_object_end(j);
}

void cli_labels_cell(struct table *t, Netfn__Label *const *v, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	/* A memory stream: a node may carry more labels than this CLI can set. */
	f = open_memstream(&buf, &len);
	if (!f) {
		table_cell(t, "?");
		return;
	}
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s=%s", i ? "," : "", cli_str(v[i]->key), cli_str(v[i]->value));
	if (fclose(f) == 0)
		table_cell(t, buf);
	else
		table_cell(t, "?");
	free(buf);
}

void cli_labels_cell_or(struct table *t, Netfn__Label *const *v, size_t n, const char *none)
{
	if (n)
		cli_labels_cell(t, v, n);
	else
		table_cell(t, none);
}

int cli_labels_parse(struct cli *c, const char *flag, const char *value, struct args_label *out,
                     size_t *n)
{
	char err[256];

	*n = 0;
	if (value && args_parse_labels(value, out, ARGS_MAX_LABELS, n, err, sizeof(err)))
		return cli_usage(c, "%s: %s", flag, err);
	return 0;
}

void cli_labels_to_pb(const struct args_label *in, size_t n, Netfn__Label *msgs,
                      Netfn__Label **ptrs)
{
	for (size_t i = 0; i < n; i++) {
		netfn__label__init(&msgs[i]);
		msgs[i].key = cli_str(in[i].key);
		msgs[i].value = cli_str(in[i].value);
		ptrs[i] = &msgs[i];
	}
}
