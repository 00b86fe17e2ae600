// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the reconcile driver with a fake function in the vpn row: a
 * section applies only when its revision is newer, a failure keeps the last
 * good revision (and the saved config) and is reported with its object, a
 * failed revision is not retried at once but later from the config the
 * driver kept, what applied is persisted and
 * re-applied by restore, and a table row without a NodeConfig field is
 * refused. No kernel, no root.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/reconcile.h"
#include "agent/state.h"
#include "tests/check.h"

struct fake {
	int opens;
	int applies;
	int closes;
	int teardowns;
	uint64_t last_rev;
};

static struct fake fake;
static int transient_failures; /* the next applies that fail as if the system was busy */
static Netfn__PeerStat fake_peer = NETFN__PEER_STAT__INIT;
static Netfn__PeerStat *fake_peers[] = {&fake_peer};

static int fake_open(const struct reconcile_env *env, void **priv)
{
	(void)env;
	fake.opens++;
	*priv = &fake;
	return 0;
}

/* Fails any section whose address is "bad", as a validator would. */
static int fake_apply(void *priv, const ProtobufCMessage *section, struct reconcile_error *err)
{
	const Netfn__VpnSection *v = (const Netfn__VpnSection *)section;
	struct fake *f = priv;

	f->applies++;
	if (transient_failures > 0) {
		transient_failures--;
		snprintf(err->message, sizeof(err->message), "device busy");
		return -EBUSY;
	}
	if (strcmp(v->address, "bad") == 0) {
		snprintf(err->message, sizeof(err->message), "vpn.address: not an address");
		snprintf(err->object, sizeof(err->object), "vpn.address");
		return -EINVAL;
	}
	f->last_rev = v->revision;
	return 0;
}

static int fake_observe(void *priv, Netfn__SyncRequest *req)
{
	(void)priv;
	req->n_peers = 1;
	req->peers = fake_peers;
	return 0;
}

static int fake_teardown(void *priv)
{
	((struct fake *)priv)->teardowns++;
	return 0;
}

static void fake_close(void *priv)
{
	((struct fake *)priv)->closes++;
}

static const struct reconcile_fn fake_vpn = {
    .name = "vpn",
    .open = fake_open,
    .apply = fake_apply,
    .observe = fake_observe,
    .teardown = fake_teardown,
    .close = fake_close,
};

static const struct reconcile_fn *const table[] = {&fake_vpn};

/* Builds a config in caller storage: node vm1, network prod, one vpn section. */
static void config(Netfn__NodeConfig *cfg, Netfn__VpnSection *vpn, uint64_t rev,
                   const char *address)
{
	netfn__node_config__init(cfg);
	netfn__vpn_section__init(vpn);
	cfg->name = "vm1";
	cfg->network = "prod";
	cfg->vpn = vpn;
	vpn->revision = rev;
	vpn->address = (char *)address;
}

/* The vpn revision and address of the saved config; 0 when none. */
static uint64_t saved_revision(struct agent_state *st, char *address, size_t len)
{
	Netfn__NodeConfig *cfg;
	uint8_t *buf = NULL;
	size_t blen = 0;
	uint64_t rev = 0;

	if (state_load_config(st, &buf, &blen) < 0)
		return 0;
	cfg = netfn__node_config__unpack(NULL, blen, buf);
	if (cfg && cfg->vpn) {
		rev = cfg->vpn->revision;
		snprintf(address, len, "%s", cfg->vpn->address);
	}
	if (cfg)
		netfn__node_config__free_unpacked(cfg, NULL);
	free(buf);
	return rev;
}

