/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netfnctl's argument helpers: a small flag parser driven by a table of
 * options, and the parsers for the value forms the CLI accepts (numbers,
 * durations, label lists). They are pure (no I/O, no RPC) so the unit test can
 * exercise every accepted and refused form. Errors are returned as -EINVAL
 * with a short reason written into the caller's err buffer; the caller adds
 * the flag name and prints it.
 */
#ifndef NETFN_NETFNCTL_ARGS_H
#define NETFN_NETFNCTL_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Label keys and values are names: at most 63 bytes (the controller's limit). */
#define ARGS_LABEL_LEN 63
/* Most labels one object carries (the controller's limit). */
#define ARGS_MAX_LABELS 16
/* Longest address text (an IPv6 one) a backend may be typed with. */
#define ARGS_ADDR_LEN 45

enum args_kind {
	ARGS_BOOL, /* dest: bool *, set to true; takes no value */
	ARGS_STR,  /* dest: const char **, points into argv */
	ARGS_UINT, /* dest: uint32_t *, decimal within [min, max] */
};

/* One flag a command accepts. */
struct args_opt {
	const char *name; /* with its dashes: "--cidr" */
	enum args_kind kind;
	void *dest;
	uint32_t min, max; /* ARGS_UINT only */
};

struct args_label {
	char key[ARGS_LABEL_LEN + 1];
	char value[ARGS_LABEL_LEN + 1];
};

/*
 * Tries to consume the flag at argv[*i] (and its value, as the next word or
 * after '='). Returns 0 and advances *i when it matched one of opts, -ENOENT
 * when argv[*i] is not one of them, -EINVAL when its value is missing or bad.
 */
int args_match(const struct args_opt *opts, size_t n_opts, int argc, char **argv, int *i, char *err,
               size_t err_len);

/*
 * Parses all of argv: flags from opts anywhere, every other word into pos
 * (at most max_pos of them). A lone "--" ends the flags. Returns 0 or -EINVAL.
 */
int args_parse(int argc, char **argv, const struct args_opt *opts, size_t n_opts, const char **pos,
               size_t max_pos, size_t *n_pos, char *err, size_t err_len);

/* Parses a plain decimal number in [min, max]: no sign, no spaces. */
int args_parse_uint(const char *s, uint32_t min, uint32_t max, uint32_t *out);

/* Parses a duration in whole seconds: "90s", "30m", "12h", "7d", "5000ms" or plain seconds; > 0. */
int args_parse_duration(const char *s, int64_t *out);

/* Parses a duration in milliseconds, the same forms plus "500ms"; > 0, fits 32 bits. */
int args_parse_duration_ms(const char *s, uint32_t *out);

/* A load balancer backend as typed: the address goes to the controller, which checks it. */
struct args_backend {
	char addr[ARGS_ADDR_LEN + 1];
	uint32_t port;   /* as typed; the controller checks the range */
	uint32_t weight; /* 0: not given */
};

/* Parses "ADDR:PORT", or "ADDR:PORT@WEIGHT" when with_weight. */
int args_parse_backend(const char *s, bool with_weight, struct args_backend *out, char *err,
                       size_t err_len);

/* Checks a label key given as the first len bytes of s. */
int args_check_label_key(const char *s, size_t len, char *err, size_t err_len);

/* Parses one "key=value" given as the first len bytes of s. */
int args_parse_label(const char *s, size_t len, struct args_label *out, char *err, size_t err_len);

/* Parses "k=v,k2=v2" into out (at most max entries, keys distinct). */
int args_parse_labels(const char *s, struct args_label *out, size_t max, size_t *n, char *err,
                      size_t err_len);

#endif
