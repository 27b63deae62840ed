/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for host/lib/sigverify: signatures of each kind through OpenSSL (keys made here),
 * and the transparency-log checks on the Sigstore conformance suite's bundles
 * (CA_SIGSTORE_CONFORMANCE) against the public-good root: the happy paths' signed entry
 * timestamps and checkpoints verify; each case that breaks one of them fails with that reason.
 */
#include "testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "buf.h"
#include "fileio.h"
#include "sigverify.h"

static struct sigroot root;

#define IDENTITY                                                                                \
        "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/" \
        "workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
#define ISSUER "https://token.actions.githubusercontent.com"

/* The suite's file `rel` (under CA_SIGSTORE_CONFORMANCE) as a trusted root. */
static int root_from(const char *rel, struct sigroot *r)
{
        const char *dir = getenv("CA_SIGSTORE_CONFORMANCE");
        struct buf b = BUF_INIT;
        struct ca_error err = {0};
        char path[4096];
        int ret;

        if (!dir)
                return -1;
        (void) snprintf(path, sizeof(path), "%s/%s", dir, rel);
        if (fileio_read_path(path, SIGROOT_MAX, &b, NULL) < 0)
                return -1;
        ret = sigroot_parse(b.data, b.len, r, &err);
        buf_clear(&b);
        return ret;
}

static int load_root(void **state)
{
        (void) state;
        return root_from("trusted_root.public_good.json", &root);
}

static int free_root(void **state)
{
        (void) state;
        sigroot_clear(&root);
        return 0;
}

static void load_bundle(const char *name, struct sigbundle *b)
{
        const char *dir = getenv("CA_SIGSTORE_CONFORMANCE");
        struct buf json = BUF_INIT;
        struct ca_error err = {0};
        char path[4096];

        assert_non_null(dir);
        (void) snprintf(path, sizeof(path), "%s/bundle-verify/%s/bundle.sigstore.json", dir, name);
        assert_int_equal(fileio_read_path(path, SIGBUNDLE_MAX, &json, NULL), 0);
        assert_int_equal(sigbundle_parse(json.data, json.len, b, &err), 0);
        buf_clear(&json);
        assert_true(b->ntlogs >= 1);
}

/* A fresh key of `type` ("EC" P-256, "ED25519", "RSA"), its SPKI DER, and a signature. */
static void sign_with(const char *type, struct sig_bytes *spki, const char *msg, uint8_t *sig,
                      size_t *sig_len)
{
        EVP_PKEY *pk = strcmp(type, "EC") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
                       : strcmp(type, "RSA") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048)
                                                 : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned char *der = NULL;
        int n;

        assert_non_null(pk);
        assert_non_null(ctx);
        assert_int_equal(EVP_DigestSignInit_ex(ctx, NULL, strcmp(type, "ED25519") ? "SHA256" : NULL,
                                               NULL, NULL, pk, NULL),
                         1);
        assert_int_equal(EVP_DigestSign(ctx, sig, sig_len, (const unsigned char *) msg,
                                        strlen(msg)),
                         1);
        n = i2d_PUBKEY(pk, &der);
        assert_true(n > 0);
        spki->data = malloc((size_t) n);
        assert_non_null(spki->data);
        memcpy(spki->data, der, (size_t) n);
        spki->len = (size_t) n;
        OPENSSL_free(der);
        EVP_MD_CTX_free(ctx);
        EVP_PKEY_free(pk);
}

