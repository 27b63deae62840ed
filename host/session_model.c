/* SPDX-License-Identifier: MIT */
/* The session's model helper, decided and followed up on the host (session_model.h). */
#include <crypt.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "broker.h"
#include "buf.h"
#include "cleanup.h"
#include "cli.h"
#include "clock.h"
#include "digest.h"
#include "error.h"
#include "fileio.h"
#include "modelcred.h"
#include "parse.h"
#include "paths.h"
#include "secret.h"
#include "session.h"
#include "session_model.h"
#include "url.h"

static void today(struct session_model *m, const char *fmt, ...) CA_PRINTF(2, 3);

static void today(struct session_model *m, const char *fmt, ...)
{
        va_list ap;

        m->helper = false;
        va_start(ap, fmt);
        (void) vsnprintf(m->why, sizeof(m->why), fmt, ap);
        va_end(ap);
}

/* The origin (https://HOST[:PORT]) of a [model] url: a path is refused (the CLIs' paths are the
 * vendors'). */
static int origin_of(const char *url, char *out, size_t outlen, struct ca_error *err)
{
        struct url u;
        int n;

        if (url_parse(url, &u, NULL) < 0 || !u.https ||
            (u.path_len && !(u.path_len == 1 && u.path[0] == '/')))
                return ca_error_input(err, "[model] url '%s' must be an https origin "
                                           "(https://HOST[:PORT]) without a path", url);
        n = snprintf(out, outlen, "https://%s%s%s", u.host_ipv6 ? "[" : "", u.host,
                     u.host_ipv6 ? "]" : "");
        if (n > 0 && u.port_explicit && (size_t) n < outlen)
                n += snprintf(out + n, outlen - (size_t) n, ":%u", u.port);
        return n < 0 || (size_t) n >= outlen ? ca_error_input(err, "[model] url too long") : 0;
}

static int upstream(const struct config_model *cm, const struct modelcred *c,
                    struct session_model *m, struct ca_error *err)
{
        const char *tu = cm->token_url ? cm->token_url : modelcred_default_token_url(c->vendor);
        int r = origin_of(cm->url ? cm->url : modelcred_default_origin(c->vendor), m->origin,
                          sizeof(m->origin), err);

        if (r < 0)
                return r;
        if (c->oauth && tu)
                (void) snprintf(m->token_url, sizeof(m->token_url), "%s", tu);
        (void) snprintf(m->trust, sizeof(m->trust), "%s", cm->trust ? cm->trust : "system");
        for (size_t i = 0; i < cm->pins.len && i < SESSION_MODEL_MAX_PINS; i++) {
                m->pins[i] = strdup(cm->pins.items[i]);
                if (!m->pins[i])
                        return ca_error_setx(err, ENOMEM, "out of memory");
                m->npins++;
        }
        return 0;
}

static void host_file_of(const struct image_credential *which, struct session_model *m)
{
        const char *home = secure_getenv("HOME");

        if (which->host_file && home && home[0] == '/')
                (void) snprintf(m->host_file, sizeof(m->host_file), "%s/%s", home,
                                which->host_file);
}

/* A fresh password for the helpers' proxy login, and its SHA-512 crypt hash for squid. */
static int proxy_login(struct session_model *m, struct ca_error *err)
{
        static const char alphabet[] =
                "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        struct crypt_data cd;
        uint8_t rnd[32];
        char salt[3 + 16 + 1] = "$6$";
        const char *hash;

        randombytes_buf(rnd, sizeof(rnd));
        sodium_bin2hex(m->proxy_password, sizeof(m->proxy_password), rnd, sizeof(rnd));
        randombytes_buf(rnd, 16);
        for (size_t i = 0; i < 16; i++)
                salt[3 + i] = alphabet[rnd[i] % 64];
        sodium_memzero(rnd, sizeof(rnd));
        memset(&cd, 0, sizeof(cd));
        hash = crypt_r(m->proxy_password, salt, &cd);
        if (!hash || hash[0] != '$' ||
            snprintf(m->proxy_passwd, sizeof(m->proxy_passwd), "helper:%s", hash) >=
                    (int) sizeof(m->proxy_passwd))
                return ca_error_setx(err, EIO, "cannot hash the helpers' proxy password");
        sodium_memzero(&cd, sizeof(cd));
        return 0;
}

