/* SPDX-License-Identifier: MIT */
#include "helper_http.h"

#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "digest.h"
#include "parse.h"

const char *helper_verdict_reason(enum helper_verdict v)
{
        switch (v) {
        case HELPER_OK:
                return "ok";
        case HELPER_BAD_METHOD:
                return "method not allowed";
        case HELPER_BAD_TARGET:
                return "request target outside the configured upstream path";
        case HELPER_BAD_HOST:
                return "Host does not name this helper";
        case HELPER_UPGRADE:
                return "protocol upgrades are not proxied";
        case HELPER_CONTROL:
                return "control bytes in the request line";
        }
        return "refused";
}

int helper_verdict_status(enum helper_verdict v)
{
        switch (v) {
        case HELPER_OK:
                return 200;
        case HELPER_BAD_METHOD:
                return 405;
        case HELPER_BAD_HOST:
                return 421;
        case HELPER_BAD_TARGET:
        case HELPER_UPGRADE:
        case HELPER_CONTROL:
                break;
        }
        return 400;
}

bool helper_visible_ascii(const char *s)
{
        if (!s || !*s)
                return false;
        for (; *s; s++) {
                if ((unsigned char) *s < 0x21 || (unsigned char) *s > 0x7e)
                        return false;
        }
        return true;
}


static bool is_unreserved(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_pchar(char c)
{
        return is_unreserved(c) || (c && strchr("!$&'()*+,;=:@", c));
}

/* Checks one escape at s ("%XX"); false for malformed or forbidden decoded bytes. */
static bool escape_ok(const char *s, bool in_path)
{
        int hi = parse_hex_digit(s[1]), lo = hi < 0 ? -1 : parse_hex_digit(s[2]);
        int b;

        if (hi < 0 || lo < 0)
                return false;
        b = hi * 16 + lo;
        if (b < 0x20 || b == 0x7f)
                return false;
        if (in_path && (b == '/' || b == '\\' || b == '.' || b == '%'))
                return false;
        return true;
}

bool helper_path_ok(const char *path, const char *base)
{
        size_t blen = strlen(base);
        const char *seg;

        if (path[0] != '/')
                return false;
        for (const char *p = path; *p; p++) {
                if (*p == '%') {
                        if (!escape_ok(p, true))
                                return false;
                        p += 2;
                } else if (*p != '/' && !is_pchar(*p)) {
                        return false;
                }
        }
        /* Segments: none empty (except a trailing slash), none "." or "..". */
        seg = path + 1;
        for (;;) {
                const char *end = strchr(seg, '/');
                size_t len = end ? (size_t) (end - seg) : strlen(seg);

                if ((len == 0 && end) || (len == 1 && seg[0] == '.') ||
                    (len == 2 && seg[0] == '.' && seg[1] == '.'))
                        return false;
                if (!end)
                        break;
                seg = end + 1;
        }
        if (blen == 0 || base[0] != '/' || base[blen - 1] != '/')
                return false;
        if (blen == 1)
                return true;
        return strncmp(path, base, blen) == 0 ||
               (strlen(path) == blen - 1 && strncmp(path, base, blen - 1) == 0);
}

bool helper_query_ok(const char *query)
{
        for (const char *p = query; *p; p++) {
                if (*p == '%') {
                        if (!escape_ok(p, false))
                                return false;
                        p += 2;
                } else if (*p != '/' && *p != '?' && !is_pchar(*p)) {
                        return false;
                }
        }
        return true;
}

bool helper_host_ok(const char *host, uint16_t port)
{
        static const char *const names[] = {"127.0.0.1", "localhost", "[::1]"};

        if (!host)
                return false;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                size_t n = strlen(names[i]);
                char want[16];
                int k;

                if (strncasecmp(host, names[i], n) != 0 || host[n] != ':')
                        continue;
                k = snprintf(want, sizeof(want), "%u", port);
                if (k > 0 && strcmp(host + n + 1, want) == 0)
                        return true;
        }
        return false;
}

bool helper_method_ok(const char *method)
{
        return strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0 ||
               strcmp(method, "DELETE") == 0;
}

static const char *skip_ws(const char *p)
{
        while (*p == ' ' || *p == '\t')
                p++;
        return p;
}

/* "q=0.5" -> 500; -1 when malformed. */
static int parse_q(const char *p, size_t len)
{
        int q = 0, digits = 0;

        if (len == 0 || len > 5)
                return -1;
        if (p[0] == '1') {
                for (size_t i = 1; i < len; i++) {
                        if ((i == 1 && p[i] != '.') || (i > 1 && p[i] != '0'))
                                return -1;
                }
                return 1000;
        }
        if (p[0] != '0')
                return -1;
        if (len == 1)
                return 0;
        if (p[1] != '.')
                return -1;
        for (size_t i = 2; i < len; i++) {
                if (p[i] < '0' || p[i] > '9')
                        return -1;
                q = q * 10 + (p[i] - '0');
                digits++;
        }
        while (digits++ < 3)
                q *= 10;
        return q;
}

