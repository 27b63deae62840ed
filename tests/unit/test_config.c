/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/config: loading, merging, validation and placeholder scanning. */
#include "testutil.h"

#include <errno.h>

#include "buf.h"
#include "config.h"
#include "error.h"

#define PIN "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static const char *load_err(const char *src)
{
        static struct ca_error err;
        struct config cfg = CONFIG_INIT;
        int r;

        ca_error_clear(&err);
        r = config_merge_buf(&cfg, src, strlen(src), "c.toml", &err);
        if (r == 0)
                r = config_finish(&cfg, &err);
        config_clear(&cfg);
        if (r == 0)
                fail_msg("config loaded but should not:\n%s", src);
        assert_int_equal(r, -EINVAL);
        assert_true(err.bad_input);
        return err.msg;
}

static void load_ok(struct config *cfg, const char *src)
{
        struct ca_error err = {0};

        if (config_merge_buf(cfg, src, strlen(src), "c.toml", &err) < 0 ||
            config_finish(cfg, &err) < 0)
                fail_msg("unexpected error: %s", err.msg);
}

static void test_config_load_architecture_example(void **state)
{
        struct config cfg = CONFIG_INIT;
        const struct config_server *s;
        (void) state;

        load_ok(&cfg, "[mcp_servers.github]\n"
                      "url = \"https://api.githubcopilot.com/mcp\"\n"
                      "bearer_token_env_var = \"GITHUB_TOKEN\"\n"
                      "pins = [\"" PIN "\"]\n"
                      "[mcp_servers.context7]\n"
                      "command = \"npx\"\n"
                      "args = [\"-y\", \"@upstash/context7-mcp\", \"--api-key\", "
                      "\"${CONTEXT7_API_KEY}\"]\n"
                      "env = { FOO = \"bar\", TOKEN = \"$OTHER and $$literal\" }\n"
                      "network = \"none\"\n"
                      "[network]\nallow_domains = [\"api.githubcopilot.com\", \".npmjs.org\"]\n"
                      "allow_ports = [443, 8443]\n");
        assert_int_equal(cfg.nservers, 2);
        /* Sorted by name. */
        assert_string_equal(cfg.servers[0].name, "context7");
        s = config_find_server(&cfg, "context7");
        assert_int_equal(s->transport, CONFIG_TRANSPORT_STDIO);
        assert_int_equal(s->network, CONFIG_NETWORK_NONE);
        assert_int_equal(s->args.len, 4);
        assert_int_equal(s->secrets.len, 2);
        assert_string_equal(s->secrets.items[0], "CONTEXT7_API_KEY");
        assert_string_equal(s->secrets.items[1], "OTHER");
        s = config_find_server(&cfg, "github");
        assert_int_equal(s->transport, CONFIG_TRANSPORT_HTTP);
        assert_string_equal(s->trust, "system");
        assert_int_equal(s->secrets.len, 1);
        assert_string_equal(s->secrets.items[0], "GITHUB_TOKEN");
        assert_int_equal(cfg.nallow_ports, 2);
        assert_int_equal(cfg.allow_domains.len, 2);
        assert_null(config_find_server(&cfg, "nope"));
        config_clear(&cfg);
}

static void test_config_merge_later_file_wins(void **state)
{
        struct config cfg = CONFIG_INIT;
        struct ca_error err = {0};
        const char *a = "[mcp_servers.x]\ncommand = \"a\"\nargs = [\"1\", \"2\"]\n";
        const char *b = "[mcp_servers.x]\nargs = [\"3\"]\nenabled = false\n"
                        "[mcp_servers.y]\nurl = \"https://h.example/mcp\"\ntransport = \"sse\"\n";
        (void) state;

        assert_int_equal(config_merge_buf(&cfg, a, strlen(a), "a.toml", &err), 0);
        assert_int_equal(config_merge_buf(&cfg, b, strlen(b), "b.toml", &err), 0);
        assert_int_equal(config_finish(&cfg, &err), 0);
        assert_int_equal(cfg.nservers, 2);
        assert_string_equal(cfg.servers[0].command, "a");
        assert_int_equal(cfg.servers[0].args.len, 1);
        assert_string_equal(cfg.servers[0].args.items[0], "3");
        assert_false(cfg.servers[0].enabled);
        assert_int_equal(cfg.servers[1].transport, CONFIG_TRANSPORT_SSE);
        config_clear(&cfg);

        /* A conflict across files names both places. */
        cfg = (struct config) CONFIG_INIT;
        assert_int_equal(config_merge_buf(&cfg, a, strlen(a), "a.toml", &err), 0);
        b = "[mcp_servers.x]\nurl = \"https://h.example/\"\n";
        assert_int_equal(config_merge_buf(&cfg, b, strlen(b), "b.toml", &err), 0);
        assert_int_equal(config_finish(&cfg, &err), -EINVAL);
        assert_string_equal(err.msg, "b.toml:2:7: MCP server 'x' sets both 'url' and 'command' "
                                     "(at a.toml:2:11); keep one");
        config_clear(&cfg);
}

