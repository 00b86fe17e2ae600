// SPDX-License-Identifier: Apache-2.0
/*
 * Unit test of netfnctl's JSON writer: escaping of quotes, backslashes,
 * newlines, control characters and malformed UTF-8, and commas placed
 * right in nested objects and arrays.
 */
#include <stdlib.h>
#include <string.h>

#include "controller/netfnctl/json.h"
#include "tests/check.h"

/* The escaped form of the first len bytes of s. */
static char *escaped(const char *s, size_t len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	json_write_string(f, s, len);
	fclose(f);
	return buf;
}

static int same(const char *s, const char *want)
{
	char *got = escaped(s, strlen(s));
	int ok = !strcmp(got, want);

	if (!ok)
		fprintf(stderr, "escaped: got %s want %s\n", got, want);
	free(got);
	return ok;
}

static void test_escape(void)
{
	char *got;

	CHECK(same("plain", "\"plain\""));
	CHECK(same("", "\"\""));
	CHECK(same("a\"b", "\"a\\\"b\""));
	CHECK(same("back\\slash", "\"back\\\\slash\""));
	CHECK(same("line\nnext\r\tend", "\"line\\nnext\\r\\tend\""));
	CHECK(same("\x01\x08\x0c\x1b\x1f", "\"\\u0001\\u0008\\u000c\\u001b\\u001f\""));
	CHECK(same("del\x7f", "\"del\\u007f\""));
	CHECK(same("/ stays", "\"/ stays\""));
	/* Valid UTF-8 passes through; malformed bytes become U+FFFD. */
	CHECK(same("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	           "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""));
	CHECK(same("x\xffy", "\"x\\ufffdy\""));
	CHECK(same("cut\xc3", "\"cut\\ufffd\""));
	CHECK(same("\xc0\xaf", "\"\\ufffd\\ufffd\""));
	CHECK(same("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""));
	CHECK(same("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""));
	/* An embedded NUL is data when a length is given. */
	got = escaped("a\0b", 3);
	CHECK(!strcmp(got, "\"a\\u0000b\""));
	free(got);
}

static void test_structure(void)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	struct json j;

	json_init(&j, f);
	json_array_begin(&j);
	json_object_begin(&j);
	json_kv_string(&j, "name", "n\"1");
	json_kv_int(&j, "created", -5);
	json_kv_uint(&j, "rev", 18446744073709551615ull);
	json_kv_bool(&j, "revoked", false);
	json_key(&j, "labels");
	json_object_begin(&j);
	json_object_end(&j);
	json_key(&j, "endpoints");
	json_array_begin(&j);
	json_string(&j, "1.2.3.4:51820");
	json_string(&j, NULL);
	json_array_end(&j);
	json_key(&j, "sections");
	json_object_begin(&j);
	json_key(&j, "vpn");
	json_object_begin(&j);
	json_kv_uint(&j, "desired_revision", 3);
	json_object_end(&j);
	json_object_end(&j);
	json_object_end(&j);
	json_object_begin(&j);
	json_object_end(&j);
	json_array_end(&j);
	CHECK(json_finish(&j) == 0);
	fclose(f);
	CHECK(!strcmp(buf, "[{\"name\":\"n\\\"1\",\"created\":-5,\"rev\":18446744073709551615,"
	                   "\"revoked\":false,\"labels\":{},\"endpoints\":[\"1.2.3.4:51820\",\"\"],"
	                   "\"sections\":{\"vpn\":{\"desired_revision\":3}}},{}]\n"));
	if (strcmp(buf, "") && buf[0] != '[')
		fprintf(stderr, "got %s", buf);
	free(buf);

	/* An empty array, the answer of a list with nothing in it. */
	buf = NULL;
	f = open_memstream(&buf, &n);
	json_init(&j, f);
	json_array_begin(&j);
	json_array_end(&j);
	CHECK(json_finish(&j) == 0);
	fclose(f);
	CHECK(!strcmp(buf, "[]\n"));
	free(buf);
}

int main(void)
{
	test_escape();
	test_structure();
	return check_result();
}
