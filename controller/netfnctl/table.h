/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A column-aligned table printer for netfnctl's human output: cells are
 * collected row by row, then printed with every column as wide as its widest
 * cell. Allocation failures are sticky and reported once by table_print, so
 * callers can add cells without checking each one.
 */
#ifndef NETFN_NETFNCTL_TABLE_H
#define NETFN_NETFNCTL_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Space between columns. */
#define TABLE_GAP 2

struct table;

/* Makes a table of ncols columns; headers (ncols strings) or NULL for none. */
int table_new(size_t ncols, const char *const *headers, struct table **out);

/* Frees a table; NULL is fine. */
void table_free(struct table *t);

/* Appends a cell to the current row; a row ends after ncols cells. */
void table_cell(struct table *t, const char *s);

/* Appends a formatted cell. */
void table_cellf(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Number of complete rows added so far. */
size_t table_rows(const struct table *t);

/* Prints the header and rows; 0, -ENOMEM (a cell was lost) or -EIO. */
int table_print(struct table *t, FILE *f);

/* Formats unix seconds as "2024-05-01T12:00:00Z" (UTC; no blank, so awk sees one column), or "-"
 * for 0. */
void table_fmt_time(int64_t t, char *buf, size_t len);

#endif
