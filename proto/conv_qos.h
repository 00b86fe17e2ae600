/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The edge between protobuf and the traffic classes' plain C config. from_pb
 * validates every field of a QosSection (it runs on the agent, on data that
 * crossed the network) and names the offending class and field; to_pb is
 * used by the controller on what it compiled.
 */
#ifndef NETFN_PROTO_CONV_QOS_H
#define NETFN_PROTO_CONV_QOS_H

#include <stddef.h>

#include "netfns/qos/qos.h"
#include "proto/netfn.pb-c.h"

/* Fills out from pb; -EINVAL with "classes[NAME].field: reason" in err. */
int conv_qos_from_pb(const Netfn__QosSection *pb, struct qos_config *out, char *err, size_t errlen);

/* Builds a malloc'd QosSection from cfg; free with conv_qos_pb_free. */
int conv_qos_to_pb(const struct qos_config *cfg, Netfn__QosSection **out);

/* Frees what conv_qos_to_pb built; accepts NULL. */
void conv_qos_pb_free(Netfn__QosSection *pb);

#endif
