/* SPDX-License-Identifier: MIT */
#include "proxylog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "egress_rules.h"
#include "parse.h"

#define ACCESS_FIELDS 13

struct tok {
        const char *p;
        size_t len;
};

/* Splits on single spaces; fails on more than `max` fields or an empty one. */
static int split(const char *line, size_t len, struct tok *t, size_t max, size_t *ret_n)
{
        size_t n = 0, start = 0;

        for (size_t i = 0; i <= len; i++) {
                if (i < len && line[i] != ' ')
                        continue;
                if (i == start || n == max)
                        return -EINVAL;
                t[n++] = (struct tok){line + start, i - start};
                start = i + 1;
        }
        *ret_n = n;
        return 0;
}

static bool is_dash(const struct tok *t)
{
        return t->len == 1 && t->p[0] == '-';
}

static bool in_set(char c, const char *set)
{
        return c && strchr(set, c);
}

/* Copies a token made only of `set` characters (or '-' as empty when `dash`). */
static int copy_tok(char *dst, size_t size, const struct tok *t, const char *set, bool dash)
{
        if (dash && is_dash(t)) {
                dst[0] = '\0';
                return 0;
        }
        if (t->len >= size)
                return -EINVAL;
        for (size_t i = 0; i < t->len; i++) {
                if (!in_set(t->p[i], set))
                        return -EINVAL;
        }
        memcpy(dst, t->p, t->len);
        dst[t->len] = '\0';
        return 0;
}

static int tok_u64(const struct tok *t, uint64_t max, uint64_t *out)
{
        uint64_t v = 0;

        if (!t->len || t->len > 20)
                return -EINVAL;
        for (size_t i = 0; i < t->len; i++) {
                unsigned d;

                if (t->p[i] < '0' || t->p[i] > '9')
                        return -EINVAL;
                d = (unsigned) (t->p[i] - '0');
                if (v > (max - d) / 10)
                        return -EINVAL;
                v = v * 10 + d;
        }
        *out = v;
        return 0;
}

static int tok_opt_len(const struct tok *t, int64_t *out)
{
        uint64_t v;

        if (is_dash(t)) {
                *out = -1;
                return 0;
        }
        if (tok_u64(t, INT64_MAX, &v) < 0)
                return -EINVAL;
        *out = (int64_t) v;
        return 0;
}


/* The host as squid logs it: a name, an IPv4 address or "%5B<IPv6>%5D". */
static int copy_host(char *dst, size_t size, const struct tok *t)
{
        static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                 ".-_:";
        size_t o = 0;

        if (is_dash(t)) {
                dst[0] = '\0';
                return 0;
        }
        for (size_t i = 0; i < t->len; i++) {
                char c = t->p[i];

                if (c == '%') {
                        int hi, lo;

                        if (i + 2 >= t->len)
                                return -EINVAL;
                        hi = parse_hex_digit(t->p[i + 1]);
                        lo = parse_hex_digit(t->p[i + 2]);
                        if (hi < 0 || lo < 0)
                                return -EINVAL;
                        c = (char) (hi * 16 + lo);
                        i += 2;
                        if (c == '[' || c == ']')
                                continue;
                        return -EINVAL;
                }
                if (c == '[' || c == ']')
                        continue;
                if (!in_set(c, ok) || o + 1 >= size)
                        return -EINVAL;
                dst[o++] = c;
        }
        if (!o)
                return -EINVAL;
        dst[o] = '\0';
        return 0;
}

static const char ip_chars[] = "0123456789abcdefABCDEF:.";
static const char upper_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789";

int proxylog_parse_access(const char *line, size_t len, struct proxylog_access *out)
{
        struct tok t[ACCESS_FIELDS];
        uint64_t v;
        size_t n;

        memset(out, 0, sizeof(*out));
        if (len > PROXYLOG_MAX_LINE || split(line, len, t, ACCESS_FIELDS, &n) < 0 ||
            n != ACCESS_FIELDS)
                return -EINVAL;
        if (copy_tok(out->ts, sizeof(out->ts), &t[0], "0123456789.", false) < 0 ||
            copy_tok(out->client, sizeof(out->client), &t[1], ip_chars, true) < 0 ||
            copy_tok(out->method, sizeof(out->method), &t[2], upper_chars, true) < 0 ||
            copy_host(out->host, sizeof(out->host), &t[3]) < 0 ||
            copy_tok(out->server, sizeof(out->server), &t[5], ip_chars, true) < 0 ||
            copy_tok(out->squid_status, sizeof(out->squid_status), &t[7], upper_chars, false) < 0 ||
            copy_tok(out->err_code, sizeof(out->err_code), &t[8], upper_chars, true) < 0 ||
            tok_opt_len(&t[9], &out->request_length) < 0 ||
            tok_opt_len(&t[10], &out->upstream_body) < 0 ||
            tok_u64(&t[11], UINT64_MAX, &out->reply_bytes) < 0 ||
            tok_u64(&t[12], UINT64_MAX, &out->request_bytes) < 0)
                return -EINVAL;
        if (is_dash(&t[4]))
                out->port = 0;
        else if (tok_u64(&t[4], 65535, &v) < 0)
                return -EINVAL;
        else
                out->port = (uint32_t) v;
        if (tok_u64(&t[6], 999, &v) < 0)
                return -EINVAL;
        out->status = (int) v;
        return 0;
}

