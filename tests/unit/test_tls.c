/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/tls: the strict PEM bundle reader and SPKI pins. */
#include "testutil.h"

#include <errno.h>

#include "buf.h"
#include "error.h"
#include "testcert.h"
#include "tls.h"

static int parse(const char *s, struct tls_cert_info **out, size_t *n, struct buf *canon,
                 struct ca_error *err)
{
        return tls_bundle_parse(s, strlen(s), out, n, canon, err);
}

static void test_tls_bundle_good(void **state)
{
        struct tls_cert_info *c = NULL;
        struct buf canon = BUF_INIT;
        struct ca_error err = {0};
        size_t n = 0;
        (void) state;

        /* Text around the blocks (as in system bundles) is tolerated; two certificates. */
        assert_int_equal(parse("# test CA\n" TEST_CERT_PEM "\n" TEST_CERT_PEM, &c, &n, &canon,
                               &err),
                         0);
        assert_int_equal(n, 2);
        assert_string_equal(c[0].sha256, TEST_CERT_SHA256);
        assert_string_equal(c[0].pin, TEST_CERT_PIN);
        assert_true(c[0].ca);
        assert_non_null(strstr(c[0].subject, "CN=ca-unit-test"));
        /* Canonical: just the two blocks, the comment is gone. */
        assert_int_equal(canon.len, 2 * strlen(TEST_CERT_PEM));
        assert_int_equal(memcmp(canon.data, TEST_CERT_PEM, strlen(TEST_CERT_PEM)), 0);
        free(c);
        buf_clear(&canon);
}

static void test_tls_bundle_bad(void **state)
{
        static const char *const bad[] = {
                "",
                "not a certificate\n",
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" TEST_CERT_PEM,
                TEST_CERT_PEM "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                "-----BEGIN CERTIFICATE-----\nMIIBhTCCASugAwIBAgIU\n",
        };
        (void) state;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct tls_cert_info *c = NULL;
                struct buf canon = BUF_INIT;
                struct ca_error err = {0};
                size_t n = 7;

                if (parse(bad[i], &c, &n, &canon, &err) != -EINVAL)
                        fail_msg("accepted bundle %zu", i);
                assert_true(err.bad_input);
                assert_null(c);
                assert_int_equal(n, 0);
                assert_int_equal(canon.len, 0);
                buf_clear(&canon);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tls_bundle_good),
                cmocka_unit_test(test_tls_bundle_bad),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
