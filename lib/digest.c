/* SPDX-License-Identifier: MIT */
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

#include "error.h"

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

int digest_file_hex(const char *path, char out[DIGEST_SHA256_HEX_LEN + 1], struct ca_error *err)
{
        uint8_t md[DIGEST_SHA256_LEN];
        uint8_t chunk[65536];
        struct digest_ctx *ctx;
        ssize_t n;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return ca_error_set(err, errno, "cannot open '%s'", path);
        ctx = digest_sha256_new();
        if (!ctx) {
                (void) close(fd);
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || digest_update(ctx, chunk, (size_t) n) < 0) {
                        int e = n < 0 ? errno : EIO;

                        (void) close(fd);
                        digest_free(ctx);
                        return ca_error_set(err, e, "cannot hash '%s'", path);
                }
        }
        (void) close(fd);
        if (digest_final(ctx, md) < 0)
                return ca_error_setx(err, EIO, "SHA-256 failed");
        digest_hex(md, sizeof(md), out);
        return 0;
}
