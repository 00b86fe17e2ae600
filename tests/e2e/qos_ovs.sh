#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The traffic classes scenario (qos.sh) with both VMs' overlay through Open
# vSwitch, as flow filters put it: classes must still cap and keep floors.
export NF_QOS_OVS=1 NF_TEST=qos_ovs
exec bash "$(dirname "$0")/qos.sh" "$@"
