// SPDX-License-Identifier: Apache-2.0
/*
 * netfnctl lb create|list|show|delete|backends and lb backend add|remove:
 * L4 load balancers (a frontend on a vip or on each hosting node's own
 * address, backends picked by node labels or given explicitly, health
 * checks, and where the scheduler placed each replica). A load balancer is
 * printed the same way whichever verb fetched it. Values go to the
 * controller as typed, apart from what must be parsed here (numbers,
 * durations, ADDR:PORT@WEIGHT): it judges protocols, addresses, weights and
 * ranges, and its error line, naming the field, is what the user sees.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/netfnctl/cli.h"
#include "controller/netfnctl/fwrule.h"
#include "netfns/lb/lb.h"

static const char *const list_columns[] = {"NAME",      "NETWORK",  "PROTO", "FRONTEND",
                                           "ALGORITHM", "BACKENDS", "PLACED"};
static const char *const backend_columns[] = {"ADDRESS", "PORT",        "NODE", "WEIGHT",
                                              "HEALTH",  "CONNECTIONS", "HOST"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- output ---- */

static void lb_json(struct json *j, const Netfn__LoadBalancer *lb)
{
	const Netfn__LbHealthCheck *hc = lb->health;

	json_object_begin(j);
	json_kv_string(j, "name", lb->name);
	json_kv_string(j, "network", lb->network);
	json_kv_string(j, "protocol", lb->protocol);
	json_kv_string(j, "vip", lb->vip);
	json_kv_uint(j, "port", lb->port);
	json_key(j, "backend_selector");
	cli_labels_json(j, lb->backend_selector, lb->n_backend_selector);
	json_kv_uint(j, "backend_port", lb->backend_port);
	json_kv_uint(j, "backend_weight", lb->backend_weight);
	json_key(j, "backends");
	json_array_begin(j);
	for (size_t i = 0; i < lb->n_backends; i++) {
		json_object_begin(j);
		json_kv_string(j, "address", lb->backends[i]->address);
		json_kv_uint(j, "port", lb->backends[i]->port);
		json_kv_uint(j, "weight", lb->backends[i]->weight);
		json_object_end(j);
	}
	json_array_end(j);
	json_kv_string(j, "algorithm", lb->algorithm);
	json_key(j, "health");
	json_object_begin(j);
	json_kv_uint(j, "interval_ms", hc ? hc->interval_ms : 0);
	json_kv_uint(j, "timeout_ms", hc ? hc->timeout_ms : 0);
	json_kv_uint(j, "rise", hc ? hc->rise : 0);
	json_kv_uint(j, "fall", hc ? hc->fall : 0);
	json_kv_uint(j, "port", hc ? hc->port : 0);
	json_object_end(j);
	json_key(j, "placement");
	cli_labels_json(j, lb->placement, lb->n_placement);
	json_kv_uint(j, "replicas", lb->replicas);
	json_key(j, "placements");
	cli_placements_json(j, lb->placements, lb->n_placements);
	json_kv_int(j, "created", lb->created);
	json_object_end(j);
}

/* "10.9.0.4:80", or "*:80" when each host serves on its own address. */
static void frontend_cell(struct table *t, const Netfn__LoadBalancer *lb)
{
	const char *vip = cli_str(lb->vip);

	table_cellf(t, "%s:%u", vip[0] ? vip : "*", lb->port);
}

/*
 * The backends in one blank-free cell: "{role=web}:8080" for the nodes a
 * selector picks ("{}" for every node), "+2" for explicit ones beside them,
 * or "2" when there are only explicit ones.
 */
static void backends_cell(struct table *t, const Netfn__LoadBalancer *lb)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		table_cell(t, "?");
		return;
	}
	if (lb->backend_port) {
		fputc('{', f);
		for (size_t i = 0; i < lb->n_backend_selector; i++)
			fprintf(f, "%s%s=%s", i ? "," : "", cli_str(lb->backend_selector[i]->key),
			        cli_str(lb->backend_selector[i]->value));
		fprintf(f, "}:%u", lb->backend_port);
		if (lb->n_backends)
			fprintf(f, "+%zu", lb->n_backends);
	} else {
		fprintf(f, "%zu", lb->n_backends);
	}
	table_cell(t, fclose(f) == 0 ? buf : "?");
	free(buf);
}

