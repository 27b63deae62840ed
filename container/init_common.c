/* SPDX-License-Identifier: MIT */
/* What agent-init's parts share (init.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "error.h"
#include "image.h"
#include "init.h"
#include "log.h"

void init_die(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_vmsg(LOG_LEVEL_ERROR, fmt, ap);
        va_end(ap);
        exit(126);
}

void init_event(enum audit_type type, const char *session, json_t *fields)
{
        struct ca_error err = {0};

        if (!fields)
                return;
        if (access(IMAGE_EVENTS_LOG, F_OK) == 0 &&
            audit_emit(IMAGE_EVENTS_LOG, type, session, fields, &err) < 0)
                log_warn("cannot record an event: %s, ignoring", err.msg);
        json_decref(fields);
}
