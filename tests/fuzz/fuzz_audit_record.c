/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the event-log line parser used by `events verify` and `events tail`. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "audit.h"
#include "error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct audit_record rec;
        struct ca_error err = {0};

        if (audit_record_parse((const char *) data, size, &rec, &err) == 0) {
                if (rec.seq < 1 || strlen(rec.prev) != DIGEST_SHA256_HEX_LEN ||
                    audit_type_from_name(rec.type) < 0)
                        __builtin_trap();
                audit_record_clear(&rec);
        }
        return 0;
}
