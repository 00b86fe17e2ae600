// SPDX-License-Identifier: Apache-2.0
/*
 * The strict JSON reader behind netfnctl's rule input. A recursive descent
 * over (buf, len) with every read checked against len, so the input need
 * not be NUL-terminated and a truncated document is an error, never a read
 * past the end. Strings are decoded (escapes, surrogate pairs) into fresh
 * NUL-terminated copies; \u0000 is refused because every consumer takes C
 * strings and a silently shortened value would be worse than an error.
 * Numbers are checked against the grammar and kept as text: the caller
 * knows whether it wants a port, a counter or nothing at all.
 */
#include "controller/netfnctl/json_parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/netfnctl/json.h"

struct parser {
	const unsigned char *p;
	size_t len;
	size_t pos;
	int depth;
	char *err;
	size_t err_len;
};

static int fail(struct parser *ps, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parser *ps, size_t at, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(ps->err, ps->err_len, "invalid JSON at byte %zu: ", at);
	if (n >= 0 && (size_t)n < ps->err_len) {
		va_start(ap, fmt);
		vsnprintf(ps->err + n, ps->err_len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Names the byte at pos for a message: the character, or "end of input". */
static int fail_unexpected(struct parser *ps, const char *wanted)
{
	unsigned char c;

	if (ps->pos >= ps->len)
		return fail(ps, ps->pos, "expected %s, got end of input", wanted);
	c = ps->p[ps->pos];
	if (c > 0x20 && c < 0x7f)
		return fail(ps, ps->pos, "expected %s, got '%c'", wanted, c);
	return fail(ps, ps->pos, "expected %s, got byte 0x%02x", wanted, c);
}

static void skip_ws(struct parser *ps)
{
	while (ps->pos < ps->len) {
		unsigned char c = ps->p[ps->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		ps->pos++;
	}
}

static int hex4(struct parser *ps, size_t at, uint32_t *out)
{
	uint32_t v = 0;

	if (ps->len - at < 4)
		return fail(ps, at, "truncated \\u escape");
	for (size_t k = 0; k < 4; k++) {
		unsigned char c = ps->p[at + k];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return fail(ps, at + k, "bad hex digit in \\u escape");
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decodes the escape at ps->pos (just past the backslash) into o; *n bytes written. */
static int unescape(struct parser *ps, char *o, size_t *n)
{
	size_t at = ps->pos - 1;
	uint32_t cp, lo;
	int rc;

	if (ps->pos >= ps->len)
		return fail(ps, at, "truncated escape");
	switch (ps->p[ps->pos++]) {
	case '"':
		o[0] = '"';
		break;
	case '\\':
		o[0] = '\\';
		break;
	case '/':
		o[0] = '/';
		break;
	case 'b':
		o[0] = '\b';
		break;
	case 'f':
		o[0] = '\f';
		break;
	case 'n':
		o[0] = '\n';
		break;
	case 'r':
		o[0] = '\r';
		break;
	case 't':
		o[0] = '\t';
		break;
	case 'u':
		rc = hex4(ps, ps->pos, &cp);
		if (rc)
			return rc;
		ps->pos += 4;
		if (cp == 0)
			return fail(ps, at, "\\u0000 is not accepted in a string");
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return fail(ps, at, "lone low surrogate");
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (ps->len - ps->pos < 2 || ps->p[ps->pos] != '\\' ||
			    ps->p[ps->pos + 1] != 'u')
				return fail(ps, at, "high surrogate without its low half");
			rc = hex4(ps, ps->pos + 2, &lo);
			if (rc)
				return rc;
			if (lo < 0xdc00 || lo > 0xdfff)
				return fail(ps, ps->pos, "high surrogate without its low half");
			ps->pos += 6;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		*n = put_utf8(o, cp);
		return 0;
	default:
		return fail(ps, at, "unknown escape");
	}
	*n = 1;
	return 0;
}

/* Parses the string at ps->pos (the opening quote) into a fresh copy. */
static int parse_string(struct parser *ps, char **out, size_t *out_len)
{
	size_t start = ps->pos, end, o = 0;
	char *s;
	int rc;

	/*
	 * Find the closing quote first: the decoded text is never longer than
	 * the raw one, so one allocation of that size is enough.
	 */
	for (end = start + 1; end < ps->len && ps->p[end] != '"'; end++) {
		if (ps->p[end] == '\\')
			end++;
	}
	if (end >= ps->len)
		return fail(ps, start, "unterminated string");
	s = malloc(end - start);
	if (!s)
		return -ENOMEM;
	ps->pos = start + 1;
	while (ps->pos < end) {
		unsigned char c = ps->p[ps->pos];
		size_t n = 0;

		if (c == '\\') {
			ps->pos++;
			rc = unescape(ps, s + o, &n);
			if (rc)
				goto fail;
			o += n;
			continue;
		}
		if (c < 0x20) {
			rc = fail(ps, ps->pos, "control character in string (escape it)");
			goto fail;
		}
		n = json_utf8_len(ps->p + ps->pos, end - ps->pos);
		if (n == 0) {
			rc = fail(ps, ps->pos, "malformed UTF-8 in string");
			goto fail;
		}
		memcpy(s + o, ps->p + ps->pos, n);
		o += n;
		ps->pos += n;
	}
	/*
	 * Cannot happen (an escape stops at the quote, which is no hex digit),
	 * but a miscount here would read past the string, so it is checked.
	 */
	if (ps->pos != end) {
		rc = fail(ps, start, "unterminated string");
		goto fail;
	}
	ps->pos = end + 1;
	s[o] = '\0';
	*out = s;
	*out_len = o;
	return 0;
fail:
	free(s);
	return rc;
}

static size_t digits(struct parser *ps)
{
	size_t n = 0;

	while (ps->pos < ps->len && ps->p[ps->pos] >= '0' && ps->p[ps->pos] <= '9') {
		ps->pos++;
		n++;
	}
	return n;
}

static int parse_number(struct parser *ps, struct json_value *v)
{
	size_t start = ps->pos;

	if (ps->pos < ps->len && ps->p[ps->pos] == '-')
		ps->pos++;
	if (ps->pos < ps->len && ps->p[ps->pos] == '0') {
		ps->pos++;
		if (ps->pos < ps->len && ps->p[ps->pos] >= '0' && ps->p[ps->pos] <= '9')
			return fail(ps, ps->pos, "leading zero in number");
	} else if (digits(ps) == 0) {
		return fail_unexpected(ps, "a digit");
	}
	if (ps->pos < ps->len && ps->p[ps->pos] == '.') {
		ps->pos++;
		if (digits(ps) == 0)
			return fail_unexpected(ps, "a digit after '.'");
	}
	if (ps->pos < ps->len && (ps->p[ps->pos] == 'e' || ps->p[ps->pos] == 'E')) {
		ps->pos++;
		if (ps->pos < ps->len && (ps->p[ps->pos] == '+' || ps->p[ps->pos] == '-'))
			ps->pos++;
		if (digits(ps) == 0)
			return fail_unexpected(ps, "a digit in the exponent");
	}
	v->type = JSON_NUMBER;
	v->len = ps->pos - start;
	v->s = strndup((const char *)ps->p + start, v->len);
	return v->s ? 0 : -ENOMEM;
}

/* Matches the literal word at ps->pos. */
static bool literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if (ps->len - ps->pos < n || memcmp(ps->p + ps->pos, word, n))
		return false;
	ps->pos += n;
	return true;
}

static int parse_value(struct parser *ps, struct json_value *v);

/* Makes room for one more element; keys too for objects. */
static int grow(struct json_value *v, size_t *cap)
{
	struct json_value *items;
	size_t ncap;

	if (v->n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 4;
	items = realloc(v->items, ncap * sizeof(*items));
	if (!items)
		return -ENOMEM;
	v->items = items;
	if (v->type == JSON_OBJECT) {
		char **keys = realloc(v->keys, ncap * sizeof(*keys));

		if (!keys)
			return -ENOMEM;
		v->keys = keys;
	}
	*cap = ncap;
	return 0;
}

/* Parses an array or object; v->type is already set, ps->pos past the bracket. */
static int parse_container(struct parser *ps, struct json_value *v)
{
	bool is_obj = v->type == JSON_OBJECT;
	char close = is_obj ? '}' : ']';
	size_t cap = 0;
	int rc;

	if (++ps->depth > JSON_PARSE_MAX_DEPTH)
		return fail(ps, v->offset, "nested deeper than %d levels", JSON_PARSE_MAX_DEPTH);
	skip_ws(ps);
	if (ps->pos < ps->len && ps->p[ps->pos] == close) {
		ps->pos++;
		ps->depth--;
		return 0;
	}
	for (;;) {
		struct json_value *item;

		rc = grow(v, &cap);
		if (rc)
			return rc;
		item = &v->items[v->n];
		memset(item, 0, sizeof(*item));
		skip_ws(ps);
		if (is_obj) {
			size_t key_at = ps->pos, klen;
			char *key;

			if (ps->pos >= ps->len || ps->p[ps->pos] != '"')
				return fail_unexpected(ps, "a string key");
			rc = parse_string(ps, &key, &klen);
			if (rc)
				return rc;
			if (json_get(v, key)) {
				rc = fail(ps, key_at, "duplicate key '%.64s'", key);
				free(key);
				return rc;
			}
			skip_ws(ps);
			if (ps->pos >= ps->len || ps->p[ps->pos] != ':') {
				free(key);
				return fail_unexpected(ps, "':'");
			}
			ps->pos++;
			rc = parse_value(ps, item);
			if (rc) {
				free(key);
				json_value_free(item);
				return rc;
			}
			v->keys[v->n] = key;
		} else {
			rc = parse_value(ps, item);
			if (rc) {
				json_value_free(item);
				return rc;
			}
		}
		v->n++;
		skip_ws(ps);
		if (ps->pos < ps->len && ps->p[ps->pos] == ',') {
			ps->pos++;
			continue;
		}
		if (ps->pos < ps->len && ps->p[ps->pos] == close) {
			ps->pos++;
			ps->depth--;
			return 0;
		}
		return fail_unexpected(ps, is_obj ? "',' or '}'" : "',' or ']'");
	}
}

/* Parses one value at ps->pos; v is zeroed and left freeable on failure. */
static int parse_value(struct parser *ps, struct json_value *v)
{
	skip_ws(ps);
	v->offset = ps->pos;
	if (ps->pos >= ps->len)
		return fail_unexpected(ps, "a value");
	switch (ps->p[ps->pos]) {
	case '{':
		ps->pos++;
		v->type = JSON_OBJECT;
		return parse_container(ps, v);
	case '[':
		ps->pos++;
		v->type = JSON_ARRAY;
		return parse_container(ps, v);
	case '"':
		v->type = JSON_STRING;
		return parse_string(ps, &v->s, &v->len);
	default:
		break;
	}
	if (ps->p[ps->pos] == '-' || (ps->p[ps->pos] >= '0' && ps->p[ps->pos] <= '9'))
		return parse_number(ps, v);
	if (literal(ps, "true")) {
		v->type = JSON_BOOL;
		v->b = true;
		return 0;
	}
	if (literal(ps, "false")) {
		v->type = JSON_BOOL;
		return 0;
	}
	if (literal(ps, "null"))
		return 0;
	return fail_unexpected(ps, "a value");
}

int json_parse(const char *buf, size_t len, struct json_value *out, char *err, size_t err_len)
{
	struct parser ps = {
	    .p = (const unsigned char *)buf,
	    .len = len,
	    .err = err,
	    .err_len = err_len,
	};
	int rc;

	memset(out, 0, sizeof(*out));
	rc = parse_value(&ps, out);
	if (rc == 0) {
		skip_ws(&ps);
		if (ps.pos < ps.len)
			rc = fail(&ps, ps.pos, "unexpected data after the value");
	}
	if (rc) {
		if (rc == -ENOMEM)
			snprintf(err, err_len, "out of memory");
		json_value_free(out);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

void json_value_free(struct json_value *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		json_value_free(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->s);
	v->items = NULL;
	v->keys = NULL;
	v->s = NULL;
	v->n = 0;
}

const struct json_value *json_get(const struct json_value *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->n; i++) {
		if (!strcmp(obj->keys[i], key))
			return &obj->items[i];
	}
	return NULL;
}

const char *json_type_name(enum json_type t)
{
	switch (t) {
	case JSON_NULL:
		return "null";
	case JSON_BOOL:
		return "boolean";
	case JSON_NUMBER:
		return "number";
	case JSON_STRING:
		return "string";
	case JSON_ARRAY:
		return "array";
	case JSON_OBJECT:
		return "object";
	}
	return "value";
}
