/* SPDX-License-Identifier: MIT */
/*
 * The egress proxy's denial rules (ARCHITECTURE §9), shared by both sides: the host renders
 * squid's ACLs and error pages from them (host/lib/egress.c), and the sidecar names the rule
 * of each denial it reads from squid's log (container/lib/proxylog.c).
 */
#pragma once

#include <stddef.h>

struct egress_rule {
        const char *name;  /* "metadata", "private-address", ... */
        const char *why;   /* one line for the error page and the docs */
        const char *hint;  /* what a user can do about it */
        const char *const *dst; /* NULL-terminated CIDRs for a `dst` ACL, or NULL */
};

/* The rules in the order squid applies them; `n` gets the count. */
const struct egress_rule *egress_rules(size_t *n);
/* The rule for an ERR_CA_* error code (or NULL). */
const struct egress_rule *egress_rule_for_error(const char *err_code);
/* "ERR_CA_PRIVATE_ADDRESS" for "private-address", into `out` (NUL-terminated). */
void egress_error_name(const char *rule, char *out, size_t size);
