/* SPDX-License-Identifier: MIT */
/*
 * The broker's sealed secret store, <config root>/broker.d/:
 *
 *   master.key     32 random bytes, 0600
 *   secrets.json   {"version":1,"key_id":"<hex>","secrets":{"NAME":{"sealed":"<base64>",
 *                   "size":N,"created":"<ts>","updated":"<ts>"}}}, 0600
 *   lock           flock()ed by every operation, so CLI and daemon never race
 *
 * Each value is sealed with XChaCha20-Poly1305 (libsodium) under a subkey of the master key,
 * with the secret's name as associated data (a sealed value cannot be moved to another name).
 * key_id is a keyed hash identifying the master key that sealed the file. Plaintext never
 * touches the disk; decrypted values exist only in guarded memory (struct ca_secret).
 *
 * Crash safety: every write is atomic (O_EXCL temp, fsync, rename, fsync dir). Rotating the
 * master key writes master.key.next, then secrets.json resealed under it, then renames
 * master.key.next over master.key; opening the store completes or discards an interrupted
 * rotation by matching key_id, so a crash at any point leaves the old or the new state.
 *
 * The directory must be owned by the caller and closed to group and others (0700); the store
 * refuses to run otherwise.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "capability.h"
#include "json.h"
#include "macro.h"

struct ca_error;
struct ca_secret;
struct store;

#define STORE_KEY_LEN 32
#define STORE_MAX_SECRETS 1024

/*
 * Opens the store in `dir` (created 0700 with its parents when `create` is set). Checks
 * ownership and mode, loads the master key (creating one in a new store) and repairs an
 * interrupted rotation. Errors: -EPERM for a directory others can reach or that belongs to
 * someone else, -ENOENT for a missing store without `create`, -EBADMSG for an inconsistent one.
 */
int store_open(const char *dir, bool create, struct store **ret, struct ca_error *err) CA_MUST_CHECK;

/* Zeroes the key and frees. NULL-safe; returns NULL. */
struct store *store_close(struct store *st);

/* True for names the store accepts: secret names as in config (letters, digits, '_'). */
bool store_valid_name(const char *name);

/* Seals and saves `value` under `name`, replacing an old value. Returns 0 when written, 1 when
 * `name` already held this very value (nothing written). */
int store_put(struct store *st, const char *name, const struct ca_secret *value,
              struct ca_error *err) CA_MUST_CHECK;

/* Decrypts `name` into guarded memory. -ENOENT when absent, -EBADMSG when tampered with. */
int store_get(struct store *st, const char *name, struct ca_secret **ret,
              struct ca_error *err) CA_MUST_CHECK;

/* Removes `name`. -ENOENT when absent. */
int store_remove(struct store *st, const char *name, struct ca_error *err) CA_MUST_CHECK;

/* Names and metadata (never values): a JSON array of {name, size, created, updated}. */
int store_list(struct store *st, json_t **ret, struct ca_error *err) CA_MUST_CHECK;

/* Replaces the master key and reseals every secret, crash-safely (see above). */
int store_rotate_master(struct store *st, struct ca_error *err) CA_MUST_CHECK;

/*
 * The broker's keys for capability `cap`, derived here from the current master key (re-read
 * under the lock, so a rotation by another process is seen), which never leaves this module:
 * the session's MAC key (capability_mac_key) into `mac` and the capability's proof key
 * (capability_proof_key) into `proof`. The caller wipes both with sodium_memzero.
 */
int store_capability_keys(struct store *st, const struct capability *cap,
                          uint8_t mac[CAP_KEY_LEN], uint8_t proof[CAP_KEY_LEN],
                          struct ca_error *err) CA_MUST_CHECK;

/* The store directory's fd (O_PATH-free, O_DIRECTORY) for siblings such as the ledger. */
int store_dirfd(const struct store *st);

static inline void store_closep(struct store **st)
{
        store_close(*st);
}
#define _cleanup_store_ __attribute__((cleanup(store_closep)))
