/* SPDX-License-Identifier: MIT */
#include "egress.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "url.h"

static void acl_name(const char *rule, char *out, size_t size)
{
        size_t i = 0;

        for (; rule[i] && i + 1 < size; i++)
                out[i] = rule[i] == '-' ? '_' : rule[i];
        out[i] = '\0';
}

/* ---- domains ---- */

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* True when `wild` (".x") covers `d` ("x", "y.x" or ".y.x"). */
static bool covers(const char *wild, const char *d)
{
        size_t wl = strlen(wild), dl = strlen(d);

        if (strcmp(wild, d) == 0)
                return false;
        if (strcmp(wild + 1, d[0] == '.' ? d + 1 : d) == 0)
                return true; /* "x" or ".x" itself */
        return dl > wl && strcmp(d + dl - wl, wild) == 0;
}

struct domains {
        char **v;
        size_t n;
        char **ips; /* IP-literal hosts of remote servers */
        size_t nips;
        /* CONNECT (and extra HTTP) ports: allow_ports (default 443) and the explicit ports of
         * remote servers, which their helpers reach through the proxy. */
        uint16_t ports[64];
        size_t nports;
        char **hv; /* helper-only domains (egress_opts.helper_domains) */
        size_t nh;
};

static void add_port(struct domains *d, uint16_t port)
{
        for (size_t i = 0; i < d->nports; i++)
                if (d->ports[i] == port)
                        return;
        if (d->nports < CA_ELEMENTSOF(d->ports))
                d->ports[d->nports++] = port;
}

static void domains_clear(struct domains *d)
{
        for (size_t i = 0; i < d->n; i++)
                free(d->v[i]);
        for (size_t i = 0; i < d->nips; i++)
                free(d->ips[i]);
        for (size_t i = 0; i < d->nh; i++)
                free(d->hv[i]);
        free(d->hv);
        free(d->v);
        free(d->ips);
        memset(d, 0, sizeof(*d));
}

static int push(char ***v, size_t *n, const char *s)
{
        char **nv;

        for (size_t i = 0; i < *n; i++) {
                if (strcmp((*v)[i], s) == 0)
                        return 0;
        }
        nv = realloc(*v, (*n + 1) * sizeof(*nv));
        if (!nv)
                return -ENOMEM;
        *v = nv;
        nv[*n] = strdup(s);
        if (!nv[*n])
                return -ENOMEM;
        (*n)++;
        return 0;
}

const char *const *egress_agent_domains(const char *agent)
{
        /* Each CLI's API and the endpoint that refreshes its login; nothing else. */
        static const char *const claude[] = {"api.anthropic.com", "console.anthropic.com", NULL};
        static const char *const codex[] = {"api.openai.com", "auth.openai.com", "chatgpt.com",
                                            NULL};
        static const char *const copilot[] = {".githubcopilot.com", "api.github.com",
                                              "github.com", NULL};

        if (!agent)
                return NULL;
        if (strcmp(agent, "claude") == 0)
                return claude;
        if (strcmp(agent, "codex") == 0)
                return codex;
        if (strcmp(agent, "copilot") == 0)
                return copilot;
        return NULL;
}

static int collect_domains(const struct config *cfg, const struct egress_opts *o,
                           struct domains *d)
{
        bool *covered;
        size_t keep = 0;
        int r = 0;

