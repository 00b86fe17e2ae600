// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for qos_agent.c without root: the marks' batch has the table,
 * its chain, the old rules' delete and one rule per match, each rule naming
 * its class (cookie: the minor); the default class's rate is what the floors
 * leave, never under 1% of the link.
 */
#include "netfns/qos/qos_agent.h"
#include "tests/check.h"

#include <string.h>

int main(void)
{
	struct qos_match m[3] = {
	    {.protocol = 6, .port_first = 5201, .port_last = 5201, .dst_any = true},
	    {.protocol = 17, .port_first = 8000, .port_last = 8100, .dst_any = true},
	    {.dst_any = false},
	};
	struct qos_class c[2] = {
	    {.minor = 2, .name = "gold", .min_bps = 30000000, .max_bps = 50000000, .n_matches = 2},
	    {.minor = 3, .name = "bronze", .min_bps = 5000000, .max_bps = 50000000, .n_matches = 1},
	};
	struct qos_config cfg = {.link_bps = 50000000, .n = 2, .classes = c};
	struct nft_batch *b = NULL;
	size_t len = 0;

	c[0].matches = m;
	c[1].matches = &m[2];
	CHECK(nf_prefix_parse("10.8.0.0/24", false, &m[2].dst));
	CHECK(nft_batch_new(NULL, &b) == 0);
	CHECK(b && qos_nft_put_apply(b, "netfn_qos", "wg0", &cfg) == 0);
	CHECK(b && nft_batch_count(b) == 3 + 3);
	CHECK(b && nft_batch_data(b, &len) && len > 0);
	nft_batch_free(b);

	CHECK(qos_default_rate(&cfg) == 15000000);
	c[0].min_bps = 50000000;
	CHECK(qos_default_rate(&cfg) == 500000);
	cfg.link_bps = 100000;
	CHECK(qos_default_rate(&cfg) == QOS_RATE_MIN_BPS);
	return check_result();
}
