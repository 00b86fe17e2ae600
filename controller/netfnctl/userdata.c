// SPDX-License-Identifier: Apache-2.0
/*
 * Writes the #cloud-config user-data of `netfnctl bootstrap cloud-init`.
 *
 * Order matters to cloud-init, not to this file: write_files runs in the init
 * stage, before packages are installed, so agent.conf is already in place when
 * the package arrives (cloud-init's apt-get runs with --force-confold, and the
 * runcmd install below asks for the same, so the packaged default does not
 * replace it); runcmd runs last, after packages. Every scalar that carries an
 * input is single-quoted, where only the quote itself needs escaping, and
 * every input is printable ASCII on one line, so none can end its scalar or
 * its line. The one block scalar, agent.conf, is built from checked values.
 */
#include "controller/netfnctl/userdata.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Printable ASCII, with or without the space; nothing that ends a line or a scalar early. */
static bool printable(const char *s, bool space)
{
	for (; *s; s++)
		if ((unsigned char)*s < (space ? 0x20 : 0x21) || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* Up to 64 bytes of s for a message, '?' for what a terminal would act on. */
static const char *shown(const char *s, char *buf, size_t len)
{
	size_t i = 0;

	for (; s[i] && i < len - 1 && i < 64; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

int userdata_check_url(const char *url, char *err, size_t errlen)
{
	char b[72];

	static const char *const schemes[] = {"https://", "http://", "file:///"};
	bool known = false;

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		known = known || strncmp(url, schemes[i], strlen(schemes[i])) == 0;
	if (!known)
		return fail(err, errlen, "\"%s\": expected an https://, http:// or file:/// URL",
		            shown(url, b, sizeof(b)));
	if (strlen(url) > USERDATA_VALUE_MAX)
		return fail(err, errlen, "longer than %d characters", USERDATA_VALUE_MAX);
	if (!printable(url, false))
		return fail(err, errlen,
		            "\"%s\": only printable ASCII without blanks (percent-encode the "
		            "rest)",
		            shown(url, b, sizeof(b)));
	return 0;
}

int userdata_check_apt_source(const char *line, char *err, size_t errlen)
{
	char b[72];
	const char *p = line + 4;
	size_t words = 0;

	if (strncmp(line, "deb ", 4) != 0)
		return fail(err, errlen,
		            "\"%s\": expected one line \"deb [OPTIONS] URI SUITE "
		            "[COMPONENT...]\"",
		            shown(line, b, sizeof(b)));
	if (strlen(line) > USERDATA_VALUE_MAX)
		return fail(err, errlen, "longer than %d characters", USERDATA_VALUE_MAX);
	if (!printable(line, true))
		return fail(err, errlen, "only printable ASCII on one line");
	/* Options in brackets are one word to apt; then at least URI and SUITE. */
	while (*p == ' ')
		p++;
	if (*p == '[') {
		p = strchr(p, ']');
		if (!p)
			return fail(err, errlen, "\"%s\": '[' without ']'",
			            shown(line, b, sizeof(b)));
		p++;
	}
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		words++;
		while (*p && *p != ' ')
			p++;
	}
	if (words < 2)
		return fail(err, errlen, "\"%s\": missing the URI or the suite",
		            shown(line, b, sizeof(b)));
	return 0;
}

/* The agent's label grammar (agent/args.c), which agent.conf must satisfy. */
static bool label_char(char c, bool slash)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || (slash && c == '/');
}

int userdata_check_label(const struct args_label *l, char *err, size_t errlen)
{
	const char *k = l->key;
	char b[72], b2[72];

	if (!label_char(k[0], false) || k[0] == '-' || k[0] == '.')
		return fail(err, errlen, "\"%s\": a key cannot start with '.', '-' or '/'",
		            shown(k, b, sizeof(b)));
	for (; *k; k++)
		if (!label_char(*k, true))
			return fail(err, errlen, "\"%s\": a key is made of [A-Za-z0-9._/-]",
			            shown(l->key, b, sizeof(b)));
	for (const char *v = l->value; *v; v++)
		if (!label_char(*v, false))
			return fail(err, errlen,
			            "\"%s=%s\": a value is made of [A-Za-z0-9._-] (what "
			            "netfn-agent accepts)",
			            shown(l->key, b, sizeof(b)), shown(l->value, b2, sizeof(b2)));
	return 0;
}

int userdata_quote(FILE *f, const char *s)
{
	if (!printable(s, true))
		return -EINVAL;
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f); /* the only escape of a single-quoted scalar */
		fputc(*s, f);
	}
	fputc('\'', f);
	return 0;
}

/* Writes "  - [a, b, ...]" for one runcmd entry, each word quoted. */
static void command(FILE *f, const char *const *argv)
{
	fputs("  - [", f);
	for (size_t i = 0; argv[i]; i++) {
		if (i)
			fputs(", ", f);
		userdata_quote(f, argv[i]);
	}
	fputs("]\n", f);
}

