/* SPDX-License-Identifier: MIT */
/*
 * The event catalogue: for every event type, who records it and which fields it may carry. It
 * is the contract of the event log with its readers (`audit`, SIEM rules, docs/events.md):
 *
 *   - `coding-agents events types` prints it, and a test compares docs/events.md's catalogue
 *     with it both ways (every type and field documented, nothing documented that is not here);
 *   - audit_append() checks each event against it in builds with assertions (the sanitizer
 *     build the whole test suite runs under), so a field the code records but the catalogue does
 *     not name stops the test that caused it. Release builds record such an event as it is:
 *     a security record is never dropped for a documentation slip.
 *
 * Only top-level field names are listed; their values are described in docs/events.md.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "audit.h"
#include "json.h"

struct eventcat_entry {
        const char *by;                /* who records it: "broker", "host", "helper", ... */
        const char *const *fields;     /* NULL-terminated */
        bool aggregated;               /* may carry suppressed, interval_s, summary */
};

/* The entry of `type`, or NULL when out of range. */
const struct eventcat_entry *eventcat_get(enum audit_type type);

/* True when `name` may appear in an event of `type` (its own fields, and for aggregated types
 * the aggregation fields). */
bool eventcat_field_known(enum audit_type type, const char *name);

/* The first field of `fields` (an object, may be NULL) that the catalogue does not name for
 * `type`, or NULL when all are known. */
const char *eventcat_unknown_field(enum audit_type type, const json_t *fields);

/* The whole catalogue as JSON: [{"type": ..., "by": ..., "fields": [...], "aggregated": b}]. */
json_t *eventcat_json(void);
