/* SPDX-License-Identifier: MIT */
/*
 * A line reader over an fd with a hard cap on line length, for logs written by others (the
 * event log, squid's access log). Never reads unbounded input into memory.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "macro.h"

struct ca_error;

struct lines {
        int fd;          /* not owned */
        size_t max_line; /* longest accepted line, without its '\n' */
        struct buf buf;
        size_t start; /* first unconsumed byte in buf */
        bool eof;
        bool hold_partial; /* a final line without '\n' is left buffered, not returned (for
                            * followers reading a file that is still being written) */
};

/* Prepares `lr` to read `fd`. Never fails; release with lines_clear(). */
void lines_init(struct lines *lr, int fd, size_t max_line);
void lines_clear(struct lines *lr);

/*
 * Reads the next line. Returns 1 with *ret_line and *ret_len pointing into the reader (valid until
 * the next call; the '\n' is excluded and the line is NUL-terminated) and *ret_terminated false
 * only for a final line without '\n'; 0 at the end of input; -EMSGSIZE when a line exceeds
 * max_line (the reader then skips to the next '\n'); -errno on read errors.
 */
int lines_next(struct lines *lr, const char **ret_line, size_t *ret_len, bool *ret_terminated,
               struct ca_error *err) CA_MUST_CHECK;

/* Forgets the end-of-file state so a follower can read what was appended since. */
void lines_rearm(struct lines *lr);
