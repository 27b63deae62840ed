/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/helper_http: mcp-helper's request checks. */
#include "testutil.h"

#include "helper_http.h"

static void test_paths(void **state)
{
        static const char *const ok[] = {"/api/mcp", "/api/", "/api", "/api/a/b", "/api/a%20b",
                                         "/api/x~y_z-1.2", "/api/a:b@c", "/api/%C3%A9", NULL};
        static const char *const bad[] = {"api/mcp", "/api/../x", "/api/..", "/api/.",
                                          "/api/./x", "/api//x", "/api/%2e%2e/x", "/api/%2E/x",
                                          "/api/x%2fy", "/api/x%2Fy", "/api/x%5cy", "/api/x%25y",
                                          "/api/x%00", "/api/x%1f", "/api/x%7f", "/api/x%g0",
                                          "/api/x%2", "/api/x\\y", "/api/x y", "/api/x\"y",
                                          "/api/x#y", "/api/x?y", "/other", "/apix", "/", "",
                                          NULL};
        (void) state;

        for (const char *const *p = ok; *p; p++)
                assert_true(helper_path_ok(*p, "/api/"));
        for (const char *const *p = bad; *p; p++) {
                if (helper_path_ok(*p, "/api/"))
                        fail_msg("accepted '%s'", *p);
        }
        assert_true(helper_path_ok("/anything/at/all", "/"));
        assert_false(helper_path_ok("/x/../y", "/"));
        /* A malformed base refuses everything. */
        assert_false(helper_path_ok("/api/mcp", "/api"));
        assert_false(helper_path_ok("/api/mcp", ""));
}

static void test_query_host_method(void **state)
{
        (void) state;
        assert_true(helper_query_ok("sessionId=abc-123&x=%20"));
        assert_true(helper_query_ok("a=/b?c"));
        assert_false(helper_query_ok("a=%00"));
        assert_false(helper_query_ok("a=%zz"));
        assert_false(helper_query_ok("a b"));
        assert_false(helper_query_ok("a=\"x\""));

        assert_true(helper_host_ok("127.0.0.1:52100", 52100));
        assert_true(helper_host_ok("localhost:52100", 52100));
        assert_true(helper_host_ok("LOCALHOST:52100", 52100));
        assert_true(helper_host_ok("[::1]:52100", 52100));
        assert_false(helper_host_ok("127.0.0.1", 52100));
        assert_false(helper_host_ok("127.0.0.1:52101", 52100));
        assert_false(helper_host_ok("127.0.0.1:521000", 52100));
        assert_false(helper_host_ok("evil.test:52100", 52100));
        assert_false(helper_host_ok("127.0.0.1.evil.test:52100", 52100));
        assert_false(helper_host_ok(NULL, 52100));

        assert_true(helper_method_ok("GET"));
        assert_true(helper_method_ok("POST"));
        assert_true(helper_method_ok("DELETE"));
        assert_false(helper_method_ok("get"));
        assert_false(helper_method_ok("CONNECT"));
        assert_false(helper_method_ok("PUT"));
        assert_int_equal(helper_verdict_status(HELPER_BAD_METHOD), 405);
        assert_int_equal(helper_verdict_status(HELPER_BAD_HOST), 421);
        assert_int_equal(helper_verdict_status(HELPER_UPGRADE), 400);
}

static void test_accept(void **state)
{
        const char *sse = "text/event-stream";
        (void) state;

        assert_int_equal(helper_accept_quality(NULL, sse), 1000);
        assert_int_equal(helper_accept_quality("", sse), 1000);
        assert_int_equal(helper_accept_quality("text/event-stream", sse), 1000);
        assert_int_equal(helper_accept_quality("application/json, text/event-stream", sse), 1000);
        assert_int_equal(helper_accept_quality("TEXT/Event-Stream;q=0.5", sse), 500);
        assert_int_equal(helper_accept_quality("application/json", sse), 0);
        assert_int_equal(helper_accept_quality("*/*", sse), 1000);
        assert_int_equal(helper_accept_quality("text/*;q=0.25", sse), 250);
        /* The most specific range wins: an explicit q=0 refuses despite a wildcard. */
        assert_int_equal(helper_accept_quality("*/*, text/event-stream;q=0", sse), 0);
        assert_int_equal(helper_accept_quality("text/*;q=0, text/event-stream", sse), 1000);
        /* Not a prefix match, malformed q ignored. */
        assert_int_equal(helper_accept_quality("text/event-streamx", sse), 0);
        assert_int_equal(helper_accept_quality("text/event-stream;q=2", sse), 0);
        assert_int_equal(helper_accept_quality("text/event-stream; charset=utf-8 ; q=0.9", sse),
                         900);
}

