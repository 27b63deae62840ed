/* SPDX-License-Identifier: MIT */
/*
 * mcp-helper: one per remote MCP server, under its own UID (ARCHITECTURE §8). Listens on
 * 127.0.0.1:<port> for the agent's MCP client (libmicrohttpd, a thread per connection) and
 * forwards each request to the one configured upstream origin over verified TLS (httpc.c:
 * HTTP/1.1 on OpenSSL, driven from the same thread, kept connections shared between threads).
 *
 *   - The local token (a file) must come as "Authorization: Bearer <token>"; it is removed and
 *     the upstream credential, redeemed once from the broker at start, is set instead. Neither
 *     is ever in argv, the environment or a log.
 *   - Only origin-form targets under the base path, GET/POST/DELETE, Host = this helper, no
 *     upgrades (container/lib/helper_http.c). Headers pass through an allow-list, both ways.
 *   - Streaming both ways with back-pressure: upstream bytes are paused while the client is
 *     slow; a client that goes away cancels the upstream transfer and vice versa. SSE responses
 *     are read event by event (container/lib/sse.c): per-event cap, idle timeout, and the legacy
 *     `endpoint` event rewritten to a path on this helper.
 *   - TLS verification cannot be turned off; SPKI pins are checked in the handshake, before any
 *     request byte or credential is sent: a mismatch is a 502 and a pin-mismatch event.
 *   - Limits: request bodies over --max-request (413, refused from Content-Length before the
 *     body is read), responses over --max-response (cut; SSE gets an error event).
 *   - GET /healthz needs no token and says nothing secret. SIGTERM: stop accepting, let streams
 *     finish for --grace seconds, then end them, zero the secrets, exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "audit.h"
#include "broker_client.h"
#include "brokercred.h"
#include "buf.h"
#include "capability.h"
#include "cleanup.h"
#include "clock.h"
#include "names.h"
#include "digest.h"
#include "error.h"
#include "eventagg.h"
#include "helper_http.h"
#include "helper_model.h"
#include "httpc.h"
#include "json.h"
#include "log.h"
#include "parse.h"
#include "secret.h"
#include "sockdiag.h"
#include "sse.h"
#include "textsafe.h"
#include "url.h"

#define MAX_PINS 16
#define MAX_ALLOW 32
#define OUT_HIGH_WATER ((size_t) 1 << 20)
#define MAX_RESP_HEADERS 48

static const char usage[] =
        "usage: mcp-helper --upstream URL --listen 127.0.0.1:PORT|unix:PATH --credential FILE\n"
        "                  --token-file FILE [--name NAME] [--base-path /PATH/]\n"
        "                  [--ca-file FILE.pem] [--pin sha256//<base64>]...\n"
        "                  [--allow-method M]... [--allow-path /PREFIX]...\n"
        "                  [--max-request BYTES] [--max-response BYTES] [--sse-event-max BYTES]\n"
        "                  [--idle-timeout SECONDS] [--grace SECONDS]\n"
        "                  [--events FILE | --events-fd FD] [--session ID] [--proxy URL]\n"
        "                  [--peer-uid UID] [--max-connections N] [--max-connections-per-uid N]\n"
        "                  [--connection-timeout SECONDS]\n"
        "                  [--model anthropic|openai|chatgpt|copilot [--token-url URL]]\n"
        "                  [--proxy-auth-file FILE]\n"
        "\n"
        "A localhost proxy for one remote MCP server (Streamable HTTP and legacy SSE). The\n"
        "credential file is a broker credential (capability, key, socket): the upstream token\n"
        "is redeemed from the broker once, at start. The token file holds the local token the\n"
        "agent must send as 'Authorization: Bearer <token>'. TLS verification is always on:\n"
        "--ca-file replaces the system store, --pin adds SPKI pins (several for rotation).\n"
        "--listen 127.0.0.1:0 picks a free port (printed on start); unix:PATH listens on a\n"
        "Unix-domain socket, mode 0660 (no Host check there: browsers cannot reach it).\n"
        "Defaults: base path = the upstream path's directory, --max-request 10485760,\n"
        "--max-response 104857600, --sse-event-max 1048576, --idle-timeout 300, --grace 5.\n"
        "--proxy http://HOST:PORT reaches the upstream through that HTTP proxy (a CONNECT\n"
        "tunnel: TLS, verification and pins stay end to end). --events-fd writes each event as\n"
        "one JSON line {type, fields} to FD instead of appending to a log (agent-init records\n"
        "them). A credential that redeems no secret sends no Authorization upstream.\n"
        "Connections: at most 48 (--max-connections), 16 per peer UID (--max-connections-\n"
        "per-uid, the owner of the connecting socket), closed after 30 s without a request\n"
        "(--connection-timeout); with --peer-uid (repeatable) only those UIDs are served.\n"
        "Denials and limits are events, the first per reason and minute, then a count.\n"
        "--model VENDOR fronts the vendor's model API for the agent CLI instead of an MCP\n"
        "server: the credential redeems the CLI's login, the local token is accepted as Bearer\n"
        "or x-api-key, the login goes upstream in its place, an OAuth login is refreshed here\n"
        "(through --token-url, default the vendor's) and written back to the broker, and a\n"
        "model-usage event counts what passed.\n"
        "--proxy-auth-file FILE: the password the helpers log in to the proxy with (as\n"
        "'helper'); the session's model vendor is reachable only that way.\n";

struct helper {
        const char *name;
        char origin[320];
        char base[512];
        char upstream_path[1024];
        uint16_t port;
        const char *unix_path; /* --listen unix:PATH */
        const char *ca_file;
        const char *pins[MAX_PINS];
        uint8_t pin_hash[MAX_PINS][32];
        size_t npins;
        const char *allow_methods[MAX_ALLOW];
        size_t nmethods;
        const char *allow_paths[MAX_ALLOW];
        size_t npaths;
        uint64_t max_request, max_response, sse_event_max;
        uint64_t idle_timeout_s, grace_s;
        const char *events_log;
        int events_fd; /* -1: none */
        const char *proxy;
        const char *session;
        /* model mode (--model): the login, its refresh, the usage */
        struct model_state *model;
        int model_vendor;
        const char *token_url;
        /* secrets */
        struct ca_secret *auth_header; /* "Authorization: Bearer <credential>" */
        struct ca_secret *proxy_login; /* "helper:<password>" for the sidecar, or NULL */
        struct ca_secret *token;
        /* shared state */
        struct httpc up; /* the upstream's connections */
        atomic_int active;
        atomic_bool draining;
        atomic_llong drain_deadline_ms;
        atomic_int health; /* 0 unknown, 1 upstream answering, 2 failing */
        atomic_ullong served;
        int done_fd; /* eventfd: a request finished */
        /* connections (issue 17): who may hold how many */
        pthread_mutex_t conn_lock;
        struct {
                uid_t uid;
                unsigned n;
        } per_uid[64];
        unsigned max_conns, max_conns_per_uid, conn_timeout_s, conns;
        uid_t peer_uids[4]; /* --peer-uid: the only UIDs served (the agent CLI's, agent-init's) */
        size_t npeer_uids;
        /* denials and limits any UID can cause, aggregated (eventagg.h) */
        pthread_mutex_t agg_lock;
        struct eventagg agg;
};

/* ---- events ---- */

