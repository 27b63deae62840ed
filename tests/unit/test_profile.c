/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/profile: what is not provably an install is dev. The prod side (a real
 * root-owned install) is covered by tests/integration/install.sh. */
#include "testutil.h"

#include <sys/stat.h>

#include "fileio.h"
#include "error.h"
#include "profile.h"

static void test_profile_detect_dev(void **state)
{
        struct profile_info p;
        struct ca_error err = {0};
        char *dir = make_tmpdir();
        char bin[600];
        char exe[700];
        char sums[700];
        (void) state;

        profile_detect(NULL, &p);
        assert_int_equal(p.profile, PATHS_PROFILE_DEV);
        assert_true(p.exe[0] == '/');

        /* The right shape, but under /tmp (writable by everyone): still dev. */
        (void) snprintf(bin, sizeof(bin), "%s/releases/1.0.0/bin", dir);
        (void) snprintf(exe, sizeof(exe), "%s/coding-agents", bin);
        (void) snprintf(sums, sizeof(sums), "%s/releases/1.0.0/SHA256SUMS", dir);
        assert_int_equal(fileio_mkdir_p(bin, 0755, &err), 0);
        write_file(exe, "");
        write_file(sums, "");
        profile_detect(exe, &p);
        assert_int_equal(p.profile, PATHS_PROFILE_DEV);
        profile_detect("/nonexistent/bin/coding-agents", &p);
        assert_int_equal(p.profile, PATHS_PROFILE_DEV);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_profile_detect_dev),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
