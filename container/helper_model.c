/* SPDX-License-Identifier: MIT */
/* mcp-helper's model mode (helper_model.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <sodium.h>

#include "broker_client.h"
#include "buf.h"
#include "clock.h"
#include "error.h"
#include "helper_model.h"
#include "secret.h"

/* Refresh this long before the login expires. */
#define REFRESH_MARGIN_MS 120000
/* A token endpoint's answer is small. */
#define TOKEN_ANSWER_MAX ((size_t) 64 << 10)

int model_vendor(const char *name)
{
        return modelcred_vendor_from_name(name);
}

int model_init(struct model_state *m, enum modelcred_vendor vendor, const char *token_url,
               const char *secret, const struct ca_secret *value,
               const struct broker_credential *bc, const char *broker_socket,
               struct ca_error *err)
{
        int r;

        (void) pthread_mutex_init(&m->lock, NULL);
        r = modelcred_parse(secret, value->buf, value->len, &m->cred, err);
        if (r < 0)
                return r;
        if (m->cred.vendor != vendor)
                return ca_error_input(err, "the login in '%s' is for %s, not %s", secret,
                                      modelcred_vendor_name(m->cred.vendor),
                                      modelcred_vendor_name(vendor));
        if (m->cred.oauth && !token_url)
                token_url = modelcred_default_token_url(vendor);
        (void) snprintf(m->token_url, sizeof(m->token_url), "%s",
                        m->cred.oauth && token_url ? token_url : "");
        (void) snprintf(m->secret, sizeof(m->secret), "%s", secret);
        m->vendor = vendor;
        m->bc = *bc;
        m->broker_socket = broker_socket ? broker_socket : m->bc.socket;
        return modelcred_auth_header(&m->cred, &m->header, err);
}

char *model_header(struct model_state *m, uint64_t *generation)
{
        char *copy;

        (void) pthread_mutex_lock(&m->lock);
        copy = strndup((const char *) m->header->buf, m->header->len);
        *generation = m->generation;
        (void) pthread_mutex_unlock(&m->lock);
        return copy;
}

void model_free_header(char *h)
{
        if (h) {
                sodium_memzero(h, strlen(h));
                free(h);
        }
}

bool model_needs_refresh(struct model_state *m)
{
        bool due;

        (void) pthread_mutex_lock(&m->lock);
        due = m->token_url[0] &&
              modelcred_expiring(&m->cred, clock_realtime_ms(), REFRESH_MARGIN_MS);
        (void) pthread_mutex_unlock(&m->lock);
        return due;
}

struct answer {
        struct buf b;
        bool too_big;
};

static size_t collect(char *data, size_t size, size_t n, void *userdata)
{
        struct answer *a = userdata;

        if (a->b.len + size * n > TOKEN_ANSWER_MAX) {
                a->too_big = true;
                return 0;
        }
        return buf_append(&a->b, data, size * n) < 0 ? 0 : size * n;
}

/* POSTs the grant to the token endpoint; the answer in `a`, the status in *status. */
static int post_grant(const struct model_state *m, const struct model_upstream *up,
                      const struct ca_secret *body, struct answer *a, long *status,
                      struct ca_error *err)
{
        CURL *e = curl_easy_init();
        struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
        CURLcode rc;

        if (!e || !hdrs) {
                curl_easy_cleanup(e);
                curl_slist_free_all(hdrs);
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        (void) curl_easy_setopt(e, CURLOPT_URL, m->token_url);
        (void) curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
        (void) curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
        (void) curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        (void) curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
        (void) curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
        if (up->ca_file)
                (void) curl_easy_setopt(e, CURLOPT_CAINFO, up->ca_file);
        if (up->curl_pins && up->curl_pins[0])
                (void) curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, up->curl_pins);
        (void) curl_easy_setopt(e, CURLOPT_PROXY, up->proxy ? up->proxy : "");
        if (up->proxy && up->proxy_login) {
                (void) curl_easy_setopt(e, CURLOPT_PROXYAUTH, (long) CURLAUTH_BASIC);
                (void) curl_easy_setopt(e, CURLOPT_PROXYUSERPWD, up->proxy_login);
        }
        (void) curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 15L);
        (void) curl_easy_setopt(e, CURLOPT_TIMEOUT, 60L);
        (void) curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
        (void) curl_easy_setopt(e, CURLOPT_POSTFIELDS, (const char *) body->buf);
        (void) curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) body->len);
        (void) curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
        (void) curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
        rc = curl_easy_perform(e);
        (void) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
        curl_easy_cleanup(e);
        curl_slist_free_all(hdrs);
        if (rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH)
                return ca_error_setx(err, EPERM, "pin-mismatch");
        if (rc != CURLE_OK)
                return ca_error_setx(err, EIO, "%s", a->too_big ? "answer-too-large"
                                                                : curl_easy_strerror(rc));
        return 0;
}

