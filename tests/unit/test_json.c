/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>

#include "buf.h"
#include "error.h"
#include "json.h"

static void test_ca_json_parse_errors_keep_position(void **state)
{
        struct ca_error err = {0};
        json_t *v = NULL;
        const char *dup = "{\"a\":1,\n \"a\":2}";
        (void) state;

        assert_int_equal(ca_json_parse("{\n  \"a\": ,\n}", 12, "m.json", &v, &err), -EINVAL);
        assert_true(err.bad_input);
        assert_int_equal(strncmp(err.msg, "m.json:2:", 9), 0);
        assert_int_equal(ca_json_parse(dup, strlen(dup), "d.json", &v, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "duplicate"));
        assert_int_equal(ca_json_parse("[1] x", 5, "t.json", &v, &err), -EINVAL);
        assert_int_equal(ca_json_parse("\"a\"", 3, "s.json", &v, &err), 0);
        assert_true(json_is_string(v));
        json_decref(v);
}

static void test_ca_json_canonical_sorted_compact(void **state)
{
        struct buf a = BUF_INIT;
        struct buf b = BUF_INIT;
        struct ca_error err = {0};
        json_t *x = json_pack("{s:i, s:[s, b], s:{s:n, s:s}}", "z", 1, "a", "é", 1, "m", "y",
                              "b", "q\"");
        json_t *y = json_pack("{s:{s:s, s:n}, s:[s, b], s:i}", "m", "b", "q\"", "y", "a", "é",
                              1, "z", 1);
        json_t *r = json_pack("{s:f}", "x", 1.0);
        (void) state;

        assert_int_equal(ca_json_canonical(x, &a, &err), 0);
        assert_int_equal(ca_json_canonical(y, &b, &err), 0);
        assert_string_equal(a.data, "{\"a\":[\"é\",true],\"m\":{\"b\":\"q\\\"\",\"y\":null},\"z\":1}");
        assert_string_equal(a.data, b.data);
        buf_reset(&a);
        assert_int_equal(ca_json_canonical(r, &a, &err), -EINVAL);
        assert_int_equal(a.len, 0);
        json_decref(x);
        json_decref(y);
        json_decref(r);
        buf_clear(&a);
        buf_clear(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ca_json_parse_errors_keep_position),
                cmocka_unit_test(test_ca_json_canonical_sorted_compact),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
