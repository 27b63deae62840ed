/* SPDX-License-Identifier: MIT */
/* libFuzzer target for lib/url and the placeholder scanner. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);
        struct url u;
        const char *why = NULL;
        size_t off = 0;

        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        if (url_parse(s, &u, &why) == 0) {
                if (u.port == 0 || strlen(u.host) == 0 || u.path + u.path_len > s + strlen(s))
                        __builtin_trap();
        } else if (!why) {
                __builtin_trap();
        }
        if (names_scan_placeholders(s, NULL, NULL, &why, &off) < 0 && off >= strlen(s))
                __builtin_trap();
        free(s);
        return 0;
}