static void event(struct helper *h, enum audit_type type, json_t *fields)
{
        struct ca_error err = {0};

        if (!fields)
                return;
        (void) json_object_set_new(fields, "helper", json_string(h->name));
        if (h->events_fd >= 0) {
                /* One line per write(): atomic on a pipe below PIPE_BUF, and the reader
                 * refuses anything longer. */
                _cleanup_json_ json_t *line = json_pack("{s:s, s:O}", "type",
                                                        audit_type_name(type), "fields", fields);
                char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;

                if (text) {
                        size_t n = strlen(text);

                        text[n] = '\n';
                        if (n + 1 > PIPE_BUF || write(h->events_fd, text, n + 1) != (ssize_t) (n + 1))
                                log_warn("cannot pass an event on, ignoring");
                        text[n] = '\0';
                        free(text);
                }
        } else if (h->events_log && audit_emit(h->events_log, type, h->session, fields, &err) < 0) {
                log_warn("cannot record an event: %s, ignoring", err.msg);
        }
        json_decref(fields);
}

#define AGG_INTERVAL_S 60
#define AGG_BURST 4

/* The count of a key's events not recorded (eventagg.h), as one event of its own. */
static void agg_summary(const char *key, uint64_t suppressed, void *userdata)
{
        const char *slash = strchr(key, '/');
        char name[64];
        int type = -1;

        struct helper *h = userdata;

        if (slash && (size_t) (slash - key) < sizeof(name)) {
                (void) snprintf(name, sizeof(name), "%.*s", (int) (slash - key), key);
                type = audit_type_from_name(name);
        }
        if (type >= 0)
                event(h, (enum audit_type) type,
                      json_pack("{s:s, s:I, s:i, s:b}", type == AUDIT_HELPER_LIMIT ? "limit" : "reason",
                                slash + 1, "suppressed", (json_int_t) suppressed, "interval_s",
                                AGG_INTERVAL_S, "summary", 1));
}

/*
 * Events a UID inside can cause at will (denials, limits): the first per reason and minute is
 * recorded, the rest counted and carried by the next one ("suppressed"), so that no one can
 * fill the host's disk through the event log. Takes `fields`.
 */
static void event_repeated(struct helper *h, enum audit_type type, const char *reason,
                           json_t *fields)
{
        char key[EVENTAGG_KEY_MAX];
        uint64_t suppressed = 0;
        bool record;

        (void) snprintf(key, sizeof(key), "%s/%s", audit_type_name(type), reason);
        (void) pthread_mutex_lock(&h->agg_lock);
        record = eventagg_admit(&h->agg, key, (uint64_t) clock_monotonic_ms(), &suppressed);
        (void) pthread_mutex_unlock(&h->agg_lock);
        if (!record) {
                json_decref(fields);
                return;
        }
        if (fields && suppressed) {
                (void) json_object_set_new(fields, "suppressed", json_integer((json_int_t) suppressed));
                (void) json_object_set_new(fields, "interval_s", json_integer(AGG_INTERVAL_S));
        }
        event(h, type, fields);
}

static void set_health(struct helper *h, int state, const char *detail)
{
        int old = atomic_exchange(&h->health, state);

        if (old != state)
                event(h, AUDIT_HELPER_HEALTH,
                      json_pack("{s:s, s:s}", "upstream", state == 1 ? "ok" : "failing",
                                "detail", detail));
}

/* ---- per request ---- */

struct resp_header {
        char *name, *value;
};

struct req {
        struct helper *h;
        /* upstream */
        struct httpc_xfer x;
        bool started; /* x holds a transfer */
        char *target; /* path and query */
        long status;
        size_t nrh;
        /* towards the client */
        size_t out_off;
        uint64_t sent;
        int64_t last_data_ms;
        struct buf body;
        struct buf out;
        struct sse_parser parser;
        struct resp_header rh[MAX_RESP_HEADERS];
        int result; /* 0, or the transfer's -errno (its reason in x.error) */
        bool too_big;
        bool headers_done;
        bool upstream_done;
        bool sse;
        bool rewrite_endpoint;
        bool finished; /* nothing more will be added to out */
        bool failed;   /* end the client stream with an error */
        bool counted;
        bool retried;        /* model mode: once, after a refresh on 401 */
        uint64_t generation; /* model mode: of the credential this request carries */
        int refs; /* the connection, and the response once there is one */
};

/* The upstream transfer ends: its connection is kept when the answer was read to its end. */
static void req_free_upstream(struct req *r)
{
        if (r->started)
                httpc_end(&r->x);
        r->started = false;
}

static void req_unref(struct req *r)
{
        if (!r || --r->refs > 0)
                return;
        req_free_upstream(r);
        free(r->target);
        for (size_t i = 0; i < r->nrh; i++) {
                free(r->rh[i].name);
                free(r->rh[i].value);
        }
        if (r->counted && r->h->model)
                model_count(r->h->model, r->body.len, r->headers_done ? r->status : 0, r->sent);
        sodium_memzero(r->body.data, r->body.cap);
        buf_clear(&r->body);
        buf_clear(&r->out);
        sse_clear(&r->parser);
        if (r->counted) {
                struct helper *h = r->h;
                uint64_t one = 1;

                atomic_fetch_sub(&h->active, 1);
                (void) !write(h->done_fd, &one, sizeof(one));
        }
        free(r);
}

/* ---- simple responses ---- */

static enum MHD_Result respond_text(struct MHD_Connection *c, unsigned status, const char *ctype,
                                    const char *body)
{
        struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), (void *) body,
                                                                    MHD_RESPMEM_MUST_COPY);
        enum MHD_Result ret;

        if (!resp)
                return MHD_NO;
        (void) MHD_add_response_header(resp, "Content-Type", ctype);
        (void) MHD_add_response_header(resp, "Cache-Control", "no-store");
        if (status == 401)
                (void) MHD_add_response_header(resp, "WWW-Authenticate",
                                               "Bearer realm=\"mcp-helper\"");
        ret = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status, const char *why)
{
        char body[512];

        (void) snprintf(body, sizeof(body), "{\"error\":\"mcp-helper: %s\"}\n", why);
        return respond_text(c, status, "application/json", body);
}

static void denied(struct helper *h, const char *reason, const char *method, const char *url)
{
        char path[256];
        char how[32];
        json_t *fields = json_pack("{s:s}", "reason", reason);

        /* Only the path's start: enough to see what was tried, bounded, and escaped (an
         * upstream's endpoint may hold anything). */
        if (fields && method)
                (void) json_object_set_new(fields, "method",
                                           json_string(text_escape_to(method, 0, how, sizeof(how))));
        if (fields && url)
                (void) json_object_set_new(fields, "path",
                                           json_string(text_escape_to(url, 0, path, sizeof(path))));
        event_repeated(h, AUDIT_HELPER_DENIED, reason, fields);
}

/* ---- upstream callbacks ---- */

/* The answer's head: the fields that may pass to the client, and whether it is a stream. */
static void take_response_headers(struct req *r)
{
        struct httphead_field f;
        size_t pos = 0;

        r->status = r->x.status;
        r->headers_done = true;
        while (r->nrh < MAX_RESP_HEADERS && httpc_field(&r->x, &pos, &f) > 0) {
                char name[64];

                if (f.name_len >= sizeof(name))
                        continue;
                memcpy(name, f.name, f.name_len);
                name[f.name_len] = '\0';
                if (r->h->model ? !model_forward_response_header(name)
                                : !helper_forward_response_header(name))
                        continue;
                if (httphead_is(&f, "content-type") && f.value_len >= 17 &&
                    strncasecmp(f.value, "text/event-stream", 17) == 0)
                        r->sse = true;
                r->rh[r->nrh].name = strdup(name);
                r->rh[r->nrh].value = strndup(f.value, f.value_len);
                if (r->rh[r->nrh].name && r->rh[r->nrh].value) {
                        r->nrh++;
                } else {
                        free(r->rh[r->nrh].name);
                        free(r->rh[r->nrh].value);
                }
        }
}

