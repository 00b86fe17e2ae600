// SPDX-License-Identifier: Apache-2.0
/*
 * The scheduler (see sched.h for the rules). One pass over a network loads
 * its nodes (with their liveness, asked once per call), every kind's wants
 * and their stored placements; then drops each placement that no longer
 * stands, for every want first so that the counts of replicas per node are
 * right before any slot is filled; then fills the empty slots, want by want
 * in kind then object id order. Only placements that change are written, each
 * with its audit entry and one log line, so the tick can call this as often
 * as it likes and a quiet network stays quiet.
 */
#include "controller/sched.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/ctl.h"
#include "netfns/common/log.h"

/*
 * Slots of one object the scheduler looks at. Never two replicas on one
 * node, so more slots than nodes stay empty anyway; the bound only keeps a
 * damaged replica count from sizing an allocation.
 */
#define SCHED_MAX_SLOTS 1024

static sched_alive_fn alive_fn;
static void *alive_ctx;

void sched_set_liveness(sched_alive_fn fn, void *ctx)
{
	alive_fn = fn;
	alive_ctx = ctx;
}

/* ---- kinds ---- */

struct want_walk {
	sched_want_cb cb;
	void *ctx;
};

static int lb_want(void *ctx, const struct st_lb *lb)
{
	struct want_walk *ww = ctx;
	struct sched_want w = {.object_id = lb->id};

	snprintf(w.name, sizeof(w.name), "%s", lb->name);
	w.n_selector = lb->n_placement < ST_MAX_LABELS ? lb->n_placement : ST_MAX_LABELS;
	memcpy(w.selector, lb->placement, w.n_selector * sizeof(w.selector[0]));
	w.replicas = lb->replicas ? lb->replicas : 1;
	return ww->cb(ww->ctx, &w);
}

/* Every load balancer of the network: its frontend goes on replicas nodes. */
static int lb_wants(struct store *s, int64_t network_id, sched_want_cb cb, void *ctx)
{
	struct want_walk ww = {cb, ctx};

	return s->ops->lb_list(s, network_id, lb_want, &ww);
}

struct client_walk {
	struct want_walk ww;
	int64_t now;
};

static int client_want(void *ctx, const struct st_client *c)
{
	struct client_walk *cw = ctx;
	struct sched_want w = {.object_id = c->id, .replicas = 1, .need_endpoint = true};

	/* An expired key has nothing to reach: its gateway is released. */
	if (c->expires && c->expires <= cw->now)
		return 0;
	snprintf(w.name, sizeof(w.name), "%s", c->name);
	w.n_selector =
	    c->n_gateway_selector < ST_MAX_LABELS ? c->n_gateway_selector : ST_MAX_LABELS;
	memcpy(w.selector, c->gateway_selector, w.n_selector * sizeof(w.selector[0]));
	return cw->ww.cb(cw->ww.ctx, &w);
}

/*
 * Every external client whose key has not expired: one gateway, a node the
 * client can dial (WireGuard peers with one endpoint per key, so one replica).
 */
static int gateway_wants(struct store *s, int64_t network_id, sched_want_cb cb, void *ctx)
{
	struct client_walk cw = {{cb, ctx}, ctl_now()};

	return s->ops->client_list(s, network_id, client_want, &cw);
}

/*
 * The network's overlay DNS servers: one want, the network itself (its id
 * is the object id), on dns_replicas nodes of any kind.
 */
static int dns_wants(struct store *s, int64_t network_id, sched_want_cb cb, void *ctx)
{
	struct sched_want w = {.object_id = network_id};
	struct st_network net;
	int ret = s->ops->network_get_id(s, network_id, &net);

	if (ret)
		return ret;
	snprintf(w.name, sizeof(w.name), "%s", net.name);
	w.replicas = net.dns_replicas ? net.dns_replicas : 1;
	return cb(ctx, &w);
}

static const struct sched_kind kinds[] = {
    {"lb", lb_wants},
    {"dns", dns_wants},
    {"gateway", gateway_wants},
};

#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

/* ---- one pass over a network ---- */

struct snode {
	int64_t id;
	char name[ST_NAME_MAX];
	size_t n_labels;
	struct st_label labels[ST_MAX_LABELS];
	bool live;
	bool endpoint; /* others can dial it */
	uint32_t load; /* replicas of any kind it hosts in the network */
};

