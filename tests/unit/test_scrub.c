/* SPDX-License-Identifier: MIT */
/* Unit tests for container/lib/scrub: zeroed, removed, never through a link. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scrub.h"

/* Creates `dir`/`name` with `content` and `mode`; returns a read descriptor kept open, which
 * sees the inode's bytes after the name is gone. */
static int plant(const char *dir, const char *name, const char *content, mode_t mode)
{
        char path[512];
        int fd;

        (void) snprintf(path, sizeof(path), "%s/%s", dir, name);
        write_file(path, content);
        assert_int_equal(chmod(path, mode), 0);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        return fd;
}

static void assert_zeroed(int fd, size_t len)
{
        char buf[256];

        assert_true(len <= sizeof(buf));
        assert_int_equal(pread(fd, buf, sizeof(buf), 0), (ssize_t) len);
        for (size_t i = 0; i < len; i++)
                assert_int_equal(buf[i], 0);
        (void) close(fd);
}

static void test_scrub_tree(void **state)
{
        char *dir = make_tmpdir(), *outside = make_tmpdir();
        char sub[512], link[512];
        int a, ro, deep, keep;
        char buf[16] = {0};
        (void) state;

        a = plant(dir, "token", "secret-one", 0600);
        ro = plant(dir, "ro", "secret-two", 0400); /* a 0400 secret, as the launcher writes */
        (void) snprintf(sub, sizeof(sub), "%s/sub", dir);
        assert_int_equal(mkdir(sub, 0700), 0);
        deep = plant(sub, "deep", "secret-three", 0600);
        keep = plant(outside, "keep", "not-mine", 0600);
        (void) snprintf(link, sizeof(link), "%s/link", dir);
        {
                char target[512];

                (void) snprintf(target, sizeof(target), "%s/keep", outside);
                assert_int_equal(symlink(target, link), 0);
        }
        scrub_tree_at(open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        assert_zeroed(a, strlen("secret-one"));
        assert_zeroed(ro, strlen("secret-two"));
        assert_zeroed(deep, strlen("secret-three"));
        /* The link went; what it pointed at did not. */
        assert_int_equal(pread(keep, buf, sizeof(buf), 0), (ssize_t) strlen("not-mine"));
        assert_string_equal(buf, "not-mine");
        (void) close(keep);
        assert_int_equal(rmdir(dir), 0); /* empty: everything under it is gone */
        free(dir);
        rm_rf(outside);
}

static void test_scrub_as_owner(void **state)
{
        char *dir = make_tmpdir();
        char path[512];
        int fd;
        (void) state;

        if (geteuid() != 0) {
                if (getenv("CI"))
                        fail_msg("scrub_dir_as needs root (CI runs the unit tests as root)");
                skip();
        }
        fd = plant(dir, "f", "owned-by-nobody", 0400);
        (void) snprintf(path, sizeof(path), "%s/f", dir);
        assert_int_equal(chown(path, 65534, 65534), 0);
        assert_int_equal(chown(dir, 65534, 65534), 0);
        assert_int_equal(scrub_remove_dir(dir, 65534), 0);
        assert_zeroed(fd, strlen("owned-by-nobody"));
        assert_int_equal(access(dir, F_OK), -1);
        assert_int_equal(errno, ENOENT);
        /* Nothing there: nothing to do, no error. */
        assert_int_equal(scrub_remove_dir(dir, 65534), 0);
        free(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_scrub_tree),
                cmocka_unit_test(test_scrub_as_owner),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
