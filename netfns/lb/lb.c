// SPDX-License-Identifier: Apache-2.0
/* Placeholder: filled in by the load balancer work (issue 4). */
typedef int netfn_placeholder_lb;
