/* SPDX-License-Identifier: MIT */
#include "sigbundle.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "json.h"

static const struct {
        const char *name;
        enum sigbundle_version version;
} media_types[] = {
        {"application/vnd.dev.sigstore.bundle+json;version=0.1", SIGBUNDLE_V01},
        {"application/vnd.dev.sigstore.bundle+json;version=0.2", SIGBUNDLE_V02},
        {"application/vnd.dev.sigstore.bundle+json;version=0.3", SIGBUNDLE_V03},
        {"application/vnd.dev.sigstore.bundle.v0.3+json", SIGBUNDLE_V03},
};

struct ctx {
        struct ca_error *err;
        char where[128]; /* the field being read, for messages */
};

static int bad(struct ctx *c, const char *what)
{
        return ca_error_input(c->err, "bundle: %s: %s", c->where, what);
}

static void at(struct ctx *c, const char *fmt, ...) CA_PRINTF(2, 3);
static void at(struct ctx *c, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(c->where, sizeof(c->where), fmt, ap);
        va_end(ap);
}

int sigbundle_b64(const json_t *v, struct sig_bytes *out)
{
        const char *s = json_string_value(v);
        const char *end = NULL;
        size_t n, got, chars = 0;
        uint8_t *p;

        if (!s)
                return -EINVAL;
        n = json_string_length(v);
        /* Line breaks are skipped, as Go's decoder (protojson) skips them: a timestamp
         * pasted from base64(1) keeps its newlines. */
        for (size_t i = 0; i < n; i++)
                chars += s[i] != '\n' && s[i] != '\r';
        if (chars == 0)
                return -EINVAL;
        p = malloc(n / 4 * 3 + 3);
        if (!p)
                return -ENOMEM;
        if (sodium_base642bin(p, n / 4 * 3 + 3, s, n, "\r\n", &got, &end,
                              chars % 4 ? sodium_base64_VARIANT_ORIGINAL_NO_PADDING
                                        : sodium_base64_VARIANT_ORIGINAL) != 0 ||
            end != s + n || got == 0) {
                free(p);
                return -EINVAL;
        }
        out->data = p;
        out->len = got;
        return 0;
}

static int b64(struct ctx *c, const json_t *v, struct sig_bytes *out)
{
        int r = sigbundle_b64(v, out);

        if (r == -EINVAL)
                return bad(c, json_is_string(v) ? "not standard base64" : "not a base64 string");
        return r;
}

static int b64_exact(struct ctx *c, const json_t *v, uint8_t *out, size_t len)
{
        struct sig_bytes b = {0};
        int r = b64(c, v, &b);

        if (r < 0)
                return r;
        if (b.len != len) {
                free(b.data);
                return bad(c, "not the length of its hash");
        }
        memcpy(out, b.data, len);
        free(b.data);
        return 0;
}

/* A non-negative int64: a decimal string (protobuf's JSON) or a JSON integer. */
static int int64_ca_json_member(struct ctx *c, const json_t *v, int64_t *out)
{
        if (json_is_integer(v) && json_integer_value(v) >= 0) {
                *out = json_integer_value(v);
                return 0;
        }
        if (json_is_string(v)) {
                const char *s = json_string_value(v);
                size_t n = json_string_length(v);
                int64_t x = 0;

                if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
                        return bad(c, "not a non-negative integer");
                for (size_t i = 0; i < n; i++) {
                        if (s[i] < '0' || s[i] > '9' || x > (INT64_MAX - (s[i] - '0')) / 10)
                                return bad(c, "not a non-negative integer");
                        x = x * 10 + (s[i] - '0');
                }
                *out = x;
                return 0;
        }
        return bad(c, "not a non-negative integer");
}

static int str_ca_json_member(struct ctx *c, const json_t *v, char *out, size_t size)
{
        const char *s = json_string_value(v);

        if (!s || json_string_length(v) == 0 || json_string_length(v) >= size ||
            strlen(s) != json_string_length(v))
                return bad(c, "not a short string");
        memcpy(out, s, json_string_length(v) + 1);
        return 0;
}

static int str_dup(struct ctx *c, const json_t *v, char **out, size_t max)
{
        const char *s = json_string_value(v);

        if (!s || json_string_length(v) > max || strlen(s) != json_string_length(v))
                return bad(c, "not a string");
        *out = strdup(s);
        return *out ? 0 : -ENOMEM;
}

