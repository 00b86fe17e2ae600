// SPDX-License-Identifier: Apache-2.0
/*
 * netfn-controller: `init` makes the store, the controller's key pair and
 * the first admin API token; without a command it serves the API and the
 * agent endpoint until SIGTERM or SIGINT.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/agentsrv.h"
#include "controller/api.h"
#include "controller/ctl.h"
#include "controller/sched.h"
#include "controller/tick.h"
#include "netfns/common/log.h"
#include "proto/token.h"

#define KEY_FILE "controller.key"

struct opts {
	const char *data_dir;
	const char *command;
	size_t n_agents, n_api;
	const char *agents[CTL_MAX_URLS];
	const char *api[CTL_MAX_URLS];
	size_t n_advertise;
	const char *advertise[CTL_MAX_URLS];
	uint32_t heartbeat_ms;
	const char *tls_cert;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: netfn-controller --data-dir DIR init\n"
	           "       netfn-controller --data-dir DIR --agents tcp://ADDR:PORT --api "
	           "ipc:///PATH [--api tcp://ADDR:PORT]\n"
	           "                        [--advertise tcp://HOST:PORT] [--heartbeat-ms N] "
	           "[--log-level debug|info|warn|error]\n"
	           "                        [--api tls+tcp://ADDR:PORT --tls-cert PEM]\n"
	           "A remote API is served over tls+tcp:// only; plain tcp:// on loopback only.\n");
}

static int fail_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "netfn-controller: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	usage(stderr);
	return 2;
}

static int add_url(const char **v, size_t *n, const char *url, const char *flag)
{
	if (*n == CTL_MAX_URLS)
		return fail_usage("too many %s", flag);
	if (strlen(url) >= NF_TOKEN_URL_MAX)
		return fail_usage("%s: URL too long", flag);
	v[(*n)++] = url;
	return 0;
}

/* The API takes ipc://, tls+tcp://, or plain tcp:// on loopback only. */
static bool api_url_ok(const char *url)
{
	if (strncmp(url, "ipc://", 6) == 0 || strncmp(url, "tls+tcp://", 10) == 0)
		return true;
	if (strncmp(url, "tcp://", 6) != 0)
		return false;
	url += 6;
	return strncmp(url, "127.", 4) == 0 || strncmp(url, "[::1]:", 6) == 0 ||
	       strncmp(url, "localhost:", 10) == 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"data-dir", required_argument, NULL, 'd'},
	    {"agents", required_argument, NULL, 'a'},
	    {"api", required_argument, NULL, 'p'},
	    {"advertise", required_argument, NULL, 'A'},
	    {"heartbeat-ms", required_argument, NULL, 'h'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"tls-cert", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'H'},
	    {0},
	};
	int c, ret;
	char *end;
	long v;

	o->heartbeat_ms = CTL_DEFAULT_HEARTBEAT_MS;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->data_dir = optarg;
			break;
		case 'a':
			if ((ret = add_url(o->agents, &o->n_agents, optarg, "--agents")))
				return ret;
			break;
		case 'p':
			if (!api_url_ok(optarg))
				return fail_usage(
				    "--api: '%s' is not ipc://PATH, tls+tcp://ADDR:PORT "
				    "or a loopback tcp://ADDR:PORT (a remote API is "
				    "encrypted)",
				    optarg);
			if ((ret = add_url(o->api, &o->n_api, optarg, "--api")))
				return ret;
			break;
		case 'c':
			o->tls_cert = optarg;
			break;
		case 'A':
			if (strncmp(optarg, "tcp://", 6) != 0)
				return fail_usage("--advertise: '%s' is not tcp://HOST:PORT",
				                  optarg);
			if ((ret = add_url(o->advertise, &o->n_advertise, optarg, "--advertise")))
				return ret;
			break;
		case 'h':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 100 || v > 600000)
				return fail_usage("--heartbeat-ms: '%s' is not 100-600000", optarg);
			o->heartbeat_ms = (uint32_t)v;
			break;
		case 'l':
			if (!strcmp(optarg, "debug"))
				nf_log_set_level(NF_LOG_DEBUG);
			else if (!strcmp(optarg, "info"))
				nf_log_set_level(NF_LOG_INFO);
			else if (!strcmp(optarg, "warn"))
				nf_log_set_level(NF_LOG_WARN);
			else if (!strcmp(optarg, "error"))
				nf_log_set_level(NF_LOG_ERR);
			else
				return fail_usage("--log-level: '%s' is not debug|info|warn|error",
				                  optarg);
			break;
		case 'H':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!o->data_dir)
		return fail_usage("%s is required", "--data-dir");
	if (optind < argc)
		o->command = argv[optind++];
	if (optind < argc)
		return fail_usage("unexpected argument '%s'", argv[optind]);
	if (o->command && strcmp(o->command, "init"))
		return fail_usage("unknown command '%s'", o->command);
	if (!o->command && (!o->n_agents || !o->n_api))
		return fail_usage("%s", "serving needs --agents and --api");
	return 0;
}

static char *key_path(const char *dir)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", dir, KEY_FILE) < 0)
		return NULL;
	return p;
}

