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

#include <errno.h>
#include <stdbool.h>

#include "macro.h"

#define CA_ERROR_MSG_MAX 1024

struct ca_error {
        int code;       /* positive errno value, 0 when no error was recorded */
        bool bad_input; /* caused by user input: exit status 2 */
        char msg[CA_ERROR_MSG_MAX];
};

/* Resets `err` to "no error". NULL-safe. */
void ca_error_clear(struct ca_error *err);

/*
 * Recorders behind the macros below. Each stores the message and returns `code` unchanged (or
 * err->code for the prefix), so the macros can map it to a negative errno in an inline
 * function that static analysers can see through. Call the macros, not these.
 */
int ca_error_record(struct ca_error *err, int code, bool with_errno, bool bad_input,
                    const char *fmt, ...) CA_PRINTF(5, 6);
int ca_error_record_prefix(struct ca_error *err, const char *fmt, ...) CA_PRINTF(2, 3);

/* Any errno-ish value as a negative errno: negative stays, positive is negated, 0 is -EIO. */
static inline int ca_error_negative(int code)
{
        int neg = code < 0 ? code : -code;

        /* Written so that both branches end in a visible "< 0" (static analysers do not carry
         * the sign through a negation). */
        return neg < 0 ? neg : -EIO;
}

/*
 * ca_error_set(err, code, fmt, ...): records errno value `code` (positive or negative; 0 means
 * EIO) and a formatted message followed by ": <strerror>". Evaluates to the negative errno, so
 * callers can `return ca_error_set(...)`. `err` may be NULL. Not async-signal-safe.
 */
#define ca_error_set(err, code, ...) \
        ca_error_negative(ca_error_record((err), (code), true, false, __VA_ARGS__))

/* Like ca_error_set, without the strerror suffix: for synthetic failures (EPROTO, EACCES ...). */
#define ca_error_setx(err, code, ...) \
        ca_error_negative(ca_error_record((err), (code), false, false, __VA_ARGS__))

/* Records a bad-input error (EINVAL, bad_input = true). Evaluates to -EINVAL. */
#define ca_error_input(err, ...) \
        ca_error_negative(ca_error_record((err), EINVAL, false, true, __VA_ARGS__))

/*
 * Prepends context: "loading 'x': <old message>". Keeps code and bad_input. Evaluates to the
 * recorded negative errno (-EIO when nothing was recorded). Over-long messages end in "...".
 */
#define ca_error_prefix(err, ...) ca_error_negative(ca_error_record_prefix((err), __VA_ARGS__))

/* Exit status for a failed command: 2 for bad input, 1 otherwise. */
int ca_error_exit_status(const struct ca_error *err);
