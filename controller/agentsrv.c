// SPDX-License-Identifier: Apache-2.0
/*
 * The agent endpoint. Every frame is sealed: the sender's key picks the
 * node, the box proves the sender holds that key, and a counter above the
 * node's last accepted one (kept in the store, so a controller restart does
 * not reopen old messages) stops replays. Replies are sealed back and echo
 * the request's counter, so an agent accepts only the answer to what it asked.
 * Unknown keys may only enroll, which a join token authorises.
 *
 * Sync is a long-poll: answered at once when, for any network function, the
 * node's desired revision is newer than what the agent applied of it (and is
 * not the revision that just failed), otherwise parked until a change wakes
 * it or the heartbeat passes. The reply carries every section; the agent
 * applies those newer than what it has.
 *
 * When each node's last authenticated enroll or sync arrived is kept in
 * memory (monotonic clock): that is the scheduler's liveness. Memory, not
 * the store: writing it would make every heartbeat a disk write, and a
 * restarted controller gives every agent the time to call again anyway.
 */
#include "controller/agentsrv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/compile.h"
#include "controller/ipam.h"
#include "controller/server.h"
#include "controller/validate.h"
#include "netfns/common/log.h"
#include "proto/conv_lb.h"
#include "proto/rpc.h"

#define AGENT_WORKERS    16
#define MAX_PEER_STATS   65536
#define MAX_FW_COUNTERS  65536
#define MAX_LB_REPORTS   65536
#define MAX_REPORTED_FNS 8 /* functions an agent reports; more than netfn has */

/* What an agent reported applied, and failed, per function. */
struct reported {
	size_t n;
	struct {
		char function[ST_FUNC_MAX];
		uint64_t applied, failed;
	} v[MAX_REPORTED_FNS];
};

/* A parked sync. */
struct parked {
	struct srv_work *w;
	int64_t node_id;
	struct nf_channel ch;
	uint64_t echo, id;
	struct reported rep;
	struct parked *next;
};

/*
 * The last contact, peer statistics, firewall counters, lb reports, qos
 * counters and flow counters of one node.
 */
struct stats {
	int64_t node_id;
	int64_t seen_ms; /* when its last enroll or sync arrived; 0: none yet */
	size_t n;
	struct agentsrv_peer *peers;
	size_t n_counters;
	struct fw_counter *counters; /* sorted by rule id */
	size_t n_lb;
	struct lb_report *lb;
	size_t n_qos;
	struct qos_counter *qos;
	size_t n_flow;
	struct flow_counter *flow; /* as reported */
	int64_t flow_at;           /* when they arrived (unix seconds) */
	struct stats *next;
};

struct agentsrv {
	struct ctl *ctl;
	struct srv *srv;
	struct parked *parked;
	struct stats *stats;
	uint64_t counter;
	int64_t started_ms;
};

