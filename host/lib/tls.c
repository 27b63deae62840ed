/* SPDX-License-Identifier: MIT */
#include "tls.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "digest.h"
#include "error.h"

/*
 * libcrypto is loaded when the first certificate is parsed, not at start: most commands that
 * link this module (render, config check) never see a certificate, and mapping libcrypto costs
 * every process ~17,000 relocations. The functions are looked up once, by the soname of the
 * OpenSSL major version we were compiled against, through the same library search as a
 * link-time dependency.
 */
#define STR_(x) #x
#define STR(x) STR_(x)
#define LIBCRYPTO_SONAME "libcrypto.so." STR(OPENSSL_VERSION_MAJOR)

#define OSSL_FUNCS(X)                                                                             \
        X(BIO_ctrl)                                                                               \
        X(BIO_free)                                                                               \
        X(BIO_new)                                                                                \
        X(BIO_new_mem_buf)                                                                        \
        X(BIO_s_mem)                                                                              \
        X(CRYPTO_free)                                                                            \
        X(ERR_clear_error)                                                                        \
        X(ERR_peek_last_error)                                                                    \
        X(PEM_read_bio)                                                                           \
        X(PEM_write_bio_X509)                                                                     \
        X(X509_NAME_oneline)                                                                      \
        X(X509_check_ca)                                                                          \
        X(X509_free)                                                                              \
        X(X509_get_X509_PUBKEY)                                                                   \
        X(X509_get_subject_name)                                                                  \
        X(d2i_X509)                                                                               \
        X(i2d_X509)                                                                               \
        X(i2d_X509_PUBKEY)

static struct {
#define X(f) __typeof__(&f) f; /* NOLINT(bugprone-macro-parentheses): a declaration */
        OSSL_FUNCS(X)
#undef X
} ossl;
static pthread_once_t ossl_once = PTHREAD_ONCE_INIT;
static const char *ossl_missing; /* NULL once loaded */

