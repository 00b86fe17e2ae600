/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside the load balancer's agent half: how an lb_config (with each
 * backend's health) becomes the agent's own nftables table, family ip. The
 * table holds three nat base chains (prerouting, output, postrouting), one
 * chain per frontend ("fe7") whose one rule picks a backend through an
 * anonymous interval verdict map, one chain per backend ("be7_0") that counts
 * the new connection in the backend's named counter and DNATs it, and per
 * frontend one masquerade in postrouting for the connections it DNATed whose
 * source is not an address of the interface they leave by. Everything here is pure (no socket): the
 * batch is built for nft.c to send, and unit tests parse it back.
 */
#ifndef NETFN_LB_LB_NFT_H
#define NETFN_LB_LB_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netfns/firewall/nft.h"
#include "netfns/lb/lb.h"

/* Room for any chain or counter name made below, with its NUL. */
#define LB_NFT_NAME_MAX 64

/* Chain or counter names, as a dump of the table found them. */
struct lb_nft_names {
	size_t n, cap;
	char **v; /* malloc'd copies, of any length the kernel allows */
};

/* Adds a copy of name; -ENOMEM. */
int lb_nft_names_add(struct lb_nft_names *l, const char *name);

/* Frees what l holds and zeroes it. */
void lb_nft_names_free(struct lb_nft_names *l);

/* The chain of frontend id: "fe7". */
void lb_nft_fe_chain(uint64_t id, char *buf);

/* The chain of backend k (its index in the frontend's sorted list): "be7_0". */
void lb_nft_be_chain(uint64_t id, size_t k, char *buf);

/* The counter of one (frontend, backend): "c7_10_99_0_2_8080". */
void lb_nft_counter_name(uint64_t id, struct in_addr addr, uint16_t port, char *buf);

/* Reads a counter name back; false when it is not one lb_nft_counter_name makes. */
bool lb_nft_counter_parse(const char *name, uint64_t *id, struct in_addr *addr, uint16_t *port);

/* The jhash seed of a source-hash frontend: fixed per id, so clients keep their backend. */
uint32_t lb_nft_seed(uint64_t id);

/*
 * All the messages that bring table (family ip) from what it holds (chains
 * and counters, as dumped; NULL: nothing) to cfg, as one transaction: the
 * table and base chains created if missing, every rule flushed, the wanted
 * chains and counters created if missing (existing counters keep their
 * values), every rule added again, and the chains and counters no longer
 * wanted deleted. up[i] says whether backend i is up, counting the backends
 * of all frontends in order (NULL: all up). A message's cookie is the id of
 * the frontend it serves, 0 for the table's own. -ENOMEM or -EINVAL (a value
 * the encoders cannot hold); the batch is then unusable.
 */
int lb_nft_put_apply(struct nft_batch *b, const char *table, const struct lb_config *cfg,
                     const bool *up, const struct lb_nft_names *chains,
                     const struct lb_nft_names *counters);

/* Removes table whether or not it exists ("add table; delete table"). */
int lb_nft_put_delete(struct nft_batch *b, const char *table);

#endif
