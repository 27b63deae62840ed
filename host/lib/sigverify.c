/* SPDX-License-Identifier: MIT */
#include "sigverify.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/ct.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "buf.h"
#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "tlog.h"

static const struct {
        enum sigroot_scheme scheme;
        const char *type;  /* OpenSSL's key type */
        const char *group; /* EC curve, or NULL */
        const char *md;    /* digest, or NULL (Ed25519 signs the message itself) */
} schemes[] = {
        {SIGROOT_ECDSA_P256_SHA256, "EC", "prime256v1", "SHA256"},
        {SIGROOT_ECDSA_P384_SHA384, "EC", "secp384r1", "SHA384"},
        {SIGROOT_ECDSA_P521_SHA512, "EC", "secp521r1", "SHA512"},
        {SIGROOT_ED25519, "ED25519", NULL, NULL},
        {SIGROOT_RSA_PKCS1V15, "RSA", NULL, "SHA256"},
        {SIGROOT_RSA_PSS, "RSA", NULL, "SHA256"},
};

static bool key_fits(EVP_PKEY *pk, const char *type, const char *group)
{
        char name[64];

        if (!EVP_PKEY_is_a(pk, type))
                return false;
        if (!group)
                return true;
        return EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
                                              NULL) == 1 &&
               strcmp(name, group) == 0;
}

int sigverify_signature(enum sigroot_scheme scheme, const struct sig_bytes *key, const void *msg,
                        size_t len, const uint8_t *sig, size_t sig_len, struct ca_error *err)
{
        const unsigned char *p = key->data;
        EVP_PKEY_CTX *pctx = NULL;
        EVP_MD_CTX *ctx = NULL;
        EVP_PKEY *pk = NULL;
        size_t s;
        int r = -EINVAL;

        for (s = 0; s < CA_ELEMENTSOF(schemes) && schemes[s].scheme != scheme; s++)
                ;
        if (s == CA_ELEMENTSOF(schemes) || key->len > 16384)
                return ca_error_setx(err, EINVAL, "unknown signature scheme");
        pk = d2i_PUBKEY(NULL, &p, (long) key->len);
        if (!pk || p != key->data + key->len || !key_fits(pk, schemes[s].type, schemes[s].group)) {
                (void) ca_error_setx(err, EINVAL, "the key is not a %s key of its scheme",
                                     schemes[s].type);
                goto out;
        }
        ctx = EVP_MD_CTX_new();
        if (!ctx || EVP_DigestVerifyInit_ex(ctx, &pctx, schemes[s].md, NULL, NULL, pk, NULL) != 1 ||
            (scheme == SIGROOT_RSA_PSS &&
             EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1)) {
                (void) ca_error_setx(err, EIO, "OpenSSL cannot verify with this key");
                r = -EIO;
                goto out;
        }
        if (EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1) {
                r = 0;
        } else {
                (void) ca_error_setx(err, EBADMSG, "the signature does not verify");
                r = -EBADMSG;
        }
out:
        EVP_MD_CTX_free(ctx);
        EVP_PKEY_free(pk);
        return r;
}

const struct sigroot_log *sigverify_find_log(const struct sigroot_log *logs, size_t n,
                                             const struct sig_bytes *log_id)
{
        for (size_t i = 0; i < n; i++) {
                if (logs[i].log_id.len == log_id->len &&
                    memcmp(logs[i].log_id.data, log_id->data, log_id->len) == 0)
                        return &logs[i];
        }
        return NULL;
}

/* `when` as the user reads it: 2026-12-05T08:14:37Z. */
static void utc_text(int64_t when, char out[32])
{
        time_t t = (time_t) when;
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                (void) snprintf(out, 32, "%lld", (long long) when);
}

/* The entry's log, and its key's window holding the entry's integration; NULL (the reason in
 * `err`) when there is none. */
static const struct sigroot_log *entry_log(const struct sigroot *root,
                                           const struct sigbundle_tlog *t, struct ca_error *err)
{
        const struct sigroot_log *log = sigverify_find_log(root->tlogs, root->ntlogs, &t->log_id);
        char at[32];

        if (!log) {
                (void) ca_error_setx(err, ENOENT,
                                     "log entry %lld: the trusted root knows no log by its id",
                                     (long long) t->log_index);
                return NULL;
        }
        if (t->integrated_time && !sigroot_window_contains(&log->valid, t->integrated_time)) {
                utc_text(t->integrated_time, at);
                (void) ca_error_setx(err, EKEYEXPIRED,
                                     "log entry %lld: integrated at %s, outside the window of "
                                     "the log's key",
                                     (long long) t->log_index, at);
                return NULL;
        }
        return log;
}

int sigverify_set(const struct sigroot *root, const struct sigbundle_tlog *t,
                  struct ca_error *err)
{
        _cleanup_buf_ struct buf payload = BUF_INIT;
        const struct sigroot_log *log;
        char *body = NULL, *id = NULL;
        size_t body_len;
        int r;

        if (t->set.len == 0)
                return ca_error_setx(err, EINVAL, "log entry %lld has no signed entry timestamp",
                                     (long long) t->log_index);
        log = entry_log(root, t, err);
        if (!log)
                return -err->code;
        body_len = sodium_base64_ENCODED_LEN(t->body.len, sodium_base64_VARIANT_ORIGINAL);
        body = malloc(body_len);
        id = malloc(t->log_id.len * 2 + 1);
        if (!body || !id) {
                r = ca_error_setx(err, ENOMEM, "out of memory");
                goto out;
        }
        sodium_bin2base64(body, body_len, t->body.data, t->body.len,
                          sodium_base64_VARIANT_ORIGINAL);
        sodium_bin2hex(id, t->log_id.len * 2 + 1, t->log_id.data, t->log_id.len);
        /* What Rekor signs: these four members, sorted, without spaces. */
        r = buf_printf(&payload, "{\"body\":\"%s\",\"integratedTime\":%lld,\"logID\":\"%s\","
                                 "\"logIndex\":%lld}",
                       body, (long long) t->integrated_time, id, (long long) t->log_index);
        if (r < 0) {
                r = ca_error_setx(err, ENOMEM, "out of memory");
                goto out;
        }
        r = sigverify_signature(log->scheme, &log->key, payload.data, payload.len, t->set.data,
                                t->set.len, err);
        if (r < 0)
                (void) ca_error_prefix(err, "log entry %lld: signed entry timestamp",
                                       (long long) t->log_index);
out:
        free(body);
        free(id);
        return r;
}

