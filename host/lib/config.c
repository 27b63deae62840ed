/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cleanup.h"
#include "error.h"
#include "toml.h"
#include "url.h"

#define PIN_PREFIX "sha256//"

const char *config_transport_name(enum config_transport t)
{
        switch (t) {
        case CONFIG_TRANSPORT_STDIO:
                return "stdio";
        case CONFIG_TRANSPORT_HTTP:
                return "http";
        case CONFIG_TRANSPORT_SSE:
                return "sse";
        }
        return "unknown";
}

const char *config_network_name(enum config_network n)
{
        return n == CONFIG_NETWORK_NONE ? "none" : "proxy";
}



/* ---- errors and small helpers ------------------------------------------------------------ */

struct loader {
        struct config *cfg;
        const char *file; /* interned name of the file being merged */
        enum config_source source;
        struct ca_error *err;
};

static struct config_origin origin_of(const struct loader *ld, const struct toml_pos *pos)
{
        return (struct config_origin) {.file = ld->file, .line = pos->line, .col = pos->col};
}

static void fail_record(struct ca_error *err, const struct config_origin *o, const char *fmt,
                        ...) CA_PRINTF(3, 4);

static void fail_record(struct ca_error *err, const struct config_origin *o, const char *fmt, ...)
{
        char msg[CA_ERROR_MSG_MAX];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof(msg), fmt, ap); /* truncation is acceptable */
        va_end(ap);
        (void) ca_error_input(err, "%s:%u:%u: %s", o->file, o->line, o->col, msg);
}

/* Records "file:line:col: message" and evaluates to -EINVAL (macros, so analysers see it). */
#define fail_at(err, o, ...) (fail_record((err), (o), __VA_ARGS__), -EINVAL)
#define fail_pos(ld, pos, ...) (fail_record((ld)->err, &(struct config_origin) {(ld)->file, (pos)->line, (pos)->col}, __VA_ARGS__), -EINVAL)

static int oom(struct ca_error *err)
{
        return ca_error_setx(err, ENOMEM, "out of memory");
}

static void strv_free(struct config_strv *v)
{
        for (size_t i = 0; i < v->len; i++)
                free(v->items[i]);
        free(v->items);
        v->items = NULL;
        v->len = 0;
}

static void kv_free(struct config_kv *kv, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(kv[i].name);
                free(kv[i].value);
        }
        free(kv);
}

/* A string value without embedded NUL (TOML allows "\u0000"; C strings do not). */
static int get_string(const struct loader *ld, const struct toml_kv *kv, const char *what,
                      const char **ret)
{
        const struct toml_value *v = kv->value;

        if (v->type != TOML_STRING)
                return fail_pos(ld, &v->pos, "'%s' must be a string, not %s", what,
                                toml_type_name(v->type));
        if (strlen(v->u.string.ptr) != v->u.string.len)
                return fail_pos(ld, &v->pos, "'%s' contains a NUL character", what);
        *ret = v->u.string.ptr ? v->u.string.ptr : "";
        return 0;
}

static int check_placeholders(const struct loader *ld, const struct toml_value *v, const char *s,
                              const char *what)
{
        const char *why = NULL;
        size_t off = 0;

        if (names_scan_placeholders(s, NULL, NULL, &why, &off) < 0)
                return fail_pos(ld, &v->pos, "bad placeholder in '%s' at offset %zu: %s", what,
                                off, why);
        return 0;
}

static int replace_str(struct ca_error *err, char **slot, const char *s)
{
        char *p = strdup(s);

        if (!p)
                return oom(err);
        free(*slot);
        *slot = p;
        return 0;
}

/* An array of strings, each with placeholders checked when `placeholders` is set. */
static int get_strv(const struct loader *ld, const struct toml_kv *kv, const char *what,
                    bool placeholders, struct config_strv *out)
{
        const struct toml_value *v = kv->value;
        struct config_strv nv = {0};

        if (v->type != TOML_ARRAY)
                return fail_pos(ld, &v->pos, "'%s' must be an array of strings", what);
        nv.items = calloc(v->u.array.len + 1, sizeof(*nv.items));
        if (!nv.items)
                return oom(ld->err);
        nv.origin = origin_of(ld, &v->pos);
        for (size_t i = 0; i < v->u.array.len; i++) {
                const struct toml_value *item = v->u.array.items[i];
                int r;

                if (item->type != TOML_STRING || strlen(item->u.string.ptr) != item->u.string.len) {
                        strv_free(&nv);
                        return fail_pos(ld, &item->pos,
                                        "'%s' must be an array of strings without NUL characters",
                                        what);
                }
                if (placeholders) {
                        r = check_placeholders(ld, item, item->u.string.ptr, what);
                        if (r < 0) {
                                strv_free(&nv);
                                return r;
                        }
                }
                nv.items[i] = strdup(item->u.string.ptr);
                if (!nv.items[i]) {
                        strv_free(&nv);
                        return oom(ld->err);
                }
                nv.len++;
        }
        strv_free(out);
        *out = nv;
        return 0;
}

static bool is_header_name(const char *s)
{
        /* RFC 9110 token characters. */
        static const char extra[] = "!#$%&'*+-.^_`|~";

        if (!*s)
                return false;
        for (; *s; s++) {
                char c = *s;
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      strchr(extra, c)))
                        return false;
        }
        return true;
}

