/* SPDX-License-Identifier: MIT */
/*
 * The broker's server-side record of capabilities, in <broker dir>/ledger/:
 *
 *   caps/<id>.json        what was issued, and to whom (uid, cgroup): written before the
 *                         capability leaves the broker, so only issued ids are ever honoured
 *   uses.log              the use journal (uselog.h): use n of a capability is a record made
 *                         durable (one fdatasync, shared by the claims that arrived together)
 *                         *before* a secret is released: two redeemers of one capability can
 *                         never both succeed, across daemon restarts (the daemon's lock makes
 *                         it the journal's one writer)
 *   uses/<id>.<n>         uses recorded by earlier versions (one file each), read at open
 *   revoked/<id>          a revoked capability
 *   revoked-sessions/<s>  a revoked session (`coding-agents kill`)
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "capability.h"
#include "json.h"
#include "macro.h"
#include "uselog.h"

struct ca_error;
struct ledger;

#define LEDGER_CGROUP_MAX 1024

struct ledger_entry {
        struct capability cap;
        uint32_t uid;
        bool has_cgroup;
        char cgroup[LEDGER_CGROUP_MAX + 1];
};

/* Opens (creating, 0700) the ledger under the store directory `store_dirfd`. */
int ledger_open(int store_dirfd, struct ledger **ret, struct ca_error *err) CA_MUST_CHECK;
struct ledger *ledger_close(struct ledger *l);

/* Records an issued capability durably. */
int ledger_record(struct ledger *l, const struct ledger_entry *e, struct ca_error *err) CA_MUST_CHECK;

/* Loads the record of `id`: 0, or -ENOENT when this broker never issued it. */
int ledger_lookup(struct ledger *l, const uint8_t id[CAP_ID_LEN], struct ledger_entry *out,
                  struct ca_error *err) CA_MUST_CHECK;

/*
 * Claims one use of `id` (of at most `max_uses`), durably. Returns the use number (>= 1), or
 * -EALREADY when every use is taken.
 */
int ledger_claim_use(struct ledger *l, const uint8_t id[CAP_ID_LEN], uint16_t max_uses,
                     struct ca_error *err) CA_MUST_CHECK;

/* Claims one use for each of `n` requests with one durable write (uselog_claim). */
int ledger_claim_uses(struct ledger *l, struct uselog_claim *c, size_t n,
                      struct ca_error *err) CA_MUST_CHECK;

/* Uses claimed so far (0 .. max_uses). */
unsigned ledger_uses(struct ledger *l, const uint8_t id[CAP_ID_LEN], uint16_t max_uses);

bool ledger_is_revoked(struct ledger *l, const uint8_t id[CAP_ID_LEN], const char *session);
int ledger_revoke_cap(struct ledger *l, const uint8_t id[CAP_ID_LEN],
                      struct ca_error *err) CA_MUST_CHECK;
int ledger_revoke_session(struct ledger *l, const char *session,
                          struct ca_error *err) CA_MUST_CHECK;

/*
 * Calls `cb` for every recorded capability (any order). A non-zero return from `cb` stops the
 * walk and is returned.
 */
int ledger_foreach(struct ledger *l, int (*cb)(const struct ledger_entry *e, void *userdata),
                   void *userdata, struct ca_error *err) CA_MUST_CHECK;
