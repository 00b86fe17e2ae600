/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The edge between protobuf and the DNS function's plain C config. from_pb
 * validates every field of a DnsSection (it runs on the agent, on data that
 * crossed the network) and names the offending record and field; to_pb is
 * used by the controller on what it compiled.
 */
#ifndef NETFN_PROTO_CONV_DNS_H
#define NETFN_PROTO_CONV_DNS_H

#include <stddef.h>

#include "netfns/dns/dns.h"
#include "proto/netfn.pb-c.h"

/* Fills out from pb; -EINVAL with "records[N].field: reason" (or "zone: ...") in err. */
int conv_dns_from_pb(const Netfn__DnsSection *pb, struct dns_config *out, char *err, size_t errlen);

/* Builds a malloc'd DnsSection from cfg; free with conv_dns_pb_free. */
int conv_dns_to_pb(const struct dns_config *cfg, Netfn__DnsSection **out);

/* Frees what conv_dns_to_pb built; accepts NULL. */
void conv_dns_pb_free(Netfn__DnsSection *pb);

#endif
