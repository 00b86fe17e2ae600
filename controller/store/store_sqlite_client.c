// SPDX-License-Identifier: Apache-2.0
/* Placeholder: filled in by the overlay DNS and clients work (issue 7). */
typedef int netfn_placeholder_store_sqlite_client;
