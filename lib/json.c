/* SPDX-License-Identifier: MIT */
#include "json.h"

#include <errno.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "fileio.h"

int ca_json_parse(const char *data, size_t len, const char *name, json_t **ret,
                  struct ca_error *err)
{
        json_error_t jerr;
        json_t *v;

        v = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL,
                       &jerr);
        if (!v) {
                if (json_error_code(&jerr) == json_error_out_of_memory)
                        return ca_error_setx(err, ENOMEM, "%s: out of memory", name);
                /* jansson's columns count from 1 after the offending character was read; a
                 * column of 0 or -1 means "unknown": report 1 rather than nonsense. */
                return ca_error_input(err, "%s:%d:%d: %s", name, jerr.line > 0 ? jerr.line : 1,
                                      jerr.column > 0 ? jerr.column : 1, jerr.text);
        }
        *ret = v;
        return 0;
}

int ca_json_parse_file(const char *path, size_t max, json_t **ret, struct ca_error *err)
{
        _cleanup_buf_ struct buf b = BUF_INIT;
        int r;

        r = fileio_read_path(path, max, &b, err);
        if (r < 0)
                return r;
        return ca_json_parse(b.data ? b.data : "", b.len, path, ret, err);
}

/* Reals have no canonical text form: refuse them anywhere in the tree. */
static int check_no_reals(const json_t *v, unsigned depth)
{
        const char *key;
        json_t *child;
        size_t i;

        if (depth > 2048)
                return -ELOOP;
        switch (json_typeof(v)) {
        case JSON_REAL:
                return -EINVAL;
        case JSON_OBJECT:
                json_object_foreach((json_t *) v, key, child) {
                        int r = check_no_reals(child, depth + 1);
                        if (r < 0)
                                return r;
                }
                return 0;
        case JSON_ARRAY:
                json_array_foreach(v, i, child) {
                        int r = check_no_reals(child, depth + 1);
                        if (r < 0)
                                return r;
                }
                return 0;
        default:
                return 0;
        }
}

/* Dumps straight into `out`: one json_dumpb into the free space, and one more after growing
 * when that was too small (a callback per token costs more than the occasional second pass). */
static int dump(const json_t *v, size_t flags, struct buf *out, struct ca_error *err)
{
        size_t room;
        size_t n;

        if (buf_reserve(out, 4096) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        room = out->cap - out->len - 1;
        n = json_dumpb(v, out->data + out->len, room, flags);
        if (n == 0)
                return ca_error_setx(err, ENOMEM, "cannot serialise JSON");
        if (n > room) {
                if (buf_reserve(out, n) < 0)
                        return ca_error_setx(err, ENOMEM, "out of memory");
                room = out->cap - out->len - 1;
                if (json_dumpb(v, out->data + out->len, room, flags) != n)
                        return ca_error_setx(err, EIO, "JSON serialisation changed size");
        }
        out->len += n;
        out->data[out->len] = '\0';
        return 0;
}

int ca_json_canonical(const json_t *v, struct buf *out, struct ca_error *err)
{
        int r = check_no_reals(v, 0);

        if (r < 0)
                return ca_error_setx(err, -r, "JSON value not canonicalisable (%s)",
                                     r == -EINVAL ? "contains a real number" : "too deep");
        return dump(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY, out, err);
}

int ca_json_canonical_ascii(const json_t *v, struct buf *out, struct ca_error *err)
{
        int r = check_no_reals(v, 0);

        if (r < 0)
                return ca_error_setx(err, -r, "JSON value not canonicalisable (%s)",
                                     r == -EINVAL ? "contains a real number" : "too deep");
        return dump(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY | JSON_ENSURE_ASCII, out,
                    err);
}

int ca_json_pretty(const json_t *v, struct buf *out, struct ca_error *err)
{
        int r = dump(v, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY, out, err);

        if (r < 0)
                return r;
        if (buf_append_char(out, '\n') < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        return 0;
}
