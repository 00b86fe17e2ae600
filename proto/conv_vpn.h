/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The edge between protobuf and the vpn function's plain C config, one
 * function per direction. from_pb validates everything it reads (keys,
 * prefixes, endpoints, ports) since it is used on data that crossed the
 * network.
 */
#ifndef NETFN_PROTO_CONV_VPN_H
#define NETFN_PROTO_CONV_VPN_H

#include <stddef.h>

#include "netfns/vpn/vpn.h"
#include "proto/netfn.pb-c.h"

/* Fills out from pb; -EINVAL with the offending field and value in err. */
int conv_vpn_from_pb(const Netfn__VpnSection *pb, struct vpn_config *out, char *err, size_t errlen);

/* Builds a malloc'd VpnSection from cfg; free it with conv_vpn_pb_free. */
int conv_vpn_to_pb(const struct vpn_config *cfg, Netfn__VpnSection **out);

/* Frees what conv_vpn_to_pb built; accepts NULL. */
void conv_vpn_pb_free(Netfn__VpnSection *pb);

#endif
