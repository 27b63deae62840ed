/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <sodium.h>

#include "error.h"
#include "secret.h"

static int from_pipe(const char *data, size_t len, bool strip, struct ca_secret **ret,
                     struct ca_error *err)
{
        int p[2];
        int r;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(write(p[1], data, len), (ssize_t) len);
        (void) close(p[1]);
        r = secret_read_fd(p[0], strip, ret, err);
        (void) close(p[0]);
        return r;
}

static void test_secret_read_fd(void **state)
{
        struct ca_secret *s = NULL;
        struct ca_secret *t = NULL;
        struct ca_error err = {0};
        (void) state;

        assert_int_equal(from_pipe("hunter2\r\n", 9, true, &s, &err), 0);
        assert_int_equal(s->len, 7);
        assert_memory_equal(s->buf, "hunter2", 7);
        assert_int_equal(s->buf[7], '\0');
        t = secret_new_from("hunter2", 7);
        assert_true(secret_equal(s, t));
        secret_free(t);
        t = secret_new_from("hunter3", 7);
        assert_false(secret_equal(s, t));
        secret_free(t);
        secret_free(s);

        assert_int_equal(from_pipe("a\n", 2, false, &s, &err), 0);
        assert_int_equal(s->len, 2);
        secret_free(s);
        assert_null(secret_free(NULL));
}

static void test_secret_read_fd_too_long(void **state)
{
        struct ca_secret *s = NULL;
        struct ca_error err = {0};
        char path[] = "/tmp/ca-secret.XXXXXX";
        int fd = mkostemp(path, O_CLOEXEC);
        char *big = calloc(1, SECRET_MAX_LEN + 1);
        (void) state;

        assert_true(fd >= 0);
        assert_non_null(big);
        assert_int_equal(write(fd, big, SECRET_MAX_LEN + 1), (ssize_t) (SECRET_MAX_LEN + 1));
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        assert_int_equal(secret_read_fd(fd, false, &s, &err), -EFBIG);
        assert_null(s);
        /* Exactly at the limit is fine. */
        assert_int_equal(ftruncate(fd, (off_t) SECRET_MAX_LEN), 0);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        assert_int_equal(secret_read_fd(fd, false, &s, &err), 0);
        assert_int_equal(s->len, SECRET_MAX_LEN);
        secret_free(s);
        (void) close(fd);
        (void) unlink(path);
        free(big);
        assert_null(secret_new(SECRET_MAX_LEN + 1));
}

/* A small secret comes from the pool: its page is zeroed when freed and given to the next one,
 * and the byte after its NUL is the guard page. */
static void test_secret_pool(void **state)
{
        struct ca_secret *many[40];
        struct ca_secret *s = secret_new_from("topsecret-A", 11);
        struct ca_secret *t;
        const unsigned char *old;
        void *slot;
        pid_t pid;
        int status = 0;
        (void) state;

        assert_non_null(s);
        assert_non_null(s->slot);
        assert_memory_equal(s->buf, "topsecret-A", 12);
        slot = s->slot;
        old = s->buf;
        secret_free(s);
        t = secret_new(5);
        assert_non_null(t);
        assert_ptr_equal(t->slot, slot); /* reused ... */
        for (size_t i = 0; i < 11; i++)
                assert_int_equal(old[i], 0); /* ... and nothing of the last secret is left */
        for (size_t i = 0; i <= 5; i++)
                assert_int_equal(t->buf[i], 0);

        /* One past the NUL is the guard: a write there kills the process. */
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                volatile unsigned char *past = t->buf + t->len + 1;
                /* cmocka catches SIGSEGV and would go on with the tests in this child. */
                (void) signal(SIGSEGV, SIG_DFL);
                *past = 1;
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        secret_free(t);

        /* Larger than a page: its own regions, as before. */
        t = secret_new(20000);
        assert_non_null(t);
        assert_null(t->slot);
        t->buf[19999] = 'x';
        secret_free(t);

        /* More secrets at once than the pool keeps: each is its own page, all freed. */
        for (size_t i = 0; i < 40; i++) {
                many[i] = secret_new_from("k", 1);
                assert_non_null(many[i]);
                for (size_t j = 0; j < i; j++)
                        assert_ptr_not_equal(many[i]->slot, many[j]->slot);
        }
        for (size_t i = 0; i < 40; i++)
                secret_free(many[i]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_secret_read_fd),
                cmocka_unit_test(test_secret_read_fd_too_long),
                cmocka_unit_test(test_secret_pool),
        };
        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
