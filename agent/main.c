// SPDX-License-Identifier: Apache-2.0
/*
 * netfn-agent: one per VM. Loads (or makes) its keys, re-applies the config
 * it last applied so the data plane is back before the controller is even
 * reachable, enrolls with a join token on the first start, then keeps the
 * node in the state the controller asks for until SIGTERM/SIGINT.
 *
 * SIGTERM and SIGINT are blocked in every thread (the mask is set before
 * nng starts its threads) and taken by one thread with sigwait, which stops
 * the session: that closes the socket under a pending long-poll. Blocking
 * rather than a handler means no system call anywhere in the agent, in the
 * middle of an apply say, ever fails with EINTR. (The agent's children,
 * wireguard-go and dnsmasq, start with the mask reset: netfns/common/daemon.c.)
 *
 * Exit status: 0 when stopped by a signal (or --help), 1 for a runtime
 * failure (state dir, keys, enrollment refused), 2 for a usage error.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/args.h"
#include "agent/conf.h"
#include "agent/reconcile.h"
#include "agent/session.h"
#include "agent/state.h"
#include "netfns/common/log.h"
#include "proto/token.h"

#define EXIT_USAGE 2

/* Set by main before it wakes the signal thread with SIGUSR1 at exit. */
static volatile sig_atomic_t quitting;

static void signals_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGUSR1);
}

/* Blocks the stop signals in this thread and every thread made after; 0 or -errno. */
static int signals_block(void)
{
	sigset_t set;

	signals_set(&set);
	/* A write to a socket whose peer died (a UAPI socket) must not kill the agent. */
	signal(SIGPIPE, SIG_IGN);
	return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void *signal_thread(void *arg)
{
	struct session *s = arg;
	sigset_t set;
	int sig = 0;

	signals_set(&set);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig != SIGUSR1)
			break;
		if (quitting)
			break;
	}
	if (sig != SIGUSR1)
		nf_info("%s received: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	session_stop(s);
	return NULL;
}

/* Reads and decodes the join token from --join-token or --join-token-file. */
static int token_load(struct agent_args *a, struct nf_join_token *tok)
{
	char buf[NF_TOKEN_STRLEN + 1];
	size_t len = 0;
	FILE *f = NULL;
	int ret;

	if (a->join_token) {
		ret = nf_join_token_decode(a->join_token, tok);
		if (ret < 0)
			fprintf(stderr, "netfn-agent: --join-token: not a valid join token\n");
		return ret;
	}
	f = fopen(a->join_token_file, "re");
	if (!f) {
		ret = -errno;
		fprintf(stderr, "netfn-agent: --join-token-file: %s: %s\n", a->join_token_file,
		        strerror(-ret));
		return ret;
	}
	len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[len] = '\0';
	ret = ferror(f) ? -EIO : 0;
	if (ret == 0 && (len == sizeof(buf) - 1 || nf_join_token_decode(buf, tok) < 0))
		ret = -EINVAL;
	if (ret < 0)
		fprintf(stderr, "netfn-agent: --join-token-file: %s: not a valid join token\n",
		        a->join_token_file);
	fclose(f);
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

/* Hides the token given on the command line from /proc/PID/cmdline. */
static void token_scrub(struct agent_args *a)
{
	if (a->join_token)
		sodium_memzero(a->join_token, strlen(a->join_token));
}

static int enroll(struct session *s, struct agent_state *st, const struct nf_join_token *tok,
                  struct agent_enrollment *enr)
{
	struct nf_status status;
	int ret;

	ret = session_enroll(s, tok, enr, &status);
	if (ret == -ECANCELED)
		return ret;
	if (ret == -EACCES) {
		size_t flen = strlen(status.field);

		/* The controller's own words: the operator needs a new token, not a retry. */
		if (flen && strncmp(status.message, status.field, flen) != 0)
			fprintf(stderr, "netfn-agent: enroll refused: %s: %s: %s\n",
			        nf_status_name(status.code), status.field, status.message);
		else
			fprintf(stderr, "netfn-agent: enroll refused: %s: %s\n",
			        nf_status_name(status.code), status.message);
		return ret;
	}
	if (ret < 0) {
		fprintf(stderr, "netfn-agent: enroll failed: %s\n", status.message);
		return ret;
	}
	ret = state_save_enrollment(st, enr);
	if (ret < 0) {
		fprintf(stderr,
		        "netfn-agent: enrolled as node %s in network %s but cannot save %s/%s: %s "
		        "(the token is used up: delete the node and enroll with a new token)\n",
		        enr->name, enr->network, st->dir, STATE_ENROLLMENT_FILE, strerror(-ret));
		return ret;
	}
	nf_info("node %s network %s: enrolled, overlay address %s", enr->name, enr->network,
	        enr->overlay_address[0] ? enr->overlay_address : "(none)");
	return 0;
}

/* Re-applies the saved config, if any, before the controller is contacted. */
static void restore(struct agent_state *st, struct reconcile *rc)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret;

	ret = state_load_config(st, &buf, &len);
	if (ret == -ENOENT)
		return;
	if (ret == 0)
		ret = reconcile_restore(rc, buf, len);
	if (ret < 0)
		nf_warn("state %s: saved config not usable (%s); waiting for the controller",
		        st->dir, strerror(-ret));
	else if (ret > 0)
		nf_warn("state %s: %d section(s) of the saved config did not apply", st->dir, ret);
	free(buf);
}

