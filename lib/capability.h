/* SPDX-License-Identifier: MIT */
/*
 * Capabilities: what the broker hands out instead of secrets. A capability names one session,
 * one stub (or helper), the secrets it may fetch, optionally the SHA-256 of the only binary
 * that may redeem it, a validity window and a use count, and is MACed (HMAC-SHA-256) under the
 * session's MAC key, derived from the broker's master key, which **never leaves the broker**.
 * Text form:
 *
 *   cap2.<base64url, no padding, of record || mac>
 *
 * Record v2 (integers big-endian):
 *
 *   u8 version = 2 | u8 id[16] | u8 flags (bit 0: binary hash present; others 0)
 *   u16 max_uses (>= 1) | u64 not_before | u64 expiry (unix seconds)
 *   u8 binary_sha256[32] (zero when absent)
 *   u8 len + session | u8 len + stub | u8 count + (u8 len + secret name) * count
 *
 * The holder gets, beside the text, a *proof key* of its own (capability_proof_key: derived
 * from the master key, the session, the stub and the id) for the mutual proofs of redemption.
 * Nothing a holder has lets it mint or alter a capability: re-signing an edited record with the
 * proof key gives a bad MAC. The broker acts on its own ledger record of what it issued, never
 * on the presented claims; the MAC only proves the text came from it.
 *
 * Version 1 (cap1., MACed under the key the holder was given, so a holder could re-sign it) is
 * refused as CAP_BAD_VERSION. Any changed byte, a wrong key, an unknown version, a record
 * outside its window: each is rejected with its own status.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define CAP_VERSION 2
#define CAP_ID_LEN 16
#define CAP_KEY_LEN 32
#define CAP_MAC_LEN 32
#define CAP_HASH_LEN 32
#define CAP_SESSION_MAX 64
#define CAP_STUB_MAX 64
#define CAP_SECRET_NAME_MAX 128
#define CAP_MAX_SECRETS 16
#define CAP_PREFIX "cap2."
/* Longest text form: prefix + base64 of the longest record + MAC. */
#define CAP_TEXT_MAX 4096

enum cap_status {
        CAP_OK = 0,
        CAP_MALFORMED,      /* not "cap1.", bad base64, truncated, trailing bytes, bad names */
        CAP_BAD_VERSION,    /* a record version this broker does not know */
        CAP_BAD_MAC,        /* tampered, or MACed under another key */
        CAP_NOT_YET_VALID,  /* now < not_before */
        CAP_EXPIRED,        /* now >= expiry */
};

struct capability {
        uint8_t id[CAP_ID_LEN];
        char session[CAP_SESSION_MAX + 1];
        char stub[CAP_STUB_MAX + 1];
        char secrets[CAP_MAX_SECRETS][CAP_SECRET_NAME_MAX + 1];
        size_t nsecrets;
        bool has_binary;
        uint8_t binary_sha256[CAP_HASH_LEN];
        uint64_t not_before;
        uint64_t expiry;
        uint16_t max_uses;
};

/* "ok", "malformed", "unknown-version", "bad-mac", "not-yet-valid", "expired". */
const char *capability_status_name(enum cap_status status);

/* Session ids: 1..64 of [A-Za-z0-9._-]. Stub names: 1..64 of [a-z0-9_-]. */
bool capability_valid_session(const char *s);
bool capability_valid_stub(const char *s);

/*
 * The session's MAC key, which only the broker holds: a libsodium KDF subkey of the master
 * (context "cacapmac"), then keyed BLAKE2b over the session id. Returns 0, or -EINVAL for an
 * invalid session id.
 */
int capability_mac_key(const uint8_t master[CAP_KEY_LEN], const char *session,
                       uint8_t out[CAP_KEY_LEN]) CA_MUST_CHECK;

/*
 * The proof key of one capability, which its holder gets: a KDF subkey of the master (context
 * "caproof2"), then keyed BLAKE2b over session NUL stub NUL id. Knowing it proves possession of
 * that capability and nothing else. Returns 0, or -EINVAL for invalid names.
 */
int capability_proof_key(const uint8_t master[CAP_KEY_LEN], const char *session,
                         const char *stub, const uint8_t id[CAP_ID_LEN],
                         uint8_t out[CAP_KEY_LEN]) CA_MUST_CHECK;

/* True when two records say the same (id, session, stub, secrets, binding, window, uses). */
bool capability_equal(const struct capability *a, const struct capability *b);

/*
 * Encodes and MACs `cap` under `key` into `out` (NUL-terminated). Returns the text length, or
 * -EINVAL for a capability that does not fit the format, -ENOBUFS when `out` is too small.
 */
int capability_encode(const struct capability *cap, const uint8_t key[CAP_KEY_LEN], char *out,
                      size_t outlen) CA_MUST_CHECK;

/* Parses `text` without checking the MAC or the window (to learn which key to use). */
enum cap_status capability_parse(const char *text, struct capability *out);

/* Parses `text`, checks its MAC under `key` (constant time) and its window at `now`. */
enum cap_status capability_verify(const char *text, const uint8_t key[CAP_KEY_LEN], uint64_t now,
                                  struct capability *out);

/* Lower-case hex of the id into `out` (33 bytes). */
void capability_id_hex(const uint8_t id[CAP_ID_LEN], char out[2 * CAP_ID_LEN + 1]);
