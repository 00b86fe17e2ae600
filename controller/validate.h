/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Validators for every name and label that reaches the store. Names are DNS
 * labels (RFC 1035/1123: 1-63 of a-z, 0-9 and '-', not starting or ending
 * with '-') so that they can later become host names in the overlay zone and
 * can never carry quotes, separators or control characters anywhere.
 */
#ifndef NETFN_CONTROLLER_VALIDATE_H
#define NETFN_CONTROLLER_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "controller/store/store.h"
#include "proto/rpc.h"

/* True for a DNS label as above. */
bool valid_name(const char *s);

/* True for a label key: 1-63 of [A-Za-z0-9._/-], starting alphanumeric. */
bool valid_label_key(const char *s);

/* True for a label value: 0-63 of [A-Za-z0-9._-]. */
bool valid_label_value(const char *s);

/*
 * Checks and copies labels into out (replacing keys already there, in
 * order). -EINVAL with st naming field when one is bad or there are too many.
 */
int labels_merge(struct st_label *out, size_t *n_out, Netfn__Label *const *in, size_t n_in,
                 const char *field, struct nf_status *st);

/* Checks endpoints ("IP:PORT") and copies them; -EINVAL with st naming field. */
int endpoints_copy(char out[][ST_ENDPOINT_MAX], size_t *n_out, char *const *in, size_t n_in,
                   const char *field, struct nf_status *st);

/* Copies s for a message, replacing anything unprintable, at most 64 chars. */
const char *printable(const char *s, char *buf, size_t len);

/* The same without the 64-character cut (buf's size still bounds it): for agents' error texts. */
const char *printable_text(const char *s, char *buf, size_t len);

#endif
