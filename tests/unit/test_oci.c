/* SPDX-License-Identifier: MIT */
/* Unit tests for host/lib/oci: references, registry challenges, cosign signature manifests,
 * payloads and the bundles made of them. */
#include "testutil.h"

#include <errno.h>

#include "oci.h"
#include "sigbundle.h"

static void ref_ok(const char *s, const char *host, const char *repo, const char *tag,
                   const char *digest)
{
        struct ca_error err = {0};
        struct oci_ref r;

        if (oci_ref_parse(s, &r, &err) != 0)
                fail_msg("'%s' refused: %s", s, err.msg);
        assert_string_equal(r.host, host);
        assert_string_equal(r.repo, repo);
        assert_string_equal(r.tag, tag);
        assert_string_equal(r.digest, digest);
}

static void ref_bad(const char *s, const char *why)
{
        struct ca_error err = {0};
        struct oci_ref r;

        if (oci_ref_parse(s, &r, &err) != -EINVAL)
                fail_msg("'%s' accepted", s);
        assert_true(err.bad_input);
        if (!strstr(err.msg, why))
                fail_msg("'%s': '%s' does not say '%s'", s, err.msg, why);
}

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_oci_ref(void **state)
{
        (void) state;
        ref_ok("ghcr.io/owner/project/agent:v1.2.3", "ghcr.io", "owner/project/agent", "v1.2.3",
               "");
        ref_ok("ghcr.io/owner/agent", "ghcr.io", "owner/agent", "latest", "");
        ref_ok("127.0.0.1:5000/a/b@sha256:" D64, "127.0.0.1:5000", "a/b", "", "sha256:" D64);
        ref_ok("localhost/a_b/c-d.e:T_1@sha256:" D64, "localhost", "a_b/c-d.e", "T_1",
               "sha256:" D64);
        ref_ok("registry.example:443/x__y/z--w:1", "registry.example:443", "x__y/z--w", "1", "");

        ref_bad("agent:v1", "names no registry");
        ref_bad("owner/agent:v1", "names no registry");
        ref_bad("ghcr.io/Owner/agent", "lower-case");
        ref_bad("ghcr.io/owner//agent", "lower-case");
        ref_bad("ghcr.io/owner/agent/", "lower-case");
        ref_bad("ghcr.io/-owner/agent", "lower-case");
        ref_bad("ghcr.io/owner/agent.", "lower-case");
        ref_bad("ghcr.io/", "lower-case");
        ref_bad("ghcr.io/a:", "a tag is");
        ref_bad("ghcr.io/a:-x", "a tag is");
        ref_bad("ghcr.io/a:x y", "a tag is");
        ref_bad("ghcr.io/a@sha256:abc", "64");
        ref_bad("ghcr.io/a@sha256:" D64 "0", "64");
        ref_bad("ghcr.io/a@sha512:" D64, "64");
        ref_bad("ghcr.io/a@sha256:0123456789ABCDEF0123456789abcdef"
                "0123456789abcdef0123456789abcdef",
                "64");
        ref_bad("-bad.io/a", "not a registry host");
        ref_bad("bad..io/a", "not a registry host");
        ref_bad("bad.io:/a", "not a registry host");
        ref_bad("bad.io:123456/a", "not a registry host");
        ref_bad("bad.io:80x/a", "not a registry host");
        ref_bad("b@d.io/a", "not a registry host");
}

static void test_oci_challenge(void **state)
{
        struct oci_challenge c;
        static const char ghcr[] =
                " Bearer realm=\"https://ghcr.io/token\",service=\"ghcr.io\","
                "scope=\"repository:owner/agent:pull\"";
        static const char esc[] = "bearer  scope=\"a\\\"b\" , realm=\"https://t.example/x?y=1\"";

        (void) state;
        assert_int_equal(oci_challenge_parse(ghcr, strlen(ghcr), &c), 0);
        assert_string_equal(c.realm, "https://ghcr.io/token");
        assert_string_equal(c.service, "ghcr.io");
        assert_string_equal(c.scope, "repository:owner/agent:pull");
        assert_int_equal(oci_challenge_parse(esc, strlen(esc), &c), 0);
        assert_string_equal(c.scope, "a\"b");
        assert_string_equal(c.service, "");
        assert_string_equal(c.realm, "https://t.example/x?y=1");
        /* Never a token over plain http, never another scheme, nothing malformed. */
        assert_int_equal(oci_challenge_parse("Bearer realm=\"http://t/x\"", 25, &c), -EINVAL);
        assert_int_equal(oci_challenge_parse("Basic realm=\"https://t/x\"", 25, &c), -EINVAL);
        assert_int_equal(oci_challenge_parse("Bearer service=\"s\"", 18, &c), -EINVAL);
        assert_int_equal(oci_challenge_parse("Bearer realm=https://t", 22, &c), -EINVAL);
        assert_int_equal(oci_challenge_parse("Bearer realm=\"https://t", 23, &c), -EINVAL);
        assert_int_equal(oci_challenge_parse("Bearer realm=\"https://t\x01\"", 25, &c), -EINVAL);
        assert_int_equal(oci_challenge_parse("Bearer realm=\"https://\"", 22, &c), -EINVAL);
}

