/* SPDX-License-Identifier: MIT */
#include "tls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "error.h"

static void cert_info(X509 *x, struct tls_cert_info *info)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        unsigned char *spki = NULL;
        int spki_len;

        memset(info, 0, sizeof(*info));
        (void) X509_NAME_oneline(X509_get_subject_name(x), info->subject, sizeof(info->subject));
        if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1 && mdlen == 32)
                sodium_bin2hex(info->sha256, sizeof(info->sha256), md, mdlen);
        spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
        if (spki_len > 0 &&
            EVP_Digest(spki, (size_t) spki_len, md, &mdlen, EVP_sha256(), NULL) == 1) {
                memcpy(info->pin, "sha256//", 8);
                sodium_bin2base64(info->pin + 8, sizeof(info->pin) - 8, md, mdlen,
                                  sodium_base64_VARIANT_ORIGINAL);
        }
        OPENSSL_free(spki);
        info->ca = X509_check_ca(x) > 0;
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
        in = BIO_new_mem_buf(pem, (int) len);
        mem = BIO_new(BIO_s_mem());
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

                if (PEM_read_bio(in, &name, &header, &data, &dlen) != 1) {
                        unsigned long e = ERR_peek_last_error();
                        ERR_clear_error();
                        if (ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
                                break; /* the end: only whitespace or text outside blocks */
                        r = ca_error_input(err, "malformed PEM after %zu certificate%s", n,
                                           n == 1 ? "" : "s");
                        goto out;
                }
                p = data;
                x = strcmp(name, "CERTIFICATE") == 0 ? d2i_X509(NULL, &p, dlen) : NULL;
                if (!x || p != data + dlen) {
                        r = ca_error_input(err, "PEM block %zu ('%.40s') is not a certificate",
                                           n + 1, name);
                        X509_free(x);
                        OPENSSL_free(name);
                        OPENSSL_free(header);
                        OPENSSL_free(data);
                        goto out;
                }
                OPENSSL_free(name);
                OPENSSL_free(header);
                OPENSSL_free(data);
                if (n == TLS_BUNDLE_CERTS_MAX) {
                        X509_free(x);
                        r = ca_error_input(err, "more than %d certificates",
                                           TLS_BUNDLE_CERTS_MAX);
                        goto out;
                }
                {
                        struct tls_cert_info *ni = realloc(infos, (n + 1) * sizeof(*ni));
                        if (ni)
                                infos = ni;
                        if (!ni || PEM_write_bio_X509(mem, x) != 1) {
                                X509_free(x);
                                r = ca_error_setx(err, ENOMEM, "out of memory");
                                goto out;
                        }
                }
                cert_info(x, &infos[n++]);
                X509_free(x);
        }
        if (n == 0) {
                r = ca_error_input(err, "no certificate in the bundle");
                goto out;
        }
        {
                char *data = NULL;
                long clen = BIO_get_mem_data(mem, &data);
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
        BIO_free(in);
        BIO_free(mem);
        ERR_clear_error();
        return r;
}
