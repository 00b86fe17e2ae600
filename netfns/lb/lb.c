// SPDX-License-Identifier: Apache-2.0
/*
 * What both halves of the load balancer share beyond the model in lb.h: the
 * names of protocols and algorithms as the API and the agent section spell
 * them, and freeing a config. The controller half builds configs, the agent
 * half keeps the one it applied; both parse, print and free them the same way.
 */
#include "netfns/lb/lb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const protos[] = {[LB_TCP] = "tcp", [LB_UDP] = "udp"};
static const char *const algos[] = {
    [LB_ROUND_ROBIN] = "round-robin", [LB_RANDOM] = "random", [LB_SOURCE_HASH] = "source-hash"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Finds s in names[0..n); -1 when absent (or s is NULL). */
static int word(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

const char *lb_proto_name(enum lb_proto p)
{
	return (unsigned)p < COUNT(protos) ? protos[p] : "?";
}

const char *lb_algo_name(enum lb_algo a)
{
	return (unsigned)a < COUNT(algos) ? algos[a] : "?";
}

int lb_proto_parse(const char *s, enum lb_proto *out)
{
	int v = word(s, protos, COUNT(protos));

	if (v < 0)
		return -EINVAL;
	*out = (enum lb_proto)v;
	return 0;
}

int lb_algo_parse(const char *s, enum lb_algo *out)
{
	int v = word(s, algos, COUNT(algos));

	if (v < 0)
		return -EINVAL;
	*out = (enum lb_algo)v;
	return 0;
}

void lb_config_free(struct lb_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; cfg->frontends && i < cfg->n; i++)
		free(cfg->frontends[i].backends);
	free(cfg->frontends);
	memset(cfg, 0, sizeof(*cfg));
}