/* The name a log signs its checkpoints under: the host (and port) of its base URL, or when the
 * trusted root gives none, the first word of the checkpoint's origin. */
static void log_name(const struct sigroot_log *log, const char *origin, char *out, size_t size)
{
        const char *host = strstr(log->base_url, "://");

        if (!log->base_url[0] || !host) {
                (void) snprintf(out, size, "%.*s", (int) strcspn(origin, " "), origin);
                return;
        }
        host += 3;
        (void) snprintf(out, size, "%.*s", (int) strcspn(host, "/"), host);
}

/* The checkpoint of an entry: it states the proof's tree, and its log signed it. */
static int check_checkpoint(const struct sigroot_log *log, const struct sigbundle_tlog *t,
                            struct ca_error *err)
{
        struct tlog_checkpoint *cp = calloc(1, sizeof(*cp));
        const struct tlog_note_sig *sig = NULL;
        char name[TLOG_ORIGIN_MAX + 1];
        int r;

        if (!cp)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = tlog_checkpoint_parse(t->checkpoint, t->checkpoint_len, cp, err);
        if (r < 0)
                goto out;
        if (cp->size != (uint64_t) t->tree_size ||
            sodium_memcmp(cp->root, t->root, TLOG_HASH_LEN) != 0) {
                r = ca_error_setx(err, EBADMSG, "the checkpoint is of another tree than the proof");
                goto out;
        }
        /* A checkpoint is signed under the log's host name, which begins its origin (Rekor v1:
         * "<host> - <tree id>", v2: "<host>"), with the first bytes of the log id as the key
         * hint; other signatures (witnesses' cosignatures) are not the log's. */
        log_name(log, cp->origin, name, sizeof(name));
        if (strncmp(cp->origin, name, strlen(name)) != 0 ||
            (cp->origin[strlen(name)] != '\0' && cp->origin[strlen(name)] != ' ')) {
                r = ca_error_setx(err, EBADMSG, "the checkpoint is of another log ('%s')",
                                  cp->origin);
                goto out;
        }
        if (log->log_id.len >= TLOG_HINT_LEN)
                sig = tlog_checkpoint_find(cp, name, log->log_id.data);
        if (!sig) {
                r = ca_error_setx(err, ENOENT, "the checkpoint carries no signature by the log");
                goto out;
        }
        r = sigverify_signature(log->scheme, &log->key, t->checkpoint, cp->signed_len, sig->sig,
                                sig->sig_len, err);
        if (r < 0)
                (void) ca_error_prefix(err, "the checkpoint");
out:
        free(cp);
        return r;
}

int sigverify_inclusion(const struct sigroot *root, const struct sigbundle_tlog *t,
                        struct ca_error *err)
{
        const struct sigroot_log *log;
        uint8_t leaf[TLOG_HASH_LEN];
        int r;

        if (!t->has_proof || !t->checkpoint)
                return ca_error_setx(err, EINVAL, "log entry %lld has %s", (long long) t->log_index,
                                     t->has_proof ? "an inclusion proof without a checkpoint"
                                                  : "no inclusion proof");
        log = entry_log(root, t, err);
        if (!log)
                return -err->code;
        tlog_leaf_hash(t->body.data, t->body.len, leaf);
        r = tlog_verify_inclusion(leaf, (uint64_t) t->proof_index, (uint64_t) t->tree_size,
                                  (const uint8_t(*)[TLOG_HASH_LEN]) t->hashes, t->nhashes,
                                  t->root);
        if (r < 0)
                return ca_error_setx(err, EBADMSG,
                                     "log entry %lld: the inclusion proof does not lead to its "
                                     "root",
                                     (long long) t->log_index);
        r = check_checkpoint(log, t, err);
        if (r < 0)
                return ca_error_prefix(err, "log entry %lld", (long long) t->log_index);
        return 0;
}

/* ---- the signing certificate ---------------------------------------------------------------- */

static X509 *der_cert(const struct sig_bytes *der)
{
        const unsigned char *p = der->data;
        X509 *c = der->len < 16384 ? d2i_X509(NULL, &p, (long) der->len) : NULL;

        if (c && p != der->data + der->len) {
                X509_free(c);
                return NULL;
        }
        return c;
}

/* The certificates of an authority (a certificate authority or a timestamp authority): its
 * root (the last) into `store` as the anchor, the rest into `certs` as intermediates. */
static bool authority_certs(const struct sigroot_authority *a, X509_STORE *store,
                            STACK_OF(X509) *certs)
{
        for (size_t k = 0; k < a->ncerts; k++) {
                X509 *c = der_cert(&a->certs[k]);
                bool ok = c && (k + 1 == a->ncerts ? X509_STORE_add_cert(store, c) == 1
                                                   : sk_X509_push(certs, c) > 0);

                if (k + 1 == a->ncerts || !ok)
                        X509_free(c);
                if (!ok)
                        return false;
        }
        return true;
}

/* The issuer of `leaf` among a trusted root's authorities valid at `when`, with a chain
 * checked at that time; NULL when none. The caller frees it. */
static X509 *chain_to_authority(const struct sigroot *root, X509 *leaf, int64_t when)
{
        X509 *issuer = NULL;

        for (size_t i = 0; i < root->ncas && !issuer; i++) {
                const struct sigroot_authority *ca = &root->cas[i];
                STACK_OF(X509) *untrusted = sk_X509_new_null();
                X509_STORE *store = X509_STORE_new();
                X509_STORE_CTX *ctx = X509_STORE_CTX_new();
                bool ok = untrusted && store && ctx && sigroot_window_contains(&ca->valid, when) &&
                          authority_certs(ca, store, untrusted);

                if (ok && X509_STORE_CTX_init(ctx, store, leaf, untrusted) == 1) {
                        X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);

                        X509_VERIFY_PARAM_set_time(param, (time_t) when);
                        if (X509_verify_cert(ctx) == 1 &&
                            sk_X509_num(X509_STORE_CTX_get0_chain(ctx)) >= 2) {
                                issuer = sk_X509_value(X509_STORE_CTX_get0_chain(ctx), 1);
                                if (X509_up_ref(issuer) != 1)
                                        issuer = NULL;
                        }
                }
                X509_STORE_CTX_free(ctx);
                X509_STORE_free(store);
                sk_X509_pop_free(untrusted, X509_free);
        }
        return issuer;
}

/* One SCT: the CT log's signature over the precertificate's entry (RFC 6962, 3.2): the leaf's
 * TBS without the SCT list, bound to its issuer's key. */
