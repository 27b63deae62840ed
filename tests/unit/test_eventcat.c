/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/eventcat: every type is catalogued, and fields are checked against it. */
#include "testutil.h"

#include <string.h>

#include "eventcat.h"

static void test_eventcat_every_type(void **state)
{
        (void) state;
        for (int t = 0; t < AUDIT_TYPE_MAX; t++) {
                const struct eventcat_entry *e = eventcat_get((enum audit_type) t);

                assert_non_null(e);
                assert_non_null(e->by);
                assert_non_null(e->fields[0]);
        }
        assert_null(eventcat_get(AUDIT_TYPE_MAX));
}

static void test_eventcat_fields(void **state)
{
        json_t *ok = json_pack("{s:s, s:s, s:i}", "stub", "github", "cap_id", "ab", "use", 1);
        json_t *bad = json_pack("{s:s, s:s}", "stub", "github", "token", "x");
        json_t *agg = json_pack("{s:s, s:i, s:i}", "reason", "bad-mac", "suppressed", 3,
                                "interval_s", 60);
        (void) state;

        assert_null(eventcat_unknown_field(AUDIT_CAPABILITY_REDEEMED, ok));
        assert_string_equal(eventcat_unknown_field(AUDIT_CAPABILITY_REDEEMED, bad), "token");
        /* The aggregation fields belong to aggregated types only. */
        assert_null(eventcat_unknown_field(AUDIT_CAPABILITY_DENIED, agg));
        assert_string_equal(eventcat_unknown_field(AUDIT_SESSION_START, agg), "reason");
        assert_true(eventcat_field_known(AUDIT_EXEC_DENIED, "summary"));
        assert_false(eventcat_field_known(AUDIT_SESSION_START, "suppressed"));
        assert_null(eventcat_unknown_field(AUDIT_SESSION_START, NULL));
        json_decref(ok);
        json_decref(bad);
        json_decref(agg);
}

static void test_eventcat_json(void **state)
{
        json_t *all = eventcat_json();
        (void) state;

        assert_non_null(all);
        assert_int_equal(json_array_size(all), AUDIT_TYPE_MAX);
        assert_string_equal(json_string_value(json_object_get(json_array_get(all, 0), "type")),
                            audit_type_name(0));
        json_decref(all);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_eventcat_every_type),
                cmocka_unit_test(test_eventcat_fields),
                cmocka_unit_test(test_eventcat_json),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