static void limit_event(struct helper *h, const char *limit, uint64_t max)
{
        event_repeated(h, AUDIT_HELPER_LIMIT, limit,
                       json_pack("{s:s, s:I}", "limit", limit, "max", (json_int_t) max));
}

static void sse_error(struct req *r, const char *msg)
{
        /* Out of memory here only loses the explanation; the stream still ends. */
        if (buf_printf(&r->out, "event: error\ndata: {\"error\":\"mcp-helper: %s\"}\n\n",
                       msg) < 0)
                r->failed = true;
}

/* Appends to what the client gets, enforcing the response cap. */
static int emit_out(struct req *r, const char *data, size_t len)
{
        struct helper *h = r->h;

        if (r->finished)
                return 0;
        if (r->sent + (r->out.len - r->out_off) + len > h->max_response) {
                limit_event(h, "response", h->max_response);
                r->finished = true;
                if (r->sse) {
                        sse_error(r, "response exceeds the helper's size limit");
                } else {
                        size_t room = (size_t) (h->max_response - r->sent - (r->out.len - r->out_off));
                        if (buf_append(&r->out, data, room) < 0)
                                return -ENOMEM;
                        r->failed = true;
                }
                return -E2BIG;
        }
        return buf_append(&r->out, data, len);
}

static int on_event(void *userdata, const char *ev, size_t len)
{
        struct req *r = userdata;
        struct helper *h = r->h;

        if (r->rewrite_endpoint) {
                char type[32];
                _cleanup_buf_ struct buf data = BUF_INIT;
                char path[2048];

                if (sse_event_fields(ev, len, type, sizeof(type), &data) == 0 &&
                    strcmp(type, "endpoint") == 0) {
                        char line[2200];
                        int n;

                        if (!data.data || strlen(data.data) != data.len ||
                            !helper_rewrite_endpoint(data.data, h->origin, h->base, path,
                                                     sizeof(path))) {
                                denied(h, "endpoint-origin", "GET", data.data);
                                r->finished = true;
                                sse_error(r, "the upstream named an endpoint outside its origin");
                                return -EPERM;
                        }
                        n = snprintf(line, sizeof(line), "event: endpoint\ndata: %s\n\n", path);
                        return emit_out(r, line, (size_t) n);
                }
        }
        return emit_out(r, ev, len);
}

/* Body bytes from upstream, towards the client (event by event for a stream). */
static void on_data(struct req *r, const char *data, size_t len)
{
        struct helper *h = r->h;
        int ret;

        r->last_data_ms = clock_monotonic_ms();
        if (r->sse) {
                ret = sse_feed(&r->parser, data, len, on_event, r);
                if (ret == -EMSGSIZE && !r->finished) {
                        limit_event(h, "sse-event", h->sse_event_max);
                        r->finished = true;
                        sse_error(r, "an event exceeds the helper's per-event size limit");
                }
        } else {
                (void) emit_out(r, data, len);
        }
}

/* ---- driving the transfer ---- */

/* Reads what the upstream sends within timeout_ms (the client has taken all before), and then
 * whatever else has already arrived, up to DRIVE_BATCH: a stream of small events goes to the
 * client in one write, not one write per event. */
#define DRIVE_BATCH ((size_t) 64 << 10)
static void drive(struct req *r, int timeout_ms)
{
        char chunk[16384];

        for (;;) {
                ssize_t n = httpc_read(&r->x, chunk, sizeof(chunk), timeout_ms);

                if (n > 0) {
                        on_data(r, chunk, (size_t) n);
                        if (r->finished || r->out.len - r->out_off >= DRIVE_BATCH)
                                return;
                        timeout_ms = 0;
                        continue;
                }
                if (n != -EAGAIN) {
                        r->upstream_done = true;
                        r->result = n < 0 ? (int) n : 0;
                }
                return;
        }
}

static bool draining_expired(struct helper *h)
{
        return atomic_load(&h->draining) && clock_monotonic_ms() >= atomic_load(&h->drain_deadline_ms);
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
        struct req *r = cls;
        struct helper *h = r->h;
        size_t avail;

        (void) pos;
        while (r->out.len == r->out_off) {
                buf_reset(&r->out);
                r->out_off = 0;
                if (r->finished || r->upstream_done) {
                        if (r->finished && r->failed)
                                return MHD_CONTENT_READER_END_WITH_ERROR;
                        if (r->upstream_done && r->result != 0 && !r->finished) {
                                r->finished = true;
                                if (r->sse) {
                                        sse_error(r, "the upstream connection failed");
                                        continue;
                                }
                                return MHD_CONTENT_READER_END_WITH_ERROR;
                        }
                        return MHD_CONTENT_READER_END_OF_STREAM;
                }
                if (draining_expired(h)) {
                        r->finished = true;
                        if (r->sse)
                                sse_error(r, "the helper is shutting down");
                        continue;
                }
                drive(r, 200);
                if (r->sse && !r->finished && h->idle_timeout_s &&
                    clock_monotonic_ms() - r->last_data_ms > (int64_t) h->idle_timeout_s * 1000) {
                        limit_event(h, "idle", h->idle_timeout_s);
                        r->finished = true;
                        sse_error(r, "the stream was idle for too long");
                }
        }
        avail = r->out.len - r->out_off;
        if (avail > max)
                avail = max;
        memcpy(buf, r->out.data + r->out_off, avail);
        r->out_off += avail;
        r->sent += avail;
        return (ssize_t) avail;
}

static void reader_free(void *cls)
{
        struct req *r = cls;

        /* The client is gone or the response is complete: stop the upstream transfer. MHD may
         * call this before or after the request-completed callback, hence the count. */
        req_free_upstream(r);
        req_unref(r);
}

/* ---- the request ---- */

/* The client's headers that may pass: "Name: value" each, NUL-terminated, in `lines`. */
#define MAX_REQ_HEADERS 32
struct hdr_ctx {
        struct buf *lines;
        size_t n;
        bool model;
        bool accept;
        bool oom;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
        struct hdr_ctx *hc = cls;

        (void) kind;
        if (!value || strpbrk(value, "\r\n") || hc->n + 2 >= MAX_REQ_HEADERS ||
            strlen(key) + strlen(value) > 4096 ||
            (hc->model ? !model_forward_request_header(key) : !helper_forward_request_header(key)))
                return MHD_YES;
        if (buf_printf(hc->lines, "%s: %s", key, value) < 0 || buf_append_char(hc->lines, '\0') < 0)
                hc->oom = true;
        else
                hc->n++;
        if (strcasecmp(key, "accept") == 0)
                hc->accept = true;
        return MHD_YES;
}

struct query_ctx {
        struct buf *b;
        bool first;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
        struct query_ctx *q = cls;

        (void) kind;
        if (buf_printf(q->b, "%s%s%s%s", q->first ? "?" : "&", key, value ? "=" : "",
                       value ? value : "") < 0)
                return MHD_NO;
        q->first = false;
        return MHD_YES;
}

static bool allowed_by_lists(const struct helper *h, const char *method, const char *path)
{
        bool m = h->nmethods == 0, p = h->npaths == 0;

        for (size_t i = 0; i < h->nmethods && !m; i++)
                m = strcmp(h->allow_methods[i], method) == 0;
        for (size_t i = 0; i < h->npaths && !p; i++)
                p = strncmp(path, h->allow_paths[i], strlen(h->allow_paths[i])) == 0;
        return m && p;
}

/* Model mode: refreshes the login (unless another request did since `generation`), with its
 * event. */
