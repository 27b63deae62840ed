/* SPDX-License-Identifier: MIT */
#include "render.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "error.h"
#include "fileio.h"
#include "paths.h"
#include "url.h"

static const char *const agent_names[RENDER_AGENTS] = {"claude", "codex", "copilot"};
static const char *const agent_files[RENDER_AGENTS] = {".claude.json", "config.toml",
                                                       "mcp-config.json"};

const char *render_agent_name(enum render_agent a)
{
        return (unsigned) a < RENDER_AGENTS ? agent_names[a] : NULL;
}

const char *render_agent_file(enum render_agent a)
{
        return (unsigned) a < RENDER_AGENTS ? agent_files[a] : NULL;
}

int render_agent_from_name(const char *name)
{
        for (int i = 0; i < RENDER_AGENTS; i++) {
                if (strcmp(name, agent_names[i]) == 0)
                        return i;
        }
        return -EINVAL;
}

void render_result_clear(struct render_result *r)
{
        json_decref(r->manifest);
        json_decref(r->warnings);
        for (int i = 0; i < RENDER_AGENTS; i++)
                buf_clear(&r->files[i]);
        memset(r, 0, sizeof(*r));
}

/* ---- the servers of the session ------------------------------------------------------------ */

struct entry {
        const struct config_server *s; /* definition (from the first agent that has it) */
        enum config_network network;   /* effective network policy */
        json_t *def;                   /* the definition as the manifest records it */
        unsigned agents;               /* agents whose configuration lists it */
        bool remote;
        uint32_t uid;
        uint16_t port;
};

struct plan {
        struct entry *e;
        size_t n;
};

static void plan_clear(struct plan *p)
{
        for (size_t i = 0; i < p->n; i++)
                json_decref(p->e[i].def);
        free(p->e);
        p->e = NULL;
        p->n = 0;
}

/* The definition as the manifest records it: original values, placeholders intact. */
static json_t *server_def(const struct config_server *s, enum config_network network)
{
        if (s->transport == CONFIG_TRANSPORT_STDIO)
                return json_pack("{s:s, s:s, s:o, s:o, s:s, s:o}", "transport", "stdio",
                                 "command", s->command, "args", config_strv_json(&s->args), "env",
                                 config_kv_json(s->env, s->nenv), "network",
                                 config_network_name(network), "secrets",
                                 config_strv_json(&s->secrets));
        /* The helper's allow-lists appear only when set (older manifests stay byte-identical). */
        return json_pack("{s:s, s:s, s:o, s:o, s:s, s:s?, s:o, s:o*, s:o*}", "transport",
                         config_transport_name(s->transport), "url", s->url, "headers",
                         config_kv_json(s->headers, s->nheaders), "pins", config_strv_json(&s->pins), "trust",
                         s->trust, "bearer_token_env_var", s->bearer_token_env_var, "secrets",
                         config_strv_json(&s->secrets), "allow_methods",
                         s->allow_methods.len ? config_strv_json(&s->allow_methods) : NULL,
                         "allow_paths",
                         s->allow_paths.len ? config_strv_json(&s->allow_paths) : NULL);
}

static bool str_eq(const char *a, const char *b)
{
        return a == b || (a && b && strcmp(a, b) == 0);
}

static bool strv_eq(const struct config_strv *a, const struct config_strv *b)
{
        if (a->len != b->len)
                return false;
        for (size_t i = 0; i < a->len; i++) {
                if (strcmp(a->items[i], b->items[i]) != 0)
                        return false;
        }
        return true;
}

static bool kv_eq(const struct config_kv *a, size_t na, const struct config_kv *b, size_t nb)
{
        if (na != nb)
                return false;
        for (size_t i = 0; i < na; i++) {
                if (strcmp(a[i].name, b[i].name) != 0 || strcmp(a[i].value, b[i].value) != 0)
                        return false;
        }
        return true;
}

/* Same definition for two agents (everything the manifest records about the server). */
static bool same_server(const struct config_server *a, const struct config_server *b)
{
        return a->transport == b->transport && str_eq(a->command, b->command) &&
               strv_eq(&a->args, &b->args) && kv_eq(a->env, a->nenv, b->env, b->nenv) &&
               str_eq(a->url, b->url) && kv_eq(a->headers, a->nheaders, b->headers, b->nheaders) &&
               strv_eq(&a->pins, &b->pins) && str_eq(a->trust, b->trust) &&
               str_eq(a->bearer_token_env_var, b->bearer_token_env_var) &&
               strv_eq(&a->allow_methods, &b->allow_methods) &&
               strv_eq(&a->allow_paths, &b->allow_paths);
}

