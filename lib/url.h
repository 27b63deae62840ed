/* SPDX-License-Identifier: MIT */
/*
 * A strict parser for the absolute http(s) URLs of remote MCP servers:
 *
 *   scheme "://" host [":" port] [path] ["?" query]
 *
 * Refused: userinfo ("user:pass@", a credential in a URL), fragments, whitespace, control
 * characters, backslashes, bad percent-encoding, empty hosts, ports outside 1..65535. Hosts are
 * lower-cased DNS names, dotted-quad IPv4 or bracketed IPv6.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define URL_HOST_MAX 253

struct url {
        bool https;
        char host[URL_HOST_MAX + 1]; /* lower case; IPv6 without brackets */
        bool host_ipv6;
        uint16_t port; /* explicit, or 443/80 from the scheme */
        bool port_explicit;
        const char *path; /* into the parsed string; "" when absent */
        size_t path_len;
        const char *query; /* after '?', into the parsed string; NULL when absent */
        size_t query_len;
};

/*
 * Parses `s` into `out`. Returns 0, or -EINVAL with a short static reason in *ret_reason
 * (may be NULL).
 */
int url_parse(const char *s, struct url *out, const char **ret_reason) CA_MUST_CHECK;

/* True when `s` is a DNS name: labels of [a-z0-9-] (not starting or ending with '-'),
 * 1..63 bytes each, 253 in all. Upper case is refused: callers lower-case first. */
bool url_is_dns_name(const char *s, size_t len);