static void refresh_login(struct helper *h, uint64_t generation, const char *why)
{
        struct httpc_options up = {h->proxy, h->proxy_login, h->ca_file,
                                   (const uint8_t (*)[32]) h->pin_hash, h->npins};
        struct ca_error err = {0};
        json_t *fields = json_pack("{s:s}", "trigger", why);
        int r = model_refresh(h->model, &up, generation, fields, &err);

        if (!fields)
                return;
        (void) json_object_set_new(fields, "ok", json_boolean(r >= 0));
        if (r < 0)
                (void) json_object_set_new(fields, "reason", json_string(err.msg));
        if (r < 0 && err.code == EPERM)
                event(h, AUDIT_PIN_MISMATCH, json_pack("{s:s, s:s}", "origin", h->model->token_url,
                                                       "presented", "unknown"));
        event(h, AUDIT_CREDENTIAL_REFRESH, fields);
}

/* The upstream transfer, started (its status and headers not yet there): the client's headers
 * that may pass, the upstream credential, the body of a POST. A failure to reach the upstream
 * is the transfer's result (a 502 follows); -ENOMEM is returned. */
static int begin_transfer(struct MHD_Connection *c, struct req *r, const char *method)
{
        struct helper *h = r->h;
        _cleanup_buf_ struct buf lines = BUF_INIT;
        struct hdr_ctx hc = {.lines = &lines, .model = h->model != NULL};
        struct iovec iov[MAX_REQ_HEADERS];
        bool post = strcmp(method, "POST") == 0;
        char *cred = NULL;
        size_t n = 0;
        int rc;

        (void) MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &hc);
        if (!hc.accept) {
                if (buf_append(&lines, "Accept: */*", 12) < 0)
                        hc.oom = true;
                else
                        hc.n++;
        }
        if (hc.oom)
                return -ENOMEM;
        for (const char *p = lines.data; n < hc.n; p += strlen(p) + 1)
                iov[n++] = (struct iovec){(void *) p, strlen(p)};
        if (h->model) {
                cred = model_header(h->model, &r->generation);
                if (!cred)
                        return -ENOMEM;
                iov[n++] = (struct iovec){cred, strlen(cred)};
        } else if (h->auth_header) {
                iov[n++] = (struct iovec){h->auth_header->buf, h->auth_header->len};
        }
        /* Legacy SSE: any `endpoint` event on a GET stream is made to point back here. */
        r->rewrite_endpoint = !h->model && strcmp(method, "GET") == 0;
        sse_clear(&r->parser);
        sse_init(&r->parser, h->sse_event_max);
        r->last_data_ms = clock_monotonic_ms();
        rc = httpc_send(&h->up, &r->x, method, r->target, iov, n, post ? r->body.data : NULL,
                        post ? r->body.len : 0);
        model_free_header(cred);
        r->started = true;
        if (rc == -ENOMEM)
                return rc;
        if (rc < 0) {
                r->upstream_done = true;
                r->result = rc;
        }
        return 0;
}

/* Waits for the upstream's status and headers (or its failure). */
static int await_headers(struct req *r)
{
        while (!r->headers_done && !r->upstream_done) {
                int rc;

                if (draining_expired(r->h))
                        return -ESHUTDOWN;
                rc = httpc_head(&r->x, 1000);
                if (rc > 0) {
                        take_response_headers(r);
                } else if (rc < 0) {
                        r->upstream_done = true;
                        r->result = rc;
                }
        }
        return 0;
}

/* Model mode: a 401 for an OAuth login is refreshed once and the request sent again. */
static int retry_after_refresh(struct MHD_Connection *c, struct req *r, const char *method)
{
        struct helper *h = r->h;

        r->retried = true;
        req_free_upstream(r);
        for (size_t i = 0; i < r->nrh; i++) {
                free(r->rh[i].name);
                free(r->rh[i].value);
        }
        r->nrh = 0;
        r->headers_done = r->upstream_done = r->sse = false;
        r->status = 0;
        r->result = 0;
        buf_reset(&r->out);
        r->out_off = 0;
        refresh_login(h, r->generation, "401");
        if (begin_transfer(c, r, method) < 0)
                return -ENOMEM;
        return await_headers(r);
}

