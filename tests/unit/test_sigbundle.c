/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for host/lib/sigbundle: the forms of v0.1-v0.3 bundles, each malformed field
 * refused with its name, and every bundle of the Sigstore conformance suite
 * (CA_SIGSTORE_CONFORMANCE, ../shared/sigstore-conformance): the ones malformed on purpose are
 * refused by the parser, every other one parses, the proofs of every case meant to verify fold
 * to the roots they claim, and those of the cases with a broken proof do not.
 */
#include "testutil.h"
#include "sigcases.h"

#include <errno.h>
#include <stdlib.h>

#include <sodium.h>

#include "buf.h"
#include "fileio.h"
#include "sigbundle.h"

#define V03 "application/vnd.dev.sigstore.bundle.v0.3+json"
#define V01 "application/vnd.dev.sigstore.bundle+json;version=0.1"
#define CERT "{\"rawBytes\": \"MIIB\"}"
#define ENTRY                                                                                   \
        "{\"logIndex\": \"7\", \"logId\": {\"keyId\": \"wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WR" \
        "gB0=\"}, \"kindVersion\": {\"kind\": \"hashedrekord\", \"version\": \"0.0.1\"},"        \
        " \"integratedTime\": \"1710869186\", \"canonicalizedBody\": \"e30=\","                   \
        " \"inclusionPromise\": {\"signedEntryTimestamp\": \"MEUCIQ==\"},"                        \
        " \"inclusionProof\": {\"logIndex\": \"7\", \"treeSize\": \"8\", \"rootHash\":"           \
        " \"Fnnj13Uu1jdksPc4HZLapKX329dVlD5+MGNsiqBq1XM=\", \"hashes\":"                          \
        " [\"Fnnj13Uu1jdksPc4HZLapKX329dVlD5+MGNsiqBq1XM=\"],"                                    \
        " \"checkpoint\": {\"envelope\": \"origin\\n8\\nroot\\n\\n\"}}}"
#define MESSAGE                                                                                 \
        "\"messageSignature\": {\"messageDigest\": {\"algorithm\": \"SHA2_256\", \"digest\":"     \
        " \"oM/HEnHW4njlfNMy/5V8P3BD/do1TEy7GQow1W76Ab8=\"}, \"signature\": \"MEUCIQ==\"}"

static int parse(const char *json, struct sigbundle *b, struct ca_error *err)
{
        memset(err, 0, sizeof(*err));
        return sigbundle_parse(json, strlen(json), b, err);
}

static void test_sigbundle_v03_message(void **state)
{
        struct ca_error err;
        struct sigbundle b;

        (void) state;
        assert_int_equal(parse("{\"mediaType\": \"" V03 "\", \"verificationMaterial\": "
                               "{\"certificate\": " CERT ", \"tlogEntries\": [" ENTRY "],"
                               " \"timestampVerificationData\": {\"rfc3161Timestamps\":"
                               " [{\"signedTimestamp\": \"MIIB\"}]}}, " MESSAGE "}",
                               &b, &err),
                         0);
        assert_int_equal(b.version, SIGBUNDLE_V03);
        assert_int_equal(b.ncerts, 1);
        assert_int_equal(b.certs[0].len, 3);
        assert_int_equal(b.ntlogs, 1);
        assert_true(b.tlogs[0].log_index == 7);
        assert_int_equal(b.tlogs[0].log_id.len, 32);
        assert_string_equal(b.tlogs[0].kind, "hashedrekord");
        assert_true(b.tlogs[0].integrated_time == 1710869186);
        assert_int_equal(b.tlogs[0].body.len, 2);
        assert_int_equal(b.tlogs[0].set.len, 4);
        assert_true(b.tlogs[0].has_proof);
        assert_true(b.tlogs[0].tree_size == 8);
        assert_int_equal(b.tlogs[0].nhashes, 1);
        assert_int_equal(b.tlogs[0].checkpoint_len, strlen("origin\n8\nroot\n\n"));
        assert_int_equal(b.ntimestamps, 1);
        assert_false(b.dsse);
        assert_string_equal(b.digest_algorithm, "SHA2_256");
        assert_int_equal(b.digest_len, 32);
        assert_int_equal(b.signature.len, 4);
        sigbundle_clear(&b);
}

