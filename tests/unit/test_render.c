/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/render in memory; tests/integration/render*.sh cover files and real CLIs. */
#include "testutil.h"

#include <errno.h>

#include "config.h"
#include "error.h"
#include "render.h"

static void load(struct config *cfg, const char *src)
{
        struct ca_error err = {0};

        if (config_merge_buf(cfg, src, strlen(src), "c.toml", &err) < 0 ||
            config_finish(cfg, &err) < 0)
                fail_msg("config: %s", err.msg);
}

static const json_t *server(const struct render_result *r, const char *name)
{
        size_t i;
        json_t *s;

        json_array_foreach(json_object_get(r->manifest, "servers"), i, s) {
                if (strcmp(json_string_value(json_object_get(s, "name")), name) == 0)
                        return s;
        }
        return NULL;
}

static const char *const cfg_text =
        "[mcp_servers.b]\ncommand = \"x\"\n"
        "[mcp_servers.a]\ncommand = \"y\"\nargs = [\"${S}\"]\n"
        "[mcp_servers.r2]\nurl = \"https://two.example/sse?k=${K}\"\ntransport = \"sse\"\n"
        "[mcp_servers.r1]\nurl = \"https://one.example/mcp\"\nallow_methods = [\"POST\"]\n"
        "allow_paths = [\"/mcp\"]\n";

static void test_render_build_all_agents(void **state)
{
        struct config cfg = CONFIG_INIT;
        const struct config *cfgs[RENDER_AGENTS] = {&cfg, &cfg, &cfg};
        struct render_opts o = {.session = "s", .agents = 7};
        struct render_result r;
        struct ca_error err = {0};
        const json_t *r1;
        const json_t *r2;
        (void) state;

        load(&cfg, cfg_text);
        assert_int_equal(render_build(cfgs, &o, &r, &err), 0);
        /* Ports in name order; helpers and stubs in their own UID ranges. */
        r1 = server(&r, "r1");
        r2 = server(&r, "r2");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(r1, "helper"), "port")),
                         52100);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(r2, "helper"), "port")),
                         52101);
        assert_true(json_integer_value(json_object_get(r1, "uid")) >= MANIFEST_HELPER_UID_BASE);
        /* The helper's allow-lists reach the manifest only when set. */
        assert_string_equal(json_string_value(json_array_get(json_object_get(r1, "allow_methods"), 0)),
                            "POST");
        assert_string_equal(json_string_value(json_array_get(json_object_get(r1, "allow_paths"), 0)),
                            "/mcp");
        assert_null(json_object_get(r2, "allow_methods"));
        assert_true(json_integer_value(json_object_get(server(&r, "a"), "uid")) >=
                    MANIFEST_STUB_UID_BASE);
        /* Codex leaves the SSE server out, with a warning. */
        assert_null(strstr(r.files[RENDER_CODEX].data, "r2"));
        assert_non_null(strstr(r.files[RENDER_CLAUDE].data, "\"type\": \"sse\""));
        assert_int_equal(json_array_size(r.warnings), 1);
        /* The agent never sees the upstream path or query (which may hold placeholders). */
        assert_null(strstr(r.files[RENDER_CLAUDE].data, "k=${K}"));
        assert_non_null(strstr(r.files[RENDER_CLAUDE].data, "${CODING_AGENTS_TOKEN_52101}"));
        render_result_clear(&r);
        config_clear(&cfg);
}

static void test_render_uid_stable_per_name(void **state)
{
        struct config one = CONFIG_INIT;
        struct config two = CONFIG_INIT;
        const struct config *c1[RENDER_AGENTS] = {&one, NULL, NULL};
        const struct config *c2[RENDER_AGENTS] = {&two, NULL, NULL};
        struct render_opts o = {.session = "s", .agents = 1};
        struct render_result r1;
        struct render_result r2;
        struct ca_error err = {0};
        (void) state;

        load(&one, "[mcp_servers.a]\ncommand = \"y\"\n");
        load(&two, "[mcp_servers.zz]\ncommand = \"q\"\n[mcp_servers.a]\ncommand = \"y\"\n");
        assert_int_equal(render_build(c1, &o, &r1, &err), 0);
        assert_int_equal(render_build(c2, &o, &r2, &err), 0);
        assert_int_equal(json_integer_value(json_object_get(server(&r1, "a"), "uid")),
                         json_integer_value(json_object_get(server(&r2, "a"), "uid")));
        render_result_clear(&r1);
        render_result_clear(&r2);
        config_clear(&one);
        config_clear(&two);
}