static const json_t *array_of(struct ctx *c, const json_t *v, size_t *n, bool nonempty)
{
        if (!json_is_array(v) || json_array_size(v) > SIGBUNDLE_LIST_MAX ||
            (nonempty && json_array_size(v) == 0)) {
                (void) bad(c, nonempty ? "not a list of 1-64 items" : "not a list of 0-64 items");
                return NULL;
        }
        *n = json_array_size(v);
        return v;
}

static int parse_proof(struct ctx *c, size_t i, const json_t *p, struct sigbundle_tlog *t)
{
        const json_t *hashes;
        const json_t *cp;
        size_t n = 0;
        int r;

        at(c, "tlogEntries[%zu].inclusionProof.logIndex", i);
        r = int64_ca_json_member(c, ca_json_member(p, "logIndex"), &t->proof_index);
        if (r < 0)
                return r;
        at(c, "tlogEntries[%zu].inclusionProof.treeSize", i);
        r = int64_ca_json_member(c, ca_json_member(p, "treeSize"), &t->tree_size);
        if (r < 0)
                return r;
        at(c, "tlogEntries[%zu].inclusionProof.rootHash", i);
        r = b64_exact(c, ca_json_member(p, "rootHash"), t->root, TLOG_HASH_LEN);
        if (r < 0)
                return r;
        at(c, "tlogEntries[%zu].inclusionProof.hashes", i);
        hashes = ca_json_member(p, "hashes");
        if (!json_is_array(hashes) || json_array_size(hashes) > TLOG_PROOF_MAX)
                return bad(c, "not a list of at most 63 hashes");
        n = json_array_size(hashes);
        t->hashes = calloc(n ? n : 1, TLOG_HASH_LEN);
        if (!t->hashes)
                return -ENOMEM;
        for (size_t k = 0; k < n; k++) {
                at(c, "tlogEntries[%zu].inclusionProof.hashes[%zu]", i, k);
                r = b64_exact(c, json_array_get(hashes, k), t->hashes[k], TLOG_HASH_LEN);
                if (r < 0)
                        return r;
        }
        t->nhashes = n;
        cp = ca_json_member(ca_json_member(p, "checkpoint"), "envelope");
        if (cp) {
                at(c, "tlogEntries[%zu].inclusionProof.checkpoint.envelope", i);
                r = str_dup(c, cp, &t->checkpoint, TLOG_NOTE_MAX);
                if (r < 0)
                        return r;
                t->checkpoint_len = strlen(t->checkpoint);
        }
        t->has_proof = true;
        return 0;
}