        for (size_t i = 0; r >= 0 && i < cfg->allow_domains.len; i++)
                r = push(&d->v, &d->n, cfg->allow_domains.items[i]);
        for (size_t i = 0; r >= 0 && i < o->nextra_domains; i++)
                r = push(&d->v, &d->n, o->extra_domains[i]);
        for (size_t i = 0; r >= 0 && i < cfg->registries.len; i++) {
                const char *const *names = config_registry_domains(cfg->registries.items[i]);

                for (; r >= 0 && names && *names; names++)
                        r = push(&d->v, &d->n, *names);
        }
        for (size_t i = 0; i < cfg->nallow_ports; i++)
                add_port(d, cfg->allow_ports[i]);
        if (!cfg->nallow_ports)
                add_port(d, 443);
        for (size_t i = 0; i < o->nextra_ports; i++)
                add_port(d, o->extra_ports[i]);
        for (size_t i = 0; r >= 0 && i < cfg->nservers; i++) {
                const struct config_server *s = &cfg->servers[i];
                struct url u;

                if (!s->enabled || s->transport == CONFIG_TRANSPORT_STDIO || !s->url ||
                    url_parse(s->url, &u, NULL) < 0)
                        continue;
                add_port(d, u.port);
                if (url_is_dns_name(u.host, strlen(u.host)))
                        r = push(&d->v, &d->n, u.host);
                else
                        r = push(&d->ips, &d->nips, u.host);
        }
        /* The helpers' own: not for the agent, unless the user allowed them for it too. */
        for (size_t i = 0; r >= 0 && o->helper_passwd && i < o->nhelper_domains; i++) {
                bool agent = false;

                for (size_t k = 0; k < d->n; k++)
                        agent = agent || strcmp(d->v[k], o->helper_domains[i]) == 0;
                if (!agent)
                        r = push(&d->hv, &d->nh, o->helper_domains[i]);
        }
        if (r < 0)
                return r;
        /* Drop entries a ".domain" wildcard covers (squid refuses such overlaps): decide for
         * all first, then compact. */
        covered = calloc(d->n ? d->n : 1, sizeof(*covered));
        if (!covered)
                return -ENOMEM;
        for (size_t i = 0; i < d->n; i++) {
                for (size_t j = 0; j < d->n && !covered[i]; j++)
                        covered[i] = d->v[j][0] == '.' && covers(d->v[j], d->v[i]);
        }
        for (size_t i = 0; i < d->n; i++) {
                if (covered[i])
                        free(d->v[i]);
                else
                        d->v[keep++] = d->v[i];
        }
        free(covered);
        d->n = keep;
        if (d->n)
                qsort(d->v, d->n, sizeof(*d->v), cmp_str);
        if (d->nips)
                qsort(d->ips, d->nips, sizeof(*d->ips), cmp_str);
        return 0;
}

/* ---- files ---- */

static int add_file(struct egress_result *out, const char *name, struct buf *data)
{
        struct egress_file *nf = realloc(out->files, (out->nfiles + 1) * sizeof(*nf));

        if (!nf)
                return -ENOMEM;
        out->files = nf;
        nf[out->nfiles].name = strdup(name);
        if (!nf[out->nfiles].name)
                return -ENOMEM;
        nf[out->nfiles].data = *data;
        *data = (struct buf) BUF_INIT;
        out->nfiles++;
        return 0;
}

static const char *const squid_templates[] = {
        "ERR_ACCESS_DENIED", "ERR_ACL_TIME_QUOTA_EXCEEDED", "ERR_AGENT_CONFIGURE",
        "ERR_AGENT_WPAD", "ERR_CACHE_ACCESS_DENIED", "ERR_CACHE_MGR_ACCESS_DENIED",
        "ERR_CANNOT_FORWARD", "ERR_CONFLICT_HOST", "ERR_CONNECT_FAIL", "ERR_DIR_LISTING",
        "ERR_DNS_FAIL", "ERR_ESI", "ERR_FORWARDING_DENIED", "ERR_FTP_DISABLED",
        "ERR_FTP_FAILURE", "ERR_FTP_FORBIDDEN", "ERR_FTP_NOT_FOUND", "ERR_FTP_PUT_CREATED",
        "ERR_FTP_PUT_ERROR", "ERR_FTP_PUT_MODIFIED", "ERR_FTP_UNAVAILABLE",
        "ERR_GATEWAY_FAILURE", "ERR_ICAP_FAILURE", "ERR_INVALID_REQ", "ERR_INVALID_RESP",
        "ERR_INVALID_URL", "ERR_LIFETIME_EXP", "ERR_NO_RELAY", "ERR_ONLY_IF_CACHED_MISS",
        "ERR_PRECONDITION_FAILED", "ERR_PROTOCOL_UNKNOWN", "ERR_READ_ERROR", "ERR_READ_TIMEOUT",
        "ERR_SECURE_CONNECT_FAIL", "ERR_SHUTTING_DOWN", "ERR_SOCKET_FAILURE", "ERR_TOO_BIG",
        "ERR_UNSUP_HTTPVERSION", "ERR_UNSUP_REQ", "ERR_URN_RESOLVE", "ERR_WRITE_ERROR",
        "ERR_ZERO_SIZE_OBJECT",
};

