/* SPDX-License-Identifier: MIT */
/*
 * One logging facility for the daemons and container programs (CONVENTIONS "Logging versus
 * user-facing errors"): the broker, agent-init, the stub launcher, the helpers and the egress
 * proxy's supervisor. A line is "<program>: <message>" on standard error, at or above the
 * level set (default LOG_INFO; CODING_AGENTS_LOG=debug|info|warn|error changes it at
 * log_init). Messages are escaped (textsafe.h) except for newlines: they often quote what a
 * peer sent. Security decisions are events (audit.h), never log lines; secrets are never logged.
 *
 * The level and program name are the one piece of process-wide state lib/ keeps.
 */
#pragma once

#include <stdarg.h>

#include "macro.h"

enum log_level {
        LOG_LEVEL_ERROR,
        LOG_LEVEL_WARN,
        LOG_LEVEL_INFO,
        LOG_LEVEL_DEBUG,
};

/* Names the program in every line and reads CODING_AGENTS_LOG. `program` must outlive use. */
void log_init(const char *program);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

void log_msg(enum log_level level, const char *fmt, ...) CA_PRINTF(2, 3);
void log_vmsg(enum log_level level, const char *fmt, va_list ap) CA_PRINTF(2, 0);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
