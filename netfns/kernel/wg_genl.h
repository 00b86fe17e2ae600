/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel WireGuard backend's message layer, exposed for its unit tests:
 * pure encoders and decoders of WG_CMD_GET_DEVICE / WG_CMD_SET_DEVICE and of
 * the generic netlink family lookup. The backend itself is wg_genl_ops (wg.h).
 */
#ifndef NETFN_KERNEL_WG_GENL_H
#define NETFN_KERNEL_WG_GENL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

#include "netfns/kernel/wg.h"

/*
 * Size of each WG_CMD_SET_DEVICE message. Large sets are split across
 * several; a few dozen peers fit in each.
 */
#define WG_GENL_SET_SIZE 8192

/* Where the next set message resumes; start zeroed. */
struct wg_genl_cursor {
	bool started; /* the first message, with the device attributes, is out */
	size_t peer;  /* next peer */
	size_t aip;   /* next allowed IP of that peer */
	bool cont;    /* that peer's first part (flags, endpoint) is already out */
};

/* CTRL_CMD_GETFAMILY for "wireguard" into buf (at least 256 bytes). */
struct nlmsghdr *wg_genl_encode_getfamily(void *buf);

/* Reads the family id out of the controller's reply; -ENOENT without one. */
int wg_genl_parse_family(const struct nlmsghdr *nlh, uint16_t *id);

/* WG_CMD_GET_DEVICE dump request for ifname into buf (at least 256 bytes). */
struct nlmsghdr *wg_genl_encode_get(void *buf, uint16_t family, const char *ifname);

/*
 * Builds the next WG_CMD_SET_DEVICE message of dev into buf (buflen bytes)
 * and advances cur. The first message carries the device attributes; a peer
 * whose allowed IPs do not fit is continued in the next message with its
 * public key only, without WGPEER_F_REPLACE_ALLOWEDIPS, so the kernel appends
 * instead of replacing again. Returns 1 with *out set, 0 when everything has
 * been sent, -EMSGSIZE when a single peer's key cannot fit in buflen.
 */
int wg_genl_encode_set(void *buf, size_t buflen, uint16_t family, const struct wg_device *dev,
                       struct wg_genl_cursor *cur, struct nlmsghdr **out);

/*
 * Merges one message of a WG_CMD_GET_DEVICE reply (or of a set, for tests)
 * into dev: a message whose first peer has the key of dev's last peer carries
 * the rest of that peer's allowed IPs. Returns 0 or -EBADMSG / -ENOMEM.
 */
int wg_genl_parse_device(const struct nlmsghdr *nlh, struct wg_device *dev);

#endif
