/* SPDX-License-Identifier: MIT */
/*
 * SHA256SUMS: the canonical manifest of a release directory, `sha256sum -c` compatible:
 *
 *   <64 lower-case hex digits><two spaces><relative path>\n     sorted by path (byte order)
 *
 * Paths are relative, without "." or ".." components, empty components, backslashes or
 * control characters. Verification opens every file beneath the release directory with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so a symlink or a path cannot lead outside
 * it, and hashes the files largest first: on one thread below 16 MB in all (a second thread
 * would cost more than it saves), else on up to one thread per core.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "digest.h"
#include "macro.h"

struct ca_error;

#define SUMS_FILE "SHA256SUMS"
#define SUMS_MAX_ENTRIES 100000
#define SUMS_PATH_MAX 1024

struct sums_entry {
        char *path;
        uint8_t sha256[DIGEST_SHA256_LEN];
};

struct sums {
        struct sums_entry *e;
        size_t n;
};

/* Parses `len` bytes (strict: canonical order, no duplicates, no bad paths). -EINVAL with
 * "SHA256SUMS:<line>: reason" on malformed input. */
int sums_parse(const char *data, size_t len, struct sums *out, struct ca_error *err) CA_MUST_CHECK;
void sums_clear(struct sums *s);

/* True for a path SHA256SUMS may name. */
bool sums_valid_path(const char *p);

enum sums_problem {
        SUMS_MISMATCH,
        SUMS_MISSING,   /* listed, absent (or not a regular file, or behind a symlink) */
        SUMS_UNLISTED,  /* present, not listed */
};

struct sums_report {
        size_t checked;
        size_t problems;
        struct buf text; /* one line per problem: "<kind>: <path>" */
};

/*
 * Verifies the directory `dir` against its SHA256SUMS with `threads` workers (0: one per
 * online core). Returns 0 when everything matches and nothing is unlisted, 1 when problems
 * were found (listed in `rep`), negative on errors reading SHA256SUMS itself.
 */
int sums_verify_dir(const char *dir, unsigned threads, struct sums_report *rep,
                    struct ca_error *err) CA_MUST_CHECK;
void sums_report_clear(struct sums_report *rep);

/* Writes a canonical SHA256SUMS for every regular file under `dir` (except SHA256SUMS
 * itself and names in `skip`). Symlinks and other file types are refused. */
int sums_write_dir(const char *dir, const char *const *skip, size_t nskip,
                   struct ca_error *err) CA_MUST_CHECK;