static void test_apply(struct agent_state *st)
{
	struct reconcile_env env = {.wg_ifname = "wgtest", .wg_private_key = NULL};
	Netfn__SyncRequest req = NETFN__SYNC_REQUEST__INIT;
	Netfn__NodeConfig cfg;
	Netfn__VpnSection vpn;
	struct reconcile *rc = NULL;
	char addr[64] = "";

	CHECK(reconcile_open_fns(table, 1, &env, st, &rc) == 0);
	if (!rc)
		return;
	CHECK(fake.opens == 1);

	config(&cfg, &vpn, 1, "10.0.0.2/24");
	CHECK(reconcile_apply(rc, &cfg, 0) == 1);
	CHECK(reconcile_applied(rc, "vpn") == 1);
	CHECK(fake.last_rev == 1);
	CHECK(saved_revision(st, addr, sizeof(addr)) == 1);
	CHECK(strcmp(addr, "10.0.0.2/24") == 0);

	/* The same revision again: nothing to do. */
	CHECK(reconcile_apply(rc, &cfg, 0) == 0);
	CHECK(fake.applies == 1);

	/* A section that fails: the function stays at 1, the saved config too. */
	config(&cfg, &vpn, 3, "bad");
	CHECK(reconcile_apply(rc, &cfg, 0) == 1);
	CHECK(reconcile_applied(rc, "vpn") == 1);
	CHECK(reconcile_failed(rc, "vpn") == 3);
	CHECK(saved_revision(st, addr, sizeof(addr)) == 1);
	CHECK(reconcile_status(rc, &req) == 0);
	CHECK(req.n_sections == 1);
	if (req.n_sections == 1) {
		CHECK(strcmp(req.sections[0]->function, "vpn") == 0);
		CHECK(req.sections[0]->applied_revision == 1);
		CHECK(req.sections[0]->failed_revision == 3);
		CHECK(strstr(req.sections[0]->error, "not an address") != NULL);
		CHECK(strcmp(req.sections[0]->error_object, "vpn.address") == 0);
	}
	CHECK(req.n_peers == 1);

	/* Sent again at once, the failed revision waits for its retry delay... */
	CHECK(reconcile_apply(rc, &cfg, 0) == 0);
	CHECK(fake.applies == 2);
	/* ...and is tried again once it passed. */
	usleep(1100 * 1000);
	CHECK(reconcile_apply(rc, &cfg, 0) == 1);
	CHECK(fake.applies == 3);
	CHECK(reconcile_apply(rc, &cfg, 0) == 0);

	/* A config without the section changes nothing. */
	cfg.vpn = NULL;
	CHECK(reconcile_apply(rc, &cfg, 0) == 0);

	/* A newer good revision clears the error. */
	config(&cfg, &vpn, 4, "10.0.0.9/24");
	CHECK(reconcile_apply(rc, &cfg, 0) == 1);
	CHECK(reconcile_applied(rc, "vpn") == 4);
	CHECK(reconcile_failed(rc, "vpn") == 0);
	CHECK(saved_revision(st, addr, sizeof(addr)) == 4);
	CHECK(strcmp(addr, "10.0.0.9/24") == 0);
	CHECK(reconcile_status(rc, &req) == 0);
	CHECK(req.sections[0]->failed_revision == 0);
	CHECK(req.sections[0]->error[0] == '\0');

	/* An older revision (say, from a restored controller) is ignored. */
	config(&cfg, &vpn, 2, "10.0.0.2/24");
	CHECK(reconcile_apply(rc, &cfg, 0) == 0);
	CHECK(reconcile_applied(rc, "vpn") == 4);

	/*
	 * A transient failure: the controller will not resend the revision,
	 * so the driver retries it from the config it kept.
	 */
	CHECK(reconcile_retry(rc) == 0);
	transient_failures = 1;
	config(&cfg, &vpn, 5, "10.0.0.5/24");
	CHECK(reconcile_apply(rc, &cfg, 0) == 1);
	CHECK(reconcile_failed(rc, "vpn") == 5);
	CHECK(reconcile_status(rc, &req) == 0);
	CHECK(strcmp(req.sections[0]->error_object, "vpn") == 0); /* defaulted */
	config(&cfg, &vpn, 6, "scribbled over by the caller");
	CHECK(reconcile_retry(rc) == 0); /* not yet due */
	usleep(1100 * 1000);
	CHECK(reconcile_retry(rc) == 1);
	CHECK(reconcile_applied(rc, "vpn") == 5);
	CHECK(reconcile_failed(rc, "vpn") == 0);
	CHECK(saved_revision(st, addr, sizeof(addr)) == 5);
	CHECK(strcmp(addr, "10.0.0.5/24") == 0);
	CHECK(reconcile_retry(rc) == 0);

	CHECK(reconcile_teardown(rc) == 0);
	CHECK(fake.teardowns == 1);
	reconcile_close(rc);
	CHECK(fake.closes == 1);
}

static void test_restore(struct agent_state *st)
{
	struct reconcile_env env = {.wg_ifname = "wgtest", .wg_private_key = NULL};
	static const uint8_t junk[] = {0xff, 0xff, 0xff};
	Netfn__NodeConfig cfg;
	Netfn__VpnSection vpn;
	struct reconcile *rc = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	uint8_t packed[256];
	size_t plen;
	char addr[64] = "";

	CHECK(state_load_config(st, &buf, &len) == 0);
	CHECK(reconcile_open_fns(table, 1, &env, st, &rc) == 0);
	if (!rc || !buf)
		goto cleanup;
	fake.applies = 0;
	CHECK(reconcile_restore(rc, buf, len) == 0);
	CHECK(fake.applies == 1 && fake.last_rev == 5);
	CHECK(reconcile_applied(rc, "vpn") == 5);
	CHECK(reconcile_restore(rc, junk, sizeof(junk)) == -EBADMSG);
	reconcile_close(rc);
	rc = NULL;

	/* A saved section that no longer applies is reported, and the file is kept. */
	config(&cfg, &vpn, 7, "bad");
	plen = netfn__node_config__pack(&cfg, packed);
	CHECK(state_save_config(st, packed, plen) == 0);
	CHECK(reconcile_open_fns(table, 1, &env, st, &rc) == 0);
	if (!rc)
		goto cleanup;
	CHECK(reconcile_restore(rc, packed, plen) == 1);
	CHECK(reconcile_applied(rc, "vpn") == 0);
	CHECK(reconcile_failed(rc, "vpn") == 7);
	CHECK(saved_revision(st, addr, sizeof(addr)) == 7);
cleanup:
	reconcile_close(rc);
	free(buf);
}

static void test_table(void)
{
	static const struct reconcile_fn nofield = {
	    .name = "nosuch",
	    .open = fake_open,
	    .apply = fake_apply,
	    .close = fake_close,
	};
	static const struct reconcile_fn *const bad[] = {&fake_vpn, &nofield};
	struct reconcile_env env = {0};
	struct reconcile *rc = NULL;
	int closes = fake.closes;

	/* A row whose section is not in NodeConfig is a programming error, caught at open. */
	CHECK(reconcile_open_fns(bad, 2, &env, NULL, &rc) == -EINVAL);
	CHECK(rc == NULL);
	CHECK(fake.closes == closes + 1); /* the row opened before is closed again */
	reconcile_close(NULL);
}

int main(void)
{
	struct agent_state *st = NULL;
	char root[] = "/tmp/agent_reconcile_test.XXXXXX";
	char dir[128], err[512], p[256];

	CHECK(nf_crypto_init() == 0);
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/state", root);
	CHECK(state_open(dir, &st, err, sizeof(err)) == 0);
	if (st) {
		test_apply(st);
		test_restore(st);
		state_close(st);
	}
	test_table();

	static const char *const names[] = {"identity.key", "wg.key", "config.pb", "lock"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
	rmdir(root);
	return check_result();
}
