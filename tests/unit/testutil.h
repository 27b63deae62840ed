/* SPDX-License-Identifier: MIT */
/* Shared includes and helpers for the cmocka unit tests. */
#pragma once

/* cmocka needs these before its own header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Creates a fresh private directory under /tmp; the caller removes it with rm_rf(). */
static inline char *make_tmpdir(void)
{
        char tmpl[] = "/tmp/ca-unit.XXXXXX";
        char *d = mkdtemp(tmpl);

        assert_non_null(d);
        return strdup(d);
}

/* Removes a test directory tree (test code only: paths come from make_tmpdir()). */
#include <ftw.h>
#include <unistd.h>

static inline int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void) st;
        (void) flag;
        (void) ftw;
        return remove(path);
}

static inline void rm_rf(char *dir)
{
        if (dir) {
                (void) nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
                free(dir);
        }
}

/* Writes `s` to `path` (test fixture files). */
static inline void write_file(const char *path, const char *s)
{
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        assert_int_equal(fwrite(s, 1, strlen(s), f), strlen(s));
        assert_int_equal(fclose(f), 0);
}
