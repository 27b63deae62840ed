/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the capability decoder: arbitrary text must parse or be rejected with
 * a status, never crash; whatever parses must re-encode to the same record under a key. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "capability.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const uint8_t master[CAP_KEY_LEN] = {1, 2, 3};
        char *text = malloc(size + 1);
        struct capability cap;
        enum cap_status st;

        if (!text || sodium_init() < 0) {
                free(text);
                return 0;
        }
        memcpy(text, data, size);
        text[size] = '\0';
        st = capability_parse(text, &cap);
        if (st == CAP_OK) {
                uint8_t key[CAP_KEY_LEN];
                char again[CAP_TEXT_MAX + 1];
                struct capability back;

                if (capability_mac_key(master, cap.session, key) != 0 ||
                    capability_encode(&cap, key, again, sizeof(again)) <= 0 ||
                    capability_verify(again, key, cap.not_before, &back) != CAP_OK ||
                    memcmp(back.id, cap.id, CAP_ID_LEN) != 0)
                        __builtin_trap();
        } else if (st > CAP_EXPIRED) {
                __builtin_trap();
        }
        free(text);
        return 0;
}
