/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small, strict JSON reader for the documents netfnctl takes as input
 * (firewall rules given with --from-json and --rules-file). It builds a tree
 * of values from a buffer of known length, never reading past it, and
 * refuses anything RFC 8259 does not allow (trailing commas, comments,
 * single quotes, leading zeros, lone surrogates, malformed UTF-8, duplicate
 * keys, trailing data) with the byte offset where reading stopped. It is
 * the reading half of json.h and, like it, pure: no I/O.
 */
#ifndef NETFN_NETFNCTL_JSON_PARSE_H
#define NETFN_NETFNCTL_JSON_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* Deepest nesting accepted; a rules file needs 3 (array, rule, src list). */
#define JSON_PARSE_MAX_DEPTH 16

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

/* One parsed value; the tree owns everything it points to. */
struct json_value {
	enum json_type type;
	size_t offset;            /* where the value starts in the input, for messages */
	bool b;                   /* JSON_BOOL */
	char *s;                  /* JSON_STRING: decoded, NUL-terminated; JSON_NUMBER: its text */
	size_t len;               /* bytes in s, without the NUL */
	char **keys;              /* JSON_OBJECT: n decoded keys, distinct */
	struct json_value *items; /* JSON_ARRAY elements or JSON_OBJECT member values */
	size_t n;
};

/*
 * Parses the len bytes at buf as one JSON value. Returns 0 with *out set
 * (free it with json_value_free), -EINVAL with "invalid JSON at byte N: why" in err when
 * the text is not JSON, or -ENOMEM.
 */
int json_parse(const char *buf, size_t len, struct json_value *out, char *err, size_t err_len);

/* Frees what a value owns (not the value itself); NULL is fine. */
void json_value_free(struct json_value *v);

/* The member of object obj named key, or NULL (also when obj is not an object). */
const struct json_value *json_get(const struct json_value *obj, const char *key);

/* Name of a type for messages ("string", "array", ...). */
const char *json_type_name(enum json_type t);

#endif
