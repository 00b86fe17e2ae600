// SPDX-License-Identifier: Apache-2.0
/*
 * The load balancer's agent half (see lb_agent.h). Every apply is one batch
 * built by lb_nft.c from the config and the health checker's view of each
 * backend; what the table holds besides (chains and counters of frontends and
 * backends that went) is learnt from one dump of its chains and counters
 * just before, so that an agent restarted with another config still removes
 * them. A batch the kernel refuses changes nothing, and the config applied
 * before stays the one health changes re-apply.
 *
 * The health checker's thread calls back when a backend changes state; the
 * callback re-applies the applied config under the same mutex as the
 * reconcile thread's applies, so the two never interleave on the socket.
 */
#include "netfns/lb/lb_agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libnftnl/chain.h>
#include <libnftnl/object.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>

#include "netfns/common/log.h"
#include "netfns/firewall/nft_msg.h"
#include "netfns/kernel/rtnl.h"
#include "netfns/lb/lb_health.h"
#include "netfns/lb/lb_nft.h"

#define TABLE_NAME_MAX 64
/* A dump interrupted by a concurrent change is tried again this many times. */
#define DUMP_TRIES 3

struct lb_agent {
	pthread_mutex_t mu;
	struct nft_sock *nft;
	struct rtnl *rt;
	struct lb_health_checker *hc;
	char table[TABLE_NAME_MAX];
	char wg[IF_NAMESIZE];
	struct lb_config applied; /* what the table holds; n 0: no table of ours */
	bool known;               /* the kernel holds applied with last_up */
	bool *last_up;            /* per backend of applied, frontends in order */
	size_t n_up;
};

/* ---- the applied config ---- */

static int config_copy(struct lb_config *dst, const struct lb_config *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->revision = src->revision;
	if (!src->n)
		return 0;
	dst->frontends = calloc(src->n, sizeof(*dst->frontends));
	if (!dst->frontends)
		return -ENOMEM;
	for (size_t i = 0; i < src->n; i++) {
		const struct lb_frontend *s = &src->frontends[i];
		struct lb_frontend *d = &dst->frontends[i];

		*d = *s;
		d->backends = NULL;
		dst->n = i + 1;
		if (!s->n_backends)
			continue;
		d->backends = malloc(s->n_backends * sizeof(*d->backends));
		if (!d->backends)
			return -ENOMEM;
		memcpy(d->backends, s->backends, s->n_backends * sizeof(*d->backends));
	}
	return 0;
}

static bool config_same(const struct lb_config *a, const struct lb_config *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct lb_frontend *x = &a->frontends[i], *y = &b->frontends[i];

		if (x->id != y->id || strcmp(x->name, y->name) || x->proto != y->proto ||
		    x->addr.s_addr != y->addr.s_addr || x->port != y->port || x->algo != y->algo ||
		    memcmp(&x->health, &y->health, sizeof(x->health)) ||
		    x->n_backends != y->n_backends)
			return false;
		for (size_t k = 0; k < x->n_backends; k++)
			if (x->backends[k].addr.s_addr != y->backends[k].addr.s_addr ||
			    x->backends[k].port != y->backends[k].port ||
			    x->backends[k].weight != y->backends[k].weight)
				return false;
	}
	return true;
}

static size_t backends_total(const struct lb_config *cfg)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->n; i++)
		n += cfg->frontends[i].n_backends;
	return n;
}

/* Forgets what was applied: the next apply sends its batch whatever it holds. */
static void forget(struct lb_agent *la)
{
	lb_config_free(&la->applied);
	free(la->last_up);
	la->last_up = NULL;
	la->n_up = 0;
	la->known = false;
}

/* ---- what the table holds ---- */

static int chain_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type <= NFTA_CHAIN_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

struct names_of {
	const char *table;
	struct lb_nft_names *names;
};

