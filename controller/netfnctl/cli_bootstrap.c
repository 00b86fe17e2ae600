// SPDX-License-Identifier: Apache-2.0
/*
 * netfnctl bootstrap cloud-init: prints #cloud-config user-data for one new
 * VM. It makes a fresh single-use join token (token.create, uses 1, with the
 * labels, so the labels hold whatever the VM later claims) and
 * userdata.c writes the rest: the token in a 0600 file, agent.conf naming it,
 * the package install and `systemctl enable --now netfn-agent`.
 *
 * Every flag is checked before the token is made, so a typo costs no token.
 * The user-data is built in memory and printed in one piece: a failure never
 * leaves half a file with a valid token in it. Our copies of the token are
 * wiped once printed.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/netfnctl/cli.h"
#include "controller/netfnctl/userdata.h"

static int cloud_init(struct cli *c, int argc, char **argv)
{
	Netfn__TokenCreate req = NETFN__TOKEN_CREATE__INIT;
	Netfn__TokenCreated *reply = NULL;
	struct args_label labels[ARGS_MAX_LABELS];
	Netfn__Label label_msgs[ARGS_MAX_LABELS];
	Netfn__Label *label_ptrs[ARGS_MAX_LABELS];
	const char *network = NULL, *ttl = NULL, *label_arg = NULL;
	const char *package_url = NULL, *apt_source = NULL;
	const struct args_opt opts[] = {
	    {.name = "--network", .kind = ARGS_STR, .dest = &network},
	    {.name = "--ttl", .kind = ARGS_STR, .dest = &ttl},
	    {.name = "--labels", .kind = ARGS_STR, .dest = &label_arg},
	    {.name = "--package-url", .kind = ARGS_STR, .dest = &package_url},
	    {.name = "--apt-source", .kind = ARGS_STR, .dest = &apt_source},
	};
	struct userdata u = {0};
	size_t n_labels, n_pos, len = 0;
	char *text = NULL;
	int64_t ttl_s;
	char err[256];
	FILE *f = NULL;
	int rc;

	rc = cli_parse(c, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), NULL, 0, 0, &n_pos, "");
	if (rc)
		return rc;
	if (!network)
		return cli_usage(c, "bootstrap cloud-init: missing --network");
	rc = cli_parse_ttl(c, ttl, &ttl_s);
	if (rc)
		return rc;
	rc = cli_labels_parse(c, "--labels", label_arg, labels, &n_labels);
	if (rc)
		return rc;
	for (size_t i = 0; i < n_labels; i++)
		if (userdata_check_label(&labels[i], err, sizeof(err)))
			return cli_usage(c, "--labels: %s", err);
	if (package_url && apt_source)
		return cli_usage(c, "--package-url and --apt-source: give only one");
	if (package_url && userdata_check_url(package_url, err, sizeof(err)))
		return cli_usage(c, "--package-url: %s", err);
	if (apt_source && userdata_check_apt_source(apt_source, err, sizeof(err)))
		return cli_usage(c, "--apt-source: %s", err);

	cli_labels_to_pb(labels, n_labels, label_msgs, label_ptrs);
	req.network = cli_str(network);
	req.ttl_seconds = ttl_s;
	req.uses = 1;
	req.n_labels = n_labels;
	req.labels = label_ptrs;
	rc = cli_call(c, "token.create", &req.base, &netfn__token_created__descriptor,
	              (ProtobufCMessage **)&reply);
	if (rc)
		goto cleanup;

	u.network = network;
	u.token_id = reply->id;
	u.ttl = ttl;
	u.token = reply->token;
	u.labels = labels;
	u.n_labels = n_labels;
	u.package_url = package_url;
	u.apt_source = apt_source;
	f = open_memstream(&text, &len);
	if (!f) {
		rc = cli_fail(c, -errno, "building the user-data");
		goto cleanup;
	}
	rc = userdata_write(f, &u, err, sizeof(err));
	if (fclose(f) && !rc)
		rc = -ENOMEM;
	f = NULL;
	if (rc == -EINVAL) {
		fprintf(stderr, "netfnctl: error: INTERNAL: %s (revoke join token %s)\n", err,
		        cli_str(reply->id));
		c->reported = true;
		rc = -EIO;
		goto cleanup;
	}
	if (rc) {
		rc = cli_fail(c, rc, "building the user-data");
		goto cleanup;
	}
	fwrite(text, 1, len, stdout);
	rc = fflush(stdout) || ferror(stdout) ? cli_fail(c, -EIO, "writing the user-data") : 0;
	if (rc == 0)
		cli_note("single-use join token %s created for one VM in network %s",
		         cli_str(reply->id), network);
cleanup:
	if (text) {
		sodium_memzero(text, len);
		free(text);
	}
	if (reply) {
		if (reply->token)
			sodium_memzero(reply->token, strlen(reply->token));
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	}
	return rc;
}

static const struct cli_verb bootstrap_verbs[] = {
    {"cloud-init", cloud_init},
};

const struct cli_noun cli_noun_bootstrap = {
    .name = "bootstrap",
    .verbs = bootstrap_verbs,
    .n_verbs = sizeof(bootstrap_verbs) / sizeof(bootstrap_verbs[0]),
    .usage = "  netfnctl bootstrap cloud-init --network NAME [--labels k=v,...] [--ttl DURATION]"
             " [--package-url URL | --apt-source 'deb URI SUITE COMPONENT']\n",
};