static void test_config_finish_errors(void **state)
{
        (void) state;
        assert_string_equal(load_err("[mcp_servers.x]\nenabled = true\n"),
                            "c.toml:1:1: MCP server 'x' needs either 'command' (stdio) or 'url' "
                            "(HTTP/SSE)");
        assert_string_equal(load_err("[mcp_servers.x]\ncommand = \"c\"\ntransport = \"ws\"\n"),
                            "c.toml:3:13: unknown transport 'ws' (expected 'stdio', 'http' or "
                            "'sse')");
        assert_string_equal(load_err("[mcp_servers.x]\ncommand = \"c\"\ntransport = \"http\"\n"),
                            "c.toml:3:13: transport 'http' needs 'url', but server 'x' has "
                            "'command'");
        assert_string_equal(load_err("[mcp_servers.x]\ncommand = \"c\"\nargs = [\"${A\"]\n"),
                            "c.toml:3:9: bad placeholder in 'args' at offset 0: unterminated "
                            "'${'");
        assert_non_null(strstr(load_err("[mcp_servers.x]\ncommand = \"c\"\nargs = [\"${A:-x}\"]\n"),
                               "defaults"));
        assert_non_null(strstr(load_err("[mcp_servers.x]\ncommand = \"c\"\nargs = [\"$1\"]\n"),
                               "'$$'"));
        assert_string_equal(load_err("[mcp_servers.x]\ncommand = \"c\"\ncolor = 1\n"),
                            "c.toml:3:1: unknown key 'color' in MCP server 'x'");
        assert_string_equal(load_err("[mcp_servers.Bad]\ncommand = \"c\"\n"),
                            "c.toml:1:14: bad MCP server name: use 1-22 of [a-z0-9_-], starting "
                            "with a letter or digit");
        assert_non_null(strstr(load_err("[mcp_servers.x]\nurl = \"http://h.example/\"\n"),
                               "https://"));
        assert_non_null(strstr(load_err("[mcp_servers.x]\nurl = \"https://u:p@h.example/\"\n"),
                               "credentials in the URL"));
        assert_non_null(strstr(load_err("[mcp_servers.x]\nurl = \"https://h.example/\"\n"
                                        "pins = [\"sha256//short\"]\n"),
                               "c.toml:3:9: bad pin"));
        assert_non_null(strstr(load_err("[mcp_servers.x]\ncommand = \"c\"\npins = [\"" PIN
                                        "\"]\n"),
                               "'pins' applies only to remote servers"));
        assert_non_null(strstr(load_err("[mcp_servers.x]\nurl = \"https://h.example/\"\n"
                                        "args = [\"a\"]\n"),
                               "'args' applies only to stdio servers"));
        assert_non_null(strstr(load_err("[mcp_servers.x]\nurl = \"https://h.example/\"\n"
                                        "bearer_token_env_var = \"ghp_secret-value\"\n"),
                               "must name a secret"));
        assert_non_null(strstr(load_err("[mcp_servers.x]\ncommand = \"${X}\"\n"),
                               "cannot hold placeholders"));
        assert_string_equal(load_err("[mcp_servers.x]\nurl = \"https://h.example/\"\n"
                                     "allow_methods = [\"POST\", \"PUT\"]\n"),
                            "c.toml:3:26: 'allow_methods' takes GET, POST and DELETE");
        assert_non_null(strstr(load_err("[mcp_servers.x]\nurl = \"https://h.example/\"\n"
                                        "allow_paths = [\"mcp\"]\n"),
                               "c.toml:3:16: 'allow_paths' takes path prefixes"));
        assert_non_null(strstr(load_err("[mcp_servers.x]\ncommand = \"c\"\n"
                                        "allow_paths = [\"/mcp\"]\n"),
                               "c.toml:3:15: 'allow_methods' and 'allow_paths' apply only to "
                               "remote servers"));
        assert_string_equal(load_err("[mcp]\n"), "c.toml:1:2: unknown top-level key 'mcp'");
        assert_non_null(strstr(load_err("[network]\nallow_ports = [0]\n"), "1 to 65535"));
        assert_non_null(strstr(load_err("[network]\nallow_domains = [\"Bad_Domain\"]\n"),
                               "bad domain"));
        assert_non_null(strstr(load_err("[mcp_servers.x]\ncommand = \"c\"\nenv = { 1X = \"a\" }\n"),
                               "bad name in 'env'"));
        /* TOML syntax errors keep the parser's position. */
        assert_string_equal(load_err("[mcp_servers.x\n"),
                            "c.toml:1:15: expected ']' to close the table header");
}