int session_model_proxy_auth(const struct session_model *m, const char *dir,
                             struct ca_error *err)
{
        _cleanup_free_ char *path = paths_join(dir, "proxy-auth");

        if (!m->helper)
                return 0;
        if (!path)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (fileio_mkdir_p(dir, 0700, err) < 0)
                return -EIO;
        return fileio_write_atomic(path, m->proxy_password, strlen(m->proxy_password), 0600,
                                   err);
}

int session_model_plan(enum render_agent agent, const struct config *cfg,
                       const struct image_credential *which, const struct ca_secret *value,
                       bool network_none, struct session_model *out, struct ca_error *err)
{
        const struct config_model *cm = &cfg->models[agent];
        _cleanup_modelcred_ struct modelcred c = MODELCRED_INIT;
        struct ca_error perr = {0};
        int r;

        memset(out, 0, sizeof(*out));
        out->agent = agent;
        out->secret = which->secret;
        if (cm->helper_off) {
                today(out, "[model.%s] helper = false in your configuration", render_agent_name(agent));
                return 0;
        }
        if (network_none) {
                today(out, "--network none: no model API is reachable from the session");
                return 0;
        }
        r = modelcred_parse(which->secret, value->buf, value->len, &c, &perr);
        if (r == -ENOTSUP) {
                today(out, "the GitHub login in ~/.copilot/config.json is read by the CLI "
                           "itself; set COPILOT_GITHUB_TOKEN on the host to keep it out of the "
                           "container");
                return 0;
        }
        if (r < 0) {
                today(out, "the login is not in a form the model helper knows (%.200s)", perr.msg);
                return 0;
        }
        r = upstream(cm, &c, out, err);
        if (r >= 0)
                r = modelcred_placeholder(&c, clock_realtime_ms(), &out->placeholder, err);
        if (r < 0)
                return r;
        r = proxy_login(out, err);
        if (r < 0)
                return r;
        out->helper = true;
        out->vendor = modelcred_vendor_name(c.vendor);
        host_file_of(which, out);
        crypto_hash_sha256(out->login_sha256, value->buf, value->len);
        out->render = (struct render_model){
                .agent = agent,
                .vendor = out->vendor,
                .secret = out->secret,
                .origin = out->origin,
                .token_url = out->token_url[0] ? out->token_url : NULL,
                .trust = out->trust,
                .pins = (const char *const *) out->pins,
                .npins = out->npins,
                .placeholder = out->placeholder,
        };
        return 0;
}

/* Whether `path` still holds what was read at launch. */
static bool unchanged(const char *path, const uint8_t want[32])
{
        _cleanup_buf_ struct buf now = BUF_INIT;
        struct ca_error err = {0};
        uint8_t md[32];
        bool same;

        if (fileio_read_path(path, SECRET_MAX_LEN, &now, &err) < 0)
                return false;
        crypto_hash_sha256(md, (const unsigned char *) (now.data ? now.data : ""), now.len);
        same = sodium_memcmp(md, want, sizeof(md)) == 0;
        sodium_memzero(now.data, now.cap);
        return same;
}

