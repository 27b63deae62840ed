/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for lib/textsafe: whatever the input, the escaped text holds no byte a
 * terminal acts on (C0 but kept newlines/tabs, DEL, ESC), is valid UTF-8 without C1 or bidi
 * controls (checked by escaping it again: an escaped text needs no more escaping, and
 * text_is_safe agrees), and text_escape_to stays NUL-terminated inside its buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "textsafe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct buf out = BUF_INIT;
        unsigned flags = size ? data[0] & 3u : 0;
        char small[37];
        char *str;

        if (text_escape((const char *) data, size, flags, &out) < 0)
                return 0;
        for (size_t i = 0; i < out.len; i++) {
                unsigned char c = (unsigned char) out.data[i];
                if ((c < 0x20 && !(c == '\n' && (flags & TEXT_KEEP_NEWLINE)) &&
                     !(c == '\t' && (flags & TEXT_KEEP_TAB))) ||
                    c == 0x7f)
                        __builtin_trap();
        }
        if (!text_is_safe(out.data, out.len, flags))
                __builtin_trap();
        /* Safe text without a backslash (the one byte escaped for unambiguity) stays as is. */
        if (text_is_safe((const char *) data, size, flags) && !memchr(data, '\\', size) &&
            (out.len != size || memcmp(out.data, data, size) != 0))
                __builtin_trap();
        str = malloc(size + 1);
        if (str) {
                memcpy(str, data, size);
                str[size] = '\0';
                (void) text_escape_to(str, flags, small, sizeof(small));
                if (strlen(small) >= sizeof(small) || !text_is_safe(small, strlen(small), flags))
                        __builtin_trap();
                free(str);
        }
        buf_clear(&out);
        return 0;
}