static void test_oci_token(void **state)
{
        char *t = NULL;

        (void) state;
        assert_int_equal(oci_token_parse("{\"token\":\"abc.def\"}", 19, &t), 0);
        assert_string_equal(t, "abc.def");
        free(t);
        assert_int_equal(oci_token_parse("{\"access_token\":\"xyz\"}", 22, &t), 0);
        assert_string_equal(t, "xyz");
        free(t);
        assert_int_equal(oci_token_parse("{\"token\":\"a b\"}", 15, &t), -EINVAL);
        assert_int_equal(oci_token_parse("{\"token\":\"a\\r\\nX: y\"}", 21, &t), -EINVAL);
        assert_int_equal(oci_token_parse("{\"token\":1}", 11, &t), -EINVAL);
        assert_int_equal(oci_token_parse("{}", 2, &t), -EINVAL);
        assert_int_equal(oci_token_parse("nope", 4, &t), -EINVAL);
        assert_null(t);
}

#define BODY_JSON "{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\",\"spec\":{}}"
/* base64 of BODY_JSON */
#define BODY_B64 "eyJhcGlWZXJzaW9uIjoiMC4wLjEiLCJraW5kIjoiaGFzaGVkcmVrb3JkIiwic3BlYyI6e319"
#define PROMISE                                                                              \
        "{\\\"SignedEntryTimestamp\\\":\\\"c2V0\\\",\\\"Payload\\\":{\\\"body\\\":\\\"" BODY_B64 \
        "\\\",\\\"integratedTime\\\":1700000000,\\\"logIndex\\\":42,\\\"logID\\\":\\\"0a0b\\\"}}"
#define CERT "-----BEGIN CERTIFICATE-----\\nMIIB\\nAAAA\\n-----END CERTIFICATE-----\\n"

static const char manifest[] =
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"size\":2,"
        "\"digest\":\"sha256:" D64 "\"},\"layers\":["
        "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"size\":1,\"digest\":\"x\"},"
        "{\"mediaType\":\"" OCI_MEDIA_SIMPLESIGNING "\",\"size\":250,\"digest\":\"sha256:" D64
        "\",\"annotations\":{\"dev.cosignproject.cosign/signature\":\"c2ln\","
        "\"dev.sigstore.cosign/certificate\":\"" CERT "\","
        "\"dev.sigstore.cosign/bundle\":\"" PROMISE "\"}}]}";