int helper_accept_quality(const char *accept, const char *type)
{
        const char *slash = strchr(type, '/');
        size_t tlen = slash ? (size_t) (slash - type) : strlen(type);
        int best_spec = 0, best_q = 0;
        const char *p;

        if (!accept || !*skip_ws(accept))
                return 1000;
        for (p = accept; *p;) {
                const char *item = skip_ws(p), *end = strchr(item, ',');
                const char *mend, *params;
                size_t ilen = end ? (size_t) (end - item) : strlen(item);
                int spec = 0, q = 1000;

                p = end ? end + 1 : item + ilen;
                params = memchr(item, ';', ilen);
                mend = params ? params : item + ilen;
                while (mend > item && (mend[-1] == ' ' || mend[-1] == '\t'))
                        mend--;
                if ((size_t) (mend - item) == 3 && memcmp(item, "*/*", 3) == 0)
                        spec = 1;
                else if ((size_t) (mend - item) == tlen + 2 &&
                         strncasecmp(item, type, tlen) == 0 && item[tlen] == '/' &&
                         item[tlen + 1] == '*')
                        spec = 2;
                else if ((size_t) (mend - item) == strlen(type) &&
                         strncasecmp(item, type, strlen(type)) == 0)
                        spec = 3;
                /* Parameters: only q matters here. */
                while (params && params < item + ilen) {
                        const char *ps = skip_ws(params + 1);
                        const char *pe = memchr(ps, ';', (size_t) (item + ilen - ps));
                        size_t plen = pe ? (size_t) (pe - ps) : (size_t) (item + ilen - ps);

                        while (plen && (ps[plen - 1] == ' ' || ps[plen - 1] == '\t'))
                                plen--;
                        if (plen >= 2 && (ps[0] == 'q' || ps[0] == 'Q') && ps[1] == '=') {
                                int v = parse_q(ps + 2, plen - 2);
                                if (v < 0)
                                        spec = 0; /* malformed: ignore this range */
                                else
                                        q = v;
                        }
                        params = pe;
                }
                if (spec > best_spec) {
                        best_spec = spec;
                        best_q = q;
                }
        }
        return best_spec ? best_q : 0;
}

static bool in_list(const char *name, const char *const *list)
{
        for (; *list; list++) {
                if (strcasecmp(name, *list) == 0)
                        return true;
        }
        return false;
}

bool helper_forward_request_header(const char *name)
{
        static const char *const ok[] = {"accept", "content-type", "mcp-session-id",
                                         "mcp-protocol-version", "last-event-id", "user-agent",
                                         "cache-control", NULL};
        return in_list(name, ok);
}

bool helper_forward_response_header(const char *name)
{
        static const char *const ok[] = {"content-type", "mcp-session-id", "mcp-protocol-version",
                                         "cache-control", "retry-after", NULL};
        return in_list(name, ok);
}

bool helper_token_ok(const char *authorization, const uint8_t *token, size_t token_len)
{
        uint8_t a[DIGEST_SHA256_LEN], b[DIGEST_SHA256_LEN];
        const char *given;
        bool ok;

        if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0 || !token_len)
                return false;
        given = authorization + 7;
        if (digest_sha256(given, strlen(given), a) < 0 || digest_sha256(token, token_len, b) < 0)
                return false;
        ok = sodium_memcmp(a, b, sizeof(a)) == 0;
        sodium_memzero(a, sizeof(a));
        sodium_memzero(b, sizeof(b));
        return ok;
}

bool helper_rewrite_endpoint(const char *data, const char *origin, const char *base, char *out,
                             size_t outlen)
{
        size_t olen = strlen(origin);
        const char *cand;
        char path[2048];
        const char *q;
        size_t plen;

        data = skip_ws(data);
        if (data[0] == '/' && data[1] != '/')
                cand = data;
        else if (strncasecmp(data, origin, olen) == 0 && data[olen] == '/')
                cand = data + olen;
        else
                return false;
        q = strchr(cand, '?');
        plen = q ? (size_t) (q - cand) : strlen(cand);
        if (plen >= sizeof(path) || strlen(cand) >= outlen)
                return false;
        memcpy(path, cand, plen);
        path[plen] = '\0';
        if (!helper_path_ok(path, base) || (q && !helper_query_ok(q + 1)))
                return false;
        memcpy(out, cand, strlen(cand) + 1);
        return true;
}
