// SPDX-License-Identifier: Apache-2.0
/* Small helpers of the controller's shared state: id lists, time, liveness. */
#include "controller/ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

int idvec_push(struct idvec *iv, int64_t id)
{
	for (size_t i = 0; i < iv->n; i++)
		if (iv->v[i] == id)
			return 0;
	if (iv->n == iv->cap) {
		size_t cap = iv->cap ? iv->cap * 2 : 8;
		int64_t *v = realloc(iv->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		iv->v = v;
		iv->cap = cap;
	}
	iv->v[iv->n++] = id;
	return 0;
}

void idvec_free(struct idvec *iv)
{
	free(iv->v);
	iv->v = NULL;
	iv->n = iv->cap = 0;
}

int64_t ctl_now(void)
{
	return (int64_t)time(NULL);
}

bool ctl_node_online(const struct ctl *c, int64_t last_seen)
{
	/* Offline after missing CTL_OFFLINE_BEATS heartbeats; derived, never stored. */
	int64_t limit = ((int64_t)c->heartbeat_ms * CTL_OFFLINE_BEATS + 999) / 1000;

	return last_seen && ctl_now() - last_seen <= limit;
}
