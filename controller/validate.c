// SPDX-License-Identifier: Apache-2.0
/*
 * Input validation shared by the API and the agent endpoint. Every error
 * names the field and shows the offending value, made printable first, so a
 * hostile value can't forge a log line or a terminal sequence.
 */
#include "controller/validate.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "netfns/common/prefix.h"

bool valid_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

static bool label_char(char ch, bool slash)
{
	return isalnum((unsigned char)ch) || ch == '.' || ch == '_' || ch == '-' ||
	       (slash && ch == '/');
}

bool valid_label_key(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!label_char(s[i], true))
			return false;
	return true;
}

bool valid_label_value(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!label_char(s[i], false))
			return false;
	return true;
}

/* Copies s into buf with '?' for what is not printable, at most max characters. */
static const char *printable_max(const char *s, char *buf, size_t len, size_t max)
{
	size_t o = 0;

	for (; s && *s && o + 1 < len && o < max; s++)
		buf[o++] = isprint((unsigned char)*s) ? *s : '?';
	buf[o] = '\0';
	return buf;
}

const char *printable(const char *s, char *buf, size_t len)
{
	return printable_max(s, buf, len, 64);
}

const char *printable_text(const char *s, char *buf, size_t len)
{
	return printable_max(s, buf, len, len);
}

int labels_merge(struct st_label *out, size_t *n_out, Netfn__Label *const *in, size_t n_in,
                 const char *field, struct nf_status *st)
{
	char p[72];

	for (size_t i = 0; i < n_in; i++) {
		size_t k;

		if (!valid_label_key(in[i]->key))
			return nf_status_set(st, NETFN__STATUS__INVALID_ARGUMENT, field,
			                     "bad label key '%s': 1-63 of A-Z a-z 0-9 . _ - /",
			                     printable(in[i]->key, p, sizeof(p)));
		if (!valid_label_value(in[i]->value))
			return nf_status_set(st, NETFN__STATUS__INVALID_ARGUMENT, field,
			                     "bad value for label '%s': 0-63 of A-Z a-z 0-9 . _ -",
			                     in[i]->key);
		for (k = 0; k < *n_out; k++)
			if (strcmp(out[k].key, in[i]->key) == 0)
				break;
		if (k == *n_out) {
			if (*n_out == ST_MAX_LABELS)
				return nf_status_set(st, NETFN__STATUS__INVALID_ARGUMENT, field,
				                     "more than %d labels", ST_MAX_LABELS);
			(*n_out)++;
		}
		snprintf(out[k].key, sizeof(out[k].key), "%s", in[i]->key);
		snprintf(out[k].value, sizeof(out[k].value), "%s", in[i]->value);
	}
	return 0;
}

int endpoints_copy(char out[][ST_ENDPOINT_MAX], size_t *n_out, char *const *in, size_t n_in,
                   const char *field, struct nf_status *st)
{
	struct sockaddr_storage ss;
	char p[72];

	if (n_in > ST_MAX_ENDPOINTS)
		return nf_status_set(st, NETFN__STATUS__INVALID_ARGUMENT, field,
		                     "more than %d endpoints", ST_MAX_ENDPOINTS);
	for (size_t i = 0; i < n_in; i++) {
		if (strlen(in[i]) >= ST_ENDPOINT_MAX || !nf_endpoint_parse(in[i], &ss))
			return nf_status_set(st, NETFN__STATUS__INVALID_ARGUMENT, field,
			                     "'%s' is not IP:PORT", printable(in[i], p, sizeof(p)));
		/* Stored canonical, so the same endpoint never looks like a change. */
		nf_endpoint_format(&ss, out[i], ST_ENDPOINT_MAX);
	}
	*n_out = n_in;
	return 0;
}
