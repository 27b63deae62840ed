/* SPDX-License-Identifier: MIT */
/*
 * JSON through jansson. This header is the project's one gateway to jansson: other modules
 * include "json.h", never <jansson.h>, so parse errors and canonical output are handled in one
 * place. Building and reading values uses jansson's own API (json_object_set_new ...).
 */
#pragma once

#include <stddef.h>

#include <jansson.h>

#include "macro.h"

struct ca_error;
struct buf;

/*
 * Parses exactly one JSON document from `len` bytes. Duplicate object keys and trailing garbage
 * are rejected; jansson caps nesting depth. On failure returns -EINVAL with err =
 * "name:line:col: message" (bad_input set).
 */
int ca_json_parse(const char *data, size_t len, const char *name, json_t **ret,
                  struct ca_error *err) CA_MUST_CHECK;

/* Reads `path` (at most `max` bytes) and parses it. */
int ca_json_parse_file(const char *path, size_t max, json_t **ret,
                       struct ca_error *err) CA_MUST_CHECK;

/*
 * Appends the canonical form of `v` to `out`: object keys sorted by byte order, no whitespace,
 * UTF-8 as is, integers in decimal. Equal values give equal bytes, so the output can be hashed.
 * Reals are refused (-EINVAL): their text form is not canonical across implementations.
 */
int ca_json_canonical(const json_t *v, struct buf *out, struct ca_error *err) CA_MUST_CHECK;

/*
 * ca_json_canonical() with every byte outside printable ASCII escaped (\uXXXX): a line of it
 * holds nothing a terminal acts on, whatever its strings hold (the event log).
 */
int ca_json_canonical_ascii(const json_t *v, struct buf *out, struct ca_error *err) CA_MUST_CHECK;

/* Appends `v` for humans: sorted keys, two-space indent, trailing newline. */
int ca_json_pretty(const json_t *v, struct buf *out, struct ca_error *err) CA_MUST_CHECK;

/* A member of an object, or NULL when absent or null (protobuf's JSON mapping writes null for
 * an unset field). */
static inline const json_t *ca_json_member(const json_t *o, const char *key)
{
        const json_t *v = json_object_get(o, key);

        return json_is_null(v) ? NULL : v;
}

static inline void ca_json_decrefp(json_t **v)
{
        json_decref(*v);
}
#define _cleanup_json_ __attribute__((cleanup(ca_json_decrefp)))
