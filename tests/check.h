/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The unit tests' one assertion macro: prints the failed expression with its
 * place and counts it; a test's main returns check_result().
 */
#ifndef NETFN_TESTS_CHECK_H
#define NETFN_TESTS_CHECK_H

#include <stdio.h>

static int check_failures;
static int check_total;

#define CHECK(expr)                                                                                \
	do {                                                                                       \
		check_total++;                                                                     \
		if (!(expr)) {                                                                     \
			check_failures++;                                                          \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr);   \
		}                                                                                  \
	} while (0)

/* Prints the totals and gives main's exit status. */
static inline int check_result(void)
{
	printf("%d checks, %d failed\n", check_total, check_failures);
	return check_failures ? 1 : 0;
}

#endif
