/* SPDX-License-Identifier: MIT */
/*
 * Optional journald mirror of security events (libsystemd, when built with it). The journal
 * is an anchor outside the user-writable event log: each entry carries the event's sequence
 * number and line hash, so a rewritten log can be compared against it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* True when built with libsystemd and a journald socket exists. */
bool journal_available(void);

/*
 * Sends one event. Best effort: returns 0 or a negative errno, and callers ignore failures
 * (the event log itself is authoritative). `line` is the JSON line as written.
 */
int journal_send_event(const char *type, const char *session, unsigned long long seq,
                       const char *line_hash, const char *line, size_t line_len);
