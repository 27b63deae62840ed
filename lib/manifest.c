/* SPDX-License-Identifier: MIT */
/* The session manifest, loaded and validated once (manifest.h). */
#include "manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "capability.h"
#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "modelcred.h"
#include "names.h"
#include "parse.h"
#include "url.h"

const char *const manifest_agent_names[3] = {"claude", "codex", "copilot"};

const char *manifest_transport_name(enum manifest_transport t)
{
        switch (t) {
        case MANIFEST_STDIO:
                return "stdio";
        case MANIFEST_HTTP:
                return "http";
        case MANIFEST_SSE:
                return "sse";
        }
        return "?";
}

static void strv_free(struct manifest_strv *v)
{
        free(v->items);
        memset(v, 0, sizeof(*v));
}

static void server_clear(struct manifest_server *s)
{
        strv_free(&s->secrets);
        strv_free(&s->args);
        strv_free(&s->pins);
        strv_free(&s->allow_methods);
        strv_free(&s->allow_paths);
        free(s->env);
        free(s->headers);
}

void manifest_clear(struct manifest *m)
{
        for (size_t i = 0; m->servers && i < m->nservers; i++)
                server_clear(&m->servers[i]);
        free(m->servers);
        json_decref(m->json);
        memset(m, 0, sizeof(*m));
}

/* ---- checked accessors ------------------------------------------------------------------- */

struct ctx {
        struct ca_error *err;
        const char *where; /* "server 'github'" or "the manifest" */
};

#define bad(c, ...) ca_error_input((c)->err, __VA_ARGS__)

static int get_str(const struct ctx *c, const json_t *o, const char *key, bool required,
                   const char **ret)
{
        const json_t *v = json_object_get(o, key);

        *ret = NULL;
        if (!v || json_is_null(v)) {
                if (required)
                        return bad(c, "manifest: %s lacks '%s'", c->where, key);
                return 0;
        }
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
                return bad(c, "manifest: %s: '%s' is not a string", c->where, key);
        *ret = json_string_value(v);
        return 0;
}

/* An optional array of strings, each passing `ok` (NULL: any). */
static int get_strv(const struct ctx *c, const json_t *o, const char *key,
                    bool (*ok)(const char *s), struct manifest_strv *out)
{
        const json_t *a = json_object_get(o, key);
        const json_t *v;
        size_t i;

        if (!a)
                return 0;
        if (!json_is_array(a))
                return bad(c, "manifest: %s: '%s' is not an array", c->where, key);
        out->items = calloc(json_array_size(a) + 1, sizeof(*out->items));
        if (!out->items)
                return ca_error_setx(c->err, ENOMEM, "out of memory");
        json_array_foreach(a, i, v) {
                const char *s = json_string_value(v);

                if (!s || strlen(s) != json_string_length(v) || (ok && !ok(s)))
                        return bad(c, "manifest: %s: '%s' item %zu is not valid", c->where, key,
                                   i);
                out->items[out->len++] = s;
        }
        return 0;
}

static int get_kv(const struct ctx *c, const json_t *o, const char *key,
                  struct manifest_kv **ret, size_t *ret_n)
{
        const json_t *t = json_object_get(o, key);
        const char *k;
        const json_t *v;
        size_t n = 0;

        *ret = NULL;
        *ret_n = 0;
        if (!t)
                return 0;
        if (!json_is_object(t))
                return bad(c, "manifest: %s: '%s' is not an object", c->where, key);
        *ret = calloc(json_object_size(t) + 1, sizeof(**ret));
        if (!*ret)
                return ca_error_setx(c->err, ENOMEM, "out of memory");
        json_object_foreach((json_t *) t, k, v) {
                const char *s = json_string_value(v);

                if (!s || strlen(s) != json_string_length(v) || !*k)
                        return bad(c, "manifest: %s: '%s.%s' is not a string", c->where, key, k);
                (*ret)[n++] = (struct manifest_kv) {k, s};
        }
        *ret_n = n;
        return 0;
}

static bool secret_ok(const char *s)
{
        return names_secret_ok(s, strlen(s));
}

