/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for mcp-helper's request handling: the checks on request targets, queries,
 * Host, Accept and Authorization (lib/helper_http.c), the legacy endpoint rewrite, and the SSE
 * reader (lib/sse.c) fed the same bytes in two pieces. Everything here comes from the agent's
 * side or from the upstream, so every byte is hostile. Invariants: an accepted path has no dot
 * segment and stays under the base; a rewritten endpoint is itself an accepted path.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "helper_http.h"
#include "sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(void *userdata, const char *ev, size_t len)
{
        struct buf fields = BUF_INIT;
        char type[32];

        if (len < 2 || ev[len - 1] != '\n' || ev[len - 2] != '\n')
                __builtin_trap();
        /* The data is NUL-terminated and no longer than the event. */
        if (sse_event_fields(ev, len, type, sizeof(type), &fields) == 0 &&
            (fields.len > len || (fields.data && fields.data[fields.len] != '\0')))
                __builtin_trap();
        buf_clear(&fields);
        (*(size_t *) userdata)++;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);
        char out[512];
        size_t events = 0, half = size / 2;
        struct sse_parser p;
        static const uint8_t token[] = "fuzz-token-0123456789";

        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0'; /* C-string views stop at the first NUL, as header values do */
        if (helper_path_ok(s, "/api/")) {
                if (strncmp(s, "/api", 4) != 0 || strstr(s, "/../") || strstr(s, "/./") ||
                    strstr(s, "//") || strchr(s, '\\'))
                        __builtin_trap();
        }
        (void) helper_query_ok(s);
        (void) helper_host_ok(s, 52100);
        (void) helper_method_ok(s);
        if (helper_accept_quality(s, "text/event-stream") > 1000)
                __builtin_trap();
        (void) helper_token_ok(s, token, sizeof(token) - 1);
        (void) helper_forward_request_header(s);
        if (helper_rewrite_endpoint(s, "https://up.example:8443", "/v1/", out, sizeof(out))) {
                char *q = strchr(out, '?');

                if (q)
                        *q = '\0';
                if (!helper_path_ok(out, "/v1/"))
                        __builtin_trap();
        }
        sse_init(&p, 256);
        if (sse_feed(&p, (const char *) data, half, count, &events) == 0)
                (void) sse_feed(&p, (const char *) data + half, size - half, count, &events);
        sse_clear(&p);
        free(s);
        return 0;
}
