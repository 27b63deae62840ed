/* SPDX-License-Identifier: MIT */
/* Unit tests for windows/wslargs: Windows paths to WSL's, the command line, wsl.exe's table. */
#include "testutil.h"

#include <errno.h>

#include "../windows/crt-split.h"
#include "wslargs.h"

static bool exists_stub(const char *relative, void *ctx)
{
        (void) ctx;
        return strcmp(relative, "sub\\dir") == 0 || strcmp(relative, "out\\new.tar") == 0;
}

static const struct wsl_paths paths = {
        .distro = "Debian", .mount_root = "/mnt/", .exists = exists_stub, .ctx = NULL};

/* The argument as the distribution gets it, or NULL (refused). */
static char *arg(const char *in)
{
        struct buf out = BUF_INIT;
        const char *why = NULL;
        int r = wsl_translate_arg(&paths, in, &out, &why);

        if (r == -EINVAL) {
                assert_non_null(why);
                buf_clear(&out);
                return NULL;
        }
        assert_int_equal(r, 0);
        return buf_detach(&out, NULL);
}

static void expect(const char *in, const char *want)
{
        char *got = arg(in);

        if (!want) {
                assert_null(got);
                return;
        }
        assert_non_null(got);
        assert_string_equal(got, want);
        free(got);
}

static void test_wslargs_translate(void **state)
{
        (void) state;
        expect("C:\\src\\repo", "/mnt/c/src/repo");
        expect("c:/src/repo", "/mnt/c/src/repo");
        expect("D:\\", "/mnt/d/");
        expect("C:\\Program Files\\x y", "/mnt/c/Program Files/x y");
        expect("\\\\wsl$\\Debian\\home\\u", "/home/u");
        expect("\\\\wsl.localhost\\debian\\etc\\x", "/etc/x");
        expect("//wsl.localhost/Debian/etc", "/etc");
        expect("\\\\wsl$\\Debian", "/");
        expect("\\\\?\\C:\\long\\p", "/mnt/c/long/p");
        expect("\\\\?\\UNC\\wsl$\\Debian\\srv", "/srv");
        expect("--workspace=D:\\w", "--workspace=/mnt/d/w");
        expect("--out=.\\x\\y", "--out=./x/y");
        expect(".\\rel\\p", "./rel/p");
        expect("..\\up", "../up");
        expect("sub\\dir", "sub/dir");
        expect("out\\new.tar", "out/new.tar");
        /* Not paths: byte for byte. */
        expect("not\\there", "not\\there");
        expect("plain", "plain");
        expect("", "");
        expect("C:", "C:");
        expect("C:rel", "C:rel");
        expect("a:b", "a:b");
        expect("//host/posix", "//host/posix");
        expect("/usr/bin", "/usr/bin");
        expect("-x", "-x");
        expect("q\\\"x", "q\\\"x");
        expect("https://example.test/x", "https://example.test/x");
        /* Paths WSL cannot reach: refused. */
        expect("\\\\wsl$\\Ubuntu\\home", NULL);
        expect("\\\\server\\share\\x", NULL);
        expect("--in=\\\\server\\share", NULL);
        expect("\\\\.\\pipe\\x", NULL);
        expect("\\\\?\\Volume{1234}\\x", NULL);
}

static void test_wslargs_mount_root(void **state)
{
        struct wsl_paths p = paths;
        struct buf out = BUF_INIT;
        const char *why = NULL;

        (void) state;
        p.mount_root = "/";
        assert_int_equal(wsl_translate_path(&p, "E:\\data", &out, &why), 1);
        assert_string_equal(out.data, "/e/data");
        buf_reset(&out);
        assert_int_equal(wsl_translate_path(&p, "relative\\x", &out, &why), 0);
        assert_int_equal(out.len, 0);
        buf_clear(&out);
}

/* Quoted into one command line and split by the C runtime's rules: the same bytes. */
static void round_trip(const char *const *args, size_t n)
{
        struct buf line = BUF_INIT;
        char split[4096];
        int got;
        size_t o = 0;

        for (size_t i = 0; i < n; i++)
                assert_int_equal(wsl_quote_arg(&line, args[i]), 0);
        got = crt_split(line.data, split, sizeof(split));
        assert_int_equal(got, (int) n);
        for (size_t i = 0; i < n; i++) {
                assert_string_equal(split + o, args[i]);
                o += strlen(args[i]) + 1;
        }
        buf_clear(&line);
}

