/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tiny streaming JSON writer for netfnctl's --json output. It tracks only
 * where commas go; the caller opens and closes objects and arrays in order.
 * Strings are always escaped, since names and error texts come from the
 * network: quotes, backslashes and control characters are escaped and bytes
 * that are not valid UTF-8 become U+FFFD, so the output always parses.
 * Write errors are sticky in the FILE and reported by json_finish.
 */
#ifndef NETFN_NETFNCTL_JSON_H
#define NETFN_NETFNCTL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Deepest nesting the writer tracks; netfnctl's objects need 4. */
#define JSON_MAX_DEPTH 32

struct json {
	FILE *f;
	int depth;
	bool need_comma[JSON_MAX_DEPTH + 1];
	bool after_key; /* the next value follows "key": and takes no comma */
};

/* Starts writing one top-level value to f. */
void json_init(struct json *j, FILE *f);

/*
 * Length of the well-formed UTF-8 sequence starting at s (avail bytes left),
 * or 0 when it is malformed; table.c uses it to sanitise cells as well.
 */
size_t json_utf8_len(const unsigned char *s, size_t avail);

/* Writes s (len bytes) as a quoted, escaped JSON string. */
void json_write_string(FILE *f, const char *s, size_t len);

/* Opens an object; as a value, or after json_key. */
void json_object_begin(struct json *j);

/* Closes the innermost object. */
void json_object_end(struct json *j);

/* Opens an array. */
void json_array_begin(struct json *j);

/* Closes the innermost array. */
void json_array_end(struct json *j);

/* Writes an object member's key; the next call writes its value. */
void json_key(struct json *j, const char *key);

/* Writes a string value; NULL is written as "". */
void json_string(struct json *j, const char *s);

/* Writes a signed integer value. */
void json_int(struct json *j, int64_t v);

/* Writes an unsigned integer value. */
void json_uint(struct json *j, uint64_t v);

/* Writes true or false. */
void json_bool(struct json *j, bool v);

/* Shorthands for a key and its value. */
void json_kv_string(struct json *j, const char *key, const char *s);
void json_kv_int(struct json *j, const char *key, int64_t v);
void json_kv_uint(struct json *j, const char *key, uint64_t v);
void json_kv_bool(struct json *j, const char *key, bool v);

/* Ends the top-level value with a newline; 0, or -EIO if a write failed. */
int json_finish(struct json *j);

#endif
