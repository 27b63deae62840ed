/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include "digest.h"

static void test_digest_sha256_known_vectors(void **state)
{
        uint8_t md[DIGEST_SHA256_LEN];
        char hex[DIGEST_SHA256_HEX_LEN + 1];
        struct digest_ctx *ctx;
        (void) state;

        assert_int_equal(digest_sha256("abc", 3, md), 0);
        digest_hex(md, sizeof(md), hex);
        assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_int_equal(digest_sha256("", 0, md), 0);
        digest_hex(md, sizeof(md), hex);
        assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

        /* Streaming gives the same result as one shot. */
        ctx = digest_sha256_new();
        assert_non_null(ctx);
        assert_int_equal(digest_update(ctx, "a", 1), 0);
        assert_int_equal(digest_update(ctx, "bc", 2), 0);
        assert_int_equal(digest_final(ctx, md), 0);
        digest_hex(md, sizeof(md), hex);
        assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_null(digest_free(NULL));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_digest_sha256_known_vectors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
