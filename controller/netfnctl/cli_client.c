// SPDX-License-Identifier: Apache-2.0
/*
 * netfnctl client create|list|show|delete: external clients, machines that
 * run no agent (a laptop, a CI runner) and reach the overlay through a
 * gateway node. create makes the client's WireGuard key pair here, on the
 * caller's machine, sends the controller only the public key, and prints the
 * client's wg-quick file (and, with --qr, the same file as a QR code for a
 * phone's WireGuard app); the private key is wiped once printed and exists
 * nowhere else. With --public-key the caller keeps their own key and the
 * file has a placeholder for it. list says which keys expire within two
 * weeks and which have expired; delete revokes a key at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "controller/netfnctl/cli.h"
#include "controller/netfnctl/wgquick.h"

/* Keys expiring within this many days get a note in the listing. */
#define SOON_DAYS 14

static const char *const list_columns[] = {"NAME",    "NETWORK", "ADDRESS",
                                           "GATEWAY", "EXPIRES", "NOTE"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- output ---- */

/* "expires in N days" (or hours, minutes), rounded up: a 7d key just made has 7 days left. */
static void unit_left(int64_t left, char *buf, size_t len)
{
	static const struct {
		int64_t seconds;
		const char *name;
	} units[] = {{86400, "day"}, {3600, "hour"}, {60, "minute"}};
	size_t u = 0;
	int64_t n;

	while (u + 1 < COUNT(units) && left < units[u].seconds)
		u++;
	n = (left + units[u].seconds - 1) / units[u].seconds;
	snprintf(buf, len, "expires in %lld %s%s", (long long)n, units[u].name, n == 1 ? "" : "s");
}

/* "expired", "expires in 3 days" (or hours, minutes) within SOON_DAYS, else "". */
static void note(const Netfn__Client *cl, time_t now, char *buf, size_t len)
{
	int64_t left = cl->expires - (int64_t)now;

	buf[0] = '\0';
	if (cl->expired || (cl->expires && left <= 0))
		snprintf(buf, len, "expired");
	else if (!cl->expires || left > (int64_t)SOON_DAYS * 86400)
		return;
	else
		unit_left(left, buf, len);
}

static void client_json(struct json *j, const Netfn__Client *cl)
{
	json_object_begin(j);
	json_kv_string(j, "name", cl->name);
	json_kv_string(j, "network", cl->network);
	json_kv_string(j, "public_key", cl->public_key);
	json_key(j, "labels");
	cli_labels_json(j, cl->labels, cl->n_labels);
	json_key(j, "gateway_selector");
	cli_labels_json(j, cl->gateway_selector, cl->n_gateway_selector);
	json_kv_int(j, "expires", cl->expires);
	json_kv_bool(j, "expired", cl->expired);
	json_kv_string(j, "address", cl->address);
	json_kv_int(j, "created", cl->created);
	json_kv_string(j, "gateway", cl->gateway);
	json_kv_string(j, "gateway_public_key", cl->gateway_public_key);
	json_kv_string(j, "gateway_endpoint", cl->gateway_endpoint);
	json_kv_string(j, "network_cidr", cl->network_cidr);
	json_key(j, "dns");
	json_array_begin(j);
	for (size_t i = 0; i < cl->n_dns; i++)
		json_string(j, cl->dns[i]);
	json_array_end(j);
	json_kv_string(j, "dns_zone", cl->dns_zone);
	json_kv_uint(j, "mtu", cl->mtu);
	json_object_end(j);
}

static void expires_cell(struct table *t, int64_t expires)
{
	char buf[32];

	if (!expires) {
		table_cell(t, "never");
		return;
	}
	table_fmt_time(expires, buf, sizeof(buf));
	table_cell(t, buf);
}

static void or_none(struct table *t, const char *s, const char *none)
{
	table_cell(t, cli_str(s)[0] ? s : none);
}

/* One client for people. */
static int client_detail(const Netfn__Client *cl)
{
	struct table *t = NULL;
	char buf[64];
	int rc;

	rc = table_new(2, NULL, &t);
	if (rc)
		return rc;
	table_cell(t, "name:");
	table_cell(t, cl->name);
	table_cell(t, "network:");
	table_cell(t, cl->network);
	table_cell(t, "address:");
	table_cell(t, cl->address);
	table_cell(t, "public_key:");
	table_cell(t, cl->public_key);
	table_cell(t, "labels:");
	cli_labels_cell_or(t, cl->labels, cl->n_labels, "none");
	table_cell(t, "gateway_selector:");
	cli_labels_cell_or(t, cl->gateway_selector, cl->n_gateway_selector,
	                   "any node with an endpoint");
	table_cell(t, "gateway:");
	or_none(t, cl->gateway, cl->expired ? "none (the key expired)" : "none placed");
	table_cell(t, "gateway_endpoint:");
	or_none(t, cl->gateway_endpoint, "-");
	table_cell(t, "network_cidr:");
	table_cell(t, cl->network_cidr);
	table_cell(t, "dns:");
	if (cl->n_dns)
		cli_join_cell(t, cl->dns, cl->n_dns, ",");
	else
		table_cell(t, "none placed");
	table_cell(t, "dns_zone:");
	table_cell(t, cl->dns_zone);
	table_cell(t, "expires:");
	expires_cell(t, cl->expires);
	note(cl, time(NULL), buf, sizeof(buf));
	if (buf[0]) {
		table_cell(t, "note:");
		table_cell(t, buf);
	}
	table_cell(t, "created:");
	table_fmt_time(cl->created, buf, sizeof(buf));
	table_cell(t, buf);
	rc = table_print(t, stdout);
	table_free(t);
	return rc;
}

static int print_client(struct cli *c, const Netfn__Client *cl)
{
	struct json j;

	if (!c->json)
		return client_detail(cl);
	json_init(&j, stdout);
	client_json(&j, cl);
	return json_finish(&j);
}

static int print_clients(struct cli *c, Netfn__Client *const *v, size_t n)
{
	struct table *t = NULL;
	time_t now = time(NULL);
	char buf[64];
	struct json j;
	int rc;

	if (c->json) {
		json_init(&j, stdout);
		json_array_begin(&j);
		for (size_t i = 0; i < n; i++)
			client_json(&j, v[i]);
		json_array_end(&j);
		return json_finish(&j);
	}
	rc = table_new(COUNT(list_columns), list_columns, &t);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		table_cell(t, v[i]->name);
		table_cell(t, v[i]->network);
		table_cell(t, v[i]->address);
		or_none(t, v[i]->gateway, "-");
		expires_cell(t, v[i]->expires);
		note(v[i], now, buf, sizeof(buf));
		table_cell(t, buf[0] ? buf : "-");
	}
	rc = table_print(t, stdout);
	table_free(t);
	return rc;
}

