// SPDX-License-Identifier: Apache-2.0
/*
 * The systemd-resolved backend of the VM's resolver (see dns_resolv.h),
 * through resolved's D-Bus API (org.freedesktop.resolve1.Manager) with
 * sd-bus. On the WireGuard link it sets the overlay's servers, the routing
 * domain "~zone" (queries for the zone go to that link's servers, nothing
 * else does), DefaultRoute off (so that resolved never sends the VM's other
 * names there), and the zone as a DNSSEC negative trust anchor (a private
 * zone has no delegation, so a validating resolved would call its answers
 * bogus). That is split DNS: the VM's other lookups keep their servers.
 *
 * resolved forgets per-link settings when it restarts or the link is made
 * again, so the agent sets them again whenever they differ; reading them
 * first keeps an unchanged config from flushing resolved's caches.
 */
#include "netfns/dns/dns_resolv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <systemd/sd-bus.h>

#define RESOLVE1        "org.freedesktop.resolve1"
#define RESOLVE1_PATH   "/org/freedesktop/resolve1"
#define RESOLVE1_MGR    "org.freedesktop.resolve1.Manager"
#define RESOLVE1_LINK   "org.freedesktop.resolve1.Link"
#define CALL_TIMEOUT_US (5 * 1000 * 1000ULL) /* a wedged resolved must not wedge the agent */

struct dns_resolved {
	sd_bus *bus;
};

static int connect_bus(struct dns_resolved *rd)
{
	int ret;

	rd->bus = sd_bus_flush_close_unref(rd->bus);
	ret = sd_bus_open_system_with_description(&rd->bus, "netfn-agent");
	if (ret < 0) {
		rd->bus = NULL;
		return ret;
	}
	sd_bus_set_method_call_timeout(rd->bus, CALL_TIMEOUT_US);
	return 0;
}

/* Whether name has an owner on the bus; negative errno when the bus does not answer. */
static int has_owner(struct dns_resolved *rd, const char *name)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int owned = 0, ret;

	ret = sd_bus_call_method(rd->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
	                         "org.freedesktop.DBus", "NameHasOwner", &e, &reply, "s", name);
	if (ret >= 0)
		ret = sd_bus_message_read(reply, "b", &owned);
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	return ret < 0 ? ret : owned;
}

int dns_resolved_open(struct dns_resolved **out)
{
	struct dns_resolved *rd = calloc(1, sizeof(*rd));
	int ret;

	if (!rd)
		return -ENOMEM;
	ret = connect_bus(rd);
	if (ret == 0) {
		ret = has_owner(rd, RESOLVE1);
		ret = ret == 1 ? 0 : ret == 0 ? -ENOENT : ret;
	}
	if (ret < 0) {
		dns_resolved_close(rd);
		return ret;
	}
	*out = rd;
	return 0;
}

bool dns_resolved_running(struct dns_resolved *rd)
{
	int ret = has_owner(rd, RESOLVE1);

	/* The bus itself restarted: one reconnect. */
	if (ret < 0 && connect_bus(rd) == 0)
		ret = has_owner(rd, RESOLVE1);
	return ret == 1;
}

/* Fills err with what the call said; returns ret. */
static int bus_fail(int ret, const sd_bus_error *e, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "systemd-resolved: %s: %s", what,
	         sd_bus_error_is_set(e) && e->message ? e->message : strerror(-ret));
	return ret;
}

/* The link's object path; -ENXIO when resolved does not know the link. */
static int link_path(struct dns_resolved *rd, int ifindex, char **path, sd_bus_error *e)
{
	sd_bus_message *reply = NULL;
	const char *p = NULL;
	int ret;

	ret = sd_bus_call_method(rd->bus, RESOLVE1, RESOLVE1_PATH, RESOLVE1_MGR, "GetLink", e,
	                         &reply, "i", ifindex);
	if (ret >= 0)
		ret = sd_bus_message_read(reply, "o", &p);
	if (ret >= 0) {
		*path = strdup(p);
		ret = *path ? 0 : -ENOMEM;
	}
	sd_bus_message_unref(reply);
	return ret;
}

/* Whether the link's DNS property is exactly servers, in order. */
static bool dns_same(struct dns_resolved *rd, const char *path, const struct in_addr *servers,
                     size_t n)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	size_t k = 0;
	bool same = true;
	int ret;

	ret = sd_bus_get_property(rd->bus, RESOLVE1, path, RESOLVE1_LINK, "DNS", &e, &reply,
	                          "a(iay)");
	if (ret >= 0)
		ret = sd_bus_message_enter_container(reply, 'a', "(iay)");
	while (ret >= 0 && same && (ret = sd_bus_message_enter_container(reply, 'r', "iay")) > 0) {
		int32_t family = 0;
		const void *data = NULL;
		size_t size = 0;

		ret = sd_bus_message_read(reply, "i", &family);
		if (ret >= 0)
			ret = sd_bus_message_read_array(reply, 'y', &data, &size);
		if (ret >= 0)
			ret = sd_bus_message_exit_container(reply);
		same = ret >= 0 && k < n && family == AF_INET && size == 4 &&
		       memcmp(data, &servers[k], 4) == 0;
		k++;
	}
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	return ret >= 0 && same && k == n;
}