/* A table of string values (env, headers). Names are checked with `name_ok`. */
static int get_kv_table(const struct loader *ld, const struct toml_kv *kv, const char *what,
                        bool (*name_ok)(const char *), const char *name_rule,
                        struct config_kv **ret, size_t *ret_n)
{
        const struct toml_value *v = kv->value;
        struct config_kv *items;
        size_t n = 0;

        if (v->type != TOML_TABLE)
                return fail_pos(ld, &v->pos, "'%s' must be a table of strings", what);
        items = calloc(v->u.table.len + 1, sizeof(*items));
        if (!items)
                return oom(ld->err);
        for (size_t i = 0; i < v->u.table.len; i++) {
                const struct toml_kv *e = &v->u.table.items[i];
                const char *val = NULL;
                int r;

                if (strlen(e->key) != e->key_len || !name_ok(e->key)) {
                        kv_free(items, n);
                        return fail_pos(ld, &e->pos, "bad name in '%s': %s", what, name_rule);
                }
                r = get_string(ld, e, what, &val);
                if (r >= 0)
                        r = check_placeholders(ld, e->value, val, what);
                if (r < 0) {
                        kv_free(items, n);
                        return r;
                }
                items[n].name = strdup(e->key);
                items[n].value = strdup(val);
                items[n].origin = origin_of(ld, &e->pos);
                n++;
                if (!items[n - 1].name || !items[n - 1].value) {
                        kv_free(items, n);
                        return oom(ld->err);
                }
        }
        kv_free(*ret, *ret_n);
        *ret = items;
        *ret_n = n;
        return 0;
}

static bool env_name_ok(const char *s)
{
        return names_secret_ok(s, strlen(s));
}

static bool header_name_ok(const char *s)
{
        return is_header_name(s);
}




/* ---- servers ------------------------------------------------------------------------------ */

static struct config_server *server_get(struct config *cfg, const char *name, size_t len,
                                        struct ca_error *err, int *ret_r)
{
        struct config_server *s;

        for (size_t i = 0; i < cfg->nservers; i++) {
                if (strcmp(cfg->servers[i].name, name) == 0)
                        return &cfg->servers[i];
        }
        if (cfg->nservers == CONFIG_MAX_SERVERS) {
                *ret_r = ca_error_input(err, "more than %d MCP servers configured",
                                        CONFIG_MAX_SERVERS);
                return NULL;
        }
        s = realloc(cfg->servers, (cfg->nservers + 1) * sizeof(*cfg->servers));
        if (!s) {
                *ret_r = oom(err);
                return NULL;
        }
        cfg->servers = s;
        s = &cfg->servers[cfg->nservers];
        memset(s, 0, sizeof(*s));
        s->name = strndup(name, len);
        if (!s->name) {
                *ret_r = oom(err);
                return NULL;
        }
        s->enabled = true;
        cfg->nservers++;
        return s;
}

static int merge_enum(const struct loader *ld, const struct toml_kv *kv, const char *what,
                      const char *const *names, size_t nnames, int *ret)
{
        const char *s = NULL;
        int r = get_string(ld, kv, what, &s);

        if (r < 0)
                return r;
        for (size_t i = 0; i < nnames; i++) {
                if (strcmp(s, names[i]) == 0) {
                        *ret = (int) i;
                        return 0;
                }
        }
        if (nnames == 2)
                return fail_pos(ld, &kv->value->pos, "unknown %s '%s' (expected '%s' or '%s')",
                                what, s, names[0], names[1]);
        return fail_pos(ld, &kv->value->pos, "unknown %s '%s' (expected '%s', '%s' or '%s')",
                        what, s, names[0], names[1], names[2]);
}

/* A remote server's keys; 1 when `kv` is not one of them. */
static int merge_remote_key(const struct loader *ld, struct config_server *s,
                            const struct toml_kv *kv)
{
        const struct toml_value *v = kv->value;
        const char *k = kv->key;
        const char *str = NULL;
        const char *why = NULL;
        struct url u;
        int r;

        if (strcmp(k, "url") == 0) {
                r = get_string(ld, kv, k, &str);
                if (r >= 0)
                        r = check_placeholders(ld, v, str, k);
                if (r < 0)
                        return r;
                if (url_parse(str, &u, &why) < 0)
                        return fail_pos(ld, &v->pos, "bad 'url': %s", why);
                if (!u.https)
                        return fail_pos(ld, &v->pos,
                                        "'url' must use https:// (helpers always verify TLS)");
                s->url_origin = origin_of(ld, &v->pos);
                return replace_str(ld->err, &s->url, str);
        }
        if (strcmp(k, "bearer_token_env_var") == 0) {
                r = get_string(ld, kv, k, &str);
                if (r < 0)
                        return r;
                if (!names_secret_ok(str, strlen(str)))
                        return fail_pos(ld, &v->pos,
                                        "'bearer_token_env_var' must name a secret (letters, "
                                        "digits, '_'), not hold a value");
                s->bearer_origin = origin_of(ld, &v->pos);
                return replace_str(ld->err, &s->bearer_token_env_var, str);
        }
        if (strcmp(k, "pins") == 0) {
                r = get_strv(ld, kv, k, false, &s->pins);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < s->pins.len; i++) {
                        if (!names_pin_ok(s->pins.items[i]))
                                return fail_pos(ld, &v->u.array.items[i]->pos,
                                                "bad pin: expected 'sha256//' and the base64 "
                                                "of a 32-byte SPKI hash");
                }
                return 0;
        }
        if (strcmp(k, "trust") == 0) {
                r = get_string(ld, kv, k, &str);
                if (r < 0)
                        return r;
                if (strcmp(str, "system") != 0 && !names_trust_ok(str))
                        return fail_pos(ld, &v->pos,
                                        "'trust' must be 'system' or a bundle name ([a-z0-9._-])");
                s->trust_origin = origin_of(ld, &v->pos);
                return replace_str(ld->err, &s->trust, str);
        }
        if (strcmp(k, "allow_methods") == 0) {
                r = get_strv(ld, kv, k, false, &s->allow_methods);
                for (size_t i = 0; r >= 0 && i < s->allow_methods.len; i++) {
                        const char *m = s->allow_methods.items[i];
                        if (strcmp(m, "GET") != 0 && strcmp(m, "POST") != 0 &&
                            strcmp(m, "DELETE") != 0)
                                return fail_pos(ld, &v->u.array.items[i]->pos,
                                                "'allow_methods' takes GET, POST and DELETE");
                }
                return r;
        }
        if (strcmp(k, "allow_paths") == 0) {
                r = get_strv(ld, kv, k, false, &s->allow_paths);
                for (size_t i = 0; r >= 0 && i < s->allow_paths.len; i++) {
                        if (s->allow_paths.items[i][0] != '/' ||
                            strpbrk(s->allow_paths.items[i], " ?#%\\"))
                                return fail_pos(ld, &v->u.array.items[i]->pos,
                                                "'allow_paths' takes path prefixes starting with "
                                                "'/' (no spaces, '?', '#', '%%' or '\\')");
                }
                return r;
        }
        return 1;
}

