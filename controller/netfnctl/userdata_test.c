// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the cloud-init user-data writer: the whole text for each
 * install path, YAML quoting (a quote in an apt source line is doubled, so it
 * stays inside its scalar), and the refusal, naming the flag, of every value
 * that could end a scalar or a line: line breaks, control characters,
 * non-ASCII, labels netfn-agent would not take.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/netfnctl/userdata.h"
#include "tests/check.h"

#define TOKEN "nfj1AbCdEf0123456789-_xyz"

/* Writes u into a malloc'd string (NULL when refused, with err set). */
static char *render(const struct userdata *u, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int ret;

	if (!f)
		return NULL;
	err[0] = '\0';
	ret = userdata_write(f, u, err, errlen);
	fclose(f);
	if (ret) {
		free(text);
		return NULL;
	}
	return text;
}

static const char common_head[] =
    "#cloud-config\n"
    "# netfn-agent for network prod, from `netfnctl bootstrap cloud-init`.\n"
    "# It holds a single-use join token (id 7f3a, valid for 2h after it was made):\n"
    "# whoever reads this user-data can join one VM to the network until then.\n"
    "write_files:\n"
    "  - path: '/etc/netfn/join-token'\n"
    "    owner: 'root:root'\n"
    "    permissions: '0600'\n"
    "    content: '" TOKEN "'\n"
    "  - path: '/etc/netfn/agent.conf'\n"
    "    owner: 'root:root'\n"
    "    permissions: '0644'\n"
    "    content: |\n"
    "      # Written by cloud-init (netfnctl bootstrap cloud-init). Keys: see\n"
    "      # netfn-agent --help; the token file is needed on the first start only.\n"
    "      join-token-file = /etc/netfn/join-token\n"
    "      state-dir = /var/lib/netfn\n"
    "      wg-interface = netfn0\n"
    "      log-level = info\n";

static void test_paths(void)
{
	struct args_label labels[2] = {{"role", "web"}, {"example.com/zone", "eu-1"}};
	struct userdata u = {.network = "prod",
	                     .token_id = "7f3a",
	                     .ttl = "2h",
	                     .token = TOKEN,
	                     .labels = labels,
	                     .n_labels = 2,
	                     .package_url = "https://example.com/netfn-agent_0.1.0_amd64.deb"};
	char err[256];
	char *text;

	text = render(&u, err, sizeof(err));
	CHECK(text != NULL);
	if (text) {
		CHECK(strncmp(text, common_head, strlen(common_head)) == 0);
		CHECK(strcmp(text + strlen(common_head),
		             "      labels = role=web,example.com/zone=eu-1\n"
		             "package_update: true\n"
		             "packages:\n"
		             "  - 'curl'\n"
		             "  - 'ca-certificates'\n"
		             "runcmd:\n"
		             "  - ['curl', '-fsSL', '--retry', '5', '-o', "
		             "'/var/cache/netfn-agent.deb', "
		             "'https://example.com/netfn-agent_0.1.0_amd64.deb']\n"
		             "  - ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', "
		             "'-y', '-o', 'Dpkg::Options::=--force-confold', "
		             "'/var/cache/netfn-agent.deb']\n"
		             "  - ['systemctl', 'enable', '--now', 'netfn-agent.service']\n") == 0);
	}
	free(text);

	/* An apt source: its line quoted, a quote in it doubled; no labels line. */
	u.package_url = NULL;
	u.n_labels = 0;
	u.apt_source = "deb [signed-by=/usr/share/keyrings/netfn.gpg] https://apt.example.com/it's "
	               "bookworm main";
	text = render(&u, err, sizeof(err));
	CHECK(text != NULL);
	if (text) {
		CHECK(strncmp(text, common_head, strlen(common_head)) == 0);
		CHECK(strcmp(text + strlen(common_head),
		             "apt:\n"
		             "  sources:\n"
		             "    netfn.list:\n"
		             "      source: 'deb [signed-by=/usr/share/keyrings/netfn.gpg] "
		             "https://apt.example.com/it''s bookworm main'\n"
		             "package_update: true\n"
		             "packages:\n"
		             "  - 'netfn-agent'\n"
		             "runcmd:\n"
		             "  - ['systemctl', 'enable', '--now', 'netfn-agent.service']\n") == 0);
	}
	free(text);

	/* Neither: the package comes from the image's own apt sources. */
	u.apt_source = NULL;
	u.ttl = NULL;
	text = render(&u, err, sizeof(err));
	CHECK(text != NULL && strstr(text, "valid for the controller's default after") != NULL);
	CHECK(text != NULL && strstr(text, "apt:") == NULL && strstr(text, "curl") == NULL);
	CHECK(text != NULL && strstr(text, "  - 'netfn-agent'\n") != NULL);
	free(text);
}