static bool sct_valid(const struct sigroot *root, const SCT *sct, X509 *leaf, X509 *issuer)
{
        _cleanup_buf_ struct buf msg = BUF_INIT;
        unsigned char *log_id = NULL, *sig = NULL, *ext = NULL, *tbs = NULL, *spki = NULL;
        size_t id_len = SCT_get0_log_id(sct, &log_id);
        size_t sig_len = SCT_get0_signature(sct, &sig);
        size_t ext_len = SCT_get0_extensions(sct, &ext);
        struct sig_bytes id = {log_id, id_len};
        const struct sigroot_log *log = sigverify_find_log(root->ctlogs, root->nctlogs, &id);
        uint64_t ts = SCT_get_timestamp(sct);
        uint8_t head[12], key_hash[32];
        X509 *pre = NULL;
        bool ok = false;
        int tbs_len, spki_len, idx;
        struct ca_error err = {0};

        if (!log || SCT_get_version(sct) != SCT_VERSION_V1 || ext_len > 0xffff ||
            !sigroot_window_contains(&log->valid, (int64_t) (ts / 1000)))
                return false;
        pre = X509_dup(leaf);
        idx = pre ? X509_get_ext_by_NID(pre, NID_ct_precert_scts, -1) : -1;
        if (idx < 0)
                goto out;
        X509_EXTENSION_free(X509_delete_ext(pre, idx));
        tbs_len = i2d_re_X509_tbs(pre, &tbs);
        spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(issuer), &spki);
        if (tbs_len <= 0 || tbs_len > 0xffffff || spki_len <= 0)
                goto out;
        crypto_hash_sha256(key_hash, spki, (unsigned long long) spki_len);
        /* version 0, certificate_timestamp, the timestamp, precert_entry */
        head[0] = 0;
        head[1] = 0;
        for (int i = 0; i < 8; i++)
                head[2 + i] = (uint8_t) (ts >> (56 - 8 * i));
        head[10] = 0;
        head[11] = 1;
        if (buf_append(&msg, head, sizeof(head)) < 0 ||
            buf_append(&msg, key_hash, sizeof(key_hash)) < 0 ||
            buf_append(&msg, (const uint8_t[]) {(uint8_t) (tbs_len >> 16), (uint8_t) (tbs_len >> 8),
                                               (uint8_t) tbs_len},
                       3) < 0 ||
            buf_append(&msg, tbs, (size_t) tbs_len) < 0 ||
            buf_append(&msg, (const uint8_t[]) {(uint8_t) (ext_len >> 8), (uint8_t) ext_len}, 2) <
                    0 ||
            (ext_len && buf_append(&msg, ext, ext_len) < 0))
                goto out;
        ok = sigverify_signature(log->scheme, &log->key, msg.data, msg.len, sig, sig_len, &err) ==
             0;
out:
        OPENSSL_free(tbs);
        OPENSSL_free(spki);
        X509_free(pre);
        return ok;
}

static bool has_valid_sct(const struct sigroot *root, X509 *leaf, X509 *issuer)
{
        STACK_OF(SCT) *scts = X509_get_ext_d2i(leaf, NID_ct_precert_scts, NULL, NULL);
        bool ok = false;

        for (int i = 0; scts && i < sk_SCT_num(scts) && !ok; i++)
                ok = sct_valid(root, sk_SCT_value(scts, i), leaf, issuer);
        SCT_LIST_free(scts);
        return ok;
}

/* Whether the certificate names `want` (a URI or an e-mail SAN, exactly). The first such name
 * it carries goes to `got`, printable ASCII ('?' for anything else), cut to fit. */
static bool san_is(X509 *leaf, const char *want, char *got, size_t size)
{
        GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
        bool ok = false;

        got[0] = '\0';
        for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && !ok; i++) {
                const GENERAL_NAME *n = sk_GENERAL_NAME_value(names, i);
                const ASN1_IA5STRING *s = n->type == GEN_URI     ? n->d.uniformResourceIdentifier
                                          : n->type == GEN_EMAIL ? n->d.rfc822Name
                                                                 : NULL;
                size_t len = s ? (size_t) ASN1_STRING_length(s) : 0;
                const unsigned char *d = s ? ASN1_STRING_get0_data(s) : NULL;

                if (!s)
                        continue;
                if (!got[0]) {
                        size_t o = 0;

                        for (size_t k = 0; k < len && o + 1 < size; k++)
                                got[o++] = d[k] >= 0x20 && d[k] < 0x7f ? (char) d[k] : '?';
                        got[o] = '\0';
                }
                ok = len == strlen(want) && memcmp(d, want, len) == 0;
        }
        GENERAL_NAMES_free(names);
        return ok;
}

/* Fulcio's OIDC issuer: 1.3.6.1.4.1.57264.1.8 (a DER UTF8String), else the older
 * 1.3.6.1.4.1.57264.1.1 (the raw bytes). */
static bool issuer_is(X509 *leaf, const char *want)
{
        static const char *const oids[] = {"1.3.6.1.4.1.57264.1.8", "1.3.6.1.4.1.57264.1.1"};

        for (size_t i = 0; i < CA_ELEMENTSOF(oids); i++) {
                ASN1_OBJECT *obj = OBJ_txt2obj(oids[i], 1);
                int idx = obj ? X509_get_ext_by_OBJ(leaf, obj, -1) : -1;
                const ASN1_OCTET_STRING *raw;
                const unsigned char *p;
                ASN1_UTF8STRING *u;
                bool ok;

                ASN1_OBJECT_free(obj);
                if (idx < 0)
                        continue;
                raw = X509_EXTENSION_get_data(X509_get_ext(leaf, idx));
                p = ASN1_STRING_get0_data(raw);
                if (i == 1)
                        return (size_t) ASN1_STRING_length(raw) == strlen(want) &&
                               memcmp(p, want, strlen(want)) == 0;
                u = d2i_ASN1_UTF8STRING(NULL, &p, ASN1_STRING_length(raw));
                ok = u && (size_t) ASN1_STRING_length(u) == strlen(want) &&
                     memcmp(ASN1_STRING_get0_data(u), want, strlen(want)) == 0;
                ASN1_UTF8STRING_free(u);
                return ok;
        }
        return false;
}

