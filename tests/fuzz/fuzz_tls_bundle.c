/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the PEM trust-bundle reader (`coding-agents trust add --bundle`). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct tls_cert_info *certs = NULL;
        struct buf canonical = BUF_INIT;
        struct ca_error err = {0};
        size_t n = 0;

        if (tls_bundle_parse((const char *) data, size, &certs, &n, &canonical, &err) == 0) {
                /* Whatever was accepted re-encodes to a bundle that is accepted again, equal. */
                struct tls_cert_info *again = NULL;
                struct buf twice = BUF_INIT;
                size_t m = 0;

                if (n == 0 || tls_bundle_parse(canonical.data, canonical.len, &again, &m, &twice,
                                               &err) != 0 || m != n ||
                    twice.len != canonical.len ||
                    memcmp(twice.data, canonical.data, canonical.len) != 0)
                        __builtin_trap();
                for (size_t i = 0; i < n; i++)
                        if (strncmp(certs[i].pin, "sha256//", 8) != 0 ||
                            strcmp(certs[i].sha256, again[i].sha256) != 0)
                                __builtin_trap();
                free(again);
                buf_clear(&twice);
        }
        free(certs);
        buf_clear(&canonical);
        return 0;
}