static bool agent_ok(const char *s)
{
        for (size_t i = 0; i < CA_ELEMENTSOF(manifest_agent_names); i++) {
                if (strcmp(s, manifest_agent_names[i]) == 0)
                        return true;
        }
        return false;
}

static unsigned agents_mask(const struct manifest_strv *v)
{
        unsigned mask = 0;

        for (size_t i = 0; i < v->len; i++) {
                for (size_t k = 0; k < CA_ELEMENTSOF(manifest_agent_names); k++) {
                        if (strcmp(v->items[i], manifest_agent_names[k]) == 0)
                                mask |= 1u << k;
                }
        }
        return mask;
}

static bool method_ok(const char *s)
{
        return strcmp(s, "GET") == 0 || strcmp(s, "POST") == 0 || strcmp(s, "DELETE") == 0;
}

static bool path_ok(const char *s)
{
        return s[0] == '/' && !strpbrk(s, " ?#%\\");
}

/* ---- one server ------------------------------------------------------------------------- */

static int load_stdio(const struct ctx *c, const json_t *o, struct manifest_server *s)
{
        const char *network = NULL;
        int r = get_str(c, o, "command", true, &s->command);

        if (r >= 0)
                r = get_strv(c, o, "args", NULL, &s->args);
        if (r >= 0)
                r = get_kv(c, o, "env", &s->env, &s->nenv);
        if (r >= 0)
                r = get_str(c, o, "network", true, &network);
        if (r < 0)
                return r;
        if (!*s->command)
                return bad(c, "manifest: %s: empty command", c->where);
        if (strcmp(network, "none") != 0 && strcmp(network, "proxy") != 0)
                return bad(c, "manifest: %s: network '%s'", c->where, network);
        s->network_none = network[0] == 'n';
        for (size_t i = 0; i < s->nenv; i++) {
                if (!names_secret_ok(s->env[i].name, strlen(s->env[i].name)))
                        return bad(c, "manifest: %s: environment name '%s'", c->where,
                                   s->env[i].name);
        }
        if (s->uid < MANIFEST_STUB_UID_BASE ||
            s->uid >= MANIFEST_STUB_UID_BASE + MANIFEST_UID_RANGE)
                return bad(c, "manifest: %s: uid %u is outside the stubs' range", c->where,
                           (unsigned) s->uid);
        return 0;
}

/* The model helper's member: only on the "model-api" server, with its own UID and port. */
static int load_model(const struct ctx *c, const json_t *m, struct manifest_server *s)
{
        const json_t *tu = json_object_get(m, "token_url");
        const json_t *ph = json_object_get(m, "placeholder");
        struct url u;

        s->model_vendor = json_string_value(json_object_get(m, "vendor"));
        if (!json_is_object(m) || !s->model_vendor ||
            modelcred_vendor_from_name(s->model_vendor) < 0)
                return bad(c, "manifest: %s: a model member without a known vendor", c->where);
        if (strcmp(s->name, MANIFEST_MODEL_NAME) != 0 || s->uid != MANIFEST_MODEL_UID ||
            s->port != MANIFEST_MODEL_PORT || s->secrets.len != 1)
                return bad(c, "manifest: %s: only '%s' (uid %d, port %d) is the model helper",
                           c->where, MANIFEST_MODEL_NAME, MANIFEST_MODEL_UID,
                           MANIFEST_MODEL_PORT);
        if (tu && !json_is_null(tu) &&
            (!json_is_string(tu) || url_parse(json_string_value(tu), &u, NULL) < 0 || !u.https))
                return bad(c, "manifest: %s: the model's token_url is not https", c->where);
        if (ph && !json_is_null(ph) && !json_is_object(ph))
                return bad(c, "manifest: %s: the model's placeholder is not an object", c->where);
        s->model_token_url = json_is_string(tu) ? json_string_value(tu) : NULL;
        s->model_placeholder = json_is_object(ph) ? ph : NULL;
        return 0;
}

