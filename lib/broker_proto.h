/* SPDX-License-Identifier: MIT */
/*
 * The broker's wire protocol. Every connection is a SOCK_SEQPACKET Unix socket carrying one
 * request and one reply, each a single JSON object of at most BROKER_MSG_MAX bytes. File
 * descriptors travel beside the JSON with SCM_RIGHTS: a secret value is only ever a sealed
 * memfd (write/grow/shrink/seal sealed), never part of a JSON message.
 *
 * Requests ({"op": ...} plus fields):
 *   admin socket    health | store {name} + 1 memfd | list | rm {name} | rotate-master |
 *                   issue {session, stub, secrets, uid, [cgroup], [binary_sha256], ttl,
 *                          [max_uses]} | revoke {cap | session} | dump {session}
 *   session socket  redeem {capability, nonce, proof}
 *                   proof = hex HMAC-SHA-256(session stub key, nonce || capability id);
 *                   the reply carries hex HMAC-SHA-256(key, "broker" || nonce || id) back,
 *                   so each side proves it holds the key.
 * Replies: {"ok":true, ...} or {"ok":false, "error":"<code>"[, "message":"..."]}. Replies on
 * session sockets carry only the coarse code: the reason goes to the event log.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "capability.h"
#include "json.h"
#include "macro.h"

struct ca_error;
struct ca_secret;

#define BROKER_MSG_MAX ((size_t) 64 << 10)
#define BROKER_MAX_FDS CAP_MAX_SECRETS
#define BROKER_NONCE_LEN 16
#define BROKER_TTL_MAX ((uint64_t) 7 * 86400)

enum broker_op {
        BROKER_OP_HEALTH,
        BROKER_OP_STORE,
        BROKER_OP_LIST,
        BROKER_OP_RM,
        BROKER_OP_ROTATE,
        BROKER_OP_ISSUE,
        BROKER_OP_REVOKE,
        BROKER_OP_DUMP,
        BROKER_OP_REDEEM,
        BROKER_OP_UPDATE, /* session socket: the model helper writes back a refreshed login */
        BROKER_OP_EXPORT, /* admin: a login a session's helper updated, once */
};

struct broker_request {
        enum broker_op op;
        const char *name;    /* store, rm */
        const char *session; /* issue, revoke, dump */
        const char *stub;    /* issue */
        const char *secrets[CAP_MAX_SECRETS];
        size_t nsecrets;
        uint32_t uid;
        const char *cgroup; /* NULL: not bound to a cgroup */
        bool has_binary;
        uint8_t binary_sha256[CAP_HASH_LEN];
        uint64_t ttl;
        uint16_t max_uses;
        bool has_cap_id;
        uint8_t cap_id[CAP_ID_LEN]; /* revoke */
        const char *capability;     /* redeem, update */
        const char *value;          /* update: the new content of `name` */
        size_t value_len;
        uint8_t nonce[BROKER_NONCE_LEN];
        uint8_t proof[CAP_MAC_LEN];
        json_t *json; /* owns the strings above */
};

/*
 * Parses and validates one request: known op, exactly the fields it takes with the right
 * types and limits. Returns 0, or -EINVAL with a message (bad_input) in `err`.
 */
int broker_request_parse(const char *data, size_t len, struct broker_request *req,
                         struct ca_error *err) CA_MUST_CHECK;
void broker_request_clear(struct broker_request *req);

/* Sends one message (canonical JSON) and `nfds` descriptors (not closed). */
int broker_send(int sock, const json_t *msg, const int *fds, size_t nfds,
                struct ca_error *err) CA_MUST_CHECK;

/*
 * Receives one message into `buf` (BROKER_MSG_MAX + 1 bytes) and up to `max_fds` descriptors,
 * which arrive close-on-exec (MSG_CMSG_CLOEXEC). A truncated message or fd list is refused
 * (-EMSGSIZE / -EPROTO) and any fds that came with it are closed. Returns the message length.
 */
int broker_recv(int sock, char *buf, int *fds, size_t max_fds, size_t *ret_nfds,
                struct ca_error *err) CA_MUST_CHECK;

/* A sealed memfd holding `s`: F_SEAL_WRITE|F_SEAL_GROW|F_SEAL_SHRINK|F_SEAL_SEAL. */
int broker_secret_memfd(const struct ca_secret *s, struct ca_error *err) CA_MUST_CHECK;

/* Reads a memfd into guarded memory after checking it carries all four seals. */
int broker_secret_from_memfd(int fd, struct ca_secret **ret, struct ca_error *err) CA_MUST_CHECK;

/* HMAC-SHA-256(key, [label] || nonce || id) into out: the redemption proofs. */
void broker_proof(const uint8_t key[CAP_KEY_LEN], const char *label,
                  const uint8_t nonce[BROKER_NONCE_LEN], const uint8_t id[CAP_ID_LEN],
                  uint8_t out[CAP_MAC_LEN]);

