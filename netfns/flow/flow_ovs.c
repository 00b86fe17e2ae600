// SPDX-License-Identifier: Apache-2.0
/*
 * The one owner of the agent's Open vSwitch connections (flow_ovs.h): the
 * bridge through OVSDB transactions on db.sock (JSON-RPC, a new connection
 * per ensure), flows through one OpenFlow 1.3 vconn on <bridge>.mgmt.
 *
 * Every apply is a pure diff: dump the flows with our cookie, compare with
 * the desired ones (cookie, priority, match, actions), and send the deletes
 * and adds in one ordered, atomic bundle, then a barrier. A dump is taken
 * each time, so a reconnect needs no other resync than applying the last
 * config again.
 *
 * libopenvswitch, as used here: vlog logs warnings and errors to stderr
 * only; poll_block() calls fatal_signal_init(), which installs handlers for
 * SIGTERM, SIGINT, SIGHUP and SIGALRM where they are SIG_DFL and an atexit
 * hook, but never changes the signal mask, so a process that blocks SIGTERM
 * and SIGINT and takes them with sigwait keeps doing so; SIGPIPE is set to
 * SIG_IGN here (vconn sends with send(fd, ..., 0)). The library keeps
 * process-wide state without locks of ours: one thread at a time.
 */
#include <config.h>

#include "netfns/flow/flow_ovs.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "byte-order.h"
#include "jsonrpc.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/json.h"
#include "openvswitch/match.h"
#include "openvswitch/ofp-actions.h"
#include "openvswitch/ofp-errors.h"
#include "openvswitch/ofp-flow.h"
#include "openvswitch/ofp-util.h"
#include "openvswitch/ofpbuf.h"
#include "openvswitch/vconn.h"
#include "openvswitch/vlog.h"
#include "packets.h"
#include "stream.h"

#define WAIT_MS     5000 /* for ovs-vswitchd to apply OVSDB changes and to listen */
#define POLL_MS     20
#define OF_VERSIONS (1u << OFP13_VERSION)
#define OF_PROTO    OFPUTIL_P_OF13_OXM

struct flow_ovs {
	char *rundir, *bridge, **ports;
	size_t n_ports;
	char db_name[300], mgmt_name[300];
	int ofports[8]; /* of ports[]; flow_ovs_open takes at most 8 */
	struct vconn *vconn;
	struct flow_config applied; /* what the bridge was last brought to */
	struct flow_counter *prev;  /* the last reading, for rates */
	size_t n_prev;
	int64_t prev_ms;
};

/* One flow we want, or one installed flow of ours (ofpacts then from the dump). */
struct want {
	uint64_t cookie;
	uint16_t priority;
	struct match match;
	bool allow;
	char *key; /* match_to_string of match */
};

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Interface names go into JSON text unquoted-safe: IFNAMSIZ, no quotes or escapes. */
static bool name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 15)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

static void library_init(void)
{
	static bool done;
	struct sigaction sa;
	char *e;

	if (done)
		return;
	done = true;
	e = vlog_set_levels_from_string("any:any:off");
	free(e);
	e = vlog_set_levels_from_string("console:any:warn");
	free(e);
	/* timeval warns of a "long poll interval" whenever we are called after a pause. */
	e = vlog_set_levels_from_string("console:timeval:off");
	free(e);
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
}

int flow_ovs_open(const struct flow_ovs_opts *opts, struct flow_ovs **out)
{
	struct flow_ovs *o;

	*out = NULL;
	if (!opts || !opts->rundir || !*opts->rundir || strlen(opts->rundir) > 200 ||
	    !name_ok(opts->bridge) || opts->n_ports > 8 || (opts->n_ports && !opts->ports))
		return -EINVAL;
	for (size_t i = 0; i < opts->n_ports; i++)
		if (!name_ok(opts->ports[i]) || !strcmp(opts->ports[i], opts->bridge))
			return -EINVAL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->rundir = strdup(opts->rundir);
	o->bridge = strdup(opts->bridge);
	o->ports = calloc(opts->n_ports + 1, sizeof(char *));
	if (!o->rundir || !o->bridge || !o->ports)
		goto nomem;
	for (size_t i = 0; i < opts->n_ports; i++) {
		o->ports[i] = strdup(opts->ports[i]);
		if (!o->ports[i])
			goto nomem;
		o->n_ports++;
	}
	snprintf(o->db_name, sizeof(o->db_name), "unix:%s/db.sock", o->rundir);
	snprintf(o->mgmt_name, sizeof(o->mgmt_name), "unix:%s/%s.mgmt", o->rundir, o->bridge);
	library_init();
	*out = o;
	return 0;
nomem:
	flow_ovs_close(o);
	return -ENOMEM;
}

/* ---- OVSDB ---- */

static struct json *get(const struct json *row, const char *col)
{
	return row && row->type == JSON_OBJECT ? shash_find_data(json_object(row), col) : NULL;
}

/* The rows of select number i in a transact result, or NULL. */
static const struct json_array *rows(const struct json *result, size_t i)
{
	const struct json_array *a = json_array(result);
	const struct json *r = i < a->n ? get(a->elems[i], "rows") : NULL;

	return r && r->type == JSON_ARRAY ? json_array(r) : NULL;
}

/* An atom or ["set", [...]] of one atom: its string, else NULL. */
static const char *str_atom(const struct json *j)
{
	if (j && j->type == JSON_STRING)
		return json_string(j);
	if (j && j->type == JSON_ARRAY && json_array(j)->n == 2 &&
	    json_array(j)->elems[1]->type == JSON_ARRAY &&
	    json_array(json_array(j)->elems[1])->n == 1 &&
	    json_array(json_array(j)->elems[1])->elems[0]->type == JSON_STRING)
		return json_string(json_array(json_array(j)->elems[1])->elems[0]);
	return NULL;
}

