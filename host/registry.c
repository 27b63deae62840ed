/* SPDX-License-Identifier: MIT */
#include "registry.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <sodium.h>

#include "cleanup.h"

struct registry {
        CURL *curl;
        struct oci_ref ref;
        char *ca_file;
        char *token; /* the bearer token, once a challenge was answered */
};

struct get {
        struct buf *out;
        size_t max;
        bool too_big;
        struct buf challenge; /* the WWW-Authenticate header of the last answer */
};

static size_t on_write(char *data, size_t size, size_t n, void *userdata)
{
        struct get *g = userdata;
        size_t len = size * n;

        if (g->out->len + len > g->max) {
                g->too_big = true;
                return 0;
        }
        return buf_append(g->out, data, len) < 0 ? 0 : len;
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
        struct get *g = userdata;
        size_t len = size * n;

        /* A new answer (after a redirect) starts with its status line. */
        if (len > 5 && strncmp(data, "HTTP/", 5) == 0)
                buf_reset(&g->challenge);
        if (len > 17 && strncasecmp(data, "WWW-Authenticate:", 17) == 0 && len < 4096) {
                buf_reset(&g->challenge);
                if (buf_append(&g->challenge, data + 17, len - 17) < 0)
                        return 0;
                while (g->challenge.len &&
                       (g->challenge.data[g->challenge.len - 1] == '\n' ||
                        g->challenge.data[g->challenge.len - 1] == '\r'))
                        g->challenge.len--;
        }
        return len;
}

int registry_open(const struct oci_ref *ref, const char *ca_file, struct registry **ret,
                  struct ca_error *err)
{
        struct registry *r = calloc(1, sizeof(*r));

        *ret = NULL;
        if (!r)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r->ref = *ref;
        r->curl = curl_easy_init();
        if (ca_file)
                r->ca_file = strdup(ca_file);
        if (!r->curl || (ca_file && !r->ca_file)) {
                registry_close(r);
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        *ret = r;
        return 0;
}

void registry_close(struct registry *r)
{
        if (!r)
                return;
        if (r->curl)
                curl_easy_cleanup(r->curl);
        free(r->ca_file);
        if (r->token) {
                sodium_memzero(r->token, strlen(r->token));
                free(r->token);
        }
        free(r);
}

/* GET `url` into `out` (at most `max` bytes); the status in *status. Transport errors fail. */
static int get(struct registry *r, const char *url, const char *accept, bool auth, size_t max,
               struct buf *out, struct buf *challenge, long *status, struct ca_error *err)
{
        struct get g = {.out = out, .max = max, .challenge = BUF_INIT};
        struct curl_slist *hdrs = NULL;
        char ua[64], acc[512];
        CURLcode cc;
        CURL *c = r->curl;

        buf_reset(out);
        curl_easy_reset(c);
        (void) snprintf(ua, sizeof(ua), "coding-agents/%s", CA_VERSION);
        (void) curl_easy_setopt(c, CURLOPT_URL, url);
        (void) curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
        (void) curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
        (void) curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        (void) curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
        (void) curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        (void) curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
        /* A stalled registry (under 1 KB/s for 60 s), or one that trickles: at most 5 minutes
         * for anything read here (a manifest, a signature, a token). */
        (void) curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        (void) curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
        (void) curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
        (void) curl_easy_setopt(c, CURLOPT_USERAGENT, ua);
        (void) curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
        (void) curl_easy_setopt(c, CURLOPT_WRITEDATA, &g);
        (void) curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        (void) curl_easy_setopt(c, CURLOPT_HEADERDATA, &g);
        (void) curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) max);
        if (r->ca_file)
                (void) curl_easy_setopt(c, CURLOPT_CAINFO, r->ca_file);
        if (auth && r->token) {
                /* libcurl sends it to this host only, not after a redirect elsewhere. */
                (void) curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long) CURLAUTH_BEARER);
                (void) curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, r->token);
        }
        if (accept) {
                (void) snprintf(acc, sizeof(acc), "Accept: %s", accept);
                hdrs = curl_slist_append(NULL, acc);
                if (!hdrs)
                        return ca_error_setx(err, ENOMEM, "out of memory");
                (void) curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        }
        cc = curl_easy_perform(c);
        curl_slist_free_all(hdrs);
        (void) curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, NULL);
        (void) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        if (challenge) {
                buf_reset(challenge);
                if (g.challenge.len && buf_append(challenge, g.challenge.data, g.challenge.len) < 0)
                        cc = CURLE_OUT_OF_MEMORY;
        }
        buf_clear(&g.challenge);
        if (g.too_big || cc == CURLE_FILESIZE_EXCEEDED)
                return ca_error_setx(err, EMSGSIZE, "%s: larger than %zu bytes", url, max);
        if (cc != CURLE_OK)
                return ca_error_setx(err, cc == CURLE_COULDNT_CONNECT ? ECONNREFUSED : EIO,
                                     "%s: %s", url, curl_easy_strerror(cc));
        return 0;
}

