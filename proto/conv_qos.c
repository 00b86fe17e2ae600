// SPDX-License-Identifier: Apache-2.0
/* Placeholder: filled in by the traffic classes work (issue 5). */
typedef int netfn_placeholder_conv_qos;
