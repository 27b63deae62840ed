/* SPDX-License-Identifier: MIT */
/* The Sigstore conformance suite's cases (CA_SIGSTORE_CONFORMANCE/bundle-verify/<case>/), for
 * the unit tests that walk them. */
#pragma once

#include <dirent.h>
#include <unistd.h>

#include "testutil.h"

typedef void sigcase_fn(const char *name, const char *path, void *ctx);

/* Calls fn(case name, path of its `file`, ctx) for each case that has `file`, in name order;
 * returns how many did. A missing suite fails the test. */
static inline size_t sigcases_each(const char *file, sigcase_fn *fn, void *ctx)
{
        const char *dir = getenv("CA_SIGSTORE_CONFORMANCE");
        struct dirent **list = NULL;
        char path[4096];
        size_t n = 0;
        int count;

        assert_non_null(dir);
        (void) snprintf(path, sizeof(path), "%s/bundle-verify", dir);
        count = scandir(path, &list, NULL, alphasort);
        if (count < 0) {
                print_error("cannot open %s: the conformance suite is missing\n", path);
                fail();
                return 0;
        }
        for (int i = 0; i < count; i++) {
                (void) snprintf(path, sizeof(path), "%s/bundle-verify/%s/%s", dir,
                                list[i]->d_name, file);
                if (list[i]->d_name[0] != '.' && access(path, F_OK) == 0) {
                        fn(list[i]->d_name, path, ctx);
                        n++;
                }
                free(list[i]);
        }
        free(list);
        return n;
}