static const char *uuid_of(const struct json *row)
{
	const struct json *u = get(row, "_uuid");

	return u && u->type == JSON_ARRAY && json_array(u)->n == 2
	           ? json_string(json_array(u)->elems[1])
	           : "";
}

/* Whether a uuid set column (["uuid",U] or ["set",[["uuid",U],...]]) holds uuid. */
static bool set_has_uuid(const struct json *j, const char *uuid)
{
	const struct json_array *a;

	if (!j || j->type != JSON_ARRAY || json_array(j)->n != 2)
		return false;
	a = json_array(j);
	if (!strcmp(json_string(a->elems[0]), "uuid"))
		return !strcmp(json_string(a->elems[1]), uuid);
	for (size_t i = 0; a->elems[1]->type == JSON_ARRAY && i < json_array(a->elems[1])->n; i++)
		if (set_has_uuid(json_array(a->elems[1])->elems[i], uuid))
			return true;
	return false;
}

/* The value of key in a ["map", [[k, v], ...]] column, or NULL. */
static const char *map_get(const struct json *j, const char *key)
{
	const struct json_array *pairs;

	if (!j || j->type != JSON_ARRAY || json_array(j)->n != 2 ||
	    json_array(j)->elems[1]->type != JSON_ARRAY)
		return NULL;
	pairs = json_array(json_array(j)->elems[1]);
	for (size_t i = 0; i < pairs->n; i++) {
		const struct json_array *kv = json_array(pairs->elems[i]);

		if (kv->n == 2 && kv->elems[0]->type == JSON_STRING &&
		    !strcmp(json_string(kv->elems[0]), key))
			return kv->elems[1]->type == JSON_STRING ? json_string(kv->elems[1]) : NULL;
	}
	return NULL;
}

/*
 * Runs one transaction of ops (JSON text of the operations, comma separated)
 * and gives its reply (*reply, to destroy) whose result has no op error.
 */
static int db_transact(struct flow_ovs *o, struct jsonrpc *rpc, const char *ops,
                       struct jsonrpc_msg **reply, char *err, size_t errlen)
{
	struct ds text = DS_EMPTY_INITIALIZER;
	struct jsonrpc_msg *req;
	struct json *params;
	const struct json_array *res;
	int rc;

	*reply = NULL;
	ds_put_format(&text, "[\"Open_vSwitch\",%s]", ops);
	params = json_from_string(ds_cstr(&text));
	ds_destroy(&text);
	if (params->type != JSON_ARRAY) {
		rc = fail(err, errlen, -EINVAL, "ovsdb %s: bad request: %s", o->db_name,
		          params->type == JSON_STRING ? json_string(params) : "?");
		json_destroy(params);
		return rc;
	}
	req = jsonrpc_create_request("transact", params, NULL);
	rc = jsonrpc_transact_block(rpc, req, reply);
	if (rc)
		return fail(err, errlen, -rc, "ovsdb %s: %s", o->db_name, ovs_retval_to_string(rc));
	if ((*reply)->error || !(*reply)->result || (*reply)->result->type != JSON_ARRAY) {
		char *s = (*reply)->error ? json_to_string((*reply)->error, 0) : NULL;

		rc = fail(err, errlen, -EPROTO, "ovsdb %s: transaction failed: %s", o->db_name,
		          s ? s : "no result");
		free(s);
		goto error;
	}
	res = json_array((*reply)->result);
	for (size_t i = 0; i < res->n; i++) {
		const char *e = str_atom(get(res->elems[i], "error"));
		const char *d = str_atom(get(res->elems[i], "details"));

		if (e) {
			rc = fail(err, errlen,
			          !strcmp(e, "constraint violation") ? -EEXIST : -EPROTO,
			          "ovsdb %s: operation %zu: %s%s%s", o->db_name, i, e,
			          d ? ": " : "", d ? d : "");
			goto error;
		}
	}
	return 0;
error:
	jsonrpc_msg_destroy(*reply);
	*reply = NULL;
	return rc;
}

/* Appends insert ops for an Interface and a Port named name (uuid-names i<k>, p<k>). */
static void put_port(struct ds *ops, const char *name, const char *type, size_t k)
{
	ds_put_format(ops,
	              ",{\"op\":\"insert\",\"table\":\"Interface\",\"uuid-name\":\"i%zu\","
	              "\"row\":{\"name\":\"%s\",\"type\":\"%s\"}}"
	              ",{\"op\":\"insert\",\"table\":\"Port\",\"uuid-name\":\"p%zu\","
	              "\"row\":{\"name\":\"%s\",\"interfaces\":[\"named-uuid\",\"i%zu\"]}}",
	              k, name, type, k, name, k);
}

/*
 * Waits until ovs-vswitchd has applied next_cfg target (cur_cfg) and is not
 * waiting for saved flows to be restored (other_config:flow-restore-wait),
 * so that flows we install are not overwritten by ovs-save's restore.
 */
