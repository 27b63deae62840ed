/* SPDX-License-Identifier: MIT */
/*
 * Aggregation of repeated events (issue 17): anything a UID inside a session can cause over and
 * over (a helper's denials and limits, the broker's refusals, the proxy's denials) would
 * otherwise be one event each, and could fill the host's disk through the event log. Per key
 * (type and reason, chosen by the caller), the first `burst` occurrences in an interval are
 * recorded at once; the rest are counted, and the next one recorded after the interval (or a
 * flush) carries how many were not: `"suppressed": N, "interval_s": S`. So the log grows by at
 * most (burst + 1) events per key and interval, whatever the rate.
 *
 * At most EVENTAGG_KEYS keys are tracked; a new key beyond that takes the place of the least
 * recently seen one, whose pending count goes to the `evicted` callback first (nothing counted
 * is lost). Not thread-safe: callers serialise.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVENTAGG_KEYS 64
#define EVENTAGG_KEY_MAX 96

struct eventagg_entry {
        char key[EVENTAGG_KEY_MAX];
        uint64_t window_start_ms; /* when the last recorded occurrence was */
        uint64_t last_ms;         /* the latest occurrence */
        uint64_t suppressed;      /* counted since then */
        unsigned recorded;        /* recorded in this interval */
};

typedef void (*eventagg_cb)(const char *key, uint64_t suppressed, void *userdata);

struct eventagg {
        uint64_t interval_ms;
        unsigned burst;
        eventagg_cb evicted; /* may be NULL */
        void *userdata;
        struct eventagg_entry e[EVENTAGG_KEYS];
        size_t n;
};

/*
 * Starts an aggregator: `burst` (at least 1) recorded events per key and `interval_ms` (at
 * least 1). `evicted` (may be NULL) receives the pending count of a key pushed out by a new one.
 */
void eventagg_init(struct eventagg *a, uint64_t interval_ms, unsigned burst, eventagg_cb evicted,
                   void *userdata);

/*
 * One occurrence of `key` at `now_ms` (a monotonic clock). True when it is to be recorded now,
 * with *ret_suppressed the count of the key's occurrences not recorded before it (0 for a first
 * one); false when it is only counted.
 */
bool eventagg_admit(struct eventagg *a, const char *key, uint64_t now_ms, uint64_t *ret_suppressed);

/*
 * Calls `cb` for each key with a pending count (and, with `all`, for every key whose interval
 * has passed too, so that it is forgotten): for a periodic or final flush. The counts are reset.
 */
void eventagg_flush(struct eventagg *a, uint64_t now_ms, bool all, eventagg_cb cb,
                    void *userdata);
