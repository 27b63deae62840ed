/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "buf.h"
#include "error.h"
#include "fileio.h"

static void test_fileio_read_fd_cap(void **state)
{
        struct buf b = BUF_INIT;
        struct ca_error err = {0};
        int p[2];
        (void) state;

        /* Exactly at the cap passes, one byte more fails with EFBIG. */
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(write(p[1], "12345", 5), 5);
        (void) close(p[1]);
        assert_int_equal(fileio_read_fd(p[0], 5, &b, &err), 0);
        assert_string_equal(b.data, "12345");
        (void) close(p[0]);

        buf_reset(&b);
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(write(p[1], "123456", 6), 6);
        (void) close(p[1]);
        assert_int_equal(fileio_read_fd(p[0], 5, &b, &err), -EFBIG);
        assert_int_equal(b.len, 5);
        (void) close(p[0]);
        buf_clear(&b);
}

static void test_fileio_write_atomic_replaces(void **state)
{
        char *dir = make_tmpdir();
        char path[512];
        struct buf b = BUF_INIT;
        struct ca_error err = {0};
        struct stat st;
        (void) state;

        (void) snprintf(path, sizeof(path), "%s/f", dir);
        assert_int_equal(fileio_write_atomic(path, "old", 3, 0600, &err), 0);
        assert_int_equal(fileio_write_atomic(path, "new!", 4, 0640, &err), 0);
        assert_int_equal(fileio_read_path(path, 100, &b, &err), 0);
        assert_string_equal(b.data, "new!");
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        buf_clear(&b);
        /* Reading a directory is refused with a clear message. */
        assert_int_equal(fileio_read_path(dir, 100, &b, &err), -EISDIR);
        assert_non_null(strstr(err.msg, "is not a regular file"));
        /* Writing into a missing directory fails and leaves nothing behind. */
        (void) snprintf(path, sizeof(path), "%s/missing/f", dir);
        assert_int_equal(fileio_write_atomic(path, "x", 1, 0600, &err), -ENOENT);
        rm_rf(dir);
}

static void test_fileio_mkdir_p(void **state)
{
        char *dir = make_tmpdir();
        char path[512];
        struct ca_error err = {0};
        struct stat st;
        (void) state;

        (void) snprintf(path, sizeof(path), "%s/a/b/c", dir);
        assert_int_equal(fileio_mkdir_p(path, 0700, &err), 0);
        assert_int_equal(fileio_mkdir_p(path, 0700, &err), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fileio_read_fd_cap),
                cmocka_unit_test(test_fileio_write_atomic_replaces),
                cmocka_unit_test(test_fileio_mkdir_p),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
