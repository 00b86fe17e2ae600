/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One-line logging to stderr with a level and a timestamp. Callers put the
 * node, network and revision an event concerns into the message; secrets are
 * never passed here.
 */
#ifndef NETFN_COMMON_LOG_H
#define NETFN_COMMON_LOG_H

enum nf_log_level { NF_LOG_DEBUG, NF_LOG_INFO, NF_LOG_WARN, NF_LOG_ERR };

/* Messages below this level are dropped (default NF_LOG_INFO). */
void nf_log_set_level(enum nf_log_level level);

/* Sets the program name printed on each line. */
void nf_log_set_ident(const char *ident);

/* Logs one line. */
void nf_log(enum nf_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define nf_debug(...) nf_log(NF_LOG_DEBUG, __VA_ARGS__)
#define nf_info(...)  nf_log(NF_LOG_INFO, __VA_ARGS__)
#define nf_warn(...)  nf_log(NF_LOG_WARN, __VA_ARGS__)
#define nf_err(...)   nf_log(NF_LOG_ERR, __VA_ARGS__)

#endif
