/* SPDX-License-Identifier: MIT */
/*
 * Bounded reads and crash-safe writes. Every fd opened here is O_CLOEXEC.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "macro.h"

struct buf;
struct ca_error;

/*
 * Appends everything readable from `fd` to `out`, failing with -EFBIG when more than `max`
 * bytes arrive (the excess is not kept). Does not close `fd`.
 */
int fileio_read_fd(int fd, size_t max, struct buf *out, struct ca_error *err) CA_MUST_CHECK;

/* Reads the regular file at `path` (refusing directories and FIFOs) into `out`, at most `max`
 * bytes. "-" means standard input. Errors name the path. */
int fileio_read_path(const char *path, size_t max, struct buf *out,
                     struct ca_error *err) CA_MUST_CHECK;

/* Writes all of `data`, looping over short writes and EINTR. Returns 0 or -errno. */
int fileio_write_all(int fd, const void *data, size_t len) CA_MUST_CHECK;

/*
 * Replaces `path` atomically: O_EXCL temp file in the same directory, write, fsync, rename,
 * fsync of the directory. A crash leaves either the old or the new content, never a mix, and
 * never a stray temp file that a later call would trip over (temp names are random).
 */
int fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                        struct ca_error *err) CA_MUST_CHECK;

/* Like fileio_write_atomic, for `name` (no '/') inside the directory `dirfd`. */
int fileio_write_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                           struct ca_error *err) CA_MUST_CHECK;

/* Creates `path` and missing parents with `mode` (existing directories are left as they are). */
int fileio_mkdir_p(const char *path, mode_t mode, struct ca_error *err) CA_MUST_CHECK;

struct fileio_entry {
        const char *name; /* "file" or "subdir/file" (one level) */
        const void *data;
        size_t len;
};

/*
 * Publishes a new directory `dir` holding `entries`: `dir` must not exist or be an empty
 * directory; the files are written into a temporary sibling (files `file_mode`, directories
 * `dir_mode`) that is renamed into place at the end, so a failure leaves nothing behind.
 */
int fileio_publish_dir(const char *dir, const struct fileio_entry *entries, size_t n,
                       mode_t file_mode, mode_t dir_mode, struct ca_error *err) CA_MUST_CHECK;

/*
 * Removes `path` and everything below it without following symbolic links or crossing into
 * other file systems. A missing path is success. Returns 0 or a negative errno (the first
 * failure; it goes on removing what it can).
 */
int fileio_remove_tree(const char *path, struct ca_error *err) CA_MUST_CHECK;
