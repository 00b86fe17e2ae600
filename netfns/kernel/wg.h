/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One model of a WireGuard device for both backends, the kernel's generic
 * netlink family (wg_genl.c) and wireguard-go's UAPI socket (wg_uapi.c). A
 * device read from a backend fills every field it knows; a device handed to
 * set_device is a request, and its *_HAS_* / REPLACE / REMOVE flags say which
 * fields mean something, as in both kernel and UAPI set semantics: an absent
 * field is left as it is.
 *
 * The backend is chosen once at run time (wg.c) and used through a const ops
 * table, so callers never know which one they are talking to.
 */
#ifndef NETFN_KERNEL_WG_H
#define NETFN_KERNEL_WG_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#ifndef WG_KEY_LEN
#define WG_KEY_LEN 32 /* same value as <linux/wireguard.h> */
#endif

struct rtnl;

enum wg_device_flag {
	WG_DEV_REPLACE_PEERS = 1U << 0,
	WG_DEV_HAS_PRIVATE_KEY = 1U << 1,
	WG_DEV_HAS_PUBLIC_KEY = 1U << 2,
	WG_DEV_HAS_LISTEN_PORT = 1U << 3,
	WG_DEV_HAS_FWMARK = 1U << 4,
};

enum wg_peer_flag {
	WG_PEER_REMOVE_ME = 1U << 0,
	WG_PEER_REPLACE_ALLOWEDIPS = 1U << 1,
	WG_PEER_HAS_PUBLIC_KEY = 1U << 2,
	WG_PEER_HAS_KEEPALIVE = 1U << 3,
};

struct wg_allowedip {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr ip4;
		struct in6_addr ip6;
		uint8_t bytes[16];
	} ip;
	uint8_t cidr;
};

union wg_endpoint {
	struct sockaddr addr; /* sa_family AF_UNSPEC (0): no endpoint */
	struct sockaddr_in addr4;
	struct sockaddr_in6 addr6;
};

struct wg_peer {
	uint32_t flags; /* enum wg_peer_flag */
	uint8_t public_key[WG_KEY_LEN];
	union wg_endpoint endpoint;
	uint16_t keepalive; /* seconds, 0 off */
	struct timespec last_handshake;
	uint64_t rx_bytes;
	uint64_t tx_bytes;
	size_t n_allowedips;
	struct wg_allowedip *allowedips; /* owned */
};

struct wg_device {
	char name[IFNAMSIZ];
	uint32_t ifindex;
	uint32_t flags; /* enum wg_device_flag */
	uint8_t public_key[WG_KEY_LEN];
	uint8_t private_key[WG_KEY_LEN]; /* wiped by wg_free_device */
	uint16_t listen_port;
	uint32_t fwmark;
	size_t n_peers;
	struct wg_peer *peers; /* owned */
};

struct wg_backend;

/* What each backend provides; all return 0 or -errno. */
struct wg_backend_ops {
	const char *name;
	/* Sets up wb->priv (sockets, family id); -ENOTSUP/-ENOENT when unusable here. */
	int (*open)(struct wg_backend *wb);
	/* Releases wb->priv; leaves every interface as it is. */
	void (*close)(struct wg_backend *wb);
	/* Makes sure a device named ifname exists, creating it if missing. */
	int (*ensure_link)(struct wg_backend *wb, const char *ifname);
	/* Removes the device (and, for wireguard-go, its process and socket). */
	int (*delete_link)(struct wg_backend *wb, const char *ifname);
	/* Reads the running device; *out is freed with wg_free_device. */
	int (*get_device)(struct wg_backend *wb, const char *ifname, struct wg_device **out);
	/* Applies a set request (dev->name names the device). */
	int (*set_device)(struct wg_backend *wb, const struct wg_device *dev);
};

struct wg_backend {
	const struct wg_backend_ops *ops;
	struct rtnl *rt; /* borrowed: links are made and removed over rtnetlink */
	void *priv;
};

extern const struct wg_backend_ops wg_genl_ops;
extern const struct wg_backend_ops wg_uapi_ops;

/*
 * Picks the backend for ifname: the kernel's when the link already is a
 * kernel WireGuard device, the generic netlink family resolves, or a
 * "wireguard" link can be created; wireguard-go otherwise. rt is borrowed
 * and must outlive the backend.
 */
int wg_backend_open(struct rtnl *rt, const char *ifname, struct wg_backend **out);

/* Opens one given backend, for tests and for a forced choice. */
int wg_backend_open_ops(struct rtnl *rt, const struct wg_backend_ops *ops, struct wg_backend **out);

/* Closes a backend; accepts NULL. */
void wg_backend_close(struct wg_backend *wb);

/* Allocates an empty device named name. */
struct wg_device *wg_new_device(const char *name);

/* Appends a zeroed peer and returns it (earlier peer pointers may move), or NULL. */
struct wg_peer *wg_device_add_peer(struct wg_device *dev);

/* Appends one allowed IP to a peer. */
int wg_peer_add_allowedip(struct wg_peer *peer, const struct wg_allowedip *aip);

/* Frees a device and everything it owns, wiping the private key; accepts NULL. */
void wg_free_device(struct wg_device *dev);

/* True when two endpoints are the same address and port (no endpoint equals none). */
bool wg_endpoint_equal(const union wg_endpoint *a, const union wg_endpoint *b);

/*
 * Computes the set request that brings running to wanted: peers only in
 * running get REMOVE_ME; peers new or different get the changed fields
 * (allowed IPs as a REPLACE_ALLOWEDIPS list); key, port and fwmark only when
 * wanted has them and they differ. *out is NULL when nothing differs, so no
 * set call is needed. A wanted peer without an endpoint leaves the running
 * one (learned by roaming) alone.
 */
int wg_device_diff(const struct wg_device *running, const struct wg_device *wanted,
                   struct wg_device **out);

#endif