static int db_wait_applied(struct flow_ovs *o, struct jsonrpc *rpc, int64_t target, char *err,
                           size_t errlen)
{
	int64_t deadline = now_ms() + WAIT_MS, cur = -1;
	bool restoring = false;

	for (;;) {
		struct jsonrpc_msg *reply;
		const struct json_array *r;
		int rc = db_transact(o, rpc,
		                     "{\"op\":\"select\",\"table\":\"Open_vSwitch\",\"where\":[],"
		                     "\"columns\":[\"cur_cfg\",\"other_config\"]}",
		                     &reply, err, errlen);

		if (rc)
			return rc;
		r = rows(reply->result, 0);
		if (r && r->n == 1) {
			const struct json *c = get(r->elems[0], "cur_cfg");
			const char *frw =
			    map_get(get(r->elems[0], "other_config"), "flow-restore-wait");

			cur = c && c->type == JSON_INTEGER ? json_integer(c) : -1;
			restoring = frw && !strcmp(frw, "true");
		}
		jsonrpc_msg_destroy(reply);
		if (cur >= target && !restoring)
			return 0;
		if (now_ms() >= deadline)
			return fail(
			    err, errlen, -ETIMEDOUT,
			    "ovsdb %s: ovs-vswitchd has not applied configuration %lld in %d ms "
			    "(cur_cfg %lld%s): is it running?",
			    o->db_name, (long long)target, WAIT_MS, (long long)cur,
			    restoring ? ", flow-restore-wait" : "");
		poll(NULL, 0, POLL_MS);
	}
}

/* Reads the OpenFlow port numbers of our ports from Interface.ofport. */
static int db_read_ofports(struct flow_ovs *o, struct jsonrpc *rpc, char *err, size_t errlen)
{
	struct ds ops = DS_EMPTY_INITIALIZER;
	struct jsonrpc_msg *reply = NULL;
	int rc;

	for (size_t i = 0; i < o->n_ports; i++)
		ds_put_format(
		    &ops,
		    "%s{\"op\":\"select\",\"table\":\"Interface\",\"where\":[[\"name\",\"==\","
		    "\"%s\"]],\"columns\":[\"ofport\",\"error\"]}",
		    i ? "," : "", o->ports[i]);
	rc = o->n_ports ? db_transact(o, rpc, ds_cstr(&ops), &reply, err, errlen) : 0;
	ds_destroy(&ops);
	for (size_t i = 0; !rc && i < o->n_ports; i++) {
		const struct json_array *r = rows(reply->result, i);
		const struct json *p = r && r->n == 1 ? get(r->elems[0], "ofport") : NULL;
		const char *e = r && r->n == 1 ? str_atom(get(r->elems[0], "error")) : NULL;

		if (!p || p->type != JSON_INTEGER || json_integer(p) <= 0 ||
		    json_integer(p) >= 0xff00)
			rc = fail(err, errlen, -ENODEV,
			          "bridge %s: port %s has no OpenFlow port: %s", o->bridge,
			          o->ports[i], e ? e : "not assigned");
		else
			o->ofports[i] = (int)json_integer(p);
	}
	jsonrpc_msg_destroy(reply);
	return rc;
}