static int collect(void *userdata, const char *name, size_t len)
{
        struct buf *out = userdata;

        assert_int_equal(buf_append(out, name, len), 0);
        assert_int_equal(buf_append_char(out, ','), 0);
        return 0;
}

static void test_config_scan_placeholders(void **state)
{
        struct buf out = BUF_INIT;
        const char *why = NULL;
        size_t off = 0;
        (void) state;

        assert_int_equal(names_scan_placeholders("a ${X} $Y_2z-$$ ${LONG_NAME}", collect, &out,
                                                  &why, &off),
                         0);
        assert_string_equal(out.data, "X,Y_2z,LONG_NAME,");
        buf_clear(&out);
        assert_int_equal(names_scan_placeholders("abc $", NULL, NULL, &why, &off), -EINVAL);
        assert_int_equal(off, 4);
        assert_int_equal(names_scan_placeholders("${}", NULL, NULL, &why, &off), -EINVAL);
        assert_string_equal(why, "empty '${}'");
        assert_true(names_secret_ok("_A1", 3));
        assert_false(names_secret_ok("1A", 2));
        assert_false(names_secret_ok("", 0));
}

static void test_config_load_files(void **state)
{
        char *dir = make_tmpdir();
        char a[512];
        char b[512];
        const char *paths[2] = {a, b};
        struct config cfg = CONFIG_INIT;
        struct ca_error err = {0};
        (void) state;

        (void) snprintf(a, sizeof(a), "%s/a.toml", dir);
        (void) snprintf(b, sizeof(b), "%s/b.toml", dir);
        write_file(a, "[mcp_servers.x]\ncommand = \"c\"\n");
        write_file(b, "[mcp_servers.x]\nnetwork = \"sometimes\"\n");
        assert_int_equal(config_load(&cfg, paths, 2, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "/b.toml:2:11: unknown network policy 'sometimes'"));
        config_clear(&cfg);
        (void) unlink(b);
        assert_int_equal(config_load(&cfg, paths, 2, &err), -ENOENT);
        assert_false(err.bad_input);
        config_clear(&cfg);
        rm_rf(dir);
}

/* A workspace source merged, then a user source: the result or the error message. */
static int load_two(struct config *cfg, const char *workspace, const char *user,
                    struct ca_error *err)
{
        int r = config_merge_source(cfg, workspace, strlen(workspace), "ws.toml",
                                    CONFIG_SOURCE_WORKSPACE, err);

        if (r == 0 && user)
                r = config_merge_buf(cfg, user, strlen(user), "user.toml", err);
        if (r == 0)
                r = config_finish(cfg, err);
        return r;
}

