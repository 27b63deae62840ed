/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the SHA256SUMS parser (a release manifest anyone could hand us). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "error.h"
#include "sums.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct sums s;
        struct ca_error err = {0};

        if (sums_parse((const char *) data, size, &s, &err) == 0) {
                for (size_t i = 0; i < s.n; i++) {
                        if (!sums_valid_path(s.e[i].path) ||
                            (i > 0 && strcmp(s.e[i - 1].path, s.e[i].path) >= 0))
                                __builtin_trap();
                }
                sums_clear(&s);
        }
        return 0;
}