/* Makes the bridge and its ports exist as flow_ovs.h says, and waits until they are applied. */
static int db_ensure(struct flow_ovs *o, struct jsonrpc *rpc, char *err, size_t errlen)
{
	struct ds ops = DS_EMPTY_INITIALIZER, brports = DS_EMPTY_INITIALIZER;
	struct jsonrpc_msg *reply = NULL, *wreply = NULL;
	const struct json_array *r;
	const struct json *ovs = NULL, *br = NULL;
	const char *ovs_uuid = NULL;
	size_t n_changes = 0;
	int64_t target = 0;
	int rc;

	/* Port names: [0] the bridge's internal port, then ours. */
	ds_put_format(
	    &ops,
	    "{\"op\":\"select\",\"table\":\"Open_vSwitch\",\"where\":[],"
	    "\"columns\":[\"_uuid\",\"next_cfg\"]}"
	    ",{\"op\":\"select\",\"table\":\"Bridge\",\"where\":[[\"name\",\"==\",\"%s\"]],"
	    "\"columns\":[\"_uuid\",\"ports\",\"datapath_type\",\"fail_mode\","
	    "\"protocols\",\"other_config\"]}",
	    o->bridge);
	for (size_t k = 0; k <= o->n_ports; k++)
		ds_put_format(&ops,
		              ",{\"op\":\"select\",\"table\":\"Port\",\"where\":[[\"name\",\"==\","
		              "\"%s\"]],\"columns\":[\"_uuid\"]}",
		              k ? o->ports[k - 1] : o->bridge);
	rc = db_transact(o, rpc, ds_cstr(&ops), &reply, err, errlen);
	ds_clear(&ops);
	if (rc)
		goto cleanup;
	r = rows(reply->result, 0);
	if (r && r->n == 1) {
		ovs = r->elems[0];
		ovs_uuid = uuid_of(ovs);
	}
	r = rows(reply->result, 1);
	br = r && r->n == 1 ? r->elems[0] : NULL;

	if (!ovs) /* a database nobody initialised (ovs-vsctl init does this) */
		ds_put_cstr(&ops, ",{\"op\":\"insert\",\"table\":\"Open_vSwitch\",\"row\":{},"
		                  "\"uuid-name\":\"ovs\"}");
	for (size_t k = 0; k <= o->n_ports; k++) {
		const struct json_array *pr = rows(reply->result, 2 + k);
		const char *name = k ? o->ports[k - 1] : o->bridge;

		if (pr && pr->n == 1) {
			if (!br || !set_has_uuid(get(br, "ports"), uuid_of(pr->elems[0]))) {
				rc = fail(err, errlen, -EEXIST,
				          "ovsdb %s: port %s exists on another bridge than %s",
				          o->db_name, name, o->bridge);
				goto cleanup;
			}
			continue;
		}
		put_port(&ops, name, k ? "" : "internal", k);
		ds_put_format(&brports, "%s[\"named-uuid\",\"p%zu\"]", brports.length ? "," : "",
		              k);
		n_changes++;
	}
	if (!br) {
		ds_put_format(
		    &ops,
		    ",{\"op\":\"insert\",\"table\":\"Bridge\",\"uuid-name\":\"br\",\"row\":{"
		    "\"name\":\"%s\",\"ports\":[\"set\",[%s]],\"datapath_type\":\"netdev\","
		    "\"fail_mode\":\"secure\",\"protocols\":\"OpenFlow13\",\"other_config\":"
		    "[\"map\",[[\"disable-in-band\",\"true\"]]]}}",
		    o->bridge, ds_cstr(&brports));
		if (ovs)
			ds_put_format(
			    &ops,
			    ",{\"op\":\"mutate\",\"table\":\"Open_vSwitch\",\"where\":[[\"_uuid\","
			    "\"==\",[\"uuid\",\"%s\"]]],\"mutations\":[[\"bridges\",\"insert\","
			    "[\"named-uuid\",\"br\"]]]}",
			    ovs_uuid);
		else
			ds_put_cstr(
			    &ops,
			    ",{\"op\":\"update\",\"table\":\"Open_vSwitch\",\"where\":[["
			    "\"_uuid\",\"==\",[\"named-uuid\",\"ovs\"]]],\"row\":{\"bridges\":"
			    "[\"named-uuid\",\"br\"]}}");
		n_changes++;
	} else {
		const char *dpt = str_atom(get(br, "datapath_type"));
		const char *fm = str_atom(get(br, "fail_mode"));
		const char *proto = str_atom(get(br, "protocols"));
		const char *dib = map_get(get(br, "other_config"), "disable-in-band");
		const char *where = "\"where\":[[\"_uuid\",\"==\",[\"uuid\",\"";

		if (brports.length) {
			ds_put_format(&ops,
			              ",{\"op\":\"mutate\",\"table\":\"Bridge\",%s%s\"]]],"
			              "\"mutations\":[[\"ports\",\"insert\",[\"set\",[%s]]]]}",
			              where, uuid_of(br), ds_cstr(&brports));
		}
		if (!dpt || strcmp(dpt, "netdev") || !fm || strcmp(fm, "secure") || !proto ||
		    strcmp(proto, "OpenFlow13")) {
			ds_put_format(&ops,
			              ",{\"op\":\"update\",\"table\":\"Bridge\",%s%s\"]]],\"row\":{"
			              "\"datapath_type\":\"netdev\",\"fail_mode\":\"secure\","
			              "\"protocols\":\"OpenFlow13\"}}",
			              where, uuid_of(br));
			n_changes++;
		}
		if (!dib || strcmp(dib, "true")) {
			ds_put_format(
			    &ops,
			    ",{\"op\":\"mutate\",\"table\":\"Bridge\",%s%s\"]]],\"mutations\":["
			    "[\"other_config\",\"delete\",[\"set\",[\"disable-in-band\"]]],"
			    "[\"other_config\",\"insert\",[\"map\",[[\"disable-in-band\","
			    "\"true\"]]]]]}",
			    where, uuid_of(br));
			n_changes++;
		}
	}

	if (n_changes) {
		/* Bump next_cfg as ovs-vsctl does and read the new value back in the same
		 * transaction. */
		const char *root = ovs ? "[\"uuid\",\"" : "[\"named-uuid\",\"";
		struct ds all = DS_EMPTY_INITIALIZER;
		const struct json_array *res;
		const struct json_array *nr;

		ds_put_format(
		    &all,
		    "%s,{\"op\":\"mutate\",\"table\":\"Open_vSwitch\",\"where\":[[\"_uuid\","
		    "\"==\",%s%s\"]]],\"mutations\":[[\"next_cfg\",\"+=\",1]]}"
		    ",{\"op\":\"select\",\"table\":\"Open_vSwitch\",\"where\":[],"
		    "\"columns\":[\"next_cfg\"]}",
		    ds_cstr(&ops) + 1, root, ovs ? ovs_uuid : "ovs");
		rc = db_transact(o, rpc, ds_cstr(&all), &wreply, err, errlen);
		ds_destroy(&all);
		if (rc)
			goto cleanup;
		res = json_array(wreply->result);
		/* The select is the last op; a commit result may follow it. */
		for (size_t i = res->n; i-- > 0;) {
			nr = rows(wreply->result, i);
			if (nr && nr->n == 1 && get(nr->elems[0], "next_cfg")) {
				target = json_integer(get(nr->elems[0], "next_cfg"));
				break;
			}
		}
	} else {
		const struct json *nc = get(ovs, "next_cfg");

		target = nc && nc->type == JSON_INTEGER ? json_integer(nc) : 0;
	}
	rc = db_wait_applied(o, rpc, target, err, errlen);
	if (!rc)
		rc = db_read_ofports(o, rpc, err, errlen);
cleanup:
	jsonrpc_msg_destroy(reply);
	jsonrpc_msg_destroy(wreply);
	ds_destroy(&ops);
	ds_destroy(&brports);
	return rc;
}

static int db_connect(struct flow_ovs *o, struct jsonrpc **rpc, char *err, size_t errlen)
{
	struct stream *stream = NULL;
	int rc = stream_open_block(jsonrpc_stream_open(o->db_name, &stream, 0), WAIT_MS, &stream);

	*rpc = NULL;
	if (rc)
		return fail(err, errlen, -rc, "ovsdb %s: %s", o->db_name, ovs_retval_to_string(rc));
	*rpc = jsonrpc_open(stream);
	return 0;
}

