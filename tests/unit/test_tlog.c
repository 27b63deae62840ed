/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for host/lib/tlog: inclusion proofs against a reference Merkle tree (RFC 9162's
 * MTH and PATH, written plainly here) for every index of every tree up to 40 leaves, every
 * tampered hash and shape; a real Rekor entry's proof and checkpoint (the conformance suite's
 * happy-path-v0.3); Ed25519 note signatures; malformed checkpoints, each refused.
 */
#include "testutil.h"

#include <errno.h>

#include <sodium.h>

#include "tlog.h"

#define MAXN 40

static uint8_t leaves[MAXN][TLOG_HASH_LEN];

static void hex(const char *s, uint8_t *out, size_t n)
{
        assert_int_equal(sodium_hex2bin(out, n, s, strlen(s), NULL, NULL, NULL), 0);
}

static void node(const uint8_t *l, const uint8_t *r, uint8_t *out)
{
        uint8_t in[65] = {1};

        memcpy(in + 1, l, 32);
        memcpy(in + 33, r, 32);
        crypto_hash_sha256(out, in, sizeof(in));
}

static size_t split(size_t n)
{
        size_t k = 1;

        while (k * 2 < n)
                k *= 2;
        return k;
}

/* MTH(D[lo:hi]) */
static void mth(size_t lo, size_t hi, uint8_t *out)
{
        uint8_t l[32], r[32];
        size_t k;

        if (hi - lo == 1) {
                memcpy(out, leaves[lo], 32);
                return;
        }
        k = split(hi - lo);
        mth(lo, lo + k, l);
        mth(lo + k, hi, r);
        node(l, r, out);
}

/* PATH(m, D[lo:hi]), appended leaf to root. */
static void path(size_t m, size_t lo, size_t hi, uint8_t (*out)[32], size_t *n)
{
        size_t k;

        if (hi - lo == 1)
                return;
        k = split(hi - lo);
        if (m < k) {
                path(m, lo, lo + k, out, n);
                mth(lo + k, hi, out[(*n)++]);
        } else {
                path(m - k, lo + k, hi, out, n);
                mth(lo, lo + k, out[(*n)++]);
        }
}

static void test_tlog_leaf_hash(void **state)
{
        uint8_t got[32], want[32];

        (void) state;
        /* RFC 6962's empty leaf: SHA-256 of the single byte 0x00. */
        hex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", want, 32);
        tlog_leaf_hash("", 0, got);
        assert_memory_equal(got, want, 32);
}

static void test_tlog_inclusion_every_index(void **state)
{
        (void) state;
        for (size_t i = 0; i < MAXN; i++) {
                uint8_t b = (uint8_t) i;
                tlog_leaf_hash(&b, 1, leaves[i]);
        }
        for (size_t size = 1; size <= MAXN; size++) {
                uint8_t root[32];

                mth(0, size, root);
                for (size_t m = 0; m < size; m++) {
                        uint8_t proof[TLOG_PROOF_MAX + 1][32];
                        uint8_t bad[32];
                        size_t n = 0;

                        path(m, 0, size, proof, &n);
                        assert_int_equal(tlog_verify_inclusion(leaves[m], m, size,
                                                               (const uint8_t(*)[32]) proof, n,
                                                               root),
                                         0);
                        /* Every hash of the proof matters. */
                        for (size_t j = 0; j < n; j++) {
                                proof[j][j % 32] ^= 0x01;
                                assert_int_equal(tlog_verify_inclusion(
                                                         leaves[m], m, size,
                                                         (const uint8_t(*)[32]) proof, n, root),
                                                 -EBADMSG);
                                proof[j][j % 32] ^= 0x01;
                        }
                        /* Another leaf, another index, another root. */
                        if (size > 1) {
                                size_t other = (m + 1) % size;
                                int r = tlog_verify_inclusion(leaves[other], m, size,
                                                              (const uint8_t(*)[32]) proof, n,
                                                              root);
                                assert_true(r == -EBADMSG);
                                r = tlog_verify_inclusion(leaves[m], other, size,
                                                          (const uint8_t(*)[32]) proof, n, root);
                                assert_true(r == -EBADMSG || r == -EINVAL);
                        }
                        memcpy(bad, root, 32);
                        bad[31] ^= 0x80;
                        assert_int_equal(tlog_verify_inclusion(leaves[m], m, size,
                                                               (const uint8_t(*)[32]) proof, n,
                                                               bad),
                                         -EBADMSG);
                        /* One hash too few, one too many, an index past the tree. */
                        if (n > 0)
                                assert_int_equal(
                                        tlog_verify_inclusion(leaves[m], m, size,
                                                              (const uint8_t(*)[32]) proof, n - 1,
                                                              root),
                                        -EINVAL);
                        memcpy(proof[n], root, 32);
                        assert_int_equal(tlog_verify_inclusion(leaves[m], m, size,
                                                               (const uint8_t(*)[32]) proof,
                                                               n + 1, root),
                                         -EINVAL);
                        assert_int_equal(tlog_verify_inclusion(leaves[m], size, size,
                                                               (const uint8_t(*)[32]) proof, n,
                                                               root),
                                         -EINVAL);
                }
        }
}

