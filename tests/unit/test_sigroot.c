/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for host/lib/sigroot: RFC 3339 times, windows, the public-good trusted root and
 * every custom root of the Sigstore conformance suite (CA_SIGSTORE_CONFORMANCE), and the
 * refusals, each naming where.
 */
#include "testutil.h"
#include "sigcases.h"

#include <errno.h>
#include <stdlib.h>

#include <sodium.h>

#include "buf.h"
#include "fileio.h"
#include "sigroot.h"

static void test_sigroot_times(void **state)
{
        static const char *const bad[] = {
                "",         "2021-01-12T11:53:27",  "2021-01-12 11:53:27Z", "2021-01-12T11:53:27+00:00",
                "2021-13-12T11:53:27Z", "2021-02-30T11:53:27Z", "2021-01-12T24:00:00Z",
                "2021-01-12T11:53:27.Z", "2021-01-12T11:53:27.1234567890Z", "2021-01-12T11:53:27Zx",
                "20a1-01-12T11:53:27Z",
        };
        int64_t t;

        (void) state;
        assert_int_equal(sigroot_parse_time("2021-01-12T11:53:27Z", &t), 0);
        assert_true(t == 1610452407);
        assert_int_equal(sigroot_parse_time("2022-04-13T20:06:15.000Z", &t), 0);
        assert_true(t == 1649880375);
        assert_int_equal(sigroot_parse_time("1970-01-01T00:00:00Z", &t), 0);
        assert_true(t == 0);
        for (size_t i = 0; i < CA_ELEMENTSOF(bad); i++) {
                if (sigroot_parse_time(bad[i], &t) != -EINVAL) {
                        print_error("accepted '%s'\n", bad[i]);
                        fail();
                }
        }
}

static void test_sigroot_windows(void **state)
{
        const struct sigroot_window open = {.start = 100};
        const struct sigroot_window closed = {.start = 100, .end = 200, .has_end = true};

        (void) state;
        assert_false(sigroot_window_contains(&open, 99));
        assert_true(sigroot_window_contains(&open, 100));
        assert_true(sigroot_window_contains(&open, INT64_MAX));
        assert_true(sigroot_window_contains(&closed, 200)); /* the end is inclusive */
        assert_false(sigroot_window_contains(&closed, 201));
}

static int parse_file(const char *path, struct sigroot *r, struct ca_error *err)
{
        struct buf b = BUF_INIT;
        int ret;

        assert_int_equal(fileio_read_path(path, SIGROOT_MAX, &b, NULL), 0);
        ret = sigroot_parse(b.data, b.len, r, err);
        buf_clear(&b);
        return ret;
}

/* A case's own trusted root parses, except the one the suite breaks for the parser. */
static void check_case_root(const char *name, const char *path, void *ctx)
{
        struct ca_error err = {0};
        struct sigroot r;
        int ret = parse_file(path, &r, &err);

        (void) ctx;
        if (strcmp(name, "trust-root-tlog-missing-validity-start_fail") == 0) {
                assert_int_equal(ret, -EINVAL);
                assert_non_null(strstr(err.msg, "tlogs[1]: validFor has no start"));
                return;
        }
        if (ret != 0) {
                print_error("%s: %s\n", name, err.msg);
                fail();
                return;
        }
        sigroot_clear(&r);
}

static void test_sigroot_public_good_and_suite(void **state)
{
        const char *dir = getenv("CA_SIGSTORE_CONFORMANCE");
        struct ca_error err = {0};
        struct sigroot r;
        char path[4096];
        size_t roots;

        (void) state;
        assert_non_null(dir);
        (void) snprintf(path, sizeof(path), "%s/trusted_root.public_good.json", dir);
        assert_int_equal(parse_file(path, &r, &err), 0);
        assert_true(r.ntlogs >= 1 && r.nctlogs >= 1 && r.ncas >= 1 && r.ntsas >= 1);
        assert_string_equal(r.tlogs[0].base_url, "https://rekor.sigstore.dev");
        assert_int_equal(r.tlogs[0].scheme, SIGROOT_ECDSA_P256_SHA256);
        assert_int_equal(r.tlogs[0].log_id.len, 32);
        assert_true(r.tlogs[0].valid.start == 1610452407);
        assert_int_equal(r.tlogs[0].key.data[0], 0x30); /* DER */
        assert_string_equal(r.cas[0].uri, "https://fulcio.sigstore.dev");
        assert_true(r.cas[0].ncerts >= 1);
        sigroot_clear(&r);

        roots = sigcases_each("trusted_root.json", check_case_root, NULL);
        assert_int_equal(roots, 38);
}

static void test_sigroot_refusals(void **state)
{
#define MT "\"mediaType\": \"application/vnd.dev.sigstore.trustedroot+json;version=0.1\""
#define KEY(details, start)                                                                     \
        "{\"publicKey\": {\"rawBytes\": \"MFkw\", \"keyDetails\": \"" details "\","              \
        " \"validFor\": {\"start\": \"" start "\"}}, \"logId\": {\"keyId\": \"wNI9\"}}"
        static const struct {
                const char *json;
                const char *msg;
        } bad[] = {
                {"{\"mediaType\": \"x\"}", "mediaType"},
                {"{" MT ", \"tlogs\": {}}", "tlogs is not a list"},
                {"{" MT ", \"tlogs\": [" KEY("PKIX_DSA", "2021-01-12T11:53:27Z") "]}",
                 "tlogs[0]: publicKey.keyDetails"},
                {"{" MT ", \"ctlogs\": [" KEY("PKIX_ED25519", "yesterday") "]}",
                 "ctlogs[0]: validFor.start"},
                {"{" MT ", \"tlogs\": [{\"publicKey\": {\"rawBytes\": \"M!kw\", \"keyDetails\":"
                 " \"PKIX_ED25519\", \"validFor\": {\"start\": \"2021-01-12T11:53:27Z\"}}}]}",
                 "tlogs[0]: publicKey.rawBytes"},
                {"{" MT ", \"tlogs\": [{\"publicKey\": {\"rawBytes\": \"MFkw\", \"keyDetails\":"
                 " \"PKIX_ED25519\", \"validFor\": {\"start\": \"2021-01-12T11:53:27Z\","
                 " \"end\": \"2020-01-12T11:53:27Z\"}}, \"logId\": {\"keyId\": \"wNI9\"}}]}",
                 "ends before it starts"},
                {"{" MT ", \"certificateAuthorities\": [{\"certChain\": {\"certificates\": []},"
                 " \"validFor\": {\"start\": \"2021-01-12T11:53:27Z\"}}]}",
                 "certificateAuthorities[0]: certChain"},
                {"{" MT ", \"timestampAuthorities\": [{\"certChain\": {\"certificates\":"
                 " [{\"rawBytes\": \"MIIB\"}]}}]}",
                 "timestampAuthorities[0]: validFor has no start"},
        };

        (void) state;
        for (size_t i = 0; i < CA_ELEMENTSOF(bad); i++) {
                struct ca_error err = {0};
                struct sigroot r;

                if (sigroot_parse(bad[i].json, strlen(bad[i].json), &r, &err) != -EINVAL ||
                    !err.bad_input || !strstr(err.msg, bad[i].msg)) {
                        print_error("case %zu: %s\n", i, err.msg);
                        fail();
                }
        }
#undef KEY
#undef MT
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sigroot_times),
                cmocka_unit_test(test_sigroot_windows),
                cmocka_unit_test(test_sigroot_public_good_and_suite),
                cmocka_unit_test(test_sigroot_refusals),
        };

        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