/* ---- OpenFlow ---- */

/* errno values that mean the connection is gone (ovs-vswitchd restarted or died). */
static bool conn_lost(int rc)
{
	return rc == EOF || rc == EPIPE || rc == ECONNRESET || rc == ECONNREFUSED || rc == ENOENT ||
	       rc == ENOTCONN;
}

static const char *of_strerror(int rc)
{
	return rc == EOF ? "connection closed" : ovs_strerror(rc);
}

static void of_disconnect(struct flow_ovs *o)
{
	vconn_close(o->vconn);
	o->vconn = NULL;
}

/* Connects OpenFlow 1.3, retrying while ovs-vswitchd has not created the socket yet. */
static int of_connect(struct flow_ovs *o, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + WAIT_MS;
	int rc;

	if (o->vconn)
		return 0;
	for (;;) {
		rc = vconn_open_block(o->mgmt_name, OF_VERSIONS, 0, WAIT_MS, &o->vconn);
		if (!rc)
			return 0;
		o->vconn = NULL;
		if (!conn_lost(rc) || now_ms() >= deadline)
			return fail(err, errlen, -rc, "openflow %s: %s", o->mgmt_name,
			            of_strerror(rc));
		poll(NULL, 0, POLL_MS);
	}
}

/* A connection error closes the vconn so that the next call reconnects. */
static int of_fail(struct flow_ovs *o, int rc, const char *what, char *err, size_t errlen)
{
	if (conn_lost(rc))
		of_disconnect(o);
	return fail(err, errlen, rc == EOF ? -ECONNRESET : -rc, "openflow %s: %s: %s", o->mgmt_name,
	            what, of_strerror(rc));
}

static int of_barrier(struct flow_ovs *o, char *err, size_t errlen)
{
	struct ofpbuf *reply = NULL;
	int rc = vconn_transact(
	    o->vconn, ofputil_encode_barrier_request(vconn_get_version(o->vconn)), &reply);

	ofpbuf_delete(reply);
	return rc ? of_fail(o, rc, "barrier", err, errlen) : 0;
}

/*
 * Dumps the flows whose cookie matches cookie/mask. vconn_dump_flows turns
 * a connection closed mid-dump into a short, successful dump: the barrier
 * after it is what tells a complete dump from a cut one. The barrier before
 * it finds a connection that died since the last call: vconn_dump_flows
 * (OVS 3.1) leaks its request when the send fails, vconn_transact does not.
 */
static int of_dump(struct flow_ovs *o, uint64_t cookie, uint64_t mask,
                   struct ofputil_flow_stats **fses, size_t *n, char *err, size_t errlen)
{
	struct ofputil_flow_stats_request fsr = {
	    .cookie = htonll(cookie),
	    .cookie_mask = htonll(mask),
	    .out_port = OFPP_ANY,
	    .out_group = OFPG_ANY,
	    .table_id = 0xff,
	};
	int rc;

	*fses = NULL;
	*n = 0;
	match_init_catchall(&fsr.match);
	rc = of_barrier(o, err, errlen);
	if (rc)
		return rc;
	rc = vconn_dump_flows(o->vconn, &fsr, OF_PROTO, fses, n);
	if (rc)
		return of_fail(o, rc, "flow dump", err, errlen);
	rc = of_barrier(o, err, errlen);
	if (rc) {
		for (size_t i = 0; i < *n; i++)
			free((void *)(*fses)[i].ofpacts);
		free(*fses);
		*fses = NULL;
		*n = 0;
	}
	return rc;
}

static void free_dump(struct ofputil_flow_stats *fses, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((void *)fses[i].ofpacts);
	free(fses);
}

static void filter_match(const struct flow_filter *f, struct match *m)
{
	match_init_catchall(m);
	match_set_dl_type(m, htons(ETH_TYPE_IP));
	if (f->protocol)
		match_set_nw_proto(m, f->protocol);
	if (f->dst_port)
		match_set_tp_dst(m, htons(f->dst_port));
	if (!f->src_any)
		match_set_nw_src_masked(m, f->src.addr.v4.s_addr, be32_prefix_mask(f->src.len));
	if (!f->dst_any)
		match_set_nw_dst_masked(m, f->dst.addr.v4.s_addr, be32_prefix_mask(f->dst.len));
}

/* The base flows then one per filter; *out is malloc'd. */
static int desired_flows(const struct flow_ovs *o, const struct flow_config *cfg, struct want **out,
                         size_t *n)
{
	struct want *w = calloc(o->n_ports + cfg->n + 1, sizeof(*w));

	*out = w;
	*n = 0;
	if (!w)
		return -ENOMEM;
	for (size_t i = 0; i < o->n_ports; i++) {
		w[*n].cookie = FLOW_COOKIE_TAG;
		w[*n].priority = 0;
		w[*n].allow = true;
		match_init_catchall(&w[*n].match);
		match_set_in_port(&w[*n].match, (OVS_FORCE ofp_port_t)(uint16_t)o->ofports[i]);
		(*n)++;
	}
	for (size_t i = 0; i < cfg->n; i++) {
		w[*n].cookie = FLOW_COOKIE_TAG | cfg->filters[i].id;
		w[*n].priority = (uint16_t)cfg->filters[i].priority;
		w[*n].allow = cfg->filters[i].action == FLOW_ALLOW;
		filter_match(&cfg->filters[i], &w[*n].match);
		(*n)++;
	}
	for (size_t i = 0; i < *n; i++)
		w[i].key = match_to_string(&w[i].match, NULL, OFP_DEFAULT_PRIORITY);
	return 0;
}

