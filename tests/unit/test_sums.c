/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/sums: the strict SHA256SUMS parser and path rules. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "sums.h"

#define H "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static int parse(const char *s, struct sums *out, struct ca_error *err)
{
        return sums_parse(s, strlen(s), out, err);
}

static void test_sums_parse(void **state)
{
        struct sums s;
        struct ca_error err = {0};
        static const char *const bad[] = {
                H " a\n",                  /* one space */
                H "  b\n" H "  a\n",       /* not sorted */
                H "  a\n" H "  a\n",       /* duplicate */
                H "  ../x\n",             /* escape */
                H "  /abs\n",             /* absolute */
                H "  a//b\n",             /* empty component */
                H "  a/./b\n",            /* dot component */
                H "  a\\b\n",             /* backslash */
                H "  a",                  /* no final newline */
                "E3B0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  a\n",
                "zz  a\n",
        };
        (void) state;

        assert_int_equal(parse(H "  bin/coding-agents\n" H "  share/doc/README.md\n", &s, &err), 0);
        assert_int_equal(s.n, 2);
        assert_string_equal(s.e[1].path, "share/doc/README.md");
        assert_int_equal(s.e[0].sha256[0], 0xe3);
        sums_clear(&s);
        assert_int_equal(parse("", &s, &err), 0);
        assert_int_equal(s.n, 0);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (parse(bad[i], &s, &err) != -EINVAL)
                        fail_msg("accepted: %s", bad[i]);
                assert_true(err.bad_input);
                assert_int_equal(strncmp(err.msg, "SHA256SUMS:", 11), 0);
        }
        assert_true(sums_valid_path("a/b.c"));
        assert_true(sums_valid_path("..a"));
        assert_false(sums_valid_path("a/.."));
        assert_false(sums_valid_path(""));
}

/* A file of `size` bytes of `fill` at `dir`/`name`. */
static void put(const char *dir, const char *name, size_t size, int fill)
{
        char path[512];
        char *data = malloc(size + 1);
        int fd;

        assert_non_null(data);
        memset(data, fill, size);
        (void) snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, size), (ssize_t) size);
        assert_int_equal(close(fd), 0);
        free(data);
}

/*
 * Hashing runs largest file first, on one thread or several: whichever, each file's result
 * lands on its own line (a mix-up between the order hashed and the order listed would report
 * the wrong names).
 */
static void test_sums_dir(void **state)
{
        static const unsigned threads[] = {0, 1, 2, 5};
        char *dir = make_tmpdir();
        char sub[512];
        struct ca_error err = {0};
        (void) state;

        (void) snprintf(sub, sizeof(sub), "%s/bin", dir);
        assert_int_equal(mkdir(sub, 0755), 0);
        put(dir, "a-small", 10, 'a');
        put(dir, "bin/big", 300000, 'b');
        put(dir, "bin/empty", 0, 'c');
        put(dir, "m-medium", 70000, 'm');
        put(dir, "z-tiny", 1, 'z');
        assert_int_equal(sums_write_dir(dir, NULL, 0, &err), 0);
        for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
                struct sums_report rep;

                assert_int_equal(sums_verify_dir(dir, threads[t], &rep, &err), 0);
                assert_int_equal(rep.checked, 5);
                sums_report_clear(&rep);
        }
        /* Changed: the largest and the smallest; gone: the middle one; new: one more. */
        put(dir, "bin/big", 300000, 'B');
        put(dir, "z-tiny", 1, 'Z');
        put(dir, "new", 5, 'n');
        (void) snprintf(sub, sizeof(sub), "%s/m-medium", dir);
        assert_int_equal(unlink(sub), 0);
        for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
                struct sums_report rep;

                assert_int_equal(sums_verify_dir(dir, threads[t], &rep, &err), 1);
                assert_int_equal(rep.problems, 4);
                assert_string_equal(rep.text.data, "mismatch: bin/big\n"
                                                   "missing: m-medium\n"
                                                   "mismatch: z-tiny\n"
                                                   "unlisted: new\n");
                sums_report_clear(&rep);
        }
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sums_parse),
                cmocka_unit_test(test_sums_dir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
