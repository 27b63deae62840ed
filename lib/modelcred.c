/* SPDX-License-Identifier: MIT */
/* Vendor logins of the agent CLIs (modelcred.h). */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "buf.h"
#include "error.h"
#include "modelcred.h"
#include "secret.h"

/* The CLIs' public OAuth clients (what their own refresh sends). */
#define CLAUDE_CLIENT_ID "9d1c250a-e61b-44d9-88ed-5944d1962f5e"
#define CODEX_CLIENT_ID "app_EMoamEEZ73f0CkXaXp7hrann"
/* What the placeholder says instead of a refresh token, and its expiry: 2100-01-01. */
#define PLACEHOLDER_WORD "coding-agents-placeholder"
#define PLACEHOLDER_EXPIRY_MS ((json_int_t) 4102444800000)
/* A token larger than this is not a token. */
#define TOKEN_MAX ((size_t) 16 << 10)

static const char *const vendor_names[] = {"anthropic", "openai", "chatgpt", "copilot"};

static const char *const origins[] = {"https://api.anthropic.com", "https://api.openai.com",
                                      "https://chatgpt.com", "https://api.githubcopilot.com"};

const char *modelcred_vendor_name(enum modelcred_vendor v)
{
        return (unsigned) v < CA_ELEMENTSOF(vendor_names) ? vendor_names[v] : NULL;
}

int modelcred_vendor_from_name(const char *name)
{
        for (size_t i = 0; i < CA_ELEMENTSOF(vendor_names); i++)
                if (strcmp(vendor_names[i], name) == 0)
                        return (int) i;
        return -EINVAL;
}

const char *modelcred_default_origin(enum modelcred_vendor v)
{
        return (unsigned) v < CA_ELEMENTSOF(origins) ? origins[v] : NULL;
}

const char *modelcred_default_token_url(enum modelcred_vendor v)
{
        if (v == MODELCRED_ANTHROPIC)
                return "https://console.anthropic.com/v1/oauth/token";
        if (v == MODELCRED_CHATGPT)
                return "https://auth.openai.com/oauth/token";
        return NULL;
}

const char *const *modelcred_default_paths(enum modelcred_vendor v)
{
        static const char *const anthropic[] = {"/v1/", NULL};
        static const char *const openai[] = {"/v1/", NULL};
        static const char *const chatgpt[] = {"/backend-api/codex/", "/backend-api/wham/",
                                              "/backend-api/ps/", NULL};

        switch (v) {
        case MODELCRED_ANTHROPIC:
                return anthropic;
        case MODELCRED_OPENAI:
                return openai;
        case MODELCRED_CHATGPT:
                return chatgpt;
        default:
                return NULL;
        }
}

/* The document without what a refresh changes. */
static json_t *without_tokens(const struct modelcred *c)
{
        json_t *d = json_deep_copy(c->doc);
        json_t *slot = json_object_get(d, c->vendor == MODELCRED_ANTHROPIC ? "claudeAiOauth"
                                                                           : "tokens");

        (void) json_object_del(d, "last_refresh");
        for (const char *const *k = (const char *const[]){"accessToken", "refreshToken",
                                                          "expiresAt", "access_token",
                                                          "refresh_token", "id_token", NULL};
             *k; k++)
                (void) json_object_del(slot, *k);
        return d;
}

bool modelcred_same_login(const struct modelcred *old, const struct modelcred *fresh)
{
        json_t *a, *b;
        bool same;

        if (old->vendor != fresh->vendor || old->oauth != fresh->oauth || !old->doc ||
            !fresh->doc)
                return false;
        a = without_tokens(old);
        b = without_tokens(fresh);
        same = a && b && json_equal(a, b);
        json_decref(a);
        json_decref(b);
        return same;
}

void modelcred_clear(struct modelcred *c)
{
        secret_free(c->access);
        secret_free(c->refresh);
        json_decref(c->doc);
        memset(c, 0, sizeof(*c));
}

