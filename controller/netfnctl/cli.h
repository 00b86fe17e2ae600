/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What netfnctl's command files share: the invocation context (global flags,
 * the API connection), the noun/verb tables each cli_*.c file exports, and
 * the helpers every command uses to parse its flags, call the controller and
 * report errors the same way.
 *
 * Return convention of every command: 0 on success; -EINVAL for a usage
 * error (already printed, exit status 2); any other negative errno for a
 * failure (already printed when it came from the controller, exit status 1).
 */
#ifndef NETFN_NETFNCTL_CLI_H
#define NETFN_NETFNCTL_CLI_H

#include <nng/nng.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

#include "controller/netfnctl/args.h"
#include "controller/netfnctl/json.h"
#include "controller/netfnctl/table.h"
#include "proto/netfn.pb-c.h"

/* Room for the flags of one command plus the global ones. */
#define CLI_MAX_OPTS 24

struct cli_noun;

/* One invocation of netfnctl. */
struct cli {
	const char *api;   /* --api, else $NETFN_API, else the local socket */
	const char *token; /* --token, else $NETFN_TOKEN; never printed */
	const char *ca;    /* --ca, else $NETFN_CA: verifies a tls+tcp:// controller */
	bool json;
	uint32_t timeout_ms;
	const struct cli_noun *noun; /* for usage hints */
	const char *verb;            /* narrows the hint to this verb's form */
	nng_socket sock;
	bool dialed;
	bool reported; /* an error was already printed */
};

struct cli_verb {
	const char *name;
	int (*run)(struct cli *c, int argc, char **argv);
};

/* A noun: its verbs, or a run function when it takes none (status). */
struct cli_noun {
	const char *name;
	const struct cli_verb *verbs;
	size_t n_verbs;
	int (*run)(struct cli *c, int argc, char **argv);
	const char *usage; /* one line per form, each starting "netfnctl ..." */
};

extern const struct cli_noun cli_noun_network;
extern const struct cli_noun cli_noun_token;
extern const struct cli_noun cli_noun_apitoken;
extern const struct cli_noun cli_noun_node;
extern const struct cli_noun cli_noun_status;
extern const struct cli_noun cli_noun_audit;
extern const struct cli_noun cli_noun_firewall;
extern const struct cli_noun cli_noun_bootstrap;
extern const struct cli_noun cli_noun_lb;
extern const struct cli_noun cli_noun_dns;
extern const struct cli_noun cli_noun_client;
extern const struct cli_noun cli_noun_qos;
extern const struct cli_noun cli_noun_flow;

/* A string for a protobuf-c field: the generated structs want char *, never NULL. */
static inline char *cli_str(const char *s)
{
	return (char *)(s ? s : "");
}

/* Prints "netfnctl: error: <why>" and the noun's usage; returns -EINVAL. */
int cli_usage(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Parses a command's arguments: opts plus the global flags, anywhere, and
 * between min_pos and max_pos positional words (pos_desc names the missing
 * ones in the hint, e.g. "NAME"). Returns 0 or -EINVAL (usage printed).
 */
int cli_parse(struct cli *c, int argc, char **argv, const struct args_opt *opts, size_t n_opts,
              const char **pos, size_t min_pos, size_t max_pos, size_t *n_pos,
              const char *pos_desc);

/*
 * Calls method with req and waits for the reply. Returns 0 when the
 * controller answered OK (*reply set when reply_desc is not NULL); otherwise
 * prints "netfnctl: error: STATUS: field: message" and returns -EIO, or
 * -EINVAL when no API token was given.
 */
int cli_call(struct cli *c, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply);

/* Frees a reply of cli_call; accepts NULL. */
void cli_reply_free(void *reply);

/*
 * cli_parse with --network NET as the one flag (*network NULL when not
 * given): the form of every command on one network's objects.
 */
int cli_parse_network(struct cli *c, int argc, char **argv, const char **network, const char **pos,
                      size_t min_pos, size_t max_pos, size_t *n_pos, const char *pos_desc);

/* Parses NAME [--network NET] (pos_desc names NAME in the hint) into ref, pointing into argv. */
int cli_parse_ref(struct cli *c, int argc, char **argv, const char *pos_desc, Netfn__NameRef *ref);

/* Parses NAME [--network NET] into ref and calls method with it (show, delete), as cli_call. */
int cli_call_ref(struct cli *c, int argc, char **argv, const char *pos_desc, Netfn__NameRef *ref,
                 const char *method, const ProtobufCMessageDescriptor *reply_desc,
                 ProtobufCMessage **reply);

/* Parses [--network NET] and calls method with a NodeListRequest for it (lists), as cli_call. */
int cli_call_network(struct cli *c, int argc, char **argv, const char *method,
                     const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply);

/*
 * Runs the verb in argv[0] of a verb with verbs of its own (lb backend);
 * global flags go after it. hint lists the verbs when one is missing (NULL:
 * no list).
 */
int cli_dispatch(struct cli *c, int argc, char **argv, const struct cli_verb *verbs, size_t n,
                 const char *hint);

/* Parses --ttl's duration (NULL: not given, 0) into *seconds; -EINVAL with usage printed. */
int cli_parse_ttl(struct cli *c, const char *value, int64_t *seconds);

/* Adds strings as one cell, joined by sep. */
void cli_join_cell(struct table *t, char *const *v, size_t n, const char *sep);

/* Writes where replicas were placed as a JSON array of {slot, node, address, since, reason}. */
void cli_placements_json(struct json *j, Netfn__Placement *const *v, size_t n);

/* Prints where replicas were placed as a table (SLOT NODE ADDRESS SINCE REASON). */
int cli_placements_table(Netfn__Placement *const *v, size_t n);

/* Prints a mutation's confirmation line to stderr (never the token). */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "netfnctl: error: INTERNAL: <what>: <strerror>" for a local failure. */
int cli_fail(struct cli *c, int rc, const char *what);

/* Writes labels as a JSON object value {"k":"v",...}. */
void cli_labels_json(struct json *j, Netfn__Label *const *v, size_t n);

/* Adds labels as one table cell "k=v,k2=v2" ("-" when none). */
void cli_labels_cell(struct table *t, Netfn__Label *const *v, size_t n);

/* Adds labels as one cell, or none when there are none. */
void cli_labels_cell_or(struct table *t, Netfn__Label *const *v, size_t n, const char *none);

/*
 * Parses flag's value (NULL: not given, no labels) into out (ARGS_MAX_LABELS
 * entries) and *n; a usage error names the flag. Returns 0 or -EINVAL.
 */
int cli_labels_parse(struct cli *c, const char *flag, const char *value, struct args_label *out,
                     size_t *n);

/* Points msgs/ptrs (n entries each, caller's storage) at the parsed labels. */
void cli_labels_to_pb(const struct args_label *in, size_t n, Netfn__Label *msgs,
                      Netfn__Label **ptrs);

#endif
