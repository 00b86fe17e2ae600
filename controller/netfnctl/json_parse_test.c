// SPDX-License-Identifier: Apache-2.0
/*
 * Unit test of netfnctl's JSON reader: every value type, escapes and
 * surrogate pairs decoded, and each malformed form refused with the byte
 * offset where it goes wrong. Inputs are copied into exact-size buffers
 * without a NUL so the sanitizer build catches any read past the end.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "controller/netfnctl/json_parse.h"
#include "tests/check.h"

/* Parses s (without its NUL) from an exact-size copy. */
static int parse(const char *s, struct json_value *v, char *err, size_t err_len)
{
	size_t len = strlen(s);
	char *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, s, len);
	rc = json_parse(copy, len, v, err, err_len);
	free(copy);
	return rc;
}

/* True when s is refused and the message starts with want (offset included). */
static int refused(const char *s, const char *want)
{
	struct json_value v;
	char err[160] = "";
	int ok;

	ok = parse(s, &v, err, sizeof(err)) == -EINVAL && !strncmp(err, want, strlen(want)) &&
	     v.type == JSON_NULL && v.n == 0 && !v.s;
	if (!ok)
		fprintf(stderr, "input %s: got '%s', want '%s...'\n", s, err, want);
	return ok;
}

static void test_values(void)
{
	struct json_value v;
	const struct json_value *m;
	char err[160];

	CHECK(parse(" {\"a\": \"x\", \"b\": 12, \"c\": true, \"d\": [\"p\", \"q\"], \"e\": null,"
	            " \"f\": false, \"g\": -1.5e+3, \"h\": {}} \n",
	            &v, err, sizeof(err)) == 0);
	CHECK(v.type == JSON_OBJECT && v.n == 8);
	m = json_get(&v, "a");
	CHECK(m && m->type == JSON_STRING && !strcmp(m->s, "x") && m->len == 1);
	m = json_get(&v, "b");
	CHECK(m && m->type == JSON_NUMBER && !strcmp(m->s, "12"));
	m = json_get(&v, "c");
	CHECK(m && m->type == JSON_BOOL && m->b);
	m = json_get(&v, "d");
	CHECK(m && m->type == JSON_ARRAY && m->n == 2 && !strcmp(m->items[1].s, "q"));
	CHECK(m && m->offset == 37);
	m = json_get(&v, "e");
	CHECK(m && m->type == JSON_NULL);
	m = json_get(&v, "f");
	CHECK(m && m->type == JSON_BOOL && !m->b);
	m = json_get(&v, "g");
	CHECK(m && m->type == JSON_NUMBER && !strcmp(m->s, "-1.5e+3"));
	m = json_get(&v, "h");
	CHECK(m && m->type == JSON_OBJECT && m->n == 0);
	CHECK(!json_get(&v, "zz"));
	CHECK(!json_get(json_get(&v, "a"), "a"));
	json_value_free(&v);

	CHECK(parse("[]", &v, err, sizeof(err)) == 0 && v.type == JSON_ARRAY && v.n == 0);
	json_value_free(&v);
	CHECK(parse("0", &v, err, sizeof(err)) == 0 && v.type == JSON_NUMBER);
	json_value_free(&v);
	CHECK(parse("\"\"", &v, err, sizeof(err)) == 0 && v.type == JSON_STRING && v.len == 0);
	json_value_free(&v);
	/* Nesting up to the limit is fine. */
	CHECK(parse("[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]", &v, err, sizeof(err)) == 0);
	json_value_free(&v);
	json_value_free(NULL);
}