static void test_config_grants(void **state)
{
        struct config cfg = CONFIG_INIT;
        struct ca_error err = {0};
        (void) state;

        /* Named is not granted: the error is at the placeholder, with the line to add. */
        assert_int_equal(load_two(&cfg, "[mcp_servers.a]\ncommand = \"x\"\n"
                                        "env = { K = \"${KEY}\" }\n",
                                  "[secrets]\nKEY = [\"b\"]\n", &err),
                         0);
        assert_true(config_granted(&cfg, "b", "KEY"));
        assert_false(config_granted(&cfg, "a", "KEY"));
        assert_int_equal(config_check_grants(&cfg, "/root/config.toml", &err), -EINVAL);
        assert_true(err.bad_input);
        assert_non_null(strstr(err.msg, "ws.toml:3:9: MCP server 'a' names the secret 'KEY'"));
        assert_non_null(strstr(err.msg, "/root/config.toml"));
        assert_non_null(strstr(err.msg, "KEY = [\"b\", \"a\"]"));
        config_clear(&cfg);

        /* Granted by the user: fine; a disabled server needs no grant. */
        assert_int_equal(load_two(&cfg, "[mcp_servers.a]\nurl = \"https://h.example/\"\n"
                                        "bearer_token_env_var = \"TOK\"\n"
                                        "[mcp_servers.off]\ncommand = \"x\"\nargs = [\"$OTHER\"]\n"
                                        "enabled = false\n",
                                  "[secrets]\nTOK = [\"a\"]\n", &err),
                         0);
        assert_int_equal(config_check_grants(&cfg, NULL, &err), 0);
        config_clear(&cfg);
}

static void test_config_workspace_limits(void **state)
{
        struct config cfg = CONFIG_INIT;
        struct ca_error err = {0};
        (void) state;

        /* A workspace cannot grant. */
        assert_int_equal(load_two(&cfg, "[secrets]\nKEY = [\"a\"]\n", NULL, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "ws.toml:1:2: [secrets] grants secrets"));
        config_clear(&cfg);
        /* ... nor touch a user's server (shadowing), in either order of sources. */
        assert_int_equal(load_two(&cfg, "[mcp_servers.mine]\nenv = { LD_PRELOAD = \"/x\" }\n",
                                  "[mcp_servers.mine]\ncommand = \"x\"\n", &err),
                         -EINVAL);
        assert_non_null(strstr(err.msg, "ws.toml:1:1: the workspace defines MCP server 'mine'"));
        assert_non_null(strstr(err.msg, "(user.toml:1:1)"));
        config_clear(&cfg);
        assert_int_equal(config_merge_buf(&cfg, "[mcp_servers.mine]\ncommand = \"x\"\n", 32,
                                          "user.toml", &err),
                         0);
        assert_int_equal(config_merge_source(&cfg, "[mcp_servers.mine]\nargs = [\"y\"]\n", 33,
                                             "ws.toml", CONFIG_SOURCE_WORKSPACE, &err),
                         -EINVAL);
        config_clear(&cfg);
        /* ... but the user may switch a workspace's server off. */
        assert_int_equal(load_two(&cfg, "[mcp_servers.w]\ncommand = \"x\"\n",
                                  "[mcp_servers.w]\nenabled = false\n", &err),
                         0);
        assert_false(cfg.servers[0].enabled);
        assert_false(cfg.servers[0].from_user);
        config_clear(&cfg);
}

