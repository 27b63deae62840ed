/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/sse: the incremental text/event-stream reader. */
#include "testutil.h"

#include <errno.h>

#include "sse.h"

struct got {
        char events[8][256];
        size_t n;
};

static int collect(void *userdata, const char *ev, size_t len)
{
        struct got *g = userdata;

        assert_true(g->n < 8);
        assert_true(len < sizeof(g->events[0]));
        memcpy(g->events[g->n], ev, len);
        g->events[g->n][len] = '\0';
        g->n++;
        return 0;
}

static void test_split_any_chunking(void **state)
{
        const char *stream = ": comment\r\n\r\nevent: endpoint\r\ndata: /m?s=1\r\n\r\n"
                             "data: a\rdata: b\r\rid: 7\ndata: c\n\n";
        size_t len = strlen(stream);
        (void) state;

        /* Fed whole, byte by byte, and split at every position: the same events. */
        for (size_t cut = 0; cut <= len; cut++) {
                struct sse_parser p;
                struct got g = {0};

                sse_init(&p, 1024);
                assert_int_equal(sse_feed(&p, stream, cut, collect, &g), 0);
                assert_int_equal(sse_feed(&p, stream + cut, len - cut, collect, &g), 0);
                assert_int_equal(g.n, 4);
                assert_string_equal(g.events[0], ": comment\n\n");
                assert_string_equal(g.events[1], "event: endpoint\ndata: /m?s=1\n\n");
                assert_string_equal(g.events[2], "data: a\ndata: b\n\n");
                assert_string_equal(g.events[3], "id: 7\ndata: c\n\n");
                sse_clear(&p);
        }
        {
                struct sse_parser p;
                struct got g = {0};

                sse_init(&p, 1024);
                for (size_t i = 0; i < len; i++)
                        assert_int_equal(sse_feed(&p, stream + i, 1, collect, &g), 0);
                assert_int_equal(g.n, 4);
                sse_clear(&p);
        }
}

static void test_fields_and_limits(void **state)
{
        struct sse_parser p;
        struct got g = {0};
        struct buf data = BUF_INIT;
        char type[16];
        char big[300];
        (void) state;

        assert_int_equal(sse_event_fields("event: endpoint\ndata: /a\ndata:b\n\n", 33, type,
                                          sizeof(type), &data),
                         0);
        assert_string_equal(type, "endpoint");
        assert_string_equal(data.data, "/a\nb");
        assert_int_equal(data.len, 4);
        assert_int_equal(sse_event_fields("data: x\n\n", 9, type, sizeof(type), &data), 0);
        assert_string_equal(type, "message");
        assert_int_equal(sse_event_fields("event: 0123456789abcdefXYZ\n\n", 28, type, sizeof(type),
                                          &data),
                         -ENAMETOOLONG);
        buf_clear(&data);

        /* An event over the cap is refused, even without a line end in sight. */
        memset(big, 'x', sizeof(big));
        sse_init(&p, 64);
        assert_int_equal(sse_feed(&p, "data: ", 6, collect, &g), 0);
        assert_int_equal(sse_feed(&p, big, sizeof(big), collect, &g), -EMSGSIZE);
        sse_clear(&p);
        /* Exactly at the cap passes. */
        sse_init(&p, 10);
        assert_int_equal(sse_feed(&p, "data: 12\n\n", 10, collect, &g), 0);
        assert_int_equal(g.n, 1);
        sse_clear(&p);
}

static int stop(void *userdata, const char *ev, size_t len)
{
        (void) userdata;
        (void) ev;
        (void) len;
        return -EPERM;
}

static void test_callback_stops(void **state)
{
        struct sse_parser p;
        (void) state;

        sse_init(&p, 100);
        assert_int_equal(sse_feed(&p, "data: 1\n\ndata: 2\n\n", 18, stop, NULL), -EPERM);
        sse_clear(&p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_split_any_chunking),
                cmocka_unit_test(test_fields_and_limits),
                cmocka_unit_test(test_callback_stops),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
