/* SPDX-License-Identifier: MIT */
/* HTTP/1.x response heads (httphead.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "httphead.h"
#include "parse.h"

static int digit(char c)
{
        return c >= '0' && c <= '9' ? c - '0' : -1;
}

int httphead_parse(const char *data, size_t len, int *status)
{
        size_t scan = len < HTTPHEAD_MAX ? len : HTTPHEAD_MAX;
        size_t i, end = 0;

        /* The status line, as far as it has arrived. */
        for (i = 0; i < scan && i < 12; i++) {
                static const char proto[] = "HTTP/1.";

                if (i < 7 && data[i] != proto[i])
                        return -EPROTO;
                if (i == 7 && data[i] != '0' && data[i] != '1')
                        return -EPROTO;
                if (i == 8 && data[i] != ' ')
                        return -EPROTO;
                if (i >= 9 && digit(data[i]) < 0)
                        return -EPROTO;
        }
        for (i = 0; i + 3 < scan; i++) {
                if (data[i] == '\r' && data[i + 1] == '\n' && data[i + 2] == '\r' &&
                    data[i + 3] == '\n') {
                        end = i + 4;
                        break;
                }
        }
        /* Header bytes: printable, tab, CR LF pairs only (checked on what has arrived). */
        for (i = 0; i < (end ? end : scan); i++) {
                unsigned char c = (unsigned char) data[i];

                if (c == '\r' && i + 1 < scan && data[i + 1] != '\n')
                        return -EPROTO;
                if (c == '\n' && (i == 0 || data[i - 1] != '\r'))
                        return -EPROTO;
                if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
                        return -EPROTO;
        }
        if (!end)
                return len >= HTTPHEAD_MAX ? -EMSGSIZE : 0;
        if (end < 14 || (data[12] != ' ' && data[12] != '\r'))
                return -EPROTO;
        *status = digit(data[9]) * 100 + digit(data[10]) * 10 + digit(data[11]);
        return (int) end;
}

/* ---- header fields ---- */

static bool tchar(unsigned char c)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *crlf(const char *p, const char *end)
{
        for (; p + 1 < end; p++) {
                if (p[0] == '\r' && p[1] == '\n')
                        return p;
        }
        return NULL;
}

int httphead_next(const char *head, size_t len, size_t *pos, struct httphead_field *f)
{
        const char *end = head + len, *p, *eol, *colon;

        if (*pos == 0) {
                eol = crlf(head, end);
                if (!eol)
                        return -EPROTO;
                *pos = (size_t) (eol + 2 - head);
        }
        p = head + *pos;
        eol = p < end ? crlf(p, end) : NULL;
        if (!eol)
                return -EPROTO;
        if (eol == p)
                return 0; /* the empty line: the head's end */
        colon = memchr(p, ':', (size_t) (eol - p));
        if (!colon || colon == p)
                return -EPROTO;
        for (const char *n = p; n < colon; n++) {
                if (!tchar((unsigned char) *n))
                        return -EPROTO; /* also a folded line, or a blank before the colon */
        }
        f->name = p;
        f->name_len = (size_t) (colon - p);
        p = colon + 1;
        while (p < eol && (*p == ' ' || *p == '\t'))
                p++;
        f->value = p;
        f->value_len = (size_t) (eol - p);
        while (f->value_len && (p[f->value_len - 1] == ' ' || p[f->value_len - 1] == '\t'))
                f->value_len--;
        *pos = (size_t) (eol + 2 - head);
        return 1;
}

static bool same_ci(const char *a, size_t alen, const char *b)
{
        size_t blen = strlen(b);

        if (alen != blen)
                return false;
        for (size_t i = 0; i < alen; i++) {
                unsigned char x = (unsigned char) a[i], y = (unsigned char) b[i];

                if (x >= 'A' && x <= 'Z')
                        x = (unsigned char) (x - 'A' + 'a');
                if (y >= 'A' && y <= 'Z')
                        y = (unsigned char) (y - 'A' + 'a');
                if (x != y)
                        return false;
        }
        return true;
}

bool httphead_is(const struct httphead_field *f, const char *name)
{
        return same_ci(f->name, f->name_len, name);
}

/* True when the comma-separated list v[0..len) holds `token`. */
static bool list_has(const char *v, size_t len, const char *token)
{
        size_t i = 0;

        while (i < len) {
                size_t start, stop;

                while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
                        i++;
                start = i;
                while (i < len && v[i] != ',')
                        i++;
                stop = i;
                while (stop > start && (v[stop - 1] == ' ' || v[stop - 1] == '\t'))
                        stop--;
                if (stop > start && same_ci(v + start, stop - start, token))
                        return true;
        }
        return false;
}

static int content_length(const struct httphead_field *f, uint64_t *out)
{
        uint64_t v = 0;

        if (f->value_len == 0 || f->value_len > 19)
                return -EPROTO;
        for (size_t i = 0; i < f->value_len; i++) {
                int d = digit(f->value[i]);

                if (d < 0)
                        return -EPROTO;
                v = v * 10 + (uint64_t) d;
        }
        *out = v;
        return 0;
}

int httphead_framing(const char *head, size_t len, int status, bool head_request,
                     enum httphead_framing *framing, uint64_t *length, bool *reusable)
{
        struct httphead_field f;
        size_t pos = 0;
        bool has_length = false, chunked = false, close = false;
        uint64_t n = 0;
        int r;

