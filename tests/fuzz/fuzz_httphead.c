/* SPDX-License-Identifier: MIT */
/* libFuzzer target for HTTP/1.x response heads (lib/httphead.c): a head's length must lie
 * within the input and its status be three digits. */
#include <stddef.h>
#include <stdint.h>

#include "httphead.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        int status = -1;
        int r = httphead_parse((const char *) data, size, &status);

        if (r > 0 && ((size_t) r > size || status < 0 || status > 999))
                __builtin_trap();
        return 0;
}