static int merge_server_key(const struct loader *ld, struct config_server *s,
                            const struct toml_kv *kv)
{
        static const char *const transports[] = {"stdio", "http", "sse"};
        static const char *const networks[] = {"proxy", "none"};
        const struct toml_value *v = kv->value;
        const char *k = kv->key;
        const char *str = NULL;
        int e = 0;
        int r = merge_remote_key(ld, s, kv);

        if (r <= 0)
                return r;
        if (strcmp(k, "command") == 0) {
                r = get_string(ld, kv, k, &str);
                if (r < 0)
                        return r;
                if (!*str)
                        return fail_pos(ld, &v->pos, "'command' must not be empty");
                if (strchr(str, '$'))
                        return fail_pos(ld, &v->pos,
                                        "'command' cannot hold placeholders: pass secrets in "
                                        "'args' or 'env'");
                s->command_origin = origin_of(ld, &v->pos);
                return replace_str(ld->err, &s->command, str);
        }
        if (strcmp(k, "args") == 0)
                return get_strv(ld, kv, k, true, &s->args);
        if (strcmp(k, "env") == 0)
                return get_kv_table(ld, kv, k, env_name_ok,
                                    "letters, digits and '_', not starting with a digit",
                                    &s->env, &s->nenv);
        if (strcmp(k, "headers") == 0)
                return get_kv_table(ld, kv, k, header_name_ok, "an HTTP header token",
                                    &s->headers, &s->nheaders);
        if (strcmp(k, "transport") == 0) {
                r = merge_enum(ld, kv, "transport", transports, 3, &e);
                if (r < 0)
                        return r;
                s->transport = (enum config_transport) e;
                s->transport_set = true;
                s->transport_origin = origin_of(ld, &v->pos);
                return 0;
        }
        if (strcmp(k, "network") == 0) {
                r = merge_enum(ld, kv, "network policy", networks, 2, &e);
                if (r < 0)
                        return r;
                s->network = (enum config_network) e;
                s->network_set = true;
                s->network_origin = origin_of(ld, &v->pos);
                return 0;
        }
        if (strcmp(k, "enabled") == 0) {
                if (v->type != TOML_BOOL)
                        return fail_pos(ld, &v->pos, "'enabled' must be true or false");
                s->enabled = v->u.boolean;
                return 0;
        }
        return fail_pos(ld, &kv->pos, "unknown key '%s' in MCP server '%s'", k, s->name);
}

/*
 * A workspace's file may define its own servers, never touch the user's: adding `env` to the
 * user's stdio server (LD_PRELOAD) or `headers` to a remote one would run its code or send its
 * secret elsewhere under the user's grant. One name from both kinds of source is refused, at
 * the workspace's table.
 */
static int mark_source(const struct loader *ld, struct config_server *s)
{
        if (ld->source == CONFIG_SOURCE_WORKSPACE) {
                if (!s->from_workspace)
                        s->workspace_origin = s->origin;
                s->from_workspace = true;
        } else {
                if (!s->from_user)
                        s->user_origin = s->origin;
                s->from_user = true;
        }
        if (s->from_workspace && s->from_user)
                return fail_at(ld->err, &s->workspace_origin,
                               "the workspace defines MCP server '%s', which your own "
                               "configuration defines too (%s:%u:%u): a repository cannot change "
                               "or shadow your servers; rename it",
                               s->name, s->user_origin.file, s->user_origin.line,
                               s->user_origin.col);
        return 0;
}

/* A server table that sets nothing but `enabled`. */
static bool only_enabled(const struct toml_value *t)
{
        for (size_t i = 0; i < t->u.table.len; i++) {
                if (strcmp(t->u.table.items[i].key, "enabled") != 0)
                        return false;
        }
        return true;
}

