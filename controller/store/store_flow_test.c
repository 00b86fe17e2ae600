// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the SQLite store's flow filters: insert, get by id and by
 * name, list (a network's or one node's, by id) and delete; a name is one
 * filter's in a network (-EEXIST), unnamed filters never collide and "" finds
 * none; a filter of a node or network that does not exist is refused; ids
 * are never reused, even the last one deleted; filters go with their node
 * and with their network; and a schema-version-7 file with data walks
 * forward keeping it. Each test works in its own mkdtemp directory; no root.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "controller/store/store_test_util.h"
#include "tests/check.h"

static struct st_flow_filter make(int64_t network_id, int64_t node_id, const char *name,
                                  const char *protocol, uint32_t port, const char *action)
{
	struct st_flow_filter f = {.network_id = network_id,
	                           .node_id = node_id,
	                           .dst_port = port,
	                           .priority = 100,
	                           .created = 4000};

	snprintf(f.name, sizeof(f.name), "%s", name);
	snprintf(f.protocol, sizeof(f.protocol), "%s", protocol);
	snprintf(f.action, sizeof(f.action), "%s", action);
	return f;
}

struct seen {
	int n;
	struct st_flow_filter f[8];
};

static int collect(void *ctx, const struct st_flow_filter *f)
{
	struct seen *seen = ctx;

	if (seen->n < 8)
		seen->f[seen->n] = *f;
	seen->n++;
	return 0;
}

static int list(struct store *s, int64_t network_id, int64_t node_id, struct seen *out)
{
	memset(out, 0, sizeof(*out));
	CHECK(s->ops->flow_list(s, network_id, node_id, collect, out) == 0);
	return out->n;
}

static void test_filters(void)
{
	struct store *s = store_test_open();
	struct st_flow_filter ssh, any_a, any_b, other, dup, got;
	struct seen seen;
	int64_t net, red, a, b, c;

	net = store_test_network_add(s, "blue");
	red = store_test_network_add(s, "red");
	a = store_test_node_add(s, net, "a1", 0x0a140001);
	b = store_test_node_add(s, net, "b2", 0x0a140002);
	c = store_test_node_add(s, red, "c3", 0x0a140001);

	ssh = make(net, a, "ssh", "tcp", 22, "drop");
	strcpy(ssh.src, "10.0.0.0/8");
	strcpy(ssh.dst, "10.20.0.1/32");
	ssh.priority = 300;
	any_a = make(net, a, "", "", 0, "allow");
	any_b = make(net, b, "", "icmp", 0, "drop");
	other = make(red, c, "ssh", "udp", 53, "drop");
	CHECK(s->ops->flow_insert(s, &ssh) == 0 && ssh.id > 0);
	CHECK(s->ops->flow_insert(s, &any_b) == 0 && any_b.id > ssh.id);
	/* Unnamed filters never collide, in a node or across nodes. */
	CHECK(s->ops->flow_insert(s, &any_a) == 0 && any_a.id > any_b.id);
	/* Names are per network. */
	CHECK(s->ops->flow_insert(s, &other) == 0);

	CHECK(s->ops->flow_get_id(s, ssh.id, &got) == 0);
	CHECK(got.id == ssh.id && got.network_id == net && got.node_id == a &&
	      !strcmp(got.name, "ssh") && !strcmp(got.protocol, "tcp") && got.dst_port == 22 &&
	      !strcmp(got.src, "10.0.0.0/8") && !strcmp(got.dst, "10.20.0.1/32") &&
	      !strcmp(got.action, "drop") && got.priority == 300 && got.created == 4000);
	CHECK(s->ops->flow_get_id(s, any_a.id, &got) == 0 && !got.name[0] && !got.protocol[0] &&
	      !got.src[0] && !got.dst[0] && !strcmp(got.action, "allow") && got.dst_port == 0);
	CHECK(s->ops->flow_get_id(s, 4242, &got) == -ENOENT);
	CHECK(s->ops->flow_get_name(s, net, "ssh", &got) == 0 && got.id == ssh.id);
	CHECK(s->ops->flow_get_name(s, red, "ssh", &got) == 0 && got.id == other.id);
	CHECK(s->ops->flow_get_name(s, net, "none", &got) == -ENOENT);
	/* "" names no filter, though unnamed ones exist. */
	CHECK(s->ops->flow_get_name(s, net, "", &got) == -ENOENT);

	/* By id; one node's, or every node's of the network. */
	CHECK(list(s, net, a, &seen) == 2 && seen.f[0].id == ssh.id && seen.f[1].id == any_a.id);
	CHECK(list(s, net, b, &seen) == 1 && seen.f[0].id == any_b.id &&
	      !strcmp(seen.f[0].protocol, "icmp"));
	CHECK(list(s, net, 0, &seen) == 3 && seen.f[0].id == ssh.id && seen.f[1].id == any_b.id &&
	      seen.f[2].id == any_a.id);
	CHECK(list(s, red, 0, &seen) == 1 && seen.f[0].id == other.id);
	CHECK(list(s, red, a, &seen) == 0);

	/* A name is one filter's in its network, whichever node. */
	dup = make(net, b, "ssh", "tcp", 2222, "drop");
	CHECK(s->ops->flow_insert(s, &dup) == -EEXIST);
	dup = make(net, 4242, "lost", "", 0, "drop");
	CHECK(s->ops->flow_insert(s, &dup) == -ENOENT);
	dup = make(4242, a, "lost", "", 0, "drop");
	CHECK(s->ops->flow_insert(s, &dup) == -ENOENT);

	CHECK(s->ops->flow_delete(s, ssh.id) == 0);
	CHECK(s->ops->flow_delete(s, ssh.id) == -ENOENT);
	CHECK(s->ops->flow_get_id(s, ssh.id, &got) == -ENOENT);
	/* Its name is free again. */
	dup = make(net, b, "ssh", "tcp", 2222, "drop");
	CHECK(s->ops->flow_insert(s, &dup) == 0);

	/* The newest filter deleted: its id is still not given out again. */
	CHECK(s->ops->flow_delete(s, dup.id) == 0);
	got = make(net, b, "", "", 0, "drop");
	CHECK(s->ops->flow_insert(s, &got) == 0 && got.id > dup.id);
	store_close(s);
}

