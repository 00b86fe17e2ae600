/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The wireguard-go backend's text protocol, exposed for its unit tests: the
 * UAPI is "get=1" / "set=1" followed by key=value lines over a unix socket,
 * answered by key=value lines ending in "errno=N" and a blank line. The
 * formatter and parser are pure; the backend itself is wg_uapi_ops (wg.h).
 */
#ifndef NETFN_KERNEL_WG_UAPI_H
#define NETFN_KERNEL_WG_UAPI_H

#include <stddef.h>

#include "netfns/kernel/wg.h"

/* Where wireguard-go puts IFNAME.sock; shared by every network namespace. */
#define WG_UAPI_DIR "/var/run/wireguard"

/* The one program the agent ever starts. */
#define WG_UAPI_PROGRAM "/usr/bin/wireguard-go"

/* How long ensure_link waits for a new wireguard-go to answer, in ms. */
#define WG_UAPI_START_TIMEOUT_MS 5000

/*
 * Formats dev as a complete set request: "set=1\n", one line per field the
 * flags say to set, and the blank line that ends it. *out is malloc'd and
 * NUL terminated; it may hold the private key, so the caller wipes it.
 */
int wg_uapi_format_set(const struct wg_device *dev, char **out, size_t *len);

/*
 * Parses a reply (a get's key=value lines, or just a set's errno line) into
 * dev, stopping at "errno=N", which goes to *remote_errno (positive). Unknown
 * keys are skipped, as newer wireguard-go versions add some. Returns 0, or
 * -EBADMSG on a malformed line or a reply without errno.
 */
int wg_uapi_parse(const char *text, size_t len, struct wg_device *dev, int *remote_errno);

/* True when ifname is safe both as an argument and as a file name. */
bool wg_uapi_valid_ifname(const char *ifname);

#endif
