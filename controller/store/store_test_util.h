/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the store's unit tests share: each test function run in a fresh
 * mkdtemp dir that is removed after it, the store opened there, the file
 * reached with raw sqlite3 as an older binary would, and the networks,
 * nodes, labels and placement counts the tests build on. Failures are
 * counted with tests/check.h, in the test's own counts.
 */
#ifndef NETFN_CONTROLLER_STORE_STORE_TEST_UTIL_H
#define NETFN_CONTROLLER_STORE_STORE_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "controller/store/store.h"

/* Runs each of tests in its own /tmp/NAME.XXXXXX; main's exit status (check_result). */
int store_test_run(const char *name, void (*const *tests)(void), size_t n);

/* Removes a store's files (netfn.db and its -wal, -shm, -journal) and dir; rmdir's result. */
int store_test_dir_remove(const char *path);

/* Opens the store in the current test's dir; exits the program when it cannot. */
struct store *store_test_open(void);

/* The current test's database file. */
const char *store_test_db_path(void);

/* Runs SQL on the file with raw sqlite3 (saying why when it fails); the sqlite result code. */
int store_test_exec(const char *sql);

/* The first integer the query yields, or -1. */
int64_t store_test_int(const char *sql);

/*
 * A network as the API leaves one: mesh on 10.20.0.0/16, port 51820, MTU
 * 1420, the default domain and one DNS server.
 */
void store_test_network_init(struct st_network *n, const char *name);

/* Inserts such a network; its id. */
int64_t store_test_network_add(struct store *s, const char *name);

/* Inserts a node of network_id named name at addr (host order), keys made from its name; its id. */
int64_t store_test_node_add(struct store *s, int64_t network_id, const char *name, uint32_t addr);

/* Sets l to key=value. */
void store_test_label(struct st_label *l, const char *key, const char *value);

/* The number of placements of kind for object_id (0: every object). */
int store_test_placements(struct store *s, const char *kind, int64_t object_id);

#endif
