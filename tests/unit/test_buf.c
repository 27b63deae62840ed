/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>

#include "buf.h"

static void test_buf_append_and_printf(void **state)
{
        struct buf b = BUF_INIT;
        size_t len = 0;
        char *s;
        (void) state;

        assert_int_equal(buf_append_str(&b, "ab"), 0);
        assert_int_equal(buf_append_char(&b, 'c'), 0);
        assert_int_equal(buf_printf(&b, "-%d-%s", 42, "x"), 0);
        assert_string_equal(b.data, "abc-42-x");
        assert_int_equal(b.len, 8);
        for (int i = 0; i < 10000; i++)
                assert_int_equal(buf_append(&b, "0123456789", 10), 0);
        assert_int_equal(b.len, 100008);
        assert_int_equal(b.data[b.len], '\0');
        buf_reset(&b);
        assert_int_equal(b.len, 0);
        assert_string_equal(b.data, "");
        assert_int_equal(buf_append(&b, "a\0b", 3), 0);
        s = buf_detach(&b, &len);
        assert_int_equal(len, 3);
        assert_memory_equal(s, "a\0b", 4);
        assert_null(b.data);
        free(s);
}

static void test_buf_detach_empty_and_overflow(void **state)
{
        struct buf b = BUF_INIT;
        char *s;
        (void) state;

        s = buf_detach(&b, NULL);
        assert_non_null(s);
        assert_string_equal(s, "");
        free(s);
        assert_int_equal(buf_append_str(&b, "x"), 0);
        assert_int_equal(buf_reserve(&b, SIZE_MAX), -ENOMEM);
        assert_int_equal(buf_reserve(&b, SIZE_MAX - 1), -ENOMEM);
        assert_string_equal(b.data, "x");
        buf_clear(&b);
        buf_clear(&b);
        buf_clear(NULL);
}

/* A reserved, never appended buffer is already an empty C string (found under ASan). */
static void test_buf_reserve_terminates(void **state)
{
        struct buf b = BUF_INIT;
        (void) state;

        assert_int_equal(buf_reserve(&b, 10), 0);
        assert_non_null(b.data);
        assert_string_equal(b.data, "");
        assert_int_equal(buf_append(&b, "abc", 3), 0);
        assert_int_equal(buf_reserve(&b, 1000), 0);
        assert_string_equal(b.data, "abc");
        buf_clear(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_buf_append_and_printf),
                cmocka_unit_test(test_buf_detach_empty_and_overflow),
                cmocka_unit_test(test_buf_reserve_terminates),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
