/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside the DNS function's agent half: dnsmasq serving the zone. There are
 * two "slots", each a dnsmasq of its own on the listen address and a port of
 * its own (DNS_SLOT_PORT + slot), with its config and pid file in the
 * agent's dns directory:
 *
 *   slot0.conf slot0.pid slot1.conf slot1.pid active
 *
 * A change starts the idle slot with the new config, and dns_agent.c moves
 * port 53 over to it once it answers; "active" names the slot port 53 goes
 * to. dnsmasq daemonises itself and runs in its own session, so it outlives
 * the agent; a restarted agent finds it again through its pid file, checked
 * against the process's command line.
 */
#ifndef NETFN_DNS_DNS_SERVER_H
#define NETFN_DNS_DNS_SERVER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "netfns/dns/dns.h"

#define DNS_SERVER_PROGRAM "/usr/sbin/dnsmasq"
#define DNS_UPSTREAMS_MAX  8
#define DNS_START_MS       5000 /* to start and answer a first query */

/* What a slot's config says besides the records. */
struct dns_server_opts {
	const char *dir; /* where the pid file goes */
	int slot;
	size_t n_upstreams;
	const char (*upstreams)[INET6_ADDRSTRLEN]; /* forwarded to: the VM's resolvers */
	bool keep_user; /* no CAP_SETUID/CAP_SETGID: dnsmasq keeps the agent's user */
};

/* Whether dir can be named in dnsmasq's config and argv as it is (letters, digits, "/._-"). */
bool dns_server_dir_ok(const char *dir);

/*
 * dnsmasq's config for cfg (zone, listen address, records) in the slot of o,
 * into a malloc'd string. Only canonical values reach it (see dns.c), and TXT
 * text is quoted and escaped as dnsmasq reads it.
 */
int dns_server_render(const struct dns_config *cfg, const struct dns_server_opts *o, char **out,
                      size_t *len);

/* Whether the agent may switch users (CAP_SETUID and CAP_SETGID in effect). */
bool dns_server_can_switch_user(void);

/* The pid of slot's dnsmasq if it runs, else 0. */
pid_t dns_server_running(const char *dir, int slot);

/* Whether slot's config file holds exactly conf. */
bool dns_server_conf_same(const char *dir, int slot, const char *conf, size_t len);

/*
 * Writes slot's config file and starts its dnsmasq, which is running and
 * bound when this returns; err has dnsmasq's own words when it is not.
 */
int dns_server_start(const char *dir, int slot, const char *conf, size_t len, pid_t *pid, char *err,
                     size_t errlen);

/* Stops slot's dnsmasq if it runs (TERM, then KILL after a second) and removes its pid file. */
int dns_server_stop(const char *dir, int slot);

/* Removes slot's config and pid file. */
void dns_server_forget(const char *dir, int slot);

/*
 * Asks addr:port for (name, type) until an answer comes, or timeout_ms passes
 * (-ETIMEDOUT); with want_records, an answer without records is -ENODATA.
 */
int dns_server_probe(struct in_addr addr, uint16_t port, const char *name, enum dns_type type,
                     bool want_records, int timeout_ms);

/* A query for (name, qtype) with id into buf; its length, or -EINVAL. */
int dns_query_build(uint16_t id, const char *name, uint16_t qtype, uint8_t *buf, size_t size);

/* Reads a reply's header: 0 when it answers id, with its rcode and answer count. */
int dns_reply_read(const uint8_t *buf, size_t len, uint16_t id, int *rcode, int *ancount);

/* The slot in the "active" file of dir, or -1. */
int dns_server_active_load(const char *dir);

/* Writes the "active" file (slot -1 removes it). */
int dns_server_active_save(const char *dir, int slot);

#endif
