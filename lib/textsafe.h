/* SPDX-License-Identifier: MIT */
/*
 * Untrusted text on a terminal. Event fields, server names and arguments from a repository's
 * config, paths, HTTP methods and targets, certificate subjects and proxy log fields can hold
 * bytes that a terminal acts on: ESC and CSI sequences (move the cursor, erase a line that
 * said "capability-denied", set the clipboard with OSC 52), BEL, CR (overwrite the line), the
 * C1 controls, and the bidirectional overrides that make text read differently from what it
 * is. Everything printed from such a source goes through text_escape() first.
 *
 * Escapes, in a form that is itself plain ASCII and unambiguous:
 *   \\           for a backslash
 *   \n \r \t     for LF, CR, TAB (when not kept)
 *   \xNN         for other C0 bytes, DEL, and bytes that are not valid UTF-8
 *   \u{NNNN}     for C1 controls (U+0080..U+009F), bidi controls (U+061C, U+200E, U+200F,
 *                U+202A..U+202E, U+2066..U+2069) and line/paragraph separators
 * Everything else (printable ASCII and valid UTF-8 of other code points) is kept as is.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

struct buf;

enum {
        TEXT_KEEP_NEWLINE = 1 << 0, /* leave '\n' as is (multi-line messages) */
        TEXT_KEEP_TAB = 1 << 1,     /* leave '\t' as is */
};

/* Appends the escaped form of s[0..len) to `out`. Returns 0 or -ENOMEM. */
int text_escape(const char *s, size_t len, unsigned flags, struct buf *out) CA_MUST_CHECK;

/* True when s[0..len) holds nothing a terminal acts on under `flags` (a backslash is fine here:
 * it is escaped only to keep text_escape's output unambiguous). */
bool text_is_safe(const char *s, size_t len, unsigned flags);

/*
 * The escaped form of `s` in one of four rotating static buffers of 512 bytes (truncated to
 * fit): for a command's printing, where up to four values go into one printf. Not
 * thread-safe; daemons and helpers use text_escape_to().
 */
const char *text_escape_tmp(const char *s);

/*
 * The escaped form of the NUL-terminated `s` in a caller's buffer (truncated to fit, always
 * NUL-terminated, never cutting an escape in half): for messages built with snprintf.
 * Returns `out`.
 */
const char *text_escape_to(const char *s, unsigned flags, char *out, size_t outlen);
