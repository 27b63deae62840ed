/* SPDX-License-Identifier: MIT */
/*
 * The secret broker daemon (ARCHITECTURE §6, docs/broker.md). One per config root, enforced
 * with a lock; single-threaded; serves the admin socket and one socket per session.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "capability.h"
#include "macro.h"

struct ca_error;
struct cli_ctx;

/* Redemptions a session may make in one daemon lifetime, and capabilities it may hold. */
#define BROKER_SESSION_REDEMPTIONS 4096
#define BROKER_SESSION_CAPS 256
/* Consecutive failures on a session socket before backoff starts, and its ceiling (seconds). */
#define BROKER_BACKOFF_AFTER 3
#define BROKER_BACKOFF_MAX 60

/*
 * Runs the daemon in the foreground until SIGTERM/SIGINT. When `ready_fd` >= 0, one byte is
 * written to it (and it is closed) once every socket is listening. Returns 0 after a clean
 * stop; -EALREADY when another daemon holds the lock for this config root.
 */
int broker_daemon_run(const char *config_root, int ready_fd, struct ca_error *err) CA_MUST_CHECK;

/*
 * Makes sure a daemon serves `config_root`: when its admin socket does not answer, starts
 * `ca-broker serve` in a new session (posix_spawn of `broker_exe`) and waits until it
 * reports ready through a pipe (no polling, no sleeps).
 */
int broker_ensure_running(const char *broker_exe, const char *config_root,
                          struct ca_error *err) CA_MUST_CHECK;

/*
 * One admin request (takes `req`, even on failure); the daemon of ctx's config root is started
 * first when needed, and one that dies mid-request is waited for and replaced (admin
 * operations are safe to repeat).
 */
int broker_admin_call(const struct cli_ctx *ctx, json_t *req, const int *fds, size_t nfds,
                      json_t **ret, struct ca_error *err) CA_MUST_CHECK;

/* ---- typed admin calls (the JSON of the wire protocol stays in host/broker_admin.c) ---- */

struct ca_secret;

struct broker_issue {
        const char *session;
        const char *stub;
        const char *const *secrets;
        size_t nsecrets;
        uint32_t uid;
        const char *cgroup;        /* NULL: not bound to a cgroup */
        const char *binary_sha256; /* hex, NULL: not bound to a binary */
        uint64_t ttl;              /* seconds */
        uint16_t max_uses;
};

struct broker_issued {
        char capability[CAP_TEXT_MAX + 1];
        char key_hex[2 * CAP_KEY_LEN + 1]; /* the proof key: zeroed by broker_issued_clear */
        char id[2 * CAP_ID_LEN + 1];
        char socket[1025];
        int64_t expiry;
};

/* Stores `value` as secret `name`; *ret_unchanged (may be NULL) when it held that already. */
int broker_admin_store(const struct cli_ctx *ctx, const char *name, const struct ca_secret *value,
                       bool *ret_unchanged, struct ca_error *err) CA_MUST_CHECK;
/* Issues one capability. */
int broker_admin_issue(const struct cli_ctx *ctx, const struct broker_issue *req,
                       struct broker_issued *out, struct ca_error *err) CA_MUST_CHECK;
void broker_issued_clear(struct broker_issued *out);
/* Revokes every capability of `session` (the kill switch). */
int broker_admin_revoke_session(const struct cli_ctx *ctx, const char *session,
                                struct ca_error *err) CA_MUST_CHECK;
/* Revokes one capability by its id (hex). */
int broker_admin_revoke_cap(const struct cli_ctx *ctx, const char *id,
                            struct ca_error *err) CA_MUST_CHECK;
/*
 * The content of secret `name` if a helper of `session` wrote it back (a refreshed login), in
 * *ret; *ret stays NULL when it did not. Once: the broker forgets the record.
 */
int broker_admin_export(const char *config_root, const char *session, const char *name,
                        struct ca_secret **ret, struct ca_error *err) CA_MUST_CHECK;
/* "health", "list", "rm" (with `name`), "rotate-master", "dump" (with `name` = the session):
 * the daemon's answer in *ret. */
int broker_admin_query(const struct cli_ctx *ctx, const char *op, const char *name, json_t **ret,
                       struct ca_error *err) CA_MUST_CHECK;
