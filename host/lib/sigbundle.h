/* SPDX-License-Identifier: MIT */
/*
 * Sigstore bundles (v0.1 to v0.3), parsed into decoded bytes for the verifier: the
 * verification material (a certificate, a certificate chain or a managed key's hint), the
 * transparency-log entries with their promises and proofs, RFC 3161 timestamps, and the
 * content (a message signature over a digest, or a DSSE envelope).
 *
 * Parsing checks form only, strictly: a known media type; every base64 field standard base64
 * that decodes (digests and hashes to their exact lengths); log indexes, sizes and times as
 * non-negative 64-bit integers (protobuf's JSON writes them as decimal strings; numbers are
 * accepted too); exactly one of the content kinds; for v0.3 a single leaf certificate, not a
 * chain. Trust (chains, signatures, logs, identities) is decided later, by the verifier.
 * Fields this version does not know are ignored, as protobuf's JSON mapping does.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "macro.h"
#include "tlog.h"

#define SIGBUNDLE_MAX ((size_t) 16 << 20)
#define SIGBUNDLE_LIST_MAX 64

enum sigbundle_version {
        SIGBUNDLE_V01 = 1,
        SIGBUNDLE_V02,
        SIGBUNDLE_V03,
};

struct sig_bytes {
        uint8_t *data;
        size_t len;
};

struct sigbundle_tlog {
        int64_t log_index;
        struct sig_bytes log_id;     /* the log's key id */
        char kind[32];               /* "hashedrekord", "dsse", "intoto" */
        char kind_version[16];       /* "0.0.1" */
        int64_t integrated_time;     /* 0 when absent (Rekor v2 entries carry none) */
        struct sig_bytes body;       /* the canonicalized entry */
        struct sig_bytes set;        /* the signed entry timestamp; empty when absent */
        bool has_proof;
        int64_t proof_index;
        int64_t tree_size;
        uint8_t root[TLOG_HASH_LEN];
        uint8_t (*hashes)[TLOG_HASH_LEN];
        size_t nhashes;
        char *checkpoint;            /* the note's text; NULL when absent */
        size_t checkpoint_len;
};

struct sigbundle_dsse_sig {
        struct sig_bytes sig;
        char *keyid; /* may be NULL */
};

struct sigbundle {
        enum sigbundle_version version;
        const char *media_type;          /* static: the canonical spelling */
        struct sig_bytes *certs;         /* DER, leaf first */
        size_t ncerts;
        char *key_hint;                  /* a managed key's hint; NULL with certificates */
        struct sigbundle_tlog *tlogs;
        size_t ntlogs;
        struct sig_bytes *timestamps;    /* RFC 3161 responses, DER */
        size_t ntimestamps;
        bool dsse;                       /* else a message signature */
        /* message signature */
        char digest_algorithm[16];       /* "SHA2_256", ... */
        uint8_t digest[64];
        size_t digest_len;
        struct sig_bytes signature;
        /* DSSE envelope */
        char *payload_type;
        struct sig_bytes payload;
        struct sigbundle_dsse_sig *dsse_sigs;
        size_t ndsse_sigs;
};

/* Parses `len` bytes of bundle JSON. -EINVAL with a bad-input error naming the field for
 * anything malformed, -ENOMEM. On failure *out holds nothing. */
int sigbundle_parse(const char *json, size_t len, struct sigbundle *out,
                    struct ca_error *err) CA_MUST_CHECK;

void sigbundle_clear(struct sigbundle *b);

/* Standard base64 (padded or not, line breaks skipped) from a JSON string, into fresh memory:
 * 0, -EINVAL (not a string, empty, not base64), -ENOMEM. Shared with sigroot. */
int sigbundle_b64(const json_t *v, struct sig_bytes *out) CA_MUST_CHECK;
void sig_bytes_clear(struct sig_bytes *b);
