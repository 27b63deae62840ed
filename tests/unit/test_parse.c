/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>

#include "parse.h"

static void test_parse_uint(void **state)
{
        uint64_t v = 0;
        (void) state;

        assert_int_equal(parse_uint("0", 0, 10, &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(parse_uint("18446744073709551615", 0, UINT64_MAX, &v), 0);
        assert_true(v == UINT64_MAX);
        assert_int_equal(parse_uint("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
        assert_int_equal(parse_uint("11", 0, 10, &v), -ERANGE);
        assert_int_equal(parse_uint("", 0, 10, &v), -EINVAL);
        assert_int_equal(parse_uint("-1", 0, 10, &v), -EINVAL);
        assert_int_equal(parse_uint(" 1", 0, 10, &v), -EINVAL);
        assert_int_equal(parse_uint("01", 0, 10, &v), -EINVAL);
        assert_int_equal(parse_uint("1x", 0, 10, &v), -EINVAL);
}

static void test_parse_duration(void **state)
{
        uint64_t v = 0;
        (void) state;

        assert_int_equal(parse_duration("90", 86400, &v), 0);
        assert_int_equal(v, 90);
        assert_int_equal(parse_duration("30m", 86400, &v), 0);
        assert_int_equal(v, 1800);
        assert_int_equal(parse_duration("2h", 86400, &v), 0);
        assert_int_equal(v, 7200);
        assert_int_equal(parse_duration("2d", 86400, &v), -ERANGE);
        assert_int_equal(parse_duration("0s", 86400, &v), -ERANGE);
        assert_int_equal(parse_duration("m", 86400, &v), -EINVAL);
        assert_int_equal(parse_duration("1w", 86400, &v), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_uint),
                cmocka_unit_test(test_parse_duration),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