static void ossl_load(void)
{
        void *h = dlopen(LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);

        ossl_missing = LIBCRYPTO_SONAME;
        if (!h)
                return;
#define X(f)                                                                                      \
        {                                                                                         \
                void *sym = dlsym(h, #f);                                                         \
                if (!sym) {                                                                       \
                        ossl_missing = #f;                                                        \
                        return;                                                                   \
                }                                                                                 \
                memcpy(&ossl.f, &sym, sizeof(sym));                                               \
        }
        OSSL_FUNCS(X)
#undef X
        ossl_missing = NULL;
}

static int ossl_ready(struct ca_error *err)
{
        (void) pthread_once(&ossl_once, ossl_load);
        if (ossl_missing)
                return ca_error_setx(err, ELIBACC, "cannot load OpenSSL's libcrypto (%s) to read "
                                     "certificates", ossl_missing);
        return 0;
}

#define OSSL_FREE(p) ossl.CRYPTO_free((p), OPENSSL_FILE, OPENSSL_LINE)

/* SHA-256 of an object's DER encoding, through `i2d`. */
static bool der_sha256(int len, unsigned char *der, unsigned char md[DIGEST_SHA256_LEN])
{
        bool ok = len > 0 && digest_sha256(der, (size_t) len, md) == 0;

        OSSL_FREE(der);
        return ok;
}

static void cert_info(X509 *x, struct tls_cert_info *info)
{
        unsigned char md[DIGEST_SHA256_LEN];
        unsigned char *der = NULL;
        int len;

        memset(info, 0, sizeof(*info));
        (void) ossl.X509_NAME_oneline(ossl.X509_get_subject_name(x), info->subject,
                                      sizeof(info->subject));
        len = ossl.i2d_X509(x, &der);
        if (der_sha256(len, der, md))
                sodium_bin2hex(info->sha256, sizeof(info->sha256), md, sizeof(md));
        der = NULL;
        len = ossl.i2d_X509_PUBKEY(ossl.X509_get_X509_PUBKEY(x), &der);
        if (der_sha256(len, der, md)) {
                memcpy(info->pin, "sha256//", 8);
                sodium_bin2base64(info->pin + 8, sizeof(info->pin) - 8, md, sizeof(md),
                                  sodium_base64_VARIANT_ORIGINAL);
        }
        info->ca = ossl.X509_check_ca(x) > 0;
}

int tls_bundle_parse(const char *pem, size_t len, struct tls_cert_info **out, size_t *ret_n,
                     struct buf *canonical, struct ca_error *err)
{
        BIO *in = NULL;
        BIO *mem = NULL;
        struct tls_cert_info *infos = NULL;
        size_t n = 0;
        int r = 0;

        *out = NULL;
        *ret_n = 0;
        if (len > TLS_BUNDLE_MAX)
                return ca_error_input(err, "bundle larger than %zu bytes", TLS_BUNDLE_MAX);
        /* Certificates only: a private key does not belong in a trust bundle. */
        if (memmem(pem, len, "PRIVATE KEY", 11))
                return ca_error_input(err, "the bundle holds a private key: refusing it");
        r = ossl_ready(err);
        if (r < 0)
                return r;
        in = ossl.BIO_new_mem_buf(pem, (int) len);
        mem = ossl.BIO_new(ossl.BIO_s_mem());
        if (!in || !mem) {
                r = ca_error_setx(err, ENOMEM, "out of memory");
                goto out;
        }
        for (;;) {
                char *name = NULL;
                char *header = NULL;
                unsigned char *data = NULL;
                long dlen = 0;
                const unsigned char *p;
                X509 *x;

                if (ossl.PEM_read_bio(in, &name, &header, &data, &dlen) != 1) {
                        unsigned long e = ossl.ERR_peek_last_error();
                        ossl.ERR_clear_error();
                        if (ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
                                break; /* the end: only whitespace or text outside blocks */
                        r = ca_error_input(err, "malformed PEM after %zu certificate%s", n,
                                           n == 1 ? "" : "s");
                        goto out;
                }
                p = data;
                x = strcmp(name, "CERTIFICATE") == 0 ? ossl.d2i_X509(NULL, &p, dlen) : NULL;
                if (!x || p != data + dlen) {
                        r = ca_error_input(err, "PEM block %zu ('%.40s') is not a certificate",
                                           n + 1, name);
                        ossl.X509_free(x);
                        OSSL_FREE(name);
                        OSSL_FREE(header);
                        OSSL_FREE(data);
                        goto out;
                }
                OSSL_FREE(name);
                OSSL_FREE(header);
                OSSL_FREE(data);
                if (n == TLS_BUNDLE_CERTS_MAX) {
                        ossl.X509_free(x);
                        r = ca_error_input(err, "more than %d certificates",
                                           TLS_BUNDLE_CERTS_MAX);
                        goto out;
                }
                {
                        struct tls_cert_info *ni = realloc(infos, (n + 1) * sizeof(*ni));
                        if (ni)
                                infos = ni;
                        if (!ni || ossl.PEM_write_bio_X509(mem, x) != 1) {
                                ossl.X509_free(x);
                                r = ca_error_setx(err, ENOMEM, "out of memory");
                                goto out;
                        }
                }
                cert_info(x, &infos[n++]);
                ossl.X509_free(x);
        }
        if (n == 0) {
                r = ca_error_input(err, "no certificate in the bundle");
                goto out;
        }
        {
                char *data = NULL;
                long clen = ossl.BIO_ctrl(mem, BIO_CTRL_INFO, 0, (void *) &data);
                if (clen <= 0 || buf_append(canonical, data, (size_t) clen) < 0) {
                        r = ca_error_setx(err, ENOMEM, "out of memory");
                        goto out;
                }
        }
        *out = infos;
        *ret_n = n;
        infos = NULL;
out:
        free(infos);
        ossl.BIO_free(in);
        ossl.BIO_free(mem);
        ossl.ERR_clear_error();
        return r;
}
