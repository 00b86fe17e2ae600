// SPDX-License-Identifier: Apache-2.0
/*
 * The overlay DNS function's agent half (see dns_agent.h): the order of
 * things and the state between applies.
 *
 * On a serving node the server comes first and the resolver second (the node
 * may be its own server), and on a node that stops serving the resolver is
 * moved away first. A slot's config text is the whole truth about it: a slot
 * whose config file equals what the config renders to, and whose dnsmasq
 * runs, needs nothing, which is also how a restarted agent adopts what an
 * earlier run started. The VM's upstream resolvers are part of that text, so
 * a change of /etc/resolv.conf is followed like a record change.
 *
 * Why a drain: after the flip, queries already sent to the old slot still
 * get their answer from it, and DNS over TCP connections, which conntrack
 * keeps on the slot they started with, can finish. A second change within
 * the drain stops the old slot early, as there are two slots.
 */
#include "netfns/dns/dns_agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "netfns/common/log.h"
#include "netfns/dns/dns_nft.h"
#include "netfns/dns/dns_resolv.h"
#include "netfns/dns/dns_server.h"
#include "netfns/firewall/nft.h"

#define TABLE_NAME_MAX 64
#define RECHECK_MS     10000
#define DRAIN_MS       30000
#define TICK_MS        500

struct dns_agent {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool have_thread, quit;

	char dir[PATH_MAX]; /* "" : this node cannot serve */
	char wg[IF_NAMESIZE];
	char table[TABLE_NAME_MAX];
	int drain_ms, recheck_ms;
	bool keep_user;

	struct nft_sock *nft; /* opened when first needed */
	struct dns_resolver *res;

