/* SPDX-License-Identifier: MIT */
#include "lines.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

void lines_init(struct lines *lr, int fd, size_t max_line)
{
        *lr = (struct lines) {.fd = fd, .max_line = max_line, .buf = BUF_INIT};
}

void lines_clear(struct lines *lr)
{
        buf_clear(&lr->buf);
        lr->start = 0;
}

void lines_rearm(struct lines *lr)
{
        lr->eof = false;
}

/* Drops consumed bytes so the buffer never grows past one line plus one read. */
static void compact(struct lines *lr)
{
        if (lr->start == 0 || !lr->buf.data)
                return;
        memmove(lr->buf.data, lr->buf.data + lr->start, lr->buf.len - lr->start);
        lr->buf.len -= lr->start;
        lr->buf.data[lr->buf.len] = '\0';
        lr->start = 0;
}

static int fill(struct lines *lr, struct ca_error *err)
{
        ssize_t n;
        int r;

        compact(lr);
        r = buf_reserve(&lr->buf, 65536);
        if (r < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        do {
                n = read(lr->fd, lr->buf.data + lr->buf.len, 65536);
        } while (n < 0 && errno == EINTR);
        if (n < 0)
                return ca_error_set(err, errno, "read failed");
        if (n == 0)
                lr->eof = true;
        lr->buf.len += (size_t) n;
        lr->buf.data[lr->buf.len] = '\0';
        return (int) (n > 0);
}

int lines_next(struct lines *lr, const char **ret_line, size_t *ret_len, bool *ret_terminated,
               struct ca_error *err)
{
        bool skipping = false;
        size_t scanned = 0;

        for (;;) {
                char *base = lr->buf.data ? lr->buf.data + lr->start : NULL;
                size_t avail = lr->buf.len - lr->start;
                char *nl = base ? memchr(base + scanned, '\n', avail - scanned) : NULL;
                int r;

                if (nl) {
                        size_t len = (size_t) (nl - base);

                        lr->start += len + 1;
                        if (skipping)
                                return ca_error_setx(err, EMSGSIZE, "line longer than %zu bytes",
                                                     lr->max_line);
                        if (len > lr->max_line)
                                return ca_error_setx(err, EMSGSIZE, "line longer than %zu bytes",
                                                     lr->max_line);
                        *nl = '\0';
                        *ret_line = base;
                        *ret_len = len;
                        *ret_terminated = true;
                        return 1;
                }
                scanned = avail;
                if (avail > lr->max_line) {
                        /* Too long: drop what we have and keep looking for its end. */
                        lr->start = lr->buf.len;
                        scanned = 0;
                        skipping = true;
                }
                if (lr->eof) {
                        if (skipping) {
                                return ca_error_setx(err, EMSGSIZE, "line longer than %zu bytes",
                                                     lr->max_line);
                        }
                        if (avail == 0 || lr->hold_partial)
                                return 0;
                        /* Final line without a newline. */
                        *ret_line = base;
                        *ret_len = avail;
                        *ret_terminated = false;
                        lr->start = lr->buf.len;
                        return 1;
                }
                /* compact() inside fill() keeps offsets relative to start, so `scanned`
                 * stays valid. */
                r = fill(lr, err);
                if (r < 0)
                        return r;
        }
}
