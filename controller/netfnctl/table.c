// SPDX-License-Identifier: Apache-2.0
/*
 * Column-aligned tables for people. Each cell is copied and cleaned on the
 * way in: names come from the network, so control characters (C0, DEL, C1)
 * and malformed UTF-8 are replaced with '?' before they reach a terminal,
 * and an empty cell is shown as "-" so columns stay countable for awk.
 * Widths count characters, not bytes, so UTF-8 names stay aligned. The last
 * column is not padded, leaving no trailing blanks.
 */
#include "controller/netfnctl/table.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/netfnctl/json.h"

struct table {
	size_t ncols;
	char **cells; /* row-major: header row first when there is one */
	size_t n_cells, cap_cells;
	bool has_header;
	int err; /* sticky: the first allocation failure */
};

/* A cleaned copy of s: '?' for control characters and malformed UTF-8. */
static char *clean_copy(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s);
	char *out;
	size_t o = 0;

	if (len == 0)
		return strdup("-");
	out = malloc(len + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = json_utf8_len(u + i, len - i);

		/* U+0080..U+009F (C2 80..C2 9F) are C1 controls, e.g. CSI. */
		if (n == 0 || u[i] < 0x20 || u[i] == 0x7f ||
		    (n == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0)) {
			out[o++] = '?';
			i += n ? n : 1;
			continue;
		}
		memcpy(out + o, u + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return out;
}

/* Characters shown for s (cells are valid UTF-8 once cleaned). */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	}
	return w;
}

static void push(struct table *t, char *cell)
{
	if (!cell) {
		t->err = -ENOMEM;
		return;
	}
	if (t->n_cells == t->cap_cells) {
		size_t cap = t->cap_cells ? t->cap_cells * 2 : 64;
		char **cells = realloc(t->cells, cap * sizeof(*cells));

		if (!cells) {
			free(cell);
			t->err = -ENOMEM;
			return;
		}
		t->cells = cells;
		t->cap_cells = cap;
	}
	t->cells[t->n_cells++] = cell;
}

int table_new(size_t ncols, const char *const *headers, struct table **out)
{
	struct table *t = NULL;

	if (ncols == 0)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->ncols = ncols;
	if (headers) {
		t->has_header = true;
		for (size_t c = 0; c < ncols; c++)
			push(t, clean_copy(headers[c]));
	}
	if (t->err) {
		table_free(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_cells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

void table_cell(struct table *t, const char *s)
{
	if (t->err)
		return;
	push(t, clean_copy(s ? s : ""));
}

void table_cellf(struct table *t, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int n;

	if (t->err)
		return;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		t->err = -ENOMEM;
		return;
	}
	table_cell(t, s);
	free(s);
}

size_t table_rows(const struct table *t)
{
	return t->n_cells / t->ncols - (t->has_header ? 1 : 0);
}

int table_print(struct table *t, FILE *f)
{
	size_t *widths = NULL;
	size_t rows;
	int rc = 0;

	if (t->err)
		return t->err;
	/* A row left short by the caller is a bug; print only whole rows. */
	rows = t->n_cells / t->ncols;
	widths = calloc(t->ncols, sizeof(*widths));
	if (!widths)
		return -ENOMEM;
	for (size_t i = 0; i < rows * t->ncols; i++) {
		size_t w = width(t->cells[i]);

		if (w > widths[i % t->ncols])
			widths[i % t->ncols] = w;
	}
	for (size_t r = 0; r < rows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];

			fputs(cell, f);
			if (c + 1 < t->ncols)
				fprintf(f, "%*s", (int)(widths[c] - width(cell) + TABLE_GAP), "");
		}
		fputc('\n', f);
	}
	if (fflush(f) || ferror(f))
		rc = -EIO;
	free(widths);
	return rc;
}

void table_fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || !gmtime_r(&tt, &tm)) {
		snprintf(buf, len, "-");
		return;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
