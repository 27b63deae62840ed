/* SPDX-License-Identifier: MIT */
/*
 * Reproducible image layers and image archives (`coding-agents image build`), through
 * libarchive like bundle.c.
 *
 * A layer is an uncompressed tar of a directory tree: entries in byte order of their names,
 * each directory before what it holds; numeric owners only (no user or group names); mtimes
 * clamped to an epoch (SOURCE_DATE_EPOCH), or all set to it; no atime, ctime, extended attributes or ACLs; no
 * setuid or setgid bit on any file; hard links within the tree kept as links, the first name
 * in that order being the file. The same tree and options always give the same bytes, so the
 * same diff_id.
 *
 * An image archive is what the engine's POST /images/load reads (docker-archive): the layers
 * and the config as blobs/sha256/<hex>, and manifest.json naming them and the image's tag.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "macro.h"

struct archive;
struct ca_error;

struct layer_opts {
        int64_t epoch;             /* mtimes later than this are written as this */
        /* Every mtime written as the epoch: for what we stage ourselves, whose times say only
         * when a cache was filled (kept across epochs, a cache made before this one would
         * otherwise keep its times where a fresh build clamps them: another image id). */
        bool fixed_mtime;
        bool no_group_other_write; /* 022 cleared on everything (what we add to the image) */
        bool sync;                 /* on disk before it is renamed into place (one to keep) */
        /* Patterns (fnmatch, FNM_PATHNAME) of relative paths left out, a directory with all it
         * holds: the entries of dev (the engine makes its own), apt's lists. NULL-terminated;
         * may be NULL. */
        const char *const *drop;
        /* Relative paths of regular files written empty (host-specific content). May be NULL. */
        const char *const *empty;
};

struct layer_info {
        uint8_t diff_id[DIGEST_SHA256_LEN]; /* SHA-256 of the tar's bytes */
        uint64_t size;
};

/* Writes the layer of the tree under `root` to `out` (created 0600, replaced). */
int layer_write(const char *root, const char *out, const struct layer_opts *o,
                struct layer_info *info, struct ca_error *err) CA_MUST_CHECK;

/* SHA-256 and size of an existing layer file (a cached one). */
int layer_measure(const char *path, struct layer_info *info, struct ca_error *err) CA_MUST_CHECK;

/*
 * Writes the image archive `out` (a file to load and remove: not synced): the `n` layer files (bottom first, `infos` their digests),
 * the config bytes, and a manifest.json tagging the image `tag` ("repo:tag").
 */
int layer_archive_write(const char *out, const char *const *layers,
                        const struct layer_info *infos, size_t n, const char *config,
                        size_t config_len, const char *tag, int64_t epoch,
                        struct ca_error *err) CA_MUST_CHECK;

/* libarchive's last error on `a` as err ("WHAT: reason"), for every archive writer here (this
 * one and bundle.c); returns its -errno. */
int layer_archive_fail(struct archive *a, struct ca_error *err, const char *what);
