/* SPDX-License-Identifier: MIT */
/*
 * A growable byte buffer (git's strbuf). Invariants: `data` is NULL only while `cap` is 0;
 * otherwise data[len] == '\0', so the contents can be used as a C string when they hold no NUL.
 * Sizes are overflow-checked; functions return 0 or -ENOMEM and leave the buffer unchanged on
 * failure.
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include "macro.h"

struct buf {
        char *data;
        size_t len;
        size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

/* Makes room for `extra` more bytes plus the terminating NUL. */
int buf_reserve(struct buf *b, size_t extra) CA_MUST_CHECK;
int buf_append(struct buf *b, const void *data, size_t len) CA_MUST_CHECK;
int buf_append_str(struct buf *b, const char *s) CA_MUST_CHECK;
int buf_append_char(struct buf *b, char c) CA_MUST_CHECK;
int buf_printf(struct buf *b, const char *fmt, ...) CA_PRINTF(2, 3) CA_MUST_CHECK;
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) CA_PRINTF(2, 0) CA_MUST_CHECK;

/* Empties the buffer but keeps its memory. */
void buf_reset(struct buf *b);

/* Frees the memory; the buffer is BUF_INIT afterwards. NULL-safe. */
void buf_clear(struct buf *b);

/*
 * Hands the contents to the caller (free() it) and resets the buffer. Never NULL unless
 * out of memory: an empty buffer yields a fresh "".
 */
char *buf_detach(struct buf *b, size_t *ret_len);

static inline void buf_clearp(struct buf *b)
{
        buf_clear(b);
}
#define _cleanup_buf_ __attribute__((cleanup(buf_clearp)))
