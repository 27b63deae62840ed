/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/log: levels, the program prefix, escaping, errno kept. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Runs `fn` with stderr on a pipe and returns what it wrote. */
static const char *captured(void (*fn)(void))
{
        static char out[4096];
        int p[2], saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
        ssize_t n;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_true(dup2(p[1], STDERR_FILENO) >= 0);
        fn();
        (void) fflush(stderr);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        (void) close(saved);
        (void) close(p[1]);
        n = read(p[0], out, sizeof(out) - 1);
        (void) close(p[0]);
        out[n > 0 ? n : 0] = '\0';
        return out;
}

static void say_levels(void)
{
        log_set_level(LOG_LEVEL_WARN);
        log_info("hidden");
        log_warn("shown %d", 1);
        errno = EPIPE;
        log_error("peer sent \x1b[2Jx");
        assert_int_equal(errno, EPIPE);
}

static void test_log_levels_prefix_escaping(void **state)
{
        const char *out;
        (void) state;

        log_init("test-prog");
        out = captured(say_levels);
        assert_null(strstr(out, "hidden"));
        assert_non_null(strstr(out, "test-prog: shown 1\n"));
        assert_non_null(strstr(out, "test-prog: peer sent \\x1b[2Jx\n"));
        assert_int_equal(log_get_level(), LOG_LEVEL_WARN);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_log_levels_prefix_escaping),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
