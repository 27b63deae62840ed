/* SPDX-License-Identifier: MIT */
/* Names and placeholders both sides agree on (names.h). */
#include "names.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#define PIN_PREFIX "sha256//"

bool names_secret_ok(const char *s, size_t len)
{
        if (len == 0 || len > 128)
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
                if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
                        return false;
        }
        return true;
}

int names_scan_placeholders(const char *s, int (*cb)(void *userdata, const char *name,
                                                      size_t len),
                             void *userdata, const char **ret_reason, size_t *ret_offset)
{
        for (size_t i = 0; s[i]; i++) {
                const char *why = NULL;
                size_t start;
                size_t end;
                int r;

                if (s[i] != '$')
                        continue;
                if (s[i + 1] == '$') {
                        i++; /* "$$" is a literal '$' */
                        continue;
                }
                if (s[i + 1] == '{') {
                        start = i + 2;
                        end = start;
                        while (s[end] && s[end] != '}')
                                end++;
                        if (!s[end])
                                why = "unterminated '${'";
                        else if (end == start)
                                why = "empty '${}'";
                        else if (memchr(s + start, ':', end - start))
                                why = "defaults ('${NAME:-value}') are not supported";
                        else if (!names_secret_ok(s + start, end - start))
                                why = "a secret name is letters, digits and '_', not starting "
                                      "with a digit";
                } else {
                        start = i + 1;
                        end = start;
                        while (s[end] && names_secret_ok(s + start, end - start + 1))
                                end++;
                        if (end == start)
                                why = "'$' must start '${NAME}' or '$NAME' (write '$$' for a "
                                      "literal '$')";
                }
                if (why) {
                        if (ret_reason)
                                *ret_reason = why;
                        if (ret_offset)
                                *ret_offset = i;
                        return -EINVAL;
                }
                if (cb) {
                        r = cb(userdata, s + start, end - start);
                        if (r < 0)
                                return r;
                }
                i = s[i + 1] == '{' ? end : end - 1;
        }
        return 0;
}

bool names_pin_ok(const char *s)
{
        unsigned char bin[64];
        size_t binlen = 0;
        const char *end = NULL;
        size_t len;

        if (strncmp(s, PIN_PREFIX, strlen(PIN_PREFIX)) != 0)
                return false;
        s += strlen(PIN_PREFIX);
        len = strlen(s);
        if (sodium_base642bin(bin, sizeof(bin), s, len, NULL, &binlen, &end,
                              sodium_base64_VARIANT_ORIGINAL) != 0)
                return false;
        return end == s + len && binlen == 32;
}

bool names_trust_ok(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 64 || s[0] == '.' || s[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                      c == '-'))
                        return false;
        }
        return true;
}

bool names_reserved_secret(const char *name)
{
        return strncmp(name, "AGENT_", 6) == 0 || strncmp(name, "CODING_AGENTS_", 14) == 0;
}

bool names_launcher_stub(const char *name)
{
        return strcmp(name, "agent-cli") == 0 || strcmp(name, "model-api") == 0;
}

bool names_server_ok(const char *s, size_t n)
{
        if (n == 0 || n > NAMES_SERVER_MAX || strlen(s) != n)
                return false;
        if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
                        return false;
        }
        return true;
}