/* The comment fields: checked like the rest, although only a comment holds them. */
static int check_comment(const char *field, const char *s, char *err, size_t errlen)
{
	char b[72];

	if (s && (strlen(s) > 128 || !printable(s, false)))
		return fail(err, errlen, "%s: \"%s\": not a printable word", field,
		            shown(s, b, sizeof(b)));
	return 0;
}

static int check(const struct userdata *u, char *err, size_t errlen)
{
	char why[192];
	int ret;

	if ((ret = check_comment("network", u->network, err, errlen)) ||
	    (ret = check_comment("token id", u->token_id, err, errlen)) ||
	    (ret = check_comment("--ttl", u->ttl, err, errlen)))
		return ret;
	if (!u->token || !u->token[0] || strlen(u->token) > USERDATA_VALUE_MAX ||
	    !printable(u->token, false))
		return fail(err, errlen, "token: the controller sent no usable join token");
	if (u->package_url && u->apt_source)
		return fail(err, errlen, "--package-url and --apt-source: give only one");
	if (u->package_url && userdata_check_url(u->package_url, why, sizeof(why)))
		return fail(err, errlen, "--package-url: %s", why);
	if (u->apt_source && userdata_check_apt_source(u->apt_source, why, sizeof(why)))
		return fail(err, errlen, "--apt-source: %s", why);
	for (size_t i = 0; i < u->n_labels; i++)
		if (userdata_check_label(&u->labels[i], why, sizeof(why)))
			return fail(err, errlen, "--labels: %s", why);
	return 0;
}

int userdata_write(FILE *f, const struct userdata *u, char *err, size_t errlen)
{
	static const char *const download[] = {"curl", "-fsSL",           "--retry",          "5",
	                                       "-o",   USERDATA_DEB_FILE, NULL /* the URL */, NULL};
	static const char *const install[] = {
	    "env", "DEBIAN_FRONTEND=noninteractive",  "apt-get",         "install", "-y",
	    "-o",  "Dpkg::Options::=--force-confold", USERDATA_DEB_FILE, NULL};
	static const char *const start[] = {"systemctl", "enable", "--now", "netfn-agent.service",
	                                    NULL};
	const char *fetch[sizeof(download) / sizeof(download[0])];
	int ret = check(u, err, errlen);

	if (ret)
		return ret;
	fputs("#cloud-config\n", f);
	fprintf(f, "# netfn-agent for network %s, from `netfnctl bootstrap cloud-init`.\n",
	        u->network ? u->network : "?");
	fprintf(f, "# It holds a single-use join token (id %s, valid for %s after it was made):\n",
	        u->token_id ? u->token_id : "?", u->ttl ? u->ttl : "the controller's default");
	fputs("# whoever reads this user-data can join one VM to the network until then.\n", f);

	fputs("write_files:\n", f);
	fputs("  - path: '" USERDATA_TOKEN_FILE "'\n"
	      "    owner: 'root:root'\n"
	      "    permissions: '0600'\n"
	      "    content: ",
	      f);
	userdata_quote(f, u->token);
	fputs("\n", f);
	fputs("  - path: '" USERDATA_CONF_FILE "'\n"
	      "    owner: 'root:root'\n"
	      "    permissions: '0644'\n"
	      "    content: |\n"
	      "      # Written by cloud-init (netfnctl bootstrap cloud-init). Keys: see\n"
	      "      # netfn-agent --help; the token file is needed on the first start only.\n"
	      "      join-token-file = " USERDATA_TOKEN_FILE "\n"
	      "      state-dir = /var/lib/netfn\n"
	      "      wg-interface = netfn0\n"
	      "      log-level = info\n",
	      f);
	if (u->n_labels) {
		fputs("      labels = ", f);
		for (size_t i = 0; i < u->n_labels; i++)
			fprintf(f, "%s%s=%s", i ? "," : "", u->labels[i].key, u->labels[i].value);
		fputs("\n", f);
	}

	if (u->apt_source) {
		fputs("apt:\n"
		      "  sources:\n"
		      "    netfn.list:\n"
		      "      source: ",
		      f);
		userdata_quote(f, u->apt_source);
		fputs("\n", f);
	}
	fputs("package_update: true\n"
	      "packages:\n",
	      f);
	/* With a URL, only what fetching it needs; else the agent from apt. */
	if (u->package_url)
		fputs("  - 'curl'\n"
		      "  - 'ca-certificates'\n",
		      f);
	else
		fputs("  - 'netfn-agent'\n", f);

	fputs("runcmd:\n", f);
	if (u->package_url) {
		memcpy(fetch, download, sizeof(fetch));
		fetch[6] = u->package_url;
		command(f, fetch);
		command(f, install);
	}
	command(f, start);
	return ferror(f) ? -EIO : 0;
}