/* ---- create ---- */

/* Writes text to f, all of it; -EIO otherwise. */
static int write_all(FILE *f, const char *text)
{
	size_t len = strlen(text);

	if (fwrite(text, 1, len, f) != len || fflush(f))
		return -EIO;
	return 0;
}

/*
 * The client's wg-quick file from the controller's reply, with the private
 * key when we made it (NULL: a placeholder), into text.
 */
static int client_file(const Netfn__Client *cl, const char *private_key, char *text, size_t len)
{
	struct wgquick_config w = {
	    .name = cl->name,
	    .network = cl->network,
	    .private_key = private_key,
	    .address = cl->address,
	    .n_dns = cl->n_dns,
	    .dns = cl->dns,
	    .dns_zone = cl->dns_zone,
	    .mtu = cl->mtu,
	    .peer_key = cl->gateway_public_key,
	    .endpoint = cl->gateway_endpoint,
	    .allowed_ips = cl->network_cidr,
	};

	return wgquick_format(&w, text, len);
}

/* The create flags, as given. */
struct create_flags {
	const char *network, *labels, *gateway, *public_key, *ttl, *output;
	bool qr;
};

static int cmd_create(struct cli *c, int argc, char **argv)
{
	Netfn__Client req = NETFN__CLIENT__INIT;
	Netfn__Client *reply = NULL;
	struct create_flags fl = {0};
	const struct args_opt opts[] = {
	    {.name = "--network", .kind = ARGS_STR, .dest = &fl.network},
	    {.name = "--labels", .kind = ARGS_STR, .dest = &fl.labels},
	    {.name = "--gateway-selector", .kind = ARGS_STR, .dest = &fl.gateway},
	    {.name = "--public-key", .kind = ARGS_STR, .dest = &fl.public_key},
	    {.name = "--ttl", .kind = ARGS_STR, .dest = &fl.ttl},
	    {.name = "--qr", .kind = ARGS_BOOL, .dest = &fl.qr},
	    {.name = "--output", .kind = ARGS_STR, .dest = &fl.output},
	};
	struct args_label labels[ARGS_MAX_LABELS], sel[ARGS_MAX_LABELS];
	Netfn__Label label_msgs[ARGS_MAX_LABELS], sel_msgs[ARGS_MAX_LABELS];
	Netfn__Label *label_ptrs[ARGS_MAX_LABELS], *sel_ptrs[ARGS_MAX_LABELS];
	/* The secrets: fixed-size, wiped on every path out. */
	uint8_t priv[WGQUICK_KEY_LEN], pub[WGQUICK_KEY_LEN];
	char priv_b64[WGQUICK_KEY_B64], pub_b64[WGQUICK_KEY_B64];
	char text[WGQUICK_TEXT_MAX];
	size_t n_labels, n_sel, n_pos;
	const char *pos[1];
	int64_t ttl;
	FILE *out = NULL;
	bool made = false;
	int fd = -1, rc;

	text[0] = '\0';
	rc = cli_parse(c, argc, argv, opts, COUNT(opts), pos, 1, 1, &n_pos, "NAME");
	if (rc)
		return rc;
	rc = cli_labels_parse(c, "--labels", fl.labels, labels, &n_labels);
	if (rc)
		return rc;
	rc = cli_labels_parse(c, "--gateway-selector", fl.gateway, sel, &n_sel);
	if (rc)
		return rc;
	rc = cli_parse_ttl(c, fl.ttl, &ttl);
	if (rc)
		return rc;
	/* With --json the client goes to stdout: a made key's file needs a place of its own. */
	if (c->json && !fl.output && !fl.public_key)
		return cli_usage(c, "--json prints the client: give --output FILE for the wg-quick "
		                    "file, which holds the private key made here");
	/* Opened before the controller hears of the client, so a taken path loses no key. */
	if (fl.output) {
		fd = open(fl.output, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return cli_fail(c, -errno, fl.output);
		out = fdopen(fd, "w");
		if (!out) {
			rc = cli_fail(c, -errno, fl.output);
			close(fd);
			goto cleanup;
		}
	}
	if (!fl.public_key) {
		rc = wgquick_keypair(priv, pub);
		if (rc) {
			rc = cli_fail(c, rc, "making a WireGuard key pair");
			goto cleanup;
		}
		made = true;
		wgquick_key_b64(priv, priv_b64);
		wgquick_key_b64(pub, pub_b64);
	}
	cli_labels_to_pb(labels, n_labels, label_msgs, label_ptrs);
	cli_labels_to_pb(sel, n_sel, sel_msgs, sel_ptrs);
	req.name = cli_str(pos[0]);
	req.network = cli_str(fl.network);
	/* Only ever the public key: the private one stays on this machine. */
	req.public_key = fl.public_key ? (char *)fl.public_key : pub_b64;
	req.n_labels = n_labels;
	req.labels = label_ptrs;
	req.n_gateway_selector = n_sel;
	req.gateway_selector = sel_ptrs;
	req.ttl_seconds = ttl;
	rc = cli_call(c, "client.create", &req.base, &netfn__client__descriptor,
	              (ProtobufCMessage **)&reply);
	if (rc)
		goto cleanup;
	rc = client_file(reply, made ? priv_b64 : NULL, text, sizeof(text));
	if (rc) {
		rc = cli_fail(c, rc,
		              "writing the wg-quick file (the client was created: delete it "
		              "and try again)");
		goto cleanup;
	}
	if (c->json) {
		rc = print_client(c, reply);
		if (rc)
			goto cleanup;
	}
	if (out || !c->json) {
		rc = write_all(out ? out : stdout, text);
		if (rc) {
			rc = cli_fail(c, rc, fl.output ? fl.output : "stdout");
			goto cleanup;
		}
	}
	if (fl.qr) {
		rc = wgquick_qr(text, stdout);
		if (rc) {
			rc = cli_fail(c, rc, "printing the QR code");
			goto cleanup;
		}
	}
	cli_note("client %s created in network %s: address %s, gateway %s%s%s", reply->name,
	         reply->network, reply->address, reply->gateway,
	         fl.output ? "; wg-quick file in " : "", fl.output ? fl.output : "");
cleanup:
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(priv_b64, sizeof(priv_b64));
	sodium_memzero(text, sizeof(text));
	if (out && fclose(out) && !rc)
		rc = cli_fail(c, -errno, fl.output);
	/* Nothing useful was written: leave no empty or partial file behind. */
	if (fl.output && out && rc)
		unlink(fl.output);
	cli_reply_free(reply);
	return rc;
}

/* ---- the reads, delete ---- */

static int cmd_list(struct cli *c, int argc, char **argv)
{
	Netfn__ClientList *reply = NULL;
	int rc;

	rc = cli_call_network(c, argc, argv, "client.list", &netfn__client_list__descriptor,
	                      (ProtobufCMessage **)&reply);
	if (rc == 0)
		rc = print_clients(c, reply->clients, reply->n_clients);
	cli_reply_free(reply);
	return rc;
}

static int cmd_show(struct cli *c, int argc, char **argv)
{
	Netfn__NameRef ref;
	Netfn__Client *reply = NULL;
	int rc;

	rc = cli_call_ref(c, argc, argv, "NAME", &ref, "client.show", &netfn__client__descriptor,
	                  (ProtobufCMessage **)&reply);
	if (rc == 0)
		rc = print_client(c, reply);
	cli_reply_free(reply);
	return rc;
}

static int cmd_delete(struct cli *c, int argc, char **argv)
{
	Netfn__NameRef ref;
	int rc;

	rc = cli_call_ref(c, argc, argv, "NAME", &ref, "client.delete", NULL, NULL);
	if (rc == 0)
		cli_note("client %s deleted: its key is revoked", ref.name);
	return rc;
}

static const struct cli_verb verbs[] = {
    {"create", cmd_create},
    {"list", cmd_list},
    {"show", cmd_show},
    {"delete", cmd_delete},
};

const struct cli_noun cli_noun_client = {
    .name = "client",
    .verbs = verbs,
    .n_verbs = COUNT(verbs),
    .usage = "  netfnctl client create NAME [--network NET] [--labels k=v,...]"
             " [--gateway-selector k=v,...] [--public-key KEY] [--ttl DUR] [--qr]"
             " [--output FILE]\n"
             "  netfnctl client list [--network NET]\n"
             "  netfnctl client show NAME [--network NET]\n"
             "  netfnctl client delete NAME [--network NET]\n",
};