/* The conformance suite's happy-path-v0.3: Rekor's entry 75408392 of a tree of 75408393. */
static const char *const rekor_proof[] = {
        "d49ee1448106bd8740cb312cf8684013d2fedfca07c9edc185a960a10459a28e",
        "5bf3940a487f96a0c3c1b0646603fb79357fc31e1689f0f5c2d7d12db6af7f12",
        "f70c9ad811217cb1837c3455378e8e536457928cd608cd59e2a32ee923e25a86",
        "651b3794a00896ed2dd06b4bba901c3aed72db49ce68eb2148aa2c580a853bec",
        "046a87f8bcd5ba1baa08b894bc125a076865b2fb6ed9ad79aaad561b0ea61b8e",
        "39e4bb0f890f112ec2844ee459212685b00ca8170a563ff3f3f69f30ae18de92",
        "26d8eabc0a85c975d88d69597c3cc4947a44cdd063b33d4b986149b98c749135",
        "b3f64855c7dc0f8fe7b99c14b507f8c9d1ac2009064cf4f39376f4ce1502f799",
        "614d63658fdfa79b4974617f8beffb7b3f35d3b3b8fe5394a7b69c30f14468e0",
        "ed9d7c60b040bde8c45789c91c82a892cff19628e7851d34e6a4d6db0e10b478",
        "f7c7a7ccc682fb1e6808cbc8650039cfcbeed9aa4330216f13ff77e4d7ee3f0f",
};
/* SHA-256(0x00 || the entry's canonicalized body) */
static const char rekor_leaf[] = "aee3c920bb1132e929ed20e1c194579a60e95849f7a554e0033fdd26ee221629";
static const char rekor_checkpoint[] =
        "rekor.sigstore.dev - 2605736670972794746\n75408393\n"
        "Fnnj13Uu1jdksPc4HZLapKX329dVlD5+MGNsiqBq1XM=\n\n"
        "\xE2\x80\x94 rekor.sigstore.dev wNI9ajBFAiBTyiBM9WtyOTgohje6QZ5rFGJUdMq7Wk3A6oThE98SUgIh"
        "AMvxDwa7FyqRqg+YV3rdPPrfS23w19iK+piMSGVOmP5w\n";

