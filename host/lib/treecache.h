/* SPDX-License-Identifier: MIT */
/*
 * The development profile's source-tree measurement (git ls-tree + git status of the trusted
 * directories), kept between commands while nothing it covers has changed: four git processes
 * cost a render ten times its own work.
 *
 * The key is a SHA-256 over the stat data (type, mode, size, inode, mtime and ctime in ns) of
 * every entry under the measured directories, walked without following links, and of the
 * repository files git's answer depends on (.git/HEAD, the branch ref it names, packed-refs,
 * index, config, info/exclude). Any edit, new or removed file, commit, checkout or index change
 * changes the key. An entry changed less than TREECACHE_RACY_SECONDS before the measurement is
 * not trusted to show a later change within the same timestamp tick: then nothing is stored
 * (git's "racy" entries, handled the conservative way).
 */
#pragma once

#include <stddef.h>
#include <time.h>

#include "json.h"
#include "macro.h"

#define TREECACHE_RACY_SECONDS 2

struct treecache_key {
        char hex[65];
        int racy; /* an entry is too recent to be trusted: do not store */
};

/* The key of `src` and its directories `dirs`, racy when an entry changed less than
 * TREECACHE_RACY_SECONDS before `now` (time(NULL); tests pass another). -errno when the tree
 * cannot be walked. */
int treecache_key(const char *src, const char *const *dirs, size_t ndirs, time_t now,
                  struct treecache_key *out) CA_MUST_CHECK;

/*
 * The stored measurement of `src` when `cache_file` holds one under `key`: 1 with *tree and
 * *dirty set (new references), 0 when there is none (missing, other key, unreadable).
 */
int treecache_load(const char *cache_file, const char *src, const struct treecache_key *key,
                   json_t **tree, json_t **dirty);

/* Stores the measurement (atomically, 0600), unless the key is racy. Best effort. */
void treecache_store(const char *cache_file, const char *src, const struct treecache_key *key,
                     const json_t *tree, const json_t *dirty);
