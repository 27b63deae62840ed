/* SPDX-License-Identifier: MIT */
/*
 * The request checks of mcp-helper (ARCHITECTURE §8), kept free of I/O so they can be unit
 * tested and fuzzed. A request reaches the one configured upstream only when:
 *
 *   - its method is GET, POST or DELETE (and in the optional allow-list);
 *   - its target is origin-form ("/..."): never absolute-form, authority-form or "*";
 *   - its raw path stays under the configured base path: no "." or ".." segments, no empty
 *     segments, no backslash, no percent-encoded '/', '\', '.', '%' or control bytes (what is
 *     checked is exactly what is forwarded: the path is never decoded and re-encoded);
 *   - its Host names the helper itself (127.0.0.1, localhost or [::1] with the helper's port);
 *   - it asks for no protocol upgrade.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

enum helper_verdict {
        HELPER_OK = 0,
        HELPER_BAD_METHOD,  /* 405 */
        HELPER_BAD_TARGET,  /* 400: not origin-form, or a path outside the base */
        HELPER_BAD_HOST,    /* 421 */
        HELPER_UPGRADE,     /* 400 */
        HELPER_CONTROL,     /* 400: a method or target with bytes outside visible ASCII */
};

const char *helper_verdict_reason(enum helper_verdict v);
int helper_verdict_status(enum helper_verdict v);

/* True when the raw (undecoded) `path` is a safe origin-form path under `base` ("/x/" or
 * "/"), or equal to `base` without its trailing slash. */
bool helper_path_ok(const char *path, const char *base);

/* True for a query string (after '?') made of safe characters and well-formed escapes. */
bool helper_query_ok(const char *query);

/* True when `host` (the Host header) names this helper on `port`. */
bool helper_host_ok(const char *host, uint16_t port);

/*
 * True when `s` (a method or a request target, as received) holds only visible ASCII
 * (0x21-0x7e), as HTTP requires of both: never ESC, BEL, CR or anything a terminal or a log
 * reader would act on. Checked before anything of the request is logged.
 */
bool helper_visible_ascii(const char *s);

/* True for GET, POST, DELETE (case-sensitive, as HTTP methods are). */
bool helper_method_ok(const char *method);

/*
 * Parses an Accept header and returns the quality (0-1000) it gives `type` ("text/event-stream"):
 * exact matches beat "text/..." beats "..."; q=0 means refused. A missing header accepts all
 * (1000). Malformed parts are ignored.
 */
int helper_accept_quality(const char *accept, const char *type);

/* Request headers forwarded upstream (lower-case names); everything else is dropped. */
bool helper_forward_request_header(const char *name);
/* Response headers passed back to the client. */
bool helper_forward_response_header(const char *name);

/*
 * Constant-time check of an Authorization header against "Bearer <token>". Both sides are
 * hashed first, so neither the length nor the content leaks through timing.
 */
bool helper_token_ok(const char *authorization, const uint8_t *token, size_t token_len);

/*
 * The legacy SSE `endpoint` event names where the client posts: a path ("/messages?x=1"),
 * or an absolute URL on the upstream's origin. Writes the path to use through the helper into
 * `out`; false for another origin or a path helper_path_ok() refuses.
 */
bool helper_rewrite_endpoint(const char *data, const char *origin, const char *base, char *out,
                             size_t outlen);