static int on_chain(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NFTA_CHAIN_MAX + 1] = {0};
	struct names_of *w = data;

	if ((nlh->nlmsg_type & 0xff) != NFT_MSG_NEWCHAIN ||
	    mnl_attr_parse(nlh, sizeof(struct nfgenmsg), chain_attr, tb) < 0 ||
	    !tb[NFTA_CHAIN_TABLE] || !tb[NFTA_CHAIN_NAME] ||
	    mnl_attr_validate(tb[NFTA_CHAIN_TABLE], MNL_TYPE_NUL_STRING) < 0 ||
	    mnl_attr_validate(tb[NFTA_CHAIN_NAME], MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_OK;
	/* The kernel does not filter chain dumps by table: the other tables' are skipped here. */
	if (strcmp(mnl_attr_get_str(tb[NFTA_CHAIN_TABLE]), w->table) != 0)
		return MNL_CB_OK;
	if (lb_nft_names_add(w->names, mnl_attr_get_str(tb[NFTA_CHAIN_NAME])) < 0) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* The table's counter objects: names[i] has packets[i]. */
struct ctrs {
	const char *table;
	struct lb_nft_names names;
	uint64_t *packets; /* names.n entries */
};

static void ctrs_free(struct ctrs *c)
{
	lb_nft_names_free(&c->names);
	free(c->packets);
	c->packets = NULL;
}

/* The table's chain names; none when it does not exist. */
static int chains_dump(struct lb_agent *la, struct lb_nft_names *out)
{
	struct names_of w = {.table = la->table, .names = out};
	struct nftnl_chain *c = nftnl_chain_alloc();
	char buf[512];
	int ret = -EINTR;

	if (!c)
		return -ENOMEM;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, la->table);
	for (int t = 0; t < DUMP_TRIES && ret == -EINTR; t++) {
		struct nlmsghdr *nlh =
		    nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, NFPROTO_IPV4, 0, 0);

		nftnl_chain_nlmsg_build_payload(nlh, c);
		lb_nft_names_free(out); /* what an interrupted dump found */
		ret = nft_sock_dump(la->nft, nlh, on_chain, &w);
	}
	nftnl_chain_free(c);
	return ret == -ENOENT ? 0 : ret;
}

/* The table's counters with their packet counts. */
static int counters_dump(struct lb_agent *la, struct ctrs *acc)
{
	struct nft_counter_val *v = NULL;
	size_t n = 0;
	int ret;

	acc->table = la->table;
	ret = nft_counters_read(la->nft, NFPROTO_IPV4, la->table, &v, &n);
	if (ret < 0 || !n)
		return ret;
	acc->packets = calloc(n, sizeof(*acc->packets));
	if (!acc->packets)
		ret = -ENOMEM;
	for (size_t i = 0; i < n && !ret; i++) {
		ret = lb_nft_names_add(&acc->names, v[i].name);
		if (!ret)
			acc->packets[i] = v[i].packets;
	}
	free(v);
	return ret < 0 ? ret : 0;
}

/* ---- one batch ---- */

/* Names what the kernel refused: "frontends[7] (web): Invalid argument: <kernel text>". */
static void describe(const struct lb_agent *la, const struct lb_config *cfg,
                     const struct nft_error *e, int ret, char *err, size_t errlen, uint64_t *bad_id)
{
	const char *name = NULL;
	char what[LB_NAME_MAX + 48];

	for (size_t i = 0; e->cookie != NFT_COOKIE_NONE && i < cfg->n && !name; i++)
		if (cfg->frontends[i].id == e->cookie)
			name = cfg->frontends[i].name;
	if (name) {
		*bad_id = e->cookie;
		snprintf(what, sizeof(what), "frontends[%" PRIu64 "]%s%s%s", e->cookie,
		         name[0] ? " (" : "", name, name[0] ? ")" : "");
	} else {
		snprintf(what, sizeof(what), "table ip %s", la->table);
	}
	snprintf(err, errlen, "%s: %s%s%s", what, strerror(-ret), e->ext_ack[0] ? ": " : "",
	         e->ext_ack);
}

/*
 * Brings the table to cfg with the checker's view of each backend, unless
 * the kernel is known to hold exactly that already. Takes la->mu held.
 */
