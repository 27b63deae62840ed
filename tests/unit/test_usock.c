/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/usock: long paths (beyond sun_path) and stale sockets. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Puts `fd` at descriptor 3, where systemd passes the first socket. */
static void at_fd3(int fd)
{
        assert_true(fd >= 0);
        if (fd == 3)
                return;
        assert_int_equal(dup2(fd, 3), 3);
        (void) close(fd);
}

static void passed_env(const char *pid, const char *n)
{
        assert_int_equal(setenv("LISTEN_PID", pid, 1), 0);
        assert_int_equal(setenv("LISTEN_FDS", n, 1), 0);
}

/* Socket activation: only the one listening SEQPACKET socket bound to our path is taken. */
static void test_usock_listen_passed(void **state)
{
        char *dir = make_tmpdir();
        char path[256], other[256], me[16];
        struct ca_error err = {0};
        struct stat st;
        int fd;
        (void) state;

        (void) snprintf(path, sizeof(path), "%s/admin.sock", dir);
        (void) snprintf(other, sizeof(other), "%s/other.sock", dir);
        (void) snprintf(me, sizeof(me), "%d", (int) getpid());
        /* Nothing passed, or passed to another process (our parent): not ours. */
        (void) unsetenv("LISTEN_PID");
        (void) unsetenv("LISTEN_FDS");
        assert_int_equal(usock_listen_passed(path, 0600, &err), -ENOENT);
        passed_env("1", "1");
        assert_int_equal(usock_listen_passed(path, 0600, &err), -ENOENT);
        assert_null(getenv("LISTEN_FDS"));

        /* A socket bound elsewhere, two sockets, a stream socket, one not listening: refused. */
        at_fd3(usock_listen(other, 0600, &err));
        passed_env(me, "1");
        assert_int_equal(usock_listen_passed(path, 0600, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "not bound to"));
        passed_env(me, "2");
        assert_int_equal(usock_listen_passed(other, 0600, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "passed 2 sockets"));
        (void) close(3);
        at_fd3(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        passed_env(me, "1");
        assert_int_equal(usock_listen_passed(path, 0600, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "not a listening"));
        (void) close(3);

        /* The right one: taken, made 0600, non-blocking, close-on-exec; the variables go. */
        at_fd3(usock_listen(path, 0666, &err));
        passed_env(me, "1");
        fd = usock_listen_passed(path, 0600, &err);
        assert_int_equal(fd, 3);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        assert_null(getenv("LISTEN_PID"));
        assert_null(getenv("LISTEN_FDS"));
        (void) close(fd);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_usock_long_path_and_stale_socket),
                cmocka_unit_test(test_usock_listen_passed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
