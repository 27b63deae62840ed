/* SPDX-License-Identifier: MIT */
#include "sigverify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "buf.h"
#include "cleanup.h"
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

/* The entry's log, and its key's window holding the entry's integration. */
static int entry_log(const struct sigroot *root, const struct sigbundle_tlog *t,
                     const struct sigroot_log **ret, struct ca_error *err)
{
        const struct sigroot_log *log = sigverify_find_log(root->tlogs, root->ntlogs, &t->log_id);

        if (!log)
                return ca_error_setx(err, ENOENT,
                                     "log entry %lld: the trusted root knows no log by its id",
                                     (long long) t->log_index);
        if (t->integrated_time && !sigroot_window_contains(&log->valid, t->integrated_time))
                return ca_error_setx(err, EKEYEXPIRED,
                                     "log entry %lld: integrated at %lld, outside the window "
                                     "of the log's key",
                                     (long long) t->log_index, (long long) t->integrated_time);
        *ret = log;
        return 0;
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
        r = entry_log(root, t, &log, err);
        if (r < 0)
                return r;
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
        /* A Rekor v1 checkpoint is signed under the origin's first word, the log's host name,
         * with the first bytes of the log id as the key hint. */
        (void) snprintf(name, sizeof(name), "%.*s", (int) strcspn(cp->origin, " "), cp->origin);
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
                return ca_error_setx(err, EINVAL,
                                     "log entry %lld has no inclusion proof with a checkpoint",
                                     (long long) t->log_index);
        r = entry_log(root, t, &log, err);
        if (r < 0)
                return r;
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