/* Under the lock: the grant, its answer applied, the new header, the write-back. */
static int refresh_locked(struct model_state *m, const struct model_upstream *up,
                          json_t *fields, struct ca_error *err)
{
        _cleanup_secret_ struct ca_secret *body = NULL;
        _cleanup_secret_ struct ca_secret *doc = NULL;
        struct ca_secret *header = NULL;
        struct answer a = {BUF_INIT, false};
        long status = 0;
        int r;

        r = modelcred_refresh_body(&m->cred, &body, err);
        if (r >= 0)
                r = post_grant(m, up, body, &a, &status, err);
        (void) json_object_set_new(fields, "status", json_integer(status));
        if (r >= 0 && status != 200)
                r = ca_error_setx(err, EACCES, "the token endpoint answered %ld", status);
        if (r >= 0)
                r = modelcred_refresh_apply(&m->cred, a.b.data ? a.b.data : "", a.b.len,
                                            clock_realtime_ms(), err);
        sodium_memzero(a.b.data, a.b.cap);
        buf_clear(&a.b);
        if (r >= 0)
                r = modelcred_auth_header(&m->cred, &header, err);
        if (r < 0)
                return r;
        secret_free(m->header);
        m->header = header;
        m->generation++;
        /* The broker keeps the refreshed login (a restarted helper redeems it; the host writes
         * it to the user's login file at the end). A failure here leaves this session working. */
        if (m->cred.doc && modelcred_document(&m->cred, &doc, err) == 0) {
                r = broker_update(m->broker_socket, m->bc.capability, m->bc.key, m->secret, doc,
                                  err);
                (void) json_object_set_new(fields, "written_back", json_boolean(r >= 0));
                if (r < 0)
                        (void) json_object_set_new(fields, "write_back_error",
                                                   json_string(err->msg));
        }
        return 0;
}

int model_refresh(struct model_state *m, const struct model_upstream *up, uint64_t generation,
                  json_t *fields, struct ca_error *err)
{
        int r = 0;

        (void) pthread_mutex_lock(&m->lock);
        if (!m->token_url[0])
                r = ca_error_setx(err, ENOTSUP, "this login cannot be refreshed");
        else if (m->generation == generation)
                r = refresh_locked(m, up, fields, err);
        if (m->cred.expires_ms)
                (void) json_object_set_new(fields, "expires_ms",
                                           json_integer((json_int_t) m->cred.expires_ms));
        (void) pthread_mutex_unlock(&m->lock);
        atomic_fetch_add(r < 0 ? &m->refresh_failures : &m->refreshes, 1);
        return r;
}

void model_count(struct model_state *m, uint64_t up, long status, uint64_t down)
{
        unsigned cls = status >= 100 && status < 600 ? (unsigned) (status / 100) : 0;

        atomic_fetch_add(&m->requests, 1);
        atomic_fetch_add(&m->bytes_up, up);
        atomic_fetch_add(&m->bytes_down, down);
        atomic_fetch_add(&m->status[cls], 1);
}

json_t *model_usage(struct model_state *m)
{
        return json_pack("{s:s, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I}, s:I, s:I}", "vendor",
                         modelcred_vendor_name(m->vendor), "requests",
                         (json_int_t) atomic_load(&m->requests), "bytes_up",
                         (json_int_t) atomic_load(&m->bytes_up), "bytes_down",
                         (json_int_t) atomic_load(&m->bytes_down), "status", "2xx",
                         (json_int_t) atomic_load(&m->status[2]), "3xx",
                         (json_int_t) atomic_load(&m->status[3]), "4xx",
                         (json_int_t) atomic_load(&m->status[4]), "5xx",
                         (json_int_t) atomic_load(&m->status[5]), "failed",
                         (json_int_t) atomic_load(&m->status[0]), "refreshes",
                         (json_int_t) atomic_load(&m->refreshes), "refresh_failures",
                         (json_int_t) atomic_load(&m->refresh_failures));
}

static bool in_list(const char *name, const char *const *list)
{
        for (; *list; list++)
                if (strcasecmp(name, *list) == 0)
                        return true;
        return false;
}

static const char *const hop_by_hop[] = {"connection",        "keep-alive", "te",
                                         "trailer",           "transfer-encoding",
                                         "upgrade",           "proxy-authorization",
                                         "proxy-authenticate", "proxy-connection", NULL};

bool model_forward_request_header(const char *name)
{
        static const char *const dropped[] = {"host",   "authorization", "x-api-key",
                                              "cookie", "content-length", "expect",
                                              "forwarded", "x-forwarded-for", NULL};

        return !in_list(name, hop_by_hop) && !in_list(name, dropped);
}

bool model_forward_response_header(const char *name)
{
        static const char *const dropped[] = {"set-cookie", "content-length", "alt-svc", NULL};

        return !in_list(name, hop_by_hop) && !in_list(name, dropped);
}

void model_clear(struct model_state *m)
{
        (void) pthread_mutex_lock(&m->lock);
        modelcred_clear(&m->cred);
        m->header = secret_free(m->header);
        brokercred_clear(&m->bc);
        (void) pthread_mutex_unlock(&m->lock);
}
