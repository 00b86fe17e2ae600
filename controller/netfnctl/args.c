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

int args_parse_duration(const char *s, int64_t *out)
{
	int64_t v = 0;
	int64_t unit = 1;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		int d = *p - '0';

		if (v > (INT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (p == s)
		return -EINVAL; /* no digits: "", "h", "-5s" */
	switch (*p) {
	case '\0':
		break;
	case 's':
		unit = 1;
		p++;
		break;
	case 'm':
		unit = 60;
		p++;
		break;
	case 'h':
		unit = 3600;
		p++;
		break;
	case 'd':
		unit = 86400;
		p++;
		break;
	default:
		return -EINVAL;
	}
	/* One number, one unit: "1h30m" or "5 m" are refused, not half-read. */
	if (*p)
		return -EINVAL;
	/* A zero TTL would mean "the server's default", which is not what was typed. */
	if (v == 0 || v > INT64_MAX / unit)
		return -EINVAL;
	*out = v * unit;
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
