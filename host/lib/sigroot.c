/* SPDX-License-Identifier: MIT */
#include "sigroot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"

#define MEDIA_TYPE "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
#define LIST_MAX 64

static const struct {
        const char *name;
        enum sigroot_scheme scheme;
} schemes[] = {
        {"PKIX_ECDSA_P256_SHA_256", SIGROOT_ECDSA_P256_SHA256},
        {"PKIX_ECDSA_P384_SHA_384", SIGROOT_ECDSA_P384_SHA384},
        {"PKIX_ECDSA_P521_SHA_512", SIGROOT_ECDSA_P521_SHA512},
        {"PKIX_ED25519", SIGROOT_ED25519},
        {"PKCS1_RSA_PKCS1V5", SIGROOT_RSA_PKCS1V15},
        {"PKIX_RSA_PKCS1V15_2048_SHA256", SIGROOT_RSA_PKCS1V15},
        {"PKIX_RSA_PKCS1V15_3072_SHA256", SIGROOT_RSA_PKCS1V15},
        {"PKIX_RSA_PKCS1V15_4096_SHA256", SIGROOT_RSA_PKCS1V15},
        {"PKIX_RSA_PSS_2048_SHA256", SIGROOT_RSA_PSS},
        {"PKIX_RSA_PSS_3072_SHA256", SIGROOT_RSA_PSS},
        {"PKIX_RSA_PSS_4096_SHA256", SIGROOT_RSA_PSS},
};

static int bad(struct ca_error *err, const char *section, size_t i, const char *what)
{
        return ca_error_input(err, "trusted root: %s[%zu]: %s", section, i, what);
}

static int digits(const char *s, size_t n, int *out)
{
        int v = 0;

        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (s[i] - '0');
        }
        *out = v;
        return 0;
}

int sigroot_parse_time(const char *s, int64_t *out)
{
        static const char shape[] = "dddd-dd-ddTdd:dd:dd";
        struct tm tm = {0};
        int year, mon, day, hour, min, sec;
        size_t n = strlen(s);
        size_t i = sizeof(shape) - 1;
        time_t t;

        if (n < i + 1)
                return -EINVAL;
        for (size_t k = 0; k < i; k++) {
                if (shape[k] == 'd' ? (s[k] < '0' || s[k] > '9') : s[k] != shape[k])
                        return -EINVAL;
        }
        if (s[i] == '.') {
                size_t f = ++i;
                while (i < n && s[i] >= '0' && s[i] <= '9')
                        i++;
                if (i == f || i - f > 9)
                        return -EINVAL;
        }
        if (i + 1 != n || s[i] != 'Z')
                return -EINVAL;
        if (digits(s, 4, &year) < 0 || digits(s + 5, 2, &mon) < 0 || digits(s + 8, 2, &day) < 0 ||
            digits(s + 11, 2, &hour) < 0 || digits(s + 14, 2, &min) < 0 ||
            digits(s + 17, 2, &sec) < 0)
                return -EINVAL;
        if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
                return -EINVAL;
        tm.tm_year = year - 1900;
        tm.tm_mon = mon - 1;
        tm.tm_mday = day;
        tm.tm_hour = hour;
        tm.tm_min = min;
        tm.tm_sec = sec;
        t = timegm(&tm);
        /* timegm normalises 31 February into March: refuse what it had to move. */
        if (t == (time_t) -1 || tm.tm_mday != day || tm.tm_mon != mon - 1)
                return -EINVAL;
        *out = (int64_t) t;
        return 0;
}

bool sigroot_window_contains(const struct sigroot_window *w, int64_t t)
{
        return t >= w->start && (!w->has_end || t <= w->end);
}

