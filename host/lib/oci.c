/* SPDX-License-Identifier: MIT */
#include "oci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cleanup.h"
#include "digest.h"
#include "json.h"

static bool alnum_lower(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool host_char(char c)
{
        return alnum_lower(c) || (c >= 'A' && c <= 'Z') || c == '-' || c == '.';
}

/* A registry host: labels of [A-Za-z0-9-] (not starting or ending with '-') separated by
 * dots, and an optional :port. */
static bool host_valid(const char *s, size_t n)
{
        const char *colon = memchr(s, ':', n);
        size_t hn = colon ? (size_t) (colon - s) : n;

        if (hn == 0)
                return false;
        for (size_t i = 0; i < hn; i++) {
                bool edge = i == 0 || i + 1 == hn || s[i - 1] == '.' || s[i + 1] == '.';

                if (s[i] == '.' ? edge : !host_char(s[i]) || (s[i] == '-' && edge))
                        return false;
        }
        if (!colon)
                return true;
        if (n - hn < 2 || n - hn > 6)
                return false;
        for (size_t i = hn + 1; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

/* A repository path: components of lower-case letters and digits, joined inside by '.', '_'
 * or '-', separated by '/'. */
static bool repo_valid(const char *s, size_t n)
{
        bool start = true;

        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (alnum_lower(c)) {
                        start = false;
                        continue;
                }
                if (start || i + 1 == n || !(c == '/' || c == '.' || c == '_' || c == '-'))
                        return false;
                if (c == '/') {
                        if (!alnum_lower(s[i - 1]))
                                return false;
                        start = true;
                } else if (!alnum_lower(s[i + 1]) && s[i + 1] != c && s[i + 1] != '-') {
                        return false;
                }
        }
        return n > 0 && !start;
}

static bool tag_valid(const char *s, size_t n)
{
        if (n == 0 || n > OCI_TAG_MAX || s[0] == '.' || s[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (!(alnum_lower(c) || (c >= 'A' && c <= 'Z') || c == '_' || c == '.' ||
                      c == '-'))
                        return false;
        }
        return true;
}

bool oci_digest_valid(const char *s)
{
        if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != OCI_DIGEST_LEN)
                return false;
        for (size_t i = 7; i < OCI_DIGEST_LEN; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

int oci_digest(const void *data, size_t len, char out[OCI_DIGEST_LEN + 1])
{
        uint8_t md[DIGEST_SHA256_LEN];

        if (digest_sha256(data, len, md) < 0)
                return -EIO;
        memcpy(out, "sha256:", 8); /* the digits overwrite its NUL */
        digest_hex(md, sizeof(md), out + 7);
        return 0;
}

int oci_ref_parse(const char *s, struct oci_ref *out, struct ca_error *err)
{
        const char *slash = strchr(s, '/'), *at = strchr(s, '@'), *name_end, *colon;
        size_t hn, rn;

        memset(out, 0, sizeof(*out));
        if (!slash)
                return ca_error_input(err, "'%s' names no registry: write it whole, as "
                                           "REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST] "
                                           "(e.g. ghcr.io/owner/project/agent:v1.0.0)",
                                      s);
        hn = (size_t) (slash - s);
        if (!(memchr(s, '.', hn) || memchr(s, ':', hn) || (hn == 9 && !memcmp(s, "localhost", 9))))
                return ca_error_input(err, "'%s' names no registry (a host with a dot or a port "
                                           "comes first, e.g. ghcr.io/...): Docker Hub is never "
                                           "implied",
                                      s);
        if (hn >= sizeof(out->host) || !host_valid(s, hn))
                return ca_error_input(err, "'%.*s' is not a registry host",
                                      (int) (hn < 200 ? hn : 200), s);
        memcpy(out->host, s, hn);
        name_end = at ? at : s + strlen(s);
        if (at) {
                if (!oci_digest_valid(at + 1))
                        return ca_error_input(err, "'%s': the digest must be sha256: and 64 "
                                                   "lower-case hex digits",
                                              s);
                memcpy(out->digest, at + 1, OCI_DIGEST_LEN + 1);
        }
        /* A tag's colon comes after the last slash (a port's is before the first). */
        colon = memchr(slash, ':', (size_t) (name_end - slash));
        rn = (size_t) ((colon ? colon : name_end) - (slash + 1));
        if (rn >= sizeof(out->repo) || !repo_valid(slash + 1, rn))
                return ca_error_input(err, "'%s': the repository must be lower-case letters, "
                                           "digits and . _ - between slashes",
                                      s);
        memcpy(out->repo, slash + 1, rn);
        if (colon) {
                size_t tn = (size_t) (name_end - colon - 1);

                if (!tag_valid(colon + 1, tn))
                        return ca_error_input(err, "'%s': a tag is at most 128 of A-Z a-z 0-9 "
                                                   "_ . - and does not start with . or -",
                                              s);
                memcpy(out->tag, colon + 1, tn);
        } else if (!at) {
                memcpy(out->tag, "latest", 7);
        }
        return 0;
}

int oci_ref_name(const struct oci_ref *ref, struct buf *out)
{
        return buf_printf(out, "%s/%s", ref->host, ref->repo);
}

/* One quoted-string value (RFC 7235) into `out`; `*p` moves past it. */
static int quoted(const char **p, const char *end, char *out, size_t size)
{
        const char *s = *p;
        size_t o = 0;

        if (s >= end || *s != '"')
                return -EINVAL;
        for (s++; s < end && *s != '"'; s++) {
                if (*s == '\\' && s + 1 < end)
                        s++;
                if ((unsigned char) *s < 0x20 || *s == 0x7f || o + 1 >= size)
                        return -EINVAL;
                out[o++] = *s;
        }
        if (s >= end)
                return -EINVAL;
        out[o] = '\0';
        *p = s + 1;
        return 0;
}

int oci_challenge_parse(const char *h, size_t len, struct oci_challenge *out)
{
        const char *p = h, *end = h + len;

        memset(out, 0, sizeof(*out));
        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        if ((size_t) (end - p) < 7 || strncasecmp(p, "bearer", 6) != 0 || (p[6] != ' ' &&
                                                                             p[6] != '\t'))
                return -EINVAL;
        p += 7;
        while (p < end) {
                const char *name;
                size_t n;
                char value[512], *dst = NULL;
                size_t size = 0;

                while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
                        p++;
                if (p >= end)
                        break;
                name = p;
                while (p < end && *p != '=' && *p != ' ' && *p != ',')
                        p++;
                n = (size_t) (p - name);
                if (p >= end || *p != '=')
                        return -EINVAL;
                p++;
                if (quoted(&p, end, value, sizeof(value)) < 0)
                        return -EINVAL;
                if (n == 5 && !strncasecmp(name, "realm", 5)) {
                        dst = out->realm;
                        size = sizeof(out->realm);
                } else if (n == 7 && !strncasecmp(name, "service", 7)) {
                        dst = out->service;
                        size = sizeof(out->service);
                } else if (n == 5 && !strncasecmp(name, "scope", 5)) {
                        dst = out->scope;
                        size = sizeof(out->scope);
                }
                if (dst) {
                        if (strlen(value) >= size)
                                return -EINVAL;
                        memcpy(dst, value, strlen(value) + 1);
                }
        }
        /* The token is fetched with what the registry names: never over plain HTTP. */
        return strncmp(out->realm, "https://", 8) == 0 && out->realm[8] ? 0 : -EINVAL;
}

int oci_token_parse(const char *json, size_t len, char **token)
{
        _cleanup_json_ json_t *v = NULL;
        const char *t;

        *token = NULL;
        if (ca_json_parse(json, len, "token", &v, NULL) < 0)
                return -EINVAL;
        t = json_string_value(json_object_get(v, "token"));
        if (!t || !*t)
                t = json_string_value(json_object_get(v, "access_token"));
        if (!t || !*t || strlen(t) > 16384)
                return -EINVAL;
        for (const char *c = t; *c; c++)
                if ((unsigned char) *c <= 0x20 || (unsigned char) *c >= 0x7f)
                        return -EINVAL;
        *token = strdup(t);
        return *token ? 0 : -ENOMEM;
}

void oci_sig_layers_free(struct oci_sig_layer *l, size_t n)
{
        for (size_t i = 0; l && i < n; i++) {
                free(l[i].signature);
                free(l[i].certificate);
                free(l[i].bundle);
        }
        free(l);
}

/* An annotation's value (a string) as a fresh copy; NULL in *out when absent. */
static int annotation(const json_t *ann, const char *key, char **out)
{
        const json_t *v = json_object_get(ann, key);

        *out = NULL;
        if (!v)
                return 0;
        if (!json_is_string(v))
                return -EINVAL;
        *out = strdup(json_string_value(v));
        return *out ? 0 : -ENOMEM;
}

int oci_sig_layers(const char *json, size_t len, struct oci_sig_layer **out, size_t *n,
                   struct ca_error *err)
{
        _cleanup_json_ json_t *m = NULL;
        struct oci_sig_layer *l = NULL;
        const json_t *layers, *layer;
        size_t i, k = 0;
        int r;

        *out = NULL;
        *n = 0;
        r = ca_json_parse(json, len, "signature manifest", &m, err);
        if (r < 0)
                return r;
        layers = json_object_get(m, "layers");
        if (json_integer_value(json_object_get(m, "schemaVersion")) != 2 || !json_is_array(layers))
                return ca_error_input(err, "the signature manifest is not an image manifest "
                                           "(schemaVersion 2 with layers)");
        if (json_array_size(layers) > OCI_SIGNATURES_MAX)
                return ca_error_input(err, "the signature manifest has more than %d layers",
                                      OCI_SIGNATURES_MAX);
        l = calloc(json_array_size(layers) + 1, sizeof(*l));
        if (!l)
                return ca_error_setx(err, ENOMEM, "out of memory");
        json_array_foreach(layers, i, layer) {
                const char *media = json_string_value(json_object_get(layer, "mediaType"));
                const char *digest = json_string_value(json_object_get(layer, "digest"));
                const json_t *size = json_object_get(layer, "size");
                const json_t *ann = json_object_get(layer, "annotations");
                struct oci_sig_layer *s = &l[k];

                if (!media || strcmp(media, OCI_MEDIA_SIMPLESIGNING) != 0)
                        continue;
                if (!digest || !oci_digest_valid(digest) || !json_is_integer(size) ||
                    json_integer_value(size) < 0 || (ann && !json_is_object(ann))) {
                        oci_sig_layers_free(l, k);
                        return ca_error_input(err, "signature layer %zu: a sha256 digest, a "
                                                   "size and string annotations are needed",
                                              i);
                }
                memcpy(s->digest, digest, OCI_DIGEST_LEN + 1);
                s->size = (int64_t) json_integer_value(size);
                k++;
                if (annotation(ann, "dev.cosignproject.cosign/signature", &s->signature) < 0 ||
                    annotation(ann, "dev.sigstore.cosign/certificate", &s->certificate) < 0 ||
                    annotation(ann, "dev.sigstore.cosign/bundle", &s->bundle) < 0) {
                        oci_sig_layers_free(l, k);
                        return ca_error_input(err, "signature layer %zu: an annotation is not "
                                                   "a string",
                                              i);
                }
                if (!s->signature) {
                        oci_sig_layers_free(l, k);
                        return ca_error_input(err, "signature layer %zu carries no signature "
                                                   "(dev.cosignproject.cosign/signature)",
                                              i);
                }
        }
        *out = l;
        *n = k;
        return 0;
}

int oci_payload_check(const char *payload, size_t len, const char *digest, const char *name,
                      struct ca_error *err)
{
        _cleanup_json_ json_t *v = NULL;
        const json_t *crit;
        const char *type, *signed_digest, *signed_ref;
        int r = ca_json_parse(payload, len, "signature payload", &v, err);

        if (r < 0)
                return r;
        crit = json_object_get(v, "critical");
        type = json_string_value(json_object_get(crit, "type"));
        signed_digest = json_string_value(
                json_object_get(json_object_get(crit, "image"), "docker-manifest-digest"));
        signed_ref = json_string_value(
                json_object_get(json_object_get(crit, "identity"), "docker-reference"));
        if (!json_is_object(crit) || !type || !signed_digest || !signed_ref)
                return ca_error_input(err, "the signature payload is not a simple-signing "
                                           "payload (critical.type, .image, .identity)");
        if (strcmp(type, "cosign container image signature") != 0)
                return ca_error_setx(err, EBADMSG, "the payload signs a '%.60s', not a "
                                                   "container image",
                                     type);
        if (strcmp(signed_digest, digest) != 0)
                return ca_error_setx(err, EBADMSG, "the signature is of another image (%.80s), "
                                                   "not of %s",
                                     signed_digest, digest);
        if (strcmp(signed_ref, name) != 0)
                return ca_error_setx(err, EBADMSG, "the signature is for the repository "
                                                   "'%.200s', not '%s'",
                                     signed_ref, name);
        return 0;
}

/* The base64 body of a PEM certificate (the first one), line breaks kept: sigbundle's base64
 * reader skips them. */
static int pem_body(const char *pem, char **out)
{
        static const char begin[] = "-----BEGIN CERTIFICATE-----";
        static const char end[] = "-----END CERTIFICATE-----";
        const char *b = strstr(pem, begin), *e;

        *out = NULL;
        if (!b)
                return -EINVAL;
        b += sizeof(begin) - 1;
        e = strstr(b, end);
        if (!e)
                return -EINVAL;
        *out = strndup(b, (size_t) (e - b));
        return *out ? 0 : -ENOMEM;
}

static int b64_of(const uint8_t *data, size_t len, char **out)
{
        size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);

        *out = malloc(n);
        if (!*out)
                return -ENOMEM;
        sodium_bin2base64(*out, n, data, len, sodium_base64_VARIANT_ORIGINAL);
        return 0;
}

/* The log entry: Rekor's promise {SignedEntryTimestamp, Payload: {body, integratedTime,
 * logIndex, logID (hex)}}, with kind and version read from the body. */
static json_t *tlog_entry(const char *promise, struct ca_error *err)
{
        _cleanup_json_ json_t *p = NULL, *body = NULL;
        _cleanup_free_ char *log_id = NULL;
        _cleanup_free_ uint8_t *body_raw = NULL;
        uint8_t id[64];
        size_t id_len = 0, body_len = 0;
        const json_t *pl;
        const char *set, *body_b64, *hex, *kind, *version, *hex_end = NULL;
        json_int_t itime, index;

        if (ca_json_parse(promise, strlen(promise), "dev.sigstore.cosign/bundle", &p, err) < 0)
                return NULL;
        pl = json_object_get(p, "Payload");
        set = json_string_value(json_object_get(p, "SignedEntryTimestamp"));
        body_b64 = json_string_value(json_object_get(pl, "body"));
        hex = json_string_value(json_object_get(pl, "logID"));
        itime = json_integer_value(json_object_get(pl, "integratedTime"));
        index = json_integer_value(json_object_get(pl, "logIndex"));
        if (!set || !body_b64 || !hex || !json_is_integer(json_object_get(pl, "integratedTime")) ||
            !json_is_integer(json_object_get(pl, "logIndex")) || itime < 0 || index < 0 ||
            sodium_hex2bin(id, sizeof(id), hex, strlen(hex), NULL, &id_len, &hex_end) != 0 ||
            *hex_end || id_len == 0) {
                (void) ca_error_input(err, "dev.sigstore.cosign/bundle lacks the signed entry "
                                           "timestamp, body, integrated time, log index or log "
                                           "id (hex)");
                return NULL;
        }
        body_raw = malloc(strlen(body_b64) + 1);
        if (!body_raw || sodium_base642bin(body_raw, strlen(body_b64) + 1, body_b64,
                                           strlen(body_b64), NULL, &body_len, NULL,
                                           sodium_base64_VARIANT_ORIGINAL) != 0 ||
            ca_json_parse((const char *) body_raw, body_len, "log entry body", &body, NULL) < 0) {
                (void) ca_error_input(err, "the log entry's body is not base64 JSON");
                return NULL;
        }
        kind = json_string_value(json_object_get(body, "kind"));
        version = json_string_value(json_object_get(body, "apiVersion"));
        if (!kind || !version || b64_of(id, id_len, &log_id) < 0) {
                (void) ca_error_input(err, "the log entry's body names no kind and apiVersion");
                return NULL;
        }
        return json_pack("{s:I, s:{s:s}, s:{s:s, s:s}, s:I, s:{s:s}, s:s}", "logIndex",
                         index, "logId", "keyId", log_id, "kindVersion", "kind", kind, "version",
                         version, "integratedTime", itime, "inclusionPromise",
                         "signedEntryTimestamp", set, "canonicalizedBody", body_b64);
}

int oci_cosign_bundle(const struct oci_sig_layer *l, const uint8_t payload_sha256[32],
                      struct buf *out, struct ca_error *err)
{
        _cleanup_json_ json_t *entry = NULL, *material = NULL, *bundle = NULL;
        _cleanup_free_ char *cert = NULL, *digest = NULL;

        if (!l->certificate)
                return ca_error_input(err, "the signature carries no certificate (a managed "
                                           "key's): only keyless signatures are verified");
        if (!l->bundle)
                return ca_error_input(err, "the signature carries no transparency-log entry "
                                           "(dev.sigstore.cosign/bundle): it was made offline "
                                           "or without Rekor, and cannot be verified");
        entry = tlog_entry(l->bundle, err);
        if (!entry)
                return -EINVAL;
        if (pem_body(l->certificate, &cert) < 0)
                return ca_error_input(err, "dev.sigstore.cosign/certificate is not a PEM "
                                           "certificate");
        if (b64_of(payload_sha256, 32, &digest) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        material = json_pack("{s:{s:[{s:s}]}, s:[O]}", "x509CertificateChain", "certificates",
                             "rawBytes", cert, "tlogEntries", entry);
        bundle = material ? json_pack("{s:s, s:O, s:{s:{s:s, s:s}, s:s}}", "mediaType",
                                      "application/vnd.dev.sigstore.bundle+json;version=0.1",
                                      "verificationMaterial", material, "messageSignature",
                                      "messageDigest", "algorithm", "SHA2_256", "digest", digest,
                                      "signature", l->signature)
                          : NULL;
        if (!bundle)
                return ca_error_setx(err, ENOMEM, "out of memory");
        return ca_json_canonical(bundle, out, err);
}
