// SPDX-License-Identifier: Apache-2.0
/*
 * Flag parsing and value parsing for netfnctl. Commands describe their flags
 * in a table (struct args_opt); args_parse walks argv once, so flags may sit
 * before, between or after the positional words, as people type them. Every
 * value form is parsed by hand rather than with strtoul/strtoll, which accept
 * leading spaces, signs and wrap "-1" to a huge number: a CLI should refuse
 * what it does not understand rather than guess.
 */
#include "controller/netfnctl/args.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct args_opt *find_opt(const struct args_opt *opts, size_t n_opts, const char *word,
                                       size_t len)
{
	for (size_t k = 0; k < n_opts; k++) {
		if (strlen(opts[k].name) == len && !strncmp(opts[k].name, word, len))
			return &opts[k];
	}
	return NULL;
}

int args_match(const struct args_opt *opts, size_t n_opts, int argc, char **argv, int *i, char *err,
               size_t err_len)
{
	const char *word = argv[*i];
	const char *eq = strchr(word, '=');
	size_t len = eq ? (size_t)(eq - word) : strlen(word);
	const struct args_opt *o = find_opt(opts, n_opts, word, len);
	const char *value = NULL;
	int consumed = 1;

	if (!o)
		return -ENOENT;
	if (o->kind == ARGS_BOOL) {
		if (eq) {
			snprintf(err, err_len, "%s takes no value", o->name);
			return -EINVAL;
		}
		*(bool *)o->dest = true;
		*i += 1;
		return 0;
	}
	if (eq) {
		value = eq + 1;
	} else if (*i + 1 < argc) {
		value = argv[*i + 1];
		consumed = 2;
	} else {
		snprintf(err, err_len, "%s needs a value", o->name);
		return -EINVAL;
	}
	if (o->kind == ARGS_STR) {
		*(const char **)o->dest = value;
	} else if (args_parse_uint(value, o->min, o->max, o->dest)) {
		snprintf(err, err_len, "%s: expected a number from %u to %u, got '%.32s'", o->name,
		         o->min, o->max, value);
		return -EINVAL;
	}
	*i += consumed;
	return 0;
}

int args_parse(int argc, char **argv, const struct args_opt *opts, size_t n_opts, const char **pos,
               size_t max_pos, size_t *n_pos, char *err, size_t err_len)
{
	bool flags_done = false;
	int i = 0;
	int rc;

	*n_pos = 0;
	while (i < argc) {
		const char *word = argv[i];

		if (!flags_done && !strcmp(word, "--")) {
			flags_done = true;
			i++;
			continue;
		}
		/* A lone "-" is a word, not a flag, as in most tools. */
		if (!flags_done && word[0] == '-' && word[1]) {
			rc = args_match(opts, n_opts, argc, argv, &i, err, err_len);
			if (rc == -ENOENT)
				snprintf(err, err_len, "unknown flag '%.64s'", word);
			if (rc)
				return -EINVAL;
			continue;
		}
		if (*n_pos >= max_pos) {
			snprintf(err, err_len, "unexpected argument '%.64s'", word);
			return -EINVAL;
		}
		pos[(*n_pos)++] = word;
		i++;
	}
	return 0;
}

