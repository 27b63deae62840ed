/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/modelcred: the agent CLIs' vendor logins, as the model helper sees them. */
#include "testutil.h"

#include <errno.h>

#include <sodium.h>

#include "error.h"
#include "json.h"
#include "modelcred.h"
#include "secret.h"

#define STR(s) s, strlen(s)

static const char claude_login[] =
        "{\"claudeAiOauth\":{\"accessToken\":\"sk-ant-oat01-real\",\"refreshToken\":"
        "\"sk-ant-ort01-real\",\"expiresAt\":1700000000000,\"scopes\":[\"user:inference\"],"
        "\"subscriptionType\":\"max\"}}";

/* {"alg":"none"} . {"exp":1700000000,"email":"dev@example.test"} . "sig" */
#define JWT "eyJhbGciOiJub25lIn0.eyJleHAiOjE3MDAwMDAwMDAsImVtYWlsIjoiZGV2QGV4YW1wbGUudGVzdCJ9.c2ln"
static const char codex_login[] =
        "{\"OPENAI_API_KEY\":null,\"tokens\":{\"id_token\":\"" JWT "\",\"access_token\":\"" JWT
        "\",\"refresh_token\":\"rt-real\",\"account_id\":\"acc-1\"},\"last_refresh\":"
        "\"2026-01-01T00:00:00Z\"}";

static char *text(const json_t *j)
{
        char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

        assert_non_null(s);
        return s;
}

static void test_modelcred_claude_oauth(void **state)
{
        struct modelcred c = MODELCRED_INIT;
        struct ca_error err = {0};
        struct ca_secret *s = NULL;
        json_t *ph = NULL;
        char *t;
        (void) state;

        assert_int_equal(modelcred_parse("AGENT_CLAUDE_CREDENTIALS", claude_login,
                                         strlen(claude_login), &c, &err),
                         0);
        assert_int_equal(c.vendor, MODELCRED_ANTHROPIC);
        assert_true(c.oauth);
        assert_int_equal(c.expires_ms, 1700000000000);
        assert_true(modelcred_expiring(&c, 1700000000000 - 30000, 60000));
        assert_false(modelcred_expiring(&c, 1700000000000 - 120000, 60000));
        assert_int_equal(modelcred_auth_header(&c, &s, &err), 0);
        assert_string_equal((char *) s->buf, "Authorization: Bearer sk-ant-oat01-real");
        s = secret_free(s);
        /* The placeholder: no token of the login, the local token where the access token was. */
        assert_int_equal(modelcred_placeholder(&c, 0, &ph, &err), 0);
        t = text(ph);
        assert_null(strstr(t, "real"));
        assert_non_null(strstr(t, "\"subscriptionType\":\"max\""));
        free(t);
        assert_int_equal(modelcred_placeholder_fill(ph, c.vendor, "local-token", &err), 0);
        t = text(ph);
        assert_non_null(strstr(t, "\"accessToken\":\"local-token\""));
        assert_non_null(strstr(t, "\"expiresAt\":4102444800000"));
        free(t);
        json_decref(ph);
        /* The refresh grant, and its answer applied to the document. */
        assert_int_equal(modelcred_refresh_body(&c, &s, &err), 0);
        assert_non_null(strstr((char *) s->buf, "\"refresh_token\":\"sk-ant-ort01-real\""));
        assert_non_null(strstr((char *) s->buf, "\"grant_type\":\"refresh_token\""));
        s = secret_free(s);
        assert_int_equal(modelcred_refresh_apply(&c, STR("{\"access_token\":\"a2\",\"refresh_token\":"
                                                         "\"r2\",\"expires_in\":3600}"),
                                                 1000, &err),
                         0);
        assert_int_equal(c.expires_ms, 1000 + 3600000);
        assert_int_equal(modelcred_document(&c, &s, &err), 0);
        assert_non_null(strstr((char *) s->buf, "\"accessToken\":\"a2\""));
        assert_non_null(strstr((char *) s->buf, "\"refreshToken\":\"r2\""));
        assert_non_null(strstr((char *) s->buf, "\"expiresAt\":3601000"));
        assert_non_null(strstr((char *) s->buf, "\"subscriptionType\":\"max\""));
        s = secret_free(s);
        /* An answer without an access token changes nothing. */
        assert_int_equal(modelcred_refresh_apply(&c, STR("{\"error\":\"invalid_grant\"}"), 5, &err),
                         -EINVAL);
        assert_string_equal((char *) c.access->buf, "a2");
        modelcred_clear(&c);
}

/* The placeholder is built from what the CLI needs, never copied whole: a login file holding
 * more (Claude keeps its MCP servers' OAuth logins there) leaks none of it. */