        while ((r = httphead_next(head, len, &pos, &f)) > 0) {
                if (httphead_is(&f, "content-length")) {
                        uint64_t v;

                        if (content_length(&f, &v) < 0 || (has_length && v != n))
                                return -EPROTO;
                        has_length = true;
                        n = v;
                } else if (httphead_is(&f, "transfer-encoding")) {
                        /* chunked alone: another coding would need decoding we do not do, and
                         * a second field is a smuggling attempt. */
                        if (chunked || !same_ci(f.value, f.value_len, "chunked"))
                                return -EPROTO;
                        chunked = true;
                } else if (httphead_is(&f, "connection") && list_has(f.value, f.value_len, "close")) {
                        close = true;
                }
        }
        if (r < 0 || (chunked && has_length))
                return -EPROTO;
        /* HTTP/1.0 closes unless told otherwise; we never ask it to stay. */
        *reusable = !close && len > 7 && head[7] == '1';
        *length = 0;
        if (head_request || (status >= 100 && status < 200) || status == 204 || status == 304)
                *framing = HTTPHEAD_NO_BODY;
        else if (chunked)
                *framing = HTTPHEAD_CHUNKED;
        else if (has_length)
                *framing = HTTPHEAD_LENGTH, *length = n;
        else
                *framing = HTTPHEAD_UNTIL_CLOSE, *reusable = false;
        return 0;
}

/* ---- chunked bodies ---- */

#define CHUNK_LINE_MAX 4096
#define CHUNK_TRAILER_MAX 16384

enum {
        CH_SIZE0, /* the first hex digit of a size */
        CH_SIZE,
        CH_EXT,   /* ";ext" after the size, up to CR */
        CH_SIZE_LF,
        CH_DATA,
        CH_DATA_CR,
        CH_DATA_LF,
        CH_TRAILER, /* a trailer line's start, or the final CR */
        CH_TRAILER_LINE,
        CH_TRAILER_LF,
        CH_END_LF,
        CH_DONE
};

/* One byte of framing (not data). 1 at the body's end, 0 to go on, or -errno. */
static int chunk_byte(struct httphead_chunked *c, unsigned char b)
{
        bool ctl = (b < 0x20 && b != '\t') || b == 0x7f;

        switch (c->state) {
        case CH_SIZE0:
        case CH_SIZE:
                if (parse_hex_digit((char) b) >= 0) {
                        if (c->left > (UINT64_MAX >> 4))
                                return -EMSGSIZE;
                        c->left = (c->left << 4) | (uint64_t) parse_hex_digit((char) b);
                        c->state = CH_SIZE;
                } else if (c->state == CH_SIZE && (b == ';' || b == ' ' || b == '\t')) {
                        c->state = CH_EXT;
                } else if (c->state == CH_SIZE && b == '\r') {
                        c->state = CH_SIZE_LF;
                } else {
                        return -EPROTO;
                }
                break;
        case CH_EXT:
                if (b == '\r')
                        c->state = CH_SIZE_LF;
                else if (ctl)
                        return -EPROTO;
                break;
        case CH_SIZE_LF:
                if (b != '\n')
                        return -EPROTO;
                c->line = 0;
                c->state = c->left ? CH_DATA : CH_TRAILER;
                return 0;
        case CH_DATA_CR:
                if (b != '\r')
                        return -EPROTO;
                c->state = CH_DATA_LF;
                return 0;
        case CH_DATA_LF:
                if (b != '\n')
                        return -EPROTO;
                c->state = CH_SIZE0;
                c->line = 0;
                return 0;
        case CH_TRAILER:
                c->state = b == '\r' ? CH_END_LF : CH_TRAILER_LINE;
                if (b != '\r' && (ctl || b == ' ' || b == ':'))
                        return -EPROTO;
                break;
        case CH_TRAILER_LINE:
                if (b == '\r')
                        c->state = CH_TRAILER_LF;
                else if (ctl)
                        return -EPROTO;
                break;
        case CH_TRAILER_LF:
                if (b != '\n')
                        return -EPROTO;
                c->state = CH_TRAILER;
                break;
        case CH_END_LF:
                if (b != '\n')
                        return -EPROTO;
                c->state = CH_DONE;
                return 1;
        default:
                return -EPROTO;
        }
        if (c->state <= CH_SIZE_LF && ++c->line > CHUNK_LINE_MAX)
                return -EMSGSIZE;
        if (c->state >= CH_TRAILER && ++c->trailers > CHUNK_TRAILER_MAX)
                return -EMSGSIZE;
        return 0;
}

int httphead_chunked_step(struct httphead_chunked *c, const char *in, size_t len,
                          size_t *consumed, size_t *off, size_t *data_len)
{
        size_t i = 0;

        *off = 0;
        *data_len = 0;
        if (c->state == CH_DONE) {
                *consumed = 0;
                return 1;
        }
        while (i < len) {
                int r;

                if (c->state == CH_DATA) {
                        size_t n = len - i;

                        if ((uint64_t) n > c->left)
                                n = (size_t) c->left;
                        *off = i;
                        *data_len = n;
                        c->left -= n;
                        if (c->left == 0)
                                c->state = CH_DATA_CR;
                        *consumed = i + n;
                        return 0;
                }
                r = chunk_byte(c, (unsigned char) in[i++]);
                if (r != 0) {
                        *consumed = i;
                        return r;
                }
        }
        *consumed = i;
        return 0;
}
