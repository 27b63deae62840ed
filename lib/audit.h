/* SPDX-License-Identifier: MIT */
/*
 * The security event log: typed events appended as JSON lines to
 * <config root>/security-events.log. Each line is canonical JSON
 *
 *   {"fields":{...},"prev":"<sha256 hex of the previous line>","seq":N,
 *    "session":"<id>","ts":"2026-11-28T01:19:07.123456Z","type":"session-config"}
 *
 * (`session` only when known). `prev` of the first line is 64 zeros; `seq` counts from 1.
 * Any edit, deletion or reordering of a line breaks the chain at the next line, which
 * audit_verify() reports. Writers take an exclusive flock and append with O_APPEND in one
 * write(), so concurrent processes never interleave or fork the chain.
 *
 * Limits (documented in docs/events.md): the chain has no secret key, so someone who can write
 * the file can rewrite all of it consistently, and truncating the last lines leaves a valid
 * shorter chain. The journald mirror (each entry carries seq and line hash) is the anchor
 * outside the file; `events verify` prints the head (seq, hash) for comparison.
 *
 * Never put a secret value in an event; name secrets instead.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "json.h"
#include "macro.h"

struct ca_error;
struct audit_log;

#define AUDIT_MAX_LINE ((size_t) 64 << 10)

enum audit_type {
        AUDIT_SESSION_CONFIG,
        AUDIT_CAPABILITIES_ISSUED,
        AUDIT_CAPABILITY_REDEEMED,
        AUDIT_CAPABILITY_DENIED,
        AUDIT_CAPABILITY_REVOKED,
        AUDIT_BROKER_START,
        AUDIT_BROKER_STOP,
        AUDIT_STORE_CHANGED,
        AUDIT_HELPER_START,
        AUDIT_HELPER_STOP,
        AUDIT_HELPER_HEALTH,
        AUDIT_HELPER_LIMIT,
        AUDIT_STUB_START,
        AUDIT_STUB_STOP,
        AUDIT_PIN_MISMATCH,
        AUDIT_PROXY_DENIED,
        AUDIT_PROXY_LIMIT,
        AUDIT_DNS_DENIED,
        AUDIT_INTEGRITY_OK,
        AUDIT_INTEGRITY_FAILED,
        AUDIT_ENV_DETECT,
        AUDIT_RUNTIME_BLOCKED,
        AUDIT_OVERRIDE_USED,
        AUDIT_AUDIT_AGENT,
        AUDIT_TRUST_CHANGED,
        AUDIT_HELPER_DENIED,
        AUDIT_SESSION_START,
        AUDIT_SESSION_STOP,
        AUDIT_SESSION_REMOVED,
        AUDIT_WORKSPACE_CONFIG_APPROVED,
        AUDIT_WORKSPACE_CONFIG_REFUSED,
        AUDIT_WORKSPACE_GIT_CHANGED,
        AUDIT_PROXY_LOG_MALFORMED,
        AUDIT_CREDENTIAL_UPDATED,
        AUDIT_CREDENTIAL_REFRESH,
        AUDIT_MODEL_USAGE,
        AUDIT_EXEC_ROUTED,
        AUDIT_EXEC_DENIED,
        AUDIT_INSTALL_REFUSED,
        AUDIT_SESSION_ENFORCEMENT,
        AUDIT_DOCTOR,
        AUDIT_STATE_LOADED,
        AUDIT_STATE_SAVED,
        AUDIT_STATE_REFUSED,
        AUDIT_IMAGE_PULLED,
        AUDIT_IMAGE_REFUSED,
        AUDIT_WORKSPACE_OBJECTS,
        AUDIT_TYPE_MAX,
};

/* "session-config" ... ; NULL for out-of-range values. */
const char *audit_type_name(enum audit_type type);

/* Parses a type name; returns the type (>= 0) or -EINVAL. */
int audit_type_from_name(const char *name);

/*
 * Opens (creating 0600, and its directory 0700 when missing) the log at `path` for appending.
 * Refuses symlinks and non-regular files.
 */
int audit_open(const char *path, struct audit_log **ret, struct ca_error *err) CA_MUST_CHECK;

/* Closes the log. NULL-safe; returns NULL. */
struct audit_log *audit_close(struct audit_log *log);

/*
 * Appends one event. `session` may be NULL; `fields` (borrowed, may be NULL) must be a JSON
 * object without real numbers, whose names the event catalogue (eventcat.h) lists for `type`:
 * builds with assertions abort on one it does not. Fails with -EMSGSIZE when the line would exceed AUDIT_MAX_LINE.
 * On success the event's sequence number is stored in *ret_seq when non-NULL.
 */
int audit_append(struct audit_log *log, enum audit_type type, const char *session,
                 const json_t *fields, uint64_t *ret_seq, struct ca_error *err) CA_MUST_CHECK;

/* Opens the log at `path`, appends one event, closes it. For one-shot commands. */
int audit_emit(const char *path, enum audit_type type, const char *session, const json_t *fields,
               struct ca_error *err) CA_MUST_CHECK;

/* One parsed line of the log. Pointers refer into `json` (owned). */
struct audit_record {
        json_t *json;
        uint64_t seq;
        const char *type;
        const char *ts;
        const char *session; /* NULL when absent */
        const char *prev;    /* 64 lower-case hex digits */
        const json_t *fields;
};

/*
 * Parses one line (without '\n') into `rec`, checking the record's shape: an object with
 * string ts/type/prev (64 lower-case hex), integer seq >= 1, optional string session and
 * object fields, and nothing else. Returns 0 or -EINVAL with a message in `err`.
 */
int audit_record_parse(const char *line, size_t len, struct audit_record *rec,
                       struct ca_error *err) CA_MUST_CHECK;
void audit_record_clear(struct audit_record *rec);

struct audit_verify_result {
        uint64_t lines;    /* lines read */
        uint64_t bad_line; /* first bad line (from 1), 0 when the chain is intact */
        char reason[256];
        char head[DIGEST_SHA256_HEX_LEN + 1]; /* hash of the last good line */
};

/*
 * Checks the whole chain read from `fd`. Returns 0 when intact, 1 when broken (res->bad_line
 * and res->reason say where and why), or a negative errno on read failure.
 */
int audit_verify_fd(int fd, struct audit_verify_result *res, struct ca_error *err) CA_MUST_CHECK;

/* The current UTC time as events carry it ("2026-11-28T01:19:07.123456Z"). 0 or -errno. */
int audit_format_ts(char *out, size_t outlen) CA_MUST_CHECK;

/* SHA-256 hex of a line as used in `prev`. */
int audit_line_hash(const char *line, size_t len,
                    char out[DIGEST_SHA256_HEX_LEN + 1]) CA_MUST_CHECK;

static inline void audit_closep(struct audit_log **log)
{
        audit_close(*log);
}
#define _cleanup_audit_ __attribute__((cleanup(audit_closep)))