static void test_tlog_rekor_entry(void **state)
{
        uint8_t proof[11][32], leaf[32], root[32];
        static const uint8_t log_hint[4] = {0xc0, 0xd2, 0x3d, 0x6a}; /* the log id's first bytes */
        struct ca_error err = {0};
        struct tlog_checkpoint cp;
        const struct tlog_note_sig *sig;

        (void) state;
        for (size_t i = 0; i < 11; i++)
                hex(rekor_proof[i], proof[i], 32);
        hex(rekor_leaf, leaf, 32);
        assert_int_equal(tlog_checkpoint_parse(rekor_checkpoint, strlen(rekor_checkpoint), &cp,
                                               &err),
                         0);
        assert_string_equal(cp.origin, "rekor.sigstore.dev - 2605736670972794746");
        assert_true(cp.size == 75408393);
        assert_int_equal(cp.nextensions, 0);
        assert_int_equal(cp.nsigs, 1);
        /* What the log signed: the three body lines with their newlines. */
        assert_int_equal(cp.signed_len, strlen("rekor.sigstore.dev - 2605736670972794746\n"
                                               "75408393\n"
                                               "Fnnj13Uu1jdksPc4HZLapKX329dVlD5+MGNsiqBq1XM=\n"));
        sig = tlog_checkpoint_find(&cp, "rekor.sigstore.dev", log_hint);
        assert_non_null(sig);
        assert_int_equal(sig->sig[0], 0x30); /* an ECDSA signature in DER */
        assert_int_equal(sig->sig_len, 71);
        assert_null(tlog_checkpoint_find(&cp, "rekor.sigstore.dev",
                                         (const uint8_t[4]) {0xc0, 0xd2, 0x3d, 0x6b}));
        assert_null(tlog_checkpoint_find(&cp, "other.example", log_hint));

        assert_int_equal(tlog_verify_inclusion(leaf, 75408392, cp.size,
                                               (const uint8_t(*)[32]) proof, 11, cp.root),
                         0);
        assert_int_equal(tlog_inclusion_root(leaf, 75408392, 75408393,
                                             (const uint8_t(*)[32]) proof, 11, root),
                         0);
        assert_memory_equal(root, cp.root, 32);
        /* The same proof for the entry before it (a proof of another length) or in a larger
         * tree: refused. */
        assert_int_equal(tlog_verify_inclusion(leaf, 75408391, cp.size,
                                               (const uint8_t(*)[32]) proof, 11, cp.root),
                         -EINVAL);
        for (uint64_t more = 1; more < 4; more++) {
                int r = tlog_verify_inclusion(leaf, 75408392, cp.size + more,
                                              (const uint8_t(*)[32]) proof, 11, cp.root);
                assert_true(r == -EBADMSG || r == -EINVAL);
        }
        leaf[0] ^= 1;
        assert_int_equal(tlog_verify_inclusion(leaf, 75408392, cp.size,
                                               (const uint8_t(*)[32]) proof, 11, cp.root),
                         -EBADMSG);
}

static void test_tlog_ed25519_note(void **state)
{
        uint8_t pk[32], sk[64], pk2[32], sk2[64], sig[64], line[68];
        char b64[sodium_base64_ENCODED_LEN(68, sodium_base64_VARIANT_ORIGINAL)];
        char note[1024];
        const char *body = "log.example/v2\n42\n"
                           "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nan extension\n";
        struct ca_error err = {0};
        struct tlog_checkpoint cp;

        (void) state;
        crypto_sign_keypair(pk, sk);
        crypto_sign_keypair(pk2, sk2);
        crypto_sign_detached(sig, NULL, (const uint8_t *) body, strlen(body), sk);
        tlog_ed25519_hint("log.example/v2", pk, line);
        memcpy(line + 4, sig, 64);
        sodium_bin2base64(b64, sizeof(b64), line, sizeof(line), sodium_base64_VARIANT_ORIGINAL);
        (void) snprintf(note, sizeof(note), "%s\n\xE2\x80\x94 witness.example AAAAAAAA\n"
                        "\xE2\x80\x94 log.example/v2 %s\n", body, b64);
        assert_int_equal(tlog_checkpoint_parse(note, strlen(note), &cp, &err), 0);
        assert_int_equal(cp.nsigs, 2);
        assert_int_equal(cp.nextensions, 1);
        assert_true(cp.size == 42);
        assert_int_equal(cp.signed_len, strlen(body));
        assert_int_equal(tlog_checkpoint_verify_ed25519(&cp, note, "log.example/v2", pk), 0);
        /* Another key: no signature by it. Another name: the hint differs too. */
        assert_int_equal(tlog_checkpoint_verify_ed25519(&cp, note, "log.example/v2", pk2),
                         -ENOENT);
        assert_int_equal(tlog_checkpoint_verify_ed25519(&cp, note, "witness.example", pk),
                         -ENOENT);
        /* A changed size in the same note: the signature no longer verifies. */
        note[16] = '3';
        assert_int_equal(tlog_checkpoint_parse(note, strlen(note), &cp, &err), 0);
        assert_true(cp.size == 43);
        assert_int_equal(tlog_checkpoint_verify_ed25519(&cp, note, "log.example/v2", pk),
                         -EBADMSG);
}

