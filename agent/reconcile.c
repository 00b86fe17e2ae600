// SPDX-License-Identifier: Apache-2.0
/*
 * The reconcile driver (see reconcile.h). It finds each function's section
 * through protobuf-c's descriptors (the NodeConfig field named like the
 * function, and that message's "revision" field), which is what lets the
 * loop stay the same as functions are added. It never talks to the kernel
 * itself: each function's apply does, as one step.
 */
#include "agent/reconcile.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/state.h"
#include "netfns/common/log.h"
#include "proto/rpc.h"

/*
 * A revision that failed is tried again when the controller sends it again,
 * but no sooner than this delay, doubled per consecutive failure: a section
 * that can never apply must not turn every sync into an apply attempt.
 */
#define RETRY_FIRST_MS 1000
#define RETRY_MAX_MS   60000

/* One function's row at run time. */
struct fn_slot {
	const struct reconcile_fn *fn;
	void *priv;
	size_t field_offset;    /* of the section pointer in NodeConfig */
	size_t revision_offset; /* of the uint64 revision in the section */
	uint64_t applied;
	uint64_t failed;
	uint64_t stale_warned; /* last older-than-applied revision we warned about */
	int64_t retry_at_ms;
	int retry_ms;
	struct reconcile_error error;
	Netfn__SectionStatus status;
};

struct reconcile {
	struct agent_state *st;
	size_t n;
	struct fn_slot slots[RECONCILE_MAX_FNS];
	Netfn__SectionStatus *status_ptrs[RECONCILE_MAX_FNS];
	/* Per function, the last section applied: what is on disk. */
	Netfn__NodeConfig *saved;
	/* The last config received, kept while one of its sections failed. */
	Netfn__NodeConfig *pending;
	/* CLOCK_MONOTONIC ns when the config being applied arrived; 0: unknown. */
	uint64_t received_ns;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ProtobufCMessage **section_slot(const struct fn_slot *s, Netfn__NodeConfig *cfg)
{
	return (ProtobufCMessage **)((char *)cfg + s->field_offset);
}

static const ProtobufCMessage *section_of(const struct fn_slot *s, const Netfn__NodeConfig *cfg)
{
	if (!cfg)
		return NULL;
	return *(ProtobufCMessage *const *)((const char *)cfg + s->field_offset);
}

static uint64_t revision_of(const struct fn_slot *s, const ProtobufCMessage *section)
{
	return *(const uint64_t *)((const char *)section + s->revision_offset);
}

/* Finds a function's section field and its revision; -EINVAL for a table that does not fit. */
static int bind_fields(struct fn_slot *s)
{
	const ProtobufCFieldDescriptor *f;
	const ProtobufCFieldDescriptor *r;

	f = protobuf_c_message_descriptor_get_field_by_name(&netfn__node_config__descriptor,
	                                                    s->fn->name);
	if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED) {
		nf_err("reconcile: NodeConfig has no section field \"%s\"", s->fn->name);
		return -EINVAL;
	}
	r = protobuf_c_message_descriptor_get_field_by_name(f->descriptor, "revision");
	if (!r || r->type != PROTOBUF_C_TYPE_UINT64 || r->label == PROTOBUF_C_LABEL_REPEATED) {
		nf_err("reconcile: section \"%s\" has no uint64 revision", s->fn->name);
		return -EINVAL;
	}
	s->field_offset = f->offset;
	s->revision_offset = r->offset;
	return 0;
}

int reconcile_open_fns(const struct reconcile_fn *const *fns, size_t n,
                       const struct reconcile_env *env, struct agent_state *st,
                       struct reconcile **out)
{
	struct reconcile *rc = NULL;
	int ret = 0;

	if (n > RECONCILE_MAX_FNS)
		return -E2BIG;
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return -ENOMEM;
	rc->st = st;
	for (size_t i = 0; i < n; i++) {
		struct fn_slot *s = &rc->slots[i];

		s->fn = fns[i];
		ret = bind_fields(s);
		if (ret < 0)
			goto cleanup;
		ret = s->fn->open(env, &s->priv);
		if (ret < 0) {
			nf_err("reconcile: cannot open function %s: %s", s->fn->name,
			       strerror(-ret));
			goto cleanup;
		}
		rc->n = i + 1;
	}
	*out = rc;
	rc = NULL;
cleanup:
	reconcile_close(rc);
	return ret;
}

int reconcile_open(const struct reconcile_env *env, struct agent_state *st, struct reconcile **out)
{
	static const struct reconcile_fn *const all[] = {&reconcile_fn_vpn,  &reconcile_fn_firewall,
	                                                 &reconcile_fn_lb,   &reconcile_fn_dns,
	                                                 &reconcile_fn_flow, &reconcile_fn_qos};

	return reconcile_open_fns(all, sizeof(all) / sizeof(all[0]), env, st, out);
}