/* The certificate's own window holds `when` (X509_cmp_time is 0 on error: refused). */
static bool held_at(X509 *c, int64_t when)
{
        time_t t = (time_t) when;

        return X509_cmp_time(X509_get0_notBefore(c), &t) < 0 &&
               X509_cmp_time(X509_get0_notAfter(c), &t) > 0;
}

int sigverify_certificate(const struct sigroot *root, const struct sigbundle *b, int64_t when,
                          const struct sigverify_identity *id, struct ca_error *err)
{
        X509 *leaf = NULL, *issuer = NULL;
        char at[32];
        char names[256];
        bool held;
        int r = 0;

        if (b->ncerts == 0)
                return ca_error_setx(err, EINVAL, "the bundle has no certificate");
        for (size_t i = 1; i < b->ncerts; i++) {
                X509 *c = der_cert(&b->certs[i]);
                bool self = c && X509_check_issued(c, c) == X509_V_OK;

                X509_free(c);
                if (!c || self)
                        return ca_error_setx(err, EBADMSG,
                                             c ? "the bundle's chain carries a root certificate: "
                                                 "only the trusted root may supply one"
                                               : "the bundle's chain has a malformed certificate");
        }
        leaf = der_cert(&b->certs[0]);
        if (!leaf)
                return ca_error_setx(err, EBADMSG, "the signing certificate is malformed");
        utc_text(when, at);
        held = held_at(leaf, when);
        issuer = held ? chain_to_authority(root, leaf, when) : NULL;
        if (!held)
                r = ca_error_setx(err, EBADMSG, "the signing certificate was not valid at the "
                                                "signing time (%s)", at);
        else if (!issuer)
                r = ca_error_setx(err, EBADMSG,
                                  "the signing certificate does not chain to a certificate "
                                  "authority of the trusted root valid at the signing time (%s)",
                                  at);
        else if (!(X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) ||
                 !(X509_get_extended_key_usage(leaf) & XKU_CODE_SIGN))
                r = ca_error_setx(err, EBADMSG, "the signing certificate is not for code signing");
        else if (!has_valid_sct(root, leaf, issuer))
                r = ca_error_setx(err, EBADMSG,
                                  "no CT log of the trusted root signed a timestamp for the "
                                  "signing certificate");
        else if (!san_is(leaf, id->san, names, sizeof(names)))
                r = ca_error_setx(err, EACCES, "the certificate is not for '%s' (it names '%s')",
                                  id->san, names[0] ? names : "nobody");
        else if (!issuer_is(leaf, id->issuer))
                r = ca_error_setx(err, EACCES, "the certificate's OIDC issuer is not '%s'",
                                  id->issuer);
        X509_free(issuer);
        X509_free(leaf);
        return r;
}

/* ---- what was signed ------------------------------------------------------------------------ */

/* `n` bytes of DER that OpenSSL allocated, moved into `out` (malloc'd): 0 or -ENOMEM. */
static int der_to_bytes(unsigned char *der, int n, struct sig_bytes *out)
{
        out->data = malloc((size_t) n);
        if (out->data) {
                memcpy(out->data, der, (size_t) n);
                out->len = (size_t) n;
        }
        OPENSSL_free(der);
        return out->data ? 0 : -ENOMEM;
}

/* The SubjectPublicKeyInfo of the leaf certificate, as DER (the caller frees it). */
static int leaf_spki(const struct sigbundle *b, struct sig_bytes *out)
{
        X509 *leaf = b->ncerts ? der_cert(&b->certs[0]) : NULL;
        unsigned char *der = NULL;
        int n = leaf ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &der) : -1;

        X509_free(leaf);
        if (n <= 0)
                return -EBADMSG;
        return der_to_bytes(der, n, out);
}

/* A signature over a SHA-256 digest (ECDSA or RSA PKCS#1 v1.5 with SHA-256). */
static int verify_prehashed(const struct sig_bytes *spki, const uint8_t digest[32],
                            const struct sig_bytes *sig, struct ca_error *err)
{
        const unsigned char *p = spki->data;
        EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long) spki->len);
        EVP_PKEY_CTX *ctx = pk ? EVP_PKEY_CTX_new(pk, NULL) : NULL;
        int r;

        if (!ctx || !(EVP_PKEY_is_a(pk, "EC") || EVP_PKEY_is_a(pk, "RSA"))) {
                r = ca_error_setx(err, EOPNOTSUPP,
                                  "a signature over a digest needs an ECDSA or RSA key");
        } else if (EVP_PKEY_verify_init(ctx) != 1 ||
                   EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1) {
                r = ca_error_setx(err, EIO, "OpenSSL cannot verify with this key");
        } else if (EVP_PKEY_verify(ctx, sig->data, sig->len, digest, 32) != 1) {
                r = ca_error_setx(err, EBADMSG, "the signature does not verify over the artifact");
        } else {
                r = 0;
        }
        EVP_PKEY_CTX_free(ctx);
        EVP_PKEY_free(pk);
        return r;
}

/* The DER inside the PEM text that base64 string `b64` of a log entry holds (a certificate
 * or a public key). */
