/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/capability: encode/decode, MAC, every tamper case, the window. */
#include "testutil.h"

#include <errno.h>

#include <sodium.h>

#include "capability.h"

static uint8_t master[CAP_KEY_LEN];

static void make_cap(struct capability *c)
{
        memset(c, 0, sizeof(*c));
        randombytes_buf(c->id, sizeof(c->id));
        (void) snprintf(c->session, sizeof(c->session), "claude-repo-1a2b");
        (void) snprintf(c->stub, sizeof(c->stub), "github");
        (void) snprintf(c->secrets[0], sizeof(c->secrets[0]), "GITHUB_TOKEN");
        (void) snprintf(c->secrets[1], sizeof(c->secrets[1]), "OTHER");
        c->nsecrets = 2;
        c->has_binary = true;
        memset(c->binary_sha256, 0xab, sizeof(c->binary_sha256));
        c->not_before = 1000;
        c->expiry = 2000;
        c->max_uses = 1;
}

static int setup(void **state)
{
        (void) state;
        assert_true(sodium_init() >= 0);
        randombytes_buf(master, sizeof(master));
        return 0;
}

static void test_capability_roundtrip(void **state)
{
        struct capability c;
        struct capability d;
        uint8_t key[CAP_KEY_LEN];
        char text[CAP_TEXT_MAX + 1];
        int n;
        (void) state;

        make_cap(&c);
        assert_int_equal(capability_mac_key(master, c.session, key), 0);
        n = capability_encode(&c, key, text, sizeof(text));
        assert_true(n > 5);
        assert_int_equal(strncmp(text, "cap2.", 5), 0);
        assert_null(strpbrk(text + 5, "+/="));
        assert_int_equal(capability_verify(text, key, 1500, &d), CAP_OK);
        assert_memory_equal(d.id, c.id, CAP_ID_LEN);
        assert_string_equal(d.session, c.session);
        assert_string_equal(d.stub, "github");
        assert_int_equal(d.nsecrets, 2);
        assert_string_equal(d.secrets[1], "OTHER");
        assert_true(d.has_binary);
        assert_memory_equal(d.binary_sha256, c.binary_sha256, CAP_HASH_LEN);
        assert_int_equal(d.max_uses, 1);
        assert_int_equal(capability_parse(text, &d), CAP_OK);
}

