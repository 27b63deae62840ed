/* SPDX-License-Identifier: MIT */
/*
 * The broker credential file: what a redeemer holds, and the one module that writes and reads
 * it (the host's issuing code and `broker issue --out` write it; agent-init, the stub launcher,
 * mcp-helper and `broker redeem` read it).
 *
 *   {"capability": "cap2.<...>", "key": "<64 hex digits>", "socket": "<absolute path>"}
 *
 * plus, from `broker issue`, the informational "id" (hex) and "expiry" (unix seconds).
 * `key` is the capability's proof key (capability.h), never the broker's MAC key. Files are
 * written atomically, 0600, and the buffers that held the key are zeroed; loading refuses a
 * link, anything but a regular file, a file over 64 KiB, unknown or missing members, a key of
 * any other length, and a capability of another format.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capability.h"
#include "macro.h"

struct buf;
struct ca_error;
struct broker_redeemed;

#define BROKERCRED_MAX ((size_t) 64 << 10)
#define BROKERCRED_SOCKET_MAX 1024

struct broker_credential {
        char capability[CAP_TEXT_MAX + 1];
        uint8_t key[CAP_KEY_LEN];
        char socket[BROKERCRED_SOCKET_MAX + 1];
};

/* Parses a credential's bytes (`name` for messages). 0, or -EINVAL (bad input). */
int brokercred_parse(const char *data, size_t len, const char *name,
                     struct broker_credential *out, struct ca_error *err) CA_MUST_CHECK;

/* Reads and parses the file at `path` (not following a link). */
int brokercred_load(const char *path, struct broker_credential *out,
                    struct ca_error *err) CA_MUST_CHECK;

/*
 * Writes a credential file at `path` (atomically, 0600): `capability` text, the proof key as
 * `key_hex` (64 hex digits, as the broker's issue answer carries it), the socket path, and the
 * informational `id` (NULL: none) and `expiry` (0: none). Refused unless a reader accepts it.
 */
int brokercred_write(const char *path, const char *capability, const char *key_hex,
                     const char *socket, const char *id, int64_t expiry,
                     struct ca_error *err) CA_MUST_CHECK;

/*
 * Writes `c` again at `path` (atomically, 0600, owned by the caller) naming `socket` instead
 * of its own (agent-init hands a helper the broker socket as a descriptor it opened).
 */
int brokercred_write_as(const char *path, const struct broker_credential *c, const char *socket,
                        struct ca_error *err) CA_MUST_CHECK;

/* The same JSON for stdout (`broker issue` without --out), with the informational id and
 * expiry: appended to `out`, which the caller zeroes. */
int brokercred_format(const char *capability, const char *key_hex, const char *socket,
                      const char *id, int64_t expiry, struct buf *out,
                      struct ca_error *err) CA_MUST_CHECK;

/*
 * Redeems the credential over its socket (or `socket_override` when not NULL): up to `max`
 * secrets into `got` (broker_client.h). Returns their number or a negative errno.
 */
int brokercred_redeem(const struct broker_credential *c, const char *socket_override,
                      struct broker_redeemed *got, size_t max, struct ca_error *err) CA_MUST_CHECK;

/* Zeroes the credential (the key above all). */
void brokercred_clear(struct broker_credential *c);

static inline void brokercred_clearp(struct broker_credential *c)
{
        brokercred_clear(c);
}
#define _cleanup_brokercred_ __attribute__((cleanup(brokercred_clearp)))
