/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.x responses as they arrive from a peer that is not trusted: the head (status line and
 * header fields) and a chunked body. Two places speak HTTP without a library: the Engine API's
 * connection upgrade (attach and exec with a terminal), after which the socket carries the raw
 * stream, and mcp-helper's upstream client (container/httpc.c). A compromised or impostor
 * engine, and any remote MCP server or model API, are exactly what these guard against, so every
 * byte is untrusted (fuzzed by tests/fuzz/fuzz_httphead.c).
 *
 * Strict on purpose: lines end in CR LF, no control bytes, no folded header lines, a field name
 * is a token; whatever does not fit is -EPROTO, never a guess.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define HTTPHEAD_MAX 16384

/*
 * Looks for a complete head ("HTTP/1.x NNN reason\r\n" + header lines + "\r\n") at the start of
 * data[0..len). Returns its length and stores the status code; 0 when more bytes are needed;
 * -EPROTO when it is not an HTTP/1.x response head; -EMSGSIZE when none ends within
 * HTTPHEAD_MAX bytes.
 */
int httphead_parse(const char *data, size_t len, int *status) CA_MUST_CHECK;

/* One header field of a head: spans into it, the value without surrounding blanks. */
struct httphead_field {
        const char *name;
        size_t name_len;
        const char *value;
        size_t value_len;
};

/*
 * The next field of a complete head (head[0..len), as httphead_parse accepted it). *pos starts
 * at 0 (the status line is skipped). Returns 1 with the field, 0 after the last one, -EPROTO for
 * a line that is not "token: value" (no colon, an empty name, a blank before the colon, a folded
 * continuation line).
 */
int httphead_next(const char *head, size_t len, size_t *pos, struct httphead_field *f) CA_MUST_CHECK;

/* True when the field's name is `name` (ASCII, case-insensitive). */
bool httphead_is(const struct httphead_field *f, const char *name);

/* How a response's body ends (RFC 9112 §6.3), from its head and the request's method. */
enum httphead_framing {
        HTTPHEAD_NO_BODY,    /* HEAD, 1xx, 204, 304 */
        HTTPHEAD_LENGTH,     /* Content-Length: *length bytes */
        HTTPHEAD_CHUNKED,    /* Transfer-Encoding: chunked */
        HTTPHEAD_UNTIL_CLOSE /* neither: the body ends when the connection does */
};

/*
 * The framing of a complete head, its Content-Length, and whether the connection may carry
 * another request afterwards (HTTP/1.1 without "Connection: close", and a framed body).
 * -EPROTO for what cannot be framed safely: a transfer coding other than chunked alone, two
 * different or a malformed Content-Length, both Content-Length and Transfer-Encoding.
 */
int httphead_framing(const char *head, size_t len, int status, bool head_request,
                     enum httphead_framing *framing, uint64_t *length,
                     bool *reusable) CA_MUST_CHECK;

/* A chunked body being decoded (RFC 9112 §7.1); zero-initialise before the first step. */
struct httphead_chunked {
        int state;
        uint64_t left;   /* bytes of the current chunk still to come */
        size_t line;     /* bytes of the current size, extension or trailer line */
        size_t trailers; /* bytes of trailer seen */
};

/*
 * One step over in[0..len): *consumed bytes are used, and body bytes, if the step found any,
 * are in[*off .. *off + *data_len). Returns 1 once the last chunk and the trailer are complete
 * (nothing after it is consumed), 0 to go on (more input, or call again on the rest), -EPROTO
 * for a malformed body, -EMSGSIZE for a size, extension or trailer line beyond the limits.
 */
int httphead_chunked_step(struct httphead_chunked *c, const char *in, size_t len,
                          size_t *consumed, size_t *off, size_t *data_len) CA_MUST_CHECK;