static enum MHD_Result start_upstream(struct MHD_Connection *c, struct req *r,
                                      const char *method, const char *path)
{
        struct helper *h = r->h;
        _cleanup_buf_ struct buf url = BUF_INIT;
        struct query_ctx qc = {&url, true};
        struct MHD_Response *resp;
        enum MHD_Result ret;
        int rc;

        if (buf_append_str(&url, path) < 0 ||
            MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &qc) < 0 ||
            buf_append_char(&url, '\0') < 0)
                return respond_error(c, 500, "out of memory");
        {
                const char *q = strchr(url.data, '?');
                if (q && !helper_query_ok(q + 1)) {
                        denied(h, "query", method, path);
                        return respond_error(c, 400, "bad query string");
                }
        }
        r->target = strdup(url.data);
        if (!r->target)
                return respond_error(c, 500, "out of memory");
        if (h->model && model_needs_refresh(h->model)) {
                uint64_t generation;

                model_free_header(model_header(h->model, &generation));
                refresh_login(h, generation, "expiry");
        }
        rc = begin_transfer(c, r, method);
        if (rc < 0)
                return respond_error(c, 500, rc == -ENOMEM ? "out of memory"
                                                           : "cannot start the upstream request");
        rc = await_headers(r);
        if (rc >= 0 && h->model && r->headers_done && r->status == 401 && !r->retried &&
            h->model->token_url[0])
                rc = retry_after_refresh(c, r, method);
        if (rc == -ESHUTDOWN)
                return respond_error(c, 503, "the helper is shutting down");
        if (rc < 0)
                return respond_error(c, 500, "out of memory");
        if (!r->headers_done) {
                char why[256];

                const char *presented = r->x.presented[0] ? r->x.presented : "unknown";

                if (r->x.pin_mismatch) {
                        event(h, AUDIT_PIN_MISMATCH,
                              json_pack("{s:s, s:s}", "origin", h->origin, "presented",
                                        presented));
                        (void) snprintf(why, sizeof(why),
                                        "upstream certificate does not match the configured pins "
                                        "(presented %s); nothing was sent",
                                        presented);
                } else {
                        (void) snprintf(why, sizeof(why), "upstream failed: %s",
                                        r->x.error[0] ? r->x.error : "no answer");
                }
                set_health(h, 2, r->x.error[0] ? r->x.error : "no answer");
                req_free_upstream(r);
                return respond_error(c, 502, why);
        }
        set_health(h, 1, "upstream answered");
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, (size_t) 64 << 10, reader, r,
                                                 reader_free);
        if (!resp)
                return respond_error(c, 500, "out of memory");
        r->refs++;
        for (size_t i = 0; i < r->nrh; i++)
                (void) MHD_add_response_header(resp, r->rh[i].name, r->rh[i].value);
        if (r->sse)
                (void) MHD_add_response_header(resp, "X-Accel-Buffering", "no");
        ret = MHD_queue_response(c, (unsigned) r->status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result health(struct helper *h, struct MHD_Connection *c)
{
        char body[512];
        int up = atomic_load(&h->health);

        (void) snprintf(body, sizeof(body),
                        "{\"status\":\"%s\",\"helper\":\"%s\",\"upstream\":\"%s\",\"active\":%d,"
                        "\"served\":%llu}\n",
                        atomic_load(&h->draining) ? "draining" : "ok", h->name,
                        up == 1 ? "ok" : up == 2 ? "failing" : "unknown", atomic_load(&h->active),
                        (unsigned long long) atomic_load(&h->served));
        return respond_text(c, 200, "application/json", body);
}

/* Model mode: an x-api-key header (Anthropic's clients send the key there) as the Bearer form
 * helper_token_ok() compares; NULL without one. */
static const char *api_key_as_bearer(struct MHD_Connection *c, char *out, size_t outlen)
{
        const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-api-key");

        if (!key || snprintf(out, outlen, "Bearer %s", key) >= (int) outlen)
                return NULL;
        return out;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
        struct helper *h = cls;
        struct req *r = *con_cls;
        enum helper_verdict v = HELPER_OK;
        const char *reason = NULL;

        (void) version;
        if (!r) {
                const char *auth, *clen, *accept;
                char key_auth[512];

                /* Before anything of the request is logged: a method or target with control
                 * bytes is refused, and only the reason is recorded (issue 17). */
                if (!helper_visible_ascii(method) || !helper_visible_ascii(url)) {
                        denied(h, "control-bytes", NULL, NULL);
                        return respond_error(c, 400, helper_verdict_reason(HELPER_CONTROL));
                }
                if (strcmp(url, "/healthz") == 0 && strcmp(method, "GET") == 0)
                        return health(h, c);
                /* A CLI's reachability probe (Claude Code sends HEAD /): answered here. */
                if (h->model && strcmp(method, "HEAD") == 0)
                        return respond_text(c, 200, "text/plain", "");
                if (!helper_method_ok(method))
                        v = HELPER_BAD_METHOD, reason = "method";
                else if (url[0] != '/')
                        v = HELPER_BAD_TARGET, reason = "target";
                else if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Upgrade"))
                        v = HELPER_UPGRADE, reason = "upgrade";
                else if (!h->unix_path &&
                         !helper_host_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host"),
                                         h->port))
                        v = HELPER_BAD_HOST, reason = "host";
                if (v != HELPER_OK) {
                        denied(h, reason, method, url);
                        return respond_error(c, (unsigned) helper_verdict_status(v),
                                             helper_verdict_reason(v));
                }
                auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
                if (h->model && !auth)
                        auth = api_key_as_bearer(c, key_auth, sizeof(key_auth));
                if (!helper_token_ok(auth, h->token->buf, h->token->len)) {
                        denied(h, auth ? "bad-token" : "missing-token", method, url);
                        return respond_error(c, 401, "missing or wrong local token");
                }
                if (!helper_path_ok(url, h->base) || !allowed_by_lists(h, method, url)) {
                        denied(h, "path", method, url);
                        return respond_error(c, 400, helper_verdict_reason(HELPER_BAD_TARGET));
                }
                accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
                if (!h->model && strcmp(method, "GET") == 0 &&
                    helper_accept_quality(accept, "text/event-stream") == 0)
                        return respond_error(c, 406, "GET streams need Accept: text/event-stream");
                clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
                if (clen) {
                        uint64_t n;

                        if (parse_uint(clen, 0, UINT64_MAX, &n) < 0)
                                return respond_error(c, 400, "bad Content-Length");
                        if (n > h->max_request) {
                                limit_event(h, "request-body", h->max_request);
                                return respond_error(c, 413, "request body exceeds the helper's "
                                                             "size limit");
                        }
                }
                if (atomic_load(&h->draining))
                        return respond_error(c, 503, "the helper is shutting down");
                r = calloc(1, sizeof(*r));
                if (!r)
                        return MHD_NO;
                r->h = h;
                r->counted = true;
                r->refs = 1;
                atomic_fetch_add(&h->active, 1);
                *con_cls = r;
                return MHD_YES;
        }
        if (*upload_size) {
                if (!r->too_big && r->body.len + *upload_size > h->max_request)
                        r->too_big = true;
                if (!r->too_big && buf_append(&r->body, upload, *upload_size) < 0)
                        return MHD_NO;
                *upload_size = 0;
                return MHD_YES;
        }
        if (r->too_big) {
                limit_event(h, "request-body", h->max_request);
                return respond_error(c, 413, "request body exceeds the helper's size limit");
        }
        atomic_fetch_add(&h->served, 1);
        return start_upstream(c, r, method, url);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
        (void) cls;
        (void) c;
        (void) toe;
        req_unref(*con_cls);
        *con_cls = NULL;
}

/* Raw paths: what is checked is exactly what is forwarded. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
        (void) cls;
        (void) c;
        return strlen(s);
}

/* ---- start-up ---- */

/* The helpers' login to the sidecar's squid: "helper:" and the file's password. */
static int read_proxy_login(struct helper *h, const char *file, struct ca_error *err)
{
        _cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        _cleanup_secret_ struct ca_secret *pw = NULL;

        if (fd < 0)
                return ca_error_set(err, errno, "cannot open the proxy login '%s'", file);
        if (secret_read_fd(fd, true, &pw, err) < 0)
                return -EINVAL;
        if (pw->len < 16 || memchr(pw->buf, ':', pw->len) || memchr(pw->buf, '\n', pw->len))
                return ca_error_input(err, "the proxy login in '%s' is not a password", file);
        h->proxy_login = secret_new(7 + pw->len);
        if (!h->proxy_login)
                return ca_error_setx(err, ENOMEM, "cannot allocate secure memory");
        memcpy(h->proxy_login->buf, "helper:", 7);
        memcpy(h->proxy_login->buf + 7, pw->buf, pw->len);
        return 0;
}

