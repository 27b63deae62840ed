/* SPDX-License-Identifier: MIT */
/*
 * How a Windows program's C runtime splits its command line into arguments (the documented
 * rules of CommandLineToArgvW and the Microsoft C runtime), written from the documentation for
 * the tests of windows/wslargs.c: what wsl_quote_arg() builds must come back byte for byte.
 * Arguments after the first; each is written NUL-terminated into `out`, one after another.
 * Returns how many, or -1 when `out` is too small.
 */
#pragma once

#include <stddef.h>

static inline int crt_split(const char *line, char *out, size_t size)
{
        const char *s = line;
        size_t o = 0;
        int n = 0;

        for (;;) {
                int quoted = 0;

                while (*s == ' ' || *s == '\t')
                        s++;
                if (*s == '\0')
                        return n;
                while (*s && (quoted || (*s != ' ' && *s != '\t'))) {
                        size_t slashes = 0;

                        while (*s == '\\') {
                                slashes++;
                                s++;
                        }
                        if (*s == '"') {
                                /* 2n backslashes and a quote: n backslashes, the quote toggles;
                                 * 2n+1: n backslashes and a literal quote. */
                                for (size_t i = 0; i < slashes / 2; i++) {
                                        if (o + 1 >= size)
                                                return -1;
                                        out[o++] = '\\';
                                }
                                if (slashes % 2 == 0) {
                                        if (quoted && s[1] == '"') {
                                                if (o + 1 >= size)
                                                        return -1;
                                                out[o++] = '"';
                                                s++;
                                        } else {
                                                quoted = !quoted;
                                        }
                                } else {
                                        if (o + 1 >= size)
                                                return -1;
                                        out[o++] = '"';
                                }
                                s++;
                                continue;
                        }
                        for (size_t i = 0; i < slashes; i++) {
                                if (o + 1 >= size)
                                        return -1;
                                out[o++] = '\\';
                        }
                        if (*s == '\0' || (!quoted && (*s == ' ' || *s == '\t')))
                                break;
                        if (o + 1 >= size)
                                return -1;
                        out[o++] = *s++;
                }
                if (o + 1 > size)
                        return -1;
                out[o++] = '\0';
                n++;
        }
}