static void test_oci_sig_layers(void **state)
{
        struct ca_error err = {0};
        struct oci_sig_layer *l = NULL;
        struct sigbundle b;
        struct buf out = BUF_INIT;
        uint8_t md[32] = {1, 2, 3};
        size_t n = 0;

        (void) state;
        assert_int_equal(oci_sig_layers(manifest, strlen(manifest), &l, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_string_equal(l[0].digest, "sha256:" D64);
        assert_int_equal(l[0].size, 250);
        assert_string_equal(l[0].signature, "c2ln");
        assert_non_null(strstr(l[0].certificate, "MIIB"));
        /* The layer as a Sigstore v0.1 bundle, which the bundle parser takes as it is. */
        assert_int_equal(oci_cosign_bundle(&l[0], md, &out, &err), 0);
        if (sigbundle_parse(out.data, out.len, &b, &err) != 0)
                fail_msg("%s: %s", out.data, err.msg);
        assert_int_equal(b.version, SIGBUNDLE_V01);
        assert_int_equal(b.ncerts, 1);
        assert_int_equal(b.certs[0].len, 6); /* MIIBAAAA */
        assert_int_equal(b.ntlogs, 1);
        assert_int_equal(b.tlogs[0].log_index, 42);
        assert_int_equal(b.tlogs[0].integrated_time, 1700000000);
        assert_string_equal(b.tlogs[0].kind, "hashedrekord");
        assert_string_equal(b.tlogs[0].kind_version, "0.0.1");
        assert_int_equal(b.tlogs[0].log_id.len, 2);
        assert_int_equal(b.tlogs[0].set.len, 3);
        assert_int_equal(b.digest_len, 32);
        assert_memory_equal(b.digest, md, 32);
        assert_int_equal(b.signature.len, 3);
        sigbundle_clear(&b);
        buf_clear(&out);
        /* Without Rekor's promise there is nothing to verify the signing time by. */
        free(l[0].bundle);
        l[0].bundle = NULL;
        assert_int_equal(oci_cosign_bundle(&l[0], md, &out, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "no transparency-log entry"));
        /* A managed key's signature (no certificate) is not one this verifies. */
        free(l[0].certificate);
        l[0].certificate = NULL;
        assert_int_equal(oci_cosign_bundle(&l[0], md, &out, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "keyless"));
        oci_sig_layers_free(l, n);

        /* Malformed manifests and layers are refused as bad input. */
        static const char *const bad[] = {
                "[]",
                "{\"schemaVersion\":1,\"layers\":[]}",
                "{\"schemaVersion\":2}",
                "{\"schemaVersion\":2,\"layers\":[{\"mediaType\":\"" OCI_MEDIA_SIMPLESIGNING
                "\",\"size\":1,\"digest\":\"sha256:x\"}]}",
                "{\"schemaVersion\":2,\"layers\":[{\"mediaType\":\"" OCI_MEDIA_SIMPLESIGNING
                "\",\"size\":1,\"digest\":\"sha256:" D64 "\"}]}",
                "{\"schemaVersion\":2,\"layers\":[{\"mediaType\":\"" OCI_MEDIA_SIMPLESIGNING
                "\",\"size\":1,\"digest\":\"sha256:" D64
                "\",\"annotations\":{\"dev.cosignproject.cosign/signature\":7}}]}",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                memset(&err, 0, sizeof(err));
                if (oci_sig_layers(bad[i], strlen(bad[i]), &l, &n, &err) != -EINVAL)
                        fail_msg("accepted: %s", bad[i]);
                assert_true(err.bad_input);
        }
        /* No signature layer at all: none, not an error. */
        assert_int_equal(oci_sig_layers("{\"schemaVersion\":2,\"layers\":[]}", 31, &l, &n, &err),
                         0);
        assert_int_equal(n, 0);
        oci_sig_layers_free(l, n);
}

static int payload(const char *type, const char *digest, const char *ref, struct ca_error *err)
{
        char p[1024];

        (void) snprintf(p, sizeof(p),
                        "{\"critical\":{\"identity\":{\"docker-reference\":\"%s\"},\"image\":{"
                        "\"docker-manifest-digest\":\"%s\"},\"type\":\"%s\"},\"optional\":null}",
                        ref, digest, type);
        memset(err, 0, sizeof(*err));
        return oci_payload_check(p, strlen(p), "sha256:" D64, "ghcr.io/o/agent", err);
}

static void test_oci_payload(void **state)
{
        static const char type[] = "cosign container image signature";
        struct ca_error err;

        (void) state;
        assert_int_equal(payload(type, "sha256:" D64, "ghcr.io/o/agent", &err), 0);
        assert_int_equal(payload(type, "sha256:" D64 "0", "ghcr.io/o/agent", &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "another image"));
        assert_int_equal(payload(type, "sha256:" D64, "ghcr.io/o/other", &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "repository"));
        assert_int_equal(payload(type, "sha256:" D64, "ghcr.io/o/agent:v1", &err), -EBADMSG);
        assert_int_equal(payload("in-toto", "sha256:" D64, "ghcr.io/o/agent", &err), -EBADMSG);
        assert_int_equal(oci_payload_check("{}", 2, "sha256:" D64, "x", &err), -EINVAL);
        assert_int_equal(oci_payload_check("{", 1, "sha256:" D64, "x", &err), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_oci_ref),        cmocka_unit_test(test_oci_challenge),
                cmocka_unit_test(test_oci_token),      cmocka_unit_test(test_oci_sig_layers),
                cmocka_unit_test(test_oci_payload),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
