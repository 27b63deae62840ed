/* SPDX-License-Identifier: MIT */
/* CLOCK_MONOTONIC in milliseconds (and microseconds): deadlines and durations, never wall time;
 * and wall time in milliseconds, for what vendors stamp with it (token expiries). */
#pragma once

#include <stdint.h>
#include <time.h>

static inline int64_t clock_monotonic_ms(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until the monotonic `deadline` (0 once it passed), at most `cap`: a poll
 * timeout. */
static inline int clock_left_ms(int64_t deadline, int cap)
{
        int64_t left = deadline - clock_monotonic_ms();

        return left < 0 ? 0 : left > cap ? cap : (int) left;
}

/* The same in microseconds: timings reported to the millisecond's fraction. */
static inline int64_t clock_monotonic_us(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* CLOCK_REALTIME in milliseconds since the epoch: only to compare with expiries others set. */
static inline int64_t clock_realtime_ms(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
