/* SPDX-License-Identifier: MIT */
/*
 * mcp-helper's upstream client: HTTP/1.1 over verified TLS to one origin, directly or through a
 * CONNECT tunnel of the session's proxy, on OpenSSL alone (issue 23: libcurl brought 29 more
 * libraries into the process that holds the upstream credential: LDAP, Kerberos, SSH, RTMP ...).
 *
 *   - TLS 1.2 or later, the peer verified against the CA file or the system store and the
 *     host name (or IP address) checked; verification cannot be turned off. SPKI pins are
 *     checked after the handshake and before any request byte is written: a mismatch sends
 *     nothing and reports the key presented.
 *   - The response is read as it arrives (lib/httphead.c: strict head, Content-Length or
 *     chunked, never both); the caller pulls body bytes, so a slow client slows the upstream.
 *   - Connections whose response was read to its end are kept (at most HTTPC_IDLE_MAX) and
 *     reused; a kept connection that turns out closed is replaced once, before any answer came.
 *     Sessions are resumed.
 *   - The request head, with its credential, is built in guarded memory and zeroed after.
 *
 * One struct httpc per origin, shared by threads; one struct httpc_xfer per request, used by
 * one thread at a time.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "httphead.h"
#include "macro.h"
#include "url.h"

struct ca_error;
struct ca_secret;
struct httpc_conn;
struct ssl_ctx_st;
struct ssl_session_st;

#define HTTPC_IDLE_MAX 8
/* Connecting: TCP, the tunnel and the TLS handshake together. */
#define HTTPC_CONNECT_TIMEOUT_MS 15000

struct httpc_options {
        const char *proxy;                   /* http://HOST:PORT, or NULL: direct */
        const struct ca_secret *proxy_login; /* "user:password" for the proxy, or NULL */
        const char *ca_file;                 /* PEM bundle, or NULL: the system store */
        const uint8_t (*pins)[32];           /* SHA-256 of accepted SPKIs, or NULL */
        size_t npins;
};

struct httpc {
        char host[URL_HOST_MAX + 1];
        bool host_ip;
        uint16_t port;
        char authority[URL_HOST_MAX + 10];   /* host:port, the tunnel's target */
        char host_header[URL_HOST_MAX + 10]; /* Host: */
        char proxy_host[URL_HOST_MAX + 1]; /* "" when direct */
        uint16_t proxy_port;
        const struct ca_secret *proxy_login;
        const uint8_t (*pins)[32];
        size_t npins;
        struct ssl_ctx_st *ctx;
        pthread_mutex_t lock; /* the idle connections, the session */
        struct httpc_conn *idle[HTTPC_IDLE_MAX];
        size_t nidle;
        struct ssl_session_st *session;
};

/* Prepares the client of the origin of `url` (https only). 0, or -errno with the reason. */
int httpc_init(struct httpc *c, const char *url, const struct httpc_options *o,
               struct ca_error *err) CA_MUST_CHECK;
void httpc_clear(struct httpc *c);

struct httpc_xfer {
        struct httpc *c;
        struct httpc_conn *conn;
        struct ca_secret *req; /* the request head, until the response's head is here */
        const void *body;      /* the caller's, until then too */
        size_t body_len;
        char *in; /* bytes read and not yet consumed: the head as it arrives, then the body's */
        size_t in_len, in_cap, in_off;
        char *head; /* the response's head once complete, else NULL */
        size_t head_len;
        int status;
        bool head_request;
        bool reused, retried;
        unsigned interim; /* 1xx answers skipped */
        bool done; /* the body was read to its end */
        bool reusable;
        enum httphead_framing framing;
        uint64_t left; /* HTTPHEAD_LENGTH: body bytes still to come */
        struct httphead_chunked chunked;
        bool pin_mismatch;
        char presented[64]; /* "sha256//<base64>" of the key presented, on a pin mismatch */
        char error[192];    /* why the transfer failed */
};

/*
 * Connects (or takes a kept connection) and writes the request: `method` `target` (origin
 * form), the header lines hdrs[0..nhdrs) ("Name: value", no line ends; they may hold the
 * credential), Host, and Content-Length when there is a body or the method is POST. `body`
 * must stay valid until httpc_head returned 1. 0, or -errno with x->error (-EPERM for a pin
 * mismatch: nothing was sent).
 */
int httpc_send(struct httpc *c, struct httpc_xfer *x, const char *method, const char *target,
               const struct iovec *hdrs, size_t nhdrs, const void *body,
               size_t body_len) CA_MUST_CHECK;

/* Waits up to timeout_ms for the response's head (1xx answers skipped): 1 when it is here
 * (x->status), 0 when not yet, -errno when the transfer failed (x->error). */
int httpc_head(struct httpc_xfer *x, int timeout_ms) CA_MUST_CHECK;

/* The head's next field (httphead_next). */
int httpc_field(const struct httpc_xfer *x, size_t *pos, struct httphead_field *f) CA_MUST_CHECK;

/* Up to `cap` body bytes, waiting up to timeout_ms: their count, 0 at the body's end, -EAGAIN
 * when none came in time, another -errno when the transfer failed (x->error). */
ssize_t httpc_read(struct httpc_xfer *x, char *buf, size_t cap, int timeout_ms) CA_MUST_CHECK;

/* Ends the transfer: a connection whose response was read to its end is kept for the next,
 * any other is closed. The xfer may be reused afterwards. */
void httpc_end(struct httpc_xfer *x);
