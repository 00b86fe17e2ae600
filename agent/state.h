/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's state directory: its two key pairs, the enrollment record and
 * the last applied NodeConfig. Everything the agent must remember across
 * restarts lives here, so that a restarted agent re-applies its data plane
 * before it can reach the controller. Layout (all files 0600, dir 0700):
 *
 *   lock          flock'd while an agent runs, so two agents never share keys
 *   identity.key  base64 of the crypto_box secret key (agent<->controller)
 *   wg.key        base64 of the WireGuard private key, as `wg genkey` writes it
 *   enrollment    text, one "key=value" per line (controller_pk, controller_url
 *                 (repeated), name, network, overlay_address)
 *   config.pb     the last applied netfn.NodeConfig, packed protobuf
 *
 * Every file but the lock is written to "<name>.tmp", fsync'd, renamed (or,
 * for keys, hard-linked so an existing key is never replaced) and the
 * directory fsync'd, so a crash leaves either the old or the new content.
 */
#ifndef NETFN_AGENT_STATE_H
#define NETFN_AGENT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/seal.h"
#include "proto/token.h"
#include "netfns/vpn/vpn.h"

#define STATE_IDENTITY_FILE   "identity.key"
#define STATE_WG_KEY_FILE     "wg.key"
#define STATE_ENROLLMENT_FILE "enrollment"
#define STATE_CONFIG_FILE     "config.pb"
#define STATE_LOCK_FILE       "lock"
#define STATE_ADDR_MAX        64 /* an overlay address with its prefix length */

/* What the agent learnt at enrollment; needed by every later start. */
struct agent_enrollment {
	uint8_t controller_pk[NF_KEY_LEN];
	size_t n_urls;
	char urls[NF_TOKEN_MAX_URLS][NF_TOKEN_URL_MAX];
	char name[VPN_NAME_MAX];
	char network[VPN_NAME_MAX];
	char overlay_address[STATE_ADDR_MAX];
};

/* An open state directory with its keys loaded. */
struct agent_state {
	int dirfd;
	int lockfd;
	char dir[4096];
	struct nf_identity identity;
	uint8_t wg_private[VPN_KEY_LEN];
	uint8_t wg_public[VPN_KEY_LEN];
};

/*
 * Opens (creating it 0700 if missing) and locks the state directory, then
 * loads its keys, making them on first start. -EWOULDBLOCK when another agent
 * holds it, -EPERM for a key file readable by others; err says which file.
 */
int state_open(const char *dir, struct agent_state **out, char *err, size_t errlen);

/* Wipes the keys, unlocks and frees; accepts NULL. */
void state_close(struct agent_state *st);

/* Reads the enrollment record; -ENOENT when the agent has not enrolled. */
int state_load_enrollment(struct agent_state *st, struct agent_enrollment *out, char *err,
                          size_t errlen);

/* Writes the enrollment record atomically. */
int state_save_enrollment(struct agent_state *st, const struct agent_enrollment *enr);

/* Reads the saved config into a malloc'd buffer; -ENOENT when there is none. */
int state_load_config(struct agent_state *st, uint8_t **buf, size_t *len);

/* Replaces the saved config atomically with buf. */
int state_save_config(struct agent_state *st, const uint8_t *buf, size_t len);

/*
 * Writes name in dirfd as a whole: "<name>.tmp" (created O_EXCL|O_NOFOLLOW
 * with mode), fsync, rename over name, fsync of the directory. On any failure
 * name keeps its old content.
 */
int state_write_atomic(int dirfd, const char *name, const uint8_t *buf, size_t len,
                       unsigned int mode);

#endif