/* ---- dnsmasq ---- */

static const char name_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                 ".-_*<>\\";

int proxylog_parse_dns(const char *line, size_t len, struct proxylog_dns *out)
{
        struct tok t[8];
        const char *p, *end = line + len;
        size_t n;

        memset(out, 0, sizeof(*out));
        if (len > PROXYLOG_MAX_LINE)
                return -EINVAL;
        /* "Mmm dd hh:mm:ss dnsmasq[pid]: " */
        p = memmem(line, len, "dnsmasq[", 8);
        if (!p || p - line > 32)
                return -EINVAL;
        p = memmem(p, (size_t) (end - p), "]: ", 3);
        if (!p)
                return -EINVAL;
        p += 3;
        out->kind = PROXYLOG_DNS_OTHER;
        if (p == end || *p < '0' || *p > '9' || split(p, (size_t) (end - p), t, 8, &n) < 0 ||
            n < 3)
                return 0; /* a status line: "started, version ..." */
        {
                const struct tok *c = &t[1];
                const char *slash = memchr(c->p, '/', c->len);
                struct tok addr = {c->p, slash ? (size_t) (slash - c->p) : c->len};

                if (copy_tok(out->client, sizeof(out->client), &addr, ip_chars, false) < 0)
                        return -EINVAL;
        }
        if (t[2].len > 7 && memcmp(t[2].p, "query[", 6) == 0 && t[2].p[t[2].len - 1] == ']') {
                struct tok type = {t[2].p + 6, t[2].len - 7};

                if (n < 4 || copy_tok(out->type, sizeof(out->type), &type,
                                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=", false) < 0 ||
                    copy_tok(out->name, sizeof(out->name), &t[3], name_chars, false) < 0)
                        return -EINVAL;
                out->kind = PROXYLOG_DNS_QUERY;
                return 0;
        }
        if (n == 6 && t[4].len == 2 && memcmp(t[4].p, "is", 2) == 0) {
                bool reply = (t[2].len == 5 && memcmp(t[2].p, "reply", 5) == 0) ||
                             (t[2].len == 6 && memcmp(t[2].p, "cached", 6) == 0);
                bool policy = t[2].len == 6 && memcmp(t[2].p, "config", 6) == 0;

                if (!reply && !policy)
                        return 0;
                if (copy_tok(out->name, sizeof(out->name), &t[3], name_chars, false) < 0 ||
                    copy_tok(out->value, sizeof(out->value), &t[5],
                             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:.<>-_",
                             false) < 0)
                        return -EINVAL;
                out->kind = reply ? PROXYLOG_DNS_REPLY : PROXYLOG_DNS_POLICY;
        }
        return 0;
}

/* ---- events ---- */

static struct proxylog_name *find_name(struct proxylog *pl, const char *name)
{
        for (size_t i = 0; i < PROXYLOG_NAMES; i++) {
                if (pl->names[i].name[0] && strcmp(pl->names[i].name, name) == 0)
                        return &pl->names[i];
        }
        return NULL;
}

const char *proxylog_addresses(const struct proxylog *pl, const char *name)
{
        for (size_t i = 0; i < PROXYLOG_NAMES; i++) {
                if (pl->names[i].name[0] && strcmp(pl->names[i].name, name) == 0)
                        return pl->names[i].addrs;
        }
        return "";
}

static struct proxylog_name *name_slot(struct proxylog *pl, const char *name)
{
        struct proxylog_name *e = find_name(pl, name);

        if (!e) {
                e = &pl->names[pl->next];
                pl->next = (pl->next + 1) % PROXYLOG_NAMES;
                (void) snprintf(e->name, sizeof(e->name), "%s", name);
                e->addrs[0] = '\0';
        }
        return e;
}

static bool is_ip(const char *s)
{
        unsigned char tmp[16];

        return inet_pton(AF_INET, s, tmp) == 1 || inet_pton(AF_INET6, s, tmp) == 1;
}

static void remember(struct proxylog *pl, const struct proxylog_dns *d)
{
        struct proxylog_name *e;
        size_t have, add;

        if (!is_ip(d->value))
                return;
        e = name_slot(pl, d->name);
        have = strlen(e->addrs);
        add = strlen(d->value);
        {
                /* Already listed? */
                const char *p = e->addrs;
                while ((p = strstr(p, d->value))) {
                        if ((p == e->addrs || p[-1] == ',') && (p[add] == ',' || !p[add]))
                                return;
                        p++;
                }
        }
        if (have + 1 + add + 1 > sizeof(e->addrs))
                return;
        if (have)
                e->addrs[have++] = ',';
        memcpy(e->addrs + have, d->value, add + 1);
}

/* Squid's own reverse lookups of client addresses: answered NXDOMAIN locally, not events. */
static bool is_reverse(const char *name)
{
        size_t n = strlen(name);

        return (n >= 13 && strcmp(name + n - 13, ".in-addr.arpa") == 0) ||
               (n >= 9 && strcmp(name + n - 9, ".ip6.arpa") == 0);
}

int proxylog_feed_dns(struct proxylog *pl, const char *line, size_t len, const char **type,
                      json_t **fields)
{
        struct proxylog_dns d;

        *fields = NULL;
        pl->lines++;
        if (proxylog_parse_dns(line, len, &d) < 0) {
                pl->malformed++;
                return 0;
        }
        if (is_reverse(d.name))
                return 0;
        switch (d.kind) {
        case PROXYLOG_DNS_QUERY:
                if (strcmp(d.type, "A") == 0) {
                        /* A new lookup: forget the old answers (rebinding shows as new ones). */
                        struct proxylog_name *e = find_name(pl, d.name);
                        if (e)
                                e->addrs[0] = '\0';
                        return 0;
                }
                if (strcmp(d.type, "AAAA") == 0 || strcmp(d.type, "CNAME") == 0)
                        return 0;
                *type = "dns-denied";
                *fields = json_pack("{s:s, s:s, s:s, s:s}", "client", d.client, "name", d.name,
                                    "type", d.type, "reason", "record-type");
                break;
        case PROXYLOG_DNS_REPLY:
                remember(pl, &d);
                return 0;
        case PROXYLOG_DNS_POLICY:
                if (strcmp(d.value, "NXDOMAIN") != 0)
                        return 0;
                *type = "dns-denied";
                *fields = json_pack("{s:s, s:s, s:s}", "client", d.client, "name", d.name,
                                    "reason", "not-allowed");
                break;
        default:
                return 0;
        }
        return *fields ? 1 : -ENOMEM;
}

int proxylog_feed_access(struct proxylog *pl, const char *line, size_t len, const char **type,
                         json_t **fields)
{
        struct proxylog_access a;
        const struct egress_rule *rule;

        *fields = NULL;
        pl->lines++;
        if (proxylog_parse_access(line, len, &a) < 0) {
                pl->malformed++;
                return 0;
        }
        if (strncmp(a.err_code, "ERR_CA_", 7) == 0) {
                rule = egress_rule_for_error(a.err_code);
                *type = "proxy-denied";
                *fields = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:i}", "client", a.client,
                                    "method", a.method, "host", a.host, "port", (int) a.port,
                                    "address",
                                    is_ip(a.host) ? a.host : proxylog_addresses(pl, a.host),
                                    "rule", rule ? rule->name : "unknown", "status", a.status);
        } else if (strcmp(a.err_code, "ERR_TOO_BIG") == 0) {
                /* Refused up front: a request body (413) or a reply whose length was known. */
                bool request = a.status == 413;

                *type = "proxy-limit";
                *fields = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:I, s:i}", "client",
                                    a.client, "method", a.method, "host", a.host, "port",
                                    (int) a.port, "limit", request ? "request-body" : "reply-body",
                                    "action", "refused", "max",
                                    (json_int_t) (request ? pl->max_request : pl->max_reply),
                                    "status", a.status);
                if (*fields && request && a.request_length >= 0 &&
                    json_object_set_new(*fields, "size", json_integer(a.request_length)) < 0)
                        return -ENOMEM;
        } else if (pl->max_reply && a.upstream_body > 0 &&
                   (uint64_t) a.upstream_body > pl->max_reply) {
                /* A reply without a length, cut off by squid once past the cap. */
                *type = "proxy-limit";
                *fields = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:I, s:I, s:i}", "client",
                                    a.client, "method", a.method, "host", a.host, "port",
                                    (int) a.port, "limit", "reply-body", "action", "cut", "max",
                                    (json_int_t) pl->max_reply, "received",
                                    (json_int_t) a.upstream_body, "status", a.status);
        } else {
                return 0;
        }
        return *fields ? 1 : -ENOMEM;
}
