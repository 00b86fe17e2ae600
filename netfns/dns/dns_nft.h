/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside the DNS function's agent half: the agent's own nftables table (family
 * ip) that steers port 53 of the listen address to the dnsmasq slot that is
 * active, on port P:
 *
 *   steer (filter, prerouting, mangle -150):
 *     ip daddr 10.99.0.2 udp dport 53 udp dport set P
 *   answer (filter, output, raw -300), for every slot's port:
 *     ip saddr 10.99.0.2 udp sport 5301 udp sport set 53
 *   prerouting, output (nat, -100):
 *     ip daddr 10.99.0.2 tcp dport 53 dnat to 10.99.0.2:P
 *
 * UDP is steered without NAT, packet by packet: a NAT binding would stick to
 * a client's (address, port) for as long as it keeps sending, so a resolver
 * that reuses its port, or a random port that comes round again, would still
 * reach the old slot after the flip and be refused once that slot stops.
 * Rewritten this way, every query after the flip reaches the new slot, and
 * an answer from either slot leaves from port 53; conntrack sees port 53 on
 * both sides (the query is rewritten after it, the answer before). The node's
 * own queries loop through lo and prerouting like a peer's. TCP keeps NAT:
 * there the binding is what keeps a connection open across the flip on the
 * slot it started with.
 *
 * Pure (no socket): the batch is built for nft.c to send, and unit tests parse
 * it back.
 */
#ifndef NETFN_DNS_DNS_NFT_H
#define NETFN_DNS_DNS_NFT_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "netfns/firewall/nft.h"

/*
 * The messages that bring table to steering port 53 of listen to port, with
 * answers from each of ports[0, n_ports) (every slot's) leaving from port 53,
 * in one transaction: the table and base chains created if missing, their
 * rules flushed and added again. Packets see the old rules or the new, never
 * none.
 */
int dns_nft_put_apply(struct nft_batch *b, const char *table, struct in_addr listen, uint16_t port,
                      const uint16_t *ports, size_t n_ports);

/* Removes table whether or not it exists ("add table; delete table"). */
int dns_nft_put_delete(struct nft_batch *b, const char *table);

#endif
