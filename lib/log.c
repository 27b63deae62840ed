/* SPDX-License-Identifier: MIT */
/* Daemons' and container programs' log lines (log.h). */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "textsafe.h"

static const char *log_program = "coding-agents";
static enum log_level log_level_now = LOG_LEVEL_INFO;

void log_init(const char *program)
{
        static const char *const names[] = {"error", "warn", "info", "debug"};
        const char *want = secure_getenv("CODING_AGENTS_LOG");

        if (program)
                log_program = program;
        for (size_t i = 0; want && i < CA_ELEMENTSOF(names); i++) {
                if (strcmp(want, names[i]) == 0)
                        log_level_now = (enum log_level) i;
        }
}

void log_set_level(enum log_level level)
{
        log_level_now = level;
}

enum log_level log_get_level(void)
{
        return log_level_now;
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
        int saved = errno;
        char msg[2048];
        struct buf b = BUF_INIT;

        if (level > log_level_now)
                return;
        (void) vsnprintf(msg, sizeof(msg), fmt, ap); /* truncation is acceptable */
        if (text_escape(msg, strlen(msg), TEXT_KEEP_NEWLINE, &b) == 0)
                (void) fprintf(stderr, "%s: %s\n", log_program, b.data);
        buf_clear(&b);
        errno = saved;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_vmsg(level, fmt, ap);
        va_end(ap);
}
