// SPDX-License-Identifier: Apache-2.0
/*
 * netfnctl, the reference client of the netfn controller's API:
 *
 *   netfnctl [--api URL] [--token T] [--json] [--timeout MS] NOUN VERB [ARGS]
 *
 * This file owns the global flags (also accepted between the noun and the
 * verb and after the verb), their defaults from the environment, the table
 * of nouns, usage hints, and the mapping of a command's result to the exit
 * status: 0 done, 1 the call failed (the error line is already printed), 2
 * the command line was wrong. Each noun's verbs live in their own cli_*.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/netfnctl/cli.h"

#define DEFAULT_API        "ipc:///run/netfn-controller/api.sock"
#define DEFAULT_TIMEOUT_MS 10000
/* An hour: longer than any call should take, short enough to catch typos. */
#define MAX_TIMEOUT_MS 3600000

static const struct cli_noun *const nouns[] = {
    &cli_noun_network,   &cli_noun_token,  &cli_noun_node,     &cli_noun_firewall, &cli_noun_lb,
    &cli_noun_dns,       &cli_noun_client, &cli_noun_apitoken, &cli_noun_audit,    &cli_noun_status,
    &cli_noun_bootstrap, &cli_noun_qos,    &cli_noun_flow,
};

#define N_NOUNS (sizeof(nouns) / sizeof(nouns[0]))

static const char global_usage[] = "usage: netfnctl [--api URL] [--token T] [--ca FILE] [--json] "
                                   "[--timeout MS] NOUN VERB [ARGS]\n";

static const char global_help[] =
    "\n"
    "global flags (before the noun or after the verb):\n"
    "  --api URL      controller API address (default $NETFN_API, else " DEFAULT_API ")\n"
    "  --token T      API bearer token (default $NETFN_TOKEN)\n"
    "  --json         print reads as JSON\n"
    "  --timeout MS   wait this long for each reply (default 10000)\n"
    "  --ca FILE      CA certificate (PEM) for a tls+tcp:// API (default $NETFN_CA)\n";

/* How many global flags there are: --api --token --json --timeout --ca. */
#define N_GLOBAL_OPTS 5

static size_t global_opts(struct cli *c, struct args_opt *out)
{
	out[0] = (struct args_opt){.name = "--api", .kind = ARGS_STR, .dest = &c->api};
	out[1] = (struct args_opt){.name = "--token", .kind = ARGS_STR, .dest = &c->token};
	out[2] = (struct args_opt){.name = "--json", .kind = ARGS_BOOL, .dest = &c->json};
	out[3] = (struct args_opt){.name = "--timeout",
	                           .kind = ARGS_UINT,
	                           .dest = &c->timeout_ms,
	                           .min = 1,
	                           .max = MAX_TIMEOUT_MS};
	out[4] = (struct args_opt){.name = "--ca", .kind = ARGS_STR, .dest = &c->ca};
	return N_GLOBAL_OPTS;
}

/* Prints a noun's forms, or only those of verb when it is not NULL. */
static void print_forms(FILE *f, const struct cli_noun *noun, const char *verb)
{
	char prefix[64];
	const char *line = noun->usage;
	bool known = false;
	size_t plen;

	/* Only a verb of this noun narrows the forms; anything else shows all. */
	for (size_t k = 0; verb && k < noun->n_verbs; k++)
		known = known || !strcmp(noun->verbs[k].name, verb);
	if (!known)
		verb = NULL;
	plen = (size_t)snprintf(prefix, sizeof(prefix), "  netfnctl %s %s", noun->name,
	                        verb ? verb : "");
	fputs("usage:\n", f);
	while (*line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line + 1) : strlen(line);

		if (!verb || (len > plen && !strncmp(line, prefix, plen) &&
		              (line[plen] == ' ' || line[plen] == '\n')))
			fwrite(line, 1, len, f);
		line += len;
	}
}

static void print_usage(FILE *f, const struct cli_noun *noun)
{
	if (noun) {
		print_forms(f, noun, NULL);
		return;
	}
	fputs(global_usage, f);
	fputs("\ncommands:\n", f);
	for (size_t i = 0; i < N_NOUNS; i++)
		fputs(nouns[i]->usage, f);
}

int cli_usage(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	fputs("netfnctl: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (c->noun) {
		print_forms(stderr, c->noun, c->verb);
	} else {
		/* Short: the full list of forms is what --help is for. */
		fputs(global_usage, stderr);
		fputs("nouns:", stderr);
		for (size_t i = 0; i < N_NOUNS; i++)
			fprintf(stderr, " %s", nouns[i]->name);
		fputc('\n', stderr);
	}
	fputs("run 'netfnctl --help' for all commands and flags\n", stderr);
	c->reported = true;
	return -EINVAL;
}

