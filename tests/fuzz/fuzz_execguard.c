/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the exec supervisor's path handling (container/lib/execguard): any path
 * a caller's memory may hold, with any descriptor and flags, becomes a path to open that names
 * the caller's own files (never "/proc/self" of the supervisor) or is refused; the verdict is
 * one of the three; a path with "/../" or that merely starts like a listed one is never routed.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "execguard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char out[256], name[72];
        char *s;
        int dirfd, flags;
        enum guard_verdict v;

        if (size < 2)
                return 0;
        dirfd = (int) (int8_t) data[0];
        flags = (data[1] & 1) ? AT_EMPTY_PATH : 0;
        s = malloc(size - 1);
        if (!s)
                return 0;
        memcpy(s, data + 2, size - 2);
        s[size - 2] = '\0';
        if (guard_target(42, (data[1] & 2) != 0, dirfd == -1 ? AT_FDCWD : dirfd, s, flags, out,
                         sizeof(out)) == 0) {
                if ((strncmp(out, "/proc/self", 10) == 0 && (out[10] == '/' || !out[10])) ||
                    (strncmp(out, "/proc/thread-self", 17) == 0 && (out[17] == '/' || !out[17])))
                        abort();
                if (s[0] != '/' && strncmp(out, "/proc/42/", 9) != 0)
                        abort();
        }
        v = guard_decide(s);
        if (v != GUARD_ALLOW && v != GUARD_ROUTE && v != GUARD_DENY)
                abort();
        if (v == GUARD_ROUTE && strcmp(s, "/usr/bin/bash") != 0 && strcmp(s, "/usr/bin/dash") != 0)
                abort();
        if (v != GUARD_DENY && strstr(s, "/../"))
                abort();
        guard_program_name(s, name, sizeof(name));
        if (strlen(name) > 64)
                abort();
        free(s);
        return 0;
}
