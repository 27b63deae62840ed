/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/proxylog: squid access-log and dnsmasq lines into events. */
#include "testutil.h"

#include <errno.h>

#include "json.h"
#include "proxylog.h"

#define DENY_LINE "1795838692.609 192.0.2.1 GET ten.test 80 - 403 TCP_DENIED " \
                  "ERR_CA_PRIVATE_ADDRESS - 241 555 151"

static int feed_access(struct proxylog *pl, const char *line, const char **type, json_t **f)
{
        return proxylog_feed_access(pl, line, strlen(line), type, f);
}

static int feed_dns(struct proxylog *pl, const char *line, const char **type, json_t **f)
{
        return proxylog_feed_dns(pl, line, strlen(line), type, f);
}

static const char *str(const json_t *o, const char *key)
{
        return json_string_value(json_object_get(o, key));
}

static void test_parse_access(void **state)
{
        struct proxylog_access a;
        (void) state;

        assert_int_equal(proxylog_parse_access(DENY_LINE, strlen(DENY_LINE), &a), 0);
        assert_string_equal(a.client, "192.0.2.1");
        assert_string_equal(a.method, "GET");
        assert_string_equal(a.host, "ten.test");
        assert_int_equal(a.port, 80);
        assert_string_equal(a.server, "");
        assert_int_equal(a.status, 403);
        assert_string_equal(a.err_code, "ERR_CA_PRIVATE_ADDRESS");
        assert_int_equal(a.request_length, -1);
        assert_int_equal(a.upstream_body, 241);
        assert_int_equal(a.reply_bytes, 555);

        /* IPv6 literals are logged percent-encoded with brackets. */
        {
                const char *l = "1.000 ::1 GET %5B64:ff9b::a00:5%5D 80 - 403 TCP_DENIED "
                                "ERR_CA_EMBEDDED_IPV4 - 276 588 161";
                assert_int_equal(proxylog_parse_access(l, strlen(l), &a), 0);
                assert_string_equal(a.host, "64:ff9b::a00:5");
                assert_string_equal(a.client, "::1");
        }
        /* A connection that sent nothing. */
        {
                const char *l = "1.000 127.0.0.1 - - - - 0 NONE_NONE ERR_CLIENT_GONE - - 0 0";
                assert_int_equal(proxylog_parse_access(l, strlen(l), &a), 0);
                assert_int_equal(a.port, 0);
        }
        /* Malformed: missing field, extra field, double space, bad number, bad escape. */
        {
                const char *bad[] = {
                        "1.0 1.2.3.4 GET h 80 - 403 TCP_DENIED - - 1 2",
                        "1.0 1.2.3.4 GET h 80 - 403 TCP_DENIED - - 1 2 3 4",
                        "1.0  1.2.3.4 GET h 80 - 403 TCP_DENIED - - 1 2 3",
                        "1.0 1.2.3.4 GET h 99999 - 403 TCP_DENIED - - 1 2 3",
                        "1.0 1.2.3.4 GET h 80 - 4030 TCP_DENIED - - 1 2 3",
                        "1.0 1.2.3.4 GET h 80 - 403 TCP_DENIED - - 1 2 99999999999999999999999",
                        "1.0 1.2.3.4 GET %5 80 - 403 TCP_DENIED - - 1 2 3",
                        "1.0 1.2.3.4 GET a%20b 80 - 403 TCP_DENIED - - 1 2 3",
                        "1.0 1.2.3.4 GET h\"x 80 - 403 TCP_DENIED - - 1 2 3",
                        "",
                };
                for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                        assert_int_equal(proxylog_parse_access(bad[i], strlen(bad[i]), &a),
                                         -EINVAL);
        }
}

