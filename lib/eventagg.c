/* SPDX-License-Identifier: MIT */
/* Repeated events, aggregated (eventagg.h). */
#include "eventagg.h"

#include <stdio.h>
#include <string.h>

void eventagg_init(struct eventagg *a, uint64_t interval_ms, unsigned burst, eventagg_cb evicted,
                   void *userdata)
{
        memset(a, 0, sizeof(*a));
        a->interval_ms = interval_ms ? interval_ms : 1;
        a->burst = burst ? burst : 1;
        a->evicted = evicted;
        a->userdata = userdata;
}

static struct eventagg_entry *find(struct eventagg *a, const char *key)
{
        for (size_t i = 0; i < a->n; i++) {
                if (strncmp(a->e[i].key, key, EVENTAGG_KEY_MAX - 1) == 0)
                        return &a->e[i];
        }
        return NULL;
}

bool eventagg_admit(struct eventagg *a, const char *key, uint64_t now_ms, uint64_t *ret_suppressed)
{
        struct eventagg_entry *e = find(a, key);

        *ret_suppressed = 0;
        if (!e) {
                if (a->n < EVENTAGG_KEYS) {
                        e = &a->e[a->n++];
                } else {
                        /* The least recently seen key makes room; its count is reported. */
                        e = &a->e[0];
                        for (size_t i = 1; i < a->n; i++) {
                                if (a->e[i].last_ms < e->last_ms)
                                        e = &a->e[i];
                        }
                        if (e->suppressed && a->evicted)
                                a->evicted(e->key, e->suppressed, a->userdata);
                }
                memset(e, 0, sizeof(*e));
                (void) snprintf(e->key, sizeof(e->key), "%s", key);
                e->window_start_ms = e->last_ms = now_ms;
                e->recorded = 1;
                return true;
        }
        e->last_ms = now_ms;
        if (now_ms - e->window_start_ms < a->interval_ms) {
                if (e->recorded < a->burst) {
                        e->recorded++;
                        return true;
                }
                e->suppressed++;
                return false;
        }
        *ret_suppressed = e->suppressed;
        e->suppressed = 0;
        e->window_start_ms = now_ms;
        e->recorded = 1;
        return true;
}

void eventagg_flush(struct eventagg *a, uint64_t now_ms, bool all, eventagg_cb cb,
                    void *userdata)
{
        for (size_t i = 0; i < a->n;) {
                struct eventagg_entry *e = &a->e[i];
                bool expired = now_ms - e->window_start_ms >= a->interval_ms;

                if (e->suppressed && (all || expired)) {
                        cb(e->key, e->suppressed, userdata);
                        e->suppressed = 0;
                        e->window_start_ms = now_ms;
                        e->recorded = a->burst; /* the summary stands for this interval */
                }
                if (all && expired && !e->suppressed) {
                        a->e[i] = a->e[--a->n];
                        continue;
                }
                i++;
        }
}