static void test_strings(void)
{
	struct json_value v;
	char err[160];

	CHECK(parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", &v, err, sizeof(err)) == 0);
	CHECK(v.type == JSON_STRING && !strcmp(v.s, "a\"b\\c/d\b\f\n\r\t"));
	json_value_free(&v);
	CHECK(parse("\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"", &v, err, sizeof(err)) == 0);
	CHECK(v.type == JSON_STRING && !strcmp(v.s, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
	CHECK(v.len == 10);
	json_value_free(&v);
	/* Raw UTF-8 passes through; quotes, semicolons and newlines are just text. */
	CHECK(parse("\"caf\xc3\xa9; rm -rf \\\"/\\\"\\n\"", &v, err, sizeof(err)) == 0);
	CHECK(v.type == JSON_STRING && !strcmp(v.s, "caf\xc3\xa9; rm -rf \"/\"\n"));
	json_value_free(&v);
}

static void test_refused(void)
{
	CHECK(refused("", "invalid JSON at byte 0: expected a value, got end of input"));
	CHECK(refused("   ", "invalid JSON at byte 3: expected a value"));
	CHECK(refused("{", "invalid JSON at byte 1: expected a string key, got end"));
	CHECK(refused("{\"a\"", "invalid JSON at byte 4: expected ':'"));
	CHECK(refused("{\"a\":", "invalid JSON at byte 5: expected a value"));
	CHECK(refused("{\"a\":1", "invalid JSON at byte 6: expected ',' or '}'"));
	CHECK(refused("{\"a\":1,}", "invalid JSON at byte 7: expected a string key, got '}'"));
	CHECK(refused("[1,]", "invalid JSON at byte 3: expected a value, got ']'"));
	CHECK(refused("[1 2]", "invalid JSON at byte 3: expected ',' or ']'"));
	CHECK(refused("{'a':1}", "invalid JSON at byte 1: expected a string key, got '''"));
	CHECK(refused("{a:1}", "invalid JSON at byte 1"));
	CHECK(refused("{\"a\":1,\"a\":2}", "invalid JSON at byte 7: duplicate key 'a'"));
	CHECK(refused("{} {}", "invalid JSON at byte 3: unexpected data after the value"));
	CHECK(refused("{}x", "invalid JSON at byte 2: unexpected data"));
	CHECK(refused("/* c */ {}", "invalid JSON at byte 0: expected a value, got '/'"));
	CHECK(refused("tru", "invalid JSON at byte 0: expected a value"));
	CHECK(refused("nul", "invalid JSON at byte 0"));
	CHECK(refused("True", "invalid JSON at byte 0"));
	CHECK(refused("truex", "invalid JSON at byte 4: unexpected data"));
	/* Numbers follow the grammar exactly. */
	CHECK(refused("01", "invalid JSON at byte 1: leading zero"));
	CHECK(refused("-", "invalid JSON at byte 1: expected a digit"));
	CHECK(refused("+1", "invalid JSON at byte 0"));
	CHECK(refused("1.", "invalid JSON at byte 2: expected a digit after '.'"));
	CHECK(refused(".5", "invalid JSON at byte 0"));
	CHECK(refused("1e", "invalid JSON at byte 2: expected a digit in the exponent"));
	CHECK(refused("1e+", "invalid JSON at byte 3"));
	CHECK(refused("0x10", "invalid JSON at byte 1: unexpected data"));
	CHECK(refused("NaN", "invalid JSON at byte 0"));
	/* Strings. */
	CHECK(refused("\"abc", "invalid JSON at byte 0: unterminated string"));
	CHECK(refused("\"abc\\\"", "invalid JSON at byte 0: unterminated string"));
	CHECK(refused("\"abc\\", "invalid JSON at byte 0: unterminated string"));
	CHECK(refused("\"a\nb\"", "invalid JSON at byte 2: control character"));
	CHECK(refused("\"a\tb\"", "invalid JSON at byte 2: control character"));
	CHECK(refused("\"\\x41\"", "invalid JSON at byte 1: unknown escape"));
	CHECK(refused("\"\\u00g1\"", "invalid JSON at byte 5: bad hex digit"));
	CHECK(refused("\"\\u00\"", "invalid JSON at byte 3: truncated \\u escape"));
	CHECK(refused("\"\\u0000\"", "invalid JSON at byte 1: \\u0000 is not accepted"));
	CHECK(refused("\"\\ude00\"", "invalid JSON at byte 1: lone low surrogate"));
	CHECK(refused("\"\\ud83d\"", "invalid JSON at byte 1: high surrogate without"));
	CHECK(refused("\"\\ud83dx\"", "invalid JSON at byte 1: high surrogate without"));
	CHECK(refused("\"\\ud83d\\u0041\"", "invalid JSON at byte 7: high surrogate without"));
	CHECK(refused("\"\\ud83d\\u", "invalid JSON at byte 0: unterminated"));
	CHECK(refused("\"\xff\"", "invalid JSON at byte 1: malformed UTF-8"));
	CHECK(refused("\"\xc3\"", "invalid JSON at byte 1: malformed UTF-8"));
	CHECK(refused("\"\xed\xa0\x80\"", "invalid JSON at byte 1: malformed UTF-8"));
	CHECK(refused("\"\xc0\xaf\"", "invalid JSON at byte 1: malformed UTF-8"));
	/* One level past the limit. */
	CHECK(refused("[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]",
	              "invalid JSON at byte 16: nested deeper than 16"));
}

/* A NUL inside the buffer is a byte like any other: refused, not an end. */
static void test_embedded_nul(void)
{
	static const char doc[] = {'{', '}', '\0', ' '};
	static const char str[] = {'"', 'a', '\0', '"'};
	struct json_value v;
	char err[160];

	CHECK(json_parse(doc, sizeof(doc), &v, err, sizeof(err)) == -EINVAL);
	CHECK(!strncmp(err, "invalid JSON at byte 2: unexpected data", 39));
	CHECK(json_parse(str, sizeof(str), &v, err, sizeof(err)) == -EINVAL);
	CHECK(!strncmp(err, "invalid JSON at byte 2: control character", 41));
	/* A short error buffer is filled, not overrun. */
	CHECK(json_parse(str, sizeof(str), &v, err, 8) == -EINVAL && strlen(err) == 7);
}

int main(void)
{
	test_values();
	test_strings();
	test_refused();
	test_embedded_nul();
	return check_result();
}
