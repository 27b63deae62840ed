/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/install's pure parts; tests/integration/install.sh installs for real. */
#include "testutil.h"

#include <errno.h>
#include <sys/stat.h>

#include "error.h"
#include "install.h"
#include "profile.h"

static void test_install_version_cmp(void **state)
{
        (void) state;
        assert_true(install_version_cmp("0.10.0", "0.9.9") > 0);
        assert_true(install_version_cmp("0.2.0", "0.10.0") < 0);
        assert_int_equal(install_version_cmp("1.2.3", "1.2.3"), 0);
        assert_true(install_version_cmp("1.2", "1.2.1") < 0);
        assert_true(install_version_cmp("2", "10") < 0);
}

static void test_profile_check_prefix(void **state)
{
        struct ca_error err = {0};
        char *dir = make_tmpdir();
        (void) state;

        assert_int_equal(profile_check_prefix("relative", &err), -EINVAL);
        assert_true(err.bad_input);
        /* Under /tmp (world-writable): refused, naming the offending ancestor. */
        assert_int_equal(profile_check_prefix(dir, &err), -EPERM);
        assert_non_null(strstr(err.msg, "'/tmp' is writable by others than root"));
        if (geteuid() == 0)
                assert_int_equal(profile_check_prefix("/usr", &err), 0);
        assert_int_equal(profile_check_prefix("/nonexistent/x", &err), -ENOENT);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_install_version_cmp),
                cmocka_unit_test(test_profile_check_prefix),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
