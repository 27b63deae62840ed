/* SPDX-License-Identifier: MIT */
/* Helpers shared by the benchmark programs. */
#pragma once

#include <time.h>

static inline double bench_now(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* qsort comparator for doubles (medians and percentiles). */
static inline int bench_cmp_double(const void *a, const void *b)
{
        double x = *(const double *) a;
        double y = *(const double *) b;

        return (x > y) - (x < y);
}