/* Size in the largest unit that divides it: "10 MB (10485760 bytes)". */
static void human_size(uint64_t n, char *out, size_t size)
{
        if (n >= (1u << 20) && n % (1u << 20) == 0)
                (void) snprintf(out, size, "%" PRIu64 " MB (%" PRIu64 " bytes)", n >> 20, n);
        else if (n >= 1024 && n % 1024 == 0)
                (void) snprintf(out, size, "%" PRIu64 " KB (%" PRIu64 " bytes)", n >> 10, n);
        else
                (void) snprintf(out, size, "%" PRIu64 " bytes", n);
}

static int render_pages(const struct config *cfg, struct egress_result *out)
{
        _cleanup_buf_ struct buf b = BUF_INIT;
        char req[64], rep[64], name[96];
        int r = 0;

        human_size(config_max_request(cfg), req, sizeof(req));
        human_size(config_max_reply(cfg), rep, sizeof(rep));
        /* Squid expands %-codes in templates: %U is the URL, %c the error name, %E errno. */
        for (size_t i = 0; r >= 0 && i < CA_ELEMENTSOF(squid_templates); i++) {
                const char *t = squid_templates[i];

                buf_reset(&b);
                if (strcmp(t, "ERR_TOO_BIG") == 0)
                        r = buf_printf(&b,
                                       "coding-agents egress proxy: size limit exceeded (%%U)\n\n"
                                       "Request bodies are limited to %s: a larger upload is "
                                       "refused with status 413.\n"
                                       "Responses are limited to %s: a larger download is "
                                       "refused or cut off.\n",
                                       req, rep);
                else if (strcmp(t, "ERR_DNS_FAIL") == 0)
                        r = buf_printf(&b, "coding-agents egress proxy: cannot resolve the host "
                                           "of %%U\n\nOnly allowed domains are resolved.\n");
                else
                        r = buf_printf(&b, "coding-agents egress proxy: %%c (%%U)\n\n%%E\n");
                (void) snprintf(name, sizeof(name), "errors/%s", t);
                if (r >= 0)
                        r = add_file(out, name, &b);
        }
        size_t nrules = 0;
        const struct egress_rule *rules = egress_rules(&nrules);

        for (size_t i = 0; r >= 0 && i < nrules; i++) {
                char err_name[64];

                egress_error_name(rules[i].name, err_name, sizeof(err_name));
                buf_reset(&b);
                r = buf_printf(&b,
                               "coding-agents egress proxy: access denied (rule: %s)\n\n"
                               "%%U: %s.\n%s\n",
                               rules[i].name, rules[i].why, rules[i].hint);
                (void) snprintf(name, sizeof(name), "errors/%s", err_name);
                if (r >= 0)
                        r = add_file(out, name, &b);
        }
        return r;
}

/* The helpers' domains: allowed only to a client that logs in as "helper" (the password file
 * is rendered next to squid.conf); anyone else gets 407 and the domain rule's denial. */
static int render_helper_access(const struct egress_opts *o, const struct domains *d,
                                struct buf *b)
{
        int r = buf_printf(b,
                           "\nauth_param basic program " EGRESS_NCSA_AUTH " %s/helpers.passwd\n"
                           "auth_param basic children 2 startup=0 idle=1\n"
                           "auth_param basic realm coding-agents helpers\n"
                           "auth_param basic credentialsttl 1 hour\n"
                           "acl ca_helpers proxy_auth helper\n"
                           "acl ca_helper_only dstdomain -n",
                           o->root);

        for (size_t i = 0; r >= 0 && i < d->nh; i++)
                r = buf_printf(b, " %s", d->hv[i]);
        if (r >= 0)
                r = buf_append_str(b, "\nhttp_access allow ca_helper_only ca_helpers\n");
        return r;
}

