/* SPDX-License-Identifier: MIT */
/*
 * Client side of the broker protocol (lib/broker_proto.h): one request and one reply per
 * connection. Used by the CLI (admin socket), and by the stub launcher, helpers and
 * agent-init (session socket).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "capability.h"
#include "json.h"
#include "macro.h"

struct ca_error;
struct ca_secret;

/* <config root>/broker.d, its run directory and sockets (malloc'd; NULL on OOM). */
char *broker_dir(const char *config_root);
char *broker_admin_socket(const char *config_root);
char *broker_session_socket(const char *config_root, const char *session);

/*
 * Sends `req` (and `nfds` descriptors) on a fresh connection to `socket_path`, and returns
 * the reply object and up to `max_fds` received descriptors. A reply {"ok":false} becomes an
 * error: -EACCES for "denied", -EINVAL for "bad-request", -ENOENT for "not-found", -EIO
 * otherwise, with the broker's message.
 */
int broker_call(const char *socket_path, const json_t *req, const int *fds, size_t nfds,
                json_t **ret_reply, int *ret_fds, size_t max_fds, size_t *ret_nfds,
                struct ca_error *err) CA_MUST_CHECK;

/*
 * Like broker_call, and also stores the pid of the process that accepted the connection in
 * *ret_peer (0 when the connection failed), even when the call fails: a caller whose daemon
 * died mid-request can wait for exactly that process to be gone before retrying.
 */
int broker_call_peer(const char *socket_path, const json_t *req, const int *fds, size_t nfds,
                     json_t **ret_reply, int *ret_fds, size_t max_fds, size_t *ret_nfds,
                     pid_t *ret_peer, struct ca_error *err) CA_MUST_CHECK;

/* Waits (at most `timeout_ms`) for process `pid` to exit, through a pidfd. 0 when gone. */
int broker_wait_exit(pid_t pid, int timeout_ms);

struct broker_redeemed {
        char name[CAP_SECRET_NAME_MAX + 1];
        struct ca_secret *value;
};

/*
 * Redeems `cap_text` at the session socket with the session stub key: sends a fresh nonce and
 * HMAC(key, nonce || id), checks the broker's answering proof, and reads each secret from its
 * sealed memfd into guarded memory. Returns the number of secrets.
 */
int broker_redeem(const char *socket_path, const char *cap_text, const uint8_t key[CAP_KEY_LEN],
                  struct broker_redeemed *out, size_t max, struct ca_error *err) CA_MUST_CHECK;

/* Frees what broker_redeem returned. */
void broker_redeemed_clear(struct broker_redeemed *r, size_t n);

/*
 * Writes `value` back as the new content of the secret `name`, which the capability grants
 * (only the model helper's capability may: a refreshed login). The broker keeps it for the
 * rest of the session's redemptions and for the host's `export` at the session's end.
 */
int broker_update(const char *socket_path, const char *cap_text, const uint8_t key[CAP_KEY_LEN],
                  const char *name, const struct ca_secret *value,
                  struct ca_error *err) CA_MUST_CHECK;
