/* SPDX-License-Identifier: MIT */
/* Untrusted text made safe for a terminal (textsafe.h). */
#include "textsafe.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"

/*
 * Decodes one UTF-8 sequence at s[0..len): its length and code point, or 0 when it is not
 * valid (overlong, surrogate, beyond U+10FFFF, truncated).
 */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
        size_t n;
        uint32_t c, min;

        if (s[0] < 0x80) {
                *cp = s[0];
                return 1;
        }
        if (s[0] >= 0xc2 && s[0] <= 0xdf) {
                n = 2;
                c = s[0] & 0x1f;
                min = 0x80;
        } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
                n = 3;
                c = s[0] & 0x0f;
                min = 0x800;
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                n = 4;
                c = s[0] & 0x07;
                min = 0x10000;
        } else {
                return 0;
        }
        if (len < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = c << 6 | (s[i] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
                return 0;
        *cp = c;
        return n;
}

/* Code points a terminal acts on or that change how text reads. */
static bool dangerous(uint32_t cp)
{
        return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
               (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
               cp == 0x2028 || cp == 0x2029;
}

/*
 * The escape of the character at s (consuming *used bytes) into esc (NUL-terminated), or ""
 * when it is kept as is.
 */
static void escape_one(const unsigned char *s, size_t len, unsigned flags, size_t *used,
                       char esc[16])
{
        uint32_t cp = 0;
        size_t n = utf8_next(s, len, &cp);

        esc[0] = '\0';
        if (n == 0) {
                *used = 1;
                (void) snprintf(esc, 16, "\\x%02x", s[0]);
                return;
        }
        *used = n;
        if (cp == '\\') {
                (void) snprintf(esc, 16, "\\\\");
        } else if (cp == '\n') {
                if (!(flags & TEXT_KEEP_NEWLINE))
                        (void) snprintf(esc, 16, "\\n");
        } else if (cp == '\t') {
                if (!(flags & TEXT_KEEP_TAB))
                        (void) snprintf(esc, 16, "\\t");
        } else if (cp == '\r') {
                (void) snprintf(esc, 16, "\\r");
        } else if (cp < 0x20 || cp == 0x7f) {
                (void) snprintf(esc, 16, "\\x%02x", (unsigned) cp);
        } else if (dangerous(cp)) {
                (void) snprintf(esc, 16, "\\u{%04x}", (unsigned) cp);
        }
}

int text_escape(const char *s, size_t len, unsigned flags, struct buf *out)
{
        const unsigned char *p = (const unsigned char *) s;
        size_t i = 0;

        while (i < len) {
                char esc[16];
                size_t used = 0;
                size_t start = i;

                /* Runs of plain printable ASCII in one append. */
                while (i < len && p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
                        i++;
                if (i > start && buf_append(out, s + start, i - start) < 0)
                        return -ENOMEM;
                if (i == len)
                        break;
                escape_one(p + i, len - i, flags, &used, esc);
                if (esc[0] ? buf_append_str(out, esc) < 0 : buf_append(out, s + i, used) < 0)
                        return -ENOMEM;
                i += used;
        }
        /* An empty result still gets a NUL after it (buf invariant for callers' %s). */
        return buf_reserve(out, 1) < 0 ? -ENOMEM : 0;
}

bool text_is_safe(const char *s, size_t len, unsigned flags)
{
        const unsigned char *p = (const unsigned char *) s;

        for (size_t i = 0; i < len;) {
                char esc[16];
                size_t used = 0;

                escape_one(p + i, len - i, flags, &used, esc);
                if (esc[0] && p[i] != '\\')
                        return false;
                i += used;
        }
        return true;
}

const char *text_escape_to(const char *s, unsigned flags, char *out, size_t outlen)
{
        const unsigned char *p = (const unsigned char *) s;
        size_t len = strlen(s);
        size_t o = 0;

        if (outlen == 0)
                return out;
        for (size_t i = 0; i < len;) {
                char esc[16];
                size_t used = 0;
                const char *piece;
                size_t plen;

                escape_one(p + i, len - i, flags, &used, esc);
                piece = esc[0] ? esc : s + i;
                plen = esc[0] ? strlen(esc) : used;
                if (o + plen >= outlen)
                        break;
                memcpy(out + o, piece, plen);
                o += plen;
                i += used;
        }
        out[o] = '\0';
        return out;
}

const char *text_escape_tmp(const char *s)
{
        static char bufs[4][512];
        static unsigned k;

        k = (k + 1) % 4;
        return text_escape_to(s ? s : "", 0, bufs[k], sizeof(bufs[k]));
}
