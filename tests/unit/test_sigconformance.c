/* SPDX-License-Identifier: MIT */
/*
 * The Sigstore conformance suite's bundle-verification cases (CA_SIGSTORE_CONFORMANCE), each
 * run through sigbundle, sigroot and sigverify_bundle as the command will: its own trusted root
 * or the public-good one, its artifact or a.txt, its identity and issuer or the suite's
 * defaults, its key.pub when it has one. A case ending in _fail must be rejected, any other
 * must verify. The verifier may report a case unsupported (-EOPNOTSUPP) rather than decide it
 * wrongly, and the list would say which and why; today it decides all 70, and the test holds
 * it to that.
 */
#include "testutil.h"
#include "sigcases.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "fileio.h"
#include "sigverify.h"

#define IDENTITY                                                                                \
        "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/" \
        "workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
#define ISSUER "https://token.actions.githubusercontent.com"

enum outcome { VERIFIED, REJECTED, UNSUPPORTED };

static const char *dir;
static int64_t now_override; /* 0: the clock */

static bool read_case_file(const char *name, const char *file, struct buf *out)
{
        char path[4096];

        (void) snprintf(path, sizeof(path), "%s/bundle-verify/%s/%s", dir, name, file);
        return access(path, F_OK) == 0 && fileio_read_path(path, (size_t) 16 << 20, out, NULL) == 0;
}

/* A one-line file's text, without its newline, or `fallback`. */
static char *line_or(const char *name, const char *file, const char *fallback)
{
        struct buf b = BUF_INIT;
        char *s;

        if (!read_case_file(name, file, &b))
                return strdup(fallback);
        while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
                b.data[--b.len] = '\0';
        s = strdup(b.data ? b.data : "");
        buf_clear(&b);
        return s;
}

static bool load_key(const char *name, struct sig_bytes *out)
{
        struct buf pem = BUF_INIT;
        bool ok = read_case_file(name, "key.pub", &pem) &&
                  sigverify_pem_key(pem.data, pem.len, out) == 0;

        buf_clear(&pem);
        return ok;
}

static enum outcome run_case(const char *name, char *why, size_t whylen)
{
        struct buf b = BUF_INIT;
        struct ca_error err = {0};
        struct sigroot root;
        struct sigbundle bundle;
        struct sig_bytes key = {0};
        uint8_t digest[32];
        char *san, *issuer;
        char path[4096];
        bool has_key;
        int r;

        why[0] = '\0';
        if (!read_case_file(name, "trusted_root.json", &b)) {
                (void) snprintf(path, sizeof(path), "%s/trusted_root.public_good.json", dir);
                assert_int_equal(fileio_read_path(path, SIGROOT_MAX, &b, NULL), 0);
        }
        r = sigroot_parse(b.data, b.len, &root, &err);
        buf_clear(&b);
        if (r < 0) {
                (void) snprintf(why, whylen, "%s", err.msg);
                return REJECTED;
        }
        assert_true(read_case_file(name, "bundle.sigstore.json", &b));
        r = sigbundle_parse(b.data, b.len, &bundle, &err);
        buf_clear(&b);
        if (r < 0) {
                sigroot_clear(&root);
                (void) snprintf(why, whylen, "%s", err.msg);
                return REJECTED;
        }
        if (!read_case_file(name, "artifact", &b)) {
                (void) snprintf(path, sizeof(path), "%s/bundle-verify/a.txt", dir);
                assert_int_equal(fileio_read_path(path, (size_t) 1 << 20, &b, NULL), 0);
        }
        crypto_hash_sha256(digest, (const uint8_t *) (b.data ? b.data : ""), b.len);
        buf_clear(&b);
        (void) snprintf(path, sizeof(path), "%s/bundle-verify/%s/key.pub", dir, name);
        has_key = access(path, F_OK) == 0;
        san = line_or(name, "identity", IDENTITY);
        issuer = line_or(name, "issuer", ISSUER);
        if (has_key && !load_key(name, &key)) {
                (void) snprintf(why, whylen, "key.pub is not a public key");
                r = -EINVAL;
        } else {
                const struct sigverify_policy policy = {{san, issuer}, has_key ? &key : NULL};

                r = sigverify_bundle(&root, &bundle, digest, &policy,
                                     now_override ? now_override : (int64_t) time(NULL), &err);
                (void) snprintf(why, whylen, "%s", err.msg);
        }
        free(san);
        free(issuer);
        free(key.data);
        sigbundle_clear(&bundle);
        sigroot_clear(&root);
        return r == 0 ? VERIFIED : r == -EOPNOTSUPP ? UNSUPPORTED : REJECTED;
}

