/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the stub protocol (lib/stubproto.c): the launcher, running as root,
 * parses what any local process sends to its socket. An accepted message must survive a
 * round trip through stub_msg_json() unchanged.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "stubproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct stub_msg m, back;
        json_t *o;
        char *text;

        if (stub_msg_parse((const char *) data, size, &m) != 0)
                return 0;
        o = stub_msg_json(&m);
        text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (!text || stub_msg_parse(text, strlen(text), &back) != 0 || back.op != m.op ||
            back.value != m.value || strcmp(back.name, m.name) != 0 ||
            strcmp(back.message, m.message) != 0)
                __builtin_trap();
        free(text);
        json_decref(o);
        return 0;
}