static int render_squid(const struct config *cfg, const struct egress_opts *o,
                        const struct domains *d, struct egress_result *out)
{
        _cleanup_buf_ struct buf b = BUF_INIT;
        const char *root = o->root;
        uint16_t port = o->port ? o->port : EGRESS_DEFAULT_PORT;
        size_t nrules = 0;
        const struct egress_rule *rules = egress_rules(&nrules);
        char acl[64], err_name[64];
        int r;

        r = buf_printf(&b,
                       "# Generated by `coding-agents proxy config`: edit config.toml, not this.\n"
                       "# The port (%u) and the address squid listens on: written by `proxy run`.\n"
                       "include %s/run/listen.conf\n"
                       "visible_hostname coding-agents-proxy\n"
                       "pid_filename %s/run/squid.pid\n"
                       "cache_log %s/run/cache.log\n"
                       "logformat " EGRESS_LOG_FORMAT
                       " %%ts.%%03tu %%>a %%rm %%>rd %%>rP %%<a %%>Hs %%Ss %%err_code "
                       "%%{Content-Length}>h %%<bs %%<st %%>st\n"
                       "access_log stdio:%s/run/access.log " EGRESS_LOG_FORMAT "\n"
                       "logfile_rotate 0\n"
                       "error_directory %s/errors\n"
                       "cache deny all\n"
                       "cache_mem 0 MB\n"
                       "hosts_file none\n"
                       "dns_nameservers 127.0.0.1\n"
                       "dns_defnames off\n"
                       "via off\n"
                       "forwarded_for delete\n"
                       "httpd_suppress_version_string on\n"
                       "pinger_enable off\n"
                       "client_db off\n"
                       "eui_lookup off\n"
                       "shutdown_lifetime 1 seconds\n"
                       "request_body_max_size %" PRIu64 " bytes\n"
                       "reply_body_max_size %" PRIu64 " bytes\n\n",
                       port, root, root, root, root, root, config_max_request(cfg),
                       config_max_reply(cfg));
        /* Ports: CONNECT only to the allowed ports; plain HTTP to 80 and those. */
        if (r >= 0)
                r = buf_append_str(&b, "acl ca_connect method CONNECT\nacl ca_connect_ports port");
        for (size_t i = 0; r >= 0 && i < d->nports; i++)
                r = buf_printf(&b, " %u", d->ports[i]);
        if (r >= 0)
                r = buf_append_str(&b, "\nacl ca_http_ports port 80");
        for (size_t i = 0; r >= 0 && i < d->nports; i++)
                if (d->ports[i] != 80)
                        r = buf_printf(&b, " %u", d->ports[i]);
        /* A label over 63 bytes or a name over 253: refused before any DNS query. */
        if (r >= 0)
                r = buf_append_str(&b, "\nacl ca_bad_name dstdom_regex -n [^.]{64} ^.{254}\n");
        for (size_t i = 0; r >= 0 && i < nrules; i++) {
                if (!rules[i].dst)
                        continue;
                acl_name(rules[i].name, acl, sizeof(acl));
                r = buf_printf(&b, "acl ca_%s dst", acl);
                for (const char *const *c = rules[i].dst; r >= 0 && *c; c++)
                        r = buf_printf(&b, " %s", *c);
                if (r >= 0)
                        r = buf_append_char(&b, '\n');
        }
        if (r >= 0 && d->n) {
                r = buf_append_str(&b, "acl ca_allowed dstdomain -n");
                for (size_t i = 0; r >= 0 && i < d->n; i++)
                        r = buf_printf(&b, " %s", d->v[i]);
                if (r >= 0)
                        r = buf_append_char(&b, '\n');
        }
        if (r >= 0 && d->nips) {
                r = buf_append_str(&b, "acl ca_allowed_ip dst");
                for (size_t i = 0; r >= 0 && i < d->nips; i++)
                        r = buf_printf(&b, " %s", d->ips[i]);
                if (r >= 0)
                        r = buf_append_char(&b, '\n');
        }
        /* Deny rules first, each with its own page so the log names the rule. */
        for (size_t i = 0; r >= 0 && i < nrules; i++) {
                const char *name = rules[i].name;
                const char *match;

                egress_error_name(name, err_name, sizeof(err_name));
                acl_name(name, acl, sizeof(acl));
                if (strcmp(name, "manager") == 0)
                        match = "manager";
                else if (strcmp(name, "connect-port") == 0)
                        match = "ca_connect !ca_connect_ports";
                else if (strcmp(name, "port") == 0)
                        match = "!ca_connect !ca_http_ports";
                else if (strcmp(name, "bad-name") == 0)
                        match = "ca_bad_name";
                else if (strcmp(name, "domain") == 0)
                        break; /* below, after the allows */
                else
                        match = NULL;
                if (match)
                        r = buf_printf(&b, "\nacl ca_rule_%s src all\n"
                                           "http_access deny %s ca_rule_%s\n"
                                           "deny_info %s ca_rule_%s\n",
                                       acl, match, acl, err_name, acl);
                else
                        r = buf_printf(&b, "\nhttp_access deny ca_%s\ndeny_info %s ca_%s\n", acl,
                                       err_name, acl);
        }
        if (r >= 0 && d->nh)
                r = render_helper_access(o, d, &b);
        if (r >= 0 && d->n)
                r = buf_append_str(&b, "\nhttp_access allow ca_allowed\n");
        if (r >= 0 && d->nips)
                r = buf_append_str(&b, "http_access allow ca_allowed_ip\n");
        if (r >= 0)
                r = buf_append_str(&b, "\nacl ca_rule_domain src all\n"
                                       "http_access deny ca_rule_domain\n"
                                       "deny_info ERR_CA_DOMAIN ca_rule_domain\n");
        if (r >= 0)
                r = add_file(out, "squid.conf", &b);
        return r;
}

