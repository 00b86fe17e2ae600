// SPDX-License-Identifier: Apache-2.0
/*
 * netfnctl's one path to the controller: dial once on the first call, send
 * the request with the bearer token, and turn every way a call can fail into
 * the single error line scripts rely on:
 *
 *   netfnctl: error: <STATUS_NAME>: <field>: <message>
 *
 * A controller that cannot be reached is reported as UNAVAILABLE, like a
 * remote error, so callers need not tell the two apart. The API token is
 * only ever handed to nf_rpc_call; it is never part of a message printed here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/netfnctl/cli.h"
#include "proto/rpc.h"

/*
 * Prints s with control characters replaced: error texts carry names and
 * reasons from the controller, which must not drive the terminal.
 */
static void put_clean(const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		fputc(ch < 0x20 || ch == 0x7f ? '?' : ch, stderr);
	}
}

static void print_status(const struct nf_status *st)
{
	fputs("netfnctl: error: ", stderr);
	fputs(nf_status_name(st->code), stderr);
	if (st->field[0]) {
		fputs(": ", stderr);
		put_clean(st->field);
	}
	if (st->message[0]) {
		fputs(": ", stderr);
		put_clean(st->message);
	}
	fputc('\n', stderr);
}

/* Dials the controller once per invocation; later calls reuse the socket. */
static int dial(struct cli *c)
{
	struct nf_status st = {0};
	int rc;

	if (c->dialed)
		return 0;
	if (strncmp(c->api, "tls+tcp://", 10) == 0 && (!c->ca || !c->ca[0]))
		return cli_usage(c, "a tls+tcp:// API needs --ca FILE (or NETFN_CA): the CA "
		                    "that signed the controller's certificate");
	rc = nf_rpc_dial_now(c->api, c->ca, &c->sock);
	if (rc) {
		st.code = NETFN__STATUS__UNAVAILABLE;
		snprintf(st.message, sizeof(st.message), "cannot reach controller at %.160s: %s",
		         c->api, strerror(-rc));
		print_status(&st);
		c->reported = true;
		return -EIO;
	}
	c->dialed = true;
	return 0;
}

int cli_call(struct cli *c, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply)
{
	struct nf_status st = {0};
	int rc;

	if (!c->token || !c->token[0])
		return cli_usage(c, "no API token: use --token or set NETFN_TOKEN");
	rc = dial(c);
	if (rc)
		return rc;
	rc =
	    nf_rpc_call(c->sock, method, c->token, req, reply_desc, reply, &st, (int)c->timeout_ms);
	if (rc < 0 && st.code == NETFN__STATUS__OK) {
		/*
		 * Transport failures fill st (UNAVAILABLE); one that did not
		 * failed here, before anything was sent (packing, memory).
		 */
		st.code = NETFN__STATUS__INTERNAL;
		snprintf(st.message, sizeof(st.message), "%s", strerror(-rc));
	}
	if (rc < 0 || st.code != NETFN__STATUS__OK) {
		print_status(&st);
		c->reported = true;
		return -EIO;
	}
	return 0;
}

void cli_note(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fputs("netfnctl: ", stderr);
	put_clean(buf);
	fputc('\n', stderr);
}

int cli_fail(struct cli *c, int rc, const char *what)
{
	fprintf(stderr, "netfnctl: error: INTERNAL: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
	c->reported = true;
	/* Keep -EINVAL for usage errors: a local failure exits 1, not 2. */
	return rc == -EINVAL || rc >= 0 ? -EIO : rc;
}
