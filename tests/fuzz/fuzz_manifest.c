/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the session manifest: arbitrary bytes are accepted or refused with a
 * message; what is accepted keeps the promises the readers rely on (manifest.h): server names
 * unique and findable, UIDs in their transport's range and distinct, a remote server's helper
 * listening on its own port, every string typed.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "error.h"
#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_server(const struct manifest *m, const struct manifest_server *s)
{
        if (manifest_find(m, s->name) != s || !s->user || s->uid < 1000)
                __builtin_trap();
        if (s->transport == MANIFEST_STDIO) {
                if (!s->command || !s->command[0] || s->port != 0 ||
                    s->uid < MANIFEST_STUB_UID_BASE ||
                    s->uid >= MANIFEST_STUB_UID_BASE + MANIFEST_UID_RANGE)
                        __builtin_trap();
                for (size_t i = 0; i < s->args.len; i++) {
                        if (!s->args.items[i])
                                __builtin_trap();
                }
                return;
        }
        if (!s->url || !s->listen || !s->token_env || !s->local_path || s->port == 0 ||
            s->uid < MANIFEST_HELPER_UID_BASE ||
            s->uid >= MANIFEST_HELPER_UID_BASE + MANIFEST_UID_RANGE ||
            strncmp(s->listen, "127.0.0.1:", 10) != 0)
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct manifest m = MANIFEST_INIT;
        struct ca_error err = {0};

        if (manifest_parse((const char *) data, size, "fuzz", &m, &err) < 0) {
                if (!err.msg[0] || m.json || m.servers)
                        __builtin_trap();
                return 0;
        }
        if (!m.session)
                __builtin_trap();
        for (size_t i = 0; i < m.nservers; i++) {
                check_server(&m, &m.servers[i]);
                for (size_t k = 0; k < i; k++) {
                        if (m.servers[k].uid == m.servers[i].uid)
                                __builtin_trap();
                }
        }
        manifest_clear(&m);
        return 0;
}
