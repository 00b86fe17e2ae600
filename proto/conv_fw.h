/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The edge between protobuf and the firewall's plain C config. from_pb
 * validates every field of a FirewallSection (it runs on the agent, on data
 * that crossed the network) and names the offending rule and field; to_pb
 * is used by the controller on what it compiled.
 */
#ifndef NETFN_PROTO_CONV_FW_H
#define NETFN_PROTO_CONV_FW_H

#include <stddef.h>
#include <stdint.h>

#include "netfns/firewall/fw.h"
#include "proto/netfn.pb-c.h"

/* Fills out from pb; -EINVAL with "rules[ID].field: reason" in err and *bad_rule. */
int conv_fw_from_pb(const Netfn__FirewallSection *pb, struct fw_config *out, char *err,
                    size_t errlen, uint64_t *bad_rule);

/* Builds a malloc'd FirewallSection from cfg; free with conv_fw_pb_free. */
int conv_fw_to_pb(const struct fw_config *cfg, Netfn__FirewallSection **out);

/* Frees what conv_fw_to_pb built; accepts NULL. */
void conv_fw_pb_free(Netfn__FirewallSection *pb);

#endif