/* A deep copy of cfg (owned by the caller), or NULL when out of memory. */
static Netfn__NodeConfig *config_dup(const Netfn__NodeConfig *cfg)
{
	Netfn__NodeConfig *copy;
	size_t len = netfn__node_config__get_packed_size(cfg);
	uint8_t *buf = malloc(len ? len : 1);

	if (!buf)
		return NULL;
	netfn__node_config__pack(cfg, buf);
	copy = netfn__node_config__unpack(NULL, len, buf);
	free(buf);
	return copy;
}

static void config_free(Netfn__NodeConfig **cfg)
{
	if (*cfg)
		netfn__node_config__free_unpacked(*cfg, NULL);
	*cfg = NULL;
}

/*
 * Persists, per function, the section just applied (took[i]) or the one saved
 * before, and makes that the new saved config. A failure to write is logged
 * and not fatal: the system is already in the new state, and the next apply
 * writes again.
 */
static void persist(struct reconcile *rc, const Netfn__NodeConfig *cfg, const bool *took)
{
	Netfn__NodeConfig merged = NETFN__NODE_CONFIG__INIT;
	Netfn__NodeConfig *copy = NULL;
	uint8_t *buf = NULL;
	size_t len;
	int ret;

	merged.name = cfg->name;
	merged.network = cfg->network;
	for (size_t i = 0; i < rc->n; i++) {
		const struct fn_slot *s = &rc->slots[i];

		*section_slot(s, &merged) =
		    (ProtobufCMessage *)section_of(s, took[i] ? cfg : rc->saved);
	}
	len = netfn__node_config__get_packed_size(&merged);
	buf = malloc(len ? len : 1);
	if (!buf) {
		nf_err("node %s network %s: cannot save config: out of memory", cfg->name,
		       cfg->network);
		return;
	}
	netfn__node_config__pack(&merged, buf);
	if (rc->st) {
		ret = state_save_config(rc->st, buf, len);
		if (ret < 0)
			nf_err("node %s network %s: cannot save config: %s", cfg->name,
			       cfg->network, strerror(-ret));
	}
	copy = netfn__node_config__unpack(NULL, len, buf);
	free(buf);
	if (!copy) {
		nf_err("node %s network %s: cannot keep config: out of memory", cfg->name,
		       cfg->network);
		return;
	}
	config_free(&rc->saved);
	rc->saved = copy;
}

/* Applies one function's section when it is due; true when it was tried. */
static bool apply_one(struct fn_slot *s, const Netfn__NodeConfig *cfg, uint64_t received_ns,
                      bool *took, int *failed)
{
	const ProtobufCMessage *sec = section_of(s, cfg);
	bool named;
	uint64_t rev;
	int ret;

	if (!sec)
		return false;
	rev = revision_of(s, sec);
	if (rev <= s->applied) {
		if (rev < s->applied && rev != s->stale_warned) {
			nf_warn("node %s network %s: %s revision %" PRIu64
			        " is older than the applied %" PRIu64 "; ignored",
			        cfg->name, cfg->network, s->fn->name, rev, s->applied);
			s->stale_warned = rev;
		}
		return false;
	}
	if (rev == s->failed && now_ms() < s->retry_at_ms)
		return false;

	memset(&s->error, 0, sizeof(s->error));
	ret = s->fn->apply(s->priv, sec, &s->error);
	if (ret == 0) {
		/* Timed from the frame's arrival: decrypt, decode, validate, apply. */
		if (received_ns)
			nf_info("node %s network %s: %s revision %" PRIu64 " applied (was %" PRIu64
			        "), %.1f ms after the config arrived",
			        cfg->name, cfg->network, s->fn->name, rev, s->applied,
			        (double)(nf_monotonic_ns() - received_ns) / 1e6);
		else
			nf_info("node %s network %s: %s revision %" PRIu64 " applied (was %" PRIu64
			        ")",
			        cfg->name, cfg->network, s->fn->name, rev, s->applied);
		s->applied = rev;
		s->failed = 0;
		s->retry_ms = 0;
		*took = true;
		return true;
	}
	if (!s->error.message[0])
		snprintf(s->error.message, sizeof(s->error.message), "%s", strerror(-ret));
	if (!s->error.object[0])
		snprintf(s->error.object, sizeof(s->error.object), "%s", s->fn->name);
	s->retry_ms = (rev == s->failed && s->retry_ms)
	                  ? (s->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : s->retry_ms * 2)
	                  : RETRY_FIRST_MS;
	s->failed = rev;
	s->retry_at_ms = now_ms() + s->retry_ms;
	(*failed)++;
	/* Messages usually start with their object already; do not say it twice. */
	named = strncmp(s->error.message, s->error.object, strlen(s->error.object)) == 0;
	nf_err("node %s network %s: %s revision %" PRIu64
	       " not applied, %s stays at revision %" PRIu64 ": %s%s%s",
	       cfg->name, cfg->network, s->fn->name, rev, s->fn->name, s->applied,
	       named ? "" : s->error.object, named ? "" : ": ", s->error.message);
	return true;
}