static int forward_names(const struct egress_opts *o, char *const *names, size_t n,
                         struct buf *b)
{
        int r = 0;

        for (size_t i = 0; r >= 0 && i < n; i++) {
                const char *name = names[i][0] == '.' ? names[i] + 1 : names[i];

                for (size_t j = 0; r >= 0 && j < o->nresolvers; j++)
                        r = buf_printf(b, "server=/%s/%s\n", name, o->resolvers[j]);
                /* An exact entry: its subdomains stay NXDOMAIN. */
                if (r >= 0 && names[i][0] != '.')
                        r = buf_printf(b, "address=/*.%s/\n", name);
        }
        return r;
}

static int render_dnsmasq(const struct egress_opts *o, const struct domains *d,
                          struct egress_result *out)
{
        _cleanup_buf_ struct buf b = BUF_INIT;
        int r;

        r = buf_printf(&b,
                       "# Generated by `coding-agents proxy config`: edit config.toml, not this.\n"
                       "# The only resolver squid uses: allowed names are forwarded, everything\n"
                       "# else is NXDOMAIN without leaving this process.\n"
                       "no-resolv\nno-hosts\nno-poll\nno-negcache\n"
                       "listen-address=127.0.0.1\nbind-interfaces\nport=53\n"
                       "filter-rr=TXT,ANY,NULL,MX,NS,SOA,PTR,SRV,HINFO,CAA,NAPTR,SSHFP,TLSA,SVCB,HTTPS,URI,DNAME\n"
                       "log-queries=extra\nlog-facility=%s/run/dnsmasq.log\n"
                       "pid-file=%s/run/dnsmasq.pid\n"
                       "address=/#/\n",
                       o->root, o->root);
        if (r >= 0)
                r = forward_names(o, d->v, d->n, &b);
        if (r >= 0)
                r = forward_names(o, d->hv, d->nh, &b);
        if (r >= 0)
                r = add_file(out, "dnsmasq.conf", &b);
        return r;
}

static int render_passwd(const struct egress_opts *o, struct egress_result *out)
{
        _cleanup_buf_ struct buf b = BUF_INIT;

        if (strpbrk(o->helper_passwd, "\n\r") || strncmp(o->helper_passwd, "helper:", 7) != 0 ||
            buf_printf(&b, "%s\n", o->helper_passwd) < 0)
                return -EINVAL;
        return add_file(out, "helpers.passwd", &b);
}