/*
 * Appends one flow_mod to requests. An add sets cookie; a delete matches
 * cookie under cookie_mask (a strict one exactly, in table 0; a loose one in
 * every table). xids/ids (may be NULL) remember which filter each xid is
 * for, to name it in an error.
 */
static void put_flow_mod(struct ovs_list *requests, uint16_t command, uint64_t cookie,
                         uint64_t cookie_mask, uint16_t priority, const struct match *match,
                         bool allow, uint32_t *xids, uint64_t *ids, size_t *n)
{
	struct ofputil_flow_mod fm = {
	    .priority = priority,
	    .new_cookie = command == OFPFC_ADD ? htonll(cookie) : OVS_BE64_MAX,
	    .cookie = command == OFPFC_ADD ? 0 : htonll(cookie),
	    .cookie_mask = command == OFPFC_ADD ? 0 : htonll(cookie_mask),
	    .table_id = command == OFPFC_DELETE ? OFPTT_ALL : 0,
	    .command = command,
	    .buffer_id = UINT32_MAX,
	    .out_port = OFPP_ANY,
	    .out_group = OFPG_ANY,
	};
	uint64_t stub[64 / 8];
	struct ofpbuf acts;
	struct ofpbuf *msg;

	ofpbuf_use_stub(&acts, stub, sizeof(stub));
	if (allow && command == OFPFC_ADD)
		ofpact_put_OUTPUT(&acts)->port = OFPP_IN_PORT;
	fm.ofpacts = acts.data;
	fm.ofpacts_len = acts.size;
	minimatch_init(&fm.match, match);
	msg = ofputil_encode_flow_mod(&fm, OF_PROTO);
	minimatch_destroy(&fm.match);
	ofpbuf_uninit(&acts);
	if (xids) {
		xids[*n] = ntohl(((const struct ofp_header *)msg->data)->xid);
		ids[*n] = cookie & ~FLOW_COOKIE_MASK;
		(*n)++;
	}
	ovs_list_push_back(requests, &msg->list_node);
}

static bool same_actions(const struct ofputil_flow_stats *fs, bool allow)
{
	uint64_t stub[64 / 8];
	struct ofpbuf acts;
	bool same;

	ofpbuf_use_stub(&acts, stub, sizeof(stub));
	if (allow)
		ofpact_put_OUTPUT(&acts)->port = OFPP_IN_PORT;
	same = ofpacts_equal(fs->ofpacts, fs->ofpacts_len, acts.data, acts.size);
	ofpbuf_uninit(&acts);
	return same;
}

/* Turns the bundle's OpenFlow errors into one message naming the filter. */
static int bundle_error(struct flow_ovs *o, int rc, struct ovs_list *errors, const uint32_t *xids,
                        const uint64_t *ids, size_t n, char *err, size_t errlen)
{
	struct ofpbuf *e;
	bool named = false;

	LIST_FOR_EACH(e, list_node, errors)
	{
		const struct ofp_header *oh = e->data;
		enum ofperr ofperr = ofperr_decode_msg(oh, NULL);
		uint32_t xid = ntohl(oh->xid);

		for (size_t i = 0; i < n && !named; i++) {
			if (xids[i] != xid)
				continue;
			if (ids[i])
				fail(err, errlen, -EPROTO,
				     "openflow %s: flow of filter %llu: %s (%s)", o->mgmt_name,
				     (unsigned long long)ids[i], ofperr_to_string(ofperr),
				     ofperr_get_name(ofperr));
			else
				fail(err, errlen, -EPROTO, "openflow %s: base flow: %s (%s)",
				     o->mgmt_name, ofperr_to_string(ofperr),
				     ofperr_get_name(ofperr));
			named = true;
		}
		if (!named) {
			fail(err, errlen, -EPROTO, "openflow %s: bundle: %s (%s)", o->mgmt_name,
			     ofperr_to_string(ofperr), ofperr_get_name(ofperr));
			named = true;
		}
	}
	ofpbuf_list_delete(errors);
	if (named && !conn_lost(rc))
		return -EPROTO;
	return of_fail(o, rc, "bundle", err, errlen);
}

