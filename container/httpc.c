/* SPDX-License-Identifier: MIT */
/* mcp-helper's upstream client (httpc.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "clock.h"
#include "digest.h"
#include "error.h"
#include "httpc.h"
#include "secret.h"

#define READ_CHUNK ((size_t) 16 << 10)
#define WRITE_TIMEOUT_MS 30000
/* 1xx answers before the real one (RFC 9110 allows several; a few suffice for any server). */
#define HTTPC_INTERIM_MAX 8

struct httpc_conn {
        int fd;
        SSL *ssl;
};

static int client_index = -1;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void make_index(void)
{
        client_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static int fail(struct httpc_xfer *x, int code, const char *fmt, ...) CA_PRINTF(3, 4);
static int fail(struct httpc_xfer *x, int code, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(x->error, sizeof(x->error), fmt, ap);
        va_end(ap);
        return -code;
}

/* ---- the client ---- */

/* TLS 1.3 hands out its session after the handshake: the newest is kept for the next
 * connection. */
static int new_session(SSL *ssl, SSL_SESSION *s)
{
        struct httpc *c = SSL_get_ex_data(ssl, client_index);

        if (!c)
                return 0;
        (void) pthread_mutex_lock(&c->lock);
        if (c->session)
                SSL_SESSION_free(c->session);
        c->session = s;
        (void) pthread_mutex_unlock(&c->lock);
        return 1; /* the reference is ours */
}

static bool is_ipv4(const char *s)
{
        struct in_addr a;

        return inet_pton(AF_INET, s, &a) == 1;
}

int httpc_init(struct httpc *c, const char *url, const struct httpc_options *o,
               struct ca_error *err)
{
        struct url u, p;

        memset(c, 0, sizeof(*c));
        (void) pthread_mutex_init(&c->lock, NULL);
        if (url_parse(url, &u, NULL) < 0 || !u.https)
                return ca_error_input(err, "'%s' is not an https URL", url);
        (void) snprintf(c->host, sizeof(c->host), "%s", u.host);
        c->host_ip = u.host_ipv6 || is_ipv4(u.host);
        c->port = u.port;
        (void) snprintf(c->authority, sizeof(c->authority), "%s%s%s:%u", u.host_ipv6 ? "[" : "",
                        u.host, u.host_ipv6 ? "]" : "", u.port);
        /* Host: names the port only when it is not the scheme's (as browsers and curl do). */
        if (u.port == 443)
                (void) snprintf(c->host_header, sizeof(c->host_header), "%s%s%s",
                                u.host_ipv6 ? "[" : "", u.host, u.host_ipv6 ? "]" : "");
        else
                (void) snprintf(c->host_header, sizeof(c->host_header), "%s", c->authority);
        if (o->proxy) {
                if (url_parse(o->proxy, &p, NULL) < 0 || p.https)
                        return ca_error_input(err, "the proxy '%s' is not http://HOST:PORT",
                                              o->proxy);
                (void) snprintf(c->proxy_host, sizeof(c->proxy_host), "%s", p.host);
                c->proxy_port = p.port;
        }
        c->proxy_login = o->proxy_login;
        c->pins = o->pins;
        c->npins = o->npins;
        (void) pthread_once(&index_once, make_index);
        c->ctx = SSL_CTX_new(TLS_client_method());
        if (!c->ctx || client_index < 0)
                return ca_error_setx(err, ENOMEM, "cannot create a TLS context");
        (void) SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
        /* A body that ends with the connection is cut short by an attacker either way; without
         * this, OpenSSL 3 reports every such end as an error. */
        (void) SSL_CTX_set_options(c->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
        (void) SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
        (void) SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_CLIENT |
                                                              SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(c->ctx, new_session);
        if (SSL_CTX_set_alpn_protos(c->ctx, (const unsigned char *) "\x08http/1.1", 9) != 0)
                return ca_error_setx(err, ENOMEM, "cannot set ALPN");
        if (o->ca_file ? SSL_CTX_load_verify_locations(c->ctx, o->ca_file, NULL) != 1
                       : SSL_CTX_set_default_verify_paths(c->ctx) != 1)
                return ca_error_input(err, "cannot load the trusted certificates%s%s",
                                      o->ca_file ? " from " : "", o->ca_file ? o->ca_file : "");
        return 0;
}

static void conn_close(struct httpc_conn *k)
{
        if (!k)
                return;
        if (k->ssl)
                SSL_free(k->ssl); /* no close_notify: the peer learns from the FIN */
        if (k->fd >= 0)
                (void) close(k->fd);
        free(k);
}

void httpc_clear(struct httpc *c)
{
        for (size_t i = 0; i < c->nidle; i++)
                conn_close(c->idle[i]);
        c->nidle = 0;
        if (c->session)
                SSL_SESSION_free(c->session);
        c->session = NULL;
        SSL_CTX_free(c->ctx);
        c->ctx = NULL;
        (void) pthread_mutex_destroy(&c->lock);
}

/* ---- sockets ---- */

static int remaining(int64_t deadline)
{
        return clock_left_ms(deadline, 60000);
}

static int wait_fd(int fd, short events, int timeout_ms)
{
        struct pollfd p = {.fd = fd, .events = events};
        int r;

        do
                r = poll(&p, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        return r < 0 ? -errno : r == 0 ? -ETIMEDOUT : 0;
}

static int tcp_connect(struct httpc_xfer *x, const char *host, uint16_t port, int64_t deadline)
{
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
        struct addrinfo *res = NULL;
        char service[8];
        int r, last = ECONNREFUSED;

        (void) snprintf(service, sizeof(service), "%u", port);
        r = getaddrinfo(host, service, &hints, &res);
        if (r != 0)
                return fail(x, EHOSTUNREACH, "cannot resolve %s: %s", host, gai_strerror(r));
        for (struct addrinfo *a = res; a; a = a->ai_next) {
                int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                                a->ai_protocol);
                int soerr = 0, one = 1;
                socklen_t sl = sizeof(soerr);

                if (fd < 0) {
                        last = errno;
                        continue;
                }
                if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
                        last = errno;
                } else if ((r = wait_fd(fd, POLLOUT, remaining(deadline))) < 0) {
                        last = -r;
                } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
                        last = soerr ? soerr : errno;
                } else {
                        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                        (void) setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
                        freeaddrinfo(res);
                        return fd;
                }
                (void) close(fd);
        }
        freeaddrinfo(res);
        return fail(x, last, "cannot connect to %s port %u: %s", host, port, strerror(last));
}