static void test_modelcred_placeholder_allow_list(void **state)
{
        static const char login[] =
                "{\"claudeAiOauth\":{\"accessToken\":\"sk-ant-oat01-real\",\"refreshToken\":"
                "\"sk-ant-ort01-real\",\"expiresAt\":1,\"scopes\":[\"user:inference\"],"
                "\"subscriptionType\":\"sk-ant-oat01-real\",\"extra\":\"x\"},"
                "\"mcpOAuth\":{\"github\":{\"accessToken\":\"gho_mcp_secret_1234\"}}}";
        struct modelcred c = MODELCRED_INIT;
        struct ca_error err = {0};
        json_t *ph = NULL;
        char *t;
        (void) state;

        assert_int_equal(modelcred_parse("AGENT_CLAUDE_CREDENTIALS", STR(login), &c, &err), 0);
        assert_int_equal(modelcred_placeholder(&c, 0, &ph, &err), 0);
        t = text(ph);
        assert_null(strstr(t, "gho_mcp_secret_1234"));
        assert_null(strstr(t, "mcpOAuth"));
        assert_null(strstr(t, "extra"));
        /* A field holding the token itself is left out too. */
        assert_null(strstr(t, "real"));
        assert_non_null(strstr(t, "\"scopes\":[\"user:inference\"]"));
        free(t);
        json_decref(ph);
        modelcred_clear(&c);
}

static void test_modelcred_codex(void **state)
{
        struct modelcred c = MODELCRED_INIT;
        struct ca_error err = {0};
        struct ca_secret *s = NULL;
        json_t *ph = NULL;
        char *t;
        (void) state;

        assert_int_equal(modelcred_parse("AGENT_CODEX_AUTH", codex_login, strlen(codex_login), &c,
                                         &err),
                         0);
        assert_int_equal(c.vendor, MODELCRED_CHATGPT);
        assert_true(c.oauth);
        assert_int_equal(c.expires_ms, 1700000000000); /* the access token's exp */
        assert_int_equal(modelcred_placeholder(&c, 0, &ph, &err), 0);
        t = text(ph);
        /* The id_token keeps its claims and loses its signature; no token survives. */
        assert_null(strstr(t, "rt-real"));
        assert_null(strstr(t, ".c2ln"));
        assert_non_null(strstr(t, "eyJleHAiOjE3MDAwMDAwMDAsImVtYWlsIjoiZGV2QGV4YW1wbGUudGVzdCJ9."));
        assert_non_null(strstr(t, "\"account_id\":\"acc-1\""));
        assert_non_null(strstr(t, "\"last_refresh\":\"1970-01-01T00:00:00Z\""));
        free(t);
        assert_int_equal(modelcred_placeholder_fill(ph, c.vendor, "tok", &err), 0);
        assert_string_equal(json_string_value(json_object_get(json_object_get(ph, "tokens"),
                                                              "access_token")),
                            "tok");
        json_decref(ph);
        assert_int_equal(modelcred_refresh_body(&c, &s, &err), 0);
        assert_non_null(strstr((char *) s->buf, "\"scope\":\"openid profile email\""));
        s = secret_free(s);
        assert_int_equal(modelcred_refresh_apply(&c, STR("{\"access_token\":\"n\",\"id_token\":\"i\"}"),
                                                 86400000, &err),
                         0);
        assert_int_equal(modelcred_document(&c, &s, &err), 0);
        assert_non_null(strstr((char *) s->buf, "\"access_token\":\"n\""));
        assert_non_null(strstr((char *) s->buf, "\"refresh_token\":\"rt-real\""));
        assert_non_null(strstr((char *) s->buf, "\"id_token\":\"i\""));
        assert_non_null(strstr((char *) s->buf, "\"last_refresh\":\"1970-01-02T00:00:00Z\""));
        s = secret_free(s);
        modelcred_clear(&c);

        /* An API-key login: the key, Bearer, a placeholder with only the key's place. */
        assert_int_equal(modelcred_parse("AGENT_CODEX_AUTH", STR("{\"OPENAI_API_KEY\":\"sk-1\"}"),
                                         &c, &err),
                         0);
        assert_int_equal(c.vendor, MODELCRED_OPENAI);
        assert_false(c.oauth);
        assert_int_equal(modelcred_refresh_body(&c, &s, &err), -EINVAL);
        assert_int_equal(modelcred_placeholder(&c, 0, &ph, &err), 0);
        t = text(ph);
        assert_string_equal(t, "{\"OPENAI_API_KEY\":\"\"}");
        free(t);
        json_decref(ph);
        modelcred_clear(&c);
}

static void test_modelcred_keys(void **state)
{
        struct modelcred c = MODELCRED_INIT;
        struct ca_error err = {0};
        struct ca_secret *s = NULL;
        json_t *ph = (json_t *) 1;
        (void) state;

        assert_int_equal(modelcred_parse("AGENT_CLAUDE_API_KEY", "sk-ant-api03-k\n", 15, &c, &err),
                         0);
        assert_int_equal(modelcred_auth_header(&c, &s, &err), 0);
        assert_string_equal((char *) s->buf, "x-api-key: sk-ant-api03-k");
        s = secret_free(s);
        assert_int_equal(modelcred_placeholder(&c, 0, &ph, &err), 0);
        assert_null(ph);
        modelcred_clear(&c);
        assert_int_equal(modelcred_parse("AGENT_COPILOT_TOKEN", "gho_x", 5, &c, &err), 0);
        assert_int_equal(c.vendor, MODELCRED_COPILOT);
        assert_int_equal(modelcred_auth_header(&c, &s, &err), 0);
        assert_string_equal((char *) s->buf, "Authorization: Bearer gho_x");
        s = secret_free(s);
        modelcred_clear(&c);
}