static void test_sigverify_signature_kinds(void **state)
{
        static const struct {
                const char *type;
                enum sigroot_scheme scheme, wrong;
        } kinds[] = {
                {"EC", SIGROOT_ECDSA_P256_SHA256, SIGROOT_ECDSA_P384_SHA384},
                {"ED25519", SIGROOT_ED25519, SIGROOT_ECDSA_P256_SHA256},
                {"RSA", SIGROOT_RSA_PKCS1V15, SIGROOT_ED25519},
        };
        const char *msg = "rekor.example - 1\n5\nroot\n";

        (void) state;
        for (size_t i = 0; i < CA_ELEMENTSOF(kinds); i++) {
                struct ca_error err = {0};
                struct sig_bytes spki = {0};
                uint8_t sig[512];
                size_t sig_len = sizeof(sig);

                sign_with(kinds[i].type, &spki, msg, sig, &sig_len);
                assert_int_equal(sigverify_signature(kinds[i].scheme, &spki, msg, strlen(msg), sig,
                                                     sig_len, &err),
                                 0);
                /* Another message, a changed signature, the key under another scheme. */
                assert_int_equal(sigverify_signature(kinds[i].scheme, &spki, msg, strlen(msg) - 1,
                                                     sig, sig_len, &err),
                                 -EBADMSG);
                sig[sig_len / 2] ^= 0x01;
                assert_int_equal(sigverify_signature(kinds[i].scheme, &spki, msg, strlen(msg), sig,
                                                     sig_len, &err),
                                 -EBADMSG);
                assert_int_equal(sigverify_signature(kinds[i].wrong, &spki, msg, strlen(msg), sig,
                                                     sig_len, &err),
                                 -EINVAL);
                /* A key with a byte past its DER. */
                spki.len--;
                assert_int_equal(sigverify_signature(kinds[i].scheme, &spki, msg, strlen(msg), sig,
                                                     sig_len, &err),
                                 -EINVAL);
                free(spki.data);
        }
}

static void test_sigverify_happy_paths(void **state)
{
        static const char *const cases[] = {"happy-path-v0.1", "happy-path-v0.2",
                                            "happy-path-v0.3", "happy-path-intoto-in-dsse-v3"};

        (void) state;
        for (size_t i = 0; i < CA_ELEMENTSOF(cases); i++) {
                struct sigbundle b;
                struct ca_error err = {0};
                const struct sigbundle_tlog *t;

                load_bundle(cases[i], &b);
                t = &b.tlogs[0];
                if (t->set.len && sigverify_set(&root, t, &err) != 0) {
                        print_error("%s: %s\n", cases[i], err.msg);
                        fail();
                }
                if (t->has_proof && sigverify_inclusion(&root, t, &err) != 0) {
                        print_error("%s: %s\n", cases[i], err.msg);
                        fail();
                }
                assert_true(t->set.len || t->has_proof);
                sigbundle_clear(&b);
        }
}

static void test_sigverify_broken_entries(void **state)
{
        static const struct {
                const char *name;
                bool set; /* the signed entry timestamp; else the inclusion proof */
                int code;
                const char *msg;
        } cases[] = {
                {"set-invalid-signature_fail", true, -EBADMSG, "signed entry timestamp"},
                {"invalid-checkpoint-signature_fail", false, -EBADMSG, "checkpoint"},
                {"checkpoint-bad-keyhint_fail", false, -ENOENT, "no signature by the log"},
                {"checkpoint-wrong-roothash_fail", false, -EBADMSG, "another tree"},
                {"inclusion-proof-corrupted-hash_fail", false, -EBADMSG, "inclusion proof"},
                {"bundle-from-wrong-instance_fail", true, -ENOENT, "knows no log"},
                {"bundle-from-wrong-instance_fail", false, -ENOENT, "knows no log"},
        };

        (void) state;
        for (size_t i = 0; i < CA_ELEMENTSOF(cases); i++) {
                struct sigbundle b;
                struct ca_error err = {0};
                int r;

                load_bundle(cases[i].name, &b);
                r = cases[i].set ? sigverify_set(&root, &b.tlogs[0], &err)
                                 : sigverify_inclusion(&root, &b.tlogs[0], &err);
                if (r != cases[i].code || !strstr(err.msg, cases[i].msg)) {
                        print_error("%s: %d: %s\n", cases[i].name, r, err.msg);
                        fail();
                }
                sigbundle_clear(&b);
        }
}

