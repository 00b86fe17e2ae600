/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The unit tests' one assertion macro: prints the failed expression with its
 * place and counts it; a test's main returns check_result().
 */
#ifndef NETFN_TESTS_CHECK_H
#define NETFN_TESTS_CHECK_H

#include <stdio.h>

/*
 * The program's counts. Weak, so that a test's helper files, which include
 * this header too, add to the same counts as the test itself.
 */
__attribute__((weak)) int check_failures;
__attribute__((weak)) int check_total;

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