static void test_sigbundle_v01_chain_and_dsse(void **state)
{
        struct ca_error err;
        struct sigbundle b;

        (void) state;
        assert_int_equal(parse("{\"mediaType\": \"" V01 "\", \"verificationMaterial\": "
                               "{\"x509CertificateChain\": {\"certificates\": [" CERT ", " CERT
                               "]}, \"tlogEntries\": []}, \"dsseEnvelope\": {\"payload\": \"e30=\","
                               " \"payloadType\": \"application/vnd.in-toto+json\","
                               " \"signatures\": [{\"sig\": \"MEUCIQ==\", \"keyid\": \"\"}]}}",
                               &b, &err),
                         0);
        assert_int_equal(b.version, SIGBUNDLE_V01);
        assert_int_equal(b.ncerts, 2);
        assert_true(b.dsse);
        assert_string_equal(b.payload_type, "application/vnd.in-toto+json");
        assert_int_equal(b.ndsse_sigs, 1);
        sigbundle_clear(&b);
        /* A managed key: the hint only. */
        assert_int_equal(parse("{\"mediaType\": \"" V03 "\", \"verificationMaterial\": "
                               "{\"publicKey\": {\"hint\": \"k1\"}}, " MESSAGE "}",
                               &b, &err),
                         0);
        assert_string_equal(b.key_hint, "k1");
        assert_int_equal(b.ncerts, 0);
        sigbundle_clear(&b);
        /* null is an unset field, as protobuf's JSON writes it. */
        assert_int_equal(parse("{\"mediaType\": \"" V03 "\", \"verificationMaterial\": "
                               "{\"publicKey\": {\"hint\": \"k1\"}, \"tlogEntries\": null,"
                               " \"certificate\": null, \"timestampVerificationData\": null},"
                               " \"dsseEnvelope\": null, " MESSAGE "}",
                               &b, &err),
                         0);
        assert_int_equal(b.ntlogs, 0);
        assert_false(b.dsse);
        sigbundle_clear(&b);
}

