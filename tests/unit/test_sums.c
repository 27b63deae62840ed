/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/sums: the strict SHA256SUMS parser and path rules. */
#include "testutil.h"

#include <errno.h>

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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sums_parse),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
