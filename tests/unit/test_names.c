/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/names: the names and placeholders both sides of the boundary agree on. */
#include "testutil.h"

#include <errno.h>

#include "names.h"

static bool secret(const char *s)
{
        return names_secret_ok(s, strlen(s));
}

static void test_names_secret(void **state)
{
        char long_name[130];
        (void) state;

        assert_true(secret("GITHUB_TOKEN"));
        assert_true(secret("_x9"));
        assert_true(secret("lower_case"));
        assert_false(secret(""));
        assert_false(secret("9LIVES"));
        assert_false(secret("A-B"));
        assert_false(secret("A B"));
        assert_false(secret("A=B"));
        assert_false(names_secret_ok("AB", 3)); /* the length counts the NUL: not a name */
        memset(long_name, 'A', sizeof(long_name) - 1);
        long_name[128] = '\0';
        assert_true(secret(long_name));
        long_name[128] = 'A';
        long_name[129] = '\0';
        assert_false(secret(long_name));
}

static void test_names_reserved(void **state)
{
        (void) state;
        assert_true(names_reserved_secret("AGENT_CLAUDE"));
        assert_true(names_reserved_secret("CODING_AGENTS_X"));
        assert_false(names_reserved_secret("AGENTS"));
        assert_false(names_reserved_secret("GH_TOKEN"));
        assert_true(names_launcher_stub("agent-cli"));
        assert_true(names_launcher_stub("model-api"));
        assert_false(names_launcher_stub("github"));
}

static void test_names_server(void **state)
{
        (void) state;
        assert_true(names_server_ok("github", 6));
        assert_true(names_server_ok("0x_a-b", 6));
        assert_true(names_server_ok("abcdefghijklmnopqrstuv", NAMES_SERVER_MAX));
        assert_false(names_server_ok("abcdefghijklmnopqrstuvw", NAMES_SERVER_MAX + 1));
        assert_false(names_server_ok("", 0));
        assert_false(names_server_ok("-x", 2));
        assert_false(names_server_ok("_x", 2));
        assert_false(names_server_ok("GitHub", 6));
        assert_false(names_server_ok("a/b", 3));
        assert_false(names_server_ok("a.b", 3));
        assert_false(names_server_ok("ab", 3)); /* embedded NUL / wrong length */
}

static void test_names_pin_trust(void **state)
{
        (void) state;
        assert_true(names_pin_ok("sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
        assert_false(names_pin_ok("sha256//AAAA"));
        assert_false(names_pin_ok("sha1//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
        assert_false(names_pin_ok("sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=x"));
        assert_true(names_trust_ok("corp-ca.v2"));
        assert_false(names_trust_ok(".hidden"));
        assert_false(names_trust_ok("-x"));
        assert_false(names_trust_ok("../etc"));
        assert_false(names_trust_ok("Upper"));
        assert_false(names_trust_ok(""));
}

struct seen {
        char names[8][32];
        size_t n;
};

static int collect(void *userdata, const char *name, size_t len)
{
        struct seen *s = userdata;

        if (s->n == 8 || len >= 32)
                return -E2BIG;
        memcpy(s->names[s->n], name, len);
        s->names[s->n++][len] = '\0';
        return 0;
}

static void test_names_placeholders(void **state)
{
        static const struct {
                const char *s;
                const char *why; /* NULL: accepted */
                size_t offset;
        } bad[] = {
                {"x ${A", "unterminated", 2},
                {"${}", "empty", 0},
                {"${A:-b}", "defaults", 0},
                {"${9}", "secret name", 0},
                {"a $-", "'$' must start", 2},
                {"$", "'$' must start", 0},
        };
        struct seen s = {0};
        const char *why = NULL;
        size_t off = 0;
        (void) state;

        assert_int_equal(names_scan_placeholders("--token=${GH} $HOME/x $$NOT ${B_2}", collect,
                                                 &s, &why, &off),
                         0);
        assert_int_equal(s.n, 3);
        assert_string_equal(s.names[0], "GH");
        assert_string_equal(s.names[1], "HOME");
        assert_string_equal(s.names[2], "B_2");
        assert_int_equal(names_scan_placeholders("no placeholders", NULL, NULL, NULL, NULL), 0);
        for (size_t i = 0; i < CA_ELEMENTSOF(bad); i++) {
                why = NULL;
                assert_int_equal(names_scan_placeholders(bad[i].s, NULL, NULL, &why, &off), -EINVAL);
                assert_non_null(strstr(why, bad[i].why));
                assert_int_equal(off, bad[i].offset);
        }
        /* The callback's failure is the scan's. */
        s.n = 8;
        assert_int_equal(names_scan_placeholders("${A}", collect, &s, NULL, NULL), -E2BIG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names_secret),
                cmocka_unit_test(test_names_reserved),
                cmocka_unit_test(test_names_server),
                cmocka_unit_test(test_names_pin_trust),
                cmocka_unit_test(test_names_placeholders),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
