/* SPDX-License-Identifier: MIT */
/*
 * Test helper: appends COUNT events of TYPE to the log at PATH, each with the first two fields
 * the catalogue names for TYPE (eventcat.h): {first: ID, second: i}, e.g. stub-start's
 * {"name": ID, "uid": i}. Used to drive several real writer processes at once.
 *
 *   event-writer PATH TYPE ID COUNT
 */
#include <stdio.h>
#include <stdint.h>

#include "audit.h"
#include "error.h"
#include "eventcat.h"
#include "json.h"
#include "parse.h"

int main(int argc, char **argv)
{
        _cleanup_audit_ struct audit_log *log = NULL;
        struct ca_error err = {0};
        uint64_t count = 0;
        int type;

        if (argc != 5 || parse_uint(argv[4], 0, 1000000, &count) < 0) {
                (void) fprintf(stderr, "usage: event-writer PATH TYPE ID COUNT\n");
                return 2;
        }
        type = audit_type_from_name(argv[2]);
        if (type < 0) {
                (void) fprintf(stderr, "event-writer: unknown type '%s'\n", argv[2]);
                return 2;
        }
        if (!eventcat_get((enum audit_type) type)->fields[1]) {
                (void) fprintf(stderr, "event-writer: '%s' has fewer than two fields\n", argv[2]);
                return 2;
        }
        if (audit_open(argv[1], &log, &err) < 0) {
                (void) fprintf(stderr, "event-writer: %s\n", err.msg);
                return 1;
        }
        for (uint64_t i = 0; i < count; i++) {
                const char *const *names = eventcat_get((enum audit_type) type)->fields;
                json_t *fields = json_pack("{s:s, s:I}", names[0], argv[3], names[1], (json_int_t) i);
                int r = fields ? audit_append(log, (enum audit_type) type, "test-session",
                                              fields, NULL, &err)
                               : -1;
                json_decref(fields);
                if (r < 0) {
                        (void) fprintf(stderr, "event-writer: %s\n", err.msg);
                        return 1;
                }
        }
        return 0;
}