static const char *const must_verify[] = {
        "happy-path-v0.1", "happy-path-v0.2", "happy-path-v0.3",
        "happy-path-v0.3-new-mediaType", "happy-path-intoto-in-dsse-v3",
        "managed-key-happy-path", "intoto-with-custom-trust-root",
        "managed-key-and-trusted-root", "trust-root-tlog-validity-end-inclusive",
};

struct tally {
        size_t n[3], wrong;
};

/* One case, decided as its name says it must be (or unsupported, but never a case that
 * must verify). */
static void decide_case(const char *name, const char *path, void *ctx)
{
        struct tally *t = ctx;
        bool should_fail = strstr(name, "_fail") != NULL;
        char why[CA_ERROR_MSG_MAX];
        enum outcome o = run_case(name, why, sizeof(why));

        (void) path;
        t->n[o]++;
        if (o == UNSUPPORTED) {
                print_message("unsupported %s: %s\n", name, why);
                for (size_t i = 0; i < CA_ELEMENTSOF(must_verify); i++) {
                        if (strcmp(name, must_verify[i]) == 0)
                                t->wrong++;
                }
        } else if (getenv("SIGCONF_VERBOSE")) {
                print_message("%s %s: %s\n", o == VERIFIED ? "verified" : "rejected", name, why);
        }
        if (o != UNSUPPORTED && (o == VERIFIED) == should_fail) {
                print_error("WRONG %s: %s %s\n", name, o == VERIFIED ? "verified" : "rejected:",
                            why);
                t->wrong++;
        }
}

static void test_sigconformance_bundle_verify(void **state)
{
        struct tally t = {{0}, 0};

        (void) state;
        dir = getenv("CA_SIGSTORE_CONFORMANCE");
        assert_non_null(dir);
        (void) sigcases_each("bundle.sigstore.json", decide_case, &t);
        print_message("conformance: %zu verified, %zu rejected, %zu unsupported, %zu wrong\n",
                      t.n[VERIFIED], t.n[REJECTED], t.n[UNSUPPORTED], t.wrong);
        assert_int_equal(t.wrong, 0);
        assert_int_equal(t.n[VERIFIED] + t.n[REJECTED] + t.n[UNSUPPORTED], 70);
        /* Every case is decided: none may become unsupported again. */
        assert_int_equal(t.n[UNSUPPORTED], 0);
}

/* Verified as if the clock said 2023-11-14: a log entry integrated and a timestamp made after
 * that are in the future. */
static void test_sigconformance_in_the_future(void **state)
{
        static const char *const cases[] = {"happy-path-v0.3", "rekor2-happy-path"};
        char why[CA_ERROR_MSG_MAX];

        (void) state;
        dir = getenv("CA_SIGSTORE_CONFORMANCE");
        assert_non_null(dir);
        now_override = 1700000000;
        for (size_t i = 0; i < CA_ELEMENTSOF(cases); i++) {
                assert_int_equal(run_case(cases[i], why, sizeof(why)), REJECTED);
                assert_non_null(strstr(why, "in the future"));
        }
        now_override = 0;
        for (size_t i = 0; i < CA_ELEMENTSOF(cases); i++)
                assert_int_equal(run_case(cases[i], why, sizeof(why)), VERIFIED);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sigconformance_bundle_verify),
                cmocka_unit_test(test_sigconformance_in_the_future),
        };

        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