static int plain_write(int fd, const char *p, size_t len, int64_t deadline)
{
        while (len) {
                ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        int r = wait_fd(fd, POLLOUT, remaining(deadline));

                        if (r < 0)
                                return r;
                        continue;
                }
                if (n <= 0)
                        return n < 0 ? -errno : -EPIPE;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

/* The proxy's tunnel to the origin: CONNECT, its login, a 2xx answer and nothing after it. */
static int tunnel(struct httpc_xfer *x, int fd, int64_t deadline)
{
        const struct httpc *c = x->c;
        _cleanup_secret_ struct ca_secret *req = NULL;
        char head[HTTPHEAD_MAX];
        size_t len = 0, b64 = 0, cap;
        int status = 0, r;

        if (c->proxy_login)
                b64 = sodium_base64_ENCODED_LEN(c->proxy_login->len, sodium_base64_VARIANT_ORIGINAL);
        cap = 2 * strlen(c->authority) + b64 + 96;
        req = secret_new(cap);
        if (!req)
                return fail(x, ENOMEM, "out of memory");
        len = (size_t) snprintf((char *) req->buf, cap, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n",
                                c->authority, c->authority);
        if (c->proxy_login) {
                memcpy(req->buf + len, "Proxy-Authorization: Basic ", 27);
                len += 27;
                (void) sodium_bin2base64((char *) req->buf + len, b64, c->proxy_login->buf,
                                         c->proxy_login->len, sodium_base64_VARIANT_ORIGINAL);
                len += strlen((char *) req->buf + len);
                memcpy(req->buf + len, "\r\n", 2);
                len += 2;
        }
        memcpy(req->buf + len, "\r\n", 2);
        len += 2;
        r = plain_write(fd, (const char *) req->buf, len, deadline);
        if (r < 0)
                return fail(x, -r, "cannot write to the proxy: %s", strerror(-r));
        len = 0;
        for (;;) {
                ssize_t n;

                r = httphead_parse(head, len, &status);
                if (r > 0)
                        break;
                if (r < 0 || len == sizeof(head))
                        return fail(x, EPROTO, "the proxy's answer is not HTTP");
                r = wait_fd(fd, POLLIN, remaining(deadline));
                if (r < 0)
                        return fail(x, -r, "no answer from the proxy: %s", strerror(-r));
                n = recv(fd, head + len, sizeof(head) - len, 0);
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n <= 0)
                        return fail(x, ECONNRESET, "the proxy closed the connection");
                len += (size_t) n;
        }
        if (status < 200 || status > 299)
                return fail(x, EACCES, "the proxy refused the tunnel to %s (HTTP %d)",
                            c->authority, status);
        /* Nothing may follow a tunnel's answer before our ClientHello: it would be read as the
         * upstream's. */
        if ((size_t) r != len)
                return fail(x, EPROTO, "the proxy sent bytes after its answer");
        return 0;
}