/* Percent-encodes `s` for a query string into `out`. */
static int query_value(struct registry *r, struct buf *out, const char *name, const char *s)
{
        char *e = curl_easy_escape(r->curl, s, 0);
        int rc;

        if (!e)
                return -ENOMEM;
        rc = buf_printf(out, "%s%s=%s", strchr(out->data, '?') ? "&" : "?", name, e);
        curl_free(e);
        return rc;
}

/* Answers the registry's Bearer challenge: a token from its realm, anonymously. */
static int authenticate(struct registry *r, const struct buf *header, struct ca_error *err)
{
        _cleanup_buf_ struct buf url = BUF_INIT, answer = BUF_INIT, scope = BUF_INIT;
        struct oci_challenge ch;
        long status = 0;
        int rc;

        if (!header->len || oci_challenge_parse(header->data, header->len, &ch) < 0)
                return ca_error_setx(err, EACCES, "registry %s asks for credentials this "
                                                  "client does not have (only anonymous "
                                                  "pulls, by an https bearer-token realm)",
                                     r->ref.host);
        if (buf_printf(&scope, "repository:%s:pull", r->ref.repo) < 0 ||
            buf_printf(&url, "%s", ch.realm) < 0 ||
            (ch.service[0] && query_value(r, &url, "service", ch.service) < 0) ||
            query_value(r, &url, "scope", ch.scope[0] ? ch.scope : scope.data) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        rc = get(r, url.data, NULL, false, 64 << 10, &answer, NULL, &status, err);
        if (rc < 0)
                return rc;
        if (status != 200)
                return ca_error_setx(err, EACCES, "registry %s: its token endpoint refused an "
                                                  "anonymous pull of %s (HTTP %ld): is the "
                                                  "image public?",
                                     r->ref.host, r->ref.repo, status);
        if (oci_token_parse(answer.data ? answer.data : "", answer.len, &r->token) < 0)
                return ca_error_setx(err, EPROTO, "registry %s: its token endpoint gave no "
                                                  "token",
                                     r->ref.host);
        return 0;
}

/* GET /v2/<repo>/<what>/<reference>, answering one challenge. 0 with *status. */
static int fetch(struct registry *r, const char *what, const char *reference, const char *accept,
                 size_t max, struct buf *out, long *status, struct ca_error *err)
{
        _cleanup_buf_ struct buf url = BUF_INIT, challenge = BUF_INIT;
        int rc;

        if (buf_printf(&url, "https://%s/v2/%s/%s/%s", r->ref.host, r->ref.repo, what,
                       reference) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        rc = get(r, url.data, accept, true, max, out, &challenge, status, err);
        if (rc == 0 && *status == 401 && !r->token) {
                rc = authenticate(r, &challenge, err);
                if (rc == 0)
                        rc = get(r, url.data, accept, true, max, out, NULL, status, err);
        }
        if (rc < 0)
                return rc;
        if (*status == 401 || *status == 403)
                return ca_error_setx(err, EACCES, "registry %s refused %s/%s (HTTP %ld)",
                                     r->ref.host, r->ref.repo, reference, *status);
        if (*status == 404)
                return -ENOENT;
        if (*status != 200)
                return ca_error_setx(err, EIO, "registry %s: %s/%s %s: HTTP %ld", r->ref.host,
                                     r->ref.repo, what, reference, *status);
        return 0;
}

int registry_manifest(struct registry *r, const char *reference, struct buf *out,
                      struct ca_error *err)
{
        long status = 0;

        return fetch(r, "manifests", reference, OCI_ACCEPT, OCI_MANIFEST_MAX, out, &status, err);
}

int registry_blob(struct registry *r, const char *digest, size_t max, struct buf *out,
                  struct ca_error *err)
{
        char got[OCI_DIGEST_LEN + 1];
        long status = 0;
        int rc = fetch(r, "blobs", digest, NULL, max, out, &status, err);

        if (rc == -ENOENT)
                return ca_error_setx(err, ENOENT, "registry %s has no blob %s in %s", r->ref.host,
                                     digest, r->ref.repo);
        if (rc < 0)
                return rc;
        if (oci_digest(out->data ? out->data : "", out->len, got) < 0)
                return ca_error_setx(err, EIO, "SHA-256 failed");
        if (strcmp(got, digest) != 0)
                return ca_error_setx(err, EBADMSG, "registry %s served blob %s with the content "
                                                   "of %s",
                                     r->ref.host, digest, got);
        return 0;
}
