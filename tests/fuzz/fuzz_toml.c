/* SPDX-License-Identifier: MIT */
/* libFuzzer target for lib/toml: any input must parse or fail cleanly, and a parsed tree must
 * be walkable within the depth limit. */
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk(const struct toml_value *v)
{
        size_t n = 1;

        if (v->depth > TOML_MAX_DEPTH)
                __builtin_trap();
        if (v->type == TOML_TABLE) {
                for (size_t i = 0; i < v->u.table.len; i++) {
                        const struct toml_kv *kv = &v->u.table.items[i];
                        /* Every key must be found again through the lookup path. */
                        if (toml_table_find(v, kv->key, kv->key_len) != kv)
                                __builtin_trap();
                        n += walk(kv->value);
                }
        } else if (v->type == TOML_ARRAY) {
                for (size_t i = 0; i < v->u.array.len; i++)
                        n += walk(v->u.array.items[i]);
        } else if (v->type >= TOML_DATETIME) {
                char out[64];
                if (toml_datetime_format(v, out, sizeof(out)) < 0)
                        __builtin_trap();
        }
        return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct toml_doc *doc = NULL;
        struct ca_error err = {0};

        if (toml_parse((const char *) data, size, "fuzz", &doc, &err) == 0) {
                (void) walk(toml_doc_root(doc));
                toml_doc_free(doc);
        } else if (err.msg[0] == '\0') {
                __builtin_trap();
        }
        return 0;
}