/* Whether the link's Domains are exactly the routing domain zone. */
static bool domains_same(struct dns_resolved *rd, const char *path, const char *zone)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	size_t k = 0;
	bool same = true;
	int ret;

	ret = sd_bus_get_property(rd->bus, RESOLVE1, path, RESOLVE1_LINK, "Domains", &e, &reply,
	                          "a(sb)");
	if (ret >= 0)
		ret = sd_bus_message_enter_container(reply, 'a', "(sb)");
	while (ret >= 0 && same && (ret = sd_bus_message_enter_container(reply, 'r', "sb")) > 0) {
		const char *name = NULL;
		int routing = 0;

		ret = sd_bus_message_read(reply, "sb", &name, &routing);
		if (ret >= 0)
			ret = sd_bus_message_exit_container(reply);
		same = ret >= 0 && k == 0 && routing && strcmp(name, zone) == 0;
		k++;
	}
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	return ret >= 0 && same && k == 1;
}

static bool others_same(struct dns_resolved *rd, const char *path, const char *zone)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char **nta = NULL;
	int def = 1;
	bool same;

	same = sd_bus_get_property_trivial(rd->bus, RESOLVE1, path, RESOLVE1_LINK, "DefaultRoute",
	                                   &e, 'b', &def) >= 0 &&
	       !def;
	sd_bus_error_free(&e);
	same = same &&
	       sd_bus_get_property_strv(rd->bus, RESOLVE1, path, RESOLVE1_LINK,
	                                "DNSSECNegativeTrustAnchors", &e, &nta) >= 0 &&
	       nta && nta[0] && !nta[1] && strcmp(nta[0], zone) == 0;
	for (size_t i = 0; nta && nta[i]; i++)
		free(nta[i]);
	free(nta);
	sd_bus_error_free(&e);
	return same;
}

static int set_dns(struct dns_resolved *rd, int ifindex, const struct in_addr *servers, size_t n,
                   sd_bus_error *e)
{
	sd_bus_message *m = NULL;
	int ret;

	ret = sd_bus_message_new_method_call(rd->bus, &m, RESOLVE1, RESOLVE1_PATH, RESOLVE1_MGR,
	                                     "SetLinkDNS");
	if (ret >= 0)
		ret = sd_bus_message_append(m, "i", ifindex);
	if (ret >= 0)
		ret = sd_bus_message_open_container(m, 'a', "(iay)");
	for (size_t i = 0; i < n && ret >= 0; i++) {
		ret = sd_bus_message_open_container(m, 'r', "iay");
		if (ret >= 0)
			ret = sd_bus_message_append(m, "i", (int32_t)AF_INET);
		if (ret >= 0)
			ret = sd_bus_message_append_array(m, 'y', &servers[i], 4);
		if (ret >= 0)
			ret = sd_bus_message_close_container(m);
	}
	if (ret >= 0)
		ret = sd_bus_message_close_container(m);
	if (ret >= 0)
		ret = sd_bus_call(rd->bus, m, 0, e, NULL);
	sd_bus_message_unref(m);
	return ret;
}

int dns_resolved_set(struct dns_resolved *rd, int ifindex, const char *zone,
                     const struct in_addr *servers, size_t n, char *err, size_t errlen)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char *path = NULL;
	int ret;

	ret = link_path(rd, ifindex, &path, &e);
	if (ret < 0) {
		bus_fail(ret, &e, "cannot find the link", err, errlen);
		goto cleanup;
	}
	if (dns_same(rd, path, servers, n) && domains_same(rd, path, zone) &&
	    others_same(rd, path, zone))
		goto cleanup;
	ret = set_dns(rd, ifindex, servers, n, &e);
	if (ret < 0) {
		bus_fail(ret, &e, "SetLinkDNS", err, errlen);
		goto cleanup;
	}
	ret = sd_bus_call_method(rd->bus, RESOLVE1, RESOLVE1_PATH, RESOLVE1_MGR, "SetLinkDomains",
	                         &e, NULL, "ia(sb)", ifindex, 1, zone, 1);
	if (ret < 0) {
		bus_fail(ret, &e, "SetLinkDomains", err, errlen);
		goto cleanup;
	}
	ret = sd_bus_call_method(rd->bus, RESOLVE1, RESOLVE1_PATH, RESOLVE1_MGR,
	                         "SetLinkDefaultRoute", &e, NULL, "ib", ifindex, 0);
	if (ret < 0) {
		bus_fail(ret, &e, "SetLinkDefaultRoute", err, errlen);
		goto cleanup;
	}
	ret = sd_bus_call_method(rd->bus, RESOLVE1, RESOLVE1_PATH, RESOLVE1_MGR,
	                         "SetLinkDNSSECNegativeTrustAnchors", &e, NULL, "ias", ifindex, 1,
	                         zone);
	if (ret < 0)
		bus_fail(ret, &e, "SetLinkDNSSECNegativeTrustAnchors", err, errlen);
cleanup:
	free(path);
	sd_bus_error_free(&e);
	return ret < 0 ? ret : 0;
}

int dns_resolved_revert(struct dns_resolved *rd, int ifindex, char *err, size_t errlen)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int ret;

	ret = sd_bus_call_method(rd->bus, RESOLVE1, RESOLVE1_PATH, RESOLVE1_MGR, "RevertLink", &e,
	                         NULL, "i", ifindex);
	/* A link that is gone took its settings with it. */
	if (ret < 0 && sd_bus_error_has_name(&e, "org.freedesktop.resolve1.NoSuchLink"))
		ret = 0;
	if (ret < 0)
		bus_fail(ret, &e, "RevertLink", err, errlen);
	sd_bus_error_free(&e);
	return ret < 0 ? ret : 0;
}

void dns_resolved_close(struct dns_resolved *rd)
{
	if (!rd)
		return;
	sd_bus_flush_close_unref(rd->bus);
	free(rd);
}
