/* SPDX-License-Identifier: MIT */
/*
 * The Debian mirror the machine's own apt sources name, for debootstrap (the agent image's
 * base is never fetched from a hard-coded host). Reads both formats:
 *   one-line:  deb [options] http://mirror/debian bookworm main
 *   deb822:    Types: deb / URIs: http://mirror/debian / Suites: bookworm ... / Components: main
 * The first `deb` (not deb-src) entry with an http(s) URI whose suite is `suite` exactly and
 * whose components include main wins. Fuzzed by tests/fuzz/fuzz_aptsrc.c.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* Stores the URI (without a trailing '/') in `out`. 0, -ENOENT when none, -ENAMETOOLONG. */
int aptsrc_mirror(const char *text, size_t len, const char *suite, char *out,
                  size_t size) CA_MUST_CHECK;

/* Whether `u` is an http(s) URI of printable ASCII with a host after the scheme (what a
 * mirror must be). */
bool aptsrc_uri_valid(const char *u);
