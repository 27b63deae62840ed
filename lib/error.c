/* SPDX-License-Identifier: MIT */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ca_error_clear(struct ca_error *err)
{
        if (!err)
                return;
        err->code = 0;
        err->bad_input = false;
        err->msg[0] = '\0';
}

/* Marks a truncated message with "..." so a reader knows text is missing. */
static void mark_truncated(char *msg)
{
        size_t n = strlen(msg);

        if (n >= 3) {
                msg[n - 3] = '.';
                msg[n - 2] = '.';
                msg[n - 1] = '.';
        }
}

int ca_error_record(struct ca_error *err, int code, bool with_errno, bool bad_input,
                    const char *fmt, ...)
{
        int pos = code < 0 ? -code : code;
        va_list ap;
        int n;

        if (pos == 0)
                pos = EIO;
        if (!err)
                return code;

        err->code = pos;
        err->bad_input = bad_input;
        va_start(ap, fmt);
        n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        if (n < 0) {
                err->msg[0] = '\0';
                return code;
        }
        if ((size_t) n >= sizeof(err->msg)) {
                mark_truncated(err->msg);
                return code;
        }
        if (with_errno) {
                size_t used = (size_t) n;
                int m = snprintf(err->msg + used, sizeof(err->msg) - used, ": %s",
                                 strerror(pos));
                if (m < 0 || (size_t) m >= sizeof(err->msg) - used)
                        mark_truncated(err->msg);
        }
        return code;
}

int ca_error_record_prefix(struct ca_error *err, const char *fmt, ...)
{
        char prefix[CA_ERROR_MSG_MAX];
        char old[CA_ERROR_MSG_MAX];
        va_list ap;
        int n;

        if (!err)
                return -EIO;
        if (err->code == 0)
                err->code = EIO;

        va_start(ap, fmt);
        n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        if (n < 0)
                return err->code;

        memcpy(old, err->msg, sizeof(old));
        n = snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
        if (n < 0 || (size_t) n >= sizeof(err->msg))
                mark_truncated(err->msg);
        return err->code;
}

int ca_error_exit_status(const struct ca_error *err)
{
        return err && err->bad_input ? 2 : 1;
}
