/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/sandbox: placeholder expansion, command lookup, the seccomp filter. */
#include "testutil.h"

#include <errno.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "sandbox.h"
#include "secret.h"
#include "spawn.h"

#include <sodium.h>

static void test_expand(void **state)
{
        struct ca_secret *a = secret_new_from("alpha", 5);
        struct ca_secret *b = secret_new_from("b$b", 3);
        const struct sandbox_secret s[] = {{"API_KEY", a}, {"B", b}};
        struct buf out = BUF_INIT;
        const char *missing = NULL;
        size_t mlen = 0;
        (void) state;

        assert_int_equal(sandbox_expand("--key=${API_KEY} $B $$B ${B}x $BX", s, 2, &out, &missing,
                                        &mlen),
                         -ENOENT);
        assert_int_equal(mlen, 2);
        assert_memory_equal(missing, "BX", 2);
        buf_reset(&out);
        assert_int_equal(sandbox_expand("--key=${API_KEY} $B $$B ${B}x", s, 2, &out, &missing, &mlen),
                         0);
        assert_string_equal(out.data, "--key=alpha b$b $B b$bx");
        buf_reset(&out);
        assert_int_equal(sandbox_expand("plain", s, 2, &out, &missing, &mlen), 0);
        assert_string_equal(out.data, "plain");
        buf_reset(&out);
        assert_int_equal(sandbox_expand("${unterminated", s, 2, &out, &missing, &mlen), -EINVAL);
        buf_reset(&out);
        assert_int_equal(sandbox_expand("$ alone", s, 2, &out, &missing, &mlen), -EINVAL);
        buf_clear(&out);
        secret_free(a);
        secret_free(b);
}

static void test_find_command(void **state)
{
        char *p;
        (void) state;

        p = spawn_find_command("sh");
        assert_non_null(p);
        assert_true(strcmp(p, "/usr/bin/sh") == 0 || strcmp(p, "/bin/sh") == 0);
        free(p);
        p = spawn_find_command("/custom/path");
        assert_string_equal(p, "/custom/path");
        free(p);
        assert_null(spawn_find_command("no-such-command-anywhere"));
        assert_null(spawn_find_command(""));
}

static void test_seccomp_denies(void **state)
{
        struct ca_error err = {0};
        void *f = sandbox_seccomp_build(&err);
        pid_t pid;
        int st;
        (void) state;

        assert_non_null(f);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                /* In the child: once loaded, ptrace and mount fail with EPERM, clone3 with
                 * ENOSYS, ordinary calls work. */
                if (sandbox_seccomp_load(f) < 0)
                        _exit(10);
                if (syscall(SYS_ptrace, 0, 0, 0, 0) != -1 || errno != EPERM)
                        _exit(11);
                if (syscall(SYS_mount, "none", "/", "tmpfs", 0, NULL) != -1 || errno != EPERM)
                        _exit(12);
                if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
                        _exit(13);
                if (getpid() <= 0)
                        _exit(14);
                /* Another process's descriptors and memory advice; personality flags. */
                if (syscall(SYS_pidfd_getfd, 0, 0, 0) != -1 || errno != EPERM)
                        _exit(15);
                if (syscall(SYS_process_madvise, 0, NULL, 0, 0, 0) != -1 || errno != EPERM)
                        _exit(16);
                if (syscall(SYS_personality, 0x0040000UL) != -1 || errno != EPERM)
                        _exit(17);
                if (syscall(SYS_personality, 0xffffffffUL) != -1 || errno != EPERM)
                        _exit(18);
                if (syscall(SYS_personality, 0UL) < 0)
                        _exit(19);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
        sandbox_seccomp_free(f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_expand),
                cmocka_unit_test(test_find_command),
                cmocka_unit_test(test_seccomp_denies),
        };

        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