static void test_wslargs_quote(void **state)
{
        static const char *const hostile[] = {
                "wsl.exe", "a b", "q\"x", "tail\\", "tail\\\\", "back\\\"q", "\"", "", "\\",
                "\\\\\"\\", "&|<>^%PATH%!", "t\tb", "new\nline", "\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80",
                "$(id);rm -rf /", "--x=\"y z\"", "  lead", "trail  ", "\"\"", "a\\\\b\\"};
        struct buf line = BUF_INIT;
        unsigned seed = 12345;

        (void) state;
        round_trip(hostile, sizeof(hostile) / sizeof(hostile[0]));
        assert_int_equal(wsl_quote_arg(&line, "plain"), 0);
        assert_int_equal(wsl_quote_arg(&line, "C:\\dir\\"), 0);
        assert_string_equal(line.data, "plain C:\\dir\\");
        buf_clear(&line);
        /* Random arguments from the characters that matter. */
        for (int round = 0; round < 2000; round++) {
                static const char alphabet[] = "\\\" \ta\"\\";
                char a[3][12];
                const char *args[3] = {a[0], a[1], a[2]};

                for (int i = 0; i < 3; i++) {
                        size_t len = (seed = seed * 1103515245u + 12345u) >> 16 & 7;

                        for (size_t j = 0; j < len; j++)
                                a[i][j] = alphabet[((seed = seed * 1103515245u + 12345u) >> 16) % 7];
                        a[i][len] = '\0';
                }
                round_trip(args, 3);
        }
}

static void test_wslargs_list(void **state)
{
        static const char table[] =
                "  NAME      STATE           VERSION\r\n"
                "* Debian    Running         2\r\n"
                "  Old-1.x   Stopped         1\r\n"
                "  Ubuntu    En cours d'ex\xc3\xa9" "cution   2\r\n\r\n";
        struct wsl_distro d[4];

        (void) state;
        assert_int_equal(wsl_parse_list(table, strlen(table), d, 4), 3);
        assert_string_equal(d[0].name, "Debian");
        assert_true(d[0].is_default);
        assert_int_equal(d[0].version, 2);
        assert_string_equal(d[1].name, "Old-1.x");
        assert_false(d[1].is_default);
        assert_int_equal(d[1].version, 1);
        assert_string_equal(d[2].name, "Ubuntu");
        assert_int_equal(d[2].version, 2);
        assert_int_equal(wsl_parse_list(table, strlen(table), d, 1), 1);
        assert_int_equal(wsl_parse_list("", 0, d, 4), 0);
        assert_int_equal(wsl_parse_list("NAME STATE VERSION\n", 19, d, 4), 0);
        assert_int_equal(wsl_parse_list("H\n* Debian Running 3\n", 21, d, 4), -EINVAL);
        assert_int_equal(wsl_parse_list("H\n* Deb;ian Running 2\n", 22, d, 4), -EINVAL);
        assert_int_equal(wsl_parse_list("H\n*\n", 4, d, 4), -EINVAL);
        assert_int_equal(wsl_parse_list("H\nDebian2\n", 10, d, 4), -EINVAL);
        assert_int_equal(wsl_parse_list("H\nD\0x Running 2\n", 16, d, 4), -EINVAL);
}

static void test_wslargs_installer(void **state)
{
        static const char script[] = "#!/bin/sh\nBUNDLE_NAME='b.tar.gz'\nBUNDLE_SHA256='ab12'\n"
                                     "BAD='open\nX='x' y\n";
        char v[16];

        (void) state;
        assert_int_equal(wsl_installer_field(script, strlen(script), "BUNDLE_NAME", v, sizeof(v)), 0);
        assert_string_equal(v, "b.tar.gz");
        assert_int_equal(wsl_installer_field(script, strlen(script), "BUNDLE_SHA256", v, sizeof(v)), 0);
        assert_string_equal(v, "ab12");
        assert_int_equal(wsl_installer_field(script, strlen(script), "BUNDLE", v, sizeof(v)), -ENOENT);
        assert_int_equal(wsl_installer_field(script, strlen(script), "BAD", v, sizeof(v)), -EINVAL);
        assert_int_equal(wsl_installer_field(script, strlen(script), "X", v, sizeof(v)), -EINVAL);
        assert_int_equal(wsl_installer_field(script, strlen(script), "BUNDLE_NAME", v, 4), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_wslargs_translate), cmocka_unit_test(test_wslargs_mount_root),
                cmocka_unit_test(test_wslargs_quote), cmocka_unit_test(test_wslargs_list),
                cmocka_unit_test(test_wslargs_installer),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
