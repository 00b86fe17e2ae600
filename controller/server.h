/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An asynchronous nng rep0 server shared by the API and the agent endpoint.
 * Each in-flight request owns an nng context and an aio; a handler answers at
 * once (srv_reply) or parks the request (srv_park) until it is woken or its
 * timer runs out, which is how thousands of agents' long-polls are held
 * without a thread each. Parking a request starts another receiver, so the
 * server always has `workers` contexts listening.
 */
#ifndef NETFN_CONTROLLER_SERVER_H
#define NETFN_CONTROLLER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct srv;
struct srv_work;

/* Called with one received frame; must end in srv_reply or srv_park. */
typedef void (*srv_handler)(void *arg, struct srv_work *w, const uint8_t *buf, size_t len);

/* Called when a parked request is woken (woken=true) or its timer expired. */
typedef void (*srv_resume)(void *arg, struct srv_work *w, bool woken);

/*
 * Listens on every url and starts `workers` receivers. tls+tcp:// URLs need
 * tls_cert: a PEM file holding the certificate chain and its private key.
 */
int srv_start(const char *const *urls, size_t n_urls, const char *tls_cert, size_t workers,
              size_t max_frame, srv_handler handler, void *arg, struct srv **out);

/* Sends buf (malloc'd; ownership passes to the server) as w's reply. */
void srv_reply(struct srv_work *w, uint8_t *buf, size_t len);

/* Parks w for up to ms; resume is called exactly once, later, on an nng thread. */
void srv_park(struct srv_work *w, uint32_t ms, srv_resume resume, void *user);

/* Wakes a parked request early. Harmless if its timer already fired. */
void srv_wake(struct srv_work *w);

/* The user pointer given to srv_park. */
void *srv_work_user(const struct srv_work *w);

/* Stops the server, waits for callbacks to finish, frees it; accepts NULL. */
void srv_stop(struct srv *s);

#endif
