/* SPDX-License-Identifier: MIT */
/*
 * Scope-bound cleanup (systemd/bubblewrap style). Initialise every cleanup variable where it is
 * declared (NULL or -1). Move ownership out with take_ptr()/take_fd().
 */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_freep(void *p)
{
        free(*(void **) p);
}

static inline void cleanup_closep(const int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                (void) close(*fd);
                errno = saved;
        }
}

static inline void cleanup_fclosep(FILE **f)
{
        if (*f)
                (void) fclose(*f);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(cleanup_freep)
#define _cleanup_close_ _cleanup_(cleanup_closep)
#define _cleanup_fclose_ _cleanup_(cleanup_fclosep)

/* Returns *p and sets it to NULL: the caller now owns the pointer. */
static inline void *take_ptr_impl(void **p)
{
        void *v = *p;
        *p = NULL;
        return v;
}
#define take_ptr(p) ((__typeof__(*(p))) take_ptr_impl((void **) (p)))

/* Returns *fd and sets it to -1: the caller now owns the descriptor. */
static inline int take_fd(int *fd)
{
        int v = *fd;
        *fd = -1;
        return v;
}
