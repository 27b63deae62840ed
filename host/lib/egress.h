/* SPDX-License-Identifier: MIT */
/*
 * The egress proxy's configuration (ARCHITECTURE §9): from the [network] table and the remote
 * MCP servers of a merged configuration, renders
 *
 *   squid.conf      deny by *resolved destination address* first (metadata, loopback,
 *                   link-local, private, CGNAT, special, multicast/reserved, IPv4-embedding
 *                   IPv6 prefixes), then allow only the allowed domains; CONNECT only to the
 *                   allowed ports; no cache, no Via / X-Forwarded-For; size caps; a custom
 *                   access-log format that `proxy events` reads
 *   dnsmasq.conf    the only resolver squid uses: forwards allowed names to the upstream
 *                   resolvers, answers NXDOMAIN for everything else, strips TXT/ANY data,
 *                   logs every query
 *   errors/ERR_*    plain-text error pages; a denial names the rule, a size refusal the limit
 *   proxy.json      what was rendered (domains, ports, limits), for `proxy events` and people
 *
 * Every deny rule has its own error page (deny_info), so the access log's %err_code says which
 * rule fired: ERR_CA_<RULE> with the rule name upper-cased and '-' as '_'.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "egress_rules.h"
#include "json.h"
#include "macro.h"

struct ca_error;

#define EGRESS_DEFAULT_PORT 3128
#define EGRESS_LOG_FORMAT "ca1"

struct egress_opts {
        const char *root;     /* absolute path of the rendered directory at run time */
        uint16_t port;        /* squid's listening port (0 = EGRESS_DEFAULT_PORT) */
        const char *const *resolvers; /* upstream resolvers: IPv4/IPv6 addresses */
        size_t nresolvers;
        const char *const *extra_domains; /* allowed besides [network]'s (a session's agent) */
        size_t nextra_domains;
        const uint16_t *extra_ports; /* CONNECT ports besides allow_ports (the model helper's) */
        size_t nextra_ports;
        /* Reached only by the session's helpers, which log in to squid as "helper" (basic
         * auth, checked by squid's basic_ncsa_auth against `helper_passwd`, an htpasswd line
         * with a SHA-512 crypt hash): the agent CLI's vendor when the model helper fronts it. */
        const char *const *helper_domains;
        size_t nhelper_domains;
        const char *helper_passwd;
};

/* Where squid's basic_ncsa_auth is, in the sidecar (Debian's squid package). */
#define EGRESS_NCSA_AUTH "/usr/lib/squid/basic_ncsa_auth"

/* The domains an agent CLI needs for its own service (its API and login), allowed in its
 * sessions' proxy: NULL-terminated, or NULL for an unknown agent. */
const char *const *egress_agent_domains(const char *agent);

struct egress_file {
        char *name; /* relative: "squid.conf", "errors/ERR_TOO_BIG", ... */
        struct buf data;
};

struct egress_result {
        struct egress_file *files;
        size_t nfiles;
        json_t *summary; /* the content of proxy.json */
};

/*
 * Renders the files for `cfg` (finished). Domains are the [network] allow_domains, the
 * registries' domains and the hosts of enabled remote MCP servers, de-duplicated (an entry
 * covered by a ".domain" wildcard is dropped) and sorted. Bad options give -EINVAL with
 * bad_input set.
 */
int egress_render(const struct config *cfg, const struct egress_opts *o,
                  struct egress_result *out, struct ca_error *err) CA_MUST_CHECK;

/*
 * Writes the result into `dir`, which must not exist or be empty: everything goes into a
 * temporary sibling that is renamed into place, so a failure leaves nothing behind.
 */
int egress_write(const struct egress_result *r, const char *dir,
                 struct ca_error *err) CA_MUST_CHECK;

void egress_result_clear(struct egress_result *r);
