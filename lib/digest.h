/* SPDX-License-Identifier: MIT */
/* SHA-256, our own (digest.c): on the CPU's SHA extensions where it has them, else portable C.
 * No OpenSSL: programs that hash need not map libcrypto. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define DIGEST_SHA256_LEN 32
#define DIGEST_SHA256_HEX_LEN 64

struct ca_error;
struct digest_ctx;

/* One-shot SHA-256 of `len` bytes. Returns 0 (kept fallible for the callers' checks). */
int digest_sha256(const void *data, size_t len, uint8_t out[DIGEST_SHA256_LEN]) CA_MUST_CHECK;

/* Streaming SHA-256. digest_new returns NULL on OOM; digest_final frees the context. */
struct digest_ctx *digest_sha256_new(void);
int digest_update(struct digest_ctx *ctx, const void *data, size_t len) CA_MUST_CHECK;
int digest_final(struct digest_ctx *ctx, uint8_t out[DIGEST_SHA256_LEN]) CA_MUST_CHECK;
struct digest_ctx *digest_free(struct digest_ctx *ctx);

/* "sha-ni" or "portable": which compression function this process uses. */
const char *digest_sha256_impl(void);

/* Tests and benchmarks: true forces the portable path, false goes back to the best one. */
void digest_sha256_use_portable(bool on);

/* Lower-case hex of `len` bytes into `out` (2*len+1 bytes, NUL-terminated). */
void digest_hex(const uint8_t *in, size_t len, char *out);

/* SHA-256 of the file at `path` as lower-case hex (65 bytes with the NUL), read in chunks. */
int digest_file_hex(const char *path, char out[DIGEST_SHA256_HEX_LEN + 1],
                    struct ca_error *err) CA_MUST_CHECK;
