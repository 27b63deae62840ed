/* SPDX-License-Identifier: MIT */
/*
 * DSSE envelopes signed with Ed25519 (libsodium), and the host's audit key.
 *
 *   {"payload": base64(body), "payloadType": TYPE,
 *    "signatures": [{"keyid": hex SHA-256 of the public key, "sig": base64(Ed25519(PAE))}]}
 *
 * where PAE = "DSSEv1" SP len(TYPE) SP TYPE SP len(body) SP body (lengths in ASCII decimal), as
 * the DSSE specification defines it: the signature covers the type, so a payload cannot be
 * replayed as another kind of document.
 *
 * The audit key is the 32-byte Ed25519 seed in <config root>/audit.key: made on first use
 * (0600, O_EXCL), refused when it is a symlink, not ours, or readable by others. Its secret
 * half lives on the stack only while signing and is zeroed after.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"
#include "macro.h"

struct ca_error;

#define DSSE_PUBKEY_LEN 32
#define DSSE_KEYID_HEX_LEN 64
#define DSSE_INTOTO_TYPE "application/vnd.in-toto+json"

/* PAE(type, body) into `out` (reset first). */
int dsse_pae(const char *type, const void *body, size_t len, struct buf *out) CA_MUST_CHECK;

/* The key id of a public key: hex SHA-256 of its 32 bytes. */
void dsse_keyid(const uint8_t pub[DSSE_PUBKEY_LEN], char out[DSSE_KEYID_HEX_LEN + 1]);

/*
 * The audit key at `path`: loads it, or with `create` makes it when missing. Fills `pub`.
 * -ENOENT when missing and not to be created; -EPERM when its ownership or mode is unsafe.
 */
int dsse_key_public(const char *path, bool create, uint8_t pub[DSSE_PUBKEY_LEN],
                    struct ca_error *err) CA_MUST_CHECK;

/* Signs `body` of `type` with the key at `path` (made when missing) into a new envelope. */
int dsse_sign(const char *key_path, const char *type, const void *body, size_t len,
              json_t **ret, struct ca_error *err) CA_MUST_CHECK;

/*
 * Checks `envelope`: its shape, its payload type (`type`), and that a signature with `pub`'s key
 * id verifies. Returns 0 and the decoded payload in `payload`; -EBADMSG when no signature of
 * that key verifies, -EINVAL when the envelope is malformed (err says which).
 */
int dsse_verify(const json_t *envelope, const char *type, const uint8_t pub[DSSE_PUBKEY_LEN],
                struct buf *payload, struct ca_error *err) CA_MUST_CHECK;

/* Parses a public key given as 64 hex digits (surrounding whitespace allowed). */
int dsse_parse_public(const char *text, uint8_t pub[DSSE_PUBKEY_LEN]) CA_MUST_CHECK;
