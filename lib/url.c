/* SPDX-License-Identifier: MIT */
#include "url.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "parse.h"

static bool is_alnum_lower(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool url_is_dns_name(const char *s, size_t len)
{
        size_t label = 0;

        if (len == 0 || len > URL_HOST_MAX)
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (c == '.') {
                        if (label == 0 || s[i - 1] == '-')
                                return false;
                        label = 0;
                        continue;
                }
                if (!is_alnum_lower(c) && c != '-')
                        return false;
                if (c == '-' && label == 0)
                        return false;
                if (++label > 63)
                        return false;
        }
        return label > 0 && s[len - 1] != '-';
}

static bool is_ipv4(const char *s, size_t len)
{
        unsigned parts = 0;
        size_t i = 0;

        while (i < len) {
                unsigned v = 0;
                size_t digits = 0;

                while (i < len && s[i] >= '0' && s[i] <= '9') {
                        v = v * 10 + (unsigned) (s[i] - '0');
                        if (++digits > 3 || v > 255)
                                return false;
                        i++;
                }
                /* No leading zeros: "010" is octal to some resolvers and decimal to others. */
                if (digits == 0 || (digits > 1 && s[i - digits] == '0'))
                        return false;
                parts++;
                if (i == len)
                        break;
                if (s[i] != '.' || parts == 4)
                        return false;
                i++;
                if (i == len)
                        return false;
        }
        return parts == 4;
}

/* A host whose last label is all digits is an IPv4 address or nothing (as in the WHATWG URL
 * standard): "010.0.0.1" must not slip through as a DNS name. */
static bool last_label_numeric(const char *s, size_t len)
{
        size_t i = len;

        while (i > 0 && s[i - 1] != '.')
                i--;
        if (i == len)
                return false;
        for (size_t j = i; j < len; j++) {
                if (s[j] < '0' || s[j] > '9')
                        return false;
        }
        return true;
}

static bool is_ipv6_text(const char *s, size_t len)
{
        size_t colons = 0;

        if (len < 2 || len > 45)
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (c == ':')
                        colons++;
                else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '.'))
                        return false;
        }
        return colons >= 2 && colons <= 7;
}

static int fail(const char **ret_reason, const char *why)
{
        if (ret_reason)
                *ret_reason = why;
        return -EINVAL;
}

int url_parse(const char *s, struct url *out, const char **ret_reason)
{
        const char *p;
        const char *auth;
        size_t auth_len;
        const char *host;
        size_t host_len;
        const char *rest;

        memset(out, 0, sizeof(*out));
        out->path = "";
        if (strncasecmp(s, "https://", 8) == 0) {
                out->https = true;
                p = s + 8;
        } else if (strncasecmp(s, "http://", 7) == 0) {
                p = s + 7;
        } else {
                return fail(ret_reason, "scheme must be https:// or http://");
        }
        for (const char *q = s; *q; q++) {
                unsigned char c = (unsigned char) *q;
                if (c <= 0x20 || c == 0x7f)
                        return fail(ret_reason, "whitespace or control character");
                if (c >= 0x80)
                        return fail(ret_reason, "non-ASCII character (percent-encode it)");
                if (c == '\\')
                        return fail(ret_reason, "backslash");
                if (c == '#')
                        return fail(ret_reason, "fragment ('#')");
        }

        auth = p;
        auth_len = strcspn(auth, "/?");
        rest = auth + auth_len;
        if (memchr(auth, '@', auth_len))
                return fail(ret_reason, "credentials in the URL ('user@host')");
        if (auth_len == 0)
                return fail(ret_reason, "empty host");

        host = auth;
        if (auth[0] == '[') {
                const char *close = memchr(auth, ']', auth_len);
                if (!close)
                        return fail(ret_reason, "unterminated IPv6 address");
                host = auth + 1;
                host_len = (size_t) (close - host);
                out->host_ipv6 = true;
                p = close + 1;
        } else {
                const char *colon = memchr(auth, ':', auth_len);
                host_len = colon ? (size_t) (colon - auth) : auth_len;
                p = auth + host_len;
        }
        if (host_len == 0 || host_len > URL_HOST_MAX)
                return fail(ret_reason, "bad host length");
        for (size_t i = 0; i < host_len; i++) {
                char c = host[i];
                out->host[i] = (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
        }
        out->host[host_len] = '\0';
        if (out->host_ipv6 ? !is_ipv6_text(out->host, host_len)
                           : !(is_ipv4(out->host, host_len) ||
                               (!last_label_numeric(out->host, host_len) &&
                                url_is_dns_name(out->host, host_len))))
                return fail(ret_reason, "bad host name");

        if (p < rest) {
                unsigned v = 0;
                if (*p != ':' || p + 1 == rest)
                        return fail(ret_reason, "bad port");
                for (p++; p < rest; p++) {
                        if (*p < '0' || *p > '9')
                                return fail(ret_reason, "bad port");
                        v = v * 10 + (unsigned) (*p - '0');
                        if (v > 65535)
                                return fail(ret_reason, "port out of range");
                }
                if (v == 0)
                        return fail(ret_reason, "port out of range");
                out->port = (uint16_t) v;
                out->port_explicit = true;
        } else {
                out->port = out->https ? 443 : 80;
        }

        out->path = rest;
        out->path_len = strcspn(rest, "?");
        if (rest[out->path_len] == '?') {
                out->query = rest + out->path_len + 1;
                out->query_len = strlen(out->query);
        }
        for (const char *q = rest; *q; q++) {
                if (*q == '%' && (parse_hex_digit(q[1]) < 0 || parse_hex_digit(q[2]) < 0))
                        return fail(ret_reason, "bad percent-encoding");
        }
        return 0;
}