/* Loads the controller's secret key and derives its public key. */
static int load_key(const char *dir, struct nf_identity *id)
{
	char *path = key_path(dir);
	struct stat st;
	ssize_t n;
	int fd, ret = -EIO;

	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		fprintf(stderr, "netfn-controller: %s: %s (run init first)\n", path,
		        strerror(errno));
		goto cleanup;
	}
	if (fstat(fd, &st) || (st.st_mode & 077)) {
		fprintf(stderr, "netfn-controller: %s must not be readable by group or others\n",
		        path);
		ret = -EPERM;
		goto cleanup;
	}
	n = read(fd, id->sk, sizeof(id->sk));
	if (n != (ssize_t)sizeof(id->sk)) {
		fprintf(stderr, "netfn-controller: %s: not a key\n", path);
		goto cleanup;
	}
	crypto_scalarmult_base(id->pk, id->sk);
	ret = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	free(path);
	return ret;
}

static int cmd_init(const struct opts *o)
{
	struct nf_identity id;
	struct store *s = NULL;
	struct st_api_token t = {0};
	struct st_audit a = {0};
	char token[NF_TOKEN_STRLEN], *path = NULL;
	int fd = -1, ret = 1;

	if (mkdir(o->data_dir, 0700) && errno != EEXIST) {
		fprintf(stderr, "netfn-controller: %s: %s\n", o->data_dir, strerror(errno));
		return 1;
	}
	path = key_path(o->data_dir);
	if (!path)
		return 1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "netfn-controller: %s: %s%s\n", path, strerror(errno),
		        errno == EEXIST ? " (already initialised)" : "");
		free(path);
		return 1;
	}
	if (nf_identity_generate(&id) || write(fd, id.sk, sizeof(id.sk)) != sizeof(id.sk) ||
	    fsync(fd)) {
		fprintf(stderr, "netfn-controller: cannot write %s\n", path);
		unlink(path);
		goto cleanup;
	}
	if (store_open(o->data_dir, &s)) {
		fprintf(stderr, "netfn-controller: cannot create the store in %s\n", o->data_dir);
		goto cleanup;
	}
	nf_api_token_new(token, sizeof(token), t.hash);
	nf_hash_id(t.hash, t.id, sizeof(t.id));
	strcpy(t.role, "admin");
	strcpy(t.name, "admin");
	t.created = ctl_now();
	a.time = t.created;
	strcpy(a.actor, "init");
	strcpy(a.method, "apitoken.create");
	snprintf(a.object, sizeof(a.object), "%s", t.id);
	strcpy(a.detail, "role=admin name=admin");
	if (s->ops->begin(s) || s->ops->api_token_insert(s, &t) || s->ops->audit_add(s, &a) ||
	    s->ops->commit(s)) {
		s->ops->rollback(s);
		fprintf(stderr, "netfn-controller: cannot store the admin token\n");
		goto cleanup;
	}
	printf("%s\n", token);
	ret = 0;
cleanup:
	sodium_memzero(token, sizeof(token));
	nf_identity_wipe(&id);
	if (fd >= 0)
		close(fd);
	store_close(s);
	free(path);
	return ret;
}

/* Agent URLs that name a wildcard address can't be dialled: they go in no token. */
static bool dialable(const char *url)
{
	return !strstr(url, "://0.0.0.0:") && !strstr(url, "://[::]:") && !strstr(url, "://*:");
}

static int serve(const struct opts *o)
{
	struct ctl c = {.heartbeat_ms = o->heartbeat_ms};
	struct agentsrv *agents = NULL;
	struct tick *tick = NULL;
	sigset_t set;
	int sig = 0, ret = 1;

	pthread_mutex_init(&c.lock, NULL);
	for (size_t i = 0; i < o->n_advertise; i++)
		snprintf(c.advertise[c.n_advertise++], NF_TOKEN_URL_MAX, "%s", o->advertise[i]);
	for (size_t i = 0; !o->n_advertise && i < o->n_agents; i++)
		if (dialable(o->agents[i]))
			snprintf(c.advertise[c.n_advertise++], NF_TOKEN_URL_MAX, "%s",
			         o->agents[i]);
	if (load_key(o->data_dir, &c.id))
		return 1;
	if (store_open(o->data_dir, &c.store)) {
		fprintf(stderr, "netfn-controller: cannot open the store in %s\n", o->data_dir);
		goto cleanup;
	}
	/* Signals are taken by sigwait below, never by a handler on an nng thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (agentsrv_start(&c, o->agents, o->n_agents, &agents))
		goto cleanup;
	/* Liveness is when each agent last called; the tick acts on it. */
	sched_set_liveness(agentsrv_alive, agents);
	if (tick_start(&c, &tick))
		goto cleanup;
	if (api_start(&c, o->api, o->n_api, o->tls_cert))
		goto cleanup;
	for (size_t i = 0; i < o->n_api; i++)
		if (strncmp(o->api[i], "ipc://", 6) == 0)
			chmod(o->api[i] + 6, 0660); /* the controller's group may call the API */
	nf_info("serving: heartbeat %u ms, %zu agent URL(s) advertised", c.heartbeat_ms,
	        c.n_advertise);
	sigwait(&set, &sig);
	nf_info("signal %d: stopping", sig);
	ret = 0;
cleanup:
	api_stop();
	tick_stop(tick);
	sched_set_liveness(NULL, NULL);
	agentsrv_stop(agents);
	store_close(c.store);
	nf_identity_wipe(&c.id);
	return ret;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	int ret;

	nf_log_set_ident("netfn-controller");
	if ((ret = parse(argc, argv, &o)))
		return ret;
	if (nf_crypto_init()) {
		fprintf(stderr, "netfn-controller: libsodium failed to initialise\n");
		return 1;
	}
	umask(077);
	return o.command ? cmd_init(&o) : serve(&o);
}