/* A request being handled: what the reply needs. */
struct req {
	struct agentsrv *a;
	struct srv_work *w;
	struct nf_channel ch;
	uint64_t counter;
	uint64_t id;
	struct nf_status st;
	int64_t arrived_ms;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An unsealed error, for frames we cannot open (the agent will not trust it). */
static void reply_plain(struct srv_work *w, int code, const char *field, const char *msg)
{
	struct nf_status st;
	uint8_t *out = NULL;
	size_t len = 0;

	nf_status_set(&st, code, field, "%s", msg);
	if (nf_rpc_encode_response(0, &st, NULL, &out, &len))
		out = NULL;
	srv_reply(w, out ? out : calloc(1, 1), out ? len : 0);
}

/* Seals a Response (status st, body when OK) on ch, echoing the request's counter. */
static void reply_sealed(struct agentsrv *a, struct srv_work *w, const struct nf_channel *ch,
                         uint64_t echo, uint64_t id, const struct nf_status *st,
                         const ProtobufCMessage *body)
{
	uint8_t *resp = NULL, *frame = NULL;
	size_t rlen = 0, flen = 0;

	if (nf_rpc_encode_response(id, st, body, &resp, &rlen) ||
	    nf_seal(ch, nf_counter_next(&a->counter), echo, resp, rlen, &frame, &flen)) {
		free(resp);
		reply_plain(w, NETFN__STATUS__INTERNAL, NULL, "cannot seal the reply");
		return;
	}
	free(resp);
	srv_reply(w, frame, flen);
}

static int cmp_counter(const void *a, const void *b)
{
	const struct fw_counter *x = a, *y = b;

	return (x->rule_id > y->rule_id) - (x->rule_id < y->rule_id);
}

/* Keeps the per-rule counters of the node's firewall section status, if it sent one. */
static void set_counters(struct stats *s, const Netfn__SyncRequest *in)
{
	const Netfn__SectionStatus *fw = NULL;
	size_t n;

	free(s->counters);
	s->counters = NULL;
	s->n_counters = 0;
	for (size_t i = 0; i < in->n_sections && !fw; i++)
		if (strcmp(in->sections[i]->function, "firewall") == 0)
			fw = in->sections[i];
	if (!fw || !fw->n_counters)
		return;
	n = fw->n_counters > MAX_FW_COUNTERS ? MAX_FW_COUNTERS : fw->n_counters;
	s->counters = calloc(n, sizeof(*s->counters));
	if (!s->counters)
		return;
	for (size_t i = 0; i < n; i++) {
		s->counters[i].rule_id = fw->counters[i]->rule_id;
		s->counters[i].packets = fw->counters[i]->packets;
		s->counters[i].bytes = fw->counters[i]->bytes;
	}
	qsort(s->counters, n, sizeof(*s->counters), cmp_counter);
	s->n_counters = n;
}

/* Keeps the per-backend reports of the node's lb section status, if it sent one. */
static void set_lb_reports(struct stats *s, const Netfn__SyncRequest *in)
{
	free(s->lb);
	s->lb = NULL;
	s->n_lb = 0;
	for (size_t i = 0; i < in->n_sections; i++) {
		if (strcmp(in->sections[i]->function, "lb") != 0)
			continue;
		if (conv_lb_reports_from_pb(in->sections[i], &s->lb, &s->n_lb))
			return;
		if (s->n_lb > MAX_LB_REPORTS)
			s->n_lb = MAX_LB_REPORTS;
		return;
	}
}

/* Keeps the per-class counters of the node's qos section status, if it sent one. */
static void set_qos_counters(struct stats *s, const Netfn__SyncRequest *in)
{
	const Netfn__SectionStatus *sec = NULL;
	size_t n;

	free(s->qos);
	s->qos = NULL;
	s->n_qos = 0;
	for (size_t i = 0; i < in->n_sections && !sec; i++)
		if (strcmp(in->sections[i]->function, "qos") == 0)
			sec = in->sections[i];
	if (!sec || !sec->n_classes)
		return;
	/* A node has at most QOS_MAX_CLASSES of ours; more is not worth keeping. */
	n = sec->n_classes > QOS_MAX_CLASSES ? QOS_MAX_CLASSES : sec->n_classes;
	s->qos = calloc(n, sizeof(*s->qos));
	if (!s->qos)
		return;
	for (size_t i = 0; i < n; i++) {
		const Netfn__QosClassCounter *c = sec->classes[i];

		printable(c->name, s->qos[i].name, sizeof(s->qos[i].name));
		s->qos[i].packets = c->packets;
		s->qos[i].bytes = c->bytes;
		s->qos[i].drops = c->drops;
		s->qos[i].rate_bps = c->rate_bps;
	}
	s->n_qos = n;
}

/*
 * Keeps the per-filter counters of the node's flow section status, if it
 * sent one, with when they arrived. The agent's own "node" and "at" are not
 * read: the controller fills both.
 */
static void set_flow_counters(struct stats *s, const Netfn__SyncRequest *in)
{
	const Netfn__SectionStatus *sec = NULL;
	size_t n;

	free(s->flow);
	s->flow = NULL;
	s->n_flow = 0;
	for (size_t i = 0; i < in->n_sections && !sec; i++)
		if (strcmp(in->sections[i]->function, "flow") == 0)
			sec = in->sections[i];
	if (!sec || !sec->n_flows)
		return;
	/* A node has at most FLOW_MAX_FILTERS of ours and its bridge's total. */
	n = sec->n_flows > FLOW_MAX_FILTERS + 1 ? FLOW_MAX_FILTERS + 1 : sec->n_flows;
	s->flow = calloc(n, sizeof(*s->flow));
	if (!s->flow)
		return;
	for (size_t i = 0; i < n; i++) {
		const Netfn__FlowCounter *c = sec->flows[i];

		/* No filter has an id past FLOW_ID_MAX: such a report names none. */
		if (c->id > FLOW_ID_MAX)
			continue;
		s->flow[s->n_flow].id = c->id;
		s->flow[s->n_flow].packets = c->packets;
		s->flow[s->n_flow].bytes = c->bytes;
		s->flow[s->n_flow].pps = c->packets_per_s;
		s->flow[s->n_flow].bps = c->bits_per_s;
		s->n_flow++;
	}
	s->flow_at = ctl_now();
}

/* node_id's entry, made when missing; NULL without memory. */
static struct stats *stats_of(struct agentsrv *a, int64_t node_id)
{
	struct stats *s;

	for (s = a->stats; s && s->node_id != node_id; s = s->next)
		;
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return NULL;
		s->node_id = node_id;
		s->next = a->stats;
		a->stats = s;
	}
	return s;
}

