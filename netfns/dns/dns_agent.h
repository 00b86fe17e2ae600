/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The overlay DNS function's agent half: keeps the VM's resolver pointed at
 * the zone's servers (dns_resolv.h) and, on a node the scheduler made a
 * server, dnsmasq answering for the zone on the node's overlay address
 * (dns_server.h) behind a port 53 redirect of its own (dns_nft.h).
 *
 * A record change starts the idle dnsmasq slot with the new records, waits
 * until it answers, moves port 53 to it in one nftables transaction and stops
 * the old slot only after a drain: queries already sent to the old one still
 * get their answer, so no lookup fails. A thread of its own ends drains and,
 * every few seconds, puts back what went missing (a dnsmasq that died,
 * resolver settings that resolved forgot or a DHCP client overwrote) and
 * follows changes of the VM's upstream resolvers. Applies and that thread
 * take turns on a mutex.
 */
#ifndef NETFN_DNS_DNS_AGENT_H
#define NETFN_DNS_DNS_AGENT_H

#include <stdbool.h>
#include <stddef.h>

#include "netfns/dns/dns.h"

struct dns_agent;

struct dns_agent_opts {
	const char *dir;         /* dnsmasq's files (made 0700 when missing); NULL: never serves */
	const char *wg_ifname;   /* the overlay's link, for systemd-resolved */
	const char *table;       /* the nftables table of the redirect (family ip) */
	const char *resolv_conf; /* NULL: /etc/resolv.conf */
	bool no_resolved;        /* never use systemd-resolved (tests) */
	int drain_ms;            /* how long an old slot keeps answering; 0: 30 s */
	int recheck_ms;          /* how often settings are checked again; 0: 10 s */
};

/* Prepares the function and starts its thread; changes nothing. */
int dns_agent_open(const struct dns_agent_opts *o, struct dns_agent **out);

/*
 * Brings the node to cfg: resolver settings for the zone (none when its zone
 * is ""), and dnsmasq for it when cfg->serve. On failure err says why; what
 * served before keeps serving.
 */
int dns_agent_apply(struct dns_agent *da, const struct dns_config *cfg, char *err, size_t errlen);

/* Stops dnsmasq now, deletes the table, removes the resolver settings and the files. */
int dns_agent_teardown(struct dns_agent *da);

/* Stops the thread, leaving dnsmasq and every setting as they are; accepts NULL. */
void dns_agent_close(struct dns_agent *da);

#endif