static int pem_in_entry(const char *b64, struct sig_bytes *out)
{
        json_t *s = json_string(b64);
        struct sig_bytes pem = {0};
        BIO *bio = NULL;
        char *name = NULL, *header = NULL;
        unsigned char *der = NULL;
        long n = 0;
        int r = s ? sigbundle_b64(s, &pem) : -ENOMEM;

        json_decref(s);
        if (r < 0)
                return r;
        bio = BIO_new_mem_buf(pem.data, (int) pem.len);
        if (!bio || PEM_read_bio(bio, &name, &header, &der, &n) != 1 || n <= 0) {
                r = -EBADMSG;
        } else {
                out->data = malloc((size_t) n);
                r = out->data ? 0 : -ENOMEM;
                if (out->data) {
                        memcpy(out->data, der, (size_t) n);
                        out->len = (size_t) n;
                }
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(der);
        BIO_free(bio);
        sig_bytes_clear(&pem);
        return r;
}

static bool bytes_equal(const struct sig_bytes *a, const uint8_t *b, size_t len)
{
        return a->len == len && memcmp(a->data, b, len) == 0;
}

/* A hashedrekord 0.0.2 entry (Rekor v2) of `digest` (the artifact's, or for an envelope its
 * pre-authentication encoding's), signature `sig`, and this certificate or key. */
static int check_hashedrekord_v2(const struct sigbundle *b, const struct sigbundle_tlog *t,
                                 const uint8_t digest[32], const struct sig_bytes *sig,
                                 const struct sig_bytes *key, struct ca_error *err)
{
        _cleanup_json_ json_t *body = NULL;
        const json_t *spec, *verifier;
        struct sig_bytes got_digest = {0}, got_sig = {0}, signer = {0};
        const struct sig_bytes *want = key ? key : &b->certs[0];
        const char *alg;
        int r = 0;

        if (ca_json_parse((const char *) t->body.data, t->body.len, "log entry", &body, err) < 0)
                return ca_error_setx(err, EBADMSG, "the log entry is not JSON");
        spec = json_object_get(json_object_get(body, "spec"), "hashedRekordV002");
        verifier = json_object_get(json_object_get(spec, "signature"), "verifier");
        alg = json_string_value(json_object_get(json_object_get(spec, "data"), "algorithm"));
        if (!alg || strcmp(alg, "SHA2_256") != 0 ||
            sigbundle_b64(json_object_get(json_object_get(spec, "data"), "digest"),
                          &got_digest) < 0 ||
            !bytes_equal(&got_digest, digest, 32))
                r = ca_error_setx(err, EBADMSG, "the log entry is for another artifact");
        else if (sigbundle_b64(json_object_get(json_object_get(spec, "signature"), "content"),
                               &got_sig) < 0 ||
                 !bytes_equal(&got_sig, sig->data, sig->len))
                r = ca_error_setx(err, EBADMSG, "the log entry is of another signature");
        else if (sigbundle_b64(json_object_get(json_object_get(verifier, key ? "publicKey"
                                                                             : "x509Certificate"),
                                               "rawBytes"),
                               &signer) < 0 ||
                 !bytes_equal(&signer, want->data, want->len))
                r = ca_error_setx(err, EBADMSG, "the log entry is of another certificate or key");
        sig_bytes_clear(&got_digest);
        sig_bytes_clear(&got_sig);
        sig_bytes_clear(&signer);
        return r;
}

/* The hashedrekord 0.0.1 entry names this digest, this signature and this certificate/key. */
static int check_hashedrekord(const struct sigbundle *b, const struct sigbundle_tlog *t,
                              const uint8_t digest[32], const struct sig_bytes *key,
                              struct ca_error *err)
{
        _cleanup_json_ json_t *body = NULL;
        const char *api = NULL, *kind = NULL, *alg = NULL, *value = NULL, *sig = NULL,
                   *pub = NULL;
        struct sig_bytes entry_sig = {0}, entry_key = {0};
        char hex[65];
        int r;

        if (strcmp(t->kind, "hashedrekord") == 0 && strcmp(t->kind_version, "0.0.2") == 0)
                return check_hashedrekord_v2(b, t, digest, &b->signature, key, err);
        if (strcmp(t->kind, "hashedrekord") != 0 || strcmp(t->kind_version, "0.0.1") != 0)
                return ca_error_setx(err, EOPNOTSUPP, "log entries of kind %s %s are not "
                                                      "supported yet",
                                     t->kind, t->kind_version);
        if (ca_json_parse((const char *) t->body.data, t->body.len, "log entry", &body, err) < 0 ||
            json_unpack(body, "{s:s, s:s, s:{s:{s:{s:s, s:s}}, s:{s:s, s:{s:s}}}}", "apiVersion",
                        &api, "kind", &kind, "spec", "data", "hash", "algorithm", &alg, "value",
                        &value, "signature", "content", &sig, "publicKey", "content", &pub) < 0)
                return ca_error_setx(err, EBADMSG, "the log entry is not a hashedrekord");
        sodium_bin2hex(hex, sizeof(hex), digest, 32);
        if (strcmp(api, t->kind_version) != 0 || strcmp(kind, t->kind) != 0)
                return ca_error_setx(err, EBADMSG, "the log entry is not what its kind says");
        if (strcmp(alg, "sha256") != 0 || strcmp(value, hex) != 0)
                return ca_error_setx(err, EBADMSG, "the log entry is for another artifact");
        r = sigbundle_b64(json_object_get(json_object_get(json_object_get(body, "spec"),
                                                          "signature"),
                                          "content"),
                          &entry_sig);
        if (r == 0 && !bytes_equal(&entry_sig, b->signature.data, b->signature.len))
                r = ca_error_setx(err, EBADMSG, "the log entry is of another signature");
        if (r == 0) {
                const struct sig_bytes *want = key ? key : &b->certs[0];

                r = pem_in_entry(pub, &entry_key);
                if (r == 0 && !bytes_equal(&entry_key, want->data, want->len))
                        r = ca_error_setx(err, EBADMSG,
                                          "the log entry is of another certificate or key");
        }
        if (r < 0 && !err->msg[0])
                r = ca_error_setx(err, EBADMSG, "the log entry's signature or key is malformed");
        sig_bytes_clear(&entry_sig);
        sig_bytes_clear(&entry_key);
        return r;
}

int sigverify_message(const struct sigbundle *b, const struct sigbundle_tlog *t,
                      const uint8_t digest[32], const struct sig_bytes *key,
                      struct ca_error *err)
{
        struct sig_bytes spki = {0};
        int r;

        if (b->dsse)
                return ca_error_setx(err, EINVAL, "the bundle holds a DSSE envelope");
        if (strcmp(b->digest_algorithm, "SHA2_256") != 0 || b->digest_len != 32 ||
            sodium_memcmp(b->digest, digest, 32) != 0)
                return ca_error_setx(err, EBADMSG,
                                     "the bundle's message digest is not the artifact's");
        if (!key && b->ncerts == 0)
                return ca_error_setx(err, EINVAL, "no certificate or key to verify with");
        r = key ? 0 : leaf_spki(b, &spki);
        if (r < 0)
                return ca_error_setx(err, -r, "the signing certificate has no usable key");
        r = verify_prehashed(key ? key : &spki, digest, &b->signature, err);
        sig_bytes_clear(&spki);
        if (r == 0)
                r = check_hashedrekord(b, t, digest, key, err);
        return r;
}

/* ---- a whole bundle ------------------------------------------------------------------------- */

static int verify_timestamp(const struct sigroot *root, const struct sigbundle *b,
                            const struct sig_bytes *tsr, int64_t *when, struct ca_error *err);

/* A log entry's own checks: its promise or proof, and when it was integrated. */
static int check_entry(const struct sigroot *root, const struct sigbundle *b,
                       const struct sigbundle_tlog *t, int64_t now, struct ca_error *err)
{
        int r = 0;

        /* Rekor v2 entries carry no integration time and no promise: a proof, and a time
         * from a timestamp authority. */
        if (t->integrated_time <= 0)
                return t->has_proof ? sigverify_inclusion(root, t, err)
                                    : ca_error_setx(err, EBADMSG,
                                                    "log entry %lld has no inclusion proof",
                                                    (long long) t->log_index);
        if (b->version == SIGBUNDLE_V01 && t->set.len == 0)
                return ca_error_setx(err, EBADMSG,
                                     "log entry %lld of a v0.1 bundle has no signed entry "
                                     "timestamp",
                                     (long long) t->log_index);
        if (b->version != SIGBUNDLE_V01 && !t->has_proof)
                return ca_error_setx(err, EBADMSG,
                                     "log entry %lld has no inclusion proof (required from "
                                     "bundle v0.2 on)",
                                     (long long) t->log_index);
        if (t->set.len)
                r = sigverify_set(root, t, err);
        if (r == 0 && t->has_proof && !t->checkpoint && b->version == SIGBUNDLE_V01) {
                /* An old proof without its checkpoint (the promise is what a v0.1 bundle
                 * rests on): it proves nothing, but one that does not fold is a lie. */
                uint8_t leaf[TLOG_HASH_LEN];

                tlog_leaf_hash(t->body.data, t->body.len, leaf);
                if (tlog_verify_inclusion(leaf, (uint64_t) t->proof_index,
                                          (uint64_t) t->tree_size,
                                          (const uint8_t(*)[TLOG_HASH_LEN]) t->hashes,
                                          t->nhashes, t->root) != 0)
                        r = ca_error_setx(err, EBADMSG,
                                          "log entry %lld: the inclusion proof does not lead to "
                                          "its root",
                                          (long long) t->log_index);
        } else if (r == 0 && t->has_proof) {
                r = sigverify_inclusion(root, t, err);
        }
        if (r == 0 && t->integrated_time > now + 60)
                r = ca_error_setx(err, EBADMSG, "log entry %lld was integrated in the future",
                                  (long long) t->log_index);
        return r;
}

/* An entry without a time of its own (Rekor v2) is dated by the bundle's timestamps: the
 * window of its log's key must hold each of them, as it must an integration time. */
static int log_key_held(const struct sigroot *root, const struct sigbundle_tlog *t,
                        const int64_t *when, size_t n, struct ca_error *err)
{
        const struct sigroot_log *log = sigverify_find_log(root->tlogs, root->ntlogs, &t->log_id);

        if (!log)
                return ca_error_setx(err, ENOENT,
                                     "log entry %lld: the trusted root knows no log by its id",
                                     (long long) t->log_index);
        for (size_t i = 0; i < n; i++) {
                char at[32];

                if (sigroot_window_contains(&log->valid, when[i]))
                        continue;
                utc_text(when[i], at);
                return ca_error_setx(err, EKEYEXPIRED,
                                     "log entry %lld: timestamped at %s, outside the window of "
                                     "the log's key",
                                     (long long) t->log_index, at);
        }
        return 0;
}

int sigverify_bundle(const struct sigroot *root, const struct sigbundle *b,
                     const uint8_t digest[32], const struct sigverify_policy *policy, int64_t now,
                     struct ca_error *err)
{
        int64_t when[SIGBUNDLE_LIST_MAX];
        int r;

        if (b->dsse ? b->ndsse_sigs != 1 : b->signature.len == 0)
                return ca_error_setx(err, EBADMSG, "the bundle has no single signature");
        if (b->ntimestamps > CA_ELEMENTSOF(when))
                return ca_error_setx(err, EBADMSG, "the bundle has too many timestamps");
        /* Every timestamp is checked, and the certificate must hold at its time too: one that
         * is out of time may be the very evidence that the signature is. */
        for (size_t i = 0; i < b->ntimestamps; i++) {
                r = verify_timestamp(root, b, &b->timestamps[i], &when[i], err);
                if (r == 0 && when[i] > now + 60)
                        r = ca_error_setx(err, EBADMSG, "the timestamp is in the future");
                if (r == 0 && !policy->key)
                        r = sigverify_certificate(root, b, when[i], &policy->identity, err);
                if (r < 0)
                        return ca_error_prefix(err, "timestamp %zu", i);
        }
        if (b->ntlogs == 0)
                return ca_error_setx(err, EBADMSG, "the bundle has no transparency log entry");
        if (!policy->key && b->ncerts == 0)
                return ca_error_setx(err, EBADMSG, "the bundle has no certificate");
        if (policy->key && b->ncerts)
                return ca_error_setx(err, EBADMSG,
                                     "a key was given, but the bundle was signed with a "
                                     "certificate");
        for (size_t i = 0; i < b->ntlogs; i++) {
                const struct sigbundle_tlog *t = &b->tlogs[i];

                r = check_entry(root, b, t, now, err);
                if (r == 0 && t->integrated_time <= 0)
                        r = log_key_held(root, t, when, b->ntimestamps, err);
                if (t->integrated_time <= 0 && b->ntimestamps == 0 && r == 0)
                        r = ca_error_setx(err, EBADMSG,
                                          "log entry %lld has no time of its own, and the "
                                          "bundle has no timestamp",
                                          (long long) t->log_index);
                if (r == 0 && !policy->key && t->integrated_time > 0)
                        r = sigverify_certificate(root, b, t->integrated_time, &policy->identity,
                                                  err);
                if (r == 0)
                        r = b->dsse ? sigverify_dsse(b, t, digest, policy->key, err)
                                    : sigverify_message(b, t, digest, policy->key, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- DSSE envelopes ------------------------------------------------------------------------- */

#define IN_TOTO_TYPE "application/vnd.in-toto+json"

/* DSSE's pre-authentication encoding: "DSSEv1 <len> <type> <len> <payload>". */
static int pae(const struct sigbundle *b, struct buf *out)
{
        if (buf_printf(out, "DSSEv1 %zu %s %zu ", strlen(b->payload_type), b->payload_type,
                       b->payload.len) < 0 ||
            buf_append(out, b->payload.data, b->payload.len) < 0)
                return -ENOMEM;
        return 0;
}

/* The signature by the key, over the PAE. */
static int verify_envelope(const struct sigbundle *b, const struct sig_bytes *spki,
                           struct ca_error *err)
{
        static const enum sigroot_scheme tries[] = {
                SIGROOT_ECDSA_P256_SHA256, SIGROOT_ECDSA_P384_SHA384, SIGROOT_ECDSA_P521_SHA512,
                SIGROOT_ED25519, SIGROOT_RSA_PKCS1V15};
        _cleanup_buf_ struct buf msg = BUF_INIT;
        int r = -EINVAL;

        if (pae(b, &msg) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        /* The scheme is the key's own: the first that takes this key decides. */
        for (size_t i = 0; i < CA_ELEMENTSOF(tries) && r == -EINVAL; i++)
                r = sigverify_signature(tries[i], spki, msg.data, msg.len,
                                        b->dsse_sigs[0].sig.data, b->dsse_sigs[0].sig.len, err);
        if (r == -EBADMSG)
                (void) ca_error_setx(err, EBADMSG, "the envelope's signature does not verify");
        return r;
}

/* An in-toto statement with a subject whose sha256 is the artifact's. */
static int check_statement(const struct sigbundle *b, const uint8_t digest[32],
                           struct ca_error *err)
{
        _cleanup_json_ json_t *st = NULL;
        const json_t *subjects;
        char hex[65];

        if (strcmp(b->payload_type, IN_TOTO_TYPE) != 0)
                return ca_error_setx(err, EBADMSG, "the envelope's payload is not an in-toto "
                                                   "statement");
        if (ca_json_parse((const char *) b->payload.data, b->payload.len, "statement", &st,
                          err) < 0)
                return ca_error_setx(err, EBADMSG, "the in-toto statement is not JSON");
        sodium_bin2hex(hex, sizeof(hex), digest, 32);
        subjects = json_object_get(st, "subject");
        for (size_t i = 0; i < json_array_size(subjects); i++) {
                const char *sha = json_string_value(json_object_get(
                        json_object_get(json_array_get(subjects, i), "digest"), "sha256"));

                if (sha && strcmp(sha, hex) == 0)
                        return 0;
        }
        return ca_error_setx(err, EBADMSG, "the in-toto statement is not about the artifact");
}

/* A string of the entry that is base64 of base64 of `want` (intoto 0.0.2 encodes twice). */
static bool twice_b64_is(const json_t *v, const struct sig_bytes *want)
{
        struct sig_bytes once = {0}, twice = {0};
        json_t *s;
        bool ok = false;

        if (sigbundle_b64(v, &once) < 0)
                return false;
        s = json_stringn((const char *) once.data, once.len);
        if (s && sigbundle_b64(s, &twice) == 0)
                ok = bytes_equal(&twice, want->data, want->len);
        json_decref(s);
        sig_bytes_clear(&once);
        sig_bytes_clear(&twice);
        return ok;
}

static bool payload_hash_is(const json_t *h, const struct sigbundle *b)
{
        uint8_t md[32];
        char hex[65];
        const char *alg = json_string_value(json_object_get(h, "algorithm"));
        const char *value = json_string_value(json_object_get(h, "value"));

        crypto_hash_sha256(md, b->payload.data, b->payload.len);
        sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
        return alg && value && strcmp(alg, "sha256") == 0 && strcmp(value, hex) == 0;
}

/* The entry's one signature and its certificate or key: `sig_ok` says whether its signature
 * field holds the envelope's, `pem_b64` the base64 of the PEM of the signer. */
static int check_signer(bool sig_ok, const char *pem_b64, const struct sigbundle *b,
                        const struct sig_bytes *key, struct ca_error *err)
{
        const struct sig_bytes *want = key ? key : &b->certs[0];
        struct sig_bytes der = {0};
        int r;

        if (!sig_ok)
                return ca_error_setx(err, EBADMSG, "the log entry is of another signature");
        r = pem_b64 ? pem_in_entry(pem_b64, &der) : -EBADMSG;
        if (r == 0 && !bytes_equal(&der, want->data, want->len))
                r = -EBADMSG;
        sig_bytes_clear(&der);
        return r < 0 ? ca_error_setx(err, EBADMSG, "the log entry is of another certificate or key")
                     : 0;
}

static int check_dsse_entry(const struct sigbundle *b, const struct sigbundle_tlog *t,
                            const struct sig_bytes *key, struct ca_error *err)
{
        _cleanup_json_ json_t *body = NULL;
        const json_t *spec, *sigs, *env;
        struct sig_bytes sig = {0};
        bool sig_ok;

        if (ca_json_parse((const char *) t->body.data, t->body.len, "log entry", &body, err) < 0)
                return ca_error_setx(err, EBADMSG, "the log entry is not JSON");
        spec = json_object_get(body, "spec");
        if (strcmp(t->kind, "dsse") == 0 && strcmp(t->kind_version, "0.0.1") == 0) {
                sigs = json_object_get(spec, "signatures");
                if (!payload_hash_is(json_object_get(spec, "payloadHash"), b))
                        return ca_error_setx(err, EBADMSG, "the log entry is of another payload");
                if (json_array_size(sigs) != 1)
                        return ca_error_setx(err, EBADMSG, "the log entry has other signatures");
                sig_ok = sigbundle_b64(json_object_get(json_array_get(sigs, 0), "signature"),
                                       &sig) == 0 &&
                         bytes_equal(&sig, b->dsse_sigs[0].sig.data, b->dsse_sigs[0].sig.len);
                sig_bytes_clear(&sig);
                return check_signer(sig_ok,
                                    json_string_value(json_object_get(json_array_get(sigs, 0),
                                                                      "verifier")),
                                    b, key, err);
        }
        if (strcmp(t->kind, "intoto") == 0 && strcmp(t->kind_version, "0.0.2") == 0) {
                const char *type;

                env = json_object_get(json_object_get(spec, "content"), "envelope");
                sigs = json_object_get(env, "signatures");
                type = json_string_value(json_object_get(env, "payloadType"));
                if (!payload_hash_is(json_object_get(json_object_get(spec, "content"),
                                                     "payloadHash"),
                                     b) ||
                    !type || strcmp(type, b->payload_type) != 0 ||
                    !twice_b64_is(json_object_get(env, "payload"), &b->payload))
                        return ca_error_setx(err, EBADMSG, "the log entry is of another payload");
                if (json_array_size(sigs) != 1)
                        return ca_error_setx(err, EBADMSG, "the log entry has other signatures");
                sig_ok = twice_b64_is(json_object_get(json_array_get(sigs, 0), "sig"),
                                      &b->dsse_sigs[0].sig);
                return check_signer(sig_ok,
                                    json_string_value(json_object_get(json_array_get(sigs, 0),
                                                                      "publicKey")),
                                    b, key, err);
        }
        if (strcmp(t->kind, "hashedrekord") == 0 && strcmp(t->kind_version, "0.0.2") == 0) {
                _cleanup_buf_ struct buf msg = BUF_INIT;
                uint8_t md[32];

                if (pae(b, &msg) < 0)
                        return ca_error_setx(err, ENOMEM, "out of memory");
                crypto_hash_sha256(md, (const uint8_t *) msg.data, msg.len);
                return check_hashedrekord_v2(b, t, md, &b->dsse_sigs[0].sig, key, err);
        }
        return ca_error_setx(err, EOPNOTSUPP, "log entries of kind %s %s are not supported yet",
                             t->kind, t->kind_version);
}

int sigverify_dsse(const struct sigbundle *b, const struct sigbundle_tlog *t,
                   const uint8_t digest[32], const struct sig_bytes *key, struct ca_error *err)
{
        struct sig_bytes spki = {0};
        int r;

        if (!b->dsse)
                return ca_error_setx(err, EINVAL, "the bundle holds a message signature");
        if (b->ndsse_sigs != 1)
                return ca_error_setx(err, EBADMSG, "the envelope must carry exactly one signature");
        if (!key && b->ncerts == 0)
                return ca_error_setx(err, EINVAL, "no certificate or key to verify with");
        r = key ? 0 : leaf_spki(b, &spki);
        if (r < 0)
                return ca_error_setx(err, -r, "the signing certificate has no usable key");
        r = verify_envelope(b, key ? key : &spki, err);
        sig_bytes_clear(&spki);
        if (r == 0)
                r = check_statement(b, digest, err);
        if (r == 0)
                r = check_dsse_entry(b, t, key, err);
        return r;
}

/* ---- RFC 3161 timestamps -------------------------------------------------------------------- */


/* The time of a timestamp token, as Unix seconds. */
static int token_time(TS_RESP *resp, int64_t *when)
{
        const ASN1_GENERALIZEDTIME *t = TS_TST_INFO_get_time(TS_RESP_get_tst_info(resp));
        struct tm tm;

        if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
                return -EBADMSG;
        *when = (int64_t) timegm(&tm);
        return 0;
}

/* Whether one timestamp authority of the root, valid at the token's time, signed the token
 * over `sig`, with a chain valid at that time. */
static bool token_by(const struct sigroot_authority *a, TS_RESP *resp, const struct sig_bytes *sig,
                     int64_t when)
{
        TS_VERIFY_CTX *ctx = TS_VERIFY_CTX_new();
        X509_STORE *store = X509_STORE_new();
        STACK_OF(X509) *certs = sk_X509_new_null();
        BIO *data = BIO_new_mem_buf(sig->data, (int) sig->len);
        bool ok = false;

        if (ctx && store && certs && data && sigroot_window_contains(&a->valid, when) &&
            authority_certs(a, store, certs)) {
                X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), (time_t) when);
                TS_VERIFY_CTX_set_flags(ctx, TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_DATA);
                /* The context owns what it is given from here on. */
                (void) TS_VERIFY_CTX_set_data(ctx, data);
                (void) TS_VERIFY_CTX_set_store(ctx, store);
                (void) TS_VERIFY_CTX_set_certs(ctx, certs);
                data = NULL;
                store = NULL;
                certs = NULL;
                ok = TS_RESP_verify_response(ctx, resp) == 1;
        }
        ERR_clear_error();
        BIO_free(data);
        X509_STORE_free(store);
        sk_X509_pop_free(certs, X509_free);
        TS_VERIFY_CTX_free(ctx);
        return ok;
}

/* A timestamp token over the bundle's signature, by a timestamp authority of the root: its
 * time in *when. */
static int verify_timestamp(const struct sigroot *root, const struct sigbundle *b,
                            const struct sig_bytes *tsr, int64_t *when, struct ca_error *err)
{
        const struct sig_bytes *sig = b->dsse ? &b->dsse_sigs[0].sig : &b->signature;
        const unsigned char *p = tsr->data;
        TS_RESP *resp = d2i_TS_RESP(NULL, &p, (long) tsr->len);
        bool ok = false;
        int r;

        if (!resp || p != tsr->data + tsr->len || !TS_RESP_get_tst_info(resp)) {
                TS_RESP_free(resp);
                return ca_error_setx(err, EBADMSG, "a timestamp is not an RFC 3161 response");
        }
        r = token_time(resp, when);
        for (size_t i = 0; r == 0 && i < root->ntsas && !ok; i++)
                ok = token_by(&root->tsas[i], resp, sig, *when);
        TS_RESP_free(resp);
        if (r < 0 || !ok)
                return ca_error_setx(err, EBADMSG,
                                     "a timestamp is not over this signature by a timestamp "
                                     "authority of the trusted root valid at its time");
        return 0;
}

/* ---- from files ------------------------------------------------------------------------------ */

int sigverify_json(const char *root_path, const char *bundle_json, size_t len,
                   const char *bundle_name, const uint8_t digest[32],
                   const struct sigverify_policy *policy, int64_t now, struct ca_error *err)
{
        _cleanup_buf_ struct buf json = BUF_INIT;
        struct sigroot root;
        struct sigbundle b;
        int r = fileio_read_path(root_path, SIGROOT_MAX, &json, err);

        /* A file the user named that cannot be read is the user's input problem (exit 2). */
        if (r < 0)
                err->bad_input = true;
        else
                r = sigroot_parse(json.data ? json.data : "", json.len, &root, err);
        if (r < 0)
                return ca_error_prefix(err, "%s", root_path);
        r = sigbundle_parse(bundle_json, len, &b, err);
        if (r < 0) {
                sigroot_clear(&root);
                return ca_error_prefix(err, "%s", bundle_name);
        }
        r = sigverify_bundle(&root, &b, digest, policy, now, err);
        sigbundle_clear(&b);
        sigroot_clear(&root);
        return r;
}

int sigverify_pem_key(const char *pem, size_t len, struct sig_bytes *out)
{
        BIO *bio = len <= INT_MAX ? BIO_new_mem_buf(pem, (int) len) : NULL;
        EVP_PKEY *pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
        unsigned char *der = NULL;
        int n = pk ? i2d_PUBKEY(pk, &der) : 0;

        BIO_free(bio);
        EVP_PKEY_free(pk);
        ERR_clear_error();
        memset(out, 0, sizeof(*out));
        if (n <= 0)
                return -EINVAL;
        return der_to_bytes(der, n, out);
}
