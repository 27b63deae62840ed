/* SPDX-License-Identifier: MIT */
/* Compiler attributes behind project names, so nothing else spells __attribute__. */
#pragma once

#define CA_NORETURN __attribute__((noreturn))
#define CA_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define CA_MUST_CHECK __attribute__((warn_unused_result))
#define CA_UNUSED __attribute__((unused))
#define CA_EXPORT __attribute__((visibility("default")))

#define CA_ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
