// SPDX-License-Identifier: Apache-2.0
/*
 * Unit test of netfnctl's table printer: columns padded to the widest cell
 * (counting UTF-8 characters), no trailing blanks, "-" for empty cells,
 * control characters replaced, and the time format of table cells.
 */
#include <stdlib.h>
#include <string.h>

#include "controller/netfnctl/table.h"
#include "tests/check.h"

static char *render(struct table *t)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	CHECK(table_print(t, f) == 0);
	fclose(f);
	return buf;
}

static void test_align(void)
{
	static const char *const hdr[] = {"NAME", "CIDR", "NODES"};
	struct table *t = NULL;
	char *out;

	CHECK(table_new(3, hdr, &t) == 0);
	table_cell(t, "a");
	table_cell(t, "10.0.0.0/24");
	table_cellf(t, "%d", 3);
	table_cell(t, "longer-name");
	table_cell(t, "");
	table_cell(t, "12");
	CHECK(table_rows(t) == 2);
	out = render(t);
	CHECK(!strcmp(out, "NAME         CIDR         NODES\n"
	                   "a            10.0.0.0/24  3\n"
	                   "longer-name  -            12\n"));
	if (strncmp(out, "NAME", 4))
		fprintf(stderr, "%s", out);
	free(out);
	table_free(t);
}

static void test_clean(void)
{
	struct table *t = NULL;
	char *out;

	/* No header; UTF-8 counts as one column per character. */
	CHECK(table_new(2, NULL, &t) == 0);
	table_cell(t, "caf\xc3\xa9");
	table_cell(t, "x");
	table_cell(t, "ab");
	table_cell(t, "bad\x1b[31m\nred\xff\xc2\x9b");
	out = render(t);
	CHECK(!strcmp(out, "caf\xc3\xa9  x\n"
	                   "ab    bad?[31m?red??\n"));
	free(out);
	table_free(t);
	table_free(NULL);
}

static void test_empty(void)
{
	static const char *const hdr[] = {"ID", "ROLE"};
	struct table *t = NULL;
	char *out;

	CHECK(table_new(2, hdr, &t) == 0);
	CHECK(table_rows(t) == 0);
	out = render(t);
	CHECK(!strcmp(out, "ID  ROLE\n"));
	free(out);
	table_free(t);
}

static void test_time(void)
{
	char buf[32];

	table_fmt_time(0, buf, sizeof(buf));
	CHECK(!strcmp(buf, "-"));
	table_fmt_time(86400 + 3661, buf, sizeof(buf));
	CHECK(!strcmp(buf, "1970-01-02T01:01:01Z"));
	table_fmt_time(1714564800, buf, sizeof(buf));
	CHECK(!strcmp(buf, "2024-05-01T12:00:00Z"));
}

int main(void)
{
	test_align();
	test_clean();
	test_empty();
	test_time();
	return check_result();
}
