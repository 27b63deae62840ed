/* SPDX-License-Identifier: MIT */
/* The egress proxy's denial rules (egress_rules.h). */
#include "egress_rules.h"

#include <string.h>

#include "macro.h"

/*
 * Order matters only for which name a denial gets: the most specific rules come first.
 * Squid stores IPv4 destinations as IPv4-mapped IPv6, so "::ffff:0:0/96" would match every
 * IPv4 address; it is not listed: squid normalises a mapped literal such as [::ffff:10.0.0.5]
 * to 10.0.0.5, which the IPv4 rules then judge. NAT64 and 6to4/Teredo embed an IPv4 address
 * squid cannot see, so those prefixes are denied whole.
 */
static const char *const dst_metadata[] = {"169.254.169.254/32", "100.100.100.200/32",
                                           "fd00:ec2::254/128", "169.254.170.2/32", NULL};
static const char *const dst_loopback[] = {"127.0.0.0/8", "::1/128", NULL};
static const char *const dst_link_local[] = {"169.254.0.0/16", "fe80::/10", NULL};
static const char *const dst_private[] = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                          "fc00::/7", NULL};
static const char *const dst_cgnat[] = {"100.64.0.0/10", NULL};
static const char *const dst_special[] = {"0.0.0.0/8", "192.0.0.0/24", "198.18.0.0/15",
                                          "::/128", NULL};
static const char *const dst_multicast[] = {"224.0.0.0/4", "240.0.0.0/4", "ff00::/8", NULL};
static const char *const dst_embedded[] = {"64:ff9b::/96", "64:ff9b:1::/48", "2002::/16",
                                           "2001::/32", NULL};

#define NEVER "Internal and special-purpose addresses are never reached through the proxy, even " \
              "for allowed domains."

static const struct egress_rule rules[] = {
        {"manager", "the proxy's own management interface is not available",
         "Nothing to configure: it is never exposed.", NULL},
        {"connect-port", "CONNECT tunnels go only to the allowed ports",
         "Add the port to [network] allow_ports in config.toml (default: 443 only).", NULL},
        {"port", "plain HTTP goes only to port 80 and the allowed ports",
         "Add the port to [network] allow_ports in config.toml.", NULL},
        {"bad-name", "the host name has a label over 63 bytes or is over 253 bytes",
         "Such names are refused before any DNS query (they carry data out).", NULL},
        {"metadata", "the destination is a cloud metadata service", NEVER, dst_metadata},
        {"loopback", "the destination is a loopback address", NEVER, dst_loopback},
        {"link-local", "the destination is a link-local address", NEVER, dst_link_local},
        {"private-address", "the destination is a private network address", NEVER, dst_private},
        {"cgnat", "the destination is a carrier-grade NAT (shared) address", NEVER, dst_cgnat},
        {"special-address", "the destination is a special-purpose address", NEVER, dst_special},
        {"multicast-reserved", "the destination is a multicast or reserved address", NEVER,
         dst_multicast},
        {"embedded-ipv4", "the destination is an IPv6 prefix that embeds an IPv4 address", NEVER,
         dst_embedded},
        {"domain", "the host is not in the allowed domains",
         "Add it to [network] allow_domains in config.toml (\".example.com\" also allows "
         "subdomains).",
         NULL},
};

const struct egress_rule *egress_rules(size_t *n)
{
        *n = CA_ELEMENTSOF(rules);
        return rules;
}

void egress_error_name(const char *rule, char *out, size_t size)
{
        size_t i = 0;
        const char *p = "ERR_CA_";

        for (; *p && i + 1 < size; p++)
                out[i++] = *p;
        for (; *rule && i + 1 < size; rule++) {
                char c = *rule;

                if (c == '-')
                        c = '_';
                else if (c >= 'a' && c <= 'z')
                        c = (char) (c - 'a' + 'A');
                out[i++] = c;
        }
        out[i] = '\0';
}

const struct egress_rule *egress_rule_for_error(const char *err_code)
{
        char name[64];

        for (size_t i = 0; i < CA_ELEMENTSOF(rules); i++) {
                egress_error_name(rules[i].name, name, sizeof(name));
                if (strcmp(name, err_code) == 0)
                        return &rules[i];
        }
        return NULL;
}

