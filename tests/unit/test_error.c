/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>

#include "error.h"

static void test_ca_error_set_appends_strerror(void **state)
{
        struct ca_error err = {0};
        (void) state;

        assert_int_equal(ca_error_set(&err, ENOENT, "cannot open '%s'", "x"), -ENOENT);
        assert_string_equal(err.msg, "cannot open 'x': No such file or directory");
        assert_int_equal(err.code, ENOENT);
        assert_false(err.bad_input);
        assert_int_equal(ca_error_exit_status(&err), 1);
        /* Negative codes are accepted too; 0 becomes EIO. */
        assert_int_equal(ca_error_setx(&err, -EPROTO, "x"), -EPROTO);
        assert_int_equal(ca_error_setx(&err, 0, "x"), -EIO);
        assert_int_equal(ca_error_set(NULL, EACCES, "x"), -EACCES);
}

static void test_ca_error_input_and_prefix(void **state)
{
        struct ca_error err = {0};
        (void) state;

        assert_int_equal(ca_error_input(&err, "%s:%u:%u: expected '='", "f", 3u, 7u), -EINVAL);
        assert_true(err.bad_input);
        assert_int_equal(ca_error_exit_status(&err), 2);
        assert_int_equal(ca_error_prefix(&err, "loading '%s'", "f"), -EINVAL);
        assert_string_equal(err.msg, "loading 'f': f:3:7: expected '='");
        assert_true(err.bad_input);
        ca_error_clear(&err);
        assert_int_equal(err.code, 0);
        assert_string_equal(err.msg, "");
}

static void test_ca_error_truncation_is_marked(void **state)
{
        struct ca_error err = {0};
        char big[2000];
        (void) state;

        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(ca_error_setx(&err, EINVAL, "%s", big), -EINVAL);
        assert_int_equal(strlen(err.msg), CA_ERROR_MSG_MAX - 1);
        assert_string_equal(err.msg + CA_ERROR_MSG_MAX - 4, "...");
        assert_int_equal(ca_error_prefix(&err, "ctx"), -EINVAL);
        assert_int_equal(strncmp(err.msg, "ctx: aaa", 8), 0);
        assert_string_equal(err.msg + CA_ERROR_MSG_MAX - 4, "...");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ca_error_set_appends_strerror),
                cmocka_unit_test(test_ca_error_input_and_prefix),
                cmocka_unit_test(test_ca_error_truncation_is_marked),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
