/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside the DNS function's agent half: the VM's own resolver, pointed at the
 * overlay's servers for the zone. Two backends, picked at each call:
 *
 *   resolved    systemd-resolved runs (org.freedesktop.resolve1 is on the
 *               system bus) and /etc/resolv.conf leads to it (a symlink into
 *               /run/systemd/resolve/): the servers and the routing domain
 *               "~zone" are set on the WireGuard link through its D-Bus API,
 *               which is real split DNS (dns_resolved.c).
 *   resolv.conf anything else: a managed block at the top of /etc/resolv.conf
 *               holding a nameserver line per server (dns_resolvconf.c).
 *
 * Both are idempotent (nothing is written when the settings are already
 * there) and both are undone exactly.
 */
#ifndef NETFN_DNS_DNS_RESOLV_H
#define NETFN_DNS_DNS_RESOLV_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#define DNS_RESOLV_CONF "/etc/resolv.conf"

/* The managed block's first line starts with this, its last line is DNS_BLOCK_END. */
#define DNS_BLOCK_BEGIN "# netfn-agent begin:"
#define DNS_BLOCK_END   "# netfn-agent end"

/* The largest resolv.conf read: glibc reads far less, anything bigger is not one. */
#define DNS_RESOLV_MAX (1u << 20)

struct dns_resolver;

/*
 * Opens the resolver settings of the VM: resolv_conf is the file the block
 * goes in (NULL: /etc/resolv.conf), use_resolved false never uses
 * systemd-resolved (tests). Changes nothing.
 */
int dns_resolver_open(const char *resolv_conf, bool use_resolved, struct dns_resolver **out);

/*
 * Makes the VM resolve zone through servers (over link ifname); n 0 or zone ""
 * removes our settings. Does nothing when they are in place already. err
 * says what failed.
 */
int dns_resolver_set(struct dns_resolver *r, const char *ifname, const char *zone,
                     const struct in_addr *servers, size_t n, char *err, size_t errlen);

/* The resolv.conf this resolver reads (and writes in its resolv.conf mode). */
const char *dns_resolver_path(const struct dns_resolver *r);

/* "resolved" or "resolv.conf": the backend the last set used; "" before any. */
const char *dns_resolver_mode(const struct dns_resolver *r);

/* Closes, leaving the settings as they are; accepts NULL. */
void dns_resolver_close(struct dns_resolver *r);

/* ---- the resolv.conf block (dns_resolvconf.c) ---- */

/* The block for zone and servers, "\n"-terminated lines, into a malloc'd string. */
int dns_resolvconf_block(const char *zone, const struct in_addr *servers, size_t n, char **out);

/*
 * The file text in[0, len) with its block replaced by block (where the
 * first block was; at the top when there was none), or with every block
 * removed (block NULL). *out is malloc'd, *changed says whether it differs.
 * -EBADMSG for a begin line without its end.
 */
int dns_resolvconf_edit(const char *in, size_t len, const char *block, char **out, size_t *outlen,
                        bool *changed);

/*
 * The nameservers of resolv.conf text outside our block, as dnsmasq server=
 * values, skipping the addresses in skip[0, n_skip) (IPv4) and any
 * link-local address with a scope. Up to max, into out[max][INET6_ADDRSTRLEN];
 * returns how many.
 */
size_t dns_resolvconf_upstreams(const char *in, size_t len, const struct in_addr *skip,
                                size_t n_skip, char (*out)[INET6_ADDRSTRLEN], size_t max);

/* Reads path whole into a malloc'd, NUL-terminated buffer; -EFBIG past DNS_RESOLV_MAX. */
int dns_resolvconf_read(const char *path, char **out, size_t *len);

/*
 * Writes text as the new content of path: through a temporary file and a
 * rename when path is a plain file, in place when it is a symlink or a
 * mount point (ip netns bind-mounts /etc/netns/NS/resolv.conf over it, and
 * a rename onto a mount point fails), keeping its mode and owner.
 */
int dns_resolvconf_write(const char *path, const char *text, size_t len);

/* Brings path to carrying block (NULL: none); err says what failed. */
int dns_resolvconf_apply(const char *path, const char *block, char *err, size_t errlen);

/* ---- systemd-resolved (dns_resolved.c) ---- */

struct dns_resolved;

/* Connects to the system bus; -ENOENT when resolved is not on it. */
int dns_resolved_open(struct dns_resolved **out);

/* Whether resolved is (still) on the bus. */
bool dns_resolved_running(struct dns_resolved *rd);

/*
 * Sets on link ifindex: servers, the routing-only domain "~zone", not the
 * default route, and zone as a DNSSEC negative trust anchor (a private zone
 * has no delegation to validate); unless the link has them already.
 */
int dns_resolved_set(struct dns_resolved *rd, int ifindex, const char *zone,
                     const struct in_addr *servers, size_t n, char *err, size_t errlen);

/* Reverts every per-link setting of ifindex; a link that is gone is no error. */
int dns_resolved_revert(struct dns_resolved *rd, int ifindex, char *err, size_t errlen);

/* Closes the bus connection; accepts NULL. */
void dns_resolved_close(struct dns_resolved *rd);

#endif
