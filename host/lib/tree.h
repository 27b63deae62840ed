/* SPDX-License-Identifier: MIT */
/* Listing a directory tree: every entry below a directory, sorted by relative path, without
 * following symlinks (they are reported as TREE_OTHER, like FIFOs and devices). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "macro.h"

struct ca_error;

enum tree_kind {
        TREE_FILE,
        TREE_DIR,
        TREE_OTHER,
};

struct tree_item {
        char *path; /* relative to the listed directory */
        enum tree_kind kind;
        bool exec;  /* any execute bit */
        off_t size;
};

struct tree {
        struct tree_item *items;
        size_t n;
};

/* Lists everything under `dir` (not `dir` itself), at most `max` entries (-EFBIG beyond). */
int tree_list(const char *dir, size_t max, struct tree *out, struct ca_error *err) CA_MUST_CHECK;
void tree_clear(struct tree *t);