static void test_access_events(void **state)
{
        struct proxylog pl = {.max_request = 10485760, .max_reply = 104857600};
        const char *type = NULL;
        json_t *f = NULL;
        (void) state;

        /* The resolver's answer names the address an allowed name was denied for. */
        assert_int_equal(feed_dns(&pl, "Nov 28 04:03:47 dnsmasq[1]: 3 127.0.0.1/45514 "
                                       "query[A] ten.test from 127.0.0.1",
                                  &type, &f),
                         0);
        assert_int_equal(feed_dns(&pl, "Nov 28 04:03:47 dnsmasq[1]: 3 127.0.0.1/45514 reply "
                                       "ten.test is 10.0.0.5",
                                  &type, &f),
                         0);
        assert_int_equal(feed_dns(&pl, "Nov 28 04:03:47 dnsmasq[1]: 4 127.0.0.1/45514 reply "
                                       "ten.test is fd00::5",
                                  &type, &f),
                         0);
        assert_string_equal(proxylog_addresses(&pl, "ten.test"), "10.0.0.5,fd00::5");
        assert_int_equal(feed_access(&pl, DENY_LINE, &type, &f), 1);
        assert_string_equal(type, "proxy-denied");
        assert_string_equal(str(f, "rule"), "private-address");
        assert_string_equal(str(f, "address"), "10.0.0.5,fd00::5");
        assert_string_equal(str(f, "host"), "ten.test");
        json_decref(f);

        /* A literal address is its own address; an unknown ERR_CA_ is still reported. */
        assert_int_equal(feed_access(&pl, "1.0 192.0.2.1 GET 169.254.169.254 80 - 403 TCP_DENIED "
                                          "ERR_CA_NEW_RULE - 1 2 3",
                                     &type, &f),
                         1);
        assert_string_equal(str(f, "address"), "169.254.169.254");
        assert_string_equal(str(f, "rule"), "unknown");
        json_decref(f);

        /* Limits: a 413 is the request body; a refused reply; a reply cut past the cap. */
        assert_int_equal(feed_access(&pl, "1.0 192.0.2.1 POST a.test 80 - 413 NONE_NONE ERR_TOO_BIG "
                                          "10485761 273 579 234",
                                     &type, &f),
                         1);
        assert_string_equal(type, "proxy-limit");
        assert_string_equal(str(f, "limit"), "request-body");
        assert_int_equal(json_integer_value(json_object_get(f, "size")), 10485761);
        assert_int_equal(json_integer_value(json_object_get(f, "max")), 10485760);
        json_decref(f);
        assert_int_equal(feed_access(&pl, "1.0 192.0.2.1 GET a.test 80 198.51.100.10 403 "
                                          "TCP_DENIED_REPLY ERR_TOO_BIG - 276 579 139",
                                     &type, &f),
                         1);
        assert_string_equal(str(f, "limit"), "reply-body");
        assert_string_equal(str(f, "action"), "refused");
        json_decref(f);
        assert_int_equal(feed_access(&pl, "1.0 192.0.2.1 GET a.test 80 198.51.100.10 200 TCP_MISS "
                                          "- - 104891969 105070884 142",
                                     &type, &f),
                         1);
        assert_string_equal(str(f, "action"), "cut");
        json_decref(f);
        /* Exactly at the cap is no event; nor is an ordinary request. */
        assert_int_equal(feed_access(&pl, "1.0 192.0.2.1 GET a.test 80 198.51.100.10 200 TCP_MISS "
                                          "- - 104857600 105062681 142",
                                     &type, &f),
                         0);
        assert_null(f);
        assert_int_equal(feed_access(&pl, "garbage", &type, &f), 0);
        assert_int_equal(pl.malformed, 1);
        assert_int_equal(pl.lines, 10); /* 3 resolver lines, 7 access lines */
}