/* Replicas placed on a node, of the replicas wanted: "1/1". */
static void placed_cell(struct table *t, const Netfn__LoadBalancer *lb)
{
	size_t placed = 0;

	for (size_t i = 0; i < lb->n_placements; i++)
		placed += cli_str(lb->placements[i]->node)[0] != '\0';
	table_cellf(t, "%zu/%u", placed, lb->replicas);
}

static void explicit_cell(struct table *t, const Netfn__LoadBalancer *lb)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		table_cell(t, "?");
		return;
	}
	for (size_t i = 0; i < lb->n_backends; i++)
		fprintf(f, "%s%s:%u@%u", i ? "," : "", cli_str(lb->backends[i]->address),
		        lb->backends[i]->port, lb->backends[i]->weight);
	table_cell(t, fclose(f) == 0 ? buf : "?");
	free(buf);
}

static void health_cell(struct table *t, const Netfn__LbHealthCheck *hc)
{
	if (!hc || !hc->interval_ms) {
		table_cell(t, "off");
		return;
	}
	if (hc->port)
		table_cellf(t, "tcp connect to port %u every %ums, timeout %ums, rise %u, fall %u",
		            hc->port, hc->interval_ms, hc->timeout_ms, hc->rise, hc->fall);
	else
		table_cellf(t, "tcp connect every %ums, timeout %ums, rise %u, fall %u",
		            hc->interval_ms, hc->timeout_ms, hc->rise, hc->fall);
}

/* One load balancer for people: its fields, then where its replicas are. */
static int lb_detail(const Netfn__LoadBalancer *lb)
{
	struct table *t = NULL;
	char buf[32];
	int rc;

	rc = table_new(2, NULL, &t);
	if (rc)
		return rc;
	table_cell(t, "name:");
	table_cell(t, lb->name);
	table_cell(t, "network:");
	table_cell(t, lb->network);
	table_cell(t, "protocol:");
	table_cell(t, lb->protocol);
	table_cell(t, "vip:");
	table_cell(t, cli_str(lb->vip)[0] ? lb->vip : "none (each host's own address)");
	table_cell(t, "port:");
	table_cellf(t, "%u", lb->port);
	table_cell(t, "backend_selector:");
	if (lb->backend_port)
		cli_labels_cell_or(t, lb->backend_selector, lb->n_backend_selector, "all nodes");
	else
		table_cell(t, "none");
	table_cell(t, "backend_port:");
	table_cellf(t, "%u", lb->backend_port);
	table_cell(t, "backend_weight:");
	table_cellf(t, "%u", lb->backend_weight);
	table_cell(t, "backends:");
	explicit_cell(t, lb);
	table_cell(t, "algorithm:");
	table_cell(t, lb->algorithm);
	table_cell(t, "health:");
	health_cell(t, lb->health);
	table_cell(t, "placement:");
	cli_labels_cell_or(t, lb->placement, lb->n_placement, "any node");
	table_cell(t, "replicas:");
	table_cellf(t, "%u", lb->replicas);
	table_cell(t, "created:");
	table_fmt_time(lb->created, buf, sizeof(buf));
	table_cell(t, buf);
	rc = table_print(t, stdout);
	table_free(t);
	t = NULL;
	if (rc)
		return rc;

	fputc('\n', stdout);
	return cli_placements_table(lb->placements, lb->n_placements);
}

/* Prints one load balancer (create, show, backend add|remove): detail, or a JSON object. */
static int print_lb(struct cli *c, const Netfn__LoadBalancer *lb)
{
	struct json j;

	if (!c->json)
		return lb_detail(lb);
	json_init(&j, stdout);
	lb_json(&j, lb);
	return json_finish(&j);
}

