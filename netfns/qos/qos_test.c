// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for qos.c: rates parse with SI units like tc's, out-of-range and
 * malformed rates are refused with a reason, format prints the largest exact
 * unit and reads back, and freeing accepts a zeroed config.
 */
#include "netfns/qos/qos.h"
#include "tests/check.h"

#include <stdlib.h>
#include <string.h>

static bool parse(const char *s, uint64_t *v)
{
	char why[80];

	return qos_rate_parse(s, v, why, sizeof(why));
}

int main(void)
{
	const char *bad[] = {"",
	                     "mbit",
	                     "10 mbit",
	                     "10Mbit",
	                     "10mbps",
	                     "-5",
	                     "1bit",
	                     "7999",
	                     "101gbit",
	                     "99999999999999999999999",
	                     "18446744073709551615gbit"};
	uint64_t v = 0;
	char buf[32], why[80];
	struct qos_config cfg = {0};

	CHECK(parse("10mbit", &v) && v == 10000000);
	CHECK(parse("500kbit", &v) && v == 500000);
	CHECK(parse("1gbit", &v) && v == 1000000000);
	CHECK(parse("8000", &v) && v == 8000);
	CHECK(parse("8000bit", &v) && v == 8000);
	CHECK(parse("100gbit", &v) && v == QOS_RATE_MAX_BPS);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		CHECK(!qos_rate_parse(bad[i], &v, why, sizeof(why)) && why[0]);
	}
	CHECK(!qos_rate_parse(NULL, &v, why, sizeof(why)));

	qos_rate_format(20000000, buf, sizeof(buf));
	CHECK(!strcmp(buf, "20mbit"));
	qos_rate_format(1500000, buf, sizeof(buf));
	CHECK(!strcmp(buf, "1500kbit"));
	qos_rate_format(3000000000ULL, buf, sizeof(buf));
	CHECK(!strcmp(buf, "3gbit"));
	qos_rate_format(8001, buf, sizeof(buf));
	CHECK(!strcmp(buf, "8001bit"));
	CHECK(parse(buf, &v) && v == 8001);

	qos_config_free(&cfg);
	qos_config_free(NULL);
	cfg.n = 1;
	cfg.classes = calloc(1, sizeof(*cfg.classes));
	cfg.classes[0].n_matches = 1;
	cfg.classes[0].matches = calloc(1, sizeof(struct qos_match));
	qos_config_free(&cfg);
	CHECK(cfg.n == 0 && cfg.classes == NULL);
	return check_result();
}
