/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
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

static void test_httphead_fields(void **state)
{
        static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type:  text/event-stream \r\n"
                                   "X-Empty:\r\nmcp-session-id:abc\r\n\r\n";
        static const char *const bad[] = {
                "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
                "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
                "HTTP/1.1 200 OK\r\nName : blank before colon\r\n\r\n",
                "HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
                "HTTP/1.1 200 OK\r\nA(b): c\r\n\r\n",
        };
        struct httphead_field f;
        size_t pos = 0;
        (void) state;

        assert_int_equal(httphead_next(head, sizeof(head) - 1, &pos, &f), 1);
        assert_true(httphead_is(&f, "content-type"));
        assert_int_equal(f.value_len, 17);
        assert_memory_equal(f.value, "text/event-stream", 17);
        assert_int_equal(httphead_next(head, sizeof(head) - 1, &pos, &f), 1);
        assert_true(httphead_is(&f, "X-EMPTY"));
        assert_int_equal(f.value_len, 0);
        assert_int_equal(httphead_next(head, sizeof(head) - 1, &pos, &f), 1);
        assert_memory_equal(f.value, "abc", 3);
        assert_false(httphead_is(&f, "mcp-session"));
        assert_int_equal(httphead_next(head, sizeof(head) - 1, &pos, &f), 0);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int r;

                pos = 0;
                while ((r = httphead_next(bad[i], strlen(bad[i]), &pos, &f)) > 0)
                        ;
                if (r != -EPROTO)
                        fail_msg("accepted '%s'", bad[i]);
        }
}

static void framing_of(const char *head, int status, bool head_request, int want_r,
                       enum httphead_framing want, uint64_t want_len, bool want_reuse)
{
        enum httphead_framing fr = HTTPHEAD_NO_BODY;
        uint64_t len = 99;
        bool reuse = !want_reuse;
        int r = httphead_framing(head, strlen(head), status, head_request, &fr, &len, &reuse);

        if (r != want_r)
                fail_msg("'%s': %d, not %d", head, r, want_r);
        if (r == 0 && (fr != want || len != want_len || reuse != want_reuse))
                fail_msg("'%s': framing %d len %llu reuse %d", head, (int) fr,
                         (unsigned long long) len, (int) reuse);
}

static void test_httphead_framing(void **state)
{
        (void) state;
        framing_of("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", 200, false, 0,
                   HTTPHEAD_LENGTH, 12, true);
        framing_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n", 200, false, 0,
                   HTTPHEAD_CHUNKED, 0, true);
        framing_of("HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 1\r\n\r\n",
                   200, false, 0, HTTPHEAD_LENGTH, 1, false);
        framing_of("HTTP/1.1 200 OK\r\n\r\n", 200, false, 0, HTTPHEAD_UNTIL_CLOSE, 0, false);
        framing_of("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n", 200, false, 0,
                   HTTPHEAD_LENGTH, 3, false);
        framing_of("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n", 204, false, 0,
                   HTTPHEAD_NO_BODY, 0, true);
        framing_of("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", 200, true, 0,
                   HTTPHEAD_NO_BODY, 0, true);
        framing_of("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", 200,
                   false, 0, HTTPHEAD_LENGTH, 3, true);
        /* What a smuggler or a confused server sends: refused, never guessed. */
        framing_of("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 200,
                   false, -EPROTO, HTTPHEAD_NO_BODY, 0, false);
        framing_of("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                   200, false, -EPROTO, HTTPHEAD_NO_BODY, 0, false);
        framing_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 200, false,
                   -EPROTO, HTTPHEAD_NO_BODY, 0, false);
        framing_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                   200, false, -EPROTO, HTTPHEAD_NO_BODY, 0, false);
        framing_of("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 200, false, -EPROTO,
                   HTTPHEAD_NO_BODY, 0, false);
        framing_of("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n", 200, false, -EPROTO,
                   HTTPHEAD_NO_BODY, 0, false);
        framing_of("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", 200, false,
                   -EPROTO, HTTPHEAD_NO_BODY, 0, false);
}

/* Decodes `in` fed `step` bytes at a time; the body into out, the status of the last step. */
static int dechunk(const char *in, size_t len, size_t step, char *out, size_t *out_len)
{
        struct httphead_chunked c = {0};
        size_t at = 0;

        *out_len = 0;
        while (at < len) {
                size_t n = len - at < step ? len - at : step, used = 0;

                while (used < n) {
                        size_t consumed, off, dlen;
                        int r = httphead_chunked_step(&c, in + at + used, n - used, &consumed,
                                                      &off, &dlen);

                        assert_true(consumed <= n - used);
                        assert_true(off + dlen <= n - used);
                        memcpy(out + *out_len, in + at + used + off, dlen);
                        *out_len += dlen;
                        used += consumed;
                        if (r != 0)
                                return r;
                }
                at += n;
        }
        return 0;
}

static void test_httphead_chunked(void **state)
{
        static const char body[] = "5\r\nhello\r\n1;name=\"x\"\r\n \r\n10\r\n0123456789abcdef\r\n"
                                   "0\r\nTrailer: yes\r\n\r\nNEXT";
        static const char *const bad[] = {
                "x\r\n", "\r\n", "5\nhello\r\n", "5\r\nhelloX\r\n", "2\r\nab\r\n0\r\n\rX",
                "1\r\na\r\n0\r\n folded\r\n\r\n", "1;\001\r\n", "-1\r\n",
        };
        char out[64], big[8192];
        size_t n;
        (void) state;

        for (size_t step = 1; step <= sizeof(body); step++) {
                assert_int_equal(dechunk(body, sizeof(body) - 1, step, out, &n), 1);
                assert_int_equal(n, 22);
                assert_memory_equal(out, "hello 0123456789abcdef", 22);
        }
        /* Incomplete is not an error: more may come. */
        assert_int_equal(dechunk("5\r\nhel", 6, 64, out, &n), 0);
        assert_int_equal(n, 3);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (dechunk(bad[i], strlen(bad[i]), 64, out, &n) != -EPROTO)
                        fail_msg("accepted '%s'", bad[i]);
        }
        assert_int_equal(dechunk("11111111111111111\r\n", 19, 64, out, &n), -EMSGSIZE);
        memset(big, 'a', sizeof(big));
        big[0] = '1';
        big[1] = ';';
        assert_int_equal(dechunk(big, sizeof(big), 64, out, &n), -EMSGSIZE);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_httphead_complete),
                cmocka_unit_test(test_httphead_partial_and_bad),
                cmocka_unit_test(test_httphead_fields),
                cmocka_unit_test(test_httphead_framing),
                cmocka_unit_test(test_httphead_chunked),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