static int parse_window(const json_t *v, struct sigroot_window *w, struct ca_error *err,
                        const char *section, size_t i)
{
        const char *start = json_string_value(ca_json_member(v, "start"));
        const json_t *end = ca_json_member(v, "end");

        if (!start)
                return bad(err, section, i, "validFor has no start");
        if (sigroot_parse_time(start, &w->start) < 0)
                return bad(err, section, i, "validFor.start is not an RFC 3339 UTC time");
        if (end) {
                if (!json_is_string(end) || sigroot_parse_time(json_string_value(end), &w->end) < 0)
                        return bad(err, section, i, "validFor.end is not an RFC 3339 UTC time");
                if (w->end < w->start)
                        return bad(err, section, i, "validFor ends before it starts");
                w->has_end = true;
        }
        return 0;
}

static int copy_str(const json_t *v, char *out, size_t size)
{
        const char *s = json_string_value(v);

        if (!s)
                return 0; /* optional */
        if (json_string_length(v) >= size || strlen(s) != json_string_length(v))
                return -EINVAL;
        memcpy(out, s, json_string_length(v) + 1);
        return 0;
}

static int b64_ca_json_member(const json_t *v, struct sig_bytes *out, struct ca_error *err,
                     const char *section, size_t i, const char *field)
{
        int r = sigbundle_b64(v, out);
        char what[96];

        if (r == -ENOMEM)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (r < 0) {
                (void) snprintf(what, sizeof(what), "%s is not base64", field);
                return bad(err, section, i, what);
        }
        return 0;
}

static int parse_log(const json_t *v, struct sigroot_log *l, struct ca_error *err,
                     const char *section, size_t i)
{
        const json_t *pk = ca_json_member(v, "publicKey");
        const char *details = json_string_value(ca_json_member(pk, "keyDetails"));
        const json_t *cp = ca_json_member(ca_json_member(v, "checkpointKeyId"), "keyId");
        int r;

        if (!json_is_object(v) || !json_is_object(pk))
                return bad(err, section, i, "has no publicKey");
        if (copy_str(ca_json_member(v, "baseUrl"), l->base_url, sizeof(l->base_url)) < 0)
                return bad(err, section, i, "baseUrl is too long");
        r = b64_ca_json_member(ca_json_member(pk, "rawBytes"), &l->key, err, section, i,
                      "publicKey.rawBytes");
        if (r < 0)
                return r;
        for (size_t k = 0; details && k < CA_ELEMENTSOF(schemes); k++) {
                if (strcmp(details, schemes[k].name) == 0)
                        l->scheme = schemes[k].scheme;
        }
        if (!l->scheme)
                return bad(err, section, i, "publicKey.keyDetails is not a known scheme");
        r = parse_window(ca_json_member(pk, "validFor"), &l->valid, err, section, i);
        if (r < 0)
                return r;
        r = b64_ca_json_member(ca_json_member(ca_json_member(v, "logId"), "keyId"), &l->log_id, err,
                      section, i, "logId.keyId");
        if (r < 0)
                return r;
        if (cp)
                return b64_ca_json_member(cp, &l->checkpoint_key_id, err, section, i,
                                 "checkpointKeyId.keyId");
        return 0;
}

static int parse_authority(const json_t *v, struct sigroot_authority *a, struct ca_error *err,
                           const char *section, size_t i)
{
        const json_t *certs = ca_json_member(ca_json_member(v, "certChain"), "certificates");
        size_t n;
        int r;

        if (!json_is_object(v))
                return bad(err, section, i, "is not an object");
        if (copy_str(ca_json_member(v, "uri"), a->uri, sizeof(a->uri)) < 0)
                return bad(err, section, i, "uri is too long");
        if (!json_is_array(certs) || json_array_size(certs) == 0 ||
            json_array_size(certs) > 16)
                return bad(err, section, i, "certChain.certificates is not a list of 1-16");
        n = json_array_size(certs);
        a->certs = calloc(n, sizeof(*a->certs));
        if (!a->certs)
                return ca_error_setx(err, ENOMEM, "out of memory");
        for (size_t k = 0; k < n; k++) {
                r = b64_ca_json_member(ca_json_member(json_array_get(certs, k), "rawBytes"), &a->certs[k],
                              err, section, i, "a certificate");
                if (r < 0)
                        return r;
                a->ncerts = k + 1;
        }
        return parse_window(ca_json_member(v, "validFor"), &a->valid, err, section, i);
}

