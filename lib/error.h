/* SPDX-License-Identifier: MIT */
/*
 * The one error convention of the project (CONVENTIONS "Error handling").
 *
 * A fallible function returns int: >= 0 on success, a negative errno on failure. Whatever
 * touches files, sockets, parsers, the kernel or a dependency also takes `struct ca_error *err`
 * last, owned by the caller on the stack, so recording an error never allocates.
 *
 *     if (fd < 0)
 *             return ca_error_set(err, errno, "cannot open '%s'", path);
 *
 * `bad_input` marks errors caused by the user's input (config syntax, bad arguments); the CLI
 * maps them to exit status 2, everything else to 1.
 */
#pragma once

#include <stdbool.h>

#include "macro.h"

#define CA_ERROR_MSG_MAX 512

struct ca_error {
        int code;       /* positive errno value, 0 when no error was recorded */
        bool bad_input; /* caused by user input: exit status 2 */
        char msg[CA_ERROR_MSG_MAX];
};

/* Resets `err` to "no error". NULL-safe. */
void ca_error_clear(struct ca_error *err);

/*
 * Records errno value `code` (positive or negative; 0 becomes EIO) and a formatted message,
 * followed by ": <strerror>" for real system errors. Returns -code so callers can
 * `return ca_error_set(...)`. `err` may be NULL (the code is still returned).
 * Async-signal-unsafe (vsnprintf).
 */
int ca_error_set(struct ca_error *err, int code, const char *fmt, ...) CA_PRINTF(3, 4);

/* Like ca_error_set, without the strerror suffix: for synthetic failures (EPROTO, EACCES ...). */
int ca_error_setx(struct ca_error *err, int code, const char *fmt, ...) CA_PRINTF(3, 4);

/* Records a bad-input error (EINVAL, bad_input = true). Returns -EINVAL. */
int ca_error_input(struct ca_error *err, const char *fmt, ...) CA_PRINTF(2, 3);

/*
 * Prepends context: "loading 'x': <old message>". Keeps code and bad_input. Returns -code,
 * or -EIO when nothing was recorded. The message is truncated (with "...") if it grows too long.
 */
int ca_error_prefix(struct ca_error *err, const char *fmt, ...) CA_PRINTF(2, 3);

/* Exit status for a failed command: 2 for bad input, 1 otherwise. */
int ca_error_exit_status(const struct ca_error *err);