/* Records that a request of node_id arrived at arrived_ms. */
static void set_seen(struct agentsrv *a, int64_t node_id, int64_t arrived_ms)
{
	struct stats *s = stats_of(a, node_id);

	if (s && arrived_ms > s->seen_ms)
		s->seen_ms = arrived_ms;
}

static void set_stats(struct agentsrv *a, int64_t node_id, const Netfn__SyncRequest *req)
{
	Netfn__PeerStat **in = req->peers;
	size_t n = req->n_peers;
	struct stats *s = stats_of(a, node_id);

	if (!s)
		return;
	set_counters(s, req);
	set_lb_reports(s, req);
	set_qos_counters(s, req);
	set_flow_counters(s, req);
	free(s->peers);
	s->n = 0;
	n = n > MAX_PEER_STATS ? MAX_PEER_STATS : n;
	s->peers = calloc(n ? n : 1, sizeof(*s->peers));
	if (!s->peers)
		return;
	for (size_t i = 0; i < n; i++) {
		struct agentsrv_peer *p = &s->peers[s->n];

		if (in[i]->public_key.len != VPN_KEY_LEN)
			continue;
		memcpy(p->stat.public_key, in[i]->public_key.data, VPN_KEY_LEN);
		printable(in[i]->name, p->name, sizeof(p->name));
		printable(in[i]->endpoint, p->stat.endpoint, sizeof(p->stat.endpoint));
		p->stat.last_handshake = in[i]->last_handshake;
		p->stat.rx_bytes = in[i]->rx_bytes;
		p->stat.tx_bytes = in[i]->tx_bytes;
		s->n++;
	}
}

static void drop_stats(struct agentsrv *a, int64_t node_id)
{
	for (struct stats **pp = &a->stats; *pp; pp = &(*pp)->next) {
		if ((*pp)->node_id == node_id) {
			struct stats *s = *pp;

			*pp = s->next;
			free(s->peers);
			free(s->counters);
			free(s->lb);
			free(s->qos);
			free(s->flow);
			free(s);
			return;
		}
	}
}

int agentsrv_peer_stats(struct agentsrv *a, int64_t node_id, struct agentsrv_peer **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	for (struct stats *s = a ? a->stats : NULL; s; s = s->next) {
		if (s->node_id != node_id || !s->n)
			continue;
		*out = calloc(s->n, sizeof(**out));
		if (!*out)
			return -ENOMEM;
		memcpy(*out, s->peers, s->n * sizeof(**out));
		*n = s->n;
		return 0;
	}
	return 0;
}

void agentsrv_fw_counters(struct agentsrv *a, const uint64_t *ids, size_t n, struct fw_counter *out)
{
	for (size_t i = 0; i < n; i++) {
		out[i].rule_id = ids[i];
		out[i].packets = out[i].bytes = 0;
	}
	for (struct stats *s = a ? a->stats : NULL; s; s = s->next) {
		for (size_t i = 0; i < n && s->n_counters; i++) {
			struct fw_counter key = {.rule_id = ids[i]};
			const struct fw_counter *c =
			    bsearch(&key, s->counters, s->n_counters, sizeof(key), cmp_counter);

			if (c) {
				out[i].packets += c->packets;
				out[i].bytes += c->bytes;
			}
		}
	}
}

static int cmp_lb_report(const void *a, const void *b)
{
	const struct agentsrv_lb_report *x = a, *y = b;
	uint32_t xa = ntohl(x->r.addr.s_addr), ya = ntohl(y->r.addr.s_addr);

	if (x->host_node_id != y->host_node_id)
		return x->host_node_id < y->host_node_id ? -1 : 1;
	if (xa != ya)
		return xa < ya ? -1 : 1;
	return (x->r.port > y->r.port) - (x->r.port < y->r.port);
}

