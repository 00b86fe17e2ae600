// SPDX-License-Identifier: Apache-2.0
/*
 * A deterministic stand-in for libFuzzer, so every fuzz harness also runs in
 * the ordinary test suite under gcc, ASan and UBSan. It feeds the harness's
 * seeds, then mutations of them (bit flips, byte sets, truncations,
 * duplications, random tails) from a fixed PRNG seed, so a failure is
 * reproducible from the iteration number it prints. With clang and
 * -DNETFN_FUZZ=ON the same harnesses link against real libFuzzer instead.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Seeds each harness offers: valid inputs the mutations start from. */
size_t fuzz_seeds(uint8_t ***seeds, size_t **lens);

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	/* xorshift64*: small, fast, and the same sequence everywhere. */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static size_t mutate(uint8_t *buf, size_t len, size_t cap)
{
	int rounds = 1 + (int)(next() % 4);

	for (int r = 0; r < rounds; r++) {
		size_t pos = len ? next() % len : 0;

		switch (next() % 6) {
		case 0:
			if (len)
				buf[pos] ^= (uint8_t)(1u << (next() % 8));
			break;
		case 1:
			if (len)
				buf[pos] = (uint8_t)next();
			break;
		case 2:
			len = len ? next() % len : 0;
			break;
		case 3: { /* duplicate a slice at the end */
			size_t n = len ? 1 + next() % len : 0;

			if (len + n <= cap) {
				memmove(buf + len, buf + pos, n > len - pos ? len - pos : n);
				len += n > len - pos ? len - pos : n;
			}
			break;
		}
		case 4: { /* random tail */
			size_t n = next() % 32;

			for (size_t i = 0; i < n && len < cap; i++)
				buf[len++] = (uint8_t)next();
			break;
		}
		default:
			if (len)
				buf[pos] = (uint8_t)(buf[pos] + 1);
			break;
		}
	}
	return len;
}

int main(int argc, char **argv)
{
	long iterations = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
	uint8_t **seeds = NULL;
	size_t *lens = NULL, n = fuzz_seeds(&seeds, &lens), cap = 8192;
	uint8_t *buf = malloc(cap);

	if (!buf || !n)
		return 1;
	for (size_t i = 0; i < n; i++)
		LLVMFuzzerTestOneInput(seeds[i], lens[i]);
	for (long it = 0; it < iterations; it++) {
		size_t s = next() % n, len = lens[s] < cap ? lens[s] : cap;
		uint8_t *copy;

		memcpy(buf, seeds[s], len);
		len = mutate(buf, len, cap);
		/* An exact-size copy, so ASan sees any read past the input's end. */
		copy = malloc(len ? len : 1);
		memcpy(copy, buf, len);
		LLVMFuzzerTestOneInput(copy, len);
		free(copy);
	}
	for (size_t i = 0; i < n; i++)
		free(seeds[i]);
	free(seeds);
	free(lens);
	free(buf);
	printf("%ld iterations over %zu seeds: no crash\n", iterations, n);
	return 0;
}
