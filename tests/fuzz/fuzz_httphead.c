/* SPDX-License-Identifier: MIT */
/* libFuzzer target for HTTP/1.x responses (lib/httphead.c): a head's length must lie within
 * the input and its status be three digits; its fields lie within the head; the chunked decoder
 * never consumes or yields bytes beyond its input and always makes progress. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "httphead.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fields(const char *head, size_t len, int status)
{
        struct httphead_field f;
        enum httphead_framing framing;
        uint64_t length;
        bool reusable;
        size_t pos = 0;

        while (httphead_next(head, len, &pos, &f) > 0) {
                if (f.name < head || f.name + f.name_len > head + len || f.value < head ||
                    f.value + f.value_len > head + len || pos > len || f.name_len == 0)
                        __builtin_trap();
        }
        (void) !httphead_framing(head, len, status, false, &framing, &length, &reusable);
}

static void chunked(const char *in, size_t len)
{
        struct httphead_chunked c = {0};
        size_t at = 0;

        while (at < len) {
                size_t consumed = 0, off = 0, dlen = 0;
                int r = httphead_chunked_step(&c, in + at, len - at, &consumed, &off, &dlen);

                if (consumed > len - at || off + dlen > len - at || (dlen && off + dlen > consumed))
                        __builtin_trap();
                if (r != 0)
                        return;
                if (consumed == 0)
                        __builtin_trap(); /* no progress on non-empty input */
                at += consumed;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        int status = -1;
        int r = httphead_parse((const char *) data, size, &status);

        if (r > 0 && ((size_t) r > size || status < 0 || status > 999))
                __builtin_trap();
        if (r > 0) {
                fields((const char *) data, (size_t) r, status);
                chunked((const char *) data + r, size - (size_t) r);
        } else {
                chunked((const char *) data, size);
        }
        return 0;
}