static void test_headers_and_token(void **state)
{
        const uint8_t tok[] = "0123456789abcdef0123";
        (void) state;

        assert_true(helper_forward_request_header("Mcp-Session-Id"));
        assert_true(helper_forward_request_header("MCP-Protocol-Version"));
        assert_true(helper_forward_request_header("accept"));
        assert_false(helper_forward_request_header("Authorization"));
        assert_false(helper_forward_request_header("Host"));
        assert_false(helper_forward_request_header("Cookie"));
        assert_false(helper_forward_request_header("Proxy-Authorization"));
        assert_false(helper_forward_request_header("Transfer-Encoding"));
        assert_true(helper_forward_response_header("Content-Type"));
        assert_false(helper_forward_response_header("Set-Cookie"));
        assert_false(helper_forward_response_header("Location"));

        assert_true(helper_token_ok("Bearer 0123456789abcdef0123", tok, sizeof(tok) - 1));
        assert_true(helper_token_ok("bearer 0123456789abcdef0123", tok, sizeof(tok) - 1));
        assert_false(helper_token_ok("Bearer 0123456789abcdef012", tok, sizeof(tok) - 1));
        assert_false(helper_token_ok("Bearer 0123456789abcdef01234", tok, sizeof(tok) - 1));
        assert_false(helper_token_ok("Basic 0123456789abcdef0123", tok, sizeof(tok) - 1));
        assert_false(helper_token_ok("Bearer", tok, sizeof(tok) - 1));
        assert_false(helper_token_ok(NULL, tok, sizeof(tok) - 1));
        assert_false(helper_token_ok("Bearer ", tok, 0));
}

static void test_endpoint_rewrite(void **state)
{
        const char *origin = "https://mcp.example.com:8443";
        char out[256];
        (void) state;

        assert_true(helper_rewrite_endpoint("/messages?sessionId=1", origin, "/", out, sizeof(out)));
        assert_string_equal(out, "/messages?sessionId=1");
        assert_true(helper_rewrite_endpoint("https://mcp.example.com:8443/v1/msg?s=2", origin,
                                            "/v1/", out, sizeof(out)));
        assert_string_equal(out, "/v1/msg?s=2");
        assert_false(helper_rewrite_endpoint("https://evil.example/messages", origin, "/", out,
                                             sizeof(out)));
        assert_false(helper_rewrite_endpoint("https://mcp.example.com:8443.evil/x", origin, "/",
                                             out, sizeof(out)));
        assert_false(helper_rewrite_endpoint("https://mcp.example.com/x", origin, "/", out,
                                             sizeof(out)));
        assert_false(helper_rewrite_endpoint("//evil.example/x", origin, "/", out, sizeof(out)));
        assert_false(helper_rewrite_endpoint("/v2/msg", origin, "/v1/", out, sizeof(out)));
        assert_false(helper_rewrite_endpoint("/v1/../admin", origin, "/v1/", out, sizeof(out)));
        assert_false(helper_rewrite_endpoint("messages", origin, "/", out, sizeof(out)));
        assert_false(helper_rewrite_endpoint("/m?x=%00", origin, "/", out, sizeof(out)));
        assert_false(helper_rewrite_endpoint("/messages", origin, "/", out, 4));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_paths),
                cmocka_unit_test(test_query_host_method),
                cmocka_unit_test(test_accept),
                cmocka_unit_test(test_headers_and_token),
                cmocka_unit_test(test_endpoint_rewrite),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
