/* SPDX-License-Identifier: MIT */
/*
 * Certificates through OpenSSL, loaded on first use (the only module that includes its X509/PEM
 * headers): reading a PEM bundle strictly, and the SPKI pin of a certificate as libcurl expects it
 * ("sha256//<base64 of SHA-256 of the DER SubjectPublicKeyInfo>").
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "macro.h"

struct ca_error;

#define TLS_BUNDLE_MAX ((size_t) 1 << 20)
#define TLS_BUNDLE_CERTS_MAX 500

struct tls_cert_info {
        char subject[256];
        char sha256[65]; /* of the DER certificate, hex */
        char pin[64];    /* sha256//<base64>, of the SPKI */
        bool ca;         /* basicConstraints CA:TRUE */
};

/*
 * Parses a PEM bundle: one or more CERTIFICATE blocks and nothing else (a private key, or
 * anything unparseable, is refused with -EINVAL, bad input). Fills `out` (malloc'd array, the
 * caller frees it) and writes the certificates re-encoded as canonical PEM into `canonical`.
 */
int tls_bundle_parse(const char *pem, size_t len, struct tls_cert_info **out, size_t *ret_n,
                     struct buf *canonical, struct ca_error *err) CA_MUST_CHECK;
