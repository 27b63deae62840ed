/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the engine preflight: whatever answers on the engine socket is
 * untrusted. The input is "<version JSON>\0<info JSON>\0<Server header>"; the facts must
 * parse or fail cleanly, and their strings must stay printable and terminated.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine.h"
#include "error.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_printable(const char *s, size_t size)
{
        size_t n = strnlen(s, size);

        if (n == size)
                __builtin_trap();
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] >= 0x7f)
                        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *p = (const char *) data;
        const char *nul1 = memchr(p, '\0', size);
        const char *nul2 = nul1 ? memchr(nul1 + 1, '\0', size - (size_t) (nul1 + 1 - p)) : NULL;
        json_t *version = NULL, *info = NULL;
        char server[64] = "";
        struct engine_facts f;
        struct ca_error err = {0};

        if (!nul1)
                return 0;
        (void) ca_json_parse(p, (size_t) (nul1 - p), "version", &version, NULL);
        if (nul2) {
                size_t n = size - (size_t) (nul2 + 1 - p);

                (void) ca_json_parse(nul1 + 1, (size_t) (nul2 - nul1 - 1), "info", &info, NULL);
                if (n >= sizeof(server))
                        n = sizeof(server) - 1;
                memcpy(server, nul2 + 1, n);
                server[n] = '\0';
        }
        if (engine_facts_parse(version, info, server, &f, &err) == 0) {
                json_t *j = engine_facts_json(&f);

                check_printable(f.product, sizeof(f.product));
                check_printable(f.version, sizeof(f.version));
                check_printable(f.api_version, sizeof(f.api_version));
                check_printable(f.os, sizeof(f.os));
                (void) engine_facts_check(&f, data[0] & 1, &err);
                json_decref(j);
        }
        json_decref(version);
        json_decref(info);
        return 0;
}