static int load_remote(const struct ctx *c, const json_t *o, struct manifest_server *s)
{
        const json_t *helper = json_object_get(o, "helper");
        const json_t *token = json_object_get(helper, "local_token");
        struct ctx hc = {c->err, c->where};
        json_int_t port = json_integer_value(json_object_get(helper, "port"));
        char want[32];
        struct url u;
        int r = get_str(c, o, "url", true, &s->url);

        if (r >= 0)
                r = get_str(c, o, "bearer_token_env_var", false, &s->bearer);
        if (r >= 0)
                r = get_kv(c, o, "headers", &s->headers, &s->nheaders);
        if (r >= 0)
                r = get_strv(c, o, "pins", names_pin_ok, &s->pins);
        if (r >= 0)
                r = get_str(c, o, "trust", true, &s->trust);
        if (r >= 0)
                r = get_strv(c, o, "allow_methods", method_ok, &s->allow_methods);
        if (r >= 0)
                r = get_strv(c, o, "allow_paths", path_ok, &s->allow_paths);
        if (r < 0)
                return r;
        if (!json_is_object(helper) || !json_is_integer(json_object_get(helper, "port")) ||
            port < 1 || port > 65535)
                return bad(c, "manifest: %s: no helper with a port", c->where);
        s->port = (uint16_t) port;
        if ((r = get_str(&hc, helper, "listen", true, &s->listen)) < 0 ||
            (r = get_str(&hc, helper, "local_path", true, &s->local_path)) < 0 ||
            (r = get_str(&hc, token, "env", true, &s->token_env)) < 0)
                return r;
        (void) snprintf(want, sizeof(want), "127.0.0.1:%u", s->port);
        if (strcmp(s->listen, want) != 0)
                return bad(c, "manifest: %s: the helper listens on '%s', not %s", c->where,
                           s->listen, want);
        if (url_parse(s->url, &u, NULL) < 0 || !u.https)
                return bad(c, "manifest: %s: url is not https", c->where);
        if (s->bearer && !names_secret_ok(s->bearer, strlen(s->bearer)))
                return bad(c, "manifest: %s: bearer_token_env_var is not a secret name",
                           c->where);
        if (strcmp(s->trust, "system") != 0 && !names_trust_ok(s->trust))
                return bad(c, "manifest: %s: trust '%s'", c->where, s->trust);
        if (!names_secret_ok(s->token_env, strlen(s->token_env)) || s->local_path[0] != '/')
                return bad(c, "manifest: %s: the helper's token or path", c->where);
        if (json_object_get(o, "model"))
                return load_model(c, json_object_get(o, "model"), s);
        if (s->uid < MANIFEST_HELPER_UID_BASE ||
            s->uid >= MANIFEST_HELPER_UID_BASE + MANIFEST_UID_RANGE)
                return bad(c, "manifest: %s: uid %u is outside the helpers' range", c->where,
                           (unsigned) s->uid);
        return 0;
}

static int load_server(struct ca_error *err, const json_t *o, size_t index,
                       struct manifest_server *s)
{
        struct ctx c = {err, "a server"};
        struct manifest_strv agents = {0};
        const char *transport = NULL;
        json_int_t uid = json_integer_value(json_object_get(o, "uid"));
        char where[64];
        int r;

        s->json = o;
        if (!json_is_object(o))
                return ca_error_input(err, "manifest: server %zu is not an object", index);
        r = get_str(&c, o, "name", true, &s->name);
        if (r < 0)
                return r;
        if (!names_server_ok(s->name, strlen(s->name)))
                return ca_error_input(err, "manifest: server %zu: bad name", index);
        (void) snprintf(where, sizeof(where), "server '%s'", s->name);
        c.where = where;
        r = get_str(&c, o, "transport", true, &transport);
        if (r >= 0)
                r = get_str(&c, o, "user", true, &s->user);
        if (r >= 0)
                r = get_strv(&c, o, "secrets", secret_ok, &s->secrets);
        if (r >= 0)
                r = get_strv(&c, o, "agents", agent_ok, &agents);
        if (r < 0) {
                strv_free(&agents);
                return r;
        }
        s->agents = agents_mask(&agents);
        strv_free(&agents);
        if (!json_is_integer(json_object_get(o, "uid")) || uid < 1000 || uid > 65533)
                return bad(&c, "manifest: %s: no proper uid", where);
        s->uid = (uid_t) uid;
        if (s->secrets.len > CAP_MAX_SECRETS)
                return bad(&c, "manifest: %s: more than %d secrets", where, CAP_MAX_SECRETS);
        if (strcmp(transport, "stdio") == 0) {
                s->transport = MANIFEST_STDIO;
                return load_stdio(&c, o, s);
        }
        if (strcmp(transport, "http") == 0 || strcmp(transport, "sse") == 0) {
                s->transport = transport[0] == 'h' ? MANIFEST_HTTP : MANIFEST_SSE;
                return load_remote(&c, o, s);
        }
        return bad(&c, "manifest: %s: transport '%s'", where, transport);
}

