/* SPDX-License-Identifier: MIT */
/*
 * An incremental reader of text/event-stream (the HTML Living Standard's SSE format) for
 * mcp-helper: bytes go in as they arrive, whole events come out, each at most `max_event`
 * bytes, so a stream is never buffered whole. Line ends (\r\n, \n, \r) come out as \n.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "macro.h"

struct sse_parser {
        size_t max_event;
        struct buf ev; /* the event so far, lines ended with \n */
        bool cr;       /* the previous byte was \r */
};

/* Called with each complete event (its lines and the blank line that ended it). A negative
 * return stops sse_feed() with that value. */
typedef int (*sse_event_fn)(void *userdata, const char *event, size_t len);

void sse_init(struct sse_parser *p, size_t max_event);
void sse_clear(struct sse_parser *p);

/* Feeds bytes. Returns 0, -EMSGSIZE when an event grows past max_event, -ENOMEM, or what the
 * callback returned. */
int sse_feed(struct sse_parser *p, const char *data, size_t len, sse_event_fn fn,
             void *userdata) CA_MUST_CHECK;

/*
 * The event's type (the last "event:" field, "message" when none) into `type` and its data
 * (the "data:" fields joined with \n) into `data`. Returns 0 or -ENOMEM / -ENAMETOOLONG.
 */
int sse_event_fields(const char *event, size_t len, char *type, size_t typelen,
                     struct buf *data) CA_MUST_CHECK;
