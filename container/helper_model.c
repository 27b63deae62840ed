/* SPDX-License-Identifier: MIT */
/* mcp-helper's model mode (helper_model.h). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "broker_client.h"
#include "buf.h"
#include "clock.h"
#include "error.h"
#include "helper_model.h"
#include "httpc.h"
#include "secret.h"
#include "url.h"

/* Refresh this long before the login expires. */
#define REFRESH_MARGIN_MS 120000
/* A token endpoint's answer is small (one byte under SECRET_MAX_LEN: it is read into a secret
 * one byte larger, and a full one is too big). */
#define TOKEN_ANSWER_MAX (((size_t) 64 << 10) - 1)
/* The whole exchange with the token endpoint. */
#define TOKEN_TIMEOUT_MS 60000

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

/* The token endpoint's answer (it holds the new tokens): read straight into guarded memory,
 * never through a buffer that grows (a moved buffer leaves its old copy behind in the heap). */
struct answer {
        struct ca_secret *s; /* TOKEN_ANSWER_MAX + 1 bytes: one more means too big */
        size_t len;
        bool too_big;
};

/* The answer's body, within the deadline: 0, or -errno (-EMSGSIZE past TOKEN_ANSWER_MAX). */
static int read_answer(struct httpc_xfer *x, struct answer *a, int64_t deadline)
{
        a->s = secret_new(TOKEN_ANSWER_MAX + 1);
        if (!a->s)
                return -ENOMEM;
        for (;;) {
                ssize_t n = httpc_read(x, (char *) a->s->buf + a->len, a->s->len - a->len,
                                       clock_left_ms(deadline, INT_MAX));

                if (n == 0)
                        return 0;
                if (n < 0)
                        return (int) n;
                a->len += (size_t) n;
                if (a->len > TOKEN_ANSWER_MAX) {
                        a->too_big = true;
                        return -EMSGSIZE;
                }
        }
}

/* POSTs the grant to the token endpoint, through the helper's own way upstream; the answer in
 * `a`, the status in *status. */
static int post_grant(const struct model_state *m, const struct httpc_options *up,
                      const struct ca_secret *body, struct answer *a, long *status,
                      struct ca_error *err)
{
        static const char ctype[] = "Content-Type: application/json";
        static const char accept[] = "Accept: application/json";
        const struct iovec hdrs[] = {{(void *) ctype, sizeof(ctype) - 1},
                                     {(void *) accept, sizeof(accept) - 1}};
        int64_t deadline = clock_monotonic_ms() + TOKEN_TIMEOUT_MS;
        _cleanup_buf_ struct buf target = BUF_INIT;
        struct httpc c;
        struct httpc_xfer x = {0};
        struct url u;
        int r;

        if (url_parse(m->token_url, &u, NULL) < 0 ||
            buf_printf(&target, "%.*s%s%.*s", (int) (u.path_len ? u.path_len : 1),
                       u.path_len ? u.path : "/", u.query ? "?" : "", (int) u.query_len,
                       u.query ? u.query : "") < 0)
                return ca_error_setx(err, EINVAL, "bad token URL");
        r = httpc_init(&c, m->token_url, up, err);
        if (r == 0)
                r = httpc_send(&c, &x, "POST", target.data, hdrs, CA_ELEMENTSOF(hdrs), body->buf,
                               body->len);
        while (r == 0)
                r = clock_left_ms(deadline, INT_MAX) ? httpc_head(&x, clock_left_ms(deadline, INT_MAX))
                                                     : -ETIMEDOUT;
        if (r == 1) {
                *status = x.status;
                r = read_answer(&x, a, deadline);
        }
        if (r == -EAGAIN)
                r = -ETIMEDOUT;
        if (r < 0 && x.pin_mismatch)
                (void) ca_error_setx(err, EPERM, "pin-mismatch");
        else if (r < 0 && !err->msg[0])
                (void) ca_error_setx(err, EIO, "%s", a->too_big ? "answer-too-large"
                                                    : r == -ETIMEDOUT ? "timed out"
                                                    : x.error[0] ? x.error : "no answer");
        httpc_end(&x);
        httpc_clear(&c);
        return r < 0 ? (x.pin_mismatch ? -EPERM : -EIO) : 0;
}

/* Under the lock: the grant, its answer applied, the new header, the write-back. */
static int refresh_locked(struct model_state *m, const struct httpc_options *up,
                          json_t *fields, struct ca_error *err)
{
        _cleanup_secret_ struct ca_secret *body = NULL;
        _cleanup_secret_ struct ca_secret *doc = NULL;
        struct ca_secret *header = NULL;
        struct answer a = {NULL, 0, false};
        long status = 0;
        int r;

        r = modelcred_refresh_body(&m->cred, &body, err);
        if (r >= 0)
                r = post_grant(m, up, body, &a, &status, err);
        (void) json_object_set_new(fields, "status", json_integer(status));
        if (r >= 0 && status != 200)
                r = ca_error_setx(err, EACCES, "the token endpoint answered %ld", status);
        if (r >= 0)
                r = modelcred_refresh_apply(&m->cred, a.s ? (const char *) a.s->buf : "", a.len,
                                            clock_realtime_ms(), err);
        a.s = secret_free(a.s);
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

int model_refresh(struct model_state *m, const struct httpc_options *up, uint64_t generation,
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
