/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/eventagg: the first occurrence, then a count per interval. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "eventagg.h"

struct seen {
        char key[EVENTAGG_KEY_MAX];
        uint64_t total;
        unsigned calls;
};

static void count(const char *key, uint64_t suppressed, void *userdata)
{
        struct seen *s = userdata;

        (void) snprintf(s->key, sizeof(s->key), "%s", key);
        s->total += suppressed;
        s->calls++;
}

static void test_eventagg_first_then_count(void **state)
{
        struct eventagg a;
        uint64_t sup = 99;
        unsigned recorded = 0;
        (void) state;

        eventagg_init(&a, 1000, 1, NULL, NULL);
        assert_true(eventagg_admit(&a, "helper-denied/bad-token", 0, &sup));
        assert_int_equal(sup, 0);
        /* 100000 more inside the interval: none recorded. */
        for (uint64_t i = 0; i < 100000; i++)
                recorded += eventagg_admit(&a, "helper-denied/bad-token", i / 1000, &sup);
        assert_int_equal(recorded, 0);
        /* The first after the interval carries the count. */
        assert_true(eventagg_admit(&a, "helper-denied/bad-token", 1000, &sup));
        assert_int_equal(sup, 100000);
        /* Keys are independent. */
        assert_true(eventagg_admit(&a, "helper-denied/path", 1001, &sup));
        assert_int_equal(sup, 0);
}

static void test_eventagg_flush(void **state)
{
        struct eventagg a;
        struct seen s = {.total = 0};
        uint64_t sup;
        (void) state;

        eventagg_init(&a, 1000, 1, NULL, NULL);
        assert_true(eventagg_admit(&a, "k", 0, &sup));
        assert_false(eventagg_admit(&a, "k", 10, &sup));
        assert_false(eventagg_admit(&a, "k", 20, &sup));
        /* Not yet due: nothing; due or forced: the count, once. */
        eventagg_flush(&a, 500, false, count, &s);
        assert_int_equal(s.calls, 0);
        eventagg_flush(&a, 500, true, count, &s);
        assert_int_equal(s.calls, 1);
        assert_int_equal(s.total, 2);
        assert_string_equal(s.key, "k");
        eventagg_flush(&a, 5000, true, count, &s);
        assert_int_equal(s.calls, 1);
        /* Forgotten after an idle interval: a new occurrence is a first one again. */
        assert_int_equal(a.n, 0);
}

static void test_eventagg_eviction_keeps_counts(void **state)
{
        struct eventagg a;
        struct seen s = {.total = 0};
        uint64_t sup;
        char key[32];
        (void) state;

        eventagg_init(&a, 1000, 1, count, &s);
        assert_true(eventagg_admit(&a, "old", 0, &sup));
        assert_false(eventagg_admit(&a, "old", 1, &sup));
        for (int i = 0; i < EVENTAGG_KEYS - 1; i++) {
                (void) snprintf(key, sizeof(key), "k%d", i);
                assert_true(eventagg_admit(&a, key, 10 + (uint64_t) i, &sup));
        }
        assert_int_equal(a.n, EVENTAGG_KEYS);
        /* "old" is the least recently seen: its one suppressed occurrence is reported. */
        assert_true(eventagg_admit(&a, "new", 500, &sup));
        assert_int_equal(s.calls, 1);
        assert_int_equal(s.total, 1);
        assert_string_equal(s.key, "old");
        assert_int_equal(a.n, EVENTAGG_KEYS);
}

static void test_eventagg_burst(void **state)
{
        struct eventagg a;
        uint64_t sup;
        unsigned recorded = 0;
        (void) state;

        eventagg_init(&a, 1000, 3, NULL, NULL);
        for (uint64_t i = 0; i < 100; i++)
                recorded += eventagg_admit(&a, "proxy-denied/metadata", i, &sup);
        assert_int_equal(recorded, 3);
        assert_true(eventagg_admit(&a, "proxy-denied/metadata", 2000, &sup));
        assert_int_equal(sup, 97);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_eventagg_first_then_count),
                cmocka_unit_test(test_eventagg_flush),
                cmocka_unit_test(test_eventagg_eviction_keeps_counts),
                cmocka_unit_test(test_eventagg_burst),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
