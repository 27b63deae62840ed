/* SPDX-License-Identifier: MIT */
/*
 * The capability-use journal of the ledger (ledger.h): one append-only file of fixed 64-byte
 * records, "use <capability id, hex> <use number> <check>\n", written into space that was
 * allocated *and written* beforehand (zeros, made durable once per 64 KB), so that making a
 * claim durable is one pwrite and one fdatasync with no metadata to journal. Several claims
 * share the one flush (group commit): the broker gathers the redemptions that arrived together.
 *
 * Reading it back: records up to the first all-zero slot; a slot whose check does not match is
 * a write cut short by a crash, whose secret was never released (release follows the flush), so
 * it and everything after it is free space again. The counts live in memory: one writer, the
 * daemon holding the broker lock.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capability.h"
#include "macro.h"

struct ca_error;
struct uselog;

#define USELOG_RECORD 64
#define USELOG_CHUNK ((size_t) 64 << 10)
/* Claims one uselog_claim call takes at most. */
#define USELOG_MAX_BATCH 256

/* Opens (creating, 0600) `name` in the directory `dirfd` and reads it. */
int uselog_open(int dirfd, const char *name, struct uselog **ret,
                struct ca_error *err) CA_MUST_CHECK;
struct uselog *uselog_close(struct uselog *u);

/* Uses of `id` recorded so far. */
unsigned uselog_count(const struct uselog *u, const uint8_t id[CAP_ID_LEN]);

/* Raises the count of `id` to at least `n` without writing (older ledgers' use files). */
int uselog_note(struct uselog *u, const uint8_t id[CAP_ID_LEN], unsigned n) CA_MUST_CHECK;

struct uselog_claim {
        uint8_t id[CAP_ID_LEN];
        uint16_t max_uses;
        int result; /* out: the use number (>= 1), -EALREADY, or -errno */
};

/*
 * Claims one use for each of `n` requests (the same id may appear more than once): the records
 * of those with a use left are written together and made durable with one fdatasync before this
 * returns. Returns 0 when the journal was written (each claim's `result` says how it went), or
 * -errno when it could not be: then no claim holds and every result is that error.
 */
int uselog_claim(struct uselog *u, struct uselog_claim *c, size_t n,
                 struct ca_error *err) CA_MUST_CHECK;
