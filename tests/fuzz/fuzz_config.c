/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the config loader: TOML parsing, merging and validation. The input is
 * split at the first NUL into two files merged in order, so merge paths are exercised too: the
 * first as a workspace source, the second as the user's, as sessions merge them. Invariants: a
 * server from both kinds of source never survives (shadowing), no reserved secret survives, and
 * grants are checked without crashing. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct config cfg = CONFIG_INIT;
        struct ca_error err = {0};
        const char *s = (const char *) data;
        const char *nul = memchr(s, '\0', size);
        size_t first = nul ? (size_t) (nul - s) : size;
        int r;

        r = config_merge_source(&cfg, s, first, "a.toml", CONFIG_SOURCE_WORKSPACE, &err);
        if (r == 0 && nul)
                r = config_merge_buf(&cfg, nul + 1, size - first - 1, "b.toml", &err);
        if (r == 0)
                r = config_finish(&cfg, &err);
        if (r == 0) {
                struct ca_error gerr = {0};

                if (config_check_grants(&cfg, NULL, &gerr) < 0 && !gerr.bad_input)
                        __builtin_trap();
                for (size_t i = 0; i < cfg.nservers; i++) {
                        const struct config_server *sv = &cfg.servers[i];
                        if (!sv->command == !sv->url || (sv->from_user && sv->from_workspace))
                                __builtin_trap();
                        for (size_t j = 0; j < sv->secrets.len; j++) {
                                const char *n = sv->secrets.items[j];
                                if (!names_secret_ok(n, strlen(n)) ||
                                    names_reserved_secret(n))
                                        __builtin_trap();
                        }
                }
        } else if (err.msg[0] == '\0') {
                __builtin_trap();
        }
        config_clear(&cfg);
        return 0;
}
