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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_spawn_capture_output_and_status),
                cmocka_unit_test(test_spawn_capture_limits_and_signals),
                cmocka_unit_test(test_spawn_start_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