int manifest_from_json(json_t *j, struct manifest *out, struct ca_error *err)
{
        struct ctx c = {err, "the manifest"};
        struct manifest_strv agents = {0};
        const json_t *servers = json_object_get(j, "servers");
        const char *network = NULL;
        int r;

        memset(out, 0, sizeof(*out));
        if (!json_is_object(j) || json_integer_value(json_object_get(j, "version")) != 1)
                return ca_error_input(err, "not a session manifest of version 1");
        out->json = json_incref(j);
        r = get_str(&c, j, "session", true, &out->session);
        if (r >= 0)
                r = get_str(&c, j, "network", true, &network);
        if (r >= 0)
                r = get_strv(&c, j, "agents", agent_ok, &agents);
        if (r >= 0 && !capability_valid_session(out->session))
                r = bad(&c, "manifest: bad session id");
        if (r >= 0 && strcmp(network, "none") != 0 && strcmp(network, "proxy") != 0)
                r = bad(&c, "manifest: network '%s'", network);
        if (r >= 0 && !json_is_array(servers))
                r = bad(&c, "manifest: no server list");
        out->agents = agents_mask(&agents);
        strv_free(&agents);
        if (r < 0)
                goto fail;
        out->network_none = network[0] == 'n';
        out->servers = calloc(json_array_size(servers) + 1, sizeof(*out->servers));
        if (!out->servers) {
                r = ca_error_setx(err, ENOMEM, "out of memory");
                goto fail;
        }
        for (size_t i = 0; i < json_array_size(servers); i++) {
                r = load_server(err, json_array_get(servers, i), i, &out->servers[i]);
                out->nservers = i + 1;
                if (r < 0)
                        goto fail;
                for (size_t k = 0; k < i; k++) {
                        if (strcmp(out->servers[k].name, out->servers[i].name) == 0 ||
                            out->servers[k].uid == out->servers[i].uid ||
                            (out->servers[i].port && out->servers[k].port == out->servers[i].port)) {
                                r = ca_error_input(err, "manifest: servers '%s' and '%s' share "
                                                        "a name, a uid or a port",
                                                   out->servers[k].name, out->servers[i].name);
                                goto fail;
                        }
                }
        }
        return 0;
fail:
        manifest_clear(out);
        return r;
}

int manifest_parse(const char *data, size_t len, const char *name, struct manifest *out,
                   struct ca_error *err)
{
        _cleanup_json_ json_t *j = NULL;
        int r = ca_json_parse(data, len, name, &j, err);

        memset(out, 0, sizeof(*out));
        if (r < 0)
                return r;
        r = manifest_from_json(j, out, err);
        return r < 0 ? ca_error_prefix(err, "%s", name) : 0;
}

int manifest_load(const char *path, struct manifest *out, struct ca_error *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        _cleanup_buf_ struct buf b = BUF_INIT;
        struct stat st;
        int r;

        memset(out, 0, sizeof(*out));
        if (fd < 0)
                return ca_error_set(err, errno, "cannot open the manifest '%s'", path);
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return ca_error_input(err, "the manifest '%s' is not a regular file", path);
        r = fileio_read_fd(fd, MANIFEST_MAX, &b, err);
        return r < 0 ? r : manifest_parse(b.data ? b.data : "", b.len, path, out, err);
}

const struct manifest_server *manifest_find(const struct manifest *m, const char *name)
{
        for (size_t i = 0; i < m->nservers; i++) {
                if (strcmp(m->servers[i].name, name) == 0)
                        return &m->servers[i];
        }
        return NULL;
}