int agentsrv_lb_reports(struct agentsrv *a, uint64_t lb_id, struct agentsrv_lb_report **out,
                        size_t *n)
{
	size_t count = 0, k = 0;

	*out = NULL;
	*n = 0;
	for (struct stats *s = a ? a->stats : NULL; s; s = s->next)
		for (size_t i = 0; i < s->n_lb; i++)
			count += s->lb[i].lb_id == lb_id;
	if (!count)
		return 0;
	*out = calloc(count, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (struct stats *s = a->stats; s; s = s->next) {
		for (size_t i = 0; i < s->n_lb; i++) {
			if (s->lb[i].lb_id != lb_id)
				continue;
			(*out)[k].host_node_id = s->node_id;
			(*out)[k++].r = s->lb[i];
		}
	}
	/* By host, then backend: the order does not depend on who called last. */
	qsort(*out, count, sizeof(**out), cmp_lb_report);
	*n = count;
	return 0;
}

int agentsrv_qos_counters(struct agentsrv *a, const char *name, struct agentsrv_qos_counter **out,
                          size_t *n)
{
	size_t count = 0, k = 0;

	*out = NULL;
	*n = 0;
	for (struct stats *s = a ? a->stats : NULL; s; s = s->next)
		for (size_t i = 0; i < s->n_qos; i++)
			count += strcmp(s->qos[i].name, name) == 0;
	if (!count)
		return 0;
	*out = calloc(count, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (struct stats *s = a->stats; s; s = s->next) {
		for (size_t i = 0; i < s->n_qos; i++) {
			if (strcmp(s->qos[i].name, name) != 0)
				continue;
			(*out)[k].node_id = s->node_id;
			(*out)[k++].c = s->qos[i];
		}
	}
	*n = count;
	return 0;
}

static int cmp_stats_node(const void *a, const void *b)
{
	const struct stats *x = *(const struct stats *const *)a,
	                   *y = *(const struct stats *const *)b;

	return (x->node_id > y->node_id) - (x->node_id < y->node_id);
}

int agentsrv_flow_counters(struct agentsrv *a, int64_t node_id, struct agentsrv_flow_counter **out,
                           size_t *n)
{
	const struct stats **nodes = NULL;
	size_t n_nodes = 0, count = 0, k = 0;

	*out = NULL;
	*n = 0;
	for (struct stats *s = a ? a->stats : NULL; s; s = s->next)
		if (s->n_flow && (!node_id || s->node_id == node_id)) {
			n_nodes++;
			count += s->n_flow;
		}
	if (!count)
		return 0;
	nodes = calloc(n_nodes, sizeof(*nodes));
	*out = calloc(count, sizeof(**out));
	if (!nodes || !*out) {
		free(nodes);
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	n_nodes = 0;
	for (struct stats *s = a->stats; s; s = s->next)
		if (s->n_flow && (!node_id || s->node_id == node_id))
			nodes[n_nodes++] = s;
	/* By node, each node's as reported: the order does not depend on who called last. */
	qsort(nodes, n_nodes, sizeof(*nodes), cmp_stats_node);
	for (size_t i = 0; i < n_nodes; i++)
		for (size_t f = 0; f < nodes[i]->n_flow; f++) {
			(*out)[k].node_id = nodes[i]->node_id;
			(*out)[k].at = nodes[i]->flow_at;
			(*out)[k++].c = nodes[i]->flow[f];
		}
	free(nodes);
	*n = count;
	return 0;
}

bool agentsrv_alive(void *ctx, int64_t node_id)
{
	struct agentsrv *a = ctx;
	int64_t now = now_ms(), limit;

	if (!a)
		return true;
	limit = (int64_t)CTL_DEAD_BEATS * a->ctl->heartbeat_ms;
	/* Just started: its agents have not had the time to call. */
	if (now - a->started_ms < limit)
		return true;
	for (struct stats *s = a->stats; s; s = s->next)
		if (s->node_id == node_id)
			return s->seen_ms && now - s->seen_ms <= limit;
	return false;
}

void agentsrv_wake(struct agentsrv *a, const int64_t *ids, size_t n)
{
	if (!a)
		return;
	for (struct parked *p = a->parked; p; p = p->next)
		for (size_t i = 0; i < n; i++)
			if (p->node_id == ids[i])
				srv_wake(p->w);
}

/* Reads what the agent says it applied and failed, per function. */
static void read_reported(const Netfn__SyncRequest *in, struct reported *rep)
{
	memset(rep, 0, sizeof(*rep));
	for (size_t i = 0; i < in->n_sections && rep->n < MAX_REPORTED_FNS; i++) {
		const Netfn__SectionStatus *ss = in->sections[i];

		/* A longer name is no function of ours; truncated it might pass for one. */
		if (strlen(ss->function) >= ST_FUNC_MAX)
			continue;
		snprintf(rep->v[rep->n].function, ST_FUNC_MAX, "%s", ss->function);
		rep->v[rep->n].applied = ss->applied_revision;
		rep->v[rep->n].failed = ss->failed_revision;
		rep->n++;
	}
}

struct due {
	const struct reported *rep;
	const char *function; /* the first function found due */
	uint64_t revision;
	char name[ST_FUNC_MAX];
};

static int check_due(void *ctx, const struct st_section *sec)
{
	struct due *d = ctx;
	uint64_t applied = 0, failed = 0;
	bool known = d->rep->n == 0;

	for (size_t i = 0; i < d->rep->n; i++) {
		if (strcmp(d->rep->v[i].function, sec->function) == 0) {
			applied = d->rep->v[i].applied;
			failed = d->rep->v[i].failed;
			known = true;
		}
	}
	if (!known || sec->desired_rev <= applied || sec->desired_rev == failed)
		return 0;
	snprintf(d->name, sizeof(d->name), "%s", sec->function);
	d->function = d->name;
	d->revision = sec->desired_rev;
	return 1; /* stops the walk */
}

/*
 * True when a section of node is newer than what the agent applied of it and
 * is not the revision that just failed there. A function the agent did not
 * report does not count: an agent that does not know it would be answered
 * at once forever. An agent that reported nothing at all (a first sync)
 * counts as having applied nothing.
 */
static bool sync_due(struct agentsrv *a, int64_t node_id, const struct reported *rep, struct due *d)
{
	struct store *s = a->ctl->store;

	memset(d, 0, sizeof(*d));
	d->rep = rep;
	return s->ops->section_list(s, node_id, check_due, d) == 1;
}

/* Answers a sync: the config when a section is due (see sync_due), else nothing. */
static void answer_sync(struct agentsrv *a, struct srv_work *w, const struct nf_channel *ch,
                        uint64_t echo, uint64_t id, const struct st_node *node,
                        const struct reported *rep)
{
	struct store *s = a->ctl->store;
	Netfn__SyncReply reply = NETFN__SYNC_REPLY__INIT;
	Netfn__NodeConfig *cfg = NULL;
	struct nf_status st = {0};
	struct due d;

	reply.heartbeat_ms = a->ctl->heartbeat_ms;
	if (sync_due(a, node->id, rep, &d)) {
		if (compile_node_config(s, node, &cfg)) {
			nf_status_set(&st, NETFN__STATUS__INTERNAL, NULL, "cannot compile node %s",
			              node->name);
			reply_sealed(a, w, ch, echo, id, &st, NULL);
			return;
		}
		reply.config = cfg;
		nf_debug("node %s: sending config (%s revision %llu due)", node->name, d.function,
		         (unsigned long long)d.revision);
	}
	reply_sealed(a, w, ch, echo, id, &st, &reply.base);
	compile_config_free(cfg);
}

static void resume_sync(void *arg, struct srv_work *w, bool woken)
{
	struct agentsrv *a = ((struct ctl *)arg)->agents;
	struct parked *p = srv_work_user(w), **pp;
	struct st_node node;
	struct nf_status st;

	(void)woken;
	pthread_mutex_lock(&a->ctl->lock);
	for (pp = &a->parked; *pp && *pp != p; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = p->next;
	if (a->ctl->store->ops->node_get_id(a->ctl->store, p->node_id, &node)) {
		nf_status_set(&st, NETFN__STATUS__UNAUTHENTICATED, "node",
		              "this node was deleted; enroll again with a new token");
		drop_stats(a, p->node_id);
		reply_sealed(a, w, &p->ch, p->echo, p->id, &st, NULL);
	} else {
		answer_sync(a, w, &p->ch, p->echo, p->id, &node, &p->rep);
	}
	pthread_mutex_unlock(&a->ctl->lock);
	nf_channel_wipe(&p->ch);
	free(p);
}

/* Records what the agent reported; inside a transaction. */
static int record_status(struct agentsrv *a, struct st_node *node, const Netfn__SyncRequest *in,
                         uint64_t counter, struct idvec *changed, struct nf_status *st)
{
	struct store *s = a->ctl->store;
	char eps[ST_MAX_ENDPOINTS][ST_ENDPOINT_MAX];
	size_t n_eps = 0;
	int ret;

	ret = s->ops->node_touch(s, node->id, ctl_now(), counter);
	if (ret)
		return ret;
	for (size_t i = 0; i < in->n_sections; i++) {
		const Netfn__SectionStatus *ss = in->sections[i];
		struct st_section sec;
		char err[ST_ERROR_MAX];

		if (s->ops->section_get(s, node->id, ss->function, &sec))
			continue; /* a function this node has no section for */
		printable_text(ss->error, err, sizeof(err));
		if (ss->error_object[0] && err[0]) {
			char obj[72];

			snprintf(sec.error, sizeof(sec.error), "%.63s: %.180s",
			         printable(ss->error_object, obj, sizeof(obj)), err);
		} else {
			snprintf(sec.error, sizeof(sec.error), "%s", err);
		}
		sec.applied_rev = ss->applied_revision;
		ret = s->ops->section_put(s, &sec);
		if (ret)
			return ret;
	}
	if (endpoints_copy(eps, &n_eps, in->endpoints, in->n_endpoints, "endpoints", st))
		return -EINVAL;
	if (n_eps != node->n_endpoints || memcmp(eps, node->endpoints, n_eps * sizeof(eps[0]))) {
		memset(node->endpoints, 0, sizeof(node->endpoints));
		memcpy(node->endpoints, eps, n_eps * sizeof(eps[0]));
		node->n_endpoints = n_eps;
		ret = s->ops->node_update(s, node);
		if (!ret)
			ret = compile_network(s, node->network_id, changed);
	}
	return ret;
}

static void sync(struct req *r, struct st_node *node, const Netfn__Request *req)
{
	struct agentsrv *a = r->a;
	struct store *s = a->ctl->store;
	Netfn__SyncRequest *in;
	struct idvec changed = {0};
	struct reported rep;
	struct parked *p;
	struct due d;
	int ret;

	in = (Netfn__SyncRequest *)nf_pb_unpack_strict(&netfn__sync_request__descriptor,
	                                               req->body.len, req->body.data);
	if (!in) {
		nf_status_set(&r->st, NETFN__STATUS__INVALID_ARGUMENT, "request",
		              "malformed SyncRequest");
		reply_sealed(a, r->w, &r->ch, r->counter, r->id, &r->st, NULL);
		return;
	}
	ret = s->ops->begin(s);
	if (!ret)
		ret = record_status(a, node, in, r->counter, &changed, &r->st);
	if (!ret)
		ret = s->ops->commit(s);
	if (ret) {
		s->ops->rollback(s);
		if (r->st.code == NETFN__STATUS__OK)
			nf_status_set(&r->st, NETFN__STATUS__INTERNAL, NULL, "store error %d", ret);
		reply_sealed(a, r->w, &r->ch, r->counter, r->id, &r->st, NULL);
		goto cleanup;
	}
	agentsrv_wake(a, changed.v, changed.n);
	set_stats(a, node->id, in);
	read_reported(in, &rep);
	if (sync_due(a, node->id, &rep, &d)) {
		answer_sync(a, r->w, &r->ch, r->counter, r->id, node, &rep);
		goto cleanup;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		answer_sync(a, r->w, &r->ch, r->counter, r->id, node, &rep);
		goto cleanup;
	}
	p->w = r->w;
	p->node_id = node->id;
	p->ch = r->ch;
	p->echo = r->counter;
	p->id = r->id;
	p->rep = rep;
	p->next = a->parked;
	a->parked = p;
	/* Never hold a poll past the time the agent said it waits for the reply. */
	srv_park(r->w,
	         in->wait_ms && in->wait_ms < a->ctl->heartbeat_ms ? in->wait_ms
	                                                           : a->ctl->heartbeat_ms,
	         resume_sync, p);
cleanup:
	idvec_free(&changed);
	netfn__sync_request__free_unpacked(in, NULL);
}

#define REFUSE(code, field, ...)                                                                   \
	do {                                                                                       \
		nf_status_set(&r->st, code, field, __VA_ARGS__);                                   \
		ret = -EPERM;                                                                      \
		goto end;                                                                          \
	} while (0)

static int do_enroll(struct req *r, const Netfn__EnrollRequest *in, struct st_node *node,
                     struct st_network *net, struct idvec *changed)
{
	struct ctl *ctl = r->a->ctl;
	struct store *s = ctl->store;
	struct st_join_token t;
	struct st_audit au = {0};
	struct st_client client;
	struct in_addr addr;
	uint8_t hash[NF_HASH_LEN];
	int ret;

	nf_secret_hash(in->token_secret.data, in->token_secret.len, hash);
	ret = s->ops->join_token_get_hash(s, hash, &t);
	if (ret)
		REFUSE(NETFN__STATUS__PERMISSION_DENIED, "token", "unknown join token");
	if (t.revoked)
		REFUSE(NETFN__STATUS__PERMISSION_DENIED, "token", "join token %s was revoked",
		       t.id);
	if (ctl_now() >= t.expires)
		REFUSE(NETFN__STATUS__PERMISSION_DENIED, "token", "join token %s has expired",
		       t.id);
	if (t.uses_left == 0)
		REFUSE(NETFN__STATUS__PERMISSION_DENIED, "token",
		       "join token %s was already used (%u of %u uses)", t.id, t.uses, t.uses);
	ret = s->ops->network_get_id(s, t.network_id, net);
	if (ret)
		REFUSE(NETFN__STATUS__FAILED_PRECONDITION, "network",
		       "the token's network no longer exists");
	node->network_id = net->id;
	/* Labels given with the token win over what the agent says of itself. */
	if (labels_merge(node->labels, &node->n_labels, in->labels, in->n_labels, "labels", &r->st))
		REFUSE(r->st.code, r->st.field, "%s", r->st.message);
	for (size_t i = 0; i < t.n_labels; i++) {
		Netfn__Label l = NETFN__LABEL__INIT, *lp = &l;

		l.key = t.labels[i].key;
		l.value = t.labels[i].value;
		if (labels_merge(node->labels, &node->n_labels, &lp, 1, "labels", &r->st))
			REFUSE(r->st.code, r->st.field, "%s", r->st.message);
	}
	/* Every holder of an overlay address counts: nodes, vips and clients. */
	ret = ipam_alloc(s, net, &addr);
	if (ret == -ENOSPC)
		REFUSE(NETFN__STATUS__RESOURCE_EXHAUSTED, "network",
		       "network '%s' (%s) has no free address", net->name, net->cidr);
	if (ret)
		goto end;
	/* A name is one host in the zone: a client's is taken too. */
	ret = s->ops->client_get(s, net->id, node->name, &client);
	if (ret == 0)
		REFUSE(NETFN__STATUS__ALREADY_EXISTS, "name",
		       "network '%s' has an external client named '%s'", net->name, node->name);
	if (ret != -ENOENT)
		goto end;
	node->overlay_addr = addr.s_addr;
	node->created = ctl_now();
	node->last_seen = node->created;
	ret = s->ops->node_insert(s, node);
	if (ret == -EEXIST)
		REFUSE(NETFN__STATUS__ALREADY_EXISTS, "name",
		       "a node named '%s' already exists in network '%s' (or its WireGuard key "
		       "is in use)",
		       node->name, net->name);
	if (ret)
		goto end;
	/* Live from now: the scheduler, run by compile_network below, may place on it. */
	set_seen(r->a, node->id, r->arrived_ms);
	t.uses_left--;
	if ((ret = s->ops->join_token_update(s, &t)))
		goto end;
	au.time = node->created;
	snprintf(au.actor, sizeof(au.actor), "jointoken:%s", t.id);
	snprintf(au.method, sizeof(au.method), "agent.enroll");
	snprintf(au.object, sizeof(au.object), "%s/%s", net->name, node->name);
	inet_ntop(AF_INET, &addr, au.detail, sizeof(au.detail));
	if ((ret = s->ops->audit_add(s, &au)))
		goto end;
	ret = compile_network(s, net->id, changed);
end:
	return ret;
}

static void enroll(struct req *r, const uint8_t id_pk[NF_KEY_LEN], const Netfn__Request *req)
{
	struct agentsrv *a = r->a;
	struct store *s = a->ctl->store;
	Netfn__EnrollRequest *in;
	Netfn__EnrollReply out = NETFN__ENROLL_REPLY__INIT;
	struct idvec changed = {0};
	struct st_node node = {0};
	struct st_network net;
	char addr[INET_ADDRSTRLEN], p[72];
	int ret;

	in = (Netfn__EnrollRequest *)nf_pb_unpack_strict(&netfn__enroll_request__descriptor,
	                                                 req->body.len, req->body.data);
	if (!in) {
		nf_status_set(&r->st, NETFN__STATUS__INVALID_ARGUMENT, "request",
		              "malformed EnrollRequest");
		goto reply;
	}
	if (in->token_secret.len != NF_SECRET_LEN) {
		nf_status_set(&r->st, NETFN__STATUS__INVALID_ARGUMENT, "token", "malformed secret");
		goto reply;
	}
	if (in->wg_public_key.len != ST_KEY_LEN) {
		nf_status_set(&r->st, NETFN__STATUS__INVALID_ARGUMENT, "wg_public_key",
		              "must be 32 bytes");
		goto reply;
	}
	if (!valid_name(in->name)) {
		nf_status_set(&r->st, NETFN__STATUS__INVALID_ARGUMENT, "name",
		              "'%s' is not a valid node name: 1-63 of a-z 0-9 '-'",
		              printable(in->name, p, sizeof(p)));
		goto reply;
	}
	if (endpoints_copy(node.endpoints, &node.n_endpoints, in->endpoints, in->n_endpoints,
	                   "endpoints", &r->st))
		goto reply;
	snprintf(node.name, sizeof(node.name), "%s", in->name);
	memcpy(node.id_pk, id_pk, ST_KEY_LEN);
	memcpy(node.wg_pk, in->wg_public_key.data, ST_KEY_LEN);
	node.last_counter = r->counter;

	ret = s->ops->begin(s);
	if (!ret)
		ret = do_enroll(r, in, &node, &net, &changed);
	if (!ret)
		ret = s->ops->commit(s);
	if (ret) {
		s->ops->rollback(s);
		/* The node was never stored: its id may be handed out again. */
		if (node.id)
			drop_stats(a, node.id);
		if (r->st.code == NETFN__STATUS__OK)
			nf_status_set(&r->st, NETFN__STATUS__INTERNAL, NULL, "store error %d", ret);
		nf_info("enroll of '%s' refused: %s: %s: %s", node.name, nf_status_name(r->st.code),
		        r->st.field, r->st.message);
		goto reply;
	}
	agentsrv_wake(a, changed.v, changed.n);
	inet_ntop(AF_INET, &node.overlay_addr, addr, sizeof(addr));
	nf_info("node %s enrolled in network %s with address %s", node.name, net.name, addr);
	out.name = node.name;
	out.network = net.name;
	out.overlay_address = addr;
reply:
	reply_sealed(a, r->w, &r->ch, r->counter, r->id, &r->st,
	             r->st.code == NETFN__STATUS__OK ? &out.base : NULL);
	idvec_free(&changed);
	if (in)
		netfn__enroll_request__free_unpacked(in, NULL);
}

static void enrolled_again(struct req *r, const struct st_node *node)
{
	struct store *s = r->a->ctl->store;
	Netfn__EnrollReply out = NETFN__ENROLL_REPLY__INIT;
	struct st_network net;
	char addr[INET_ADDRSTRLEN];

	if (s->ops->network_get_id(s, node->network_id, &net)) {
		nf_status_set(&r->st, NETFN__STATUS__INTERNAL, NULL, "network of node %s missing",
		              node->name);
	} else {
		inet_ntop(AF_INET, &node->overlay_addr, addr, sizeof(addr));
		out.name = (char *)node->name;
		out.network = net.name;
		out.overlay_address = addr;
	}
	reply_sealed(r->a, r->w, &r->ch, r->counter, r->id, &r->st,
	             r->st.code == NETFN__STATUS__OK ? &out.base : NULL);
}

static void handle(void *arg, struct srv_work *w, const uint8_t *buf, size_t len)
{
	struct ctl *ctl = arg;
	struct req r = {.a = ctl->agents, .w = w, .arrived_ms = now_ms()};
	Netfn__Request *req = NULL;
	uint8_t pk[NF_KEY_LEN], *payload = NULL;
	size_t plen = 0;
	uint64_t echo;
	struct st_node node;
	int found;

	if (nf_sealed_peek_sender(buf, len, pk) || nf_channel_init(&r.ch, &ctl->id, pk)) {
		reply_plain(w, NETFN__STATUS__INVALID_ARGUMENT, "frame", "malformed sealed frame");
		return;
	}
	if (nf_open(&r.ch, buf, len, &r.counter, &echo, &payload, &plen)) {
		nf_channel_wipe(&r.ch);
		reply_plain(w, NETFN__STATUS__UNAUTHENTICATED, "frame",
		            "frame failed authentication");
		return;
	}
	if (nf_rpc_decode_request(payload, plen, &req)) {
		nf_status_set(&r.st, NETFN__STATUS__INVALID_ARGUMENT, "request",
		              "malformed request");
		reply_sealed(r.a, w, &r.ch, r.counter, 0, &r.st, NULL);
		goto cleanup;
	}
	r.id = req->request_id;
	pthread_mutex_lock(&ctl->lock);
	found = ctl->store->ops->node_get_key(ctl->store, pk, &node) == 0;
	if (found && r.counter <= node.last_counter) {
		nf_warn("node %s: replayed or stale message refused", node.name);
		nf_status_set(&r.st, NETFN__STATUS__UNAUTHENTICATED, "counter",
		              "replayed or stale message");
	} else if (strcmp(req->method, "agent.sync") == 0 && found) {
		set_seen(r.a, node.id, r.arrived_ms);
		sync(&r, &node, req);
		goto unlock;
	} else if (strcmp(req->method, "agent.enroll") == 0 && !found) {
		enroll(&r, pk, req);
		goto unlock;
	} else if (strcmp(req->method, "agent.enroll") == 0) {
		/* Enrolled already: the reply was lost. Only this key's holder can ask. */
		set_seen(r.a, node.id, r.arrived_ms);
		enrolled_again(&r, &node);
		goto unlock;
	} else if (found) {
		nf_status_set(&r.st, NETFN__STATUS__NOT_FOUND, "method", "unknown method");
	} else {
		nf_status_set(&r.st, NETFN__STATUS__UNAUTHENTICATED, "node",
		              "unknown node: deleted, or never enrolled");
	}
	reply_sealed(r.a, w, &r.ch, r.counter, r.id, &r.st, NULL);
unlock:
	pthread_mutex_unlock(&ctl->lock);
cleanup:
	nf_channel_wipe(&r.ch);
	if (req)
		netfn__request__free_unpacked(req, NULL);
	if (payload)
		sodium_memzero(payload, plen);
	free(payload);
}

int agentsrv_start(struct ctl *c, const char *const *urls, size_t n, struct agentsrv **out)
{
	struct agentsrv *a = calloc(1, sizeof(*a));
	int ret;

	if (!a)
		return -ENOMEM;
	a->ctl = c;
	a->started_ms = now_ms();
	c->agents = a;
	ret = srv_start(urls, n, NULL, AGENT_WORKERS, NF_RPC_MAX_FRAME, handle, c, &a->srv);
	if (ret) {
		c->agents = NULL;
		free(a);
		return ret;
	}
	*out = a;
	return 0;
}

void agentsrv_stop(struct agentsrv *a)
{
	if (!a)
		return;
	srv_stop(a->srv);
	while (a->parked) {
		struct parked *p = a->parked;

		a->parked = p->next;
		nf_channel_wipe(&p->ch);
		free(p);
	}
	while (a->stats)
		drop_stats(a, a->stats->node_id);
	free(a);
}