static int commit(struct lb_agent *la, const struct lb_config *cfg, char *err, size_t errlen,
                  uint64_t *bad_id)
{
	struct lb_nft_names chains = {0};
	struct ctrs ctrs = {0};
	struct nft_batch *b = NULL;
	struct nft_error nerr = {.cookie = NFT_COOKIE_NONE};
	size_t n_up = backends_total(cfg), at = 0;
	bool *up = NULL;
	int ret = -ENOMEM;

	up = calloc(n_up ? n_up : 1, sizeof(*up));
	if (!up)
		goto fail;
	for (size_t i = 0; i < cfg->n; i++)
		for (size_t k = 0; k < cfg->frontends[i].n_backends; k++, at++)
			up[at] = lb_health_up(la->hc, cfg->frontends[i].id,
			                      cfg->frontends[i].backends[k].addr,
			                      cfg->frontends[i].backends[k].port);
	/* Applying the same twice changes nothing: an empty change is never sent. */
	if (la->known && (cfg == &la->applied || config_same(cfg, &la->applied)) &&
	    n_up == la->n_up && memcmp(up, la->last_up, n_up * sizeof(*up)) == 0) {
		free(up);
		return 0;
	}
	ret = chains_dump(la, &chains);
	if (!ret)
		ret = counters_dump(la, &ctrs);
	if (!ret)
		ret = nft_batch_new(la->nft, &b);
	if (!ret)
		ret = lb_nft_put_apply(b, la->table, cfg, up, &chains, &ctrs.names);
	if (ret < 0) {
		snprintf(err, errlen, "table ip %s: cannot build the change: %s", la->table,
		         strerror(-ret));
		goto fail;
	}
	ret = nft_batch_commit(b, NULL, NULL, &nerr);
	if (ret < 0) {
		describe(la, cfg, &nerr, ret, err, errlen, bad_id);
		/* Lost answers leave the kernel's state unknown; a refusal leaves it as it was. */
		if (ret == -ENOBUFS || ret == -ETIMEDOUT)
			la->known = false;
		goto fail;
	}
	free(la->last_up);
	la->last_up = up;
	la->n_up = n_up;
	up = NULL;
	la->known = true;
fail:
	free(up);
	nft_batch_free(b);
	lb_nft_names_free(&chains);
	ctrs_free(&ctrs);
	return ret;
}

/* Deletes the table: "add table; delete table" works whether or not it exists. */
static int table_delete(struct lb_agent *la)
{
	struct nft_batch *b = NULL;
	struct nft_error e = {0};
	int ret;

	ret = nft_batch_new(la->nft, &b);
	if (!ret)
		ret = lb_nft_put_delete(b, la->table);
	if (!ret)
		ret = nft_batch_commit(b, NULL, NULL, &e);
	nft_batch_free(b);
	if (ret < 0)
		nf_err("lb: cannot delete table ip %s: %s%s%s", la->table, strerror(-ret),
		       e.ext_ack[0] ? ": " : "", e.ext_ack);
	return ret;
}

/* ---- forwarding ---- */

