/* SPDX-License-Identifier: MIT */
/*
 * Secret bytes in libsodium's guarded memory (guard pages, canary, mlock). sodium_free zeroes
 * them. Never log, print or put a secret in argv, the environment or an error message.
 *
 * A secret that fits in one guarded page (most do: a token, a key) lives in a page from a small
 * per-process pool: the struct at its start, the bytes at its end, against the guard page. A
 * freed secret's page is zeroed and kept (still guarded, locked and out of core dumps) for the
 * next one, so a daemon that hands out secrets all day does not map, lock, protect and unmap
 * two regions for each (each mprotect/munmap is a TLB shootdown across CPUs).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

struct ca_error;

struct ca_secret {
        unsigned char *buf; /* guarded memory; len bytes plus a NUL for convenience */
        size_t len;
        void *slot; /* private: the guarded page this secret lives in, when it came from the pool */
};

/* Largest secret accepted anywhere (a credentials JSON file fits comfortably). */
#define SECRET_MAX_LEN ((size_t) 64 << 10)

/* Allocates `len` zeroed bytes (+1 NUL). Returns NULL on OOM. */
struct ca_secret *secret_new(size_t len);

/* Copies `len` bytes into a new secret. Returns NULL on OOM. */
struct ca_secret *secret_new_from(const void *data, size_t len);

/*
 * Reads everything from `fd` (at most SECRET_MAX_LEN bytes) straight into guarded memory.
 * With `strip_newline`, one trailing "\n" (or "\r\n") is dropped, as typed on a terminal.
 */
int secret_read_fd(int fd, bool strip_newline, struct ca_secret **ret,
                   struct ca_error *err) CA_MUST_CHECK;

/* Zeroes and frees. NULL-safe; returns NULL. */
struct ca_secret *secret_free(struct ca_secret *s);

/* Constant-time equality of two secrets (lengths are not secret). */
bool secret_equal(const struct ca_secret *a, const struct ca_secret *b);

/*
 * For a process that will hold secrets (CONVENTIONS "Memory and cleanup"): no core dump
 * (RLIMIT_CORE 0) and not dumpable (no ptrace or /proc/<pid>/mem by its own UID; set again after
 * any credential change, which resets it). With `leave_cwd`, the working directory becomes "/":
 * a process started in the workspace would otherwise keep it, and a relative core pattern (the
 * kernel's default, "core") writes there. Returns 0 or the first failure's negative errno.
 */
int secret_protect_process(bool leave_cwd) CA_MUST_CHECK;

static inline void secret_freep(struct ca_secret **s)
{
        secret_free(*s);
}
#define _cleanup_secret_ __attribute__((cleanup(secret_freep)))