static void test_config_reserved(void **state)
{
        (void) state;

        assert_true(names_reserved_secret("AGENT_CLAUDE_CREDENTIALS"));
        assert_true(names_reserved_secret("CODING_AGENTS_X"));
        assert_false(names_reserved_secret("GITHUB_TOKEN"));
        assert_false(names_reserved_secret("AGENT"));
        assert_true(names_launcher_stub("agent-cli"));
        assert_false(names_launcher_stub("github"));
        /* Named anywhere (env, args, headers, url, bearer), enabled or not: refused. */
        assert_non_null(strstr(load_err("[mcp_servers.h]\ncommand = \"n\"\n"
                                        "env = { L = \"${AGENT_CLAUDE_CREDENTIALS}\" }\n"),
                               "c.toml:3:9: MCP server 'h' names the secret "
                               "'AGENT_CLAUDE_CREDENTIALS', which is reserved"));
        assert_non_null(strstr(load_err("[mcp_servers.h]\ncommand = \"n\"\nenabled = false\n"
                                        "args = [\"$AGENT_CODEX_AUTH\"]\n"),
                               "c.toml:4:8:"));
        assert_non_null(strstr(load_err("[mcp_servers.h]\nurl = \"https://h.example/\"\n"
                                        "bearer_token_env_var = \"AGENT_COPILOT_CONFIG\"\n"),
                               "c.toml:3:24:"));
        /* Granted: refused in [secrets] itself. */
        assert_non_null(strstr(load_err("[secrets]\nAGENT_CLAUDE_API_KEY = [\"h\"]\n"),
                               "c.toml:2:1: the secret 'AGENT_CLAUDE_API_KEY' is reserved"));
        /* The launcher's stub names are not server names. */
        assert_non_null(strstr(load_err("[mcp_servers.agent-cli]\ncommand = \"n\"\n"),
                               "is reserved for the launcher"));
        /* Grants name servers. */
        assert_non_null(strstr(load_err("[secrets]\nK = [\"Bad Name\"]\n"),
                               "c.toml:2:6: [secrets] 'K': 'Bad Name' is not an MCP server name"));
        assert_non_null(strstr(load_err("[secrets]\n1K = [\"a\"]\n"), "bad secret name"));
}

/* [model.AGENT]: the model helper's upstream, in the user's own configuration only. */
static void test_config_model(void **state)
{
        struct config cfg = CONFIG_INIT;
        struct ca_error err = {0};
        static const char user[] =
                "[model.claude]\nurl = \"https://gw.example.test:8443\"\n"
                "token_url = \"https://gw.example.test/oauth/token\"\ntrust = \"corp\"\n"
                "pins = [\"sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]\n"
                "[model.copilot]\nhelper = false\n";
        (void) state;

        assert_int_equal(config_merge_buf(&cfg, user, strlen(user), "user.toml", &err), 0);
        assert_true(cfg.models[0].set);
        assert_string_equal(cfg.models[0].url, "https://gw.example.test:8443");
        assert_string_equal(cfg.models[0].token_url, "https://gw.example.test/oauth/token");
        assert_string_equal(cfg.models[0].trust, "corp");
        assert_int_equal(cfg.models[0].pins.len, 1);
        assert_false(cfg.models[1].set);
        assert_true(cfg.models[2].helper_off);
        config_clear(&cfg);
        /* A repository never says where the login goes. */
        assert_int_equal(load_two(&cfg, "[model.claude]\nurl = \"https://evil.example\"\n", NULL,
                                  &err),
                         -EINVAL);
        assert_non_null(strstr(err.msg, "ws.toml:1:2: [model] says where the agent CLI's login"));
        config_clear(&cfg);
        /* Bad input, with its position. */
        assert_non_null(strstr(load_err("[model.claude]\nurl = \"http://plain.example\"\n"),
                               "c.toml:2:7: 'url' must be an https:// URL"));
        assert_non_null(strstr(load_err("[model.gemini]\nurl = \"https://x.example\"\n"),
                               "c.toml:1:8: [model.gemini]: not an agent"));
        assert_non_null(strstr(load_err("[model.codex]\nhelper = \"no\"\n"),
                               "c.toml:2:10: 'helper' must be true or false"));
        assert_non_null(strstr(load_err("[model.codex]\npins = [\"md5//x\"]\n"),
                               "c.toml:2:9: bad pin"));
        assert_non_null(strstr(load_err("[model.codex]\nkey = \"sk-secret\"\n"),
                               "c.toml:2:1: unknown key 'key' in [model.*]"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_config_model),
                cmocka_unit_test(test_config_load_architecture_example),
                cmocka_unit_test(test_config_merge_later_file_wins),
                cmocka_unit_test(test_config_finish_errors),
                cmocka_unit_test(test_config_scan_placeholders),
                cmocka_unit_test(test_config_load_files),
                cmocka_unit_test(test_config_grants),
                cmocka_unit_test(test_config_workspace_limits),
                cmocka_unit_test(test_config_reserved),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