static void test_cascade(void)
{
	struct store *s = store_test_open();
	struct st_flow_filter f1, f2, f3, stray;
	struct seen seen;
	int64_t net, red, a, b;

	net = store_test_network_add(s, "blue");
	red = store_test_network_add(s, "red");
	a = store_test_node_add(s, net, "a1", 0x0a140001);
	b = store_test_node_add(s, net, "b2", 0x0a140002);
	f1 = make(net, a, "one", "tcp", 80, "drop");
	f2 = make(net, a, "", "", 0, "allow");
	f3 = make(net, b, "three", "udp", 53, "drop");
	CHECK(s->ops->flow_insert(s, &f1) == 0 && s->ops->flow_insert(s, &f2) == 0 &&
	      s->ops->flow_insert(s, &f3) == 0);

	/* A node's filters go with it, and only its. */
	CHECK(s->ops->node_delete(s, a) == 0);
	CHECK(list(s, net, 0, &seen) == 1 && seen.f[0].id == f3.id);
	CHECK(store_test_int("SELECT count(*) FROM flow_filters") == 1);

	/* The network's nodes hold it, and with it their filters. */
	CHECK(s->ops->network_delete(s, net) == -ENOTEMPTY);
	CHECK(store_test_int("SELECT count(*) FROM flow_filters") == 1);
	CHECK(s->ops->node_delete(s, b) == 0);
	CHECK(store_test_int("SELECT count(*) FROM flow_filters") == 0);

	/*
	 * The network's own cascade. The API keeps a filter's node in its
	 * network; the store does not check that, which is the only way to
	 * see this cascade while nodes hold their network: a filter of red
	 * on blue's node goes with red, the node staying.
	 */
	b = store_test_node_add(s, net, "b2", 0x0a140002);
	stray = make(red, b, "stray", "", 0, "drop");
	CHECK(s->ops->flow_insert(s, &stray) == 0);
	CHECK(s->ops->network_delete(s, red) == 0);
	CHECK(store_test_int("SELECT count(*) FROM flow_filters") == 0);
	CHECK(store_test_int("SELECT count(*) FROM nodes") == 1);
	store_close(s);
}

/* A version-7 file (before flow filters) with data walks forward to the latest version. */
static void test_migration(void)
{
	struct store *s = store_test_open();
	struct st_qos_class c = {.min_bps = 1000000, .max_bps = 2000000, .minor = 2, .created = 1};
	struct st_flow_filter f, got;
	struct st_node node;
	int v = 0, latest;
	int64_t net, a;

	CHECK(s->ops->begin(s) == 0);
	net = store_test_network_add(s, "old");
	a = store_test_node_add(s, net, "a1", 0x0a140001);
	c.network_id = net;
	strcpy(c.name, "gold");
	CHECK(s->ops->qos_class_insert(s, &c) == 0);
	CHECK(s->ops->commit(s) == 0);
	store_close(s);
	latest = (int)store_test_int("PRAGMA user_version");
	CHECK(latest >= 8);
	/* Step 8 only adds: taking its objects away leaves exactly a version-7 file. */
	CHECK(store_test_exec("DROP TABLE flow_filters; PRAGMA user_version = 7;") == SQLITE_OK);
	CHECK(store_test_int("SELECT count(*) FROM sqlite_master WHERE name LIKE 'flow%'") == 0);

	s = store_test_open();
	CHECK(s->ops->schema_version(s, &v) == 0 && v == latest);
	CHECK(store_test_int(
	          "SELECT count(*) FROM sqlite_master WHERE name LIKE 'flow_filters%'") == 4);
	CHECK(s->ops->node_get_id(s, a, &node) == 0 && node.network_id == net &&
	      !strcmp(node.name, "a1"));
	memset(&c, 0, sizeof(c));
	CHECK(s->ops->qos_class_get(s, net, "gold", &c) == 0 && c.minor == 2);
	f = make(net, a, "ssh", "tcp", 22, "drop");
	CHECK(s->ops->begin(s) == 0 && s->ops->flow_insert(s, &f) == 0);
	CHECK(s->ops->commit(s) == 0);
	CHECK(s->ops->flow_get_name(s, net, "ssh", &got) == 0 && got.id == f.id);
	store_close(s);
	CHECK(store_test_int("PRAGMA user_version") == latest);
}

int main(void)
{
	static void (*const tests[])(void) = {test_filters, test_cascade, test_migration};

	return store_test_run("store_flow_test", tests, sizeof(tests) / sizeof(tests[0]));
}