static void test_dns_events(void **state)
{
        struct proxylog pl = {0};
        struct proxylog_dns d;
        const char *type = NULL;
        json_t *f = NULL;
        const char *status = "Nov 28 04:03:47 dnsmasq[6274]: started, version 2.90 cachesize 150";
        (void) state;

        assert_int_equal(proxylog_parse_dns(status, strlen(status), &d), 0);
        assert_int_equal(d.kind, PROXYLOG_DNS_OTHER);
        assert_int_equal(feed_dns(&pl, "Nov 28 04:03:47 dnsmasq[1]: 6 127.0.0.1/54761 config "
                                       "nope.test is NXDOMAIN",
                                  &type, &f),
                         1);
        assert_string_equal(type, "dns-denied");
        assert_string_equal(str(f, "reason"), "not-allowed");
        assert_string_equal(str(f, "name"), "nope.test");
        json_decref(f);
        assert_int_equal(feed_dns(&pl, "Nov 28 04:03:47 dnsmasq[1]: 12 127.0.0.1/33803 "
                                       "query[TXT] allowed.test from 127.0.0.1",
                                  &type, &f),
                         1);
        assert_string_equal(str(f, "reason"), "record-type");
        assert_string_equal(str(f, "type"), "TXT");
        json_decref(f);
        /* Squid's own reverse lookups of clients are not events. */
        assert_int_equal(feed_dns(&pl, "Nov 28 04:03:47 dnsmasq[1]: 1 127.0.0.1/1 query[PTR] "
                                       "1.0.0.127.in-addr.arpa from 127.0.0.1",
                                  &type, &f),
                         0);
        assert_int_equal(feed_dns(&pl, "Nov 28 04:03:47 dnsmasq[1]: 1 127.0.0.1/1 config "
                                       "1.0.0.127.in-addr.arpa is NXDOMAIN",
                                  &type, &f),
                         0);
        /* A new A query forgets the old answers. */
        assert_int_equal(feed_dns(&pl, "Nov 28 04:03:47 dnsmasq[1]: 3 127.0.0.1/1 reply r.test "
                                       "is 198.51.100.10",
                                  &type, &f),
                         0);
        assert_int_equal(feed_dns(&pl, "Nov 28 04:03:47 dnsmasq[1]: 4 127.0.0.1/1 query[A] "
                                       "r.test from 127.0.0.1",
                                  &type, &f),
                         0);
        assert_int_equal(feed_dns(&pl, "Nov 28 04:03:47 dnsmasq[1]: 4 127.0.0.1/1 reply r.test "
                                       "is 10.0.0.5",
                                  &type, &f),
                         0);
        assert_string_equal(proxylog_addresses(&pl, "r.test"), "10.0.0.5");
        assert_string_equal(proxylog_addresses(&pl, "other.test"), "");
        /* Malformed. */
        assert_int_equal(feed_dns(&pl, "no prefix at all", &type, &f), 0);
        assert_int_equal(feed_dns(&pl, "Nov 28 04:03:47 dnsmasq[1]: 4 127.0.0.1/1 query[A] "
                                       "bad\"name from 127.0.0.1",
                                  &type, &f),
                         0);
        assert_int_equal(pl.malformed, 2);
}

static void test_name_table_wraps(void **state)
{
        struct proxylog pl = {0};
        const char *type;
        json_t *f;
        char line[256];
        (void) state;

        /* More names than the table holds: the oldest are forgotten, nothing overflows. */
        for (int i = 0; i < PROXYLOG_NAMES + 10; i++) {
                (void) snprintf(line, sizeof(line),
                                "Nov 28 04:03:47 dnsmasq[1]: 1 127.0.0.1/1 reply n%d.test is "
                                "198.51.100.%d",
                                i, i % 250);
                assert_int_equal(feed_dns(&pl, line, &type, &f), 0);
        }
        assert_string_equal(proxylog_addresses(&pl, "n0.test"), "");
        assert_string_equal(proxylog_addresses(&pl, "n265.test"), "198.51.100.15");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_access),
                cmocka_unit_test(test_access_events),
                cmocka_unit_test(test_dns_events),
                cmocka_unit_test(test_name_table_wraps),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