/* Brings our flows to cfg: one bundle of the difference, then a barrier. */
static int of_sync(struct flow_ovs *o, const struct flow_config *cfg, char *err, size_t errlen)
{
	struct ofputil_flow_stats *fses = NULL;
	struct want *w = NULL;
	bool *kept = NULL;
	uint32_t *xids = NULL;
	uint64_t *ids = NULL;
	size_t n_fses = 0, n_w = 0, n_req = 0;
	struct ovs_list requests, errors;
	int rc;

	ovs_list_init(&requests);
	rc = desired_flows(o, cfg, &w, &n_w);
	if (rc)
		return fail(err, errlen, rc, "bridge %s: out of memory", o->bridge);
	rc = of_dump(o, FLOW_COOKIE_TAG, FLOW_COOKIE_MASK, &fses, &n_fses, err, errlen);
	if (rc)
		goto cleanup;
	kept = calloc(n_w + 1, sizeof(*kept));
	xids = calloc(n_w + n_fses + 1, sizeof(*xids));
	ids = calloc(n_w + n_fses + 1, sizeof(*ids));
	if (!kept || !xids || !ids) {
		rc = fail(err, errlen, -ENOMEM, "bridge %s: out of memory", o->bridge);
		goto cleanup;
	}
	/* Deletes first: a flow changing its actions is deleted, then added, in one bundle. */
	for (size_t i = 0; i < n_fses; i++) {
		const struct ofputil_flow_stats *fs = &fses[i];
		bool found = false;
		char *key = NULL;

		/*
		 * Matches are compared in their text form: a match decoded from
		 * OXM is not always bit-equal (match_equal) to the one it was
		 * encoded from, though it matches the same packets.
		 */
		for (size_t j = 0; j < n_w && !found; j++) {
			if (kept[j] || w[j].cookie != ntohll(fs->cookie) || fs->table_id != 0 ||
			    w[j].priority != fs->priority || !same_actions(fs, w[j].allow))
				continue;
			if (!key)
				key = match_to_string(&fs->match, NULL, OFP_DEFAULT_PRIORITY);
			if (!strcmp(key, w[j].key))
				kept[j] = found = true;
		}
		free(key);
		if (!found)
			put_flow_mod(&requests, OFPFC_DELETE_STRICT, ntohll(fs->cookie), UINT64_MAX,
			             fs->priority, &fs->match, false, xids, ids, &n_req);
	}
	for (size_t j = 0; j < n_w; j++)
		if (!kept[j])
			put_flow_mod(&requests, OFPFC_ADD, w[j].cookie, 0, w[j].priority,
			             &w[j].match, w[j].allow, xids, ids, &n_req);
	if (n_req) {
		rc = vconn_bundle_transact(o->vconn, &requests, OFPBF_ORDERED | OFPBF_ATOMIC,
		                           &errors);
		if (rc || !ovs_list_is_empty(&errors)) {
			rc = bundle_error(o, rc ? rc : EPROTO, &errors, xids, ids, n_req, err,
			                  errlen);
			goto cleanup;
		}
		rc = of_barrier(o, err, errlen);
	}
cleanup:
	ofpbuf_list_delete(&requests);
	free_dump(fses, n_fses);
	for (size_t j = 0; j < n_w; j++)
		free(w[j].key);
	free(w);
	free(kept);
	free(xids);
	free(ids);
	return rc;
}

/* ---- the interface ---- */

int flow_ovs_ensure(struct flow_ovs *o, char *err, size_t errlen)
{
	struct jsonrpc *rpc = NULL;
	int rc = db_connect(o, &rpc, err, errlen);

	if (!rc)
		rc = db_ensure(o, rpc, err, errlen);
	jsonrpc_close(rpc);
	if (!rc)
		rc = of_connect(o, err, errlen);
	return rc;
}

static int copy_config(struct flow_config *dst, const struct flow_config *src)
{
	struct flow_filter *f = NULL;

	if (src->n) {
		f = malloc(src->n * sizeof(*f));
		if (!f)
			return -ENOMEM;
		memcpy(f, src->filters, src->n * sizeof(*f));
	}
	flow_config_free(dst);
	dst->revision = src->revision;
	dst->n = src->n;
	dst->filters = f;
	return 0;
}

/*
 * Ensures and syncs cfg; when a connection made by an earlier call turns
 * out to be dead (ovs-vswitchd restarted), reconnects and tries once more.
 */
static int sync_config(struct flow_ovs *o, const struct flow_config *cfg, char *err, size_t errlen)
{
	for (int attempt = 0;; attempt++) {
		bool had_conn = o->vconn != NULL;
		int rc = flow_ovs_ensure(o, err, errlen);

		if (!rc)
			rc = of_sync(o, cfg, err, errlen);
		if (rc && had_conn && !o->vconn && attempt == 0)
			continue;
		return rc;
	}
}

int flow_ovs_apply(struct flow_ovs *o, const struct flow_config *cfg, char *err, size_t errlen)
{
	char why[256];
	int rc;

	for (size_t i = 0; i < cfg->n; i++)
		if (!flow_filter_check(&cfg->filters[i], why, sizeof(why)))
			return fail(err, errlen, -EINVAL, "filter %llu: %s",
			            (unsigned long long)cfg->filters[i].id, why);
	rc = sync_config(o, cfg, err, errlen);
	if (rc)
		return rc;
	if (copy_config(&o->applied, cfg))
		return fail(err, errlen, -ENOMEM, "bridge %s: out of memory", o->bridge);
	return 0;
}

static int cmp_id(const void *k, const void *e)
{
	uint64_t a = *(const uint64_t *)k, b = ((const struct flow_filter *)e)->id;

	return a < b ? -1 : a > b;
}

/* The rate between two readings; 0 when there is no earlier one or a counter restarted. */
static uint64_t rate(uint64_t now, uint64_t before, int64_t ms)
{
	return ms > 0 && now >= before ? (now - before) * 1000 / (uint64_t)ms : 0;
}

