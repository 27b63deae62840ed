/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for host/lib/sigbundle: a Sigstore bundle comes with the artifact, from
 * whoever hands it over. Any bytes must parse or be refused as bad input, never crash or leak;
 * what parses must hold what the verifier relies on.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "sigbundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct ca_error err = {0};
        struct sigbundle b;
        int r = sigbundle_parse((const char *) data, size, &b, &err);

        if (r != 0) {
                if (r != -EINVAL || !err.bad_input)
                        __builtin_trap();
                return 0;
        }
        if (!b.version || !b.media_type || (b.ncerts == 0) == (b.key_hint == NULL) ||
            (b.version == SIGBUNDLE_V03 && b.ncerts > 1) || b.ntlogs > SIGBUNDLE_LIST_MAX)
                __builtin_trap();
        if (b.dsse ? (!b.payload_type || b.ndsse_sigs == 0)
                   : (b.digest_len < 32 || b.signature.len == 0))
                __builtin_trap();
        for (size_t i = 0; i < b.ntlogs; i++) {
                const struct sigbundle_tlog *t = &b.tlogs[i];

                if (t->log_index < 0 || t->body.len == 0 || t->log_id.len == 0 ||
                    (t->has_proof && (t->tree_size < 0 || t->nhashes > TLOG_PROOF_MAX)))
                        __builtin_trap();
        }
        sigbundle_clear(&b);
        return 0;
}