	struct dns_config cfg; /* the config applied last */
	bool applied;
	bool looked;                    /* the dir was examined for slots an earlier run left */
	int active;                     /* the slot port 53 goes to; -1: none */
	int64_t drain_until[DNS_SLOTS]; /* 0: not draining */
	bool redirect_known;            /* the table steers redirect_listen to redirect_slot */
	struct in_addr redirect_listen;
	int redirect_slot;
	bool table_gone; /* the table is known not to exist */
	int64_t next_check;
	char bg_err[256]; /* what the thread logged last: each error once */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the applied config ---- */

static int config_copy(struct dns_config *dst, const struct dns_config *src)
{
	*dst = *src;
	dst->records = NULL;
	if (!src->n_records)
		return 0;
	dst->records = malloc(src->n_records * sizeof(*dst->records));
	if (!dst->records) {
		dst->n_records = 0;
		return -ENOMEM;
	}
	memcpy(dst->records, src->records, src->n_records * sizeof(*dst->records));
	return 0;
}

/* ---- the redirect ---- */

static int nft_open(struct dns_agent *da)
{
	return da->nft ? 0 : nft_sock_open(&da->nft);
}

/* Steers port 53 of listen to slot, unless the table is known to do so already. */
static int redirect(struct dns_agent *da, struct in_addr listen, int slot, char *err, size_t errlen)
{
	uint16_t ports[DNS_SLOTS];
	struct nft_batch *b = NULL;
	struct nft_error e = {0};
	int ret;

	for (int s = 0; s < DNS_SLOTS; s++)
		ports[s] = (uint16_t)(DNS_SLOT_PORT + s);
	if (da->redirect_known && da->redirect_slot == slot &&
	    da->redirect_listen.s_addr == listen.s_addr)
		return 0;
	ret = nft_open(da);
	if (!ret)
		ret = nft_batch_new(da->nft, &b);
	if (!ret)
		ret = dns_nft_put_apply(b, da->table, listen, ports[slot], ports, DNS_SLOTS);
	if (!ret)
		ret = nft_batch_commit(b, NULL, NULL, &e);
	nft_batch_free(b);
	if (ret < 0) {
		/* A refusal leaves the table as it was; lost answers leave it unknown. */
		da->redirect_known = false;
		snprintf(err, errlen, "table ip %s: cannot steer port 53 to slot %d: %s%s%s",
		         da->table, slot, strerror(-ret), e.ext_ack[0] ? ": " : "", e.ext_ack);
		return ret;
	}
	da->redirect_known = true;
	da->redirect_slot = slot;
	da->redirect_listen = listen;
	da->table_gone = false;
	return 0;
}

static int table_delete(struct dns_agent *da, char *err, size_t errlen)
{
	struct nft_batch *b = NULL;
	struct nft_error e = {0};
	int ret;

	if (da->table_gone)
		return 0;
	ret = nft_open(da);
	if (!ret)
		ret = nft_batch_new(da->nft, &b);
	if (!ret)
		ret = dns_nft_put_delete(b, da->table);
	if (!ret)
		ret = nft_batch_commit(b, NULL, NULL, &e);
	nft_batch_free(b);
	if (ret < 0) {
		snprintf(err, errlen, "cannot delete table ip %s: %s%s%s", da->table,
		         strerror(-ret), e.ext_ack[0] ? ": " : "", e.ext_ack);
		return ret;
	}
	da->redirect_known = false;
	da->table_gone = true;
	return 0;
}

/* ---- the slots ---- */

/* Finds what an earlier run left: the active slot keeps serving, any other drains. */
static void look(struct dns_agent *da)
{
	int a;

	da->looked = true;
	if (!da->dir[0])
		return;
	a = dns_server_active_load(da->dir);
	for (int s = 0; s < DNS_SLOTS; s++) {
		pid_t pid = dns_server_running(da->dir, s);

		if (!pid)
			continue;
		if (s == a) {
			da->active = s;
			nf_info("dns: dnsmasq slot %d (pid %d) found running, adopted", s,
			        (int)pid);
		} else {
			da->drain_until[s] = now_ms() + da->drain_ms;
			nf_info("dns: dnsmasq slot %d (pid %d) found running idle; stopped after a "
			        "drain",
			        s, (int)pid);
		}
	}
}

/* Starts the drain of slot if its dnsmasq runs and it is not draining yet. */
static void drain(struct dns_agent *da, int slot)
{
	if (!da->drain_until[slot] && dns_server_running(da->dir, slot))
		da->drain_until[slot] = now_ms() + da->drain_ms;
}

/* The VM's resolvers, less the zone's servers and our own address: they would loop. */
static size_t upstreams(struct dns_agent *da, const struct dns_config *cfg,
                        char (*out)[INET6_ADDRSTRLEN])
{
	struct in_addr skip[DNS_MAX_SERVERS + 1];
	size_t n_skip = 0, len = 0, n = 0;
	char *text = NULL;
	const char *path = dns_resolver_path(da->res);
	int ret;

	skip[n_skip++] = cfg->listen;
	for (size_t i = 0; i < cfg->n_servers; i++)
		skip[n_skip++] = cfg->servers[i];
	ret = dns_resolvconf_read(path, &text, &len);
	if (ret == 0)
		n = dns_resolvconf_upstreams(text, len, skip, n_skip, out, DNS_UPSTREAMS_MAX);
	else
		nf_debug("dns: cannot read %s: %s", path, strerror(-ret));
	free(text);
	return n;
}

/*
 * Brings the serving side to cfg: nothing when the active slot runs with
 * exactly this config; else the idle slot is started with it and, once it
 * answers, port 53 is moved to it and the old slot drains.
 */
static int serve(struct dns_agent *da, const struct dns_config *cfg, char *err, size_t errlen)
{
	char up[DNS_UPSTREAMS_MAX][INET6_ADDRSTRLEN], addr[INET_ADDRSTRLEN];
	struct dns_server_opts o = {.dir = da->dir, .keep_user = da->keep_user};
	const struct dns_record *probe = cfg->n_records ? &cfg->records[0] : NULL;
	char *conf = NULL;
	size_t len = 0;
	int next, old = da->active, ret;
	pid_t pid;

	if (!da->dir[0]) {
		snprintf(err, errlen, "this agent has no directory for dnsmasq's files");
		return -EINVAL;
	}
	o.n_upstreams = upstreams(da, cfg, up);
	o.upstreams = (const char(*)[INET6_ADDRSTRLEN])up;
	if (old >= 0 && dns_server_running(da->dir, old)) {
		o.slot = old;
		ret = dns_server_render(cfg, &o, &conf, &len);
		if (ret < 0)
			goto render_failed;
		if (dns_server_conf_same(da->dir, old, conf, len)) {
			ret = redirect(da, cfg->listen, old, err, errlen);
			goto cleanup;
		}
		free(conf);
		conf = NULL;
	} else if (old >= 0) {
		nf_warn("dns zone %s: dnsmasq slot %d is gone; starting the other", cfg->zone, old);
		dns_server_forget(da->dir, old);
	}
	next = old >= 0 ? (old + 1) % DNS_SLOTS : 0;
	if (dns_server_running(da->dir, next)) {
		if (da->drain_until[next])
			nf_info("dns zone %s: slot %d stops before its drain ends: another change "
			        "came first",
			        cfg->zone, next);
		ret = dns_server_stop(da->dir, next);
		if (ret < 0) {
			snprintf(err, errlen, "cannot stop dnsmasq slot %d: %s", next,
			         strerror(-ret));
			goto cleanup;
		}
	}
	da->drain_until[next] = 0;
	o.slot = next;
	ret = dns_server_render(cfg, &o, &conf, &len);
	if (ret < 0)
		goto render_failed;
	if (o.n_upstreams == 0)
		nf_warn("dns zone %s: no upstream resolver in %s: only the zone's names resolve "
		        "through this server",
		        cfg->zone, dns_resolver_path(da->res));
	ret = dns_server_start(da->dir, next, conf, len, &pid, err, errlen);
	if (ret < 0)
		goto failed;
	ret = dns_server_probe(cfg->listen, (uint16_t)(DNS_SLOT_PORT + next),
	                       probe ? probe->name : cfg->zone, probe ? probe->type : DNS_A,
	                       probe != NULL, DNS_START_MS);
	if (ret < 0) {
		snprintf(err, errlen, "dnsmasq slot %d (pid %d) does not answer for %s: %s", next,
		         (int)pid, cfg->zone,
		         ret == -ENODATA ? "it has not the records" : strerror(-ret));
		goto failed;
	}
	/* Named before the flip: a crash in between leaves a restart re-steering to it. */
	ret = dns_server_active_save(da->dir, next);
	if (ret < 0) {
		snprintf(err, errlen, "cannot write %s/active: %s", da->dir, strerror(-ret));
		goto failed;
	}
	ret = redirect(da, cfg->listen, next, err, errlen);
	if (ret < 0) {
		dns_server_active_save(da->dir, old);
		goto failed;
	}
	da->active = next;
	if (old >= 0)
		drain(da, old);
	nf_info("dns zone %s: dnsmasq slot %d (pid %d) answers %zu records on %s, %zu upstream "
	        "resolvers; port 53 moved to it",
	        cfg->zone, next, (int)pid, cfg->n_records,
	        inet_ntop(AF_INET, &cfg->listen, addr, sizeof(addr)), o.n_upstreams);
	goto cleanup;
render_failed:
	snprintf(err, errlen, "cannot write dnsmasq's config: %s", strerror(-ret));
	goto cleanup;
failed:
	/* What served before keeps serving; the new slot goes. */
	dns_server_stop(da->dir, next);
cleanup:
	free(conf);
	return ret;
}

/* Nothing served here: port 53 is let go and the slots drain. */
static int unserve(struct dns_agent *da, char *err, size_t errlen)
{
	int ret;

	if (!da->dir[0] && da->table_gone)
		return 0;
	ret = table_delete(da, err, errlen);
	if (ret < 0)
		return ret;
	if (!da->dir[0])
		return 0;
	for (int s = 0; s < DNS_SLOTS; s++)
		drain(da, s);
	if (da->active >= 0)
		dns_server_active_save(da->dir, -1);
	da->active = -1;
	return 0;
}

/* ---- the thread ---- */

static void check(struct dns_agent *da)
{
	char err[256] = "";
	int ret = 0;

	if (da->cfg.zone[0] && da->cfg.serve)
		ret = serve(da, &da->cfg, err, sizeof(err));
	if (ret == 0)
		ret = dns_resolver_set(da->res, da->wg, da->cfg.zone, da->cfg.servers,
		                       da->cfg.n_servers, err, sizeof(err));
	if (ret < 0 && strcmp(err, da->bg_err) != 0) {
		nf_err("dns revision %" PRIu64 ": %s", da->cfg.revision, err);
		snprintf(da->bg_err, sizeof(da->bg_err), "%s", err);
	} else if (ret == 0 && da->bg_err[0]) {
		nf_info("dns revision %" PRIu64 ": in place again", da->cfg.revision);
		da->bg_err[0] = '\0';
	}
}

static void *run(void *arg)
{
	struct dns_agent *da = arg;

	pthread_mutex_lock(&da->mu);
	while (!da->quit) {
		struct timespec until;
		int64_t now = now_ms();

		for (int s = 0; s < DNS_SLOTS; s++) {
			if (!da->drain_until[s] || now < da->drain_until[s])
				continue;
			da->drain_until[s] = 0;
			if (s == da->active)
				continue;
			if (dns_server_stop(da->dir, s) == 0) {
				dns_server_forget(da->dir, s);
				nf_info("dns: dnsmasq slot %d drained and stopped", s);
			} else
				nf_warn("dns: dnsmasq slot %d does not stop", s);
		}
		if (da->applied && now >= da->next_check) {
			da->next_check = now + da->recheck_ms;
			check(da);
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&da->cv, &da->mu, &until);
	}
	pthread_mutex_unlock(&da->mu);
	return NULL;
}

/* ---- the interface ---- */

int dns_agent_open(const struct dns_agent_opts *o, struct dns_agent **out)
{
	struct dns_agent *da = NULL;
	int ret;

	if (!o->table || !o->table[0] || strlen(o->table) >= TABLE_NAME_MAX ||
	    (o->wg_ifname && strlen(o->wg_ifname) >= IF_NAMESIZE) ||
	    (o->dir && !dns_server_dir_ok(o->dir)))
		return -EINVAL;
	da = calloc(1, sizeof(*da));
	if (!da)
		return -ENOMEM;
	pthread_mutex_init(&da->mu, NULL);
	pthread_cond_init(&da->cv, NULL);
	snprintf(da->dir, sizeof(da->dir), "%s", o->dir ? o->dir : "");
	snprintf(da->wg, sizeof(da->wg), "%s", o->wg_ifname ? o->wg_ifname : "");
	snprintf(da->table, sizeof(da->table), "%s", o->table);
	da->drain_ms = o->drain_ms > 0 ? o->drain_ms : DRAIN_MS;
	da->recheck_ms = o->recheck_ms > 0 ? o->recheck_ms : RECHECK_MS;
	da->keep_user = !dns_server_can_switch_user();
	da->active = -1;
	ret = dns_resolver_open(o->resolv_conf, !o->no_resolved, &da->res);
	if (ret == 0 && da->dir[0] && mkdir(da->dir, 0700) < 0 && errno != EEXIST)
		ret = -errno;
	if (ret == 0) {
		ret = -pthread_create(&da->thread, NULL, run, da);
		da->have_thread = ret == 0;
	}
	if (ret < 0) {
		dns_agent_close(da);
		return ret;
	}
	*out = da;
	return 0;
}

int dns_agent_apply(struct dns_agent *da, const struct dns_config *cfg, char *err, size_t errlen)
{
	struct dns_config copy = {0};
	bool serving = cfg->zone[0] && cfg->serve;
	char addr[INET_ADDRSTRLEN];
	int ret;

	if (errlen)
		err[0] = '\0';
	ret = config_copy(&copy, cfg);
	if (ret < 0) {
		snprintf(err, errlen, "out of memory");
		return ret;
	}
	pthread_mutex_lock(&da->mu);
	if (!da->looked)
		look(da);
	/* A node may be its own server: the server first, then the resolver. */
	if (serving) {
		ret = serve(da, cfg, err, errlen);
		if (ret < 0)
			goto cleanup;
	}
	ret =
	    dns_resolver_set(da->res, da->wg, cfg->zone, cfg->servers, cfg->n_servers, err, errlen);
	if (ret < 0)
		goto cleanup;
	if (!serving) {
		ret = unserve(da, err, errlen);
		if (ret < 0)
			goto cleanup;
	}
	dns_config_free(&da->cfg);
	da->cfg = copy;
	memset(&copy, 0, sizeof(copy));
	da->applied = true;
	da->bg_err[0] = '\0';
	da->next_check = now_ms() + da->recheck_ms;
	if (serving)
		nf_info("dns revision %" PRIu64 " applied: zone %s, %zu servers (%s), serving %zu "
		        "records on %s",
		        cfg->revision, cfg->zone, cfg->n_servers, dns_resolver_mode(da->res),
		        cfg->n_records, inet_ntop(AF_INET, &cfg->listen, addr, sizeof(addr)));
	else if (cfg->zone[0])
		nf_info("dns revision %" PRIu64 " applied: zone %s, %zu servers (%s)",
		        cfg->revision, cfg->zone, cfg->n_servers, dns_resolver_mode(da->res));
	else
		nf_info("dns revision %" PRIu64 " applied: no overlay DNS on this node",
		        cfg->revision);
cleanup:
	pthread_mutex_unlock(&da->mu);
	dns_config_free(&copy);
	return ret;
}

int dns_agent_teardown(struct dns_agent *da)
{
	char err[256] = "";
	int first = 0, ret;

	pthread_mutex_lock(&da->mu);
	for (int s = 0; da->dir[0] && s < DNS_SLOTS; s++) {
		ret = dns_server_stop(da->dir, s);
		if (ret < 0) {
			nf_err("dns: cannot stop dnsmasq slot %d: %s", s, strerror(-ret));
			first = first ? first : ret;
		}
		dns_server_forget(da->dir, s);
		da->drain_until[s] = 0;
	}
	if (da->dir[0])
		dns_server_active_save(da->dir, -1);
	da->active = -1;
	da->table_gone = false; /* whatever is known, delete it */
	ret = table_delete(da, err, sizeof(err));
	if (ret < 0) {
		nf_err("dns: %s", err);
		first = first ? first : ret;
	}
	ret = dns_resolver_set(da->res, da->wg, "", NULL, 0, err, sizeof(err));
	if (ret < 0) {
		nf_err("dns: %s", err);
		first = first ? first : ret;
	}
	dns_config_free(&da->cfg);
	da->applied = false;
	pthread_mutex_unlock(&da->mu);
	return first;
}

void dns_agent_close(struct dns_agent *da)
{
	if (!da)
		return;
	if (da->have_thread) {
		pthread_mutex_lock(&da->mu);
		da->quit = true;
		pthread_cond_signal(&da->cv);
		pthread_mutex_unlock(&da->mu);
		pthread_join(da->thread, NULL);
	}
	dns_resolver_close(da->res);
	nft_sock_close(da->nft);
	dns_config_free(&da->cfg);
	pthread_cond_destroy(&da->cv);
	pthread_mutex_destroy(&da->mu);
	free(da);
}
