/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reconcile driver: hands each section of a NodeConfig to the agent half
 * of its network function and keeps, per function, the revision applied, the
 * revision that failed and why. Functions are rows of a const table
 * (struct reconcile_fn); a function's section is the NodeConfig field named
 * like the function, and every section message has a uint64 "revision", so
 * adding a function (firewall, lb, ...) adds a row and a field, not code in
 * the loop. A section that fails leaves its function at its last good
 * revision and does not hold back the others.
 *
 * The driver also keeps the config to persist: per function, the last section
 * it applied. That merged NodeConfig is written to the state dir after every
 * apply that changed something, and re-applied at the next start.
 */
#ifndef NETFN_AGENT_RECONCILE_H
#define NETFN_AGENT_RECONCILE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/netfn.pb-c.h"

struct agent_state;

#define RECONCILE_MAX_FNS 8

/* What every function's agent half may need to open. */
struct reconcile_env {
	const char *wg_ifname;
	const uint8_t *wg_private_key; /* VPN_KEY_LEN bytes, copied by whoever keeps it */
	/* The controller URLs the session uses: the firewall keeps them reachable. */
	size_t n_controllers;
	const char *const *controllers;
	/* The agent's state directory: functions keep files of their own below it. */
	const char *state_dir;
	/* Open vSwitch's run directory (db.sock, <bridge>.mgmt); NULL: none on this node. */
	const char *ovs_rundir;
};

/* Why a section was not applied: a reason and the object that caused it. */
struct reconcile_error {
	char message[256];
	char object[128];
};

/* One network function's agent half, as the driver calls it. */
struct reconcile_fn {
	/* Reported in SectionStatus.function; also the NodeConfig field of its section. */
	const char *name;
	/* Prepares the function; makes no change to the system. */
	int (*open)(const struct reconcile_env *env, void **priv);
	/*
	 * Validates section (the function's own message type) and brings the
	 * system to it in one step; -errno with err filled when it cannot.
	 */
	int (*apply)(void *priv, const ProtobufCMessage *section, struct reconcile_error *err);
	/*
	 * Adds the function's counters to req; what it points to stays owned by
	 * priv and valid until the next observe or close. May be NULL.
	 */
	int (*observe)(void *priv, Netfn__SyncRequest *req);
	/* Removes what the function put in place, for --cleanup-on-exit. */
	int (*teardown)(void *priv);
	/* Frees priv, leaving the system as it is; accepts NULL. */
	void (*close)(void *priv);
};

/* The vpn function (fn_vpn.c). */
extern const struct reconcile_fn reconcile_fn_vpn;

/* The firewall function (fn_firewall.c). */
extern const struct reconcile_fn reconcile_fn_firewall;

/* The load balancer function (fn_lb.c). */
extern const struct reconcile_fn reconcile_fn_lb;

/* The overlay DNS function (fn_dns.c). */
extern const struct reconcile_fn reconcile_fn_dns;

/* The flow filters function (fn_flow.c). */
extern const struct reconcile_fn reconcile_fn_flow;

/* The traffic classes function (fn_qos.c). */
extern const struct reconcile_fn reconcile_fn_qos;

struct reconcile;

/* Opens the driver with every function the agent knows; st NULL: nothing is persisted. */
int reconcile_open(const struct reconcile_env *env, struct agent_state *st, struct reconcile **out);

/* The same with a chosen table (tests use fake functions). */
int reconcile_open_fns(const struct reconcile_fn *const *fns, size_t n,
                       const struct reconcile_env *env, struct agent_state *st,
                       struct reconcile **out);

/*
 * Re-applies a config saved by an earlier run (packed NodeConfig) without
 * rewriting it; -EBADMSG when it does not decode. Returns the number of
 * sections that failed.
 */
int reconcile_restore(struct reconcile *rc, const uint8_t *buf, size_t len);

/*
 * Applies every section of cfg newer than what its function has applied (a
 * failed revision is retried only after a delay that grows per failure).
 * Returns how many sections it tried, or -errno. received_ns (CLOCK_MONOTONIC,
 * 0 if unknown) is when the config's frame arrived: each apply is logged with
 * the time since then, which is what "received to in the kernel" means.
 */
int reconcile_apply(struct reconcile *rc, const Netfn__NodeConfig *cfg, uint64_t received_ns);

/*
 * Tries again the failed sections of the last config received whose retry
 * delay has passed: the controller does not resend a revision reported as
 * failed, and a failure may have been transient. Returns how many it tried.
 */
int reconcile_retry(struct reconcile *rc);

/*
 * Fills req->sections (one per function) and each function's counters. The
 * memory stays owned by the driver until the next call or reconcile_close.
 */
int reconcile_status(struct reconcile *rc, Netfn__SyncRequest *req);

/* The revision applied for function name; 0 when none or unknown. */
uint64_t reconcile_applied(const struct reconcile *rc, const char *name);

/* The revision of function name that failed last; 0 when none. */
uint64_t reconcile_failed(const struct reconcile *rc, const char *name);

/* Calls every function's teardown; returns the first error. */
int reconcile_teardown(struct reconcile *rc);

/* Closes every function, leaving the system as it is; accepts NULL. */
void reconcile_close(struct reconcile *rc);

#endif
