/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firewall rules as netfnctl reads and writes them, apart from any RPC so
 * the unit test covers them: a rule object in JSON (the fields `--json`
 * prints, or the old platform's shape with ip_range/dst_src, "acpt" and
 * "N:M" ports) turned into an FwRule message, an FwRule written back as
 * JSON, and the command-line pieces the generic flag parser cannot do
 * (repeatable --src/--dst, 64-bit rule ids). Nothing here judges whether
 * a value makes sense: the controller does, and its answer must reach the
 * user unchanged.
 */
#ifndef NETFN_NETFNCTL_FWRULE_H
#define NETFN_NETFNCTL_FWRULE_H

#include <stddef.h>
#include <stdint.h>

#include "controller/netfnctl/args.h"
#include "controller/netfnctl/json.h"
#include "controller/netfnctl/json_parse.h"
#include "proto/netfn.pb-c.h"

/*
 * Converts one rule object into a new FwRule whose strings it owns (free
 * with fwrule_free). Returns 0, -EINVAL with the reason (naming the key)
 * in err, or -ENOMEM.
 */
int fwrule_from_json(const struct json_value *obj, Netfn__FwRule **out, char *err, size_t err_len);

/* Parses len bytes of JSON text holding one rule object. */
int fwrule_from_text(const char *buf, size_t len, Netfn__FwRule **out, char *err, size_t err_len);

/* Parses len bytes of JSON text holding an array of rule objects into *out (n rules). */
int fwrule_list_from_text(const char *buf, size_t len, Netfn__FwRule ***out, size_t *n, char *err,
                          size_t err_len);

/* Frees a rule made by this file; NULL is fine. */
void fwrule_free(Netfn__FwRule *r);

/* Frees n rules and the array holding them. */
void fwrule_list_free(Netfn__FwRule **v, size_t n);

/* Writes a rule as the JSON object `--json` prints. */
void fwrule_json(struct json *j, const Netfn__FwRule *r);

/* A flag that may be given many times; vals is the caller's, with room for argc. */
struct fwrule_multi {
	const char *name; /* "--src" */
	char **vals;
	size_t n;
};

/*
 * Moves every "NAME V" or "NAME=V" of multi out of argv into its vals and
 * copies the other words, in order, into rest (room for argc). The values
 * of opts' other valued flags are copied with them, so "--log-prefix --src"
 * stays a prefix. Words after "--" are not looked at. Returns 0, or
 * -EINVAL when a flag of multi ends argv without its value.
 */
int fwrule_split_args(int argc, char **argv, const struct args_opt *opts, size_t n_opts,
                      struct fwrule_multi *multi, size_t n_multi, char **rest, int *n_rest,
                      char *err, size_t err_len);

/* Parses a rule id: plain decimal digits, up to UINT64_MAX. */
int fwrule_parse_id(const char *s, uint64_t *out);

#endif