static void test_sigbundle_refusals(void **state)
{
        static const struct {
                const char *json;
                const char *field;
        } bad[] = {
                {"[]", "not a JSON object"},
                {"{\"mediaType\": \"application/vnd.dev.sigstore.bundle+json;version=99.9\"}",
                 "mediaType"},
                {"{\"mediaType\": \"" V03 "\", " MESSAGE "}", "verificationMaterial"},
                {"{\"mediaType\": \"" V03 "\", \"verificationMaterial\": {\"certificate\": " CERT
                 ", \"publicKey\": {\"hint\": \"k\"}}, " MESSAGE "}",
                 "exactly one"},
                {"{\"mediaType\": \"" V01 "\", \"verificationMaterial\": {\"certificate\": " CERT
                 "}, " MESSAGE "}",
                 "v0.3 form"},
                {"{\"mediaType\": \"" V03 "\", \"verificationMaterial\": {\"x509CertificateChain\":"
                 " {\"certificates\": [" CERT "]}}, " MESSAGE "}",
                 "leaf certificate only"},
                {"{\"mediaType\": \"" V01 "\", \"verificationMaterial\": {\"x509CertificateChain\":"
                 " {\"certificates\": []}}, " MESSAGE "}",
                 "certificates"},
                {"{\"mediaType\": \"" V03 "\", \"verificationMaterial\": {\"certificate\":"
                 " {\"rawBytes\": \"M!IB\"}}, " MESSAGE "}",
                 "rawBytes"},
                {"{\"mediaType\": \"" V03 "\", \"verificationMaterial\": {\"certificate\": " CERT
                 "}}",
                 "exactly one of messageSignature"},
                {"{\"mediaType\": \"" V03 "\", \"verificationMaterial\": {\"certificate\": " CERT
                 "}, \"messageSignature\": {\"messageDigest\": {\"algorithm\": \"SHA2_256\","
                 " \"digest\": \"AAAA\"}, \"signature\": \"MEUCIQ==\"}}",
                 "digest"},
                {"{\"mediaType\": \"" V03 "\", \"verificationMaterial\": {\"certificate\": " CERT
                 "}, \"messageSignature\": {\"messageDigest\": {\"algorithm\": \"SHA2_256\","
                 " \"digest\": \"oM/HEnHW4njlfNMy/5V8P3BD/do1TEy7GQow1W76Ab8=\"},"
                 " \"signature\": \"MEUCIQ=!\"}}",
                 "messageSignature.signature"},
        };
        static const char *const entry_breaks[][2] = {
                {"\"logIndex\": \"7\"", "\"logIndex\": \"-7\""},
                {"\"logIndex\": \"7\"", "\"logIndex\": \"07\""},
                {"\"logIndex\": \"7\"", "\"logIndex\": \"9223372036854775808\""},
                {"\"logIndex\": \"7\"", "\"logIndex\": -7"},
                {"\"treeSize\": \"8\"", "\"treeSize\": 8.5"},
                {"\"kind\": \"hashedrekord\"", "\"kind\": \"\""},
                {"\"canonicalizedBody\": \"e30=\"", "\"canonicalizedBody\": \"e30\\u0000\""},
                {"\"rootHash\": \"Fnnj", "\"rootHash\": \"Fnn"},
                {"\"hashes\": [\"Fnnj", "\"hashes\": [\"AAAA\", \"Fnnj"},
                {"\"keyId\": \"wNI9", "\"keyId\": \"#NI9"},
        };

        (void) state;
        for (size_t i = 0; i < CA_ELEMENTSOF(bad); i++) {
                struct ca_error err;
                struct sigbundle b;

                if (parse(bad[i].json, &b, &err) != -EINVAL || !err.bad_input ||
                    !strstr(err.msg, bad[i].field)) {
                        print_error("case %zu: %s\n", i, err.msg);
                        fail();
                }
        }
        for (size_t i = 0; i < CA_ELEMENTSOF(entry_breaks); i++) {
                const char *good = "{\"mediaType\": \"" V03 "\", \"verificationMaterial\": "
                                   "{\"certificate\": " CERT ", \"tlogEntries\": [" ENTRY "]}, "
                                   MESSAGE "}";
                const char *at = strstr(good, entry_breaks[i][0]);
                char json[4096];
                struct ca_error err;
                struct sigbundle b;

                assert_non_null(at);
                (void) snprintf(json, sizeof(json), "%.*s%s%s", (int) (at - good), good,
                                entry_breaks[i][1], at + strlen(entry_breaks[i][0]));
                if (parse(json, &b, &err) != -EINVAL || !strstr(err.msg, "tlogEntries[0]")) {
                        print_error("entry case %zu: %s\n", i, err.msg);
                        fail();
                }
        }
}

/* Cases whose bundle is malformed on purpose: the parser itself refuses them. */
static bool parser_refuses(const char *name)
{
        static const char *const refused[] = {
                "bundle-malformed-json_fail",     "bundle-unknown-version_fail",
                "bundle-invalid-base64-signature_fail", "bundle-negative-log-index_fail",
                "bundle-empty-certificate-chain_fail",
        };

        for (size_t i = 0; i < CA_ELEMENTSOF(refused); i++) {
                if (strcmp(name, refused[i]) == 0)
                        return true;
        }
        return false;
}

/* A case meant to verify: its checkpoint parses and states the proof's tree. The case whose
 * checkpoint is about another tree: it states another root. */
