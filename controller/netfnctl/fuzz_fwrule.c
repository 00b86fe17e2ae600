// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz harness for netfnctl's rule input: the JSON reader and the rule
 * conversion behind --from-json and --rules-file. The input buffer is not
 * NUL-terminated, so a read past its end shows under ASan. Whatever parses
 * as a rule is written back with fwrule_json and must parse again to the
 * same fields: the writer and the reader agree on every shape that passes.
 */
#include <stdlib.h>
#include <string.h>

#include "controller/netfnctl/fwrule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t fuzz_seeds(uint8_t ***seeds, size_t **lens);

static bool same_list(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		if (strcmp(a[i], b[i]))
			return false;
	}
	return true;
}

/* Writes r as JSON and reads it back; aborts when the two disagree. */
static void roundtrip(const Netfn__FwRule *r)
{
	Netfn__FwRule *back = NULL;
	char *buf = NULL, err[256];
	size_t len = 0;
	struct json j;
	FILE *f;

	f = open_memstream(&buf, &len);
	if (!f)
		return;
	json_init(&j, f);
	fwrule_json(&j, r);
	json_finish(&j);
	fclose(f);
	if (fwrule_from_text(buf, len, &back, err, sizeof(err)))
		abort();
	if (strcmp(r->direction, back->direction) || strcmp(r->protocol, back->protocol) ||
	    strcmp(r->dst_port, back->dst_port) || strcmp(r->action, back->action) ||
	    strcmp(r->rate, back->rate) || strcmp(r->log_prefix, back->log_prefix) ||
	    !same_list(r->src, r->n_src, back->src, back->n_src) ||
	    !same_list(r->dst, r->n_dst, back->dst, back->n_dst))
		abort();
	fwrule_free(back);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Netfn__FwRule *r = NULL, **v = NULL;
	size_t n = 0;
	char err[256];

	if (fwrule_from_text((const char *)data, size, &r, err, sizeof(err)) == 0) {
		roundtrip(r);
		fwrule_free(r);
	}
	if (fwrule_list_from_text((const char *)data, size, &v, &n, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < n; i++)
			roundtrip(v[i]);
		fwrule_list_free(v, n);
	}
	return 0;
}

size_t fuzz_seeds(uint8_t ***seeds, size_t **lens)
{
	static const char *const texts[] = {
	    "{\"direction\":\"in\",\"protocol\":\"tcp\",\"dst_port\":\"8080\","
	    "\"ip_range\":\"0.0.0.0/0\",\"action\":\"drop\"}",
	    "{\"id\":3,\"direction\":\"in\",\"protocol\":\"udp\",\"src\":[\"10.0.0.0/8\","
	    "\"role=web,env=prod\"],\"dst\":[],\"dst_port\":\"53,8000-8100\",\"action\":"
	    "\"accept\",\"rate\":\"10/second\",\"log_prefix\":\"dns \\\"\\u00e9\\ud83d\\ude00\","
	    "\"packets\":1,\"bytes\":2e3}",
	    "[{\"direction\":\"out\",\"ip_range\":\"192.0.2.0/24\",\"dst_src\":\"src\","
	    "\"action\":\"acpt\",\"dst_port\":\"1000:2000\"},{\"direction\":\"forward\","
	    "\"action\":\"reject\",\"dst\":\"fd00::/8\",\"rate\":null}]",
	    "[[[{\"a\":[true,false,null,-0.5E-7]}]]]",
	};
	size_t n = sizeof(texts) / sizeof(texts[0]);

	*seeds = calloc(n, sizeof(**seeds));
	*lens = calloc(n, sizeof(**lens));
	if (!*seeds || !*lens)
		return 0;
	for (size_t i = 0; i < n; i++) {
		(*lens)[i] = strlen(texts[i]);
		(*seeds)[i] = malloc((*lens)[i]);
		if (!(*seeds)[i])
			return i;
		memcpy((*seeds)[i], texts[i], (*lens)[i]);
	}
	return n;
}