static int parse_tlog(struct ctx *c, size_t i, const json_t *e, struct sigbundle_tlog *t)
{
        const json_t *kv = ca_json_member(e, "kindVersion");
        const json_t *v;
        int r;

        if (!json_is_object(e)) {
                at(c, "tlogEntries[%zu]", i);
                return bad(c, "not an object");
        }
        at(c, "tlogEntries[%zu].logIndex", i);
        r = int64_ca_json_member(c, ca_json_member(e, "logIndex"), &t->log_index);
        if (r < 0)
                return r;
        at(c, "tlogEntries[%zu].logId.keyId", i);
        r = b64(c, ca_json_member(ca_json_member(e, "logId"), "keyId"), &t->log_id);
        if (r < 0)
                return r;
        at(c, "tlogEntries[%zu].kindVersion.kind", i);
        r = str_ca_json_member(c, ca_json_member(kv, "kind"), t->kind, sizeof(t->kind));
        if (r < 0)
                return r;
        at(c, "tlogEntries[%zu].kindVersion.version", i);
        r = str_ca_json_member(c, ca_json_member(kv, "version"), t->kind_version,
                      sizeof(t->kind_version));
        if (r < 0)
                return r;
        v = ca_json_member(e, "integratedTime");
        if (v) {
                at(c, "tlogEntries[%zu].integratedTime", i);
                r = int64_ca_json_member(c, v, &t->integrated_time);
                if (r < 0)
                        return r;
        }
        at(c, "tlogEntries[%zu].canonicalizedBody", i);
        r = b64(c, ca_json_member(e, "canonicalizedBody"), &t->body);
        if (r < 0)
                return r;
        v = ca_json_member(ca_json_member(e, "inclusionPromise"), "signedEntryTimestamp");
        if (v) {
                at(c, "tlogEntries[%zu].inclusionPromise.signedEntryTimestamp", i);
                r = b64(c, v, &t->set);
                if (r < 0)
                        return r;
        }
        v = ca_json_member(e, "inclusionProof");
        if (v) {
                if (!json_is_object(v)) {
                        at(c, "tlogEntries[%zu].inclusionProof", i);
                        return bad(c, "not an object");
                }
                r = parse_proof(c, i, v, t);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_certs(struct ctx *c, const json_t *vm, struct sigbundle *b)
{
        const json_t *leaf = ca_json_member(vm, "certificate");
        const json_t *chain = ca_json_member(ca_json_member(vm, "x509CertificateChain"),
                                              "certificates");
        const json_t *key = ca_json_member(vm, "publicKey");
        size_t n = 0;
        int r;

        if (!!leaf + !!chain + !!key != 1) {
                at(c, "verificationMaterial");
                return bad(c, "needs exactly one of certificate, x509CertificateChain, publicKey");
        }
        if (key) {
                at(c, "verificationMaterial.publicKey.hint");
                return str_dup(c, ca_json_member(key, "hint"), &b->key_hint, 1024);
        }
        if (leaf && b->version != SIGBUNDLE_V03) {
                at(c, "verificationMaterial.certificate");
                return bad(c, "a single certificate is a v0.3 form");
        }
        if (chain && b->version == SIGBUNDLE_V03) {
                at(c, "verificationMaterial.x509CertificateChain");
                return bad(c, "v0.3 carries the leaf certificate only");
        }
        at(c, "verificationMaterial.x509CertificateChain.certificates");
        if (chain && !array_of(c, chain, &n, true))
                return -EINVAL;
        if (leaf)
                n = 1;
        b->certs = calloc(n, sizeof(*b->certs));
        if (!b->certs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const json_t *cert = leaf ? leaf : json_array_get(chain, i);

                at(c, leaf ? "verificationMaterial.certificate.rawBytes"
                           : "verificationMaterial.x509CertificateChain.certificates[%zu].rawBytes",
                   i);
                r = b64(c, ca_json_member(cert, "rawBytes"), &b->certs[i]);
                if (r < 0)
                        return r;
                b->ncerts++;
        }
        return 0;
}

static int parse_material(struct ctx *c, const json_t *vm, struct sigbundle *b)
{
        const json_t *list;
        size_t n = 0;
        int r;

        at(c, "verificationMaterial");
        if (!json_is_object(vm))
                return bad(c, "missing");
        r = parse_certs(c, vm, b);
        if (r < 0)
                return r;
        at(c, "verificationMaterial.tlogEntries");
        list = ca_json_member(vm, "tlogEntries");
        if (list) {
                if (!array_of(c, list, &n, false))
                        return -EINVAL;
                b->tlogs = calloc(n ? n : 1, sizeof(*b->tlogs));
                if (!b->tlogs)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        r = parse_tlog(c, i, json_array_get(list, i), &b->tlogs[i]);
                        b->ntlogs = i + 1;
                        if (r < 0)
                                return r;
                }
        }
        at(c, "verificationMaterial.timestampVerificationData.rfc3161Timestamps");
        list = ca_json_member(ca_json_member(vm, "timestampVerificationData"),
                               "rfc3161Timestamps");
        if (list) {
                if (!array_of(c, list, &n, false))
                        return -EINVAL;
                b->timestamps = calloc(n ? n : 1, sizeof(*b->timestamps));
                if (!b->timestamps)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        at(c, "rfc3161Timestamps[%zu].signedTimestamp", i);
                        r = b64(c, ca_json_member(json_array_get(list, i), "signedTimestamp"),
                                &b->timestamps[i]);
                        if (r < 0)
                                return r;
                        b->ntimestamps = i + 1;
                }
        }
        return 0;
}

static int parse_message(struct ctx *c, const json_t *m, struct sigbundle *b)
{
        const json_t *md = ca_json_member(m, "messageDigest");
        struct sig_bytes d = {0};
        int r;

        at(c, "messageSignature.messageDigest.algorithm");
        r = str_ca_json_member(c, ca_json_member(md, "algorithm"), b->digest_algorithm,
                      sizeof(b->digest_algorithm));
        if (r < 0)
                return r;
        at(c, "messageSignature.messageDigest.digest");
        r = b64(c, ca_json_member(md, "digest"), &d);
        if (r < 0)
                return r;
        if (d.len > sizeof(b->digest) || d.len < 32) {
                free(d.data);
                return bad(c, "not the length of a digest");
        }
        memcpy(b->digest, d.data, d.len);
        b->digest_len = d.len;
        free(d.data);
        at(c, "messageSignature.signature");
        return b64(c, ca_json_member(m, "signature"), &b->signature);
}