int cli_parse(struct cli *c, int argc, char **argv, const struct args_opt *opts, size_t n_opts,
              const char **pos, size_t min_pos, size_t max_pos, size_t *n_pos, const char *pos_desc)
{
	struct args_opt all[CLI_MAX_OPTS];
	char err[192];
	size_t n = 0;

	if (n_opts + N_GLOBAL_OPTS > CLI_MAX_OPTS)
		return cli_fail(c, -E2BIG, "too many flags");
	for (; n < n_opts; n++)
		all[n] = opts[n];
	n += global_opts(c, all + n);
	if (args_parse(argc, argv, all, n, pos, max_pos, n_pos, err, sizeof(err)))
		return cli_usage(c, "%s", err);
	if (*n_pos < min_pos)
		return cli_usage(c, "%s%s%s: missing %s", c->noun->name, c->verb ? " " : "",
		                 c->verb ? c->verb : "", pos_desc);
	return 0;
}

/* True when a word asks for help rather than naming something. */
static bool is_help(const char *w)
{
	return !strcmp(w, "--help") || !strcmp(w, "-h") || !strcmp(w, "help");
}

/* Consumes global flags at argv[*i...]; 0, or -EINVAL (usage printed). */
static int skip_globals(struct cli *c, int argc, char **argv, int *i)
{
	struct args_opt g[N_GLOBAL_OPTS];
	size_t n = global_opts(c, g);
	char err[192];
	int rc;

	while (*i < argc && argv[*i][0] == '-' && argv[*i][1] && !is_help(argv[*i])) {
		rc = args_match(g, n, argc, argv, i, err, sizeof(err));
		if (rc == -ENOENT)
			return cli_usage(c, "unknown flag '%.64s'", argv[*i]);
		if (rc)
			return cli_usage(c, "%s", err);
	}
	return 0;
}

static int dispatch(struct cli *c, int argc, char **argv)
{
	const struct cli_noun *noun = NULL;
	int i = 0;
	int rc;

	rc = skip_globals(c, argc, argv, &i);
	if (rc)
		return rc;
	if (i >= argc)
		return cli_usage(c, "missing command");
	if (is_help(argv[i])) {
		print_usage(stdout, NULL);
		fputs(global_help, stdout);
		return 0;
	}
	for (size_t k = 0; k < N_NOUNS; k++) {
		if (!strcmp(nouns[k]->name, argv[i]))
			noun = nouns[k];
	}
	if (!noun)
		return cli_usage(c, "unknown command '%.64s'", argv[i]);
	c->noun = noun;
	i++;
	/* "NOUN VERB --help" anywhere asks for the noun's usage, not a call. */
	for (int k = i; k < argc; k++) {
		if (is_help(argv[k]) && (k == i || argv[k][0] == '-')) {
			/* Narrowed to the verb when one was named before the help flag. */
			print_forms(stdout, noun, k > i && !noun->run ? argv[i] : NULL);
			return 0;
		}
	}
	if (noun->run)
		return noun->run(c, argc - i, argv + i);
	rc = skip_globals(c, argc, argv, &i);
	if (rc)
		return rc;
	if (i >= argc)
		return cli_usage(c, "%s: missing verb", noun->name);
	for (size_t k = 0; k < noun->n_verbs; k++) {
		if (!strcmp(noun->verbs[k].name, argv[i])) {
			c->verb = noun->verbs[k].name;
			return noun->verbs[k].run(c, argc - i - 1, argv + i + 1);
		}
	}
	return cli_usage(c, "%s: unknown verb '%.64s'", noun->name, argv[i]);
}

int main(int argc, char **argv)
{
	struct cli c = {.timeout_ms = DEFAULT_TIMEOUT_MS};
	const char *env;
	int rc;

	env = getenv("NETFN_API");
	c.api = env && env[0] ? env : DEFAULT_API;
	c.token = getenv("NETFN_TOKEN");
	c.ca = getenv("NETFN_CA");

	rc = dispatch(&c, argc - 1, argv + 1);
	if (c.dialed)
		nng_close(c.sock);
	if (rc == 0 && (fflush(stdout) || ferror(stdout)))
		rc = cli_fail(&c, -EIO, "writing output");
	if (rc == -EINVAL)
		return 2;
	if (rc < 0 && !c.reported)
		cli_fail(&c, rc, "command failed");
	return rc < 0 ? 1 : 0;
}
