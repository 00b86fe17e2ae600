// SPDX-License-Identifier: Apache-2.0
/*
 * The JSON writer behind netfnctl's --json output. Output is compact, one
 * top-level value per line, because it is meant for jq and scripts; people
 * get tables. The escaping is the part that matters: every string passes
 * through json_write_string, which emits \" \\ \n \r \t, \u00XX for the
 * other control characters, and replaces malformed UTF-8 with U+FFFD so a
 * hostile node name cannot break the document or smuggle bytes through it.
 */
#include "controller/netfnctl/json.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

/* Follows the RFC 3629 table of well-formed sequences. */
size_t json_utf8_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0; /* continuation byte, overlong lead, or beyond U+10FFFF */
	if (avail < n)
		return 0;
	/* The second byte's range rules out overlongs, surrogates and > U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t k = 2; k < n; k++) {
		if (s[k] < 0x80 || s[k] > 0xbf)
			return 0;
	}
	return n;
}

void json_write_string(FILE *f, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	fputc('"', f);
	while (i < len) {
		unsigned char c = s[i];
		size_t n;

		switch (c) {
		case '"':
			fputs("\\\"", f);
			i++;
			continue;
		case '\\':
			fputs("\\\\", f);
			i++;
			continue;
		case '\n':
			fputs("\\n", f);
			i++;
			continue;
		case '\r':
			fputs("\\r", f);
			i++;
			continue;
		case '\t':
			fputs("\\t", f);
			i++;
			continue;
		default:
			break;
		}
		if (c < 0x20 || c == 0x7f) {
			/* DEL is legal JSON, but escaping it keeps terminals safe too. */
			fprintf(f, "\\u%04x", c);
			i++;
			continue;
		}
		n = json_utf8_len(s + i, len - i);
		if (n == 0) {
			fputs("\\ufffd", f);
			i++;
			continue;
		}
		fwrite(s + i, 1, n, f);
		i += n;
	}
	fputc('"', f);
}

void json_init(struct json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->need_comma[0] = false;
	j->after_key = false;
}

/* Writes the separator a value needs at the current position. */
static void value_prefix(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	j->need_comma[j->depth] = true;
}

static void nest_open(struct json *j, char c)
{
	value_prefix(j);
	fputc(c, j->f);
	/* Deeper nesting than tracked would only misplace commas; ours is fixed. */
	if (j->depth < JSON_MAX_DEPTH)
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void nest_close(struct json *j, char c)
{
	fputc(c, j->f);
	if (j->depth > 0)
		j->depth--;
}

void json_object_begin(struct json *j)
{
	nest_open(j, '{');
}

void json_object_end(struct json *j)
{
	nest_close(j, '}');
}

void json_array_begin(struct json *j)
{
	nest_open(j, '[');
}

void json_array_end(struct json *j)
{
	nest_close(j, ']');
}

void json_key(struct json *j, const char *key)
{
	value_prefix(j);
	json_write_string(j->f, key, strlen(key));
	fputc(':', j->f);
	j->after_key = true;
}

void json_string(struct json *j, const char *s)
{
	value_prefix(j);
	if (!s)
		s = "";
	json_write_string(j->f, s, strlen(s));
}

void json_int(struct json *j, int64_t v)
{
	value_prefix(j);
	fprintf(j->f, "%" PRId64, v);
}

void json_uint(struct json *j, uint64_t v)
{
	value_prefix(j);
	fprintf(j->f, "%" PRIu64, v);
}

void json_bool(struct json *j, bool v)
{
	value_prefix(j);
	fputs(v ? "true" : "false", j->f);
}

void json_kv_string(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_string(j, s);
}

void json_kv_int(struct json *j, const char *key, int64_t v)
{
	json_key(j, key);
	json_int(j, v);
}

void json_kv_uint(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_uint(j, v);
}

void json_kv_bool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}

int json_finish(struct json *j)
{
	fputc('\n', j->f);
	if (fflush(j->f) || ferror(j->f))
		return -EIO;
	return 0;
}