static int parse_dsse(struct ctx *c, const json_t *e, struct sigbundle *b)
{
        const json_t *sigs = ca_json_member(e, "signatures");
        size_t n = 0;
        int r;

        b->dsse = true;
        at(c, "dsseEnvelope.payloadType");
        r = str_dup(c, ca_json_member(e, "payloadType"), &b->payload_type, 256);
        if (r < 0)
                return r;
        at(c, "dsseEnvelope.payload");
        r = b64(c, ca_json_member(e, "payload"), &b->payload);
        if (r < 0)
                return r;
        at(c, "dsseEnvelope.signatures");
        if (!array_of(c, sigs, &n, true))
                return -EINVAL;
        b->dsse_sigs = calloc(n, sizeof(*b->dsse_sigs));
        if (!b->dsse_sigs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const json_t *s = json_array_get(sigs, i);
                const json_t *keyid = ca_json_member(s, "keyid");

                b->ndsse_sigs = i + 1;
                at(c, "dsseEnvelope.signatures[%zu].sig", i);
                r = b64(c, ca_json_member(s, "sig"), &b->dsse_sigs[i].sig);
                if (r < 0)
                        return r;
                if (keyid && !json_is_null(keyid)) {
                        at(c, "dsseEnvelope.signatures[%zu].keyid", i);
                        r = str_dup(c, keyid, &b->dsse_sigs[i].keyid, 1024);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int parse_doc(struct ctx *c, const json_t *doc, struct sigbundle *b)
{
        const char *mt = json_string_value(ca_json_member(doc, "mediaType"));
        const json_t *msg = ca_json_member(doc, "messageSignature");
        const json_t *dsse = ca_json_member(doc, "dsseEnvelope");
        int r;

        at(c, "mediaType");
        if (!json_is_object(doc))
                return ca_error_input(c->err, "bundle: not a JSON object");
        for (size_t i = 0; mt && i < CA_ELEMENTSOF(media_types); i++) {
                if (strcmp(mt, media_types[i].name) == 0) {
                        b->version = media_types[i].version;
                        b->media_type = media_types[i].name;
                }
        }
        if (!b->version)
                return bad(c, "not a bundle version this verifier knows (0.1, 0.2, 0.3)");
        r = parse_material(c, ca_json_member(doc, "verificationMaterial"), b);
        if (r < 0)
                return r;
        if (!!msg + !!dsse != 1) {
                at(c, "content");
                return bad(c, "needs exactly one of messageSignature and dsseEnvelope");
        }
        return msg ? parse_message(c, msg, b) : parse_dsse(c, dsse, b);
}

int sigbundle_parse(const char *json, size_t len, struct sigbundle *out, struct ca_error *err)
{
        struct ctx c = {.err = err};
        _cleanup_json_ json_t *doc = NULL;
        int r;

        memset(out, 0, sizeof(*out));
        if (len > SIGBUNDLE_MAX)
                return ca_error_input(err, "bundle: larger than %zu bytes", SIGBUNDLE_MAX);
        r = ca_json_parse(json, len, "bundle", &doc, err);
        if (r < 0)
                return r;
        r = parse_doc(&c, doc, out);
        if (r == -ENOMEM)
                r = ca_error_setx(err, ENOMEM, "out of memory");
        if (r < 0)
                sigbundle_clear(out);
        return r;
}

void sig_bytes_clear(struct sig_bytes *b)
{
        free(b->data);
        b->data = NULL;
        b->len = 0;
}

void sigbundle_clear(struct sigbundle *b)
{
        for (size_t i = 0; i < b->ncerts; i++)
                sig_bytes_clear(&b->certs[i]);
        free(b->certs);
        free(b->key_hint);
        for (size_t i = 0; i < b->ntlogs; i++) {
                struct sigbundle_tlog *t = &b->tlogs[i];

                sig_bytes_clear(&t->log_id);
                sig_bytes_clear(&t->body);
                sig_bytes_clear(&t->set);
                free(t->hashes);
                free(t->checkpoint);
        }
        free(b->tlogs);
        for (size_t i = 0; i < b->ntimestamps; i++)
                sig_bytes_clear(&b->timestamps[i]);
        free(b->timestamps);
        sig_bytes_clear(&b->signature);
        free(b->payload_type);
        sig_bytes_clear(&b->payload);
        for (size_t i = 0; i < b->ndsse_sigs; i++) {
                sig_bytes_clear(&b->dsse_sigs[i].sig);
                free(b->dsse_sigs[i].keyid);
        }
        free(b->dsse_sigs);
        memset(b, 0, sizeof(*b));
}