static void tls_reason(struct httpc_xfer *x, SSL *ssl, int code)
{
        unsigned long e = ERR_get_error();
        long v = SSL_get_verify_result(ssl);
        char buf[128] = "";

        if (v != X509_V_OK) {
                (void) fail(x, code, "TLS: the certificate is not trusted: %s",
                            X509_verify_cert_error_string(v));
        } else {
                if (e)
                        ERR_error_string_n(e, buf, sizeof(buf));
                (void) fail(x, code, "TLS handshake failed%s%s", e ? ": " : "", buf);
        }
        ERR_clear_error();
}

/* 0 when the key presented is pinned (or nothing is pinned); -EPERM otherwise. */
static int check_pins(struct httpc_xfer *x, SSL *ssl)
{
        const struct httpc *c = x->c;
        X509 *cert = SSL_get0_peer_certificate(ssl);
        unsigned char *der = NULL;
        uint8_t md[32];
        char b64[48];
        int len;

        if (!c->npins)
                return 0;
        len = cert ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der) : -1;
        if (len <= 0 || digest_sha256(der, (size_t) len, md) < 0) {
                OPENSSL_free(der);
                return fail(x, EPERM, "the upstream presented no key to check the pins against");
        }
        OPENSSL_free(der);
        for (size_t i = 0; i < c->npins; i++) {
                if (sodium_memcmp(md, c->pins[i], sizeof(md)) == 0)
                        return 0;
        }
        sodium_bin2base64(b64, sizeof(b64), md, sizeof(md), sodium_base64_VARIANT_ORIGINAL);
        (void) snprintf(x->presented, sizeof(x->presented), "sha256//%s", b64);
        x->pin_mismatch = true;
        return fail(x, EPERM, "the upstream's key does not match the configured pins");
}

static int tls_wait(SSL *ssl, int fd, int ret, int64_t deadline)
{
        int e = SSL_get_error(ssl, ret);

        if (e == SSL_ERROR_WANT_READ)
                return wait_fd(fd, POLLIN, remaining(deadline));
        if (e == SSL_ERROR_WANT_WRITE)
                return wait_fd(fd, POLLOUT, remaining(deadline));
        return -EPROTO;
}

static int tls_start(struct httpc_xfer *x, struct httpc_conn *k, int64_t deadline)
{
        struct httpc *c = x->c;
        int r;

        k->ssl = SSL_new(c->ctx);
        if (!k->ssl || SSL_set_fd(k->ssl, k->fd) != 1 ||
            SSL_set_ex_data(k->ssl, client_index, c) != 1)
                return fail(x, ENOMEM, "cannot create a TLS connection");
        if (c->host_ip) {
                if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(k->ssl), c->host) != 1)
                        return fail(x, EINVAL, "cannot check the address %s", c->host);
        } else if (SSL_set_tlsext_host_name(k->ssl, c->host) != 1 ||
                   SSL_set1_host(k->ssl, c->host) != 1) {
                return fail(x, EINVAL, "cannot check the name %s", c->host);
        }
        (void) pthread_mutex_lock(&c->lock);
        if (c->session)
                (void) SSL_set_session(k->ssl, c->session);
        (void) pthread_mutex_unlock(&c->lock);
        /* SSL_get_error reads this thread's error queue: it must hold nothing older. */
        ERR_clear_error();
        while ((r = SSL_connect(k->ssl)) != 1) {
                int w = tls_wait(k->ssl, k->fd, r, deadline);

                if (w == -ETIMEDOUT)
                        return fail(x, ETIMEDOUT, "TLS handshake with %s timed out", c->authority);
                if (w < 0) {
                        tls_reason(x, k->ssl, ECONNABORTED);
                        return -ECONNABORTED;
                }
        }
        return check_pins(x, k->ssl);
}

