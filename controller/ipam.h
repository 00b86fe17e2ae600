/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Overlay addresses in use in a network, whoever holds them: nodes, load
 * balancer vips and external clients. Every allocation (enrollment, a vip
 * picked with "auto", a client) goes through here, so none can hand out an
 * address another kind of holder has.
 */
#ifndef NETFN_CONTROLLER_IPAM_H
#define NETFN_CONTROLLER_IPAM_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "controller/store/store.h"

/* Every address held in network_id; *out is malloc'd (NULL when none). */
int ipam_used(struct store *s, int64_t network_id, struct in_addr **out, size_t *n);

/* Whether addr (network byte order) is held by anyone in network_id; -errno on a store error. */
int ipam_taken(struct store *s, int64_t network_id, uint32_t addr, bool *taken);

/* The lowest free host address of net's CIDR; -ENOSPC when full. */
int ipam_alloc(struct store *s, const struct st_network *net, struct in_addr *out);

#endif