/* Sets /proc/sys/net/ipv4/conf/<ifname>/forwarding to 1 unless it is already. */
static int forward_on(const char *ifname)
{
	char path[96], v = 0;
	int fd, ret = 0;

	/* A name is a path component here: nothing that climbs out of conf/. */
	if (!ifname[0] || strlen(ifname) >= IF_NAMESIZE || strchr(ifname, '/') ||
	    !strcmp(ifname, ".") || !strcmp(ifname, ".."))
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/forwarding", ifname);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (read(fd, &v, 1) == 1 && v == '1')
		goto cleanup;
	if (pwrite(fd, "1\n", 2, 0) != 2)
		ret = -errno;
	else
		nf_info("lb: IPv4 forwarding turned on on %s", ifname);
cleanup:
	close(fd);
	return ret;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * A host with frontends forwards what it DNATs: in from the overlay, and
 * back in from backends reached through another interface. IPv4 checks the
 * forwarding setting of the interface a packet comes in on.
 */
static int forwarding(struct lb_agent *la, const struct lb_config *cfg, char *err, size_t errlen)
{
	size_t n = backends_total(cfg), m = 0, n_done = 0;
	uint32_t *addrs = NULL, *done = NULL, wg_index = 0;
	char ifname[IF_NAMESIZE];
	int ret = 0;

	if (la->wg[0]) {
		ret = forward_on(la->wg);
		if (ret < 0) {
			snprintf(err, errlen, "cannot turn on IPv4 forwarding on %s: %s", la->wg,
			         strerror(-ret));
			return ret;
		}
		wg_index = if_nametoindex(la->wg);
	}
	addrs = malloc((n ? n : 1) * sizeof(*addrs));
	done = malloc((n ? n : 1) * sizeof(*done));
	if (!addrs || !done) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	for (size_t i = 0; i < cfg->n; i++)
		for (size_t k = 0; k < cfg->frontends[i].n_backends; k++)
			addrs[m++] = ntohl(cfg->frontends[i].backends[k].addr.s_addr);
	qsort(addrs, m, sizeof(*addrs), u32_cmp);
	for (size_t i = 0; i < m; i++) {
		struct nf_prefix p = {.family = AF_INET, .len = 32};
		uint32_t oif = 0;
		uint8_t type = 0;
		bool seen = false;
		char a[INET_ADDRSTRLEN];

		if (i > 0 && addrs[i] == addrs[i - 1])
			continue;
		p.addr.v4.s_addr = htonl(addrs[i]);
		inet_ntop(AF_INET, &p.addr.v4, a, sizeof(a));
		if (rtnl_route_get(la->rt, &p, &oif, &type) < 0 || !oif) {
			/* Not this host's to fix: the backend is simply unreachable from here. */
			nf_warn("lb: no route to backend %s", a);
			continue;
		}
		for (size_t j = 0; j < n_done && !seen; j++)
			seen = done[j] == oif;
		if (type == RTN_LOCAL || oif == wg_index || seen)
			continue;
		done[n_done++] = oif;
		if (!if_indextoname(oif, ifname))
			continue; /* gone since the lookup */
		ret = forward_on(ifname);
		if (ret < 0) {
			snprintf(err, errlen,
			         "cannot turn on IPv4 forwarding on %s (towards backend %s): %s",
			         ifname, a, strerror(-ret));
			goto cleanup;
		}
	}
	ret = 0;
cleanup:
	free(addrs);
	free(done);
	return ret;
}

/* ---- health changes ---- */

static void on_health(void *data)
{
	struct lb_agent *la = data;
	char err[256] = "";
	uint64_t bad = 0;
	int ret;

	pthread_mutex_lock(&la->mu);
	if (la->applied.n) {
		ret = commit(la, &la->applied, err, sizeof(err), &bad);
		if (ret < 0)
			nf_err("lb revision %" PRIu64 ": cannot follow a health change: %s",
			       la->applied.revision, err);
	}
	pthread_mutex_unlock(&la->mu);
}

/* ---- the interface ---- */

int lb_agent_open(const char *table, const char *wg_ifname, struct lb_agent **out)
{
	struct lb_agent *la = NULL;
	int ret;

	if (!table || !table[0] || strlen(table) >= TABLE_NAME_MAX ||
	    (wg_ifname && strlen(wg_ifname) >= IF_NAMESIZE))
		return -EINVAL;
	la = calloc(1, sizeof(*la));
	if (!la)
		return -ENOMEM;
	pthread_mutex_init(&la->mu, NULL);
	snprintf(la->table, sizeof(la->table), "%s", table);
	snprintf(la->wg, sizeof(la->wg), "%s", wg_ifname ? wg_ifname : "");
	ret = nft_sock_open(&la->nft);
	if (!ret)
		ret = rtnl_open(&la->rt);
	if (!ret)
		ret = lb_health_open(on_health, la, &la->hc);
	if (ret < 0) {
		lb_agent_close(la);
		return ret;
	}
	*out = la;
	return 0;
}

/* The encoders trust the config's order and ranges: one that did not come through conv_lb is
 * checked. */
static int config_check(const struct lb_config *cfg, char *err, size_t errlen, uint64_t *bad_id)
{
	for (size_t i = 0; i < cfg->n; i++) {
		const struct lb_frontend *f = &cfg->frontends[i];
		bool ok = f->id && (i == 0 || f->id > cfg->frontends[i - 1].id) &&
		          f->proto <= LB_UDP && f->algo <= LB_SOURCE_HASH && f->port &&
		          memchr(f->name, '\0', sizeof(f->name)) &&
		          f->n_backends <= LB_MAX_BACKENDS;

		for (size_t k = 0; ok && k < f->n_backends; k++) {
			const struct lb_backend *b = &f->backends[k];

			ok = b->port && b->weight >= 1 && b->weight <= LB_WEIGHT_MAX &&
			     (k == 0 || ntohl(b[-1].addr.s_addr) < ntohl(b->addr.s_addr) ||
			      (b[-1].addr.s_addr == b->addr.s_addr && b[-1].port < b->port));
		}
		if (!ok) {
			*bad_id = f->id;
			snprintf(err, errlen, "frontends[%" PRIu64 "]: not a valid frontend",
			         f->id);
			return -EINVAL;
		}
	}
	if (cfg->n > LB_MAX_FRONTENDS) {
		snprintf(err, errlen, "frontends: more than %d", LB_MAX_FRONTENDS);
		return -EINVAL;
	}
	return 0;
}

int lb_agent_apply(struct lb_agent *la, const struct lb_config *cfg, char *err, size_t errlen,
                   uint64_t *bad_id)
{
	struct lb_config copy = {0};
	int ret;

	*bad_id = 0;
	if (errlen)
		err[0] = '\0';
	ret = config_check(cfg, err, errlen, bad_id);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&la->mu);
	if (cfg->n == 0) {
		/* Nothing hosted here: no table, so no nat hooks of ours on the packet path. */
		ret = table_delete(la);
		if (ret < 0) {
			snprintf(err, errlen, "cannot delete table ip %s: %s", la->table,
			         strerror(-ret));
			goto cleanup;
		}
		forget(la);
		la->applied.revision = cfg->revision;
		ret = lb_health_set(la->hc, cfg);
		goto cleanup;
	}
	ret = config_copy(&copy, cfg);
	if (ret < 0) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	ret = forwarding(la, cfg, err, errlen);
	if (ret < 0)
		goto cleanup;
	ret = commit(la, cfg, err, errlen, bad_id);
	if (ret < 0)
		goto cleanup;
	lb_config_free(&la->applied);
	la->applied = copy;
	memset(&copy, 0, sizeof(copy));
	/* New backends start up and are checked at once; a down one that stays, stays down. */
	ret = lb_health_set(la->hc, &la->applied);
	if (ret < 0)
		snprintf(err, errlen, "cannot start the health checks: %s", strerror(-ret));
	else
		nf_info("lb revision %" PRIu64 " applied: %zu frontends, %zu backends",
		        cfg->revision, cfg->n, la->n_up);
cleanup:
	pthread_mutex_unlock(&la->mu);
	lb_config_free(&copy);
	return ret;
}

