/* SPDX-License-Identifier: MIT */
/*
 * journald mirror of security events, over journald's native protocol. The journal
 * is an anchor outside the user-writable event log: each entry carries the event's sequence
 * number and line hash, so a rewritten log can be compared against it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* True when a journald socket exists and we may write to it. */
bool journal_available(void);

/*
 * Sends one event. Best effort: returns 0 or a negative errno, and callers ignore failures
 * (the event log itself is authoritative). `line` is the JSON line as written.
 */
int journal_send_event(const char *type, const char *session, unsigned long long seq,
                       const char *line_hash, const char *line, size_t line_len);

/* The same to the native-protocol socket at `socket_path` (tests bind their own). */
int journal_send_event_to(const char *socket_path, const char *type, const char *session,
                          unsigned long long seq, const char *line_hash, const char *line,
                          size_t line_len);
