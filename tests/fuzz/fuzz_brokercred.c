/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the broker credential file: arbitrary bytes parse or are refused with
 * a message; what parses holds a cap2 capability, a full-length key and an absolute (or no)
 * socket, and formats back to a credential that parses to the same.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "brokercred.h"
#include "buf.h"
#include "error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct broker_credential c, again;
        struct ca_error err = {0};
        struct buf out = BUF_INIT;
        char hex[2 * CAP_KEY_LEN + 1];

        if (brokercred_parse((const char *) data, size, "fuzz", &c, &err) < 0) {
                if (!err.msg[0])
                        __builtin_trap();
                return 0;
        }
        if (strncmp(c.capability, CAP_PREFIX, strlen(CAP_PREFIX)) != 0 ||
            (c.socket[0] && c.socket[0] != '/'))
                __builtin_trap();
        sodium_bin2hex(hex, sizeof(hex), c.key, sizeof(c.key));
        if (brokercred_format(c.capability, hex, c.socket, NULL, 0, &out, &err) < 0 ||
            brokercred_parse(out.data, out.len, "again", &again, &err) < 0 ||
            memcmp(&c, &again, sizeof(c)) != 0)
                __builtin_trap();
        buf_clear(&out);
        return 0;
}
