/* SPDX-License-Identifier: MIT */
#include "digest.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>

struct digest_ctx {
        EVP_MD_CTX *md;
};

int digest_sha256(const void *data, size_t len, uint8_t out[DIGEST_SHA256_LEN])
{
        unsigned int n = 0;

        if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != DIGEST_SHA256_LEN)
                return -EIO;
        return 0;
}

struct digest_ctx *digest_sha256_new(void)
{
        struct digest_ctx *ctx = calloc(1, sizeof(*ctx));

        if (!ctx)
                return NULL;
        ctx->md = EVP_MD_CTX_new();
        if (!ctx->md || EVP_DigestInit_ex(ctx->md, EVP_sha256(), NULL) != 1)
                return digest_free(ctx);
        return ctx;
}

int digest_update(struct digest_ctx *ctx, const void *data, size_t len)
{
        return EVP_DigestUpdate(ctx->md, data, len) == 1 ? 0 : -EIO;
}

int digest_final(struct digest_ctx *ctx, uint8_t out[DIGEST_SHA256_LEN])
{
        unsigned int n = 0;
        int ok = EVP_DigestFinal_ex(ctx->md, out, &n) == 1 && n == DIGEST_SHA256_LEN;

        digest_free(ctx);
        return ok ? 0 : -EIO;
}

struct digest_ctx *digest_free(struct digest_ctx *ctx)
{
        if (!ctx)
                return NULL;
        EVP_MD_CTX_free(ctx->md);
        free(ctx);
        return NULL;
}

void digest_hex(const uint8_t *in, size_t len, char *out)
{
        static const char hex[] = "0123456789abcdef";

        for (size_t i = 0; i < len; i++) {
                out[2 * i] = hex[in[i] >> 4];
                out[2 * i + 1] = hex[in[i] & 0xf];
        }
        out[2 * len] = '\0';
}
