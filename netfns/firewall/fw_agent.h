/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent half of the firewall: owns exactly one nftables table (inet
 * netfn by default) and never creates, changes or flushes any other. Each
 * revision is applied as one nftables transaction (a batch that replaces the
 * table's contents), so there is never a moment with half a policy or none;
 * a revision the kernel rejects leaves the previous one in force, and the
 * error is mapped back to the rule that caused it.
 */
#ifndef NETFN_FIREWALL_FW_AGENT_H
#define NETFN_FIREWALL_FW_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "netfns/firewall/fw.h"

struct fw_agent;

/* Opens the nftables channel for table (in family inet); creates nothing yet. */
int fw_agent_open(const char *table, struct fw_agent **out);

/*
 * Applies cfg in one transaction. On failure returns -errno, writes the
 * reason into err and the offending rule's id into *bad_rule (0 when the
 * failure is not one rule's), and the previous revision stays in force.
 */
int fw_agent_apply(struct fw_agent *fa, const struct fw_config *cfg, char *err, size_t errlen,
                   uint64_t *bad_rule);

/*
 * Reads the per-rule counters of the applied revision from the agent's own
 * table only; *out is malloc'd (one entry per rule id).
 */
int fw_agent_counters(struct fw_agent *fa, struct fw_counter **out, size_t *n);

/* Deletes the agent's table (for --cleanup-on-exit). */
int fw_agent_teardown(struct fw_agent *fa);

/* Frees the handle, leaving the table as it is; accepts NULL. */
void fw_agent_close(struct fw_agent *fa);

#endif