int args_parse_uint(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
		/* Stop before v can overflow: anything past UINT32_MAX is out anyway. */
		if (v > UINT32_MAX)
			return -EINVAL;
	}
	if (v < min || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/*
 * Splits a duration into its number (> 0) and its unit in milliseconds:
 * one number, one unit ("ms", "s", "m", "h", "d"; none: seconds), so
 * "1h30m", "5 m" or "1.5h" are refused, not half-read.
 */
static int duration_split(const char *s, int64_t *v, int64_t *unit_ms)
{
	static const struct {
		const char *name;
		int64_t ms;
	} units[] = {{"", 1000},   {"ms", 1},      {"s", 1000},
	             {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
	const char *p = s;

	*v = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		int d = *p - '0';

		if (*v > (INT64_MAX - d) / 10)
			return -EINVAL;
		*v = *v * 10 + d;
	}
	/* No digits ("", "h", "-5s"); or zero, which would read as "the default". */
	if (p == s || *v == 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(p, units[i].name)) {
			*unit_ms = units[i].ms;
			return 0;
		}
	}
	return -EINVAL;
}

int args_parse_duration(const char *s, int64_t *out)
{
	int64_t v, unit_ms;

	if (duration_split(s, &v, &unit_ms))
		return -EINVAL;
	/* Whole seconds only: "1500ms" is not a number of seconds. */
	if (unit_ms < 1000) {
		if (v % (1000 / unit_ms))
			return -EINVAL;
		*out = v / (1000 / unit_ms);
		return 0;
	}
	if (v > INT64_MAX / (unit_ms / 1000))
		return -EINVAL;
	*out = v * (unit_ms / 1000);
	return 0;
}

int args_parse_duration_ms(const char *s, uint32_t *out)
{
	int64_t v, unit_ms;

	if (duration_split(s, &v, &unit_ms) || v > UINT32_MAX / unit_ms)
		return -EINVAL;
	*out = (uint32_t)(v * unit_ms);
	return 0;
}

int args_parse_backend(const char *s, bool with_weight, struct args_backend *out, char *err,
                       size_t err_len)
{
	const char *at = strrchr(s, '@');
	const char *end = at ? at : s + strlen(s);
	const char *colon = NULL;
	char port[16];
	size_t alen;

	for (const char *p = s; p < end; p++)
		if (*p == ':')
			colon = p;
	if (!colon) {
		snprintf(err, err_len, "expected ADDR:PORT%s, got '%.64s'",
		         with_weight ? "[@WEIGHT]" : "", s);
		return -EINVAL;
	}
	alen = (size_t)(colon - s);
	if (alen == 0 || alen > ARGS_ADDR_LEN) {
		snprintf(err, err_len, "bad address in '%.64s'", s);
		return -EINVAL;
	}
	if ((size_t)(end - colon - 1) >= sizeof(port)) {
		snprintf(err, err_len, "bad port in '%.64s'", s);
		return -EINVAL;
	}
	memcpy(port, colon + 1, (size_t)(end - colon - 1));
	port[end - colon - 1] = '\0';
	/* Any number: the controller judges the range and names the backend's field. */
	if (args_parse_uint(port, 0, UINT32_MAX, &out->port)) {
		snprintf(err, err_len, "bad port in '%.64s': expected a number", s);
		return -EINVAL;
	}
	out->weight = 0;
	if (at && !with_weight) {
		snprintf(err, err_len, "expected ADDR:PORT, got '%.64s' (no @WEIGHT here)", s);
		return -EINVAL;
	}
	if (at && args_parse_uint(at + 1, 0, UINT32_MAX, &out->weight)) {
		snprintf(err, err_len, "bad weight in '%.64s': expected a number", s);
		return -EINVAL;
	}
	memcpy(out->addr, s, alen);
	out->addr[alen] = '\0';
	return 0;
}

int args_check_label_key(const char *s, size_t len, char *err, size_t err_len)
{
	if (len == 0) {
		snprintf(err, err_len, "empty label key");
		return -EINVAL;
	}
	if (len > ARGS_LABEL_LEN) {
		snprintf(err, err_len, "label key '%.16s...' is longer than %d characters", s,
		         ARGS_LABEL_LEN);
		return -EINVAL;
	}
	return 0;
}

int args_parse_label(const char *s, size_t len, struct args_label *out, char *err, size_t err_len)
{
	const char *eq = memchr(s, '=', len);
	size_t klen, vlen;
	int rc;

	if (!eq) {
		snprintf(err, err_len, "missing '=' in label '%.*s'", (int)(len > 64 ? 64 : len),
		         s);
		return -EINVAL;
	}
	klen = (size_t)(eq - s);
	vlen = len - klen - 1;
	rc = args_check_label_key(s, klen, err, err_len);
	if (rc)
		return rc;
	if (vlen > ARGS_LABEL_LEN) {
		snprintf(err, err_len, "value of label '%.*s' is longer than %d characters",
		         (int)klen, s, ARGS_LABEL_LEN);
		return -EINVAL;
	}
	memcpy(out->key, s, klen);
	out->key[klen] = '\0';
	memcpy(out->value, eq + 1, vlen);
	out->value[vlen] = '\0';
	return 0;
}

int args_parse_labels(const char *s, struct args_label *out, size_t max, size_t *n, char *err,
                      size_t err_len)
{
	const char *p = s;
	int rc;

	*n = 0;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len == 0) {
			snprintf(err, err_len, "empty label in '%.64s'", s);
			return -EINVAL;
		}
		if (*n >= max) {
			snprintf(err, err_len, "more than %zu labels", max);
			return -EINVAL;
		}
		rc = args_parse_label(p, len, &out[*n], err, err_len);
		if (rc)
			return rc;
		for (size_t k = 0; k < *n; k++) {
			if (!strcmp(out[k].key, out[*n].key)) {
				snprintf(err, err_len, "label '%s' given twice", out[k].key);
				return -EINVAL;
			}
		}
		(*n)++;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}
