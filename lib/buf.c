/* SPDX-License-Identifier: MIT */
#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int buf_reserve(struct buf *b, size_t extra)
{
        size_t need;
        size_t ncap;
        char *p;

        if (__builtin_add_overflow(b->len, extra, &need) || __builtin_add_overflow(need, 1, &need))
                return -ENOMEM;
        if (need <= b->cap)
                return 0;
        ncap = b->cap ? b->cap : 64;
        while (ncap < need) {
                if (__builtin_mul_overflow(ncap, 2, &ncap))
                        return -ENOMEM;
        }
        p = realloc(b->data, ncap);
        if (!p)
                return -ENOMEM;
        /* The invariant (data[len] == '\0' once there is storage) holds from the first
         * allocation on, whether or not anything is appended. */
        p[b->len] = '\0';
        b->data = p;
        b->cap = ncap;
        return 0;
}

int buf_append(struct buf *b, const void *data, size_t len)
{
        int r = buf_reserve(b, len);

        if (r < 0)
                return r;
        if (len)
                memcpy(b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = '\0';
        return 0;
}

int buf_append_str(struct buf *b, const char *s)
{
        return buf_append(b, s, strlen(s));
}

int buf_append_char(struct buf *b, char c)
{
        return buf_append(b, &c, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
        va_list aq;
        int n;
        int r;

        va_copy(aq, ap);
        n = vsnprintf(NULL, 0, fmt, aq);
        va_end(aq);
        if (n < 0)
                return -EINVAL;
        r = buf_reserve(b, (size_t) n);
        if (r < 0)
                return r;
        n = vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
        if (n < 0) {
                b->data[b->len] = '\0';
                return -EINVAL;
        }
        b->len += (size_t) n;
        return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = buf_vprintf(b, fmt, ap);
        va_end(ap);
        return r;
}

void buf_reset(struct buf *b)
{
        b->len = 0;
        if (b->data)
                b->data[0] = '\0';
}

void buf_clear(struct buf *b)
{
        if (!b)
                return;
        free(b->data);
        b->data = NULL;
        b->len = 0;
        b->cap = 0;
}

char *buf_detach(struct buf *b, size_t *ret_len)
{
        char *p = b->data;

        if (!p) {
                p = calloc(1, 1);
                if (!p)
                        return NULL;
        }
        if (ret_len)
                *ret_len = b->len;
        b->data = NULL;
        b->len = 0;
        b->cap = 0;
        return p;
}
