/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the broker's request decoder (what a hostile client can send). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "broker_proto.h"
#include "error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct broker_request req;
        struct ca_error err = {0};

        if (broker_request_parse((const char *) data, size, &req, &err) == 0) {
                if (req.op > BROKER_OP_REDEEM || req.nsecrets > CAP_MAX_SECRETS ||
                    req.max_uses == 0)
                        __builtin_trap();
                for (size_t i = 0; i < req.nsecrets; i++) {
                        if (!req.secrets[i] || strlen(req.secrets[i]) > CAP_SECRET_NAME_MAX)
                                __builtin_trap();
                }
                broker_request_clear(&req);
        } else if (!err.bad_input && err.code != ENOMEM) {
                __builtin_trap();
        }
        return 0;
}
