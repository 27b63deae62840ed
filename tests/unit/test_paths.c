/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>

#include "error.h"
#include "paths.h"

static void test_paths_config_root_precedence(void **state)
{
        struct ca_error err = {0};
        char *p = NULL;
        (void) state;

        assert_int_equal(setenv("CODING_AGENTS_CONFIG_DIR", "/tmp/explicit", 1), 0);
        assert_int_equal(paths_config_root(PATHS_PROFILE_PROD, &p, &err), 0);
        assert_string_equal(p, "/tmp/explicit");
        free(p);
        assert_int_equal(setenv("CODING_AGENTS_CONFIG_DIR", "relative", 1), 0);
        assert_int_equal(paths_config_root(PATHS_PROFILE_PROD, &p, &err), -EINVAL);
        assert_true(err.bad_input);

        assert_int_equal(unsetenv("CODING_AGENTS_CONFIG_DIR"), 0);
        assert_int_equal(setenv("XDG_CONFIG_HOME", "/xdg", 1), 0);
        assert_int_equal(paths_config_root(PATHS_PROFILE_PROD, &p, &err), 0);
        assert_string_equal(p, "/xdg/coding-agents");
        free(p);
        assert_int_equal(paths_config_root(PATHS_PROFILE_DEV, &p, &err), 0);
        assert_string_equal(p, "/xdg/coding-agents-dev");
        free(p);

        /* A relative XDG_CONFIG_HOME is ignored, as the XDG spec says. */
        assert_int_equal(setenv("XDG_CONFIG_HOME", "rel", 1), 0);
        assert_int_equal(setenv("HOME", "/home/u/", 1), 0);
        assert_int_equal(paths_config_root(PATHS_PROFILE_PROD, &p, &err), 0);
        assert_string_equal(p, "/home/u/.config/coding-agents");
        free(p);
}

static void test_paths_join(void **state)
{
        char *p;
        (void) state;

        p = paths_join("/a/", "/b");
        assert_string_equal(p, "/a/b");
        free(p);
        p = paths_join("/a", "b");
        assert_string_equal(p, "/a/b");
        free(p);
        p = paths_events_log("/root");
        assert_string_equal(p, "/root/security-events.log");
        free(p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_paths_config_root_precedence),
                cmocka_unit_test(test_paths_join),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
