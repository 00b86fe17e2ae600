// SPDX-License-Identifier: Apache-2.0
/*
 * Picks the store engine. Callers reach every operation through s->ops, so
 * this file only decides which engine opens a store and hands the handle back
 * to that engine to close it. SQLite is the default; another engine is one
 * more const ops table, not a change to the callers.
 */
#include "controller/store/store.h"

#include <errno.h>
#include <stddef.h>

int store_open(const char *dir, struct store **out)
{
	if (!dir || !out)
		return -EINVAL;
	*out = NULL;
	return store_sqlite_ops.open(dir, out);
}

void store_close(struct store *s)
{
	if (!s)
		return;
	s->ops->close(s);
}
