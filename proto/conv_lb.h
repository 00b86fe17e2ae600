/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The edge between protobuf and the load balancer's plain C config. from_pb
 * validates every field of an LbSection (it runs on the agent, on data that
 * crossed the network) and names the offending frontend and field; to_pb is
 * used by the controller on what it compiled. Also the reports an agent sends
 * in its lb SectionStatus, both ways.
 */
#ifndef NETFN_PROTO_CONV_LB_H
#define NETFN_PROTO_CONV_LB_H

#include <stddef.h>
#include <stdint.h>

#include "netfns/lb/lb.h"
#include "proto/netfn.pb-c.h"

/*
 * Fills out from pb; -EINVAL with "frontends[ID].field: reason" in err and
 * the frontend's id in *bad_id (0 when the section itself is at fault).
 */
int conv_lb_from_pb(const Netfn__LbSection *pb, struct lb_config *out, char *err, size_t errlen,
                    uint64_t *bad_id);

/* Builds a malloc'd LbSection from cfg; free with conv_lb_pb_free. */
int conv_lb_to_pb(const struct lb_config *cfg, Netfn__LbSection **out);

/* Frees what conv_lb_to_pb built; accepts NULL. */
void conv_lb_pb_free(Netfn__LbSection *pb);

/*
 * Reads the reports of an lb SectionStatus, skipping (not failing on) entries
 * with a bad address or port; *out is malloc'd (NULL when none).
 */
int conv_lb_reports_from_pb(const Netfn__SectionStatus *ss, struct lb_report **out, size_t *n);

#endif