static int conn_open(struct httpc_xfer *x, struct httpc_conn **ret)
{
        struct httpc *c = x->c;
        int64_t deadline = clock_monotonic_ms() + HTTPC_CONNECT_TIMEOUT_MS;
        struct httpc_conn *k = calloc(1, sizeof(*k));
        int r;

        if (!k)
                return fail(x, ENOMEM, "out of memory");
        k->fd = tcp_connect(x, c->proxy_host[0] ? c->proxy_host : c->host,
                            c->proxy_host[0] ? c->proxy_port : c->port, deadline);
        r = k->fd < 0 ? k->fd : 0;
        if (r == 0 && c->proxy_host[0])
                r = tunnel(x, k->fd, deadline);
        if (r == 0)
                r = tls_start(x, k, deadline);
        if (r < 0) {
                conn_close(k);
                return r;
        }
        *ret = k;
        return 0;
}

/* A kept connection, unless the peer closed it (or sent something unasked) meanwhile. */
static struct httpc_conn *conn_take(struct httpc *c)
{
        for (;;) {
                struct httpc_conn *k = NULL;
                struct pollfd p;

                (void) pthread_mutex_lock(&c->lock);
                if (c->nidle)
                        k = c->idle[--c->nidle];
                (void) pthread_mutex_unlock(&c->lock);
                if (!k)
                        return NULL;
                p = (struct pollfd){.fd = k->fd, .events = POLLIN};
                if (poll(&p, 1, 0) == 0)
                        return k;
                conn_close(k);
        }
}

static void conn_keep(struct httpc *c, struct httpc_conn *k)
{
        (void) pthread_mutex_lock(&c->lock);
        if (c->nidle < HTTPC_IDLE_MAX) {
                c->idle[c->nidle++] = k;
                k = NULL;
        }
        (void) pthread_mutex_unlock(&c->lock);
        conn_close(k);
}

/* ---- one request ---- */