int session_model_record(const struct session_model *m, const char *dir, struct ca_error *err)
{
        _cleanup_free_ char *path = paths_join(dir, "model-login.json");
        _cleanup_json_ json_t *rec = NULL;
        _cleanup_buf_ struct buf b = BUF_INIT;
        char sha[DIGEST_SHA256_HEX_LEN + 1];

        if (!m->helper)
                return 0;
        digest_hex(m->login_sha256, sizeof(m->login_sha256), sha);
        rec = json_pack("{s:s, s:s, s:s, s:s}", "agent", render_agent_name(m->agent), "secret",
                        m->secret, "file", m->host_file, "sha256", sha);
        if (!path || !rec || ca_json_canonical(rec, &b, err) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        return fileio_write_atomic(path, b.data, b.len, 0600, err);
}

/* The record's fields, or -ENOENT when the session had no model helper. */
static int read_record(const char *dir, json_t **rec, uint8_t sha[32], struct ca_error *err)
{
        _cleanup_free_ char *path = paths_join(dir, "model-login.json");
        int r;

        if (!path)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (access(path, F_OK) < 0)
                return -ENOENT;
        r = ca_json_parse_file(path, 4096, rec, err);
        if (r < 0)
                return r;
        if (!json_is_string(json_object_get(*rec, "secret")) ||
            !json_is_string(json_object_get(*rec, "file")) ||
            !json_is_string(json_object_get(*rec, "agent")) ||
            !parse_hex(json_string_value(json_object_get(*rec, "sha256")), sha, 32))
                return ca_error_input(err, "'%s' is not a model login record", path);
        return 0;
}

/* What comes back from the container is untrusted: it must be a refresh of the login in
 * `file` (the same account and kind, only its tokens new). */
static bool same_login(const char *secret, const char *file, const struct ca_secret *fresh)
{
        _cleanup_buf_ struct buf now = BUF_INIT;
        _cleanup_modelcred_ struct modelcred a = MODELCRED_INIT;
        _cleanup_modelcred_ struct modelcred b = MODELCRED_INIT;
        struct ca_error err = {0};
        bool same;

        if (fileio_read_path(file, SECRET_MAX_LEN, &now, &err) < 0)
                return false;
        same = modelcred_parse(secret, now.data ? now.data : "", now.len, &a, &err) == 0 &&
               modelcred_parse(secret, fresh->buf, fresh->len, &b, &err) == 0 &&
               modelcred_same_login(&a, &b);
        sodium_memzero(now.data, now.cap);
        return same;
}

int session_model_write_back(const char *config_root, const char *session, const char *dir,
                             struct ca_error *err)
{
        _cleanup_secret_ struct ca_secret *fresh = NULL;
        _cleanup_json_ json_t *rec = NULL;
        uint8_t sha[32];
        const char *why = NULL, *file, *agent;
        int r = read_record(dir, &rec, sha, err);

        if (r == -ENOENT)
                return 0;
        if (r >= 0)
                r = broker_admin_export(config_root, session,
                                        json_string_value(json_object_get(rec, "secret")), &fresh,
                                        err);
        if (r < 0 || !fresh)
                return r;
        file = json_string_value(json_object_get(rec, "file"));
        agent = json_string_value(json_object_get(rec, "agent"));
        if (!file[0])
                why = "the login came from a variable";
        else if (!unchanged(file, sha))
                why = "the file changed during the session (a newer login is kept)";
        else if (!same_login(json_string_value(json_object_get(rec, "secret")), file, fresh))
                why = "what came back is not a refresh of that login (another account or "
                      "kind); the file is left as it was";
        else if (fileio_write_atomic(file, fresh->buf, fresh->len, 0600, err) < 0)
                return ca_error_prefix(err, "writing the refreshed login back");
        (void) session_emit(config_root, AUDIT_CREDENTIAL_UPDATED, session,
                            json_pack("{s:s, s:O, s:s, s:b, s:s?}", "by", "host", "secret",
                                      json_object_get(rec, "secret"), "file", file, "written",
                                      why == NULL, "reason", why));
        if (why)
                (void) fprintf(stderr, "coding-agents: the %s login was refreshed during the "
                                       "session but not written back: %s\n",
                               agent, why);
        else
                (void) fprintf(stderr, "coding-agents: the refreshed %s login was written back "
                                       "to %s\n",
                               agent, file);
        return 0;
}

void session_model_clear(struct session_model *m)
{
        for (size_t i = 0; i < m->npins; i++)
                free(m->pins[i]);
        json_decref(m->placeholder);
        sodium_memzero(m, sizeof(*m));
}
