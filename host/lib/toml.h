/* SPDX-License-Identifier: MIT */
/*
 * TOML 1.0.0 parser (https://toml.io/en/v1.0.0) with a read-only tree API.
 *
 * No C TOML library is packaged in Debian, so this one is ours. It implements the whole
 * specification: every string kind and escape, integers in all bases with overflow detection,
 * floats including inf/nan, offset and local date-times to the nanosecond, arrays, inline
 * tables, arrays of tables, dotted keys and the table (re)definition rules, UTF-8 validation
 * and a leading BOM. Conformance: ../shared/toml-test (709 cases) via tests/toml-decoder.
 *
 * Every node carries the position where it starts (file, line, column; columns count Unicode
 * code points from 1), so configuration errors read `file:line:col: message`.
 *
 * Limits against hostile input: nesting depth (arrays, inline tables and tables, counted from
 * the root) is capped at TOML_MAX_DEPTH, dotted keys at TOML_MAX_KEY_PARTS parts. Input size is
 * the caller's to cap (toml_parse_file caps at TOML_MAX_FILE_SIZE).
 *
 * The whole tree lives in one arena owned by `struct toml_doc`: nodes and strings stay valid
 * until toml_doc_free().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define TOML_MAX_DEPTH 128
#define TOML_MAX_KEY_PARTS 128
#define TOML_MAX_FILE_SIZE ((size_t) 64 << 20)

struct ca_error;
struct toml_doc;
struct toml_value;

enum toml_type {
        TOML_TABLE,
        TOML_ARRAY,
        TOML_STRING,
        TOML_INTEGER,
        TOML_FLOAT,
        TOML_BOOL,
        TOML_DATETIME,       /* offset date-time */
        TOML_DATETIME_LOCAL, /* date-time without offset */
        TOML_DATE_LOCAL,
        TOML_TIME_LOCAL,
};

/* The file is the document's (toml_doc_name): kept out of every position, which the parser
 * writes for every key and value. */
struct toml_pos {
        uint32_t line; /* from 1 */
        uint32_t col;  /* from 1, in code points */
};

struct toml_datetime {
        int32_t year;
        uint8_t month, day;
        uint8_t hour, minute, second;
        uint32_t nanosecond;
        int16_t offset_minutes; /* TOML_DATETIME only; east of UTC is positive */
};

struct toml_kv {
        const char *key; /* NUL-terminated, but may also contain NUL: use key_len */
        size_t key_len;
        struct toml_pos pos; /* where the key was written */
        struct toml_value *value;
};

struct toml_table {
        struct toml_kv *items; /* in insertion order */
        size_t len;
        size_t cap;
        uint32_t *index; /* open-addressing hash of item indexes + 1, built for large tables */
        size_t index_cap;
};

struct toml_array {
        struct toml_value **items;
        size_t len;
        size_t cap;
};

struct toml_value {
        enum toml_type type;
        uint16_t depth;   /* nesting depth, root table = 0 */
        uint8_t flags;    /* parser-internal definition state */
        uint32_t section; /* parser-internal: section that defined it through dotted keys */
        struct toml_pos pos;
        union {
                struct {
                        const char *ptr; /* NUL-terminated, may contain NUL: use len */
                        size_t len;
                } string;
                int64_t integer;
                double flt;
                bool boolean;
                struct toml_datetime datetime;
                struct toml_table table;
                struct toml_array array;
        } u;
};

/*
 * Parses `len` bytes of `src`. `name` (copied) names the input in positions and messages.
 * On success stores a new document in *ret_doc and returns 0. On failure returns -EINVAL with
 * `err` holding "name:line:col: message" (bad_input set), or -ENOMEM.
 */
int toml_parse(const char *src, size_t len, const char *name, struct toml_doc **ret_doc,
               struct ca_error *err) CA_MUST_CHECK;

/* Reads `path` (at most TOML_MAX_FILE_SIZE bytes; "-" is stdin) and parses it. */
int toml_parse_file(const char *path, struct toml_doc **ret_doc,
                    struct ca_error *err) CA_MUST_CHECK;

/* Frees the document and every node in it. NULL-safe; returns NULL. */
struct toml_doc *toml_doc_free(struct toml_doc *doc);

/* The root table of a document. */
const struct toml_value *toml_doc_root(const struct toml_doc *doc);

/* The name the document was parsed under. */
const char *toml_doc_name(const struct toml_doc *doc);

/* Looks `key` up in table `t`. NULL when `t` is NULL, not a table, or has no such key. */
const struct toml_value *toml_table_get(const struct toml_value *t, const char *key);
const struct toml_kv *toml_table_find(const struct toml_value *t, const char *key,
                                      size_t key_len);

/* "table", "array", "string", ... (as in toml-test's tagged JSON). */
const char *toml_type_name(enum toml_type type);

/*
 * Formats a date/time value as RFC 3339 (fraction only when non-zero, trailing zeros removed).
 * Returns the length written, or -EINVAL when `v` is not a date/time, -ENOBUFS when `out` is too
 * small (48 bytes always suffice).
 */
int toml_datetime_format(const struct toml_value *v, char *out, size_t outlen);

static inline void toml_doc_freep(struct toml_doc **doc)
{
        toml_doc_free(*doc);
}
#define _cleanup_toml_doc_ __attribute__((cleanup(toml_doc_freep)))