static void test_tlog_checkpoint_refusals(void **state)
{
        static const char root[] = "Fnnj13Uu1jdksPc4HZLapKX329dVlD5+MGNsiqBq1XM=";
        static const char sig[] = "\xE2\x80\x94 log wNI9ajBF\n";
        static const char *const bad[] = {
                "",
                "origin\n",
                "origin\n5\n",
                "origin\n5\n%ROOT%\n",                       /* no blank line */
                "origin\n5\n%ROOT%\n\n",                     /* no signature */
                "\n5\n%ROOT%\n\n%SIG%",                      /* empty origin */
                "origin\n05\n%ROOT%\n\n%SIG%",               /* leading zero */
                "origin\n-5\n%ROOT%\n\n%SIG%",
                "origin\n5 \n%ROOT%\n\n%SIG%",
                "origin\n9223372036854775808\n%ROOT%\n\n%SIG%", /* 2^63 */
                "origin\n99999999999999999999\n%ROOT%\n\n%SIG%",
                "origin\n5\nFnnj13Uu1jdksPc4HZLapKX329dVlD5+MGNsiqBq1X=\n\n%SIG%",
                "origin\n5\nFnnj13Uu1jdksPc4HZLapKX329dVlD5+MGNsiqBq1XM\n\n%SIG%",
                "origin\n5\nAAAA\n\n%SIG%",                  /* 3 bytes */
                "origin\n5\n%ROOT%\n\n- log wNI9ajBF\n",     /* not an em dash */
                "origin\n5\n%ROOT%\n\n\xE2\x80\x94log wNI9ajBF\n",
                "origin\n5\n%ROOT%\n\n\xE2\x80\x94  wNI9ajBF\n", /* empty name */
                "origin\n5\n%ROOT%\n\n\xE2\x80\x94 lo+g wNI9ajBF\n",
                "origin\n5\n%ROOT%\n\n\xE2\x80\x94 log wNI9ag==\n", /* hint only, no signature */
                "origin\n5\n%ROOT%\n\n\xE2\x80\x94 log wNI9ajBF",  /* no final newline */
                "origin\n5\n%ROOT%\n\n\xE2\x80\x94 log wNI9 ajBF\n",
                "origin\n5\n%ROOT%\n\n%SIG%\n%SIG%",        /* an empty signature line */
                "origin\r\n5\n%ROOT%\n\n%SIG%",
                "ori\xC0\xAFgin\n5\n%ROOT%\n\n%SIG%",       /* overlong UTF-8 */
                "ori\xED\xA0\x80gin\n5\n%ROOT%\n\n%SIG%",   /* a surrogate */
                "ori\xC2\x85gin\n5\n%ROOT%\n\n%SIG%",       /* a C1 control */
                "origin\n5\n%ROOT%\next\n\n\xE2\x80\x94 log wNI9ajBF\xE2\n",
        };

        (void) state;
        for (size_t i = 0; i < CA_ELEMENTSOF(bad); i++) {
                char note[512];
                struct ca_error err = {0};
                struct tlog_checkpoint cp;
                const char *p = bad[i];
                size_t n = 0;

                /* Expand %ROOT% and %SIG%. */
                while (*p) {
                        const char *part = p;
                        size_t len = 1;

                        if (strncmp(p, "%ROOT%", 6) == 0) {
                                part = root;
                                len = strlen(root);
                                p += 6;
                        } else if (strncmp(p, "%SIG%", 5) == 0) {
                                part = sig;
                                len = strlen(sig);
                                p += 5;
                        } else {
                                p++;
                        }
                        assert_true(n + len < sizeof(note));
                        memcpy(note + n, part, len);
                        n += len;
                }
                note[n] = '\0';
                if (tlog_checkpoint_parse(note, strlen(note), &cp, &err) != -EINVAL) {
                        print_error("accepted case %zu: %s\n", i, note);
                        fail();
                }
                assert_true(err.bad_input);
                assert_non_null(strstr(err.msg, "checkpoint"));
        }
        /* Seventeen signatures are too many; sixteen are not. */
        {
                char note[2048];
                struct ca_error err = {0};
                struct tlog_checkpoint cp;
                int n = snprintf(note, sizeof(note), "origin\n5\n%s\n\n", root);

                for (int i = 0; i < 16; i++)
                        n += snprintf(note + n, sizeof(note) - (size_t) n, "%s", sig);
                assert_int_equal(tlog_checkpoint_parse(note, (size_t) n, &cp, &err), 0);
                assert_int_equal(cp.nsigs, 16);
                n += snprintf(note + n, sizeof(note) - (size_t) n, "%s", sig);
                assert_int_equal(tlog_checkpoint_parse(note, (size_t) n, &cp, &err), -EINVAL);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tlog_leaf_hash),
                cmocka_unit_test(test_tlog_inclusion_every_index),
                cmocka_unit_test(test_tlog_rekor_entry),
                cmocka_unit_test(test_tlog_ed25519_note),
                cmocka_unit_test(test_tlog_checkpoint_refusals),
        };

        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
