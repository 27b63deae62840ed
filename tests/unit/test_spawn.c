/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>

#include "buf.h"
#include "error.h"
#include "spawn.h"

static char *const env[] = {(char *) "PATH=/usr/bin:/bin", (char *) "ONLY_THIS=1", NULL};

static void test_spawn_capture_output_and_status(void **state)
{
        char *const argv[] = {(char *) "sh", (char *) "-c",
                              (char *) "printf 'a\\nb'; env | sort; exit 3", NULL};
        struct spawn_req req = SPAWN_REQ_INIT;
        struct buf out = BUF_INIT;
        struct ca_error err = {0};
        (void) state;

        req.path = "/bin/sh";
        req.argv = argv;
        req.envp = env;
        assert_int_equal(spawn_capture(&req, 4096, &out, &err), 3);
        assert_int_equal(strncmp(out.data, "a\nb", 3), 0);
        /* Only the allow-listed environment reaches the child. */
        assert_non_null(strstr(out.data, "ONLY_THIS=1"));
        assert_null(strstr(out.data, "HOME="));
        buf_clear(&out);
}

static void test_spawn_capture_limits_and_signals(void **state)
{
        char *const yes[] = {(char *) "yes", NULL};
        char *const self_kill[] = {(char *) "sh", (char *) "-c", (char *) "kill -TERM $$", NULL};
        struct spawn_req req = SPAWN_REQ_INIT;
        struct buf out = BUF_INIT;
        struct ca_error err = {0};
        (void) state;

        req.path = "yes";
        req.search_path = true;
        req.argv = yes;
        req.envp = env;
        assert_int_equal(spawn_capture(&req, 1000, &out, &err), -EFBIG);
        buf_clear(&out);
        req.path = "/bin/sh";
        req.search_path = false;
        req.argv = self_kill;
        assert_int_equal(spawn_capture(&req, 1000, &out, &err), 128 + 15);
        buf_clear(&out);
}

static void test_spawn_start_errors(void **state)
{
        char *const argv[] = {(char *) "x", NULL};
        struct spawn_req req = SPAWN_REQ_INIT;
        struct ca_error err = {0};
        pid_t pid;
        (void) state;

        req.path = "relative/path";
        req.argv = argv;
        req.envp = env;
        assert_int_equal(spawn_start(&req, &pid, &err), -EINVAL);
        req.path = "/nonexistent/binary";
        assert_int_equal(spawn_start(&req, &pid, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "cannot run '/nonexistent/binary'"));
}

/* A descriptor the parent left inheritable (a library's socket opened without SOCK_CLOEXEC,
 * as libcurl's connection to the engine was) never reaches a child: only stdio does. */
static void test_spawn_closes_inherited_fds(void **state)
{
        char *const argv[] = {(char *) "sh", (char *) "-c", (char *) "ls /proc/self/fd", NULL};
        struct spawn_req req = SPAWN_REQ_INIT;
        struct buf out = BUF_INIT;
        struct ca_error err = {0};
        char name[16];
        int low = open("/dev/null", O_RDONLY | O_CLOEXEC);
        /* Deliberately inheritable, and numbered above what the child itself opens. */
        int fd = fcntl(low, F_DUPFD, 20);
        (void) state;

        assert_true(fd >= 20);
        (void) close(low);
        req.path = "/bin/sh";
        req.argv = argv;
        req.envp = env;
        assert_int_equal(spawn_capture(&req, 4096, &out, &err), 0);
        assert_int_equal(buf_append_char(&out, '\0'), 0);
        (void) snprintf(name, sizeof(name), "\n%d\n", fd);
        assert_null(strstr(out.data, name));
        assert_non_null(strstr(out.data, "0\n1\n2\n"));
        (void) close(fd);
        buf_clear(&out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_spawn_capture_output_and_status),
                cmocka_unit_test(test_spawn_capture_limits_and_signals),
                cmocka_unit_test(test_spawn_start_errors),
                cmocka_unit_test(test_spawn_closes_inherited_fds),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