int main(int argc, char **argv)
{
	struct agent_args args;
	struct agent_conf conf = {0};
	const char *conf_path;
	struct nf_join_token tok;
	struct agent_enrollment enr;
	struct agent_state *st = NULL;
	struct session *s = NULL;
	struct reconcile *rc = NULL;
	struct reconcile_env env;
	const char *urls[NF_TOKEN_MAX_URLS];
	const char(*src)[NF_TOKEN_URL_MAX];
	bool have_thread = false;
	bool enrolled = false;
	pthread_t thread;
	char pub[64];
	char err[512];
	int status = 1;
	int ret;

	memset(&tok, 0, sizeof(tok));
	memset(&enr, 0, sizeof(enr));
	/* The file's settings come first so the command line can replace them. */
	conf_path = agent_args_config(argc, argv, AGENT_DEFAULT_CONF);
	ret = conf_path ? agent_conf_load(&conf, conf_path, err, sizeof(err)) : 0;
	if (ret == 0)
		ret = agent_args_parse_conf(argc, argv, conf_path ? &conf : NULL, &args, err,
		                            sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "netfn-agent: %s\n(see netfn-agent --help)\n", err);
		agent_conf_free(&conf);
		return EXIT_USAGE;
	}
	if (args.help) {
		fputs(agent_usage, stdout);
		agent_conf_free(&conf);
		return 0;
	}
	nf_log_set_ident("netfn-agent");
	nf_log_set_level(args.log_level);
	if (conf_path)
		nf_debug("settings from %s and the command line", conf_path);
	ret = signals_block();
	if (ret < 0) {
		fprintf(stderr, "netfn-agent: cannot set up signals: %s\n", strerror(-ret));
		goto cleanup;
	}
	if (nf_crypto_init() < 0) {
		fprintf(stderr, "netfn-agent: cannot initialise libsodium\n");
		goto cleanup;
	}

	ret = state_open(args.state_dir, &st, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "netfn-agent: %s\n", err);
		goto cleanup;
	}
	ret = state_load_enrollment(st, &enr, err, sizeof(err));
	if (ret < 0 && ret != -ENOENT) {
		fprintf(stderr, "netfn-agent: %s\n", err);
		goto cleanup;
	}
	enrolled = ret == 0;
	if (enrolled && (args.join_token || args.join_token_file)) {
		nf_info("node %s network %s: already enrolled; the join token is not used",
		        enr.name, enr.network);
	} else if (!enrolled) {
		if (!args.join_token && !args.join_token_file) {
			fprintf(stderr,
			        "netfn-agent: not enrolled yet (%s has no %s): the first "
			        "start needs --join-token or --join-token-file (or "
			        "join-token-file in the config file)\n",
			        args.state_dir, STATE_ENROLLMENT_FILE);
			status = EXIT_USAGE;
			goto cleanup;
		}
		if (token_load(&args, &tok) < 0) {
			status = EXIT_USAGE;
			goto cleanup;
		}
	}
	token_scrub(&args);
	nf_key_to_base64(st->wg_public, pub, sizeof(pub));
	nf_info("node %s: WireGuard interface %s, public key %s", enrolled ? enr.name : args.name,
	        args.wg_ifname, pub);

	ret = session_open(st, &args, &s);
	if (ret == 0) {
		ret = -pthread_create(&thread, NULL, signal_thread, s);
		have_thread = ret == 0;
	}
	if (ret < 0) {
		fprintf(stderr, "netfn-agent: cannot start: %s\n", strerror(-ret));
		goto cleanup;
	}
	env.wg_ifname = args.wg_ifname;
	env.wg_private_key = st->wg_private;
	env.state_dir = st->dir;
	env.ovs_rundir = args.ovs_rundir;
	/* The URLs the session dials, as it picks them: flags, else enrollment, else token. */
	env.n_controllers = tok.n_urls;
	src = tok.urls;
	if (args.n_controllers) {
		env.n_controllers = args.n_controllers;
		src = args.controllers;
	} else if (enrolled) {
		env.n_controllers = enr.n_urls;
		src = enr.urls;
	}
	for (size_t i = 0; i < env.n_controllers && i < NF_TOKEN_MAX_URLS; i++)
		urls[i] = src[i];
	env.controllers = urls;
	ret = reconcile_open(&env, st, &rc);
	if (ret < 0) {
		fprintf(stderr, "netfn-agent: cannot open the network functions: %s\n",
		        strerror(-ret));
		goto cleanup;
	}
	restore(st, rc);

	ret = enrolled ? 0 : enroll(s, st, &tok, &enr);
	sodium_memzero(&tok, sizeof(tok));
	if (ret == 0)
		ret = session_run(s, &enr, rc);
	else if (ret == -ECANCELED)
		ret = 0; /* stopped while enrolling */
	else
		goto cleanup;
	if (ret < 0)
		goto cleanup;
	status = 0;
	if (args.cleanup_on_exit && reconcile_teardown(rc) < 0)
		status = 1;
	nf_info("node %s: stopped%s", enr.name[0] ? enr.name : args.name,
	        args.cleanup_on_exit ? ", interface removed" : ", data plane left in place");
cleanup:
	if (have_thread) {
		/* Ends the signal thread if no signal did, so the session outlives it. */
		quitting = 1;
		pthread_kill(thread, SIGUSR1);
		pthread_join(thread, NULL);
	}
	sodium_memzero(&tok, sizeof(tok));
	reconcile_close(rc);
	session_close(s);
	state_close(st);
	agent_conf_free(&conf);
	return status;
}
