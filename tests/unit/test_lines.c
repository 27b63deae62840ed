/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>

#include "error.h"
#include "lines.h"

static int pipe_with(const char *data, size_t len)
{
        int p[2];

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(write(p[1], data, len), (ssize_t) len);
        (void) close(p[1]);
        return p[0];
}

static void test_lines_next_splits_and_caps(void **state)
{
        const char data[] = "one\ntwo\n0123456789ABCDEF\nthree\nlast";
        int fd = pipe_with(data, sizeof(data) - 1);
        struct lines lr;
        struct ca_error err = {0};
        const char *line;
        size_t len;
        bool term;
        (void) state;

        lines_init(&lr, fd, 10);
        assert_int_equal(lines_next(&lr, &line, &len, &term, &err), 1);
        assert_string_equal(line, "one");
        assert_true(term);
        assert_int_equal(lines_next(&lr, &line, &len, &term, &err), 1);
        assert_string_equal(line, "two");
        /* Over-long lines are reported, skipped, and reading goes on. */
        assert_int_equal(lines_next(&lr, &line, &len, &term, &err), -EMSGSIZE);
        assert_int_equal(lines_next(&lr, &line, &len, &term, &err), 1);
        assert_string_equal(line, "three");
        assert_int_equal(lines_next(&lr, &line, &len, &term, &err), 1);
        assert_string_equal(line, "last");
        assert_false(term);
        assert_int_equal(lines_next(&lr, &line, &len, &term, &err), 0);
        lines_clear(&lr);
        (void) close(fd);
}

static void test_lines_hold_partial(void **state)
{
        int fd = pipe_with("a\npart", 6);
        struct lines lr;
        struct ca_error err = {0};
        const char *line;
        size_t len;
        bool term;
        (void) state;

        lines_init(&lr, fd, 100);
        lr.hold_partial = true;
        assert_int_equal(lines_next(&lr, &line, &len, &term, &err), 1);
        assert_string_equal(line, "a");
        assert_int_equal(lines_next(&lr, &line, &len, &term, &err), 0);
        lines_clear(&lr);
        (void) close(fd);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lines_next_splits_and_caps),
                cmocka_unit_test(test_lines_hold_partial),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
