/* SPDX-License-Identifier: MIT */
/*
 * Reproducible release tarballs through libarchive (as layer.c does image layers): every
 * regular file and directory under a staging directory, under one top directory, in sorted
 * order, with the same mtime (SOURCE_DATE_EPOCH), uid/gid 0 and names "root", modes
 * normalised (0755 for directories and executables, 0644 otherwise), no atime/ctime, and a
 * gzip stream without a timestamp. The same staged files always give the same bytes.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

struct ca_error;

/*
 * Writes `out` (atomically: a temporary file renamed into place) from the files under
 * `stage`, each stored as "<top>/<relative path>". Symlinks and other file types are refused.
 */
int bundle_write(const char *stage, const char *top, int64_t mtime, const char *out,
                 struct ca_error *err) CA_MUST_CHECK;

/*
 * Unpacks `tarball` into the directory `dest` (which must exist and be empty). Every entry must
 * lie under one top directory (its name stored in `ret_top`), be a regular file or directory,
 * and have a path without "..", absolute or empty components: anything else (links, devices,
 * traversal) is refused with -EPERM and a message naming the entry. Files become 0444 (0555
 * when executable), directories 0755, owned by the caller; the top directory's content lands
 * directly in `dest`.
 */
int bundle_extract(const char *tarball, const char *dest, char *ret_top, size_t toplen,
                   struct ca_error *err) CA_MUST_CHECK;