static void test_capability_verify_rejects_every_tampered_byte(void **state)
{
        struct capability c;
        struct capability d;
        uint8_t key[CAP_KEY_LEN];
        char text[CAP_TEXT_MAX + 1];
        static const char alphabet[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        size_t n;
        (void) state;

        make_cap(&c);
        assert_int_equal(capability_mac_key(master, c.session, key), 0);
        n = (size_t) capability_encode(&c, key, text, sizeof(text));
        /* Every character of the payload, replaced by every other base64url character. */
        for (size_t i = 5; i < n; i++) {
                char orig = text[i];
                for (const char *a = alphabet; *a; a++) {
                        enum cap_status st;
                        if (*a == orig)
                                continue;
                        text[i] = *a;
                        st = capability_verify(text, key, 1500, &d);
                        if (st == CAP_OK)
                                fail_msg("tampered position %zu ('%c' -> '%c') accepted", i, orig,
                                         *a);
                }
                text[i] = orig;
        }
        assert_int_equal(capability_verify(text, key, 1500, &d), CAP_OK);
}

static void test_capability_verify_distinct_reasons(void **state)
{
        struct capability c;
        struct capability d;
        uint8_t key[CAP_KEY_LEN];
        uint8_t other[CAP_KEY_LEN];
        char text[CAP_TEXT_MAX + 1];
        char bad[CAP_TEXT_MAX + 8];
        (void) state;

        make_cap(&c);
        assert_int_equal(capability_mac_key(master, c.session, key), 0);
        assert_true(capability_encode(&c, key, text, sizeof(text)) > 0);

        /* Window: not_before inclusive, expiry exclusive. */
        assert_int_equal(capability_verify(text, key, 999, &d), CAP_NOT_YET_VALID);
        assert_int_equal(capability_verify(text, key, 1000, &d), CAP_OK);
        assert_int_equal(capability_verify(text, key, 1999, &d), CAP_OK);
        assert_int_equal(capability_verify(text, key, 2000, &d), CAP_EXPIRED);

        /* Wrong key: the holder's own proof key, another session's, another master. */
        assert_int_equal(capability_proof_key(master, c.session, c.stub, c.id, other), 0);
        assert_int_equal(capability_verify(text, other, 1500, &d), CAP_BAD_MAC);
        assert_int_equal(capability_mac_key(master, "other-session", other), 0);
        assert_int_equal(capability_verify(text, other, 1500, &d), CAP_BAD_MAC);
        memset(other, 0, sizeof(other));
        assert_int_equal(capability_verify(text, other, 1500, &d), CAP_BAD_MAC);

        /* Versions: the old format (a holder could re-sign it) and unknown ones. */
        (void) snprintf(bad, sizeof(bad), "cap1.%s", text + 5);
        assert_int_equal(capability_verify(bad, key, 1500, &d), CAP_BAD_VERSION);
        assert_int_equal(capability_parse(bad, &d), CAP_BAD_VERSION);
        (void) snprintf(bad, sizeof(bad), "cap3.%s", text + 5);
        assert_int_equal(capability_verify(bad, key, 1500, &d), CAP_BAD_VERSION);
        {
                uint8_t rec[] = {1, 1, 2, 3};
                char b64[32];
                sodium_bin2base64(b64, sizeof(b64), rec, sizeof(rec),
                                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
                (void) snprintf(bad, sizeof(bad), "cap2.%s", b64);
                assert_int_equal(capability_parse(bad, &d), CAP_BAD_VERSION);
        }

        /* Malformed. */
        assert_int_equal(capability_verify("", key, 1500, &d), CAP_MALFORMED);
        assert_int_equal(capability_verify("cap2.", key, 1500, &d), CAP_MALFORMED);
        assert_int_equal(capability_verify("cap2.!!!", key, 1500, &d), CAP_MALFORMED);
        assert_int_equal(capability_verify("token.abc", key, 1500, &d), CAP_MALFORMED);
        (void) snprintf(bad, sizeof(bad), "%sAA", text);
        assert_int_equal(capability_verify(bad, key, 1500, &d), CAP_MALFORMED);
        bad[strlen(text) - 3] = '\0';
        assert_true(capability_verify(bad, key, 1500, &d) != CAP_OK);

        assert_string_equal(capability_status_name(CAP_BAD_MAC), "bad-mac");
        assert_string_equal(capability_status_name(CAP_EXPIRED), "expired");
}

static void test_capability_encode_rejects_bad_records(void **state)
{
        struct capability c;
        uint8_t key[CAP_KEY_LEN] = {0};
        char text[CAP_TEXT_MAX + 1];
        (void) state;

        make_cap(&c);
        c.max_uses = 0;
        assert_int_equal(capability_encode(&c, key, text, sizeof(text)), -EINVAL);
        make_cap(&c);
        c.expiry = c.not_before;
        assert_int_equal(capability_encode(&c, key, text, sizeof(text)), -EINVAL);
        make_cap(&c);
        (void) snprintf(c.stub, sizeof(c.stub), "Bad/Stub");
        assert_int_equal(capability_encode(&c, key, text, sizeof(text)), -EINVAL);
        make_cap(&c);
        (void) snprintf(c.secrets[0], sizeof(c.secrets[0]), "1BAD");
        assert_int_equal(capability_encode(&c, key, text, sizeof(text)), -EINVAL);
        make_cap(&c);
        assert_int_equal(capability_encode(&c, key, text, 20), -ENOBUFS);
        assert_int_equal(capability_mac_key(master, "", key), -EINVAL);
        assert_int_equal(capability_proof_key(master, "s", "X", c.id, key), -EINVAL);
        assert_int_equal(capability_proof_key(master, "", "x", c.id, key), -EINVAL);
}

static void test_capability_max_sizes(void **state)
{
        struct capability c;
        struct capability d;
        uint8_t key[CAP_KEY_LEN];
        char text[CAP_TEXT_MAX + 1];
        (void) state;

        make_cap(&c);
        memset(c.session, 'S', CAP_SESSION_MAX);
        c.session[CAP_SESSION_MAX] = '\0';
        memset(c.stub, 's', CAP_STUB_MAX);
        c.stub[CAP_STUB_MAX] = '\0';
        c.nsecrets = CAP_MAX_SECRETS;
        for (size_t i = 0; i < CAP_MAX_SECRETS; i++) {
                memset(c.secrets[i], 'A', CAP_SECRET_NAME_MAX);
                c.secrets[i][CAP_SECRET_NAME_MAX] = '\0';
                c.secrets[i][0] = (char) ('A' + i);
        }
        assert_int_equal(capability_mac_key(master, c.session, key), 0);
        assert_true(capability_encode(&c, key, text, sizeof(text)) > 0);
        assert_int_equal(capability_verify(text, key, 1500, &d), CAP_OK);
        assert_int_equal(d.nsecrets, CAP_MAX_SECRETS);
}

/* The holder's proof key: distinct per capability, and never the MAC key. */
static void test_capability_keys_distinct(void **state)
{
        struct capability c;
        uint8_t mac[CAP_KEY_LEN], proof[CAP_KEY_LEN], proof2[CAP_KEY_LEN], again[CAP_KEY_LEN];
        (void) state;

        make_cap(&c);
        assert_int_equal(capability_mac_key(master, c.session, mac), 0);
        assert_int_equal(capability_proof_key(master, c.session, c.stub, c.id, proof), 0);
        assert_int_equal(capability_proof_key(master, c.session, c.stub, c.id, again), 0);
        assert_memory_equal(proof, again, CAP_KEY_LEN);
        assert_memory_not_equal(mac, proof, CAP_KEY_LEN);
        c.id[0] ^= 1;
        assert_int_equal(capability_proof_key(master, c.session, c.stub, c.id, proof2), 0);
        assert_memory_not_equal(proof, proof2, CAP_KEY_LEN);
        /* (session "a", stub "bc") and (session "ab", stub "c") never share a key. */
        assert_int_equal(capability_proof_key(master, "a", "bc", c.id, proof), 0);
        assert_int_equal(capability_proof_key(master, "ab", "c", c.id, proof2), 0);
        assert_memory_not_equal(proof, proof2, CAP_KEY_LEN);
}

static void test_capability_equal(void **state)
{
        struct capability a, b;
        (void) state;

        make_cap(&a);
        b = a;
        assert_true(capability_equal(&a, &b));
        b.max_uses = 2;
        assert_false(capability_equal(&a, &b));
        b = a;
        (void) snprintf(b.secrets[1], sizeof(b.secrets[1]), "THIRD");
        assert_false(capability_equal(&a, &b));
        b = a;
        b.has_binary = false;
        assert_false(capability_equal(&a, &b));
        b = a;
        b.expiry++;
        assert_false(capability_equal(&a, &b));
        b = a;
        b.id[3] ^= 1;
        assert_false(capability_equal(&a, &b));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_capability_roundtrip),
                cmocka_unit_test(test_capability_verify_rejects_every_tampered_byte),
                cmocka_unit_test(test_capability_verify_distinct_reasons),
                cmocka_unit_test(test_capability_encode_rejects_bad_records),
                cmocka_unit_test(test_capability_max_sizes),
                cmocka_unit_test(test_capability_keys_distinct),
                cmocka_unit_test(test_capability_equal),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}
