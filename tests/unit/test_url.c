/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>

#include "url.h"

static void test_url_parse_accepts(void **state)
{
        struct url u;
        (void) state;

        assert_int_equal(url_parse("https://API.Example.com/mcp/v1?x=1", &u, NULL), 0);
        assert_true(u.https);
        assert_string_equal(u.host, "api.example.com");
        assert_int_equal(u.port, 443);
        assert_false(u.port_explicit);
        assert_int_equal(u.path_len, 7);
        assert_memory_equal(u.path, "/mcp/v1", 7);
        assert_int_equal(u.query_len, 3);
        assert_int_equal(url_parse("http://127.0.0.1:8080", &u, NULL), 0);
        assert_int_equal(u.port, 8080);
        assert_int_equal(u.path_len, 0);
        assert_int_equal(url_parse("https://[2001:db8::10]:8443/", &u, NULL), 0);
        assert_true(u.host_ipv6);
        assert_string_equal(u.host, "2001:db8::10");
}

static void test_url_parse_rejects(void **state)
{
        static const char *const bad[] = {
                "ftp://h/",          "https://",           "https://u:p@h/",
                "https://h:0/",      "https://h:65536/",   "https://h:/",
                "https://h/a b",     "https://h/#frag",    "https://h\\@evil/",
                "https://-h/",       "https://h_/",        "https://h/%zz",
                "https://[::1/",     "https://010.0.0.1/", "https://h..x/",
                "https://h/\xc3\xa9",
        };
        struct url u;
        const char *why = NULL;
        (void) state;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (url_parse(bad[i], &u, &why) != -EINVAL)
                        fail_msg("accepted '%s'", bad[i]);
                assert_non_null(why);
        }
        assert_true(url_is_dns_name("a-b.c0", 6));
        assert_false(url_is_dns_name("a-.b", 4));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_url_parse_accepts),
                cmocka_unit_test(test_url_parse_rejects),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