static void test_sigverify_tampered_entry(void **state)
{
        struct sigbundle b;
        struct ca_error err = {0};
        struct sigbundle_tlog *t;

        (void) state;
        load_bundle("happy-path-v0.1", &b);
        t = &b.tlogs[0];
        /* Every member of what the log promised matters. */
        t->integrated_time++;
        assert_int_equal(sigverify_set(&root, t, &err), -EBADMSG);
        t->integrated_time--;
        t->log_index++;
        assert_int_equal(sigverify_set(&root, t, &err), -EBADMSG);
        t->log_index--;
        t->body.data[t->body.len / 2] ^= 0x01;
        assert_int_equal(sigverify_set(&root, t, &err), -EBADMSG);
        assert_int_equal(sigverify_inclusion(&root, t, &err), -EBADMSG);
        t->body.data[t->body.len / 2] ^= 0x01;
        assert_int_equal(sigverify_set(&root, t, &err), 0);
        /* Integrated before the log's key was valid. */
        t->integrated_time = 1000;
        assert_int_equal(sigverify_set(&root, t, &err), -EKEYEXPIRED);
        sigbundle_clear(&b);
}

static void test_sigverify_certificate(void **state)
{
        static const char *const happy[] = {"happy-path-v0.1", "happy-path-v0.2",
                                            "happy-path-v0.3"};
        const struct sigverify_identity id = {IDENTITY, ISSUER};

        (void) state;
        for (size_t i = 0; i < CA_ELEMENTSOF(happy); i++) {
                struct sigbundle b;
                struct ca_error err = {0};
                int64_t when;

                load_bundle(happy[i], &b);
                when = b.tlogs[0].integrated_time;
                if (sigverify_certificate(&root, &b, when, &id, &err) != 0) {
                        print_error("%s: %s\n", happy[i], err.msg);
                        fail();
                }
                /* Another identity, another issuer; an hour later, when the certificate
                 * had expired; before the certificate authority existed. */
                assert_int_equal(sigverify_certificate(&root, &b, when,
                                                       &(struct sigverify_identity) {
                                                               IDENTITY "x", ISSUER},
                                                       &err),
                                 -EACCES);
                assert_int_equal(sigverify_certificate(&root, &b, when,
                                                       &(struct sigverify_identity) {
                                                               IDENTITY, "https://accounts.google.com"},
                                                       &err),
                                 -EACCES);
                assert_int_equal(sigverify_certificate(&root, &b, when + 3600, &id, &err),
                                 -EBADMSG);
                assert_non_null(strstr(err.msg, "was not valid at the signing time"));
                assert_int_equal(sigverify_certificate(&root, &b, 1000, &id, &err), -EBADMSG);
                sigbundle_clear(&b);
        }
}

/* The entry's integration time, or for a Rekor v2 entry (which has none; its time comes from
 * a timestamp authority) a minute after the certificate was issued. */
static int64_t signed_at(const struct sigbundle *b)
{
        const unsigned char *p = b->certs[0].data;
        X509 *c;
        struct tm tm;

        if (b->tlogs[0].integrated_time)
                return b->tlogs[0].integrated_time;
        c = d2i_X509(NULL, &p, (long) b->certs[0].len);
        assert_non_null(c);
        assert_int_equal(ASN1_TIME_to_tm(X509_get0_notBefore(c), &tm), 1);
        X509_free(c);
        return (int64_t) timegm(&tm) + 60;
}

static void test_sigverify_certificate_cases(void **state)
{
        static const struct {
                const char *name;
                bool own_root;
                int code;
                const char *msg;
        } cases[] = {
                {"bundle-with-root-cert_fail", false, -EBADMSG, "root certificate"},
                {"invalid-ct-key_fail", true, -EBADMSG, "CT log"},
                {"intoto-expired-certificate_fail", true, -EBADMSG, "not valid at the signing time"},
                {"bundle-with-sct-with-extensions", true, 0, ""},
        };
        const struct sigverify_identity id = {IDENTITY, ISSUER};

        (void) state;
        for (size_t i = 0; i < CA_ELEMENTSOF(cases); i++) {
                struct sigroot own;
                struct sigbundle b;
                struct ca_error err = {0};
                char rel[256];
                int r;

                (void) snprintf(rel, sizeof(rel), "bundle-verify/%s/trusted_root.json",
                                cases[i].name);
                if (cases[i].own_root)
                        assert_int_equal(root_from(rel, &own), 0);
                load_bundle(cases[i].name, &b);
                r = sigverify_certificate(cases[i].own_root ? &own : &root, &b, signed_at(&b),
                                          &id, &err);
                if (r != cases[i].code || !strstr(err.msg, cases[i].msg)) {
                        print_error("%s: %d: %s\n", cases[i].name, r, err.msg);
                        fail();
                }
                if (cases[i].own_root)
                        sigroot_clear(&own);
                sigbundle_clear(&b);
        }
}

