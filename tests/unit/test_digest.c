/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

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

/* FIPS 180-4's two-block vector and the million 'a's. */
static void check_long_vectors(void)
{
        static const char two[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        uint8_t md[DIGEST_SHA256_LEN];
        char hex[DIGEST_SHA256_HEX_LEN + 1];
        char *a = malloc(1000000);

        assert_int_equal(digest_sha256(two, sizeof(two) - 1, md), 0);
        digest_hex(md, sizeof(md), hex);
        assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        assert_non_null(a);
        memset(a, 'a', 1000000);
        assert_int_equal(digest_sha256(a, 1000000, md), 0);
        digest_hex(md, sizeof(md), hex);
        assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        free(a);
}

/* Every length around the block and padding boundaries, in one shot and fed in uneven pieces,
 * against libsodium's independent SHA-256: on the SHA extensions and on the portable path. */
static void check_against_libsodium(void)
{
        uint8_t data[1100], md[DIGEST_SHA256_LEN], want[crypto_hash_sha256_BYTES];

        randombytes_buf(data, sizeof(data));
        for (size_t len = 0; len <= sizeof(data); len++) {
                struct digest_ctx *ctx = digest_sha256_new();
                size_t off = 0, step = 1;

                crypto_hash_sha256(want, data, len);
                assert_int_equal(digest_sha256(data, len, md), 0);
                assert_memory_equal(md, want, sizeof(want));
                assert_non_null(ctx);
                while (off < len) {
                        size_t n = step < len - off ? step : len - off;

                        assert_int_equal(digest_update(ctx, data + off, n), 0);
                        off += n;
                        step = step * 3 % 67 + 1;
                }
                assert_int_equal(digest_final(ctx, md), 0);
                assert_memory_equal(md, want, sizeof(want));
        }
}

static void test_digest_sha256_both_paths(void **state)
{
        (void) state;
        assert_true(sodium_init() >= 0);
        check_long_vectors();
        check_against_libsodium();
        digest_sha256_use_portable(true);
        assert_string_equal(digest_sha256_impl(), "portable");
        check_long_vectors();
        check_against_libsodium();
        digest_sha256_use_portable(false);
        print_message("SHA-256 in this process: %s\n", digest_sha256_impl());
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_digest_sha256_known_vectors),
                cmocka_unit_test(test_digest_sha256_both_paths),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