static int print_lbs(struct cli *c, Netfn__LoadBalancer *const *v, size_t n)
{
	struct table *t = NULL;
	struct json j;
	int rc;

	if (c->json) {
		json_init(&j, stdout);
		json_array_begin(&j);
		for (size_t i = 0; i < n; i++)
			lb_json(&j, v[i]);
		json_array_end(&j);
		return json_finish(&j);
	}
	rc = table_new(COUNT(list_columns), list_columns, &t);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		table_cell(t, v[i]->name);
		table_cell(t, v[i]->network);
		table_cell(t, v[i]->protocol);
		frontend_cell(t, v[i]);
		table_cell(t, v[i]->algorithm);
		backends_cell(t, v[i]);
		placed_cell(t, v[i]);
	}
	rc = table_print(t, stdout);
	table_free(t);
	return rc;
}

static int print_backends(struct cli *c, const Netfn__LbBackendList *l)
{
	struct table *t = NULL;
	struct json j;
	int rc;

	if (c->json) {
		json_init(&j, stdout);
		json_object_begin(&j);
		json_kv_string(&j, "name", l->name);
		json_kv_string(&j, "network", l->network);
		json_key(&j, "backends");
		json_array_begin(&j);
		for (size_t i = 0; i < l->n_backends; i++) {
			const Netfn__LbBackendStatus *b = l->backends[i];

			json_object_begin(&j);
			json_kv_string(&j, "address", b->address);
			json_kv_uint(&j, "port", b->port);
			json_kv_string(&j, "node", b->node);
			json_kv_uint(&j, "weight", b->weight);
			json_kv_string(&j, "health", b->health);
			json_kv_uint(&j, "connections", b->connections);
			json_kv_string(&j, "host", b->host);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_object_end(&j);
		return json_finish(&j);
	}
	rc = table_new(COUNT(backend_columns), backend_columns, &t);
	if (rc)
		return rc;
	for (size_t i = 0; i < l->n_backends; i++) {
		const Netfn__LbBackendStatus *b = l->backends[i];

		table_cell(t, b->address);
		table_cellf(t, "%u", b->port);
		table_cell(t, b->node);
		table_cellf(t, "%u", b->weight);
		table_cell(t, b->health);
		table_cellf(t, "%llu", (unsigned long long)b->connections);
		table_cell(t, b->host);
	}
	rc = table_print(t, stdout);
	table_free(t);
	return rc;
}

/* ---- create ---- */

/* The health check flags of create, as given. */
struct check_flags {
	const char *interval, *timeout;
	uint32_t rise, fall, port;
	bool off;
};

/*
 * The health message create sends: none when no check flag was given (the
 * controller's defaults), interval 0 for --no-check, else the flags given
 * with lb.h's defaults for the rest. A timeout not given stays below a
 * short interval, so "--check-interval 500ms" alone is valid.
 */
static int health_from_flags(struct cli *c, const struct check_flags *f, Netfn__LbHealthCheck *hc,
                             Netfn__LbHealthCheck **out)
{
	bool any = f->interval || f->timeout || f->rise || f->fall || f->port;

	*out = NULL;
	netfn__lb_health_check__init(hc);
	if (f->off && any)
		return cli_usage(c, "--no-check cannot be combined with the other check flags");
	if (f->off) {
		*out = hc;
		return 0;
	}
	if (!any)
		return 0;
	hc->interval_ms = LB_HC_INTERVAL_DEF_MS;
	if (f->interval && args_parse_duration_ms(f->interval, &hc->interval_ms))
		return cli_usage(c, "--check-interval: bad duration '%.32s' (use 500ms, 2s, 1m)",
		                 f->interval);
	hc->timeout_ms =
	    hc->interval_ms > LB_HC_TIMEOUT_DEF_MS ? LB_HC_TIMEOUT_DEF_MS : hc->interval_ms / 2;
	if (f->timeout && args_parse_duration_ms(f->timeout, &hc->timeout_ms))
		return cli_usage(c, "--check-timeout: bad duration '%.32s' (use 500ms, 2s, 1m)",
		                 f->timeout);
	hc->rise = f->rise ? f->rise : LB_HC_RISE_DEF;
	hc->fall = f->fall ? f->fall : LB_HC_FALL_DEF;
	hc->port = f->port;
	*out = hc;
	return 0;
}

static int cmd_create(struct cli *c, int argc, char **argv)
{
	Netfn__LoadBalancer req = NETFN__LOAD_BALANCER__INIT;
	Netfn__LoadBalancer *reply = NULL;
	Netfn__LbHealthCheck hc;
	struct args_label sel[ARGS_MAX_LABELS], place[ARGS_MAX_LABELS];
	Netfn__Label sel_msgs[ARGS_MAX_LABELS], place_msgs[ARGS_MAX_LABELS];
	Netfn__Label *sel_ptrs[ARGS_MAX_LABELS], *place_ptrs[ARGS_MAX_LABELS];
	const char *network = NULL, *protocol = NULL, *vip = NULL, *selector = NULL;
	const char *algorithm = NULL, *placement = NULL;
	uint32_t port = 0, backend_port = 0, backend_weight = 0, replicas = 0;
	struct check_flags chk = {0};
	const struct args_opt opts[] = {
	    {.name = "--network", .kind = ARGS_STR, .dest = &network},
	    {.name = "--port", .kind = ARGS_UINT, .dest = &port, .min = 1, .max = 65535},
	    {.name = "--protocol", .kind = ARGS_STR, .dest = &protocol},
	    {.name = "--vip", .kind = ARGS_STR, .dest = &vip},
	    {.name = "--backend-selector", .kind = ARGS_STR, .dest = &selector},
	    {.name = "--backend-port",
	     .kind = ARGS_UINT,
	     .dest = &backend_port,
	     .min = 1,
	     .max = 65535},
	    {.name = "--backend-weight",
	     .kind = ARGS_UINT,
	     .dest = &backend_weight,
	     .max = UINT32_MAX},
	    {.name = "--algorithm", .kind = ARGS_STR, .dest = &algorithm},
	    {.name = "--check-interval", .kind = ARGS_STR, .dest = &chk.interval},
	    {.name = "--check-timeout", .kind = ARGS_STR, .dest = &chk.timeout},
	    {.name = "--rise", .kind = ARGS_UINT, .dest = &chk.rise, .min = 1, .max = UINT32_MAX},
	    {.name = "--fall", .kind = ARGS_UINT, .dest = &chk.fall, .min = 1, .max = UINT32_MAX},
	    {.name = "--check-port", .kind = ARGS_UINT, .dest = &chk.port, .min = 1, .max = 65535},
	    {.name = "--no-check", .kind = ARGS_BOOL, .dest = &chk.off},
	    {.name = "--placement", .kind = ARGS_STR, .dest = &placement},
	    {.name = "--replicas",
	     .kind = ARGS_UINT,
	     .dest = &replicas,
	     .min = 1,
	     .max = UINT32_MAX},
	};
	struct fwrule_multi multi = {.name = "--backend"};
	Netfn__LbBackendSpec *specs = NULL;
	Netfn__LbBackendSpec **spec_ptrs = NULL;
	struct args_backend *bes = NULL;
	size_t n_sel, n_place, n_pos;
	char **rest = NULL;
	const char *pos[1];
	char err[256];
	int n_rest, rc;

	/* Every word could be a --backend value: argc entries are enough. */
	rest = calloc((size_t)argc + 1, sizeof(*rest));
	multi.vals = calloc((size_t)argc + 1, sizeof(char *));
	specs = calloc((size_t)argc + 1, sizeof(*specs));
	spec_ptrs = calloc((size_t)argc + 1, sizeof(*spec_ptrs));
	bes = calloc((size_t)argc + 1, sizeof(*bes));
	if (!rest || !multi.vals || !specs || !spec_ptrs || !bes) {
		rc = cli_fail(c, -ENOMEM, "parsing flags");
		goto cleanup;
	}
	rc = fwrule_split_args(argc, argv, opts, COUNT(opts), &multi, 1, rest, &n_rest, err,
	                       sizeof(err));
	if (rc) {
		rc = cli_usage(c, "%s", err);
		goto cleanup;
	}
	rc = cli_parse(c, n_rest, rest, opts, COUNT(opts), pos, 1, 1, &n_pos, "NAME");
	if (rc)
		goto cleanup;
	if (!port) {
		rc = cli_usage(c, "lb create: missing --port");
		goto cleanup;
	}
	rc = cli_labels_parse(c, "--backend-selector", selector, sel, &n_sel);
	if (rc)
		goto cleanup;
	rc = cli_labels_parse(c, "--placement", placement, place, &n_place);
	if (rc)
		goto cleanup;
	for (size_t i = 0; i < multi.n; i++) {
		if (args_parse_backend(multi.vals[i], true, &bes[i], err, sizeof(err))) {
			rc = cli_usage(c, "--backend: %s", err);
			goto cleanup;
		}
		netfn__lb_backend_spec__init(&specs[i]);
		specs[i].address = bes[i].addr;
		specs[i].port = bes[i].port;
		specs[i].weight = bes[i].weight;
		spec_ptrs[i] = &specs[i];
	}
	rc = health_from_flags(c, &chk, &hc, &req.health);
	if (rc)
		goto cleanup;
	cli_labels_to_pb(sel, n_sel, sel_msgs, sel_ptrs);
	cli_labels_to_pb(place, n_place, place_msgs, place_ptrs);
	req.name = cli_str(pos[0]);
	req.network = cli_str(network);
	req.protocol = cli_str(protocol);
	req.vip = cli_str(vip);
	req.port = port;
	req.n_backend_selector = n_sel;
	req.backend_selector = sel_ptrs;
	req.backend_port = backend_port;
	req.backend_weight = backend_weight;
	req.n_backends = multi.n;
	req.backends = spec_ptrs;
	req.algorithm = cli_str(algorithm);
	req.n_placement = n_place;
	req.placement = place_ptrs;
	req.replicas = replicas;
	rc = cli_call(c, "lb.create", &req.base, &netfn__load_balancer__descriptor,
	              (ProtobufCMessage **)&reply);
	if (rc)
		goto cleanup;
	rc = print_lb(c, reply);
cleanup:
	cli_reply_free(reply);
	free(bes);
	free(spec_ptrs);
	free(specs);
	free(multi.vals);
	free(rest);
	return rc;
}

/* ---- the reads, delete ---- */

static int cmd_list(struct cli *c, int argc, char **argv)
{
	Netfn__LoadBalancerList *reply = NULL;
	int rc;

	rc = cli_call_network(c, argc, argv, "lb.list", &netfn__load_balancer_list__descriptor,
	                      (ProtobufCMessage **)&reply);
	if (rc == 0)
		rc = print_lbs(c, reply->lbs, reply->n_lbs);
	cli_reply_free(reply);
	return rc;
}

static int cmd_show(struct cli *c, int argc, char **argv)
{
	Netfn__NameRef ref;
	Netfn__LoadBalancer *reply = NULL;
	int rc;

	rc = cli_call_ref(c, argc, argv, "NAME", &ref, "lb.show", &netfn__load_balancer__descriptor,
	                  (ProtobufCMessage **)&reply);
	if (rc == 0)
		rc = print_lb(c, reply);
	cli_reply_free(reply);
	return rc;
}

static int cmd_delete(struct cli *c, int argc, char **argv)
{
	Netfn__NameRef ref;
	int rc;

	rc = cli_call_ref(c, argc, argv, "NAME", &ref, "lb.delete", NULL, NULL);
	if (rc == 0)
		cli_note("load balancer %s deleted", ref.name);
	return rc;
}

static int cmd_backends(struct cli *c, int argc, char **argv)
{
	Netfn__NameRef ref;
	Netfn__LbBackendList *reply = NULL;
	int rc;

	rc = cli_call_ref(c, argc, argv, "NAME", &ref, "lb.backends",
	                  &netfn__lb_backend_list__descriptor, (ProtobufCMessage **)&reply);
	if (rc == 0)
		rc = print_backends(c, reply);
	cli_reply_free(reply);
	return rc;
}

/* ---- backend add|remove ---- */

/* NAME ADDR:PORT[@WEIGHT] [--network NET]: one explicit backend in or out. */
static int backend_change(struct cli *c, int argc, char **argv, bool add)
{
	Netfn__LbBackendChange req = NETFN__LB_BACKEND_CHANGE__INIT;
	Netfn__LbBackendSpec spec = NETFN__LB_BACKEND_SPEC__INIT;
	Netfn__LoadBalancer *reply = NULL;
	const char *network;
	struct args_backend be;
	const char *pos[2];
	char err[256];
	size_t n_pos;
	int rc;

	rc = cli_parse_network(c, argc, argv, &network, pos, 2, 2, &n_pos,
	                       add ? "NAME ADDR:PORT[@WEIGHT]" : "NAME ADDR:PORT");
	if (rc)
		return rc;
	if (args_parse_backend(pos[1], add, &be, err, sizeof(err)))
		return cli_usage(c, "%s", err);
	spec.address = be.addr;
	spec.port = be.port;
	spec.weight = be.weight;
	req.name = cli_str(pos[0]);
	req.network = cli_str(network);
	req.backend = &spec;
	rc = cli_call(c, add ? "lb.backend_add" : "lb.backend_remove", &req.base,
	              &netfn__load_balancer__descriptor, (ProtobufCMessage **)&reply);
	if (rc)
		goto cleanup;
	rc = print_lb(c, reply);
	if (rc == 0)
		cli_note("backend %s:%u %s load balancer %s", be.addr, be.port,
		         add ? "added to" : "removed from", pos[0]);
cleanup:
	cli_reply_free(reply);
	return rc;
}

static int backend_add(struct cli *c, int argc, char **argv)
{
	return backend_change(c, argc, argv, true);
}

static int backend_remove(struct cli *c, int argc, char **argv)
{
	return backend_change(c, argc, argv, false);
}

static const struct cli_verb backend_verbs[] = {
    {"add", backend_add},
    {"remove", backend_remove},
};

/* "backend" is a verb with verbs of its own; global flags go after them. */
static int cmd_backend(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, argc, argv, backend_verbs, COUNT(backend_verbs), "add or remove");
}