/* SHA-256 of the case's artifact, or of the suite's a.txt when the case has none. */
static void artifact_digest(const char *name, uint8_t out[32])
{
        const char *dir = getenv("CA_SIGSTORE_CONFORMANCE");
        struct buf b = BUF_INIT;
        char path[4096];

        (void) snprintf(path, sizeof(path), "%s/bundle-verify/%s/artifact", dir, name);
        if (access(path, F_OK) != 0)
                (void) snprintf(path, sizeof(path), "%s/bundle-verify/a.txt", dir);
        assert_int_equal(fileio_read_path(path, (size_t) 1 << 20, &b, NULL), 0);
        crypto_hash_sha256(out, (const uint8_t *) (b.data ? b.data : ""), b.len);
        buf_clear(&b);
}

/* The case's key.pub as DER SubjectPublicKeyInfo; false when it is not a key. */
static bool case_key(const char *name, struct sig_bytes *out)
{
        const char *dir = getenv("CA_SIGSTORE_CONFORMANCE");
        struct buf pem = BUF_INIT;
        char path[4096];
        bool ok;

        (void) snprintf(path, sizeof(path), "%s/bundle-verify/%s/key.pub", dir, name);
        assert_int_equal(fileio_read_path(path, 1 << 20, &pem, NULL), 0);
        ok = sigverify_pem_key(pem.data, pem.len, out) == 0;
        buf_clear(&pem);
        return ok;
}

static void test_sigverify_message(void **state)
{
        static const struct {
                const char *name;
                bool key;
                int code;
                const char *msg;
        } cases[] = {
                {"happy-path-v0.1", false, 0, ""},
                {"happy-path-v0.2", false, 0, ""},
                {"happy-path-v0.3", false, 0, ""},
                {"happy-path-v0.3-new-mediaType", false, 0, ""},
                {"managed-key-happy-path", true, 0, ""},
                {"message-digest-mismatch_fail", false, -EBADMSG, "message digest"},
                {"wrong-material_fail", false, -EBADMSG, "message digest"},
                {"signature-mismatch_fail", false, -EBADMSG, "does not verify"},
                {"wrong-hashedrekord-artifact_fail", false, -EBADMSG, "log entry"},
                {"wrong-hashedrekord-cert-and-sig_fail", false, -EBADMSG, "log entry"},
                {"wrong-hashedrekord-entry_fail", false, -EBADMSG, "log entry"},
                {"incorrect-public-key_fail", false, -EBADMSG, "another certificate"},
        };

        (void) state;
        for (size_t i = 0; i < CA_ELEMENTSOF(cases); i++) {
                struct sig_bytes key = {0};
                struct ca_error err = {0};
                struct sigbundle b;
                uint8_t digest[32];
                int r;

                load_bundle(cases[i].name, &b);
                artifact_digest(cases[i].name, digest);
                if (cases[i].key)
                        assert_true(case_key(cases[i].name, &key));
                r = sigverify_message(&b, &b.tlogs[0], digest, cases[i].key ? &key : NULL, &err);
                if (r != cases[i].code || !strstr(err.msg, cases[i].msg)) {
                        print_error("%s: %d: %s\n", cases[i].name, r, err.msg);
                        fail();
                }
                free(key.data);
                sigbundle_clear(&b);
        }
        /* The wrong key of managed-key-wrong-key_fail is not a key at all: refused before any
         * verification. */
        {
                struct sig_bytes key = {0};

                assert_false(case_key("managed-key-wrong-key_fail", &key));
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sigverify_signature_kinds),
                cmocka_unit_test(test_sigverify_happy_paths),
                cmocka_unit_test(test_sigverify_broken_entries),
                cmocka_unit_test(test_sigverify_tampered_entry),
                cmocka_unit_test(test_sigverify_certificate),
                cmocka_unit_test(test_sigverify_certificate_cases),
                cmocka_unit_test(test_sigverify_message),
        };

        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, load_root, free_root);
}
