/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the task runner's protocol (container/lib/runproto): arbitrary bytes
 * parse or are refused with a message; what parses as a run request has a known shell, an
 * absolute directory, a non-empty argv and NAME=value environment entries; the environment
 * filter and the shell choice take any string.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "runproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct run_msg m;
        struct ca_error err = {0};
        char *s = malloc(size + 1);

        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        (void) run_env_kept(s);
        (void) run_shell_for(s);
        free(s);
        if (run_msg_parse((const char *) data, size, &m, &err) < 0) {
                if (!err.msg[0])
                        __builtin_trap();
                return 0;
        }
        if (m.op == RUN_OP_RUN) {
                if ((strcmp(m.shell, "bash") != 0 && strcmp(m.shell, "dash") != 0) ||
                    m.cwd[0] != '/' || m.argc == 0 || !m.argv[0] || m.argv[m.argc] ||
                    m.env[m.envc])
                        __builtin_trap();
                for (size_t i = 0; i < m.envc; i++)
                        if (!strchr(m.env[i], '=') || m.env[i][0] == '=')
                                __builtin_trap();
        }
        run_msg_clear(&m);
        return 0;
}