int flow_ovs_stats(struct flow_ovs *o, struct flow_counter **out, size_t *n, char *err,
                   size_t errlen)
{
	const struct flow_config *cfg = &o->applied;
	struct ofputil_flow_stats *fses = NULL;
	struct flow_counter *c = NULL;
	size_t n_fses = 0;
	int64_t t;
	int rc = 0;

	*out = NULL;
	*n = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!o->vconn) {
			/* Reconnected: the bridge may have been rebuilt without our flows. */
			rc = sync_config(o, cfg, err, errlen);
			if (rc)
				return rc;
		}
		rc = of_dump(o, FLOW_COOKIE_TAG, FLOW_COOKIE_MASK, &fses, &n_fses, err, errlen);
		if (!rc || o->vconn)
			break;
	}
	if (rc)
		return rc;
	t = now_ms();
	c = calloc(cfg->n + 1, sizeof(*c));
	if (!c) {
		free_dump(fses, n_fses);
		return fail(err, errlen, -ENOMEM, "bridge %s: out of memory", o->bridge);
	}
	for (size_t i = 0; i < cfg->n; i++)
		c[i].id = cfg->filters[i].id;
	for (size_t i = 0; i < n_fses; i++) {
		uint64_t id = ntohll(fses[i].cookie) & ~FLOW_COOKIE_MASK;
		uint64_t p = fses[i].packet_count == UINT64_MAX ? 0 : fses[i].packet_count;
		uint64_t b = fses[i].byte_count == UINT64_MAX ? 0 : fses[i].byte_count;
		const struct flow_filter *f =
		    id ? bsearch(&id, cfg->filters, cfg->n, sizeof(*cfg->filters), cmp_id) : NULL;

		b = b >= p * FLOW_L2_OVERHEAD ? b - p * FLOW_L2_OVERHEAD : 0;
		if (f) {
			c[f - cfg->filters].packets += p;
			c[f - cfg->filters].bytes += b;
		}
		c[cfg->n].packets += p;
		c[cfg->n].bytes += b;
	}
	free_dump(fses, n_fses);
	/* Rates against the previous reading of the same id (both arrays sorted by id, 0 last). */
	for (size_t i = 0, j = 0; i <= cfg->n; i++) {
		const struct flow_counter *p = NULL;

		if (i == cfg->n)
			p = o->n_prev ? &o->prev[o->n_prev - 1] : NULL;
		else {
			while (j + 1 < o->n_prev && o->prev[j].id < c[i].id)
				j++;
			p = j + 1 < o->n_prev && o->prev[j].id == c[i].id ? &o->prev[j] : NULL;
		}
		if (p) {
			c[i].pps = rate(c[i].packets, p->packets, t - o->prev_ms);
			c[i].bps = rate(c[i].bytes, p->bytes, t - o->prev_ms) * 8;
		}
	}
	free(o->prev);
	o->prev = malloc((cfg->n + 1) * sizeof(*c));
	o->n_prev = o->prev ? cfg->n + 1 : 0;
	if (o->prev)
		memcpy(o->prev, c, (cfg->n + 1) * sizeof(*c));
	o->prev_ms = t;
	*out = c;
	*n = cfg->n + 1;
	return 0;
}

int flow_ovs_teardown(struct flow_ovs *o, char *err, size_t errlen)
{
	struct ofputil_flow_stats *fses = NULL;
	struct jsonrpc *rpc = NULL;
	struct jsonrpc_msg *reply = NULL;
	struct ovs_list requests, errors;
	struct match any;
	size_t n_fses = 0;
	struct ds ops = DS_EMPTY_INITIALIZER;
	int rc;

	ovs_list_init(&requests);
	rc = of_connect(o, err, errlen);
	if (rc == -ENOENT || rc == -ECONNREFUSED)
		return 0; /* no bridge (or no ovs-vswitchd): nothing of ours to delete */
	if (rc)
		return rc;
	match_init_catchall(&any);
	put_flow_mod(&requests, OFPFC_DELETE, FLOW_COOKIE_TAG, FLOW_COOKIE_MASK, 0, &any, false,
	             NULL, NULL, NULL);
	rc = vconn_bundle_transact(o->vconn, &requests, OFPBF_ORDERED | OFPBF_ATOMIC, &errors);
	if (rc || !ovs_list_is_empty(&errors)) {
		rc = bundle_error(o, rc ? rc : EPROTO, &errors, NULL, NULL, 0, err, errlen);
		goto cleanup;
	}
	rc = of_dump(o, 0, 0, &fses, &n_fses, err, errlen);
	if (rc || n_fses)
		goto cleanup; /* other flows remain: the bridge stays */
	of_disconnect(o);
	rc = db_connect(o, &rpc, err, errlen);
	if (rc)
		goto cleanup;
	ds_put_format(
	    &ops,
	    "{\"op\":\"select\",\"table\":\"Bridge\",\"where\":[[\"name\",\"==\",\"%s\"]],"
	    "\"columns\":[\"_uuid\"]}",
	    o->bridge);
	rc = db_transact(o, rpc, ds_cstr(&ops), &reply, err, errlen);
	if (!rc && rows(reply->result, 0) && rows(reply->result, 0)->n == 1) {
		struct jsonrpc_msg *r2 = NULL;

		ds_clear(&ops);
		/* Ports and interfaces are not root rows: OVSDB collects them with the bridge. */
		ds_put_format(
		    &ops,
		    "{\"op\":\"mutate\",\"table\":\"Open_vSwitch\",\"where\":[],\"mutations\":"
		    "[[\"bridges\",\"delete\",[\"uuid\",\"%s\"]],[\"next_cfg\",\"+=\",1]]}",
		    uuid_of(rows(reply->result, 0)->elems[0]));
		rc = db_transact(o, rpc, ds_cstr(&ops), &r2, err, errlen);
		jsonrpc_msg_destroy(r2);
	}
cleanup:
	ofpbuf_list_delete(&requests);
	free_dump(fses, n_fses);
	jsonrpc_msg_destroy(reply);
	jsonrpc_close(rpc);
	ds_destroy(&ops);
	if (!rc)
		flow_config_free(&o->applied);
	return rc;
}

void flow_ovs_close(struct flow_ovs *o)
{
	if (!o)
		return;
	of_disconnect(o);
	for (size_t i = 0; i < o->n_ports; i++)
		free(o->ports[i]);
	free(o->ports);
	free(o->rundir);
	free(o->bridge);
	flow_config_free(&o->applied);
	free(o->prev);
	free(o);
}