/* The local token the agent must present. */
static int read_token(struct helper *h, const char *token_file, struct ca_error *err)
{
        _cleanup_close_ int fd = open(token_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

        if (fd < 0)
                return ca_error_set(err, errno, "cannot open the token file '%s'", token_file);
        if (secret_read_fd(fd, true, &h->token, err) < 0)
                return -EINVAL;
        if (h->token->len < 16)
                return ca_error_input(err, "the local token is shorter than 16 bytes");
        return 0;
}

static int load_secrets(struct helper *h, const char *credential, const char *token_file,
                        struct ca_error *err)
{
        _cleanup_brokercred_ struct broker_credential cred;
        struct broker_redeemed got[4];
        int n;

        if (brokercred_load(credential, &cred, err) < 0)
                return -EINVAL;
        n = brokercred_redeem(&cred, NULL, got, 4, err);
        if (n < 0)
                return n;
        if (h->model) {
                /* The CLI's login, exactly one. */
                int r = n == 1 ? model_init(h->model, (enum modelcred_vendor) h->model_vendor,
                                            h->token_url, got[0].name, got[0].value, &cred, NULL,
                                            err)
                               : ca_error_input(err, "the credential must redeem exactly the "
                                                     "CLI's login (got %d secrets)", n);

                broker_redeemed_clear(got, (size_t) n);
                if (r < 0)
                        return r;
                return read_token(h, token_file, err);
        }
        if (n >= 1) {
                static const char prefix[] = "Authorization: Bearer ";
                size_t len = sizeof(prefix) - 1 + got[0].value->len;

                h->auth_header = secret_new(len);
                if (h->auth_header) {
                        memcpy(h->auth_header->buf, prefix, sizeof(prefix) - 1);
                        memcpy(h->auth_header->buf + sizeof(prefix) - 1, got[0].value->buf,
                               got[0].value->len);
                }
        }
        broker_redeemed_clear(got, (size_t) n);
        /* No secret: a server that needs no upstream credential. */
        if (n >= 1 && !h->auth_header)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (h->auth_header && (memchr(h->auth_header->buf, '\n', h->auth_header->len) ||
                              memchr(h->auth_header->buf, '\r', h->auth_header->len)))
                return ca_error_input(err, "the upstream credential contains a line break");
        return read_token(h, token_file, err);
}

static int parse_listen(struct helper *h, const char *s, uint16_t *port)
{
        uint64_t v;

        if (strncmp(s, "unix:", 5) == 0) {
                h->unix_path = s + 5;
                return h->unix_path[0] == '/' && strlen(h->unix_path) < 108 ? 0 : -EINVAL;
        }
        if (strncmp(s, "127.0.0.1:", 10) != 0 || parse_uint(s + 10, 0, 65535, &v) < 0)
                return -EINVAL;
        *port = (uint16_t) v;
        return 0;
}

/* ---- connections: who, how many, how long (issue 17) ---- */

/*
 * Thread per connection: without limits any UID in the session could open connections until
 * the session's pids limit is gone, and the agent would get no answer. So connections are
 * counted per peer UID (the owner of the connecting socket, from the kernel's socket table; a
 * Unix socket's peer credentials), refused beyond the per-UID and total caps (a helper-limit
 * event), and with --peer-uid refused from any other UID (helper-denied). A
 * connection that sends no request within the timeout is closed (streams in progress are not:
 * the reader blocks inside a request).
 */
#define CONN_MAX 48
#define CONN_PER_UID 16
#define CONN_TIMEOUT_S 30

static int peer_uid_of_addr(const struct helper *h, const struct sockaddr *addr, socklen_t len,
                            uid_t *uid)
{
        struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons(h->port),
                                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

        if (addr->sa_family != AF_INET || len < (socklen_t) sizeof(struct sockaddr_in))
                return -EAFNOSUPPORT;
        return sockdiag_tcp_peer_uid((const struct sockaddr_in *) (const void *) addr, &local, uid);
}

static unsigned *uid_slot(struct helper *h, uid_t uid, bool add)
{
        for (size_t i = 0; i < CA_ELEMENTSOF(h->per_uid); i++) {
                if (h->per_uid[i].n && h->per_uid[i].uid == uid)
                        return &h->per_uid[i].n;
        }
        for (size_t i = 0; add && i < CA_ELEMENTSOF(h->per_uid); i++) {
                if (h->per_uid[i].n == 0) {
                        h->per_uid[i].uid = uid;
                        return &h->per_uid[i].n;
                }
        }
        return NULL;
}

static bool peer_allowed(const struct helper *h, uid_t uid)
{
        for (size_t i = 0; i < h->npeer_uids; i++) {
                if (h->peer_uids[i] == uid)
                        return true;
        }
        return false;
}

/* Before MHD takes the connection: who is it, and is there room for it. */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t len)
{
        struct helper *h = cls;
        uid_t uid = 0;
        bool known = peer_uid_of_addr(h, addr, len, &uid) == 0;
        const unsigned *n;
        bool full;

        if (!h->unix_path && !known) {
                denied(h, "peer-unknown", NULL, NULL);
                return MHD_NO;
        }
        if (known && h->npeer_uids && !peer_allowed(h, uid)) {
                event_repeated(h, AUDIT_HELPER_DENIED, "peer-uid",
                               json_pack("{s:s, s:I}", "reason", "peer-uid", "uid",
                                         (json_int_t) uid));
                return MHD_NO;
        }
        (void) pthread_mutex_lock(&h->conn_lock);
        n = known ? uid_slot(h, uid, false) : NULL;
        full = h->conns >= h->max_conns;
        if (!full && n && *n >= h->max_conns_per_uid) {
                (void) pthread_mutex_unlock(&h->conn_lock);
                limit_event(h, "connections-per-uid", h->max_conns_per_uid);
                return MHD_NO;
        }
        (void) pthread_mutex_unlock(&h->conn_lock);
        if (full) {
                limit_event(h, "connections", h->max_conns);
                return MHD_NO;
        }
        return MHD_YES;
}

/* The peer UID of an accepted connection, kept (allocated) in its socket context. */
static void notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode code)
{
        struct helper *h = cls;

        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
                const union MHD_ConnectionInfo *ci =
                        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
                struct sockaddr_storage peer;
                socklen_t len = sizeof(peer);
                struct ucred cred;
                socklen_t clen = sizeof(cred);
                uid_t *owner = malloc(sizeof(*owner));
                uid_t uid = (uid_t) -1;
                unsigned *n;

                memset(&peer, 0, sizeof(peer));
                if (ci && getpeername(ci->connect_fd, (struct sockaddr *) &peer, &len) == 0) {
                        if (peer.ss_family == AF_UNIX &&
                            getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
                                uid = cred.uid;
                        else if (peer_uid_of_addr(h, (struct sockaddr *) &peer, len, &uid) < 0)
                                uid = (uid_t) -1;
                }
                (void) pthread_mutex_lock(&h->conn_lock);
                h->conns++;
                n = uid_slot(h, uid, true);
                if (n)
                        (*n)++;
                (void) pthread_mutex_unlock(&h->conn_lock);
                /* Out of memory: counted, never uncounted (the caps only tighten). */
                if (owner)
                        *owner = uid;
                *socket_context = owner;
        } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
                uid_t *owner = *socket_context;
                unsigned *n;

                (void) pthread_mutex_lock(&h->conn_lock);
                if (h->conns)
                        h->conns--;
                n = uid_slot(h, *owner, false);
                if (n && *n)
                        (*n)--;
                (void) pthread_mutex_unlock(&h->conn_lock);
                free(owner);
                *socket_context = NULL;
        }
}

/* A Unix socket (mode 0660: the launcher gives the agent's group access) or 127.0.0.1:port. */
static struct MHD_Daemon *start_daemon(struct helper *h)
{
        const unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                               MHD_USE_ITC | MHD_USE_ERROR_LOG;
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(h->port)};

        if (h->unix_path) {
                struct sockaddr_un su = {.sun_family = AF_UNIX};
                struct stat st;
                mode_t old;
                int fd, r;

                if (lstat(h->unix_path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
                        errno = EEXIST;
                        return NULL;
                }
                (void) unlink(h->unix_path);
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return NULL;
                memcpy(su.sun_path, h->unix_path, strlen(h->unix_path) + 1);
                old = umask(0117);
                r = bind(fd, (const struct sockaddr *) &su, sizeof(su));
                (void) umask(old);
                if (r < 0 || listen(fd, 128) < 0) {
                        (void) close(fd);
                        return NULL;
                }
                /* MHD's own limit stays above ours, so that every connection our policy
                 * admits is counted on both sides. */
                return MHD_start_daemon(flags, 0, accept_policy, h, handler, h,
                                        MHD_OPTION_LISTEN_SOCKET, fd,
                                        MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                                        MHD_OPTION_NOTIFY_CONNECTION, notify_connection, h,
                                        MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
                                        MHD_OPTION_CONNECTION_LIMIT, h->max_conns + 16,
                                        MHD_OPTION_CONNECTION_TIMEOUT, h->conn_timeout_s,
                                        MHD_OPTION_END);
        }
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return MHD_start_daemon(flags, h->port, accept_policy, h, handler, h,
                                MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED, completed,
                                NULL, MHD_OPTION_NOTIFY_CONNECTION, notify_connection, h,
                                MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
                                MHD_OPTION_CONNECTION_LIMIT, h->max_conns + 16,
                                MHD_OPTION_CONNECTION_TIMEOUT, h->conn_timeout_s, MHD_OPTION_END);
}