/* A token: printable ASCII without spaces, 1..TOKEN_MAX bytes (it goes into a header). */
static bool token_ok(const char *s, size_t len)
{
        if (len == 0 || len > TOKEN_MAX)
                return false;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) s[i] <= 0x20 || (unsigned char) s[i] >= 0x7f)
                        return false;
        return true;
}

static int set_token(struct ca_secret **slot, const json_t *v, const char *what,
                     struct ca_error *err)
{
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        struct ca_secret *n;

        if (!s || !token_ok(s, len))
                return ca_error_input(err, "the login's %s is missing or not a token", what);
        n = secret_new_from(s, len);
        if (!n)
                return ca_error_setx(err, ENOMEM, "cannot allocate secure memory");
        secret_free(*slot);
        *slot = n;
        return 0;
}

/* The "exp" claim (seconds) of a JWT's payload, or 0. */
static int64_t jwt_exp(const char *jwt)
{
        const char *a = strchr(jwt, '.'), *b = a ? strchr(a + 1, '.') : NULL;
        unsigned char payload[4096];
        size_t n = 0;
        json_t *claims;
        json_int_t exp = 0;

        if (!a || !b || (size_t) (b - a - 1) >= sizeof(payload) * 4 / 3)
                return 0;
        if (sodium_base642bin(payload, sizeof(payload) - 1, a + 1, (size_t) (b - a - 1), NULL, &n,
                              NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
                return 0;
        claims = json_loadb((const char *) payload, n, 0, NULL);
        if (json_is_object(claims) && json_is_integer(json_object_get(claims, "exp")))
                exp = json_integer_value(json_object_get(claims, "exp"));
        json_decref(claims);
        sodium_memzero(payload, sizeof(payload));
        return exp > 0 && exp < INT64_MAX / 1000 ? (int64_t) exp * 1000 : 0;
}

static int parse_claude(json_t *doc, struct modelcred *out, struct ca_error *err)
{
        json_t *o = json_object_get(doc, "claudeAiOauth");
        json_t *exp = json_object_get(o, "expiresAt");
        int r;

        if (!json_is_object(o))
                return ca_error_input(err, "not a Claude login (no claudeAiOauth)");
        r = set_token(&out->access, json_object_get(o, "accessToken"), "access token", err);
        if (r >= 0 && json_object_get(o, "refreshToken"))
                r = set_token(&out->refresh, json_object_get(o, "refreshToken"), "refresh token",
                              err);
        if (r < 0)
                return r;
        out->oauth = out->refresh != NULL;
        out->expires_ms = json_is_integer(exp) && json_integer_value(exp) > 0
                                  ? (int64_t) json_integer_value(exp)
                                  : 0;
        return 0;
}

static int parse_codex(json_t *doc, struct modelcred *out, struct ca_error *err)
{
        json_t *tokens = json_object_get(doc, "tokens");
        json_t *key = json_object_get(doc, "OPENAI_API_KEY");
        int r;

        if (json_is_object(tokens) && json_object_get(tokens, "access_token")) {
                out->vendor = MODELCRED_CHATGPT;
                r = set_token(&out->access, json_object_get(tokens, "access_token"),
                              "access token", err);
                if (r >= 0 && json_object_get(tokens, "refresh_token"))
                        r = set_token(&out->refresh, json_object_get(tokens, "refresh_token"),
                                      "refresh token", err);
                if (r < 0)
                        return r;
                out->oauth = out->refresh != NULL;
                out->expires_ms = jwt_exp((const char *) out->access->buf);
                return 0;
        }
        if (json_is_string(key)) {
                out->vendor = MODELCRED_OPENAI;
                return set_token(&out->access, key, "API key", err);
        }
        return ca_error_input(err, "not a Codex login (neither tokens nor OPENAI_API_KEY)");
}

static int parse_bare(const void *data, size_t len, struct modelcred *out, struct ca_error *err)
{
        const char *s = data;

        while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
                len--;
        if (!token_ok(s, len))
                return ca_error_input(err, "the key is not a token (printable, no spaces)");
        out->access = secret_new_from(s, len);
        return out->access ? 0 : ca_error_setx(err, ENOMEM, "cannot allocate secure memory");
}

int modelcred_parse(const char *secret, const void *data, size_t len, struct modelcred *out,
                    struct ca_error *err)
{
        bool claude = strcmp(secret, "AGENT_CLAUDE_CREDENTIALS") == 0;
        bool codex = strcmp(secret, "AGENT_CODEX_AUTH") == 0;
        int r;

        memset(out, 0, sizeof(*out));
        if (strcmp(secret, "AGENT_CLAUDE_API_KEY") == 0 ||
            strcmp(secret, "AGENT_COPILOT_TOKEN") == 0) {
                out->vendor = secret[6] == 'C' && secret[7] == 'L' ? MODELCRED_ANTHROPIC
                                                                    : MODELCRED_COPILOT;
                r = parse_bare(data, len, out, err);
        } else if (claude || codex) {
                out->vendor = claude ? MODELCRED_ANTHROPIC : MODELCRED_OPENAI;
                out->doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
                if (!json_is_object(out->doc))
                        r = ca_error_input(err, "the %s login is not a JSON object",
                                           claude ? "Claude" : "Codex");
                else
                        r = claude ? parse_claude(out->doc, out, err)
                                   : parse_codex(out->doc, out, err);
        } else {
                return ca_error_setx(err, ENOTSUP, "the secret '%s' is not a login the model "
                                                   "helper fronts", secret);
        }
        if (r < 0)
                modelcred_clear(out);
        return r;
}

int modelcred_auth_header(const struct modelcred *c, struct ca_secret **ret, struct ca_error *err)
{
        bool key = c->vendor == MODELCRED_ANTHROPIC && !c->doc;
        const char *prefix = key ? "x-api-key: " : "Authorization: Bearer ";
        size_t pl = strlen(prefix);
        struct ca_secret *s = secret_new(pl + c->access->len);

        if (!s)
                return ca_error_setx(err, ENOMEM, "cannot allocate secure memory");
        memcpy(s->buf, prefix, pl);
        memcpy(s->buf + pl, c->access->buf, c->access->len);
        *ret = s;
        return 0;
}

bool modelcred_expiring(const struct modelcred *c, int64_t now_ms, int64_t margin_ms)
{
        return c->oauth && c->expires_ms > 0 && c->expires_ms - margin_ms <= now_ms;
}

/* The JSON dump of `v` into secure memory (the intermediate copy is zeroed). */
static int dump_secret(const json_t *v, struct ca_secret **ret, struct ca_error *err)
{
        size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT);
        struct ca_secret *s;

        if (n == 0 || n > SECRET_MAX_LEN)
                return ca_error_setx(err, EINVAL, "the login does not fit in a secret");
        s = secret_new(n);
        if (!s)
                return ca_error_setx(err, ENOMEM, "cannot allocate secure memory");
        if (json_dumpb(v, (char *) s->buf, n, JSON_COMPACT) != n) {
                secret_free(s);
                return ca_error_setx(err, EIO, "cannot write the login");
        }
        *ret = s;
        return 0;
}

int modelcred_refresh_body(const struct modelcred *c, struct ca_secret **ret,
                           struct ca_error *err)
{
        json_t *body;
        int r;

        if (!c->oauth || !c->refresh)
                return ca_error_setx(err, EINVAL, "this login cannot be refreshed");
        body = json_pack("{s:s, s:s%, s:s}", "grant_type", "refresh_token", "refresh_token",
                         (const char *) c->refresh->buf, c->refresh->len, "client_id",
                         c->vendor == MODELCRED_ANTHROPIC ? CLAUDE_CLIENT_ID : CODEX_CLIENT_ID);
        if (body && c->vendor == MODELCRED_CHATGPT)
                (void) json_object_set_new(body, "scope", json_string("openid profile email"));
        if (!body)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = dump_secret(body, ret, err);
        json_decref(body);
        return r;
}

static void iso_now(int64_t now_ms, char out[40])
{
        time_t t = (time_t) (now_ms / 1000);
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(out, 40, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                (void) snprintf(out, 40, "1970-01-01T00:00:00Z");
}

int modelcred_refresh_apply(struct modelcred *c, const char *answer, size_t len, int64_t now_ms,
                            struct ca_error *err)
{
        json_t *a = json_loadb(answer, len, 0, NULL);
        json_t *access = json_object_get(a, "access_token");
        json_t *refresh = json_object_get(a, "refresh_token");
        json_t *idt = json_object_get(a, "id_token");
        json_t *in = json_object_get(a, "expires_in");
        json_t *slot = NULL;
        int r;

        if (!json_is_object(a) || !json_is_string(access) ||
            !token_ok(json_string_value(access), json_string_length(access)) ||
            (refresh && (!json_is_string(refresh) ||
                         !token_ok(json_string_value(refresh), json_string_length(refresh))))) {
                json_decref(a);
                return ca_error_input(err, "the token endpoint's answer holds no access token");
        }
        r = set_token(&c->access, access, "access token", err);
        if (r >= 0 && refresh)
                r = set_token(&c->refresh, refresh, "refresh token", err);
        if (r < 0) {
                json_decref(a);
                return r;
        }
        if (json_is_integer(in) && json_integer_value(in) > 0 &&
            json_integer_value(in) < (json_int_t) 10 * 365 * 86400)
                c->expires_ms = now_ms + (int64_t) json_integer_value(in) * 1000;
        else if (c->vendor == MODELCRED_CHATGPT)
                c->expires_ms = jwt_exp((const char *) c->access->buf);
        else
                c->expires_ms = 0;
        if (c->vendor == MODELCRED_ANTHROPIC && c->doc)
                slot = json_object_get(c->doc, "claudeAiOauth");
        else if (c->vendor == MODELCRED_CHATGPT && c->doc)
                slot = json_object_get(c->doc, "tokens");
        if (json_is_object(slot) && c->vendor == MODELCRED_ANTHROPIC) {
                (void) json_object_set(slot, "accessToken", access);
                if (refresh)
                        (void) json_object_set(slot, "refreshToken", refresh);
                if (c->expires_ms)
                        (void) json_object_set_new(slot, "expiresAt",
                                                   json_integer((json_int_t) c->expires_ms));
        } else if (json_is_object(slot)) {
                char now[40];

                (void) json_object_set(slot, "access_token", access);
                if (refresh)
                        (void) json_object_set(slot, "refresh_token", refresh);
                if (json_is_string(idt))
                        (void) json_object_set(slot, "id_token", idt);
                iso_now(now_ms, now);
                (void) json_object_set_new(c->doc, "last_refresh", json_string(now));
        }
        json_decref(a);
        return 0;
}

int modelcred_document(const struct modelcred *c, struct ca_secret **ret, struct ca_error *err)
{
        if (!c->doc)
                return ca_error_setx(err, EINVAL, "this login is a bare key, not a document");
        return dump_secret(c->doc, ret, err);
}

/* An id_token without its signature: the claims the CLI reads, nothing that proves them. */
static json_t *unsigned_jwt(const char *jwt)
{
        const char *a = strchr(jwt, '.'), *b = a ? strchr(a + 1, '.') : NULL;
        _cleanup_buf_ struct buf out = BUF_INIT;

        if (!a || !b)
                return json_string("");
        if (buf_append(&out, jwt, (size_t) (b - jwt)) < 0 ||
            buf_append_str(&out, ".cGxhY2Vob2xkZXI") < 0)
                return NULL;
        return json_stringn(out.data, out.len);
}

/* Whether the text of `v` holds the access or the refresh token (of 8 bytes or more). */
static bool holds_token(const struct modelcred *c, const json_t *v)
{
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        const struct ca_secret *t[2] = {c->access, c->refresh};
        bool found = !text;

        for (size_t i = 0; text && i < 2; i++)
                found = found || (t[i] && t[i]->len >= 8 &&
                                  memmem(text, strlen(text), t[i]->buf, t[i]->len));
        if (text) {
                sodium_memzero(text, strlen(text));
                free(text);
        }
        return found;
}

/* Copies `from`'s `keys` into `to`: only strings and arrays of strings, never one that holds a
 * token. Everything else of a login (other tokens, such as Claude's MCP OAuth logins) stays out. */
static void copy_plain(const struct modelcred *c, json_t *to, const json_t *from,
                       const char *const *keys)
{
        for (; *keys; keys++) {
                json_t *v = json_object_get(from, *keys);
                bool plain = json_is_string(v) || json_is_array(v);
                size_t i;
                json_t *item;

                json_array_foreach(json_is_array(v) ? v : NULL, i, item)
                        plain = plain && json_is_string(item);
                if (plain && !holds_token(c, v))
                        (void) json_object_set(to, *keys, v);
        }
}

int modelcred_placeholder(const struct modelcred *c, int64_t now_ms, json_t **ret,
                          struct ca_error *err)
{
        static const char *const claude_keys[] = {"scopes", "subscriptionType", "rateLimitTier",
                                                  NULL};
        static const char *const codex_keys[] = {"account_id", NULL};
        json_t *doc, *slot;
        char now[40];

        *ret = NULL;
        if (!c->doc)
                return 0;
        /* Built from what the CLI needs, never copied whole: a login file may hold more. */
        if (c->vendor == MODELCRED_ANTHROPIC) {
                doc = json_pack("{s:{s:s, s:s, s:I}}", "claudeAiOauth", "accessToken", "",
                                "refreshToken", PLACEHOLDER_WORD, "expiresAt",
                                PLACEHOLDER_EXPIRY_MS);
                slot = json_object_get(doc, "claudeAiOauth");
                if (slot)
                        copy_plain(c, slot, json_object_get(c->doc, "claudeAiOauth"), claude_keys);
        } else if (c->vendor == MODELCRED_CHATGPT) {
                const json_t *tokens = json_object_get(c->doc, "tokens");
                const char *idt = json_string_value(json_object_get(tokens, "id_token"));
                json_t *claims = idt ? unsigned_jwt(idt) : json_string("");

                if (claims && holds_token(c, claims)) {
                        json_decref(claims);
                        claims = json_string("");
                }
                iso_now(now_ms, now);
                doc = json_pack("{s:n, s:{s:o, s:s, s:s}, s:s}", "OPENAI_API_KEY", "tokens",
                                "id_token", claims, "access_token", "", "refresh_token",
                                PLACEHOLDER_WORD, "last_refresh", now);
                slot = json_object_get(doc, "tokens");
                if (slot)
                        copy_plain(c, slot, tokens, codex_keys);
        } else {
                /* A Codex API-key login: only the key. */
                doc = json_pack("{s:s}", "OPENAI_API_KEY", "");
        }
        if (!doc)
                return ca_error_setx(err, ENOMEM, "out of memory");
        *ret = doc;
        return 0;
}

int modelcred_placeholder_fill(json_t *doc, enum modelcred_vendor vendor, const char *token,
                               struct ca_error *err)
{
        json_t *slot = doc;
        const char *key = "OPENAI_API_KEY";

        if (vendor == MODELCRED_ANTHROPIC)
                slot = json_object_get(doc, "claudeAiOauth"), key = "accessToken";
        else if (vendor == MODELCRED_CHATGPT)
                slot = json_object_get(doc, "tokens"), key = "access_token";
        if (!json_is_object(slot) || !json_is_string(json_object_get(slot, key)))
                return ca_error_input(err, "the placeholder has no place for the local token");
        return json_object_set_new(slot, key, json_string(token)) < 0
                       ? ca_error_setx(err, ENOMEM, "out of memory")
                       : 0;
}

/* jansson's allocations are plain malloc ones (callers may free() what json_dumps returns);
 * a free zeroes what the block holds first. */
static void *zero_malloc(size_t n)
{
        return malloc(n);
}

static void zero_free(void *p)
{
        if (!p)
                return;
        sodium_memzero(p, malloc_usable_size(p));
        free(p);
}

void modelcred_zeroing_json(void)
{
        json_set_alloc_funcs(zero_malloc, zero_free);
}