static int apply_all(struct reconcile *rc, const Netfn__NodeConfig *cfg, bool save, int *failed)
{
	bool took[RECONCILE_MAX_FNS] = {false};
	bool changed = false;
	int tried = 0;

	*failed = 0;
	for (size_t i = 0; i < rc->n; i++) {
		if (apply_one(&rc->slots[i], cfg, rc->received_ns, &took[i], failed))
			tried++;
		changed |= took[i];
	}
	if (changed && save)
		persist(rc, cfg, took);
	return tried;
}

/* True while some function is not at the revision that last failed for it. */
static bool any_failed(const struct reconcile *rc)
{
	for (size_t i = 0; i < rc->n; i++)
		if (rc->slots[i].failed)
			return true;
	return false;
}

int reconcile_apply(struct reconcile *rc, const Netfn__NodeConfig *cfg, uint64_t received_ns)
{
	int failed;
	int tried;

	rc->received_ns = received_ns;

	tried = apply_all(rc, cfg, true, &failed);
	rc->received_ns = 0;
	if (tried > 0) {
		config_free(&rc->pending);
		if (any_failed(rc)) {
			rc->pending = config_dup(cfg);
			if (!rc->pending)
				nf_warn("node %s network %s: out of memory: failed sections will "
				        "not be retried",
				        cfg->name, cfg->network);
		}
	}
	return tried;
}

int reconcile_retry(struct reconcile *rc)
{
	int failed;
	int tried;

	if (!rc->pending)
		return 0;
	tried = apply_all(rc, rc->pending, true, &failed);
	if (!any_failed(rc))
		config_free(&rc->pending);
	return tried;
}

int reconcile_restore(struct reconcile *rc, const uint8_t *buf, size_t len)
{
	Netfn__NodeConfig *cfg;
	int failed;

	cfg = netfn__node_config__unpack(NULL, len, buf);
	if (!cfg)
		return -EBADMSG;
	/*
	 * What was saved stays the saved config, failed sections included: it
	 * is still the last config that did apply, and the next start needs it.
	 */
	config_free(&rc->saved);
	rc->saved = cfg;
	nf_info("node %s network %s: re-applying the saved config", cfg->name, cfg->network);
	apply_all(rc, cfg, false, &failed);
	config_free(&rc->pending);
	if (failed)
		rc->pending = config_dup(cfg);
	return failed;
}

int reconcile_status(struct reconcile *rc, Netfn__SyncRequest *req)
{
	for (size_t i = 0; i < rc->n; i++) {
		struct fn_slot *s = &rc->slots[i];
		Netfn__SectionStatus *st = &s->status;

		netfn__section_status__init(st);
		st->function = (char *)s->fn->name;
		st->applied_revision = s->applied;
		if (s->failed) {
			st->failed_revision = s->failed;
			st->error = s->error.message;
			st->error_object = s->error.object;
		}
		rc->status_ptrs[i] = st;
	}
	req->n_sections = rc->n;
	req->sections = rc->status_ptrs;
	for (size_t i = 0; i < rc->n; i++) {
		struct fn_slot *s = &rc->slots[i];
		int ret;

		if (!s->fn->observe)
			continue;
		/* Before the first apply there may be nothing to observe yet. */
		ret = s->fn->observe(s->priv, req);
		if (ret < 0)
			nf_debug("%s: observe: %s", s->fn->name, strerror(-ret));
	}
	return 0;
}

static const struct fn_slot *find(const struct reconcile *rc, const char *name)
{
	for (size_t i = 0; i < rc->n; i++)
		if (strcmp(rc->slots[i].fn->name, name) == 0)
			return &rc->slots[i];
	return NULL;
}

uint64_t reconcile_applied(const struct reconcile *rc, const char *name)
{
	const struct fn_slot *s = find(rc, name);

	return s ? s->applied : 0;
}

uint64_t reconcile_failed(const struct reconcile *rc, const char *name)
{
	const struct fn_slot *s = find(rc, name);

	return s ? s->failed : 0;
}

int reconcile_teardown(struct reconcile *rc)
{
	int first = 0;

	for (size_t i = 0; i < rc->n; i++) {
		struct fn_slot *s = &rc->slots[i];
		int ret;

		if (!s->fn->teardown)
			continue;
		ret = s->fn->teardown(s->priv);
		if (ret < 0) {
			nf_err("%s: teardown: %s", s->fn->name, strerror(-ret));
			if (!first)
				first = ret;
		} else {
			nf_info("%s: torn down", s->fn->name);
		}
	}
	return first;
}

void reconcile_close(struct reconcile *rc)
{
	if (!rc)
		return;
	for (size_t i = 0; i < rc->n; i++)
		rc->slots[i].fn->close(rc->slots[i].priv);
	config_free(&rc->saved);
	config_free(&rc->pending);
	free(rc);
}