static int fail_usage(const char *msg, const char *arg)
{
        log_error("%s%s%s%s", msg, arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
        return 2;
}

/* What the command line names that is not the helper's state. */
struct helper_opts {
        const char *upstream, *listen, *credential, *token_file, *base, *proxy_auth_file;
};

static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"upstream", required_argument, NULL, 'u'},
        {"listen", required_argument, NULL, 'l'},
        {"credential", required_argument, NULL, 'c'},
        {"token-file", required_argument, NULL, 't'},
        {"name", required_argument, NULL, 'n'},
        {"base-path", required_argument, NULL, 'b'},
        {"ca-file", required_argument, NULL, 'C'},
        {"pin", required_argument, NULL, 'p'},
        {"allow-method", required_argument, NULL, 'M'},
        {"allow-path", required_argument, NULL, 'P'},
        {"max-request", required_argument, NULL, 'q'},
        {"max-response", required_argument, NULL, 'r'},
        {"sse-event-max", required_argument, NULL, 'e'},
        {"idle-timeout", required_argument, NULL, 'i'},
        {"grace", required_argument, NULL, 'g'},
        {"events", required_argument, NULL, 'E'},
        {"events-fd", required_argument, NULL, 'F'},
        {"proxy", required_argument, NULL, 'x'},
        {"session", required_argument, NULL, 's'},
        {"peer-uid", required_argument, NULL, 'U'},
        {"max-connections", required_argument, NULL, 'K'},
        {"max-connections-per-uid", required_argument, NULL, 'k'},
        {"connection-timeout", required_argument, NULL, 'T'},
        {"model", required_argument, NULL, 'm'},
        {"token-url", required_argument, NULL, 'o'},
        {"proxy-auth-file", required_argument, NULL, 'X'},
        {0},
};

/* The defaults, before the options. */
static void helper_init(struct helper *h)
{
        h->name = "mcp";
        h->model_vendor = -1;
        h->events_fd = -1;
        h->done_fd = -1;
        h->max_request = LIMIT_REQUEST_DEFAULT;
        h->max_response = LIMIT_REPLY_DEFAULT;
        h->sse_event_max = (uint64_t) 1 << 20;
        h->idle_timeout_s = 300;
        h->grace_s = 5;
        h->max_conns = CONN_MAX;
        h->max_conns_per_uid = CONN_PER_UID;
        h->conn_timeout_s = CONN_TIMEOUT_S;
        (void) pthread_mutex_init(&h->conn_lock, NULL);
        (void) pthread_mutex_init(&h->agg_lock, NULL);
        eventagg_init(&h->agg, (uint64_t) AGG_INTERVAL_S * 1000, AGG_BURST, agg_summary, h);
}

/* The options that set a number. */
static uint64_t *number_option(struct helper *h, int c)
{
        switch (c) {
        case 'q':
                return &h->max_request;
        case 'r':
                return &h->max_response;
        case 'e':
                return &h->sse_event_max;
        case 'i':
                return &h->idle_timeout_s;
        case 'g':
                return &h->grace_s;
        default:
                return NULL;
        }
}

/* The connection options (--peer-uid, --max-connections*, --connection-timeout). */
static int connection_option(struct helper *h, int c, const char *arg)
{
        uint64_t v;

        if (c == 'U') {
                if (h->npeer_uids == CA_ELEMENTSOF(h->peer_uids) ||
                    parse_uint(arg, 0, UINT32_MAX - 1, &v) < 0)
                        return fail_usage("bad or too many --peer-uid", arg);
                h->peer_uids[h->npeer_uids++] = (uid_t) v;
                return 0;
        }
        if (parse_uint(arg, 1, c == 'T' ? 3600 : 1000, &v) < 0)
                return fail_usage("bad connection limit", arg);
        if (c == 'K')
                h->max_conns = (unsigned) v;
        else if (c == 'k')
                h->max_conns_per_uid = (unsigned) v;
        else
                h->conn_timeout_s = (unsigned) v;
        return 0;
}

/* One option; 0, or the exit status. */
static int parse_option(struct helper *h, struct helper_opts *o, int c, const char *arg)
{
        uint64_t *num = number_option(h, c), fd;
        struct url pu;

        if (num)
                return parse_uint(arg, 0, LIMIT_BODY_MAX, num) < 0 ? fail_usage("bad number", arg)
                                                                   : 0;
        switch (c) {
        case 'u':
                o->upstream = arg;
                return 0;
        case 'l':
                o->listen = arg;
                return 0;
        case 'c':
                o->credential = arg;
                return 0;
        case 't':
                o->token_file = arg;
                return 0;
        case 'n':
                h->name = arg;
                return 0;
        case 'b':
                o->base = arg;
                return 0;
        case 'C':
                h->ca_file = arg;
                return 0;
        case 'p':
                if (h->npins == MAX_PINS || !names_pin_ok(arg))
                        return fail_usage("bad or too many --pin", arg);
                h->pins[h->npins++] = arg;
                return 0;
        case 'M':
                if (h->nmethods == MAX_ALLOW || !helper_method_ok(arg))
                        return fail_usage("bad --allow-method", arg);
                h->allow_methods[h->nmethods++] = arg;
                return 0;
        case 'P':
                if (h->npaths == MAX_ALLOW || arg[0] != '/')
                        return fail_usage("bad --allow-path", arg);
                h->allow_paths[h->npaths++] = arg;
                return 0;
        case 'E':
                h->events_log = arg;
                return 0;
        case 'F':
                if (parse_uint(arg, 3, 1023, &fd) < 0 || fcntl((int) fd, F_GETFD) < 0)
                        return fail_usage("--events-fd takes an open descriptor", arg);
                h->events_fd = (int) fd;
                (void) fcntl(h->events_fd, F_SETFD, FD_CLOEXEC);
                return 0;
        case 'x':
                if (url_parse(arg, &pu, NULL) < 0 || pu.https || !pu.port_explicit || pu.query ||
                    (pu.path_len && strcmp(pu.path, "/") != 0))
                        return fail_usage("--proxy takes http://HOST:PORT", arg);
                h->proxy = arg;
                return 0;
        case 's':
                if (!capability_valid_session(arg))
                        return fail_usage("bad --session", arg);
                h->session = arg;
                return 0;
        case 'U':
        case 'K':
        case 'k':
        case 'T':
                return connection_option(h, c, arg);
        case 'm':
                h->model_vendor = model_vendor(arg);
                return h->model_vendor < 0 ? fail_usage("--model takes anthropic, openai, chatgpt "
                                                        "or copilot", arg)
                                           : 0;
        case 'X':
                o->proxy_auth_file = arg;
                return 0;
        case 'o':
                if (url_parse(arg, &pu, NULL) < 0 || !pu.https)
                        return fail_usage("--token-url must be an https URL", arg);
                h->token_url = arg;
                return 0;
        default:
                return fail_usage("unknown option; see --help", NULL);
        }
}

/* The command line; -1 to go on, or the exit status. */
static int parse_options(struct helper *h, struct helper_opts *o, int argc, char **argv)
{
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                if (c == 'h') {
                        (void) fputs(usage, stdout);
                        return 0;
                }
                r = parse_option(h, o, c, optarg);
                if (r)
                        return r;
        }
        if (optind < argc)
                return fail_usage("unexpected argument", argv[optind]);
        if (!o->upstream || !o->listen || !o->credential || !o->token_file)
                return fail_usage("--upstream, --listen, --credential and --token-file are "
                                  "required",
                                  NULL);
        return -1;
}

