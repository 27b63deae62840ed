/* SPDX-License-Identifier: MIT */
/* Unit tests for container/lib/execguard: the agent CLI tree's exec list and path handling. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "execguard.h"

static void test_execguard_decide(void **state)
{
        (void) state;
        assert_int_equal(guard_decide("/opt/coding-agents/agents/node_modules/@openai/codex/bin/x"),
                         GUARD_ALLOW);
        assert_int_equal(guard_decide("/opt/coding-agents/agents"), GUARD_ALLOW);
        assert_int_equal(guard_decide("/usr/local/bin/node"), GUARD_ALLOW);
        assert_int_equal(guard_decide("/usr/bin/git"), GUARD_ALLOW);
        assert_int_equal(guard_decide("/usr/lib/git-core/git-remote-https"), GUARD_ALLOW);
        assert_int_equal(guard_decide("/usr/bin/bash"), GUARD_ROUTE);
        assert_int_equal(guard_decide("/usr/bin/dash"), GUARD_ROUTE);
        /* Near misses: a prefix that is not a directory boundary, a file "beneath" a file. */
        assert_int_equal(guard_decide("/opt/coding-agents/agentsX/evil"), GUARD_DENY);
        assert_int_equal(guard_decide("/usr/local/bin/node2"), GUARD_DENY);
        assert_int_equal(guard_decide("/usr/bin/git/x"), GUARD_DENY);
        assert_int_equal(guard_decide("/usr/bin/gitk"), GUARD_DENY);
        /* The real shells, tools, copies. */
        assert_int_equal(guard_decide("/usr/lib/coding-agents/shells/bash"), GUARD_DENY);
        assert_int_equal(guard_decide("/usr/bin/cat"), GUARD_DENY);
        assert_int_equal(guard_decide("/tmp/bash"), GUARD_DENY);
        assert_int_equal(guard_decide("/workspace/.git/hooks/pre-commit"), GUARD_DENY);
        assert_int_equal(guard_decide("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
                         GUARD_DENY);
        assert_int_equal(guard_decide(""), GUARD_DENY);
        /* Only canonical paths: no way around a prefix. */
        assert_int_equal(guard_decide("/opt/coding-agents/agents/../../usr/bin/cat"), GUARD_DENY);
        assert_int_equal(guard_decide("/usr/lib/git-core/./x"), GUARD_DENY);
        assert_int_equal(guard_decide("/usr/lib/git-core//x"), GUARD_DENY);
        assert_int_equal(guard_decide("/usr/lib/git-core/.."), GUARD_DENY);
        assert_int_equal(guard_decide("usr/bin/git"), GUARD_DENY);
        assert_int_equal(guard_decide("/usr/lib/git-core/..x"), GUARD_ALLOW);
}

static void test_execguard_target(void **state)
{
        char out[128];
        (void) state;

        assert_int_equal(guard_target(42, false, 0, "/usr/bin/git", 0, out, sizeof(out)), 0);
        assert_string_equal(out, "/usr/bin/git");
        assert_int_equal(guard_target(42, false, 0, "run.sh", 0, out, sizeof(out)), 0);
        assert_string_equal(out, "/proc/42/cwd/run.sh");
        assert_int_equal(guard_target(42, true, AT_FDCWD, "./x", 0, out, sizeof(out)), 0);
        assert_string_equal(out, "/proc/42/cwd/./x");
        assert_int_equal(guard_target(42, true, 7, "x", 0, out, sizeof(out)), 0);
        assert_string_equal(out, "/proc/42/fd/7/x");
        assert_int_equal(guard_target(42, true, 7, "", AT_EMPTY_PATH, out, sizeof(out)), 0);
        assert_string_equal(out, "/proc/42/fd/7");
        assert_int_equal(guard_target(42, true, 7, "", 0, out, sizeof(out)), -ENOENT);
        assert_int_equal(guard_target(42, false, 0, "", 0, out, sizeof(out)), -ENOENT);
        /* The caller's own, not the supervisor's. */
        assert_int_equal(guard_target(42, false, 0, "/proc/self/exe", 0, out, sizeof(out)), 0);
        assert_string_equal(out, "/proc/42/exe");
        assert_int_equal(guard_target(42, false, 0, "/proc/thread-self/exe", 0, out, sizeof(out)),
                         0);
        assert_string_equal(out, "/proc/42/exe");
        assert_int_equal(guard_target(42, false, 0, "/dev/fd/5", 0, out, sizeof(out)), 0);
        assert_string_equal(out, "/proc/42/fd/5");
        assert_int_equal(guard_target(42, false, 0, "/proc/selfish", 0, out, sizeof(out)), 0);
        assert_string_equal(out, "/proc/selfish");
        assert_int_equal(guard_target(42, false, 0, "/a/very/long/path/that/does/not/fit", 0, out,
                                      16),
                         -ENAMETOOLONG);
}

static void test_execguard_read_string(void **state)
{
        char path[] = "/tmp/test_execguard.XXXXXX";
        char page[4096 + 32], buf[64];
        int fd = mkstemp(path);
        (void) state;

        assert_true(fd >= 0);
        (void) unlink(path);
        memset(page, 'a', sizeof(page));
        /* A string that crosses a page boundary, and one at the very end of the file. */
        memcpy(page + 4090, "/usr/bin/git", 13);
        page[sizeof(page) - 4] = 'e';
        page[sizeof(page) - 1] = 'x';
        assert_int_equal(write(fd, page, sizeof(page)), (ssize_t) sizeof(page));
        assert_int_equal(guard_read_string(fd, 4090, buf, sizeof(buf)), 12);
        assert_string_equal(buf, "/usr/bin/git");
        /* No NUL within the buffer. */
        assert_int_equal(guard_read_string(fd, 0, buf, sizeof(buf)), -ENAMETOOLONG);
        /* No NUL before the end of what can be read. */
        assert_int_equal(guard_read_string(fd, sizeof(page) - 4, buf, sizeof(buf)), -EFAULT);
        (void) close(fd);
}

static void test_execguard_name(void **state)
{
        char name[72];
        (void) state;

        guard_program_name("/usr/bin/cat", name, sizeof(name));
        assert_string_equal(name, "cat");
        guard_program_name("cat", name, sizeof(name));
        assert_string_equal(name, "cat");
        guard_program_name("/x/", name, sizeof(name));
        assert_string_equal(name, "/x/");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_execguard_decide),
                cmocka_unit_test(test_execguard_target),
                cmocka_unit_test(test_execguard_read_string),
                cmocka_unit_test(test_execguard_name),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
