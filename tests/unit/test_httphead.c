/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>
#include <string.h>

#include "httphead.h"

static void test_httphead_complete(void **state)
{
        /* What dockerd answers to an attach with "Upgrade: tcp", and the stream after it. */
        static const char up[] = "HTTP/1.1 101 UPGRADED\r\nContent-Type: "
                                 "application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\n"
                                 "Upgrade: tcp\r\n\r\nhello";
        int status = 0;
        (void) state;

        assert_int_equal(httphead_parse(up, strlen(up), &status), (int) strlen(up) - 5);
        assert_int_equal(status, 101);
        assert_int_equal(httphead_parse("HTTP/1.0 404 Not Found\r\n\r\n", 26, &status), 26);
        assert_int_equal(status, 404);
}

static void test_httphead_partial_and_bad(void **state)
{
        static const char *const bad[] = {
                "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "GET / HTTP/1.1\r\n\r\n",
                "HTTP/1.1 200 OK\n\r\n", "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
                "HTTP/1.1 200 OK\r\nX: \001\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n",
        };
        char big[HTTPHEAD_MAX + 10];
        int status = 0;
        (void) state;

        assert_int_equal(httphead_parse("HTTP/1.1 10", 11, &status), 0);
        assert_int_equal(httphead_parse("HTTP/1.1 101 UP\r\nA: b\r\n", 23, &status), 0);
        assert_int_equal(httphead_parse("", 0, &status), 0);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (httphead_parse(bad[i], strlen(bad[i]), &status) != -EPROTO)
                        fail_msg("accepted '%s'", bad[i]);
        static const char line[] = "HTTP/1.1 200 OK\r\n";

        memset(big, 'a', sizeof(big));
        for (size_t i = 0; i + 1 < sizeof(line); i++)
                big[i] = line[i];
        assert_int_equal(httphead_parse(big, sizeof(big), &status), -EMSGSIZE);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_httphead_complete),
                cmocka_unit_test(test_httphead_partial_and_bad),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
