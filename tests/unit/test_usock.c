/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/usock: long paths (beyond sun_path) and stale sockets. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "error.h"
#include "usock.h"

static void test_usock_long_path_and_stale_socket(void **state)
{
        char *dir = make_tmpdir();
        char deep[512];
        char path[700];
        struct ca_error err = {0};
        struct stat st;
        int l;
        int c;
        int a;
        (void) state;

        /* A directory name long enough that the socket path exceeds 108 bytes. */
        (void) snprintf(deep, sizeof(deep), "%s/%0120d", dir, 7);
        assert_int_equal(mkdir(deep, 0700), 0);
        (void) snprintf(path, sizeof(path), "%s/session.sock", deep);
        assert_true(strlen(path) > 108);
        l = usock_listen(path, 0600, &err);
        assert_true(l >= 0);
        assert_int_equal(stat(path, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_true(fcntl(l, F_GETFD) & FD_CLOEXEC);
        c = usock_connect(path, &err);
        assert_true(c >= 0);
        a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        assert_true(a >= 0);
        (void) close(a);
        (void) close(c);
        (void) close(l);

        /* A stale socket is replaced; anything else at the path is refused. */
        l = usock_listen(path, 0666, &err);
        assert_true(l >= 0);
        (void) close(l);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(usock_connect(path, &err), -ENOENT);
        write_file(path, "not a socket");
        assert_int_equal(usock_listen(path, 0600, &err), -EEXIST);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_usock_long_path_and_stale_socket),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
