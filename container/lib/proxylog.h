/* SPDX-License-Identifier: MIT */
/*
 * Reading the egress proxy's logs (ARCHITECTURE §9): squid's access log in the "ca1" format
 * that egress.c configures, and dnsmasq's query log (log-queries=extra). Each line becomes at
 * most one event:
 *
 *   proxy-denied   a request squid refused by rule (ERR_CA_<RULE> error page)
 *   proxy-limit    a request body or reply over the size caps (ERR_TOO_BIG)
 *   dns-denied     a name the resolver would not forward (NXDOMAIN by policy), or a query
 *                  for a record type other than A/AAAA/CNAME (its data is stripped)
 *
 * Lines are untrusted input: anything that does not parse is counted as malformed, never
 * fatal. A small table remembers the addresses the resolver returned per name, so that a
 * proxy-denied event for an allowed name can say which address it resolved to.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "macro.h"

#define PROXYLOG_MAX_LINE 8192
#define PROXYLOG_NAMES 256

struct proxylog_access {
        char ts[32];
        char client[64];
        char method[32];
        char host[256]; /* decoded; IPv6 without brackets */
        uint32_t port;  /* 0 when squid logged none */
        char server[64];
        int status;
        char squid_status[48];
        char err_code[64];
        int64_t request_length; /* the request's Content-Length, -1 when absent */
        int64_t upstream_body;  /* body bytes received from upstream (no chunk framing), -1 */
        uint64_t reply_bytes;
        uint64_t request_bytes;
};

/* Parses one access-log line (no newline). 0, or -EINVAL for a malformed line. */
int proxylog_parse_access(const char *line, size_t len, struct proxylog_access *out) CA_MUST_CHECK;

struct proxylog_dns {
        char client[64];
        enum { PROXYLOG_DNS_QUERY, PROXYLOG_DNS_REPLY, PROXYLOG_DNS_POLICY, PROXYLOG_DNS_OTHER } kind;
        char type[16];  /* query: "A", "TXT" ... */
        char name[256]; /* query, reply, policy */
        char value[64]; /* reply: the address (or "<CNAME>" ...); policy: "NXDOMAIN" ... */
};

/* Parses one dnsmasq log line. 0, or -EINVAL for a malformed line. */
int proxylog_parse_dns(const char *line, size_t len, struct proxylog_dns *out) CA_MUST_CHECK;

struct proxylog_name {
        char name[256];
        char addrs[160]; /* "a,b,c" */
};

struct proxylog {
        uint64_t max_request; /* from proxy.json, for the events */
        uint64_t max_reply;
        struct proxylog_name names[PROXYLOG_NAMES];
        size_t next; /* ring position */
        uint64_t lines;
        uint64_t malformed;
};

/*
 * Feeds one line of either log and, when it is an event, returns 1 with its type in *type
 * ("proxy-denied", "proxy-limit", "dns-denied") and its fields in *fields (a new object the
 * caller owns). Returns 0 for lines that are not events (malformed ones are counted), or
 * -ENOMEM.
 */
int proxylog_feed_access(struct proxylog *pl, const char *line, size_t len, const char **type,
                         json_t **fields) CA_MUST_CHECK;
int proxylog_feed_dns(struct proxylog *pl, const char *line, size_t len, const char **type,
                      json_t **fields) CA_MUST_CHECK;

/* The addresses last seen for `name` ("" when none). */
const char *proxylog_addresses(const struct proxylog *pl, const char *name);