static int merge_servers(const struct loader *ld, const struct toml_kv *top)
{
        const struct toml_value *t = top->value;

        if (t->type != TOML_TABLE)
                return fail_pos(ld, &t->pos, "'mcp_servers' must be a table");
        for (size_t i = 0; i < t->u.table.len; i++) {
                const struct toml_kv *kv = &t->u.table.items[i];
                struct config_server *s;
                int r = 0;

                if (!names_server_ok(kv->key, kv->key_len))
                        return fail_pos(ld, &kv->pos,
                                        "bad MCP server name: use 1-%d of [a-z0-9_-], starting "
                                        "with a letter or digit",
                                        NAMES_SERVER_MAX);
                if (kv->value->type != TOML_TABLE)
                        return fail_pos(ld, &kv->value->pos,
                                        "MCP server '%s' must be a table", kv->key);
                if (names_launcher_stub(kv->key))
                        return fail_pos(ld, &kv->pos,
                                        "MCP server name '%s' is reserved for the launcher's own "
                                        "capabilities; choose another",
                                        kv->key);
                s = server_get(ld->cfg, kv->key, kv->key_len, ld->err, &r);
                if (!s)
                        return r;
                s->origin = origin_of(ld, &kv->value->pos);
                /* The user may always switch a workspace's server off. */
                if (!(ld->source == CONFIG_SOURCE_USER && s->from_workspace &&
                      only_enabled(kv->value)))
                        r = mark_source(ld, s);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < kv->value->u.table.len; j++) {
                        r = merge_server_key(ld, s, &kv->value->u.table.items[j]);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static const struct {
        const char *name;
        const char *const domains[4];
} registries[] = {
        {"crates", {"crates.io", "index.crates.io", "static.crates.io", NULL}},
        {"debian", {"deb.debian.org", "security.debian.org", NULL}},
        {"go", {"proxy.golang.org", "sum.golang.org", NULL}},
        {"maven", {"repo.maven.apache.org", "repo1.maven.org", NULL}},
        {"npm", {"registry.npmjs.org", NULL}},
        {"pypi", {"pypi.org", "files.pythonhosted.org", NULL}},
        {"rubygems", {"rubygems.org", "index.rubygems.org", NULL}},
};

const char *const *config_registry_domains(const char *name)
{
        for (size_t i = 0; i < CA_ELEMENTSOF(registries); i++) {
                if (strcmp(registries[i].name, name) == 0)
                        return registries[i].domains;
        }
        return NULL;
}

const char *config_registry_names(void)
{
        return "crates, debian, go, maven, npm, pypi, rubygems";
}

static bool valid_domain(const char *s)
{
        /* "example.com", or ".example.com" for the domain and all its subdomains. */
        if (s[0] == '.')
                s++;
        return url_is_dns_name(s, strlen(s));
}

static int merge_network(const struct loader *ld, const struct toml_kv *top)
{
        const struct toml_value *t = top->value;
        struct config *cfg = ld->cfg;

        if (t->type != TOML_TABLE)
                return fail_pos(ld, &t->pos, "'network' must be a table");
        for (size_t i = 0; i < t->u.table.len; i++) {
                const struct toml_kv *kv = &t->u.table.items[i];
                const struct toml_value *v = kv->value;
                int r;

                if (strcmp(kv->key, "allow_domains") == 0) {
                        r = get_strv(ld, kv, kv->key, false, &cfg->allow_domains);
                        if (r < 0)
                                return r;
                        for (size_t j = 0; j < cfg->allow_domains.len; j++) {
                                if (!valid_domain(cfg->allow_domains.items[j]))
                                        return fail_pos(ld, &v->u.array.items[j]->pos,
                                                        "bad domain '%s': lower-case DNS name, "
                                                        "optionally with a leading '.' for "
                                                        "subdomains",
                                                        cfg->allow_domains.items[j]);
                        }
                } else if (strcmp(kv->key, "allow_ports") == 0) {
                        uint16_t *ports;

                        if (v->type != TOML_ARRAY)
                                return fail_pos(ld, &v->pos,
                                                "'allow_ports' must be an array of integers");
                        ports = calloc(v->u.array.len + 1, sizeof(*ports));
                        if (!ports)
                                return oom(ld->err);
                        for (size_t j = 0; j < v->u.array.len; j++) {
                                const struct toml_value *p = v->u.array.items[j];
                                if (p->type != TOML_INTEGER || p->u.integer < 1 ||
                                    p->u.integer > 65535) {
                                        free(ports);
                                        return fail_pos(ld, &p->pos,
                                                        "ports must be integers from 1 to 65535");
                                }
                                ports[j] = (uint16_t) p->u.integer;
                        }
                        free(cfg->allow_ports);
                        cfg->allow_ports = ports;
                        cfg->nallow_ports = v->u.array.len;
                } else if (strcmp(kv->key, "registries") == 0) {
                        r = get_strv(ld, kv, kv->key, false, &cfg->registries);
                        if (r < 0)
                                return r;
                        for (size_t j = 0; j < cfg->registries.len; j++) {
                                if (!config_registry_domains(cfg->registries.items[j]))
                                        return fail_pos(ld, &v->u.array.items[j]->pos,
                                                        "unknown registry '%s' (known: %s)",
                                                        cfg->registries.items[j],
                                                        config_registry_names());
                        }
                } else if (strcmp(kv->key, "max_request_bytes") == 0 ||
                           strcmp(kv->key, "max_reply_bytes") == 0) {
                        if (v->type != TOML_INTEGER || v->u.integer < 1 ||
                            (uint64_t) v->u.integer > LIMIT_BODY_MAX)
                                return fail_pos(ld, &v->pos,
                                                "'%s' must be an integer from 1 to 2^40 (bytes)",
                                                kv->key);
                        if (strcmp(kv->key, "max_request_bytes") == 0)
                                cfg->max_request_bytes = (uint64_t) v->u.integer;
                        else
                                cfg->max_reply_bytes = (uint64_t) v->u.integer;
                } else {
                        return fail_pos(ld, &kv->pos, "unknown key '%s' in [network]", kv->key);
                }
        }
        return 0;
}

/* ---- grants ------------------------------------------------------------------------------- */

static struct config_grant *grant_find(const struct config *cfg, const char *secret)
{
        for (size_t i = 0; i < cfg->ngrants; i++) {
                if (strcmp(cfg->grants[i].secret, secret) == 0)
                        return &cfg->grants[i];
        }
        return NULL;
}

static int merge_grants(const struct loader *ld, const struct toml_kv *top)
{
        const struct toml_value *t = top->value;
        struct config *cfg = ld->cfg;

        if (ld->source == CONFIG_SOURCE_WORKSPACE)
                return fail_pos(ld, &top->pos,
                                "[secrets] grants secrets to servers, so it is read only in your "
                                "own configuration (the config root's files and --config), never "
                                "in a workspace's");
        if (t->type != TOML_TABLE)
                return fail_pos(ld, &t->pos, "'secrets' must be a table");
        for (size_t i = 0; i < t->u.table.len; i++) {
                const struct toml_kv *kv = &t->u.table.items[i];
                const struct toml_value *v = kv->value;
                struct config_grant *g;
                int r;

                if (!names_secret_ok(kv->key, kv->key_len))
                        return fail_pos(ld, &kv->pos,
                                        "bad secret name '%s': letters, digits and '_', not "
                                        "starting with a digit",
                                        kv->key);
                if (names_reserved_secret(kv->key))
                        return fail_pos(ld, &kv->pos,
                                        "the secret '%s' is reserved for the launcher (the agent "
                                        "CLIs' logins) and is never released to an MCP server",
                                        kv->key);
                g = grant_find(cfg, kv->key);
                if (!g) {
                        g = realloc(cfg->grants, (cfg->ngrants + 1) * sizeof(*g));
                        if (!g)
                                return oom(ld->err);
                        cfg->grants = g;
                        g = &cfg->grants[cfg->ngrants];
                        memset(g, 0, sizeof(*g));
                        g->secret = strndup(kv->key, kv->key_len);
                        if (!g->secret)
                                return oom(ld->err);
                        cfg->ngrants++;
                }
                g->origin = origin_of(ld, &kv->pos);
                r = get_strv(ld, kv, kv->key, false, &g->servers);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < g->servers.len; j++) {
                        const char *name = g->servers.items[j];
                        if (!names_server_ok(name, strlen(name)))
                                return fail_pos(ld, &v->u.array.items[j]->pos,
                                                "[secrets] '%s': '%s' is not an MCP server name",
                                                kv->key, name);
                }
        }
        return 0;
}

static const char *intern_file(struct config *cfg, const char *name)
{
        char **files;

        for (size_t i = 0; i < cfg->nfiles; i++) {
                if (strcmp(cfg->files[i], name) == 0)
                        return cfg->files[i];
        }
        files = realloc(cfg->files, (cfg->nfiles + 1) * sizeof(*files));
        if (!files)
                return NULL;
        cfg->files = files;
        files[cfg->nfiles] = strdup(name);
        if (!files[cfg->nfiles])
                return NULL;
        return files[cfg->nfiles++];
}

static const char *const model_agents[CONFIG_MODEL_AGENTS] = {"claude", "codex", "copilot"};

/* An https URL for [model.*] (no query, no placeholders). */
static int model_url(const struct loader *ld, const struct toml_kv *kv, char **slot)
{
        const char *str = NULL, *why = NULL;
        struct url u;
        int r = get_string(ld, kv, kv->key, &str);

        if (r < 0)
                return r;
        if (url_parse(str, &u, &why) < 0)
                return fail_pos(ld, &kv->value->pos, "bad '%s': %s", kv->key, why);
        if (!u.https || u.query)
                return fail_pos(ld, &kv->value->pos,
                                "'%s' must be an https:// URL without a query", kv->key);
        return replace_str(ld->err, slot, str);
}

static int merge_model_key(const struct loader *ld, struct config_model *m,
                           const struct toml_kv *kv)
{
        const struct toml_value *v = kv->value;
        const char *str = NULL;
        int r;

        if (strcmp(kv->key, "url") == 0)
                return model_url(ld, kv, &m->url);
        if (strcmp(kv->key, "token_url") == 0)
                return model_url(ld, kv, &m->token_url);
        if (strcmp(kv->key, "helper") == 0) {
                if (v->type != TOML_BOOL)
                        return fail_pos(ld, &v->pos, "'helper' must be true or false");
                m->helper_off = !v->u.boolean;
                return 0;
        }
        if (strcmp(kv->key, "trust") == 0) {
                r = get_string(ld, kv, kv->key, &str);
                if (r < 0)
                        return r;
                if (strcmp(str, "system") != 0 && !names_trust_ok(str))
                        return fail_pos(ld, &v->pos,
                                        "'trust' must be 'system' or a bundle name ([a-z0-9._-])");
                return replace_str(ld->err, &m->trust, str);
        }
        if (strcmp(kv->key, "pins") == 0) {
                r = get_strv(ld, kv, kv->key, false, &m->pins);
                for (size_t i = 0; r >= 0 && i < m->pins.len; i++) {
                        if (!names_pin_ok(m->pins.items[i]))
                                return fail_pos(ld, &v->u.array.items[i]->pos,
                                                "bad pin: expected 'sha256//' and the base64 "
                                                "of a 32-byte SPKI hash");
                }
                return r;
        }
        return fail_pos(ld, &kv->pos,
                        "unknown key '%s' in [model.*] (url, token_url, trust, pins, helper)",
                        kv->key);
}

/* [model.claude] ...: the model helper's upstream, in the user's own configuration only. */
static int merge_models(const struct loader *ld, const struct toml_kv *top)
{
        const struct toml_value *t = top->value;

        if (ld->source == CONFIG_SOURCE_WORKSPACE)
                return fail_pos(ld, &top->pos,
                                "[model] says where the agent CLI's login is sent, so it is read "
                                "only in your own configuration, never in a workspace's");
        if (t->type != TOML_TABLE)
                return fail_pos(ld, &t->pos, "'model' must be a table of agent tables");
        for (size_t i = 0; i < t->u.table.len; i++) {
                const struct toml_kv *kv = &t->u.table.items[i];
                struct config_model *m = NULL;

                for (size_t a = 0; a < CONFIG_MODEL_AGENTS; a++)
                        if (strcmp(kv->key, model_agents[a]) == 0)
                                m = &ld->cfg->models[a];
                if (!m)
                        return fail_pos(ld, &kv->pos,
                                        "[model.%s]: not an agent (claude, codex, copilot)",
                                        kv->key);
                if (kv->value->type != TOML_TABLE)
                        return fail_pos(ld, &kv->value->pos, "[model.%s] must be a table",
                                        kv->key);
                m->set = true;
                for (size_t k = 0; k < kv->value->u.table.len; k++) {
                        int r = merge_model_key(ld, m, &kv->value->u.table.items[k]);

                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int merge_doc(struct config *cfg, const struct toml_doc *doc, enum config_source source,
                     struct ca_error *err)
{
        const struct toml_value *root = toml_doc_root(doc);
        struct loader ld = {.cfg = cfg, .source = source, .err = err};

        ld.file = intern_file(cfg, toml_doc_name(doc));
        if (!ld.file)
                return oom(err);
        for (size_t i = 0; i < root->u.table.len; i++) {
                const struct toml_kv *kv = &root->u.table.items[i];
                int r;

                if (strcmp(kv->key, "mcp_servers") == 0)
                        r = merge_servers(&ld, kv);
                else if (strcmp(kv->key, "network") == 0)
                        r = merge_network(&ld, kv);
                else if (strcmp(kv->key, "secrets") == 0)
                        r = merge_grants(&ld, kv);
                else if (strcmp(kv->key, "model") == 0)
                        r = merge_models(&ld, kv);
                else
                        r = fail_pos(&ld, &kv->pos, "unknown top-level key '%s'", kv->key);
                if (r < 0)
                        return r;
        }
        return 0;
}

int config_merge_source(struct config *cfg, const char *data, size_t len, const char *name,
                        enum config_source source, struct ca_error *err)
{
        _cleanup_toml_doc_ struct toml_doc *doc = NULL;
        int r;

        r = toml_parse(data, len, name, &doc, err);
        if (r < 0)
                return r;
        return merge_doc(cfg, doc, source, err);
}

int config_merge_buf(struct config *cfg, const char *data, size_t len, const char *name,
                     struct ca_error *err)
{
        return config_merge_source(cfg, data, len, name, CONFIG_SOURCE_USER, err);
}

int config_merge_doc(struct config *cfg, const struct toml_doc *doc, struct ca_error *err)
{
        return merge_doc(cfg, doc, CONFIG_SOURCE_USER, err);
}

int config_merge_file(struct config *cfg, const char *path, struct ca_error *err)
{
        _cleanup_toml_doc_ struct toml_doc *doc = NULL;
        int r;

        r = toml_parse_file(path, &doc, err);
        if (r < 0)
                return r;
        return merge_doc(cfg, doc, CONFIG_SOURCE_USER, err);
}

/* ---- validation ---------------------------------------------------------------------------- */

static int add_secret(void *userdata, const char *name, size_t len)
{
        struct config_strv *v = userdata;
        char **items;

        for (size_t i = 0; i < v->len; i++) {
                if (strlen(v->items[i]) == len && memcmp(v->items[i], name, len) == 0)
                        return 0;
        }
        items = realloc(v->items, (v->len + 2) * sizeof(*items));
        if (!items)
                return -ENOMEM;
        v->items = items;
        items[v->len] = strndup(name, len);
        if (!items[v->len])
                return -ENOMEM;
        items[++v->len] = NULL;
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int cmp_server(const void *a, const void *b)
{
        return strcmp(((const struct config_server *) a)->name,
                      ((const struct config_server *) b)->name);
}

static int collect_secrets(struct config_server *s, struct ca_error *err)
{
        int r = 0;

        strv_free(&s->secrets);
        for (size_t i = 0; r >= 0 && i < s->args.len; i++)
                r = names_scan_placeholders(s->args.items[i], add_secret, &s->secrets, NULL,
                                             NULL);
        for (size_t i = 0; r >= 0 && i < s->nenv; i++)
                r = names_scan_placeholders(s->env[i].value, add_secret, &s->secrets, NULL,
                                             NULL);
        for (size_t i = 0; r >= 0 && i < s->nheaders; i++)
                r = names_scan_placeholders(s->headers[i].value, add_secret, &s->secrets, NULL,
                                             NULL);
        if (r >= 0 && s->url)
                r = names_scan_placeholders(s->url, add_secret, &s->secrets, NULL, NULL);
        if (r >= 0 && s->bearer_token_env_var)
                r = add_secret(&s->secrets, s->bearer_token_env_var,
                               strlen(s->bearer_token_env_var));
        if (r < 0)
                return r == -ENOMEM ? oom(err) : ca_error_setx(err, -r, "placeholder scan failed");
        if (s->secrets.len > 1)
                qsort(s->secrets.items, s->secrets.len, sizeof(*s->secrets.items), cmp_str);
        return 0;
}

static int finish_server(struct config_server *s, struct ca_error *err)
{
        bool remote;

        if (!s->command && !s->url)
                return fail_at(err, &s->origin,
                               "MCP server '%s' needs either 'command' (stdio) or 'url' "
                               "(HTTP/SSE)",
                               s->name);
        if (s->command && s->url)
                return fail_at(err, &s->url_origin,
                               "MCP server '%s' sets both 'url' and 'command' (at %s:%u:%u); "
                               "keep one",
                               s->name, s->command_origin.file, s->command_origin.line,
                               s->command_origin.col);
        if (s->transport_set) {
                if (s->transport == CONFIG_TRANSPORT_STDIO && !s->command)
                        return fail_at(err, &s->transport_origin,
                                       "transport 'stdio' needs 'command', but server '%s' has "
                                       "'url'",
                                       s->name);
                if (s->transport != CONFIG_TRANSPORT_STDIO && !s->url)
                        return fail_at(err, &s->transport_origin,
                                       "transport '%s' needs 'url', but server '%s' has "
                                       "'command'",
                                       config_transport_name(s->transport), s->name);
        } else {
                s->transport = s->command ? CONFIG_TRANSPORT_STDIO : CONFIG_TRANSPORT_HTTP;
        }

        remote = s->transport != CONFIG_TRANSPORT_STDIO;
        if (remote) {
                if (s->args.len)
                        return fail_at(err, &s->args.origin,
                                       "'args' applies only to stdio servers ('%s' is remote)",
                                       s->name);
                if (s->nenv)
                        return fail_at(err, &s->env[0].origin,
                                       "'env' applies only to stdio servers ('%s' is remote)",
                                       s->name);
                if (s->network_set)
                        return fail_at(err, &s->network_origin,
                                       "'network' applies only to stdio servers: remote "
                                       "servers always reach their upstream through the proxy");
                if (!s->trust && !(s->trust = strdup("system")))
                        return oom(err);
        } else {
                if (s->nheaders)
                        return fail_at(err, &s->headers[0].origin,
                                       "'headers' applies only to remote servers ('%s' is stdio)",
                                       s->name);
                if (s->pins.len)
                        return fail_at(err, &s->pins.origin,
                                       "'pins' applies only to remote servers ('%s' is stdio)",
                                       s->name);
                if (s->bearer_token_env_var)
                        return fail_at(err, &s->bearer_origin,
                                       "'bearer_token_env_var' applies only to remote servers "
                                       "('%s' is stdio)",
                                       s->name);
                if (s->trust)
                        return fail_at(err, &s->trust_origin,
                                       "'trust' applies only to remote servers ('%s' is stdio)",
                                       s->name);
                if (s->allow_methods.len || s->allow_paths.len)
                        return fail_at(err,
                                       s->allow_methods.len ? &s->allow_methods.origin
                                                            : &s->allow_paths.origin,
                                       "'allow_methods' and 'allow_paths' apply only to remote "
                                       "servers ('%s' is stdio)",
                                       s->name);
        }
        return collect_secrets(s, err);
}

/* A reserved secret named anywhere is an error, enabled or not: it is never released. */
static int refuse_reserved(const struct config_server *s, struct ca_error *err)
{
        for (size_t i = 0; i < s->secrets.len; i++) {
                const char *name = s->secrets.items[i];
                struct config_origin o;

                if (!names_reserved_secret(name))
                        continue;
                o = config_secret_origin(s, name);
                return fail_at(err, &o,
                               "MCP server '%s' names the secret '%s', which is reserved for the "
                               "launcher (the agent CLIs' logins) and is never released to an MCP "
                               "server",
                               s->name, name);
        }
        return 0;
}

int config_finish(struct config *cfg, struct ca_error *err)
{
        for (size_t i = 0; i < cfg->nservers; i++) {
                int r = finish_server(&cfg->servers[i], err);
                if (r >= 0)
                        r = refuse_reserved(&cfg->servers[i], err);
                if (r < 0)
                        return r;
        }
        if (cfg->nservers > 1)
                qsort(cfg->servers, cfg->nservers, sizeof(*cfg->servers), cmp_server);
        return 0;
}

int config_load(struct config *cfg, const char *const *paths, size_t npaths,
                struct ca_error *err)
{
        for (size_t i = 0; i < npaths; i++) {
                int r = config_merge_file(cfg, paths[i], err);
                if (r < 0)
                        return r;
        }
        return config_finish(cfg, err);
}



bool config_granted(const struct config *cfg, const char *server, const char *secret)
{
        const struct config_grant *g = grant_find(cfg, secret);

        for (size_t i = 0; g && i < g->servers.len; i++) {
                if (strcmp(g->servers.items[i], server) == 0)
                        return true;
        }
        return false;
}

/* Context of the origin search: is `name` among the placeholders of a string? */
struct find_secret {
        const char *name;
        bool found;
};

static int match_secret(void *userdata, const char *name, size_t len)
{
        struct find_secret *f = userdata;

        if (strlen(f->name) == len && memcmp(f->name, name, len) == 0)
                f->found = true;
        return 0;
}

static bool names_secret(const char *s, const char *name)
{
        struct find_secret f = {name, false};

        return s && names_scan_placeholders(s, match_secret, &f, NULL, NULL) == 0 && f.found;
}

struct config_origin config_secret_origin(const struct config_server *s, const char *secret)
{
        if (s->bearer_token_env_var && strcmp(s->bearer_token_env_var, secret) == 0)
                return s->bearer_origin;
        for (size_t i = 0; i < s->nenv; i++) {
                if (names_secret(s->env[i].value, secret))
                        return s->env[i].origin;
        }
        for (size_t i = 0; i < s->args.len; i++) {
                if (names_secret(s->args.items[i], secret))
                        return s->args.origin;
        }
        for (size_t i = 0; i < s->nheaders; i++) {
                if (names_secret(s->headers[i].value, secret))
                        return s->headers[i].origin;
        }
        if (names_secret(s->url, secret))
                return s->url_origin;
        return s->origin;
}

int config_check_grants(const struct config *cfg, const char *grant_file, struct ca_error *err)
{
        for (size_t i = 0; i < cfg->nservers; i++) {
                const struct config_server *s = &cfg->servers[i];

                for (size_t j = 0; s->enabled && j < s->secrets.len; j++) {
                        const char *name = s->secrets.items[j];
                        const struct config_grant *g;
                        struct config_origin o;
                        char line[512];
                        size_t used;

                        if (config_granted(cfg, s->name, name))
                                continue;
                        /* The exact line to add: today's grant plus this server. */
                        g = grant_find(cfg, name);
                        used = (size_t) snprintf(line, sizeof(line), "%s = [", name);
                        for (size_t k = 0; g && k < g->servers.len && used < sizeof(line); k++)
                                used += (size_t) snprintf(line + used, sizeof(line) - used,
                                                          "\"%s\", ", g->servers.items[k]);
                        if (used < sizeof(line))
                                (void) snprintf(line + used, sizeof(line) - used, "\"%s\"]",
                                                s->name);
                        o = config_secret_origin(s, name);
                        return fail_at(err, &o,
                                       "MCP server '%s' names the secret '%s', which your "
                                       "configuration does not grant it (naming a secret is not a "
                                       "grant); if it should have it, add to %s:\n  [secrets]\n  "
                                       "%s",
                                       s->name, name, grant_file ? grant_file : "your config.toml",
                                       line);
                }
        }
        return 0;
}

static void server_clear(struct config_server *s)
{
        free(s->name);
        free(s->command);
        strv_free(&s->args);
        kv_free(s->env, s->nenv);
        free(s->url);
        free(s->bearer_token_env_var);
        kv_free(s->headers, s->nheaders);
        strv_free(&s->pins);
        free(s->trust);
        strv_free(&s->allow_methods);
        strv_free(&s->allow_paths);
        strv_free(&s->secrets);
}

void config_clear(struct config *cfg)
{
        if (!cfg)
                return;
        for (size_t i = 0; i < cfg->nservers; i++)
                server_clear(&cfg->servers[i]);
        free(cfg->servers);
        strv_free(&cfg->allow_domains);
        free(cfg->allow_ports);
        strv_free(&cfg->registries);
        for (size_t i = 0; i < cfg->ngrants; i++) {
                free(cfg->grants[i].secret);
                strv_free(&cfg->grants[i].servers);
        }
        free(cfg->grants);
        for (size_t i = 0; i < CONFIG_MODEL_AGENTS; i++) {
                free(cfg->models[i].url);
                free(cfg->models[i].token_url);
                free(cfg->models[i].trust);
                strv_free(&cfg->models[i].pins);
        }
        for (size_t i = 0; i < cfg->nfiles; i++)
                free(cfg->files[i]);
        free(cfg->files);
        memset(cfg, 0, sizeof(*cfg));
}

const struct config_server *config_find_server(const struct config *cfg, const char *name)
{
        for (size_t i = 0; i < cfg->nservers; i++) {
                if (strcmp(cfg->servers[i].name, name) == 0)
                        return &cfg->servers[i];
        }
        return NULL;
}

json_t *config_strv_json(const struct config_strv *v)
{
        json_t *a = json_array();

        for (size_t i = 0; a && i < v->len; i++) {
                if (json_array_append_new(a, json_string(v->items[i])) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

json_t *config_kv_json(const struct config_kv *kv, size_t n)
{
        json_t *o = json_object();

        for (size_t i = 0; o && i < n; i++) {
                if (json_object_set_new(o, kv[i].name, json_string(kv[i].value)) < 0) {
                        json_decref(o);
                        return NULL;
                }
        }
        return o;
}