/* The upstream's origin and path, the base path, the pins. -1 to go on, or the exit status. */
static int configure(struct helper *h, const struct helper_opts *o)
{
        struct url u;

        if (url_parse(o->upstream, &u, NULL) < 0 || !u.https)
                return fail_usage("--upstream must be an https URL", o->upstream);
        if (!o->listen || parse_listen(h, o->listen, &h->port) < 0)
                return fail_usage("--listen must be 127.0.0.1:PORT or unix:/ABSOLUTE/PATH",
                                  o->listen);
        if (u.port_explicit)
                (void) snprintf(h->origin, sizeof(h->origin), "https://%s%s%s:%u",
                                u.host_ipv6 ? "[" : "", u.host, u.host_ipv6 ? "]" : "", u.port);
        else
                (void) snprintf(h->origin, sizeof(h->origin), "https://%s%s%s",
                                u.host_ipv6 ? "[" : "", u.host, u.host_ipv6 ? "]" : "");
        (void) snprintf(h->upstream_path, sizeof(h->upstream_path), "%.*s",
                        (int) (u.path_len ? u.path_len : 1), u.path_len ? u.path : "/");
        if (o->base) {
                (void) snprintf(h->base, sizeof(h->base), "%s", o->base);
        } else {
                const char *slash = strrchr(h->upstream_path, '/');
                (void) snprintf(h->base, sizeof(h->base), "%.*s",
                                (int) (slash - h->upstream_path + 1), h->upstream_path);
        }
        if (h->base[0] != '/' || h->base[strlen(h->base) - 1] != '/' ||
            !helper_path_ok(h->base, "/"))
                return fail_usage("--base-path must be an absolute path ending in '/'", h->base);
        /* Model mode: the vendor's model APIs only, unless --allow-path says otherwise. */
        if (h->model_vendor >= 0 && h->npaths == 0) {
                const char *const *p =
                        modelcred_default_paths((enum modelcred_vendor) h->model_vendor);

                for (; p && *p && h->npaths < MAX_ALLOW; p++)
                        h->allow_paths[h->npaths++] = *p;
        }
        for (size_t i = 0; i < h->npins; i++) {
                size_t blen;

                if (sodium_base642bin(h->pin_hash[i], 32, h->pins[i] + 8, strlen(h->pins[i] + 8),
                                      NULL, &blen, NULL, sodium_base64_VARIANT_ORIGINAL) < 0 ||
                    blen != 32)
                        return fail_usage("bad --pin", h->pins[i]);
        }
        return -1;
}

/* Libraries, the secrets (redeemed once), the upstream's client, the signals, the listening
 * daemon. -1 to go on, or the exit status. */
static int start(struct helper *h, const struct helper_opts *o, struct MHD_Daemon **d, int *sfd)
{
        struct ca_error err = {0};
        sigset_t mask;

        if (sodium_init() < 0) {
                log_error("cannot initialise libraries");
                return 1;
        }
        if ((o->proxy_auth_file && read_proxy_login(h, o->proxy_auth_file, &err) < 0) ||
            load_secrets(h, o->credential, o->token_file, &err) < 0) {
                log_error("%s", err.msg);
                return err.bad_input ? 2 : 1;
        }
        {
                const struct httpc_options up = {h->proxy, h->proxy_login, h->ca_file,
                                                 (const uint8_t (*)[32]) h->pin_hash, h->npins};

                if (httpc_init(&h->up, o->upstream, &up, &err) < 0) {
                        log_error("%s", err.msg);
                        return err.bad_input ? 2 : 1;
                }
        }
        h->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

        /* Signals go to the main thread only (the server threads inherit the mask). */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGPIPE);
        (void) pthread_sigmask(SIG_BLOCK, &mask, NULL);
        *sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        *d = start_daemon(h);
        if (!*d || *sfd < 0 || h->done_fd < 0) {
                log_error("cannot listen on %s: %s", o->listen, strerror(errno));
                return 1;
        }
        if (!h->unix_path && h->port == 0) {
                /* Port 0: the kernel chose; Host checks need the real one. */
                const union MHD_DaemonInfo *di = MHD_get_daemon_info(*d, MHD_DAEMON_INFO_BIND_PORT);

                if (!di || !di->port) {
                        log_error("cannot tell the bound port");
                        return 1;
                }
                h->port = di->port;
        }
        return -1;
}

/* Until SIGTERM or SIGINT. */
static void wait_for_stop(int sfd)
{
        for (;;) {
                struct signalfd_siginfo si;

                if (read(sfd, &si, sizeof(si)) != (ssize_t) sizeof(si)) {
                        if (errno == EINTR)
                                continue;
                        return;
                }
                if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
                        return;
        }
}

/* Stop accepting; let streams finish within the grace period, then end them; record what the
 * aggregation held back; zero the secrets. */
static void stop(struct helper *h, struct MHD_Daemon *d)
{
        MHD_socket ls = MHD_quiesce_daemon(d);

        if (ls != MHD_INVALID_SOCKET)
                (void) close(ls);
        atomic_store(&h->drain_deadline_ms, clock_monotonic_ms() + (int64_t) h->grace_s * 1000);
        atomic_store(&h->draining, true);
        while (atomic_load(&h->active) > 0) {
                struct pollfd p = {.fd = h->done_fd, .events = POLLIN};
                uint64_t v;

                if (poll(&p, 1, 1000) > 0)
                        (void) !read(h->done_fd, &v, sizeof(v));
                if (clock_monotonic_ms() > atomic_load(&h->drain_deadline_ms) + 10000)
                        break; /* a stuck client: MHD_stop_daemon closes it */
        }
        MHD_stop_daemon(d);
        if (h->unix_path)
                (void) unlink(h->unix_path);
        eventagg_flush(&h->agg, (uint64_t) clock_monotonic_ms(), true, agg_summary, h);
        httpc_clear(&h->up);
        if (h->model) {
                event(h, AUDIT_MODEL_USAGE, model_usage(h->model));
                model_clear(h->model);
        }
        event(h, AUDIT_HELPER_STOP, json_pack("{s:s, s:I}", "reason", "signal", "served",
                                              (json_int_t) atomic_load(&h->served)));
        secret_free(h->auth_header);
        secret_free(h->proxy_login);
        secret_free(h->token);
        (void) close(h->done_fd);
}

int main(int argc, char **argv)
{
        static struct helper helper; /* large (locks, pins, counters): not on the stack */
        static struct model_state model;
        struct helper *h = &helper;
        struct helper_opts o = {0};
        struct MHD_Daemon *d = NULL;
        char bound[32];
        int status, sfd = -1;

        log_init("mcp-helper");
        helper_init(h);
        /* First: a crash leaves no core (it will hold the upstream credential and the local
         * token), nothing attaches to it, and it is not in the workspace (issue 17). */
        if (secret_protect_process(true) < 0)
                log_warn("cannot protect the process, ignoring");
        status = parse_options(h, &o, argc, argv);
        if (status < 0 && h->model_vendor >= 0) {
                /* jansson holds the login while it is parsed and written back: zero its frees. */
                modelcred_zeroing_json();
                h->model = &model;
        }
        if (status < 0)
                status = configure(h, &o);
        if (status < 0)
                status = start(h, &o, &d, &sfd);
        if (status >= 0)
                return status;
        if (!h->unix_path) {
                (void) snprintf(bound, sizeof(bound), "127.0.0.1:%u", h->port);
                o.listen = bound;
        }
        event(h, AUDIT_HELPER_START,
              json_pack("{s:s, s:s, s:s, s:i}", "listen", o.listen, "origin", h->origin, "trust",
                        h->ca_file ? "bundle" : "system", "pins", (int) h->npins));
        (void) printf("mcp-helper %s: listening on %s for %s\n", h->name, o.listen, h->origin);
        (void) fflush(stdout);
        wait_for_stop(sfd);
        stop(h, d);
        (void) close(sfd);
        return 0;
}