static int report_cmp(const void *a, const void *b)
{
	const struct lb_report *x = a, *y = b;
	uint32_t xa = ntohl(x->addr.s_addr), ya = ntohl(y->addr.s_addr);

	if (x->lb_id != y->lb_id)
		return x->lb_id < y->lb_id ? -1 : 1;
	if (xa != ya)
		return xa < ya ? -1 : 1;
	return (x->port > y->port) - (x->port < y->port);
}

int lb_agent_reports(struct lb_agent *la, struct lb_report **out, size_t *n)
{
	struct ctrs ctrs = {0};
	struct lb_report *r = NULL, *seen = NULL;
	size_t total, at = 0, n_seen = 0;
	int ret = 0;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&la->mu);
	total = backends_total(&la->applied);
	if (!total)
		goto cleanup;
	ret = counters_dump(la, &ctrs);
	if (ret < 0)
		goto cleanup;
	r = calloc(total, sizeof(*r));
	seen = calloc(ctrs.names.n ? ctrs.names.n : 1, sizeof(*seen));
	if (!r || !seen) {
		ret = -ENOMEM;
		goto cleanup;
	}
	/* The counters by (id, address, port), for a lookup per backend. */
	for (size_t i = 0; i < ctrs.names.n; i++)
		if (lb_nft_counter_parse(ctrs.names.v[i], &seen[n_seen].lb_id, &seen[n_seen].addr,
		                         &seen[n_seen].port))
			seen[n_seen++].connections = ctrs.packets[i];
	qsort(seen, n_seen, sizeof(*seen), report_cmp);
	for (size_t i = 0; i < la->applied.n; i++) {
		const struct lb_frontend *f = &la->applied.frontends[i];

		for (size_t k = 0; k < f->n_backends; k++, at++) {
			struct lb_report *x = &r[at];
			const struct lb_report *c;

			x->lb_id = f->id;
			x->addr = f->backends[k].addr;
			x->port = f->backends[k].port;
			x->healthy = lb_health_up(la->hc, f->id, x->addr, x->port);
			c = bsearch(x, seen, n_seen, sizeof(*seen), report_cmp);
			x->connections = c ? c->connections : 0;
		}
	}
	*out = r;
	*n = total;
	r = NULL;
cleanup:
	pthread_mutex_unlock(&la->mu);
	free(r);
	free(seen);
	ctrs_free(&ctrs);
	return ret;
}

int lb_agent_teardown(struct lb_agent *la)
{
	static const struct lb_config none;
	int ret;

	pthread_mutex_lock(&la->mu);
	ret = table_delete(la);
	forget(la);
	lb_health_set(la->hc, &none);
	pthread_mutex_unlock(&la->mu);
	return ret;
}

void lb_agent_close(struct lb_agent *la)
{
	if (!la)
		return;
	/* First, and without the mutex: the checker's callback takes it. */
	lb_health_close(la->hc);
	forget(la);
	rtnl_close(la->rt);
	nft_sock_close(la->nft);
	pthread_mutex_destroy(&la->mu);
	free(la);
}
