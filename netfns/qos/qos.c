// SPDX-License-Identifier: Apache-2.0
/*
 * The rate grammar both halves of the traffic classes share, and freeing a
 * config. Units are SI like tc's (1kbit = 1000 bit/s), so a rate the API
 * accepts means the same as it would typed into tc.
 */
#include "netfns/qos/qos.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	uint64_t mult;
} units[] = {
    {"gbit", 1000000000ULL},
    {"mbit", 1000000ULL},
    {"kbit", 1000ULL},
    {"bit", 1ULL},
};

bool qos_rate_parse(const char *s, uint64_t *bps, char *why, size_t whylen)
{
	uint64_t n = 0, mult = 1;
	const char *p = s;

	if (!s || !isdigit((unsigned char)*s)) {
		snprintf(why, whylen, "not a rate (a number with bit, kbit, mbit or gbit)");
		return false;
	}
	for (; isdigit((unsigned char)*p); p++) {
		if (n > (UINT64_MAX - 9) / 10) {
			snprintf(why, whylen, "too large");
			return false;
		}
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (*p) {
		size_t i;

		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strcmp(p, units[i].name) == 0)
				break;
		if (i == sizeof(units) / sizeof(units[0])) {
			snprintf(why, whylen, "unknown unit '%.16s' (bit, kbit, mbit or gbit)", p);
			return false;
		}
		mult = units[i].mult;
	}
	/* Checked before multiplying: the product could wrap. */
	if (n > QOS_RATE_MAX_BPS / mult || n * mult < QOS_RATE_MIN_BPS) {
		snprintf(why, whylen, "outside 8kbit-100gbit");
		return false;
	}
	*bps = n * mult;
	return true;
}

void qos_rate_format(uint64_t bps, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (bps && bps % units[i].mult == 0) {
			snprintf(buf, len, "%" PRIu64 "%s", bps / units[i].mult, units[i].name);
			return;
		}
	snprintf(buf, len, "%" PRIu64 "bit", bps);
}

void qos_config_free(struct qos_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n; i++)
		free(cfg->classes[i].matches);
	free(cfg->classes);
	memset(cfg, 0, sizeof(*cfg));
}