/* One slot of a want: the node it has, and what it lost in this pass. */
struct slot {
	int64_t node_id;            /* 0: empty */
	bool stored;                /* a placement is stored for it */
	char was[ST_NAME_MAX + 16]; /* the node it lost: "node a", "node id 7" */
	char why[128];
};

struct want {
	size_t kind; /* index in kinds */
	struct sched_want w;
	uint32_t n_slots;
	struct slot *slots;
};

struct pass {
	struct store *s;
	struct st_network net;
	size_t n_nodes, cap_nodes;
	struct snode *nodes; /* by id, as node_list gives them */
	size_t n_wants, cap_wants;
	struct want *wants; /* by kind, then object id */
	size_t listing;     /* the kind being listed */
	size_t n_pl, cap_pl;
	struct st_placement *pl; /* the stored placements of those wants */
	bool changed;
	int64_t now;
};

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t c;
	void *p;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	p = realloc(*v, c * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

static int add_node(void *ctx, const struct st_node *n)
{
	struct pass *ps = ctx;
	struct snode *sn;

	if (grow((void **)&ps->nodes, &ps->cap_nodes, ps->n_nodes, sizeof(*ps->nodes)))
		return -ENOMEM;
	sn = &ps->nodes[ps->n_nodes++];
	memset(sn, 0, sizeof(*sn));
	sn->id = n->id;
	snprintf(sn->name, sizeof(sn->name), "%s", n->name);
	sn->n_labels = n->n_labels < ST_MAX_LABELS ? n->n_labels : ST_MAX_LABELS;
	memcpy(sn->labels, n->labels, sn->n_labels * sizeof(sn->labels[0]));
	sn->live = !alive_fn || alive_fn(alive_ctx, n->id);
	sn->endpoint = n->n_endpoints > 0;
	return 0;
}

static int add_want(void *ctx, const struct sched_want *w)
{
	struct pass *ps = ctx;
	struct want *wt;

	if (grow((void **)&ps->wants, &ps->cap_wants, ps->n_wants, sizeof(*ps->wants)))
		return -ENOMEM;
	wt = &ps->wants[ps->n_wants];
	memset(wt, 0, sizeof(*wt));
	wt->kind = ps->listing;
	wt->w = *w;
	wt->n_slots = w->replicas < SCHED_MAX_SLOTS ? w->replicas : SCHED_MAX_SLOTS;
	wt->slots = calloc(wt->n_slots ? wt->n_slots : 1, sizeof(*wt->slots));
	if (!wt->slots)
		return -ENOMEM;
	ps->n_wants++;
	return 0;
}

static int add_placement(void *ctx, const struct st_placement *p)
{
	struct pass *ps = ctx;

	if (grow((void **)&ps->pl, &ps->cap_pl, ps->n_pl, sizeof(*ps->pl)))
		return -ENOMEM;
	ps->pl[ps->n_pl++] = *p;
	return 0;
}

static int cmp_want(const void *a, const void *b)
{
	const struct want *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return (x->w.object_id > y->w.object_id) - (x->w.object_id < y->w.object_id);
}

static struct want *find_want(struct pass *ps, const char *kind, int64_t object_id)
{
	struct want key = {.w.object_id = object_id};

	while (key.kind < N_KINDS && strcmp(kinds[key.kind].kind, kind) != 0)
		key.kind++;
	if (key.kind == N_KINDS)
		return NULL;
	return bsearch(&key, ps->wants, ps->n_wants, sizeof(key), cmp_want);
}

static struct snode *find_node(struct pass *ps, int64_t id)
{
	for (size_t lo = 0, hi = ps->n_nodes; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (ps->nodes[mid].id == id)
			return &ps->nodes[mid];
		if (ps->nodes[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Whether n may host w, liveness aside: its selector, and an endpoint when w needs one. */
static bool matches(const struct snode *n, const struct sched_want *w)
{
	if (w->need_endpoint && !n->endpoint)
		return false;
	for (size_t i = 0; i < w->n_selector; i++) {
		bool found = false;

		for (size_t k = 0; k < n->n_labels && !found; k++)
			found = strcmp(n->labels[k].key, w->selector[i].key) == 0 &&
			        strcmp(n->labels[k].value, w->selector[i].value) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* True when another slot of wt than slot has node_id. */
static bool hosts_other(const struct want *wt, uint32_t slot, int64_t node_id)
{
	for (uint32_t i = 0; i < wt->n_slots; i++)
		if (i != slot && wt->slots[i].node_id == node_id)
			return true;
	return false;
}

/* Writes the audit entry and the log line of one change to wt's slot. */
static int record(struct pass *ps, const struct want *wt, const char *detail)
{
	struct st_audit a = {.time = ps->now};

	snprintf(a.actor, sizeof(a.actor), "scheduler");
	snprintf(a.method, sizeof(a.method), "sched.place");
	snprintf(a.object, sizeof(a.object), "%s %s", kinds[wt->kind].kind, wt->w.name);
	snprintf(a.detail, sizeof(a.detail), "%s", detail);
	nf_info("network %s: %s: %s", ps->net.name, a.object, a.detail);
	ps->changed = true;
	return ps->s->ops->audit_add(ps->s, &a);
}

/* Loads the network's nodes, every kind's wants and their placements. */
static int load(struct pass *ps, int64_t network_id)
{
	struct store *s = ps->s;
	size_t keep = 0;
	int ret;

	ret = s->ops->network_get_id(s, network_id, &ps->net);
	if (!ret)
		ret = s->ops->node_list(s, network_id, add_node, ps);
	for (ps->listing = 0; ps->listing < N_KINDS && !ret; ps->listing++)
		ret = kinds[ps->listing].list(s, network_id, add_want, ps);
	if (ret || !ps->n_wants)
		return ret; /* nothing wants placing: no placement of this network to look at */
	qsort(ps->wants, ps->n_wants, sizeof(*ps->wants), cmp_want);
	for (size_t k = 0; k < N_KINDS && !ret; k++) {
		size_t from = ps->n_pl;

		ret = s->ops->placement_list(s, kinds[k].kind, 0, add_placement, ps);
		/* Only the placements of this network's objects. */
		for (size_t i = from; i < ps->n_pl && !ret; i++)
			if (find_want(ps, kinds[k].kind, ps->pl[i].object_id))
				ps->pl[keep++] = ps->pl[i];
		ps->n_pl = keep;
	}
	return ret;
}

/* Says in sl (was, why) why node_id may not keep slot of wt; why is "" when it may. */
static int check_slot(struct pass *ps, const struct want *wt, uint32_t slot, int64_t node_id,
                      struct slot *sl)
{
	const struct snode *n = find_node(ps, node_id);
	struct st_node other;
	int ret;

	sl->why[0] = '\0';
	if (!n) {
		ret = ps->s->ops->node_get_id(ps->s, node_id, &other);
		if (ret == -ENOENT) {
			snprintf(sl->was, sizeof(sl->was), "node id %" PRId64, node_id);
			snprintf(sl->why, sizeof(sl->why), "node id %" PRId64 " deleted", node_id);
			return 0;
		}
		if (ret)
			return ret;
		snprintf(sl->was, sizeof(sl->was), "node %s", other.name);
		snprintf(sl->why, sizeof(sl->why), "node %.63s is not in this network", other.name);
		return 0;
	}
	snprintf(sl->was, sizeof(sl->was), "node %s", n->name);
	if (wt->w.need_endpoint && !n->endpoint)
		snprintf(sl->why, sizeof(sl->why), "node %.63s has no endpoint others can reach",
		         n->name);
	else if (!matches(n, &wt->w))
		snprintf(sl->why, sizeof(sl->why),
		         "node %.63s no longer matches the placement selector", n->name);
	else if (!n->live)
		snprintf(sl->why, sizeof(sl->why), "node %.63s missed %d heartbeats", n->name,
		         CTL_DEAD_BEATS);
	else if (hosts_other(wt, slot, node_id))
		snprintf(sl->why, sizeof(sl->why), "node %.63s hosts another slot of it", n->name);
	return 0;
}

/* Drops every stored placement that no longer stands; counts the ones that do. */
static int drop(struct pass *ps)
{
	char detail[256];
	int ret = 0;

	for (size_t i = 0; i < ps->n_pl && !ret; i++) {
		const struct st_placement *p = &ps->pl[i];
		struct want *wt = find_want(ps, p->kind, p->object_id);
		struct slot *sl;

		if (p->slot >= wt->n_slots) {
			const struct snode *n = find_node(ps, p->node_id);

			ret = ps->s->ops->placement_delete(ps->s, p->kind, p->object_id, p->slot);
			if (n)
				snprintf(detail, sizeof(detail),
				         "slot %u: node %s released (replicas %u)", p->slot,
				         n->name, wt->w.replicas);
			else
				snprintf(detail, sizeof(detail),
				         "slot %u: node id %" PRId64 " released (replicas %u)",
				         p->slot, p->node_id, wt->w.replicas);
			if (!ret)
				ret = record(ps, wt, detail);
			continue;
		}
		sl = &wt->slots[p->slot];
		sl->stored = true;
		/* Set first, so a second slot on the same node sees the first. */
		sl->node_id = p->node_id;
		ret = check_slot(ps, wt, p->slot, p->node_id, sl);
		if (!ret && sl->why[0])
			sl->node_id = 0;
		else if (!ret)
			find_node(ps, p->node_id)->load++;
	}
	return ret;
}

/* The eligible live node for slot of wt hosting the fewest replicas; NULL if none. */
static struct snode *pick(struct pass *ps, const struct want *wt, uint32_t slot, size_t *n_ok)
{
	struct snode *best = NULL;

	*n_ok = 0;
	for (size_t i = 0; i < ps->n_nodes; i++) {
		struct snode *n = &ps->nodes[i];

		if (!n->live || !matches(n, &wt->w) || hosts_other(wt, slot, n->id))
			continue;
		(*n_ok)++;
		/* Nodes are in id order: strictly fewer keeps ties on the lowest id. */
		if (!best || n->load < best->load)
			best = n;
	}
	return best;
}

/* Fills wt's empty slots, or clears the stored ones that could not be filled. */
static int fill(struct pass *ps, struct want *wt)
{
	const char *kind = kinds[wt->kind].kind;
	char detail[320], was[200];
	int ret = 0;

	for (uint32_t i = 0; i < wt->n_slots && !ret; i++) {
		struct slot *sl = &wt->slots[i];
		struct st_placement p = {.object_id = wt->w.object_id, .slot = i, .since = ps->now};
		struct snode *n;
		size_t n_ok;

		if (sl->node_id)
			continue;
		if (sl->why[0])
			snprintf(was, sizeof(was), "was %.70s: %.120s", sl->was, sl->why);
		else
			snprintf(was, sizeof(was), "was unplaced");
		n = pick(ps, wt, i, &n_ok);
		if (!n) {
			/* Nothing to write for a slot that was empty already. */
			if (!sl->stored)
				continue;
			ret = ps->s->ops->placement_delete(ps->s, kind, wt->w.object_id, i);
			snprintf(detail, sizeof(detail), "slot %u: no eligible live node (%s)", i,
			         was);
			if (!ret)
				ret = record(ps, wt, detail);
			sl->stored = false;
			continue;
		}
		snprintf(p.kind, sizeof(p.kind), "%s", kind);
		p.node_id = n->id;
		if (sl->why[0])
			snprintf(p.reason, sizeof(p.reason), "moved: %.120s", sl->why);
		else
			snprintf(p.reason, sizeof(p.reason),
			         "fewest replicas of %zu eligible live nodes", n_ok);
		ret = ps->s->ops->placement_put(ps->s, &p);
		snprintf(detail, sizeof(detail), "slot %u: node %s (%s)", i, n->name, was);
		if (!ret)
			ret = record(ps, wt, detail);
		sl->node_id = n->id;
		sl->stored = true;
		n->load++;
	}
	return ret;
}

int sched_network(struct store *s, int64_t network_id, bool *changed)
{
	struct pass ps = {.s = s, .now = ctl_now()};
	int ret;

	if (changed)
		*changed = false;
	ret = load(&ps, network_id);
	if (!ret)
		ret = drop(&ps);
	for (size_t i = 0; i < ps.n_wants && !ret; i++)
		ret = fill(&ps, &ps.wants[i]);
	if (!ret && changed)
		*changed = ps.changed;
	for (size_t i = 0; i < ps.n_wants; i++)
		free(ps.wants[i].slots);
	free(ps.wants);
	free(ps.nodes);
	free(ps.pl);
	return ret;
}