static void check_checkpoint(const char *name, const struct sigbundle_tlog *t, size_t *n)
{
        struct ca_error err = {0};
        struct tlog_checkpoint cp;

        if (!t->checkpoint)
                return;
        if (strcmp(name, "checkpoint-wrong-roothash_fail") == 0) {
                assert_int_equal(tlog_checkpoint_parse(t->checkpoint, t->checkpoint_len, &cp,
                                                       &err),
                                 0);
                assert_memory_not_equal(cp.root, t->root, TLOG_HASH_LEN);
                (*n)++;
                return;
        }
        if (strstr(name, "_fail"))
                return;
        if (tlog_checkpoint_parse(t->checkpoint, t->checkpoint_len, &cp, &err) != 0) {
                print_error("%s: %s\n", name, err.msg);
                fail();
        }
        assert_memory_equal(cp.root, t->root, TLOG_HASH_LEN);
        assert_true(cp.size == (uint64_t) t->tree_size);
        (*n)++;
}

struct suite_counts {
        size_t parsed, proofs, checkpoints;
};

/* One case's bundle: it parses (or is refused as malformed, when the case breaks the form),
 * and each of its proofs folds to its root and each checkpoint parses. */
static void check_case_bundle(const char *name, const char *path, void *ctx)
{
        struct suite_counts *c = ctx;
        struct buf json = BUF_INIT;
        struct ca_error err = {0};
        struct sigbundle b;
        int r;

        assert_int_equal(fileio_read_path(path, SIGBUNDLE_MAX, &json, NULL), 0);
        r = sigbundle_parse(json.data, json.len, &b, &err);
        buf_clear(&json);
        if (parser_refuses(name)) {
                if (r != -EINVAL || !err.bad_input) {
                        print_error("%s: parsed, but is malformed\n", name);
                        fail();
                }
                return;
        }
        if (r != 0) {
                print_error("%s: %s\n", name, err.msg);
                fail();
                return;
        }
        c->parsed++;
        /* Each proof folds to its root, unless the case breaks exactly that. */
        for (size_t i = 0; i < b.ntlogs; i++) {
                const struct sigbundle_tlog *t = &b.tlogs[i];
                uint8_t leaf[TLOG_HASH_LEN];
                int v;

                if (!t->has_proof)
                        continue;
                tlog_leaf_hash(t->body.data, t->body.len, leaf);
                v = tlog_verify_inclusion(leaf, (uint64_t) t->proof_index,
                                          (uint64_t) t->tree_size,
                                          (const uint8_t(*)[TLOG_HASH_LEN]) t->hashes,
                                          t->nhashes, t->root);
                if (strstr(name, "inclusion-proof")) {
                        assert_int_not_equal(v, 0);
                } else if (v != 0 && !strstr(name, "_fail")) {
                        /* A case meant to verify: its proofs must fold. (A failing
                         * case may break the entry's body, and with it the leaf.) */
                        print_error("%s: entry %zu: the proof does not fold (%d)\n",
                                    name, i, v);
                        fail();
                }
                c->proofs++;
                check_checkpoint(name, t, &c->checkpoints);
        }
        sigbundle_clear(&b);
}

static void test_sigbundle_conformance_suite(void **state)
{
        struct suite_counts c = {0};
        size_t cases;

        (void) state;
        cases = sigcases_each("bundle.sigstore.json", check_case_bundle, &c);
        print_message("conformance suite: %zu bundles, %zu parsed, %zu proofs and %zu "
                      "checkpoints checked\n",
                      cases, c.parsed, c.proofs, c.checkpoints);
        assert_int_equal(cases, 70); /* the suite's README says 72; it holds 70 */
        assert_true(c.proofs > 50);
        assert_true(c.checkpoints > 20);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sigbundle_v03_message),
                cmocka_unit_test(test_sigbundle_v01_chain_and_dsse),
                cmocka_unit_test(test_sigbundle_refusals),
                cmocka_unit_test(test_sigbundle_conformance_suite),
        };

        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
