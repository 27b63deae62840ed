/* SPDX-License-Identifier: MIT */
/*
 * Release signatures: Ed25519 (libsodium) in minisign's file formats, so Debian's `minisign -V`
 * verifies what we sign and we verify what minisign signs.
 *
 *   public key   "untrusted comment: ...\n" base64("Ed" || key id (8) || public key (32))
 *   signature    "untrusted comment: ...\n" base64("ED" || key id || Ed25519(BLAKE2b-512(file)))
 *                "trusted comment: <text>\n" base64(Ed25519(signature || <text>))
 *
 * The secret key is our own format (minisign's is scrypt-encrypted): "untrusted comment" and
 * base64("CA" || key id || Ed25519 secret key (64)), written 0600 with O_EXCL. Keep it offline.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

struct ca_error;

#define SIGN_KEYID_LEN 8
#define SIGN_COMMENT_MAX 1024

/* Writes a new key pair: `pub_path` (minisign public key) and `sec_path` (0600, must not
 * exist). */
int sign_keygen(const char *pub_path, const char *sec_path, struct ca_error *err) CA_MUST_CHECK;

/*
 * Signs `file` with the secret key at `sec_path` into `sig_path` (minisign format, prehashed
 * "ED"), with `trusted_comment` (one line, no control characters) signed too.
 */
int sign_file(const char *sec_path, const char *file, const char *trusted_comment,
              const char *sig_path, struct ca_error *err) CA_MUST_CHECK;

/*
 * Verifies `file` against `sig_path` and the public key at `pub_path`: key ids, the file
 * signature and the trusted-comment signature. Returns 0 and the trusted comment (malloc'd)
 * in *ret_comment when non-NULL; -EBADMSG (bad signature), -EINVAL (malformed) otherwise.
 */
int sign_verify(const char *pub_path, const char *file, const char *sig_path, char **ret_comment,
                struct ca_error *err) CA_MUST_CHECK;

/* The key id of the minisign public key at `pub_path`, as minisign prints it (16 upper-case hex
 * digits). -EINVAL when the file is not a public key. */
int sign_key_id(const char *pub_path, char out[2 * SIGN_KEYID_LEN + 1],
                struct ca_error *err) CA_MUST_CHECK;

/* BLAKE2b-512 of a file, as minisign prehashes it. */
int sign_hash_file(const char *file, uint8_t out[64], struct ca_error *err) CA_MUST_CHECK;
