/* SPDX-License-Identifier: MIT */
/*
 * toml-test decoder: reads TOML on stdin and prints the tagged JSON described in
 * ../shared/toml-test/README.md. Exit 0 for valid input, 1 (message on stderr) for invalid.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "json.h"
#include "toml.h"

static json_t *tagged(const char *type, const char *value, size_t len)
{
        json_t *o = json_object();

        if (!o)
                return NULL;
        if (json_object_set_new(o, "type", json_string(type)) < 0 ||
            json_object_set_new(o, "value", json_stringn(value, len)) < 0)
                return json_decref(o), NULL;
        return o;
}

static json_t *convert(const struct toml_value *v)
{
        char tmp[64];
        int n;

        switch (v->type) {
        case TOML_TABLE: {
                json_t *o = json_object();
                if (!o)
                        return NULL;
                for (size_t i = 0; i < v->u.table.len; i++) {
                        const struct toml_kv *kv = &v->u.table.items[i];
                        json_t *c = convert(kv->value);
                        if (!c || json_object_setn_new(o, kv->key, kv->key_len, c) < 0)
                                return json_decref(o), NULL;
                }
                return o;
        }
        case TOML_ARRAY: {
                json_t *a = json_array();
                if (!a)
                        return NULL;
                for (size_t i = 0; i < v->u.array.len; i++) {
                        json_t *c = convert(v->u.array.items[i]);
                        if (!c || json_array_append_new(a, c) < 0)
                                return json_decref(a), NULL;
                }
                return a;
        }
        case TOML_STRING:
                return tagged("string", v->u.string.ptr, v->u.string.len);
        case TOML_INTEGER:
                n = snprintf(tmp, sizeof(tmp), "%lld", (long long) v->u.integer);
                return n < 0 ? NULL : tagged("integer", tmp, (size_t) n);
        case TOML_FLOAT:
                if (isnan(v->u.flt))
                        n = snprintf(tmp, sizeof(tmp), "nan");
                else if (isinf(v->u.flt))
                        n = snprintf(tmp, sizeof(tmp), "%sinf", v->u.flt < 0 ? "-" : "");
                else
                        n = snprintf(tmp, sizeof(tmp), "%.17g", v->u.flt);
                return n < 0 ? NULL : tagged("float", tmp, (size_t) n);
        case TOML_BOOL:
                return tagged("bool", v->u.boolean ? "true" : "false", v->u.boolean ? 4 : 5);
        case TOML_DATETIME:
        case TOML_DATETIME_LOCAL:
        case TOML_DATE_LOCAL:
        case TOML_TIME_LOCAL:
                n = toml_datetime_format(v, tmp, sizeof(tmp));
                return n < 0 ? NULL : tagged(toml_type_name(v->type), tmp, (size_t) n);
        }
        return NULL;
}

int main(void)
{
        _cleanup_toml_doc_ struct toml_doc *doc = NULL;
        _cleanup_json_ json_t *out = NULL;
        _cleanup_buf_ struct buf b = BUF_INIT;
        struct ca_error err = {0};

        if (toml_parse_file("-", &doc, &err) < 0) {
                fprintf(stderr, "toml-decoder: %s\n", err.msg);
                return 1;
        }
        out = convert(toml_doc_root(doc));
        if (!out || ca_json_pretty(out, &b, &err) < 0) {
                fprintf(stderr, "toml-decoder: cannot build JSON\n");
                return 1;
        }
        if (fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout) != 0) {
                fprintf(stderr, "toml-decoder: write failed: %s\n", strerror(errno));
                return 1;
        }
        return 0;
}