static bool disabled_by_flag(const struct render_opts *o, const char *name)
{
        for (size_t i = 0; i < o->ndisable; i++) {
                if (strcmp(o->disable[i], name) == 0)
                        return true;
        }
        return false;
}

static int add_warning(struct render_result *out, struct ca_error *err, const char *fmt, ...)
        CA_PRINTF(3, 4);

static int add_warning(struct render_result *out, struct ca_error *err, const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (json_array_append_new(out->warnings, json_string(msg)) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        return 0;
}

static struct entry *plan_find(struct plan *p, const char *name)
{
        for (size_t i = 0; i < p->n; i++) {
                if (strcmp(p->e[i].s->name, name) == 0)
                        return &p->e[i];
        }
        return NULL;
}

static int cmp_entry(const void *a, const void *b)
{
        return strcmp(((const struct entry *) a)->s->name, ((const struct entry *) b)->s->name);
}

static int collect(const struct config *const cfgs[RENDER_AGENTS], const struct render_opts *o,
                   struct plan *p, json_t *disabled, struct render_result *out,
                   struct ca_error *err)
{
        for (int a = 0; a < RENDER_AGENTS; a++) {
                const struct config *cfg = cfgs[a];

                if (!(o->agents & (1u << a)) || !cfg)
                        continue;
                for (size_t i = 0; i < cfg->nservers; i++) {
                        const struct config_server *s = &cfg->servers[i];
                        bool remote = s->transport != CONFIG_TRANSPORT_STDIO;
                        enum config_network net = s->network;
                        struct entry *e;
                        json_t *def;
                        int r;

                        if (!s->enabled || disabled_by_flag(o, s->name)) {
                                if (!json_array_size(disabled) ||
                                    strcmp(json_string_value(json_array_get(
                                                   disabled, json_array_size(disabled) - 1)),
                                           s->name) != 0)
                                        (void) json_array_append_new(disabled,
                                                                     json_string(s->name));
                                continue;
                        }
                        if (o->network_set && o->network == CONFIG_NETWORK_NONE) {
                                if (remote) {
                                        if (plan_find(p, s->name))
                                                continue;
                                        r = add_warning(out, err,
                                                        "remote server '%s' is unavailable "
                                                        "with --network none",
                                                        s->name);
                                        if (r < 0)
                                                return r;
                                        continue;
                                }
                                net = CONFIG_NETWORK_NONE;
                        }
                        e = plan_find(p, s->name);
                        if (e) {
                                bool same = same_server(e->s, s) && e->network == net;
                                if (!same)
                                        return ca_error_input(
                                                err,
                                                "%s:%u:%u: server '%s' is defined differently "
                                                "for %s than for other agents; render one agent "
                                                "at a time",
                                                s->origin.file, s->origin.line, s->origin.col,
                                                s->name, agent_names[a]);
                                e->agents |= 1u << a;
                                continue;
                        }
                        def = server_def(s, net);
                        if (!def)
                                return ca_error_setx(err, ENOMEM, "out of memory");
                        e = realloc(p->e, (p->n + 1) * sizeof(*p->e));
                        if (!e) {
                                json_decref(def);
                                return ca_error_setx(err, ENOMEM, "out of memory");
                        }
                        p->e = e;
                        p->e[p->n++] = (struct entry) {.s = s,
                                                       .network = net,
                                                       .def = def,
                                                       .agents = 1u << a,
                                                       .remote = remote};
                }
        }
        for (size_t i = 0; i < o->ndisable; i++) {
                bool known = false;
                for (int a = 0; a < RENDER_AGENTS; a++) {
                        if ((o->agents & (1u << a)) && cfgs[a] &&
                            config_find_server(cfgs[a], o->disable[i]))
                                known = true;
                }
                if (!known)
                        return ca_error_input(err, "--disable '%s': no such server",
                                              o->disable[i]);
        }
        if (p->n > 1)
                qsort(p->e, p->n, sizeof(*p->e), cmp_entry);
        return 0;
}

static uint32_t fnv1a(const char *a, const char *b)
{
        uint32_t h = 2166136261u;

        for (const char *s = a; *s; s++)
                h = (h ^ (unsigned char) *s) * 16777619u;
        for (const char *s = b; *s; s++)
                h = (h ^ (unsigned char) *s) * 16777619u;
        return h;
}

/*
 * UIDs: stable per name (a hash into a range), collisions resolved by probing in name order.
 * Stubs (mcp_<name>) and helpers (mcp_https_<name>) use separate ranges.
 */
static void assign_ids(struct plan *p)
{
        uint16_t port = MANIFEST_PORT_BASE;

        for (size_t i = 0; i < p->n; i++) {
                struct entry *e = &p->e[i];
                uint32_t base = e->remote ? MANIFEST_HELPER_UID_BASE : MANIFEST_STUB_UID_BASE;
                uint32_t slot = fnv1a(e->remote ? "mcp_https_" : "mcp_", e->s->name) %
                                MANIFEST_UID_RANGE;

                for (;;) {
                        bool taken = false;
                        for (size_t k = 0; k < i; k++) {
                                if (p->e[k].uid == base + slot)
                                        taken = true;
                        }
                        if (!taken)
                                break;
                        slot = (slot + 1) % MANIFEST_UID_RANGE;
                }
                e->uid = base + slot;
                if (e->remote)
                        e->port = port++;
        }
}

/* ---- the manifest ----------------------------------------------------------------------- */

static json_t *agents_json(unsigned mask)
{
        json_t *a = json_array();

        for (int i = 0; a && i < RENDER_AGENTS; i++) {
                if (mask & (1u << i))
                        (void) json_array_append_new(a, json_string(agent_names[i]));
        }
        return a;
}

static const char *local_path(const struct entry *e)
{
        return e->s->transport == CONFIG_TRANSPORT_SSE ? "/sse" : "/mcp";
}

static int origin_of(const char *url_text, char *out, size_t outlen)
{
        struct url u;
        int n;

        if (url_parse(url_text, &u, NULL) < 0)
                return -EINVAL;
        if (u.host_ipv6)
                n = u.port_explicit ? snprintf(out, outlen, "https://[%s]:%u", u.host, u.port)
                                    : snprintf(out, outlen, "https://[%s]", u.host);
        else
                n = u.port_explicit ? snprintf(out, outlen, "https://%s:%u", u.host, u.port)
                                    : snprintf(out, outlen, "https://%s", u.host);
        return n < 0 || (size_t) n >= outlen ? -ENOBUFS : 0;
}

/* Completes the entry's definition into its manifest record (the definition is not compared
 * any more once collected, so it is extended in place rather than copied). */
static json_t *manifest_server(const struct entry *e)
{
        json_t *o = json_incref(e->def);
        char user[64];
        char token[64];
        char listen[32];
        char origin[320];

        if (!o)
                return NULL;
        (void) json_object_set_new(o, "name", json_string(e->s->name));
        (void) json_object_set_new(o, "agents", agents_json(e->agents));
        (void) json_object_set_new(o, "uid", json_integer(e->uid));
        if (!e->remote) {
                (void) snprintf(user, sizeof(user), "mcp_%s", e->s->name);
                (void) json_object_set_new(o, "user", json_string(user));
                (void) snprintf(user, sizeof(user), "mcp-stub-%s", e->s->name);
                (void) json_object_set_new(o, "stub", json_string(user));
                return o;
        }
        (void) snprintf(user, sizeof(user), "mcp_https_%s", e->s->name);
        (void) json_object_set_new(o, "user", json_string(user));
        (void) snprintf(token, sizeof(token), "CODING_AGENTS_TOKEN_%u", e->port);
        (void) snprintf(listen, sizeof(listen), "127.0.0.1:%u", e->port);
        if (origin_of(e->s->url, origin, sizeof(origin)) < 0) {
                json_decref(o);
                return NULL;
        }
        (void) json_object_set_new(
                o, "helper",
                json_pack("{s:s, s:s, s:i, s:s, s:{s:s}}", "origin", origin, "listen", listen,
                          "port", (int) e->port, "local_path", local_path(e), "local_token",
                          "env", token));
        return o;
}

/* The model helper's record: a remote server with the "model" member (lib/manifest.h). */
static json_t *model_server(const struct render_model *m)
{
        char url[600], listen[32], token[64];
        json_t *pins = json_array();

        for (size_t i = 0; pins && i < m->npins; i++)
                (void) json_array_append_new(pins, json_string(m->pins[i]));
        (void) snprintf(url, sizeof(url), "%s/", m->origin);
        (void) snprintf(listen, sizeof(listen), "127.0.0.1:%d", MANIFEST_MODEL_PORT);
        (void) snprintf(token, sizeof(token), "CODING_AGENTS_TOKEN_%d", MANIFEST_MODEL_PORT);
        return json_pack("{s:s, s:s, s:i, s:s, s:[s], s:[s], s:s, s:s, s:{}, s:o, s:s, "
                         "s:{s:s, s:s, s:i, s:s, s:{s:s}}, s:{s:s, s:s?, s:O?}}",
                         "name", MANIFEST_MODEL_NAME, "user", "ca_model", "uid",
                         MANIFEST_MODEL_UID, "transport", "http", "agents",
                         agent_names[m->agent], "secrets", m->secret, "url", url,
                         "bearer_token_env_var", m->secret, "headers", "pins", pins, "trust",
                         m->trust, "helper", "origin", m->origin, "listen", listen, "port",
                         MANIFEST_MODEL_PORT, "local_path", "/", "local_token", "env", token,
                         "model", "vendor", m->vendor, "token_url", m->token_url, "placeholder",
                         m->placeholder);
}

/* ---- agent files --------------------------------------------------------------------------- */

static void helper_url(const struct entry *e, char *out, size_t outlen)
{
        (void) snprintf(out, outlen, "http://127.0.0.1:%u%s", e->port, local_path(e));
}

/* A JSON string; names and URLs here are ASCII without quotes, but escape regardless. */
static int json_str(struct buf *b, const char *s)
{
        int r = buf_append_char(b, '"');

        for (; r >= 0 && *s; s++) {
                unsigned char c = (unsigned char) *s;
                if (c == '"' || c == '\\')
                        r = buf_printf(b, "\\%c", c);
                else if (c < 0x20)
                        r = buf_printf(b, "\\u%04x", c);
                else
                        r = buf_append_char(b, (char) c);
        }
        return r < 0 ? r : buf_append_char(b, '"');
}

/*
 * Claude's and Copilot's files have a fixed shape, so they are written directly (two-space
 * indent, keys in a fixed order) instead of through a JSON tree: rendering is mostly this.
 * The helper token is a reference the CLI expands from its environment, never the token.
 */
static int render_json_agent(const struct plan *p, enum render_agent a, struct buf *out,
                             struct ca_error *err)
{
        bool copilot = a == RENDER_COPILOT;
        bool first = true;
        int r = buf_append_str(out, "{\n  \"mcpServers\": {");

        for (size_t i = 0; r >= 0 && i < p->n; i++) {
                const struct entry *e = &p->e[i];
                char v[96];

                if (!(e->agents & (1u << a)))
                        continue;
                r = buf_append_str(out, first ? "\n    " : ",\n    ");
                first = false;
                if (r >= 0)
                        r = json_str(out, e->s->name);
                if (r >= 0 && !e->remote) {
                        (void) snprintf(v, sizeof(v), "mcp-stub-%s", e->s->name);
                        r = buf_printf(out, ": {\n      \"type\": \"%s\",\n      \"command\": ",
                                       copilot ? "local" : "stdio");
                        if (r >= 0)
                                r = json_str(out, v);
                        if (r >= 0)
                                r = buf_append_str(out, ",\n      \"args\": [],\n      \"env\": {}");
                } else if (r >= 0) {
                        helper_url(e, v, sizeof(v));
                        r = buf_printf(out, ": {\n      \"type\": \"%s\",\n      \"url\": ",
                                       e->s->transport == CONFIG_TRANSPORT_SSE ? "sse" : "http");
                        if (r >= 0)
                                r = json_str(out, v);
                        if (r >= 0)
                                r = buf_printf(out,
                                               ",\n      \"headers\": {\n        "
                                               "\"Authorization\": \"Bearer "
                                               "${CODING_AGENTS_TOKEN_%u}\"\n      }",
                                               e->port);
                }
                if (r >= 0 && copilot)
                        r = buf_append_str(out, ",\n      \"tools\": [\"*\"]");
                if (r >= 0)
                        r = buf_append_str(out, "\n    }");
        }
        if (r >= 0)
                r = buf_append_str(out, first ? "}\n}\n" : "\n  }\n}\n");
        return r < 0 ? ca_error_setx(err, ENOMEM, "out of memory") : 0;
}

static int toml_str(struct buf *b, const char *s)
{
        int r = buf_append_char(b, '"');

        for (; r >= 0 && *s; s++) {
                unsigned char c = (unsigned char) *s;
                if (c == '"' || c == '\\')
                        r = buf_printf(b, "\\%c", c);
                else if (c < 0x20 || c == 0x7f)
                        r = buf_printf(b, "\\u%04X", c);
                else
                        r = buf_append_char(b, (char) c);
        }
        return r < 0 ? r : buf_append_char(b, '"');
}

/* Codex's model provider: the model helper, with the login kind's API (a ChatGPT login reaches
 * the ChatGPT backend, an API key the OpenAI API). */
static int render_codex_model(const struct render_model *m, struct buf *out)
{
        bool chatgpt = strcmp(m->vendor, "chatgpt") == 0;
        int port = MANIFEST_MODEL_PORT;
        int r = buf_printf(out, "model_provider = \"coding-agents\"\n");

        if (r >= 0 && chatgpt)
                r = buf_printf(out, "chatgpt_base_url = \"http://127.0.0.1:%d/backend-api/\"\n",
                               port);
        if (r >= 0)
                r = buf_printf(out,
                               "\n[model_providers.coding-agents]\n"
                               "name = \"%s through the coding-agents model helper\"\n"
                               "base_url = \"http://127.0.0.1:%d%s\"\n"
                               "wire_api = \"responses\"\n"
                               "requires_openai_auth = true\n",
                               chatgpt ? "ChatGPT" : "OpenAI", port,
                               chatgpt ? "/backend-api/codex" : "/v1");
        return r;
}

static int render_codex(const struct plan *p, const char *session,
                        const struct render_model *model, struct buf *out, struct ca_error *err)
{
        int r = buf_printf(out, "# Rendered by coding-agents for session %s. Do not edit.\n",
                           session);

        if (r >= 0 && model && model->agent == RENDER_CODEX)
                r = render_codex_model(model, out);

        for (size_t i = 0; r >= 0 && i < p->n; i++) {
                const struct entry *e = &p->e[i];
                char v[64];

                if (!(e->agents & (1u << RENDER_CODEX)))
                        continue;
                /* Server names are [a-z0-9_-]: valid bare keys. */
                r = buf_printf(out, "\n[mcp_servers.%s]\n", e->s->name);
                if (r >= 0 && !e->remote) {
                        (void) snprintf(v, sizeof(v), "mcp-stub-%s", e->s->name);
                        r = buf_append_str(out, "command = ");
                        if (r >= 0)
                                r = toml_str(out, v);
                        if (r >= 0)
                                r = buf_append_str(out, "\nargs = []\n");
                } else if (r >= 0) {
                        helper_url(e, v, sizeof(v));
                        r = buf_append_str(out, "url = ");
                        if (r >= 0)
                                r = toml_str(out, v);
                        (void) snprintf(v, sizeof(v), "CODING_AGENTS_TOKEN_%u", e->port);
                        if (r >= 0)
                                r = buf_append_str(out, "\nbearer_token_env_var = ");
                        if (r >= 0)
                                r = toml_str(out, v);
                        if (r >= 0)
                                r = buf_append_char(out, '\n');
                }
        }
        return r < 0 ? ca_error_setx(err, ENOMEM, "out of memory") : 0;
}

/* ---- build and write ---------------------------------------------------------------------- */

int render_build(const struct config *const cfgs[RENDER_AGENTS], const struct render_opts *o,
                 struct render_result *out, struct ca_error *err)
{
        struct plan p = {0};
        json_t *servers;
        json_t *disabled;
        int r;

        memset(out, 0, sizeof(*out));
        out->warnings = json_array();
        disabled = json_array();
        servers = json_array();
        if (!out->warnings || !disabled || !servers) {
                r = ca_error_setx(err, ENOMEM, "out of memory");
                goto fail;
        }
        r = collect(cfgs, o, &p, disabled, out, err);
        if (r < 0)
                goto fail;
        /* Codex has no legacy SSE transport: leave such servers out of its file, loudly. */
        for (size_t i = 0; i < p.n; i++) {
                struct entry *e = &p.e[i];
                if (e->s->transport == CONFIG_TRANSPORT_SSE && (e->agents & (1u << RENDER_CODEX))) {
                        e->agents &= ~(1u << RENDER_CODEX);
                        r = add_warning(out, err,
                                        "SSE server '%s' is left out for codex: Codex speaks "
                                        "only stdio and Streamable HTTP",
                                        e->s->name);
                        if (r < 0)
                                goto fail;
                }
        }
        assign_ids(&p);
        for (size_t i = 0; i < p.n; i++) {
                json_t *s = p.e[i].agents ? manifest_server(&p.e[i]) : NULL;
                if (!p.e[i].agents)
                        continue;
                if (!s || json_array_append_new(servers, s) < 0) {
                        r = ca_error_setx(err, ENOMEM, "out of memory");
                        goto fail;
                }
        }
        if (o->model) {
                json_t *m = model_server(o->model);

                if (!m || json_array_append_new(servers, m) < 0) {
                        r = ca_error_setx(err, ENOMEM, "out of memory");
                        goto fail;
                }
        }
        out->manifest = json_pack(
                "{s:i, s:s, s:o, s:s, s:O, s:O, s:O, s:O}", "version", 1, "session", o->session,
                "agents", agents_json(o->agents), "network",
                config_network_name(o->network_set ? o->network : CONFIG_NETWORK_PROXY), "tree",
                o->tree ? o->tree : json_null(), "servers", servers, "disabled", disabled,
                "warnings", out->warnings);
        if (!out->manifest) {
                r = ca_error_setx(err, ENOMEM, "out of memory");
                goto fail;
        }
        /* The writer's output passes the readers' validation (lib/manifest owns the shape). */
        {
                struct manifest check;

                r = manifest_from_json(out->manifest, &check, err);
                manifest_clear(&check);
                if (r < 0)
                        goto fail;
        }
        for (int a = 0; a < RENDER_AGENTS; a++) {
                if (!(o->agents & (1u << a)))
                        continue;
                r = a == RENDER_CODEX ? render_codex(&p, o->session, o->model, &out->files[a],
                                                     err)
                                      : render_json_agent(&p, (enum render_agent) a,
                                                          &out->files[a], err);
                if (r < 0)
                        goto fail;
        }
        r = 0;
        goto done;
fail:
        render_result_clear(out);
done:
        json_decref(servers);
        json_decref(disabled);
        plan_clear(&p);
        return r;
}

/*
 * Rendered files are per-session artefacts in a private temporary directory that is renamed
 * into place as a whole: atomicity comes from that rename, and none of them needs to survive
 * a crash, so they are written plainly (no fsync per file).
 */
int render_write(const struct render_result *r, const char *dir, char sha256[65],
                 struct ca_error *err)
{
        _cleanup_buf_ struct buf manifest = BUF_INIT;
        char names[RENDER_AGENTS][64];
        struct fileio_entry entries[RENDER_AGENTS + 1];
        uint8_t md[DIGEST_SHA256_LEN];
        size_t n = 0;
        int ret;

        ret = ca_json_canonical(r->manifest, &manifest, err);
        if (ret < 0)
                return ret;
        if (digest_sha256(manifest.data, manifest.len, md) < 0)
                return ca_error_setx(err, EIO, "SHA-256 failed");
        digest_hex(md, sizeof(md), sha256);

        entries[n++] = (struct fileio_entry){"manifest.json", manifest.data, manifest.len};
        for (int a = 0; a < RENDER_AGENTS; a++) {
                if (!r->files[a].len)
                        continue;
                (void) snprintf(names[a], sizeof(names[a]), "%s/%s", agent_names[a],
                                agent_files[a]);
                entries[n++] = (struct fileio_entry){names[a], r->files[a].data, r->files[a].len};
        }
        return fileio_publish_dir(dir, entries, n, 0600, 0700, err);
}