static int tls_write(struct httpc_conn *k, const void *p, size_t len, int64_t deadline)
{
        while (len) {
                size_t n = 0;
                int r;

                ERR_clear_error();
                r = SSL_write_ex(k->ssl, p, len, &n);
                if (r == 1) {
                        p = (const char *) p + n;
                        len -= n;
                        continue;
                }
                r = tls_wait(k->ssl, k->fd, r, deadline);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Room for READ_CHUNK more bytes in x->in, consumed body bytes dropped. The buffer may hold a
 * refreshed login (the token endpoint's answer): it moves by copy and zeroing, not realloc. */
static int make_room(struct httpc_xfer *x)
{
        char *p;
        size_t cap;

        if (x->in_off) {
                memmove(x->in, x->in + x->in_off, x->in_len - x->in_off);
                x->in_len -= x->in_off;
                x->in_off = 0;
        }
        if (x->in_cap - x->in_len >= READ_CHUNK)
                return 0;
        cap = x->in_cap ? x->in_len + READ_CHUNK : HTTPHEAD_MAX + READ_CHUNK;
        p = malloc(cap);
        if (!p)
                return fail(x, ENOMEM, "out of memory");
        if (x->in) {
                memcpy(p, x->in, x->in_len);
                sodium_memzero(x->in, x->in_cap);
                free(x->in);
        }
        x->in = p;
        x->in_cap = cap;
        return 0;
}

/* Some bytes into x->in: their count, 0 at the connection's end, -EAGAIN after timeout_ms. */
static ssize_t fill(struct httpc_xfer *x, int timeout_ms)
{
        size_t n = 0;
        int r = make_room(x);

        if (r < 0)
                return r;
        for (;;) {
                ERR_clear_error();
                r = SSL_read_ex(x->conn->ssl, x->in + x->in_len, x->in_cap - x->in_len, &n);
                if (r == 1) {
                        x->in_len += n;
                        return (ssize_t) n;
                }
                r = SSL_get_error(x->conn->ssl, r);
                if (r == SSL_ERROR_ZERO_RETURN)
                        return 0;
                if (r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE) {
                        r = wait_fd(x->conn->fd, r == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
                                    timeout_ms);
                        if (r == -ETIMEDOUT)
                                return -EAGAIN;
                        if (r < 0)
                                return fail(x, -r, "reading from the upstream: %s", strerror(-r));
                        continue;
                }
                if (r == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
                        return fail(x, ECONNRESET, "the upstream reset the connection");
                tls_reason(x, x->conn->ssl, EPROTO);
                return -EPROTO;
        }
}

static void drop_request(struct httpc_xfer *x)
{
        x->req = secret_free(x->req);
        x->body = NULL;
        x->body_len = 0;
}

static int write_request(struct httpc_xfer *x)
{
        int64_t deadline = clock_monotonic_ms() + WRITE_TIMEOUT_MS;
        int r = tls_write(x->conn, x->req->buf, x->req->len, deadline);

        if (r == 0 && x->body_len)
                r = tls_write(x->conn, x->body, x->body_len, deadline);
        return r < 0 ? fail(x, -r == ETIMEDOUT ? ETIMEDOUT : EPIPE, "cannot send the request")
                     : 0;
}

/* A connection for the request (a kept one unless `fresh`), and the request on it. */
static int dispatch(struct httpc_xfer *x, bool fresh)
{
        int r;

        x->conn = fresh ? NULL : conn_take(x->c);
        x->reused = x->conn != NULL;
        if (!x->conn) {
                r = conn_open(x, &x->conn);
                if (r < 0)
                        return r;
        }
        r = write_request(x);
        if (r < 0 && x->reused && !x->retried) {
                /* The kept connection was gone: once more, on a new one. */
                x->retried = true;
                conn_close(x->conn);
                x->conn = NULL;
                return dispatch(x, true);
        }
        return r;
}

int httpc_send(struct httpc *c, struct httpc_xfer *x, const char *method, const char *target,
               const struct iovec *hdrs, size_t nhdrs, const void *body, size_t body_len)
{
        bool length = body_len || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
        size_t cap = strlen(method) + strlen(target) + strlen(c->authority) + 64;
        size_t len;

        memset(x, 0, sizeof(*x));
        x->c = c;
        x->head_request = strcmp(method, "HEAD") == 0;
        for (size_t i = 0; i < nhdrs; i++)
                cap += hdrs[i].iov_len + 2;
        x->req = secret_new(cap);
        if (!x->req)
                return fail(x, ENOMEM, "out of memory");
        len = (size_t) snprintf((char *) x->req->buf, cap, "%s %s HTTP/1.1\r\nHost: %s\r\n",
                                method, target, c->host_header);
        for (size_t i = 0; i < nhdrs; i++) {
                memcpy(x->req->buf + len, hdrs[i].iov_base, hdrs[i].iov_len);
                len += hdrs[i].iov_len;
                memcpy(x->req->buf + len, "\r\n", 2);
                len += 2;
        }
        if (length)
                len += (size_t) snprintf((char *) x->req->buf + len, cap - len,
                                         "Content-Length: %zu\r\n", body_len);
        memcpy(x->req->buf + len, "\r\n", 2);
        x->req->len = len + 2;
        x->body = body;
        x->body_len = body_len;
        return dispatch(x, false);
}

/* The head is complete at in[0..r): 1xx answers are dropped, anything else framed and moved
 * to x->head, the body's first bytes left in x->in. */
static int take_head(struct httpc_xfer *x, int r, int status)
{
        if (status == 101)
                return fail(x, EPROTO, "the upstream switched protocols unasked");
        if (status < 200) {
                /* An upstream that only ever says "wait" is not waited for forever. */
                if (++x->interim > HTTPC_INTERIM_MAX)
                        return fail(x, EPROTO, "the upstream sent more than %d interim answers",
                                    HTTPC_INTERIM_MAX);
                memmove(x->in, x->in + r, x->in_len - (size_t) r);
                x->in_len -= (size_t) r;
                return 0;
        }
        if (httphead_framing(x->in, (size_t) r, status, x->head_request, &x->framing, &x->left,
                             &x->reusable) < 0)
                return fail(x, EPROTO, "the upstream's answer has no clear length");
        x->head = malloc((size_t) r);
        if (!x->head)
                return fail(x, ENOMEM, "out of memory");
        memcpy(x->head, x->in, (size_t) r);
        x->head_len = (size_t) r;
        x->status = status;
        x->in_off = (size_t) r;
        x->done = x->framing == HTTPHEAD_NO_BODY ||
                  (x->framing == HTTPHEAD_LENGTH && x->left == 0);
        drop_request(x);
        return 1;
}

int httpc_head(struct httpc_xfer *x, int timeout_ms)
{
        int64_t deadline = clock_monotonic_ms() + timeout_ms;

        if (x->head_len)
                return 1;
        if (!x->conn)
                return -EIO;
        for (;;) {
                int status = 0;
                int r = httphead_parse(x->in, x->in_len, &status);
                ssize_t n;

                if (r > 0) {
                        r = take_head(x, r, status);
                        if (r != 0)
                                return r;
                        continue;
                }
                if (r == -EMSGSIZE)
                        return fail(x, EMSGSIZE, "the upstream's answer head is too large");
                if (r < 0)
                        return fail(x, EPROTO, "the upstream's answer is not HTTP/1.1");
                n = fill(x, remaining(deadline));
                if (n == -EAGAIN)
                        return 0;
                if (n <= 0 && x->in_len == 0 && x->reused && !x->retried) {
                        /* A kept connection the upstream had closed: a new one, once. */
                        x->retried = true;
                        conn_close(x->conn);
                        x->conn = NULL;
                        r = dispatch(x, true);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (n == 0)
                        return fail(x, ECONNRESET, "the upstream closed the connection without "
                                                   "an answer");
                if (n < 0)
                        return (int) n;
        }
}

int httpc_field(const struct httpc_xfer *x, size_t *pos, struct httphead_field *f)
{
        return x->head ? httphead_next(x->head, x->head_len, pos, f) : 0;
}

/* Body bytes from what was read: their count, or 0 when more must be read. */
static ssize_t from_buffer(struct httpc_xfer *x, char *buf, size_t cap)
{
        size_t avail = x->in_len - x->in_off;

        while (avail && !x->done) {
                size_t n = avail < cap ? avail : cap;

                if (x->framing == HTTPHEAD_LENGTH) {
                        if ((uint64_t) n > x->left)
                                n = (size_t) x->left;
                        memcpy(buf, x->in + x->in_off, n);
                        x->in_off += n;
                        x->left -= n;
                        x->done = x->left == 0;
                        return (ssize_t) n;
                }
                if (x->framing == HTTPHEAD_UNTIL_CLOSE) {
                        memcpy(buf, x->in + x->in_off, n);
                        x->in_off += n;
                        return (ssize_t) n;
                }
                {
                        size_t consumed = 0, off = 0, dlen = 0;
                        int r = httphead_chunked_step(&x->chunked, x->in + x->in_off, n,
                                                      &consumed, &off, &dlen);

                        if (dlen)
                                memcpy(buf, x->in + x->in_off + off, dlen);
                        x->in_off += consumed;
                        avail -= consumed;
                        if (r < 0)
                                return fail(x, EPROTO, "the upstream's chunked body is malformed");
                        if (r == 1)
                                x->done = true;
                        if (dlen)
                                return (ssize_t) dlen;
                }
        }
        return 0;
}

ssize_t httpc_read(struct httpc_xfer *x, char *buf, size_t cap, int timeout_ms)
{
        int64_t deadline = clock_monotonic_ms() + timeout_ms;

        if (!x->head_len || !x->conn)
                return -EIO;
        for (;;) {
                ssize_t n = x->done ? 0 : from_buffer(x, buf, cap);

                if (n != 0 || x->done)
                        return n;
                n = fill(x, remaining(deadline));
                if (n == 0 && x->framing == HTTPHEAD_UNTIL_CLOSE) {
                        x->done = true;
                        x->reusable = false;
                        return 0;
                }
                if (n == 0)
                        return fail(x, ECONNRESET, "the upstream closed the connection before "
                                                   "the end of its answer");
                if (n < 0)
                        return n;
        }
}

void httpc_end(struct httpc_xfer *x)
{
        if (x->conn) {
                /* Kept only when exactly this answer was read: nothing unread, nothing extra. */
                if (x->done && x->reusable && x->in_off == x->in_len)
                        conn_keep(x->c, x->conn);
                else
                        conn_close(x->conn);
        }
        x->conn = NULL;
        drop_request(x);
        if (x->in)
                sodium_memzero(x->in, x->in_cap);
        free(x->in);
        free(x->head);
        x->in = x->head = NULL;
        x->in_len = x->in_cap = x->in_off = x->head_len = 0;
}
