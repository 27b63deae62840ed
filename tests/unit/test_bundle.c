/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/bundle; tests/integration/release_bundle.sh checks the tarball with tar. */
#include "testutil.h"

#include <errno.h>
#include <sys/stat.h>

#include "buf.h"
#include "error.h"
#include "bundle.h"
#include "fileio.h"

static void test_bundle_write_deterministic(void **state)
{
        char *dir = make_tmpdir();
        char stage[512];
        char sub[600];
        char file[700];
        char a[512];
        char b[512];
        struct buf x = BUF_INIT;
        struct buf y = BUF_INIT;
        struct ca_error err = {0};
        (void) state;

        (void) snprintf(stage, sizeof(stage), "%s/stage", dir);
        (void) snprintf(sub, sizeof(sub), "%s/bin", stage);
        (void) snprintf(file, sizeof(file), "%s/tool", sub);
        (void) snprintf(a, sizeof(a), "%s/a.tar.gz", dir);
        (void) snprintf(b, sizeof(b), "%s/b.tar.gz", dir);
        assert_int_equal(fileio_mkdir_p(sub, 0755, &err), 0);
        write_file(file, "#!/bin/sh\n");
        assert_int_equal(chmod(file, 0700), 0);
        assert_int_equal(bundle_write(stage, "top", 42, a, &err), 0);
        assert_int_equal(chmod(file, 0750), 0);
        assert_int_equal(bundle_write(stage, "top", 42, b, &err), 0);
        assert_int_equal(fileio_read_path(a, 1 << 20, &x, &err), 0);
        assert_int_equal(fileio_read_path(b, 1 << 20, &y, &err), 0);
        assert_int_equal(x.len, y.len);
        assert_memory_equal(x.data, y.data, x.len);
        /* gzip magic, and no timestamp in the header */
        assert_int_equal((unsigned char) x.data[0], 0x1f);
        assert_int_equal(x.data[4] | x.data[5] | x.data[6] | x.data[7], 0);
        buf_clear(&x);
        buf_clear(&y);
        assert_int_equal(bundle_write("/nonexistent", "top", 0, a, &err), -ENOENT);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bundle_write_deterministic),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
