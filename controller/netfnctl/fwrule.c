// SPDX-License-Identifier: Apache-2.0
/*
 * Rule objects in and out of JSON, and the flag handling the rule commands
 * need beyond args.c. The reader accepts two shapes in one pass, because an
 * object carries no version: the fields netfnctl prints (so `policy show
 * --json | jq .rules` can be fed back; the output-only id and counters are
 * accepted and dropped), and the old platform's export, whose quirks are
 * translated here and nowhere else: "acpt" is accept, "N:M" is the range
 * N-M, and one "ip_range" goes to src or dst as "dst_src" says, or by
 * direction when it says nothing. Any other key is an error that names it:
 * a misspelt "dst_prot" silently dropped would open a port.
 */
#include "controller/netfnctl/fwrule.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Which key of a rule object a member is, and what it may hold. */
enum key {
	K_IGNORED, /* id, packets, bytes: printed by netfnctl, set by the controller */
	K_DIRECTION,
	K_PROTOCOL,
	K_SRC,
	K_DST,
	K_DST_PORT,
	K_ACTION,
	K_RATE,
	K_LOG_PREFIX,
	K_IP_RANGE,
	K_DST_SRC,
};

static const struct {
	const char *name;
	enum key key;
} keys[] = {
    {"id", K_IGNORED},
    {"packets", K_IGNORED},
    {"bytes", K_IGNORED},
    {"direction", K_DIRECTION},
    {"protocol", K_PROTOCOL},
    {"src", K_SRC},
    {"dst", K_DST},
    {"dst_port", K_DST_PORT},
    {"action", K_ACTION},
    {"rate", K_RATE},
    {"log_prefix", K_LOG_PREFIX},
    {"ip_range", K_IP_RANGE},
    {"dst_src", K_DST_SRC},
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/* The old shape's members, held until the whole object is read. */
struct old_shape {
	const char *ip_range;
	const char *dst_src;
};

void fwrule_free(Netfn__FwRule *r)
{
	if (!r)
		return;
	free(r->direction);
	free(r->protocol);
	free(r->dst_port);
	free(r->action);
	free(r->rate);
	free(r->log_prefix);
	for (size_t i = 0; i < r->n_src; i++)
		free(r->src[i]);
	for (size_t i = 0; i < r->n_dst; i++)
		free(r->dst[i]);
	free(r->src);
	free(r->dst);
	free(r);
}

void fwrule_list_free(Netfn__FwRule **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		fwrule_free(v[i]);
	free(v);
}

/* A rule whose every string is an owned "", so fwrule_free needs no special case. */
static Netfn__FwRule *rule_new(void)
{
	Netfn__FwRule *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	netfn__fw_rule__init(r);
	r->direction = strdup("");
	r->protocol = strdup("any");
	r->dst_port = strdup("");
	r->action = strdup("");
	r->rate = strdup("");
	r->log_prefix = strdup("");
	if (!r->direction || !r->protocol || !r->dst_port || !r->action || !r->rate ||
	    !r->log_prefix) {
		fwrule_free(r);
		return NULL;
	}
	return r;
}

/* Replaces an owned string with a copy of s. */
static int set_str(char **field, const char *s)
{
	char *copy = strdup(s);

	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

static int append(char ***v, size_t *n, const char *s)
{
	char **grown = realloc(*v, (*n + 1) * sizeof(**v));

	if (!grown)
		return -ENOMEM;
	*v = grown;
	grown[*n] = strdup(s);
	if (!grown[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* The old "N:M" port range is N-M; a colon elsewhere is left for the controller to judge. */
static void old_ports(char *s)
{
	for (char *p = s; *p; p++) {
		if (*p == ':' && p > s && p[-1] >= '0' && p[-1] <= '9' && p[1] >= '0' &&
		    p[1] <= '9')
			*p = '-';
	}
}

static int want_string(const char *key, const struct json_value *v, char *err, size_t err_len)
{
	if (v->type == JSON_STRING)
		return 0;
	snprintf(err, err_len, "key '%s': expected a string, got %s", key, json_type_name(v->type));
	return -EINVAL;
}

/* src or dst: one entry as a string, or an array of them. */
static int set_list(const char *key, const struct json_value *v, char ***list, size_t *n, char *err,
                    size_t err_len)
{
	int rc;

	if (v->type == JSON_STRING)
		return append(list, n, v->s);
	if (v->type != JSON_ARRAY) {
		snprintf(err, err_len, "key '%s': expected a string or an array of strings, got %s",
		         key, json_type_name(v->type));
		return -EINVAL;
	}
	for (size_t i = 0; i < v->n; i++) {
		if (v->items[i].type != JSON_STRING) {
			snprintf(err, err_len, "key '%s': entry %zu: expected a string, got %s",
			         key, i + 1, json_type_name(v->items[i].type));
			return -EINVAL;
		}
		rc = append(list, n, v->items[i].s);
		if (rc)
			return rc;
	}
	return 0;
}

/* Applies one member to r; members of the old shape are noted in old. */
static int set_member(Netfn__FwRule *r, struct old_shape *old, const char *name,
                      const struct json_value *v, char *err, size_t err_len)
{
	enum key key = K_IGNORED;
	bool known = false;
	char **field = NULL;
	int rc;

	for (size_t k = 0; k < N_KEYS; k++) {
		if (!strcmp(keys[k].name, name)) {
			key = keys[k].key;
			known = true;
		}
	}
	if (!known) {
		snprintf(err, err_len, "unknown key '%.64s'", name);
		return -EINVAL;
	}
	/* null is how some exports say "not set"; it leaves the default. */
	if (v->type == JSON_NULL)
		return 0;
	switch (key) {
	case K_IGNORED:
		if (v->type == JSON_NUMBER)
			return 0;
		snprintf(err, err_len, "key '%s': expected a number, got %s", name,
		         json_type_name(v->type));
		return -EINVAL;
	case K_SRC:
		return set_list(name, v, &r->src, &r->n_src, err, err_len);
	case K_DST:
		return set_list(name, v, &r->dst, &r->n_dst, err, err_len);
	case K_DST_PORT:
		/* A bare number is a port too: {"dst_port": 8080}. */
		if (v->type != JSON_NUMBER) {
			rc = want_string(name, v, err, err_len);
			if (rc)
				return rc;
		}
		rc = set_str(&r->dst_port, v->s);
		if (rc == 0)
			old_ports(r->dst_port);
		return rc;
	case K_IP_RANGE:
	case K_DST_SRC:
		rc = want_string(name, v, err, err_len);
		if (rc)
			return rc;
		if (key == K_IP_RANGE)
			old->ip_range = v->s;
		else
			old->dst_src = v->s;
		return 0;
	case K_DIRECTION:
		field = &r->direction;
		break;
	case K_PROTOCOL:
		field = &r->protocol;
		break;
	case K_ACTION:
		field = &r->action;
		break;
	case K_RATE:
		field = &r->rate;
		break;
	case K_LOG_PREFIX:
		field = &r->log_prefix;
		break;
	}
	rc = want_string(name, v, err, err_len);
	if (rc)
		return rc;
	/* The old platform's abbreviation; every other action goes as given. */
	if (key == K_ACTION && !strcmp(v->s, "acpt"))
		return set_str(field, "accept");
	return set_str(field, v->s);
}

/* Puts the old shape's ip_range where it belongs, once direction is known. */
static int place_ip_range(Netfn__FwRule *r, const struct old_shape *old, char *err, size_t err_len)
{
	bool to_src;

	if (old->dst_src && strcmp(old->dst_src, "src") && strcmp(old->dst_src, "dst")) {
		snprintf(err, err_len, "key 'dst_src': expected \"src\" or \"dst\", got '%.32s'",
		         old->dst_src);
		return -EINVAL;
	}
	if (!old->ip_range)
		return 0;
	if (old->dst_src)
		to_src = !strcmp(old->dst_src, "src");
	else
		to_src = !strcmp(r->direction, "in"); /* the peer's side of the connection */
	if (to_src)
		return append(&r->src, &r->n_src, old->ip_range);
	return append(&r->dst, &r->n_dst, old->ip_range);
}

int fwrule_from_json(const struct json_value *obj, Netfn__FwRule **out, char *err, size_t err_len)
{
	struct old_shape old = {0};
	Netfn__FwRule *r = NULL;
	int rc;

	if (obj->type != JSON_OBJECT) {
		snprintf(err, err_len, "expected a rule object, got %s", json_type_name(obj->type));
		return -EINVAL;
	}
	r = rule_new();
	if (!r) {
		rc = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < obj->n; i++) {
		rc = set_member(r, &old, obj->keys[i], &obj->items[i], err, err_len);
		if (rc)
			goto cleanup;
	}
	rc = place_ip_range(r, &old, err, err_len);
	if (rc)
		goto cleanup;
	*out = r;
	r = NULL;
cleanup:
	if (rc == -ENOMEM)
		snprintf(err, err_len, "out of memory");
	fwrule_free(r);
	return rc;
}

int fwrule_from_text(const char *buf, size_t len, Netfn__FwRule **out, char *err, size_t err_len)
{
	struct json_value doc;
	int rc;

	rc = json_parse(buf, len, &doc, err, err_len);
	if (rc)
		return rc;
	rc = fwrule_from_json(&doc, out, err, err_len);
	json_value_free(&doc);
	return rc;
}

int fwrule_list_from_text(const char *buf, size_t len, Netfn__FwRule ***out, size_t *n, char *err,
                          size_t err_len)
{
	struct json_value doc;
	Netfn__FwRule **v = NULL;
	size_t got = 0;
	char why[192];
	int rc;

	rc = json_parse(buf, len, &doc, err, err_len);
	if (rc)
		return rc;
	if (doc.type != JSON_ARRAY) {
		snprintf(err, err_len, "expected an array of rule objects, got %s",
		         json_type_name(doc.type));
		rc = -EINVAL;
		goto cleanup;
	}
	/* One extra slot so an empty array still gets a non-NULL allocation. */
	v = calloc(doc.n + 1, sizeof(*v));
	if (!v) {
		rc = -ENOMEM;
		snprintf(err, err_len, "out of memory");
		goto cleanup;
	}
	for (; got < doc.n; got++) {
		rc = fwrule_from_json(&doc.items[got], &v[got], why, sizeof(why));
		if (rc) {
			snprintf(err, err_len, "rule %zu: %s", got + 1, why);
			goto cleanup;
		}
	}
	*out = v;
	*n = got;
	v = NULL;
cleanup:
	fwrule_list_free(v, got);
	json_value_free(&doc);
	return rc;
}

static void string_array(struct json *j, const char *key, char *const *v, size_t n)
{
	json_key(j, key);
	json_array_begin(j);
	for (size_t i = 0; i < n; i++)
		json_string(j, v[i]);
	json_array_end(j);
}

void fwrule_json(struct json *j, const Netfn__FwRule *r)
{
	json_object_begin(j);
	json_kv_uint(j, "id", r->id);
	json_kv_string(j, "direction", r->direction);
	json_kv_string(j, "protocol", r->protocol);
	string_array(j, "src", r->src, r->n_src);
	string_array(j, "dst", r->dst, r->n_dst);
	json_kv_string(j, "dst_port", r->dst_port);
	json_kv_string(j, "action", r->action);
	json_kv_string(j, "rate", r->rate);
	json_kv_string(j, "log_prefix", r->log_prefix);
	json_kv_uint(j, "packets", r->packets);
	json_kv_uint(j, "bytes", r->bytes);
	json_object_end(j);
}

static struct fwrule_multi *find_multi(struct fwrule_multi *multi, size_t n_multi, const char *w,
                                       size_t len)
{
	for (size_t k = 0; k < n_multi; k++) {
		if (strlen(multi[k].name) == len && !strncmp(multi[k].name, w, len))
			return &multi[k];
	}
	return NULL;
}

/* True when w is one of opts that takes its value as the next word. */
static bool takes_next(const struct args_opt *opts, size_t n_opts, const char *w)
{
	for (size_t k = 0; k < n_opts; k++) {
		if (opts[k].kind != ARGS_BOOL && !strcmp(opts[k].name, w))
			return true;
	}
	return false;
}

int fwrule_split_args(int argc, char **argv, const struct args_opt *opts, size_t n_opts,
                      struct fwrule_multi *multi, size_t n_multi, char **rest, int *n_rest,
                      char *err, size_t err_len)
{
	int i = 0;

	*n_rest = 0;
	while (i < argc) {
		char *w = argv[i];
		char *eq = strchr(w, '=');
		struct fwrule_multi *m = NULL;

		if (!strcmp(w, "--"))
			break;
		if (w[0] == '-' && w[1])
			m = find_multi(multi, n_multi, w, eq ? (size_t)(eq - w) : strlen(w));
		if (m && eq) {
			m->vals[m->n++] = eq + 1;
			i++;
		} else if (m) {
			if (i + 1 >= argc) {
				snprintf(err, err_len, "%s needs a value", m->name);
				return -EINVAL;
			}
			m->vals[m->n++] = argv[i + 1];
			i += 2;
		} else if (takes_next(opts, n_opts, w) && i + 1 < argc) {
			rest[(*n_rest)++] = w;
			rest[(*n_rest)++] = argv[i + 1];
			i += 2;
		} else {
			rest[(*n_rest)++] = w;
			i++;
		}
	}
	/* "--" and what follows are positional: args_parse sees them as they were. */
	while (i < argc)
		rest[(*n_rest)++] = argv[i++];
	return 0;
}

int fwrule_parse_id(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		uint64_t d;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		d = (uint64_t)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}