static const struct cli_verb verbs[] = {
    {"create", cmd_create}, {"list", cmd_list},         {"show", cmd_show},
    {"delete", cmd_delete}, {"backends", cmd_backends}, {"backend", cmd_backend},
};

const struct cli_noun cli_noun_lb = {
    .name = "lb",
    .verbs = verbs,
    .n_verbs = COUNT(verbs),
    .usage = "  netfnctl lb create NAME [--network NET] --port N [--protocol tcp|udp]"
             " [--vip auto|ADDR] [--backend-selector k=v,...] [--backend-port N]"
             " [--backend-weight N] [--backend ADDR:PORT[@WEIGHT]]..."
             " [--algorithm round-robin|random|source-hash] [--check-interval DUR]"
             " [--check-timeout DUR] [--rise N] [--fall N] [--check-port N] [--no-check]"
             " [--placement k=v,...] [--replicas N]\n"
             "  netfnctl lb list [--network NET]\n"
             "  netfnctl lb show NAME [--network NET]\n"
             "  netfnctl lb delete NAME [--network NET]\n"
             "  netfnctl lb backends NAME [--network NET]\n"
             "  netfnctl lb backend add NAME ADDR:PORT[@WEIGHT] [--network NET]\n"
             "  netfnctl lb backend remove NAME ADDR:PORT [--network NET]\n",
};
