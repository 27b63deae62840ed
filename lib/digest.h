/* SPDX-License-Identifier: MIT */
/* SHA-256 through OpenSSL EVP (uses SHA-NI where the CPU has it). The only module that includes
 * OpenSSL's digest headers. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define DIGEST_SHA256_LEN 32
#define DIGEST_SHA256_HEX_LEN 64

struct ca_error;
struct digest_ctx;

/* One-shot SHA-256 of `len` bytes. Returns 0 or -EIO (OpenSSL failure). */
int digest_sha256(const void *data, size_t len, uint8_t out[DIGEST_SHA256_LEN]) CA_MUST_CHECK;

/* Streaming SHA-256. digest_new returns NULL on OOM; digest_final frees the context. */
struct digest_ctx *digest_sha256_new(void);
int digest_update(struct digest_ctx *ctx, const void *data, size_t len) CA_MUST_CHECK;
int digest_final(struct digest_ctx *ctx, uint8_t out[DIGEST_SHA256_LEN]) CA_MUST_CHECK;
struct digest_ctx *digest_free(struct digest_ctx *ctx);

/* Lower-case hex of `len` bytes into `out` (2*len+1 bytes, NUL-terminated). */
void digest_hex(const uint8_t *in, size_t len, char *out);

/* SHA-256 of the file at `path` as lower-case hex (65 bytes with the NUL), read in chunks. */
int digest_file_hex(const char *path, char out[DIGEST_SHA256_HEX_LEN + 1],
                    struct ca_error *err) CA_MUST_CHECK;
