/* SPDX-License-Identifier: MIT */
/*
 * Sigstore trusted roots (application/vnd.dev.sigstore.trustedroot+json;version=0.1): what a
 * bundle is verified against, offline. The transparency logs' and CT logs' public keys (DER
 * SubjectPublicKeyInfo, their key ids and validity windows), the certificate authorities'
 * chains (Fulcio) and the timestamp authorities' chains, each with the window in which it may
 * have issued.
 *
 * Parsing is strict on what the verifier uses: keys and certificates must be base64 that
 * decodes, key details a known scheme, windows RFC 3339 UTC times with a start (a window with
 * no start would trust a key for all of the past: refused) and an end after it when there is
 * one. Fields this version does not know are ignored.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "macro.h"
#include "sigbundle.h"

#define SIGROOT_MAX ((size_t) 4 << 20)

enum sigroot_scheme {
        SIGROOT_ECDSA_P256_SHA256 = 1,
        SIGROOT_ECDSA_P384_SHA384,
        SIGROOT_ECDSA_P521_SHA512,
        SIGROOT_ED25519,
        SIGROOT_RSA_PKCS1V15,
        SIGROOT_RSA_PSS,
};

struct sigroot_window {
        int64_t start;
        int64_t end;  /* valid when has_end */
        bool has_end;
};

struct sigroot_log {
        char base_url[256];
        struct sig_bytes key;        /* DER SubjectPublicKeyInfo */
        enum sigroot_scheme scheme;
        struct sigroot_window valid;
        struct sig_bytes log_id;     /* the key id bundles name */
        struct sig_bytes checkpoint_key_id; /* Rekor v2: the id its checkpoints' hints derive
                                               from; empty when absent */
};

struct sigroot_authority {
        char uri[256];
        struct sig_bytes *certs;     /* DER, the issuing certificate first, the root last */
        size_t ncerts;
        struct sigroot_window valid;
};

struct sigroot {
        struct sigroot_log *tlogs;
        size_t ntlogs;
        struct sigroot_log *ctlogs;
        size_t nctlogs;
        struct sigroot_authority *cas;
        size_t ncas;
        struct sigroot_authority *tsas;
        size_t ntsas;
};

int sigroot_parse(const char *json, size_t len, struct sigroot *out,
                  struct ca_error *err) CA_MUST_CHECK;
void sigroot_clear(struct sigroot *r);

/* True when `t` lies in the window (both ends inclusive). */
bool sigroot_window_contains(const struct sigroot_window *w, int64_t t);

/* An RFC 3339 UTC time ("2021-01-12T11:53:27Z", fractions of a second allowed and dropped) as
 * Unix seconds; -EINVAL for anything else. */
int sigroot_parse_time(const char *s, int64_t *out) CA_MUST_CHECK;
