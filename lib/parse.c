/* SPDX-License-Identifier: MIT */
#include "parse.h"

#include <errno.h>
#include <string.h>

static int parse_digits(const char *s, size_t n, uint64_t *ret)
{
        uint64_t v = 0;

        if (n == 0 || (n > 1 && s[0] == '0'))
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                if (__builtin_mul_overflow(v, 10, &v) ||
                    __builtin_add_overflow(v, (uint64_t) (s[i] - '0'), &v))
                        return -ERANGE;
        }
        *ret = v;
        return 0;
}

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
        uint64_t v = 0;
        int r = parse_digits(s, strlen(s), &v);

        if (r < 0)
                return r;
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int parse_duration(const char *s, uint64_t max_seconds, uint64_t *ret_seconds)
{
        size_t n = strlen(s);
        uint64_t unit = 1;
        uint64_t v = 0;
        int r;

        if (n == 0)
                return -EINVAL;
        switch (s[n - 1]) {
        case 's':
                n--;
                break;
        case 'm':
                unit = 60;
                n--;
                break;
        case 'h':
                unit = 3600;
                n--;
                break;
        case 'd':
                unit = 86400;
                n--;
                break;
        default:
                break;
        }
        r = parse_digits(s, n, &v);
        if (r < 0)
                return r;
        if (__builtin_mul_overflow(v, unit, &v) || v == 0 || v > max_seconds)
                return -ERANGE;
        *ret_seconds = v;
        return 0;
}

int parse_hex_digit(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

bool parse_hex(const char *hex, uint8_t *out, size_t n)
{
        if (!hex)
                return false;
        for (size_t i = 0; i < n; i++) {
                int hi = parse_hex_digit(hex[2 * i]);
                int lo = hi < 0 ? -1 : parse_hex_digit(hex[2 * i + 1]);

                if (lo < 0)
                        return false;
                out[i] = (uint8_t) (hi << 4 | lo);
        }
        return hex[2 * n] == '\0';
}