static void test_modelcred_refusals(void **state)
{
        struct modelcred c = MODELCRED_INIT;
        struct ca_error err = {0};
        (void) state;

        /* Never the content in the message. */
        assert_int_equal(modelcred_parse("AGENT_CLAUDE_CREDENTIALS", "secret-ish", 10, &c, &err),
                         -EINVAL);
        assert_null(strstr(err.msg, "secret-ish"));
        assert_int_equal(modelcred_parse("AGENT_CLAUDE_CREDENTIALS",
                                         "{\"claudeAiOauth\":{\"accessToken\":\"a b\"}}", 39, &c,
                                         &err),
                         -EINVAL);
        assert_int_equal(modelcred_parse("AGENT_CLAUDE_API_KEY", "two words", 9, &c, &err),
                         -EINVAL);
        assert_int_equal(modelcred_parse("AGENT_CODEX_AUTH", "{}", 2, &c, &err), -EINVAL);
        assert_int_equal(modelcred_parse("AGENT_COPILOT_CONFIG", "{}", 2, &c, &err), -ENOTSUP);
        assert_null(c.access);
        assert_int_equal(modelcred_vendor_from_name("chatgpt"), MODELCRED_CHATGPT);
        assert_int_equal(modelcred_vendor_from_name("x"), -EINVAL);
        assert_string_equal(modelcred_default_origin(MODELCRED_COPILOT),
                            "https://api.githubcopilot.com");
        assert_null(modelcred_default_token_url(MODELCRED_OPENAI));
}

static void test_modelcred_paths_and_same_login(void **state)
{
        struct modelcred a = MODELCRED_INIT, b = MODELCRED_INIT;
        struct ca_error err = {0};
        static const char other_account[] =
                "{\"claudeAiOauth\":{\"accessToken\":\"x\",\"refreshToken\":\"y\","
                "\"expiresAt\":1,\"scopes\":[\"user:inference\"],\"subscriptionType\":\"pro\"}}";
        static const char refreshed[] =
                "{\"claudeAiOauth\":{\"accessToken\":\"x\",\"refreshToken\":\"y\","
                "\"expiresAt\":2,\"scopes\":[\"user:inference\"],\"subscriptionType\":\"max\"}}";
        (void) state;

        assert_string_equal(modelcred_default_paths(MODELCRED_ANTHROPIC)[0], "/v1/");
        assert_null(modelcred_default_paths(MODELCRED_ANTHROPIC)[1]);
        assert_string_equal(modelcred_default_paths(MODELCRED_CHATGPT)[0], "/backend-api/codex/");
        assert_null(modelcred_default_paths(MODELCRED_COPILOT));
        assert_int_equal(modelcred_parse("AGENT_CLAUDE_CREDENTIALS", STR(claude_login), &a, &err),
                         0);
        /* New tokens and expiry: a refresh. */
        assert_int_equal(modelcred_parse("AGENT_CLAUDE_CREDENTIALS", STR(refreshed), &b, &err), 0);
        assert_true(modelcred_same_login(&a, &b));
        modelcred_clear(&b);
        /* Anything else changed (another subscription, another kind): not a refresh. */
        assert_int_equal(modelcred_parse("AGENT_CLAUDE_CREDENTIALS", STR(other_account), &b, &err),
                         0);
        assert_false(modelcred_same_login(&a, &b));
        modelcred_clear(&b);
        assert_int_equal(modelcred_parse("AGENT_CODEX_AUTH", STR(codex_login), &b, &err), 0);
        assert_false(modelcred_same_login(&a, &b));
        modelcred_clear(&b);
        modelcred_clear(&a);
}

/* With the zeroing allocator jansson still works (the helper parses logins with it). */
static void test_modelcred_zeroing_json(void **state)
{
        struct modelcred c = MODELCRED_INIT;
        struct ca_error err = {0};
        (void) state;

        modelcred_zeroing_json();
        assert_int_equal(modelcred_parse("AGENT_CLAUDE_CREDENTIALS", claude_login,
                                         strlen(claude_login), &c, &err),
                         0);
        /* What jansson hands out is the caller's to free() (mcp-helper's events do). */
        free(json_dumps(c.doc, JSON_COMPACT));
        modelcred_clear(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_modelcred_claude_oauth),
                cmocka_unit_test(test_modelcred_placeholder_allow_list),
                cmocka_unit_test(test_modelcred_codex),
                cmocka_unit_test(test_modelcred_keys),
                cmocka_unit_test(test_modelcred_refusals),
                cmocka_unit_test(test_modelcred_paths_and_same_login),
                cmocka_unit_test(test_modelcred_zeroing_json),
        };
        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
