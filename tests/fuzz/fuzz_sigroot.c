/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for host/lib/sigroot: a trusted root is the user's to name (--trusted-root);
 * any bytes must parse or be refused as bad input, never crash or leak, and what parses holds
 * only windows that start and keys that decode.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "sigroot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_logs(const struct sigroot_log *l, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (l[i].key.len == 0 || l[i].log_id.len == 0 || !l[i].scheme ||
                    (l[i].valid.has_end && l[i].valid.end < l[i].valid.start))
                        __builtin_trap();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct ca_error err = {0};
        struct sigroot r;
        int ret = sigroot_parse((const char *) data, size, &r, &err);

        if (ret != 0) {
                if (ret != -EINVAL || !err.bad_input)
                        __builtin_trap();
                return 0;
        }
        check_logs(r.tlogs, r.ntlogs);
        check_logs(r.ctlogs, r.nctlogs);
        for (size_t i = 0; i < r.ncas; i++) {
                if (r.cas[i].ncerts == 0)
                        __builtin_trap();
        }
        sigroot_clear(&r);
        return 0;
}