static json_t *strs_json(char *const *v, size_t n)
{
        json_t *a = json_array();

        for (size_t i = 0; a && i < n; i++) {
                if (json_array_append_new(a, json_string(v[i])) < 0)
                        return json_decref(a), NULL;
        }
        return a;
}

static bool valid_ip(const char *s)
{
        unsigned char tmp[16];

        return inet_pton(AF_INET, s, tmp) == 1 || inet_pton(AF_INET6, s, tmp) == 1;
}

int egress_render(const struct config *cfg, const struct egress_opts *o,
                  struct egress_result *out, struct ca_error *err)
{
        struct domains d = {0};
        _cleanup_buf_ struct buf summary = BUF_INIT;
        json_t *ports = NULL;
        int r;

        memset(out, 0, sizeof(*out));
        if (!o->root || o->root[0] != '/' || strpbrk(o->root, " \t\n\"'\\#"))
                return ca_error_input(err, "the proxy root must be an absolute path without "
                                               "spaces, quotes or '#'");
        if (!o->nresolvers)
                return ca_error_input(err, "no upstream resolver: give at least one "
                                               "--resolver ADDRESS");
        for (size_t i = 0; i < o->nresolvers; i++) {
                if (!valid_ip(o->resolvers[i]))
                        return ca_error_input(err, "bad resolver '%s': an IPv4 or IPv6 "
                                                       "address",
                                                  o->resolvers[i]);
        }
        r = collect_domains(cfg, o, &d);
        if (r >= 0)
                r = render_squid(cfg, o, &d, out);
        if (r >= 0)
                r = render_dnsmasq(o, &d, out);
        if (r >= 0)
                r = render_pages(cfg, out);
        if (r >= 0 && d.nh)
                r = render_passwd(o, out);
        if (r >= 0) {
                ports = json_array();
                for (size_t i = 0; ports && i < d.nports; i++)
                        (void) json_array_append_new(ports, json_integer(d.ports[i]));
                out->summary = json_pack(
                        "{s:i, s:s, s:i, s:o, s:o, s:o, s:o, s:I, s:I}", "version", 1, "root",
                        o->root, "port", o->port ? o->port : EGRESS_DEFAULT_PORT, "domains",
                        strs_json(d.v, d.n), "helper_domains", strs_json(d.hv, d.nh),
                        "addresses", strs_json(d.ips, d.nips),
                        "connect_ports", ports, "max_request_bytes",
                        (json_int_t) config_max_request(cfg), "max_reply_bytes",
                        (json_int_t) config_max_reply(cfg));
                if (!out->summary)
                        r = -ENOMEM;
        }
        if (r >= 0)
                r = ca_json_canonical(out->summary, &summary, err);
        if (r >= 0 && (r = buf_append_char(&summary, '\n')) >= 0)
                r = add_file(out, "proxy.json", &summary);
        domains_clear(&d);
        if (r < 0) {
                egress_result_clear(out);
                if (!err || !err->code)
                        return ca_error_setx(err, -r, "cannot render the proxy configuration");
        }
        return r;
}

int egress_write(const struct egress_result *r, const char *dir, struct ca_error *err)
{
        _cleanup_free_ struct fileio_entry *e = calloc(r->nfiles ? r->nfiles : 1, sizeof(*e));

        if (!e)
                return ca_error_setx(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < r->nfiles; i++)
                e[i] = (struct fileio_entry){r->files[i].name, r->files[i].data.data,
                                             r->files[i].data.len};
        /* Nothing here is secret, and squid reads it after dropping to its own user. */
        return fileio_publish_dir(dir, e, r->nfiles, 0644, 0755, err);
}

void egress_result_clear(struct egress_result *r)
{
        for (size_t i = 0; i < r->nfiles; i++) {
                free(r->files[i].name);
                buf_clear(&r->files[i].data);
        }
        free(r->files);
        json_decref(r->summary);
        memset(r, 0, sizeof(*r));
}
