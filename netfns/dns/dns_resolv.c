// SPDX-License-Identifier: Apache-2.0
/*
 * The VM's resolver (see dns_resolv.h): which backend applies, decided at
 * every call since either side can change under a running agent (resolved
 * installed or stopped, resolv.conf re-linked), and the undoing of the other
 * backend's settings when the choice changes.
 */
#include "netfns/dns/dns_resolv.h"

#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netfns/common/log.h"

#define RESOLVED_DIR "/run/systemd/resolve/"

struct dns_resolver {
	char path[PATH_MAX];
	bool use_resolved;
	struct dns_resolved *rd; /* connected while resolved is the backend */
	int set_ifindex;         /* the link this process gave settings to; 0: none */
	bool reverted;           /* nothing of ours on any link: no call needed to remove it */
	const char *mode;
};

int dns_resolver_open(const char *resolv_conf, bool use_resolved, struct dns_resolver **out)
{
	struct dns_resolver *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	snprintf(r->path, sizeof(r->path), "%s", resolv_conf ? resolv_conf : DNS_RESOLV_CONF);
	r->use_resolved = use_resolved;
	r->mode = "";
	*out = r;
	return 0;
}

/* Whether path leads into resolved's run directory, as its stub or its upstream list. */
static bool leads_to_resolved(const char *path)
{
	char target[PATH_MAX], *real;
	struct stat st;
	ssize_t n;
	bool yes;

	if (lstat(path, &st) < 0 || !S_ISLNK(st.st_mode))
		return false;
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	if (strstr(target, RESOLVED_DIR))
		return true;
	/* Relative ("../run/systemd/resolve/stub-resolv.conf"): resolved it whole. */
	real = realpath(path, NULL);
	yes = real && strncmp(real, RESOLVED_DIR, sizeof(RESOLVED_DIR) - 1) == 0;
	free(real);
	return yes;
}

/* Whether resolved is the backend now; connects to it when it is. */
static bool resolved_applies(struct dns_resolver *r)
{
	if (!r->use_resolved || !leads_to_resolved(r->path)) {
		dns_resolved_close(r->rd);
		r->rd = NULL;
		return false;
	}
	if (r->rd && dns_resolved_running(r->rd))
		return true;
	dns_resolved_close(r->rd);
	r->rd = NULL;
	return dns_resolved_open(&r->rd) == 0;
}

static int resolved_set(struct dns_resolver *r, const char *ifname, const char *zone,
                        const struct in_addr *servers, size_t n, char *err, size_t errlen)
{
	int ifindex = ifname && ifname[0] ? (int)if_nametoindex(ifname) : 0;
	int ret;

	if (n == 0) {
		/* Ours to revert: the link this process set, else the overlay's own link. */
		int target = r->set_ifindex ? r->set_ifindex : ifindex;

		if (!target || r->reverted)
			return 0;
		ret = dns_resolved_revert(r->rd, target, err, errlen);
		if (ret == 0) {
			r->set_ifindex = 0;
			r->reverted = true;
		}
		return ret;
	}
	if (!ifindex) {
		snprintf(err, errlen, "systemd-resolved: the overlay link %s does not exist",
		         ifname && ifname[0] ? ifname : "(none)");
		return -ENODEV;
	}
	/* Set before the call: a failure half way leaves something to revert. */
	r->reverted = false;
	ret = dns_resolved_set(r->rd, ifindex, zone, servers, n, err, errlen);
	if (ret == 0)
		r->set_ifindex = ifindex;
	return ret;
}

int dns_resolver_set(struct dns_resolver *r, const char *ifname, const char *zone,
                     const struct in_addr *servers, size_t n, char *err, size_t errlen)
{
	char *block = NULL;
	int ret;

	if (!zone || !zone[0])
		n = 0;
	if (resolved_applies(r)) {
		if (strcmp(r->mode, "resolved") != 0)
			nf_info("dns: the VM's resolver is systemd-resolved: split DNS on %s",
			        ifname ? ifname : "(none)");
		r->mode = "resolved";
		return resolved_set(r, ifname, zone, servers, n, err, errlen);
	}
	if (strcmp(r->mode, "resolv.conf") != 0)
		nf_info("dns: the VM's resolver reads %s: a managed block there", r->path);
	r->mode = "resolv.conf";
	if (r->set_ifindex)
		nf_info("dns: systemd-resolved is no longer the VM's resolver; its link settings "
		        "stay until it restarts");
	r->set_ifindex = 0;
	if (n) {
		ret = dns_resolvconf_block(zone, servers, n, &block);
		if (ret < 0) {
			snprintf(err, errlen, "cannot make the resolv.conf block: %s",
			         strerror(-ret));
			return ret;
		}
	}
	ret = dns_resolvconf_apply(r->path, block, err, errlen);
	free(block);
	return ret;
}

const char *dns_resolver_path(const struct dns_resolver *r)
{
	return r->path;
}

const char *dns_resolver_mode(const struct dns_resolver *r)
{
	return r->mode;
}

void dns_resolver_close(struct dns_resolver *r)
{
	if (!r)
		return;
	dns_resolved_close(r->rd);
	free(r);
}
