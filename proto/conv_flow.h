/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The edge between protobuf and the flow filters' plain C config. from_pb
 * validates every field of a FlowSection (it runs on the agent, on data
 * that crossed the network) and names the offending filter and field; to_pb
 * is used by the controller on what it compiled.
 */
#ifndef NETFN_PROTO_CONV_FLOW_H
#define NETFN_PROTO_CONV_FLOW_H

#include <stddef.h>

#include "netfns/flow/flow.h"
#include "proto/netfn.pb-c.h"

/* Fills out from pb (sorted by id); -EINVAL with "filters[ID].field: reason" in err. */
int conv_flow_from_pb(const Netfn__FlowSection *pb, struct flow_config *out, char *err,
                      size_t errlen);

/* Builds a malloc'd FlowSection from cfg; free with conv_flow_pb_free. */
int conv_flow_to_pb(const struct flow_config *cfg, Netfn__FlowSection **out);

/* Frees what conv_flow_to_pb built; accepts NULL. */
void conv_flow_pb_free(Netfn__FlowSection *pb);

#endif