/* True when u is refused with a message starting with want. */
static int refused(const struct userdata *u, const char *want)
{
	char err[256];
	char *text = render(u, err, sizeof(err));

	if (text || strncmp(err, want, strlen(want)) != 0) {
		fprintf(stderr, "want '%s', got '%s'%s\n", want, err, text ? " (accepted)" : "");
		free(text);
		return 0;
	}
	return 1;
}

static void test_refused(void)
{
	struct args_label bad_value = {"role", "web\nruncmd:"};
	struct args_label quote = {"role", "a'b"};
	struct args_label bad_key = {"-role", "x"};
	struct args_label space = {"role", "a b"};
	struct userdata u = {.network = "prod", .token_id = "1", .token = TOKEN};
	char err[256];

	u.labels = &bad_value;
	u.n_labels = 1;
	CHECK(refused(&u, "--labels: \"role=web?runcmd:\": a value is made of [A-Za-z0-9._-]"));
	u.labels = &quote;
	CHECK(refused(&u, "--labels: \"role=a'b\": a value is made of"));
	u.labels = &space;
	CHECK(refused(&u, "--labels: \"role=a b\": a value is made of"));
	u.labels = &bad_key;
	CHECK(refused(&u, "--labels: \"-role\": a key cannot start with"));
	u.n_labels = 0;

	u.package_url = "https://example.com/a.deb\n- evil";
	CHECK(refused(&u, "--package-url: \"https://example.com/a.deb?- evil\": only printable"));
	u.package_url = "https://example.com/a b.deb";
	CHECK(refused(&u, "--package-url: \"https://example.com/a b.deb\": only printable"));
	u.package_url = "https://example.com/\xc3\xa9.deb";
	CHECK(refused(&u, "--package-url: \"https://example.com/??.deb\": only printable"));
	u.package_url = "ftp://example.com/a.deb";
	CHECK(refused(&u, "--package-url: \"ftp://example.com/a.deb\": expected an https://"));
	u.package_url = "-o/etc/passwd";
	CHECK(refused(&u, "--package-url: \"-o/etc/passwd\": expected an https://"));
	u.apt_source = "deb http://x bookworm main";
	CHECK(refused(&u, "--package-url and --apt-source: give only one"));
	u.package_url = NULL;

	u.apt_source = "deb http://x bookworm main\nruncmd: [reboot]";
	CHECK(refused(&u, "--apt-source: only printable ASCII on one line"));
	u.apt_source = "deb\thttp://x bookworm";
	CHECK(refused(&u, "--apt-source: \"deb?http://x bookworm\": expected one line"));
	u.apt_source = "deb-src http://x bookworm main";
	CHECK(refused(&u, "--apt-source: \"deb-src http://x bookworm main\": expected one line"));
	u.apt_source = "deb http://x";
	CHECK(refused(&u, "--apt-source: \"deb http://x\": missing the URI or the suite"));
	u.apt_source = "deb [trusted=yes http://x bookworm";
	CHECK(refused(&u, "--apt-source: \"deb [trusted=yes http://x bookworm\": '[' without"));
	u.apt_source = "deb [trusted=yes] http://x";
	CHECK(refused(&u, "--apt-source: \"deb [trusted=yes] http://x\": missing"));
	u.apt_source = NULL;

	u.network = "prod\n- x";
	CHECK(refused(&u, "network: \"prod?- x\": not a printable word"));
	u.network = "prod";
	u.token = "nfj1\nx";
	CHECK(refused(&u, "token: the controller sent no usable join token"));
	u.token = TOKEN;

	/* Quoting alone refuses what it cannot keep on one line. */
	CHECK(userdata_quote(stderr, "a\nb") == -EINVAL);
	CHECK(userdata_quote(stderr, "a\x7f") == -EINVAL);
	CHECK(userdata_check_apt_source("deb [arch=amd64 trusted=yes] file:/srv/r ./", err,
	                                sizeof(err)) == 0);
	CHECK(userdata_check_url("file:///srv/netfn-agent.deb", err, sizeof(err)) == 0);
}

int main(void)
{
	test_paths();
	test_refused();
	return check_result();
}
