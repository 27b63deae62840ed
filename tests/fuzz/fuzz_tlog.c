/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for host/lib/tlog: a checkpoint note anyone could put in a bundle must parse
 * or be refused, never crash, and what parses must be consistent (the signed text ends with the
 * body's newline, right before the blank line). The same bytes also drive an inclusion proof:
 * whatever root a proof folds to, it verifies against that root and against no other.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "error.h"
#include "tlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_note(const uint8_t *data, size_t size)
{
        static struct tlog_checkpoint cp;
        struct ca_error err = {0};
        const char *text = (const char *) data;

        if (tlog_checkpoint_parse(text, size, &cp, &err) != 0) {
                if (!err.bad_input)
                        __builtin_trap();
                return;
        }
        if (cp.signed_len == 0 || cp.signed_len + 2 > size || text[cp.signed_len - 1] != '\n' ||
            text[cp.signed_len] != '\n' || cp.nsigs == 0 || cp.nsigs > TLOG_SIGS_MAX ||
            cp.origin[0] == '\0' || cp.size > (UINT64_C(1) << 63) - 1)
                __builtin_trap();
        for (size_t i = 0; i < cp.nsigs; i++) {
                if (cp.sigs[i].sig_len == 0 || cp.sigs[i].sig_len > TLOG_SIG_MAX ||
                    tlog_checkpoint_find(&cp, cp.sigs[i].name, cp.sigs[i].hint) == NULL)
                        __builtin_trap();
        }
}

static void fuzz_proof(const uint8_t *data, size_t size)
{
        uint8_t leaf[TLOG_HASH_LEN], root[TLOG_HASH_LEN];
        uint64_t index, tree;
        size_t n;

        if (size < 16)
                return;
        memcpy(&index, data, 8);
        memcpy(&tree, data + 8, 8);
        /* Small trees most of the time, so that shapes match and proofs fold. */
        if (!(index >> 63)) {
                index &= 0xffff;
                tree &= 0xffff;
        }
        data += 16;
        size -= 16;
        n = size / TLOG_HASH_LEN;
        if (n > TLOG_PROOF_MAX)
                n = TLOG_PROOF_MAX;
        tlog_leaf_hash(data, size, leaf);
        if (tlog_inclusion_root(leaf, index, tree, (const uint8_t(*)[TLOG_HASH_LEN]) data, n,
                                root) != 0)
                return;
        if (tlog_verify_inclusion(leaf, index, tree, (const uint8_t(*)[TLOG_HASH_LEN]) data, n,
                                  root) != 0)
                __builtin_trap();
        root[0] ^= 1;
        if (tlog_verify_inclusion(leaf, index, tree, (const uint8_t(*)[TLOG_HASH_LEN]) data, n,
                                  root) != -EBADMSG)
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        fuzz_note(data, size);
        fuzz_proof(data, size);
        return 0;
}
