/* SPDX-License-Identifier: MIT */
#include "sse.h"

#include <errno.h>
#include <string.h>

void sse_init(struct sse_parser *p, size_t max_event)
{
        memset(p, 0, sizeof(*p));
        p->max_event = max_event;
}

void sse_clear(struct sse_parser *p)
{
        buf_clear(&p->ev);
        p->cr = false;
}

/* Ends the current line; a blank line ends the event. */
static int end_line(struct sse_parser *p, sse_event_fn fn, void *userdata)
{
        bool blank = p->ev.len == 0 || p->ev.data[p->ev.len - 1] == '\n';
        int r;

        if (p->ev.len + 1 > p->max_event)
                return -EMSGSIZE;
        if (buf_append_char(&p->ev, '\n') < 0)
                return -ENOMEM;
        if (!blank)
                return 0;
        if (p->ev.len == 1) {
                /* A blank line with no event before it: nothing to dispatch. */
                buf_reset(&p->ev);
                return 0;
        }
        r = fn(userdata, p->ev.data, p->ev.len);
        buf_reset(&p->ev);
        return r < 0 ? r : 0;
}

int sse_feed(struct sse_parser *p, const char *data, size_t len, sse_event_fn fn,
             void *userdata)
{
        for (size_t i = 0; i < len; i++) {
                char c = data[i];
                int r;

                if (c == '\n' && p->cr) {
                        p->cr = false;
                        continue; /* the \n of a \r\n */
                }
                p->cr = c == '\r';
                if (c == '\r' || c == '\n') {
                        r = end_line(p, fn, userdata);
                        if (r < 0)
                                return r;
                        continue;
                }
                /* Copy the run up to the next line end at once. */
                {
                        size_t j = i;

                        while (j < len && data[j] != '\n' && data[j] != '\r')
                                j++;
                        if (p->ev.len + (j - i) > p->max_event)
                                return -EMSGSIZE;
                        if (buf_append(&p->ev, data + i, j - i) < 0)
                                return -ENOMEM;
                        i = j - 1;
                }
        }
        return 0;
}

int sse_event_fields(const char *event, size_t len, char *type, size_t typelen,
                     struct buf *data)
{
        const char *p = event, *end = event + len;
        bool have_data = false;

        if (typelen < 8)
                return -ENAMETOOLONG;
        memcpy(type, "message", 8);
        buf_reset(data);
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t llen = nl ? (size_t) (nl - p) : (size_t) (end - p);
                const char *colon = memchr(p, ':', llen);
                size_t nlen = colon ? (size_t) (colon - p) : llen;
                const char *v = colon ? colon + 1 : p + llen;
                size_t vlen = (size_t) (p + llen - v);

                if (vlen && *v == ' ') {
                        v++;
                        vlen--;
                }
                if (nlen == 5 && memcmp(p, "event", 5) == 0) {
                        if (vlen + 1 > typelen)
                                return -ENAMETOOLONG;
                        memcpy(type, v, vlen);
                        type[vlen] = '\0';
                } else if (nlen == 4 && memcmp(p, "data", 4) == 0) {
                        if ((have_data && buf_append_char(data, '\n') < 0) ||
                            buf_append(data, v, vlen) < 0)
                                return -ENOMEM;
                        have_data = true;
                }
                p += llen + 1;
        }
        if (buf_append_char(data, '\0') < 0)
                return -ENOMEM;
        data->len--; /* NUL-terminated, not counted */
        return 0;
}
