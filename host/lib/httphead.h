/* SPDX-License-Identifier: MIT */
/*
 * The head of an HTTP/1.x response, for the one place that speaks HTTP without libcurl: the
 * Engine API's connection upgrade (attach and exec with a terminal), after which the socket
 * carries the raw stream. The engine is on the other end, but a compromised or impostor engine
 * is exactly what the runtime gate guards against, so every byte is untrusted (fuzzed by
 * tests/fuzz/fuzz_httphead.c).
 */
#pragma once

#include <stddef.h>

#include "macro.h"

#define HTTPHEAD_MAX 16384

/*
 * Looks for a complete head ("HTTP/1.x NNN reason\r\n" + header lines + "\r\n") at the start of
 * data[0..len). Returns its length and stores the status code; 0 when more bytes are needed;
 * -EPROTO when it is not an HTTP/1.x response head; -EMSGSIZE when none ends within
 * HTTPHEAD_MAX bytes.
 */
int httphead_parse(const char *data, size_t len, int *status) CA_MUST_CHECK;
