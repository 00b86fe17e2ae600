// SPDX-License-Identifier: Apache-2.0
/*
 * The API unit tests' controller: a store in a temp dir behind the real
 * dispatcher on nng's inproc transport, called the way netfnctl calls it.
 * Each step is checked here, with the test's counts (tests/check.h), so a
 * test reads as its calls and what it expects of them.
 */
#include "controller/api_test_util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/compile.h"
#include "controller/store/store_test_util.h"
#include "proto/rpc.h"
#include "tests/check.h"

static void make_token(struct api_test *t, char *buf, const char *id, const char *role)
{
	struct st_api_token tok = {.created = 1};

	CHECK(nf_api_token_new(buf, NF_TOKEN_STRLEN, tok.hash) == 0);
	snprintf(tok.id, sizeof(tok.id), "%s", id);
	snprintf(tok.role, sizeof(tok.role), "%s", role);
	CHECK(t->ctl.store->ops->api_token_insert(t->ctl.store, &tok) == 0);
}

int api_test_start(struct api_test *t, const char *name)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/netfn-api-%s-XXXXXX", name);
	snprintf(t->url, sizeof(t->url), "inproc://api_%s_test", name);
	CHECK(nf_crypto_init() == 0);
	CHECK(mkdtemp(t->dir) != NULL);
	pthread_mutex_init(&t->ctl.lock, NULL);
	t->ctl.heartbeat_ms = 1000;
	CHECK(store_open(t->dir, &t->ctl.store) == 0);
	if (!t->ctl.store)
		return -1;
	make_token(t, t->admin, "admin1", "admin");
	make_token(t, t->reader, "reader1", "reader");
	CHECK(api_start(&t->ctl, (const char *const[]){t->url}, 1, NULL) == 0);
	CHECK(nf_rpc_dial(t->url, &t->sock) == 0);
	return 0;
}

int api_test_stop(struct api_test *t)
{
	nng_close(t->sock);
	api_stop();
	store_close(t->ctl.store);
	return store_test_dir_remove(t->dir);
}

ProtobufCMessage *api_test_call(struct api_test *t, const char *token, const char *method,
                                const ProtobufCMessage *req,
                                const ProtobufCMessageDescriptor *reply_desc)
{
	ProtobufCMessage *reply = NULL;

	memset(&t->st, 0, sizeof(t->st));
	CHECK(nf_rpc_call(t->sock, method, token, req, reply_desc, &reply, &t->st, 5000) == 0);
	return t->st.code == NETFN__STATUS__OK ? reply : NULL;
}

ProtobufCMessage *api_test_call_ref(struct api_test *t, const char *token, const char *method,
                                    const char *name, const char *network,
                                    const ProtobufCMessageDescriptor *reply_desc)
{
	Netfn__NameRef ref = NETFN__NAME_REF__INIT;

	ref.name = (char *)name;
	ref.network = (char *)network;
	return api_test_call(t, token, method, &ref.base, reply_desc);
}

void api_test_done(void *reply)
{
	if (reply)
		protobuf_c_message_free_unpacked(reply, NULL);
}

bool api_test_failed(const struct api_test *t, int code, const char *field)
{
	if (t->st.code == code && strcmp(t->st.field, field) == 0)
		return true;
	fprintf(stderr, "expected %s on '%s', got %s on '%s': %s\n", nf_status_name(code), field,
	        nf_status_name(t->st.code), t->st.field, t->st.message);
	return false;
}

static int count_audit(void *ctx, const struct st_audit *a)
{
	(void)a;
	(*(int *)ctx)++;
	return 0;
}

int api_test_audits(struct api_test *t)
{
	int n = 0;

	CHECK(t->ctl.store->ops->audit_list(t->ctl.store, 100000, count_audit, &n) == 0);
	return n;
}

uint64_t api_test_rev(struct api_test *t, int64_t node, const char *function)
{
	struct st_section sec;

	return t->ctl.store->ops->section_get(t->ctl.store, node, function, &sec) == 0
	           ? sec.desired_rev
	           : 0;
}

void api_test_network_create(struct api_test *t, const char *name, const char *cidr)
{
	Netfn__Network n = NETFN__NETWORK__INIT;

	n.name = (char *)name;
	n.cidr = (char *)cidr;
	api_test_done(
	    api_test_call(t, t->admin, "network.create", &n.base, &netfn__network__descriptor));
	CHECK(t->st.code == NETFN__STATUS__OK);
}

void api_test_node_init(struct st_node *n, const char *name, const char *addr, const char *role)
{
	int key = name[0] + name[strlen(name) - 1];

	memset(n, 0, sizeof(*n));
	n->created = 1;
	snprintf(n->name, sizeof(n->name), "%s", name);
	memset(n->id_pk, key, sizeof(n->id_pk));
	memset(n->wg_pk, key + 100, sizeof(n->wg_pk));
	inet_pton(AF_INET, addr, &n->overlay_addr);
	if (role) {
		strcpy(n->labels[0].key, "role");
		snprintf(n->labels[0].value, ST_NAME_MAX, "%s", role);
		n->n_labels = 1;
	}
}

int64_t api_test_node_insert(struct api_test *t, const char *network, struct st_node *n)
{
	struct store *s = t->ctl.store;
	struct st_network net;

	CHECK(s->ops->network_get(s, network, &net) == 0);
	n->network_id = net.id;
	CHECK(s->ops->begin(s) == 0 && s->ops->node_insert(s, n) == 0);
	CHECK(compile_network(s, net.id, NULL) == 0 && s->ops->commit(s) == 0);
	return n->id;
}

int64_t api_test_node_add(struct api_test *t, const char *network, const char *name,
                          const char *addr, const char *role)
{
	struct st_node n;

	api_test_node_init(&n, name, addr, role);
	return api_test_node_insert(t, network, &n);
}