static void test_render_build_flags_and_errors(void **state)
{
        struct config cfg = CONFIG_INIT;
        struct config other = CONFIG_INIT;
        const struct config *cfgs[RENDER_AGENTS] = {&cfg, NULL, NULL};
        const char *disable[] = {"b"};
        const char *unknown[] = {"nope"};
        struct render_opts o = {.session = "s", .agents = 1, .network_set = true,
                                .network = CONFIG_NETWORK_NONE, .disable = disable,
                                .ndisable = 1};
        struct render_result r;
        struct ca_error err = {0};
        (void) state;

        load(&cfg, cfg_text);
        assert_int_equal(render_build(cfgs, &o, &r, &err), 0);
        assert_null(server(&r, "b"));
        assert_null(server(&r, "r1"));
        assert_string_equal(json_string_value(json_object_get(server(&r, "a"), "network")),
                            "none");
        assert_int_equal(json_array_size(json_object_get(r.manifest, "disabled")), 1);
        render_result_clear(&r);

        o.disable = unknown;
        assert_int_equal(render_build(cfgs, &o, &r, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "'nope': no such server"));

        /* One name, two definitions, two agents: refused. */
        load(&other, "[mcp_servers.a]\ncommand = \"different\"\n");
        cfgs[RENDER_CODEX] = &other;
        o = (struct render_opts) {.session = "s", .agents = 3};
        assert_int_equal(render_build(cfgs, &o, &r, &err), -EINVAL);
        assert_true(err.bad_input);
        assert_non_null(strstr(err.msg, "defined differently for codex"));
        config_clear(&cfg);
        config_clear(&other);
        assert_int_equal(render_agent_from_name("copilot"), RENDER_COPILOT);
        assert_int_equal(render_agent_from_name("gemini"), -EINVAL);
}

/* The model helper: the manifest's model-api server for its agent, Codex's model provider, and
 * no MCP entry in any CLI's file. */
static void test_render_model(void **state)
{
        struct config cfg = CONFIG_INIT;
        const struct config *cfgs[RENDER_AGENTS] = {&cfg, &cfg, &cfg};
        const char *const pins[] = {"sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="};
        json_t *ph = json_pack("{s:{s:s}}", "tokens", "access_token", "");
        struct render_model m = {.agent = RENDER_CODEX,
                                 .vendor = "chatgpt",
                                 .secret = "AGENT_CODEX_AUTH",
                                 .origin = "https://chatgpt.example",
                                 .token_url = "https://auth.example/oauth/token",
                                 .trust = "system",
                                 .pins = pins,
                                 .npins = 1,
                                 .placeholder = ph};
        struct render_opts o = {.session = "s", .agents = 1u << RENDER_CODEX, .model = &m};
        struct render_result r;
        struct ca_error err = {0};
        struct manifest man = MANIFEST_INIT;
        const struct manifest_server *ms;
        (void) state;

        load(&cfg, cfg_text);
        assert_int_equal(render_build(cfgs, &o, &r, &err), 0);
        assert_int_equal(manifest_from_json(r.manifest, &man, &err), 0);
        ms = manifest_find(&man, MANIFEST_MODEL_NAME);
        assert_non_null(ms);
        assert_string_equal(ms->model_vendor, "chatgpt");
        assert_string_equal(ms->model_token_url, "https://auth.example/oauth/token");
        assert_int_equal(ms->uid, MANIFEST_MODEL_UID);
        assert_int_equal(ms->port, MANIFEST_MODEL_PORT);
        assert_string_equal(ms->bearer, "AGENT_CODEX_AUTH");
        assert_non_null(ms->model_placeholder);
        manifest_clear(&man);
        /* Codex's provider is the helper, before any table; no MCP entry for it. */
        assert_non_null(strstr(r.files[RENDER_CODEX].data,
                               "Do not edit.\nmodel_provider = \"coding-agents\"\n"
                               "chatgpt_base_url = \"http://127.0.0.1:52099/backend-api/\"\n"));
        assert_non_null(strstr(r.files[RENDER_CODEX].data,
                               "base_url = \"http://127.0.0.1:52099/backend-api/codex\""));
        assert_null(strstr(r.files[RENDER_CODEX].data, "mcp_servers.model-api"));
        render_result_clear(&r);
        /* An API key: the OpenAI API. */
        m.vendor = "openai";
        m.placeholder = NULL;
        assert_int_equal(render_build(cfgs, &o, &r, &err), 0);
        assert_non_null(strstr(r.files[RENDER_CODEX].data,
                               "base_url = \"http://127.0.0.1:52099/v1\""));
        assert_null(strstr(r.files[RENDER_CODEX].data, "chatgpt_base_url"));
        render_result_clear(&r);
        json_decref(ph);
        config_clear(&cfg);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_render_model),
                cmocka_unit_test(test_render_build_all_agents),
                cmocka_unit_test(test_render_uid_stable_per_name),
                cmocka_unit_test(test_render_build_flags_and_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