typedef int parse_item_fn(const json_t *v, void *item, struct ca_error *err,
                          const char *section, size_t i);

static int log_item(const json_t *v, void *item, struct ca_error *err, const char *section,
                    size_t i)
{
        return parse_log(v, item, err, section, i);
}

static int authority_item(const json_t *v, void *item, struct ca_error *err,
                          const char *section, size_t i)
{
        return parse_authority(v, item, err, section, i);
}

/* A section: a list (absent is empty) of logs or authorities, `size` bytes each. */
static int parse_section(const json_t *doc, const char *section, size_t size,
                         parse_item_fn *parse, void **out, size_t *n, struct ca_error *err)
{
        const json_t *list = ca_json_member(doc, section);
        char *items;

        if (!list)
                return 0;
        if (!json_is_array(list) || json_array_size(list) > LIST_MAX)
                return ca_error_input(err, "trusted root: %s is not a list of 0-64", section);
        items = calloc(json_array_size(list) + 1, size);
        if (!items)
                return ca_error_setx(err, ENOMEM, "out of memory");
        *out = items;
        for (size_t i = 0; i < json_array_size(list); i++) {
                int r;

                *n = i + 1;
                r = parse(json_array_get(list, i), items + i * size, err, section, i);
                if (r < 0)
                        return r;
        }
        return 0;
}

int sigroot_parse(const char *json, size_t len, struct sigroot *out, struct ca_error *err)
{
        _cleanup_json_ json_t *doc = NULL;
        const char *mt;
        int r;

        memset(out, 0, sizeof(*out));
        if (len > SIGROOT_MAX)
                return ca_error_input(err, "trusted root: larger than %zu bytes", SIGROOT_MAX);
        r = ca_json_parse(json, len, "trusted root", &doc, err);
        if (r < 0)
                return r;
        mt = json_string_value(ca_json_member(doc, "mediaType"));
        if (!json_is_object(doc) || !mt || strcmp(mt, MEDIA_TYPE) != 0)
                return ca_error_input(err, "trusted root: mediaType is not '%s'", MEDIA_TYPE);
        r = parse_section(doc, "tlogs", sizeof(*out->tlogs), log_item, (void **) &out->tlogs,
                          &out->ntlogs, err);
        if (r == 0)
                r = parse_section(doc, "ctlogs", sizeof(*out->ctlogs), log_item,
                                  (void **) &out->ctlogs, &out->nctlogs, err);
        if (r == 0)
                r = parse_section(doc, "certificateAuthorities", sizeof(*out->cas),
                                  authority_item, (void **) &out->cas, &out->ncas, err);
        if (r == 0)
                r = parse_section(doc, "timestampAuthorities", sizeof(*out->tsas),
                                  authority_item, (void **) &out->tsas, &out->ntsas, err);
        if (r < 0)
                sigroot_clear(out);
        return r;
}

static void authorities_clear(struct sigroot_authority *a, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                for (size_t k = 0; k < a[i].ncerts; k++)
                        sig_bytes_clear(&a[i].certs[k]);
                free(a[i].certs);
        }
        free(a);
}

static void logs_clear(struct sigroot_log *l, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                sig_bytes_clear(&l[i].key);
                sig_bytes_clear(&l[i].log_id);
                sig_bytes_clear(&l[i].checkpoint_key_id);
        }
        free(l);
}

void sigroot_clear(struct sigroot *r)
{
        logs_clear(r->tlogs, r->ntlogs);
        logs_clear(r->ctlogs, r->nctlogs);
        authorities_clear(r->cas, r->ncas);
        authorities_clear(r->tsas, r->ntsas);
        memset(r, 0, sizeof(*r));
}
