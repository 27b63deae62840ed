/* SPDX-License-Identifier: MIT */
/* Checked parsers for numbers given on command lines and in files (no atoi/strtol). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* Parses a decimal unsigned integer in [min, max]: digits only, no sign, no spaces, no
 * leading zeros (except "0"). Returns 0, -EINVAL (malformed) or -ERANGE. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret) CA_MUST_CHECK;

/* Parses a duration "90", "90s", "30m", "12h", "7d" into seconds in [1, max_seconds]. */
int parse_duration(const char *s, uint64_t max_seconds, uint64_t *ret_seconds) CA_MUST_CHECK;

/* The value of one hex digit (either case), or -1. */
int parse_hex_digit(char c);

/*
 * Decodes exactly 2*n hex digits (either case, nothing else, NUL-terminated) into out[0..n).
 * True on success; on failure `out` may hold part of the value.
 */
bool parse_hex(const char *hex, uint8_t *out, size_t n);
