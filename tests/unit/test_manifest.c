/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/manifest: one validation of the session manifest, typed servers. */
#include "testutil.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "json.h"
#include "manifest.h"

/* A manifest as render writes one: a stdio server with a secret, a remote one with a helper. */
static const char good[] =
        "{\"version\": 1, \"session\": \"s-0123\", \"network\": \"proxy\","
        " \"agents\": [\"claude\", \"codex\"],"
        " \"servers\": ["
        "  {\"name\": \"fs\", \"user\": \"mcp_fs\", \"uid\": 61000, \"transport\": \"stdio\","
        "   \"agents\": [\"claude\"], \"secrets\": [\"FS_TOKEN\"], \"command\": \"npx\","
        "   \"args\": [\"-y\", \"server\", \"${FS_TOKEN}\"], \"env\": {\"A\": \"1\"},"
        "   \"network\": \"none\", \"stub\": \"mcp-stub-fs\"},"
        "  {\"name\": \"gh\", \"user\": \"mcp_gh\", \"uid\": 57000, \"transport\": \"http\","
        "   \"agents\": [\"claude\", \"codex\"], \"secrets\": [\"GH\"],"
        "   \"url\": \"https://api.example.test/mcp\", \"bearer_token_env_var\": \"GH\","
        "   \"headers\": {}, \"pins\": [], \"trust\": \"system\", \"allow_methods\": [\"POST\"],"
        "   \"helper\": {\"listen\": \"127.0.0.1:52100\", \"port\": 52100,"
        "                \"local_path\": \"/mcp\", \"origin\": \"https://api.example.test\","
        "                \"local_token\": {\"env\": \"CODING_AGENTS_TOKEN_52100\"}}}"
        " ]}";

static json_t *good_json(void)
{
        json_t *j = json_loads(good, 0, NULL);

        assert_non_null(j);
        return j;
}

static void test_manifest_typed_servers(void **state)
{
        struct manifest m = MANIFEST_INIT;
        struct ca_error err = {0};
        const struct manifest_server *fs, *gh;
        (void) state;

        assert_int_equal(manifest_parse(good, strlen(good), "m.json", &m, &err), 0);
        assert_string_equal(m.session, "s-0123");
        assert_false(m.network_none);
        assert_int_equal(m.agents, 3u);
        assert_int_equal(m.nservers, 2);
        fs = manifest_find(&m, "fs");
        gh = manifest_find(&m, "gh");
        assert_non_null(fs);
        assert_non_null(gh);
        assert_null(manifest_find(&m, "nope"));
        assert_int_equal(fs->transport, MANIFEST_STDIO);
        assert_int_equal(fs->uid, 61000);
        assert_true(fs->network_none);
        assert_string_equal(fs->command, "npx");
        assert_int_equal(fs->args.len, 3);
        assert_string_equal(fs->args.items[2], "${FS_TOKEN}");
        assert_int_equal(fs->nenv, 1);
        assert_string_equal(fs->env[0].name, "A");
        assert_int_equal(fs->agents, 1u);
        assert_int_equal(gh->transport, MANIFEST_HTTP);
        assert_int_equal(gh->port, 52100);
        assert_string_equal(gh->listen, "127.0.0.1:52100");
        assert_string_equal(gh->token_env, "CODING_AGENTS_TOKEN_52100");
        assert_string_equal(gh->bearer, "GH");
        assert_int_equal(gh->allow_methods.len, 1);
        assert_string_equal(manifest_transport_name(gh->transport), "http");
        manifest_clear(&m);
        assert_null(m.json);
        assert_int_equal(m.nservers, 0);
}

/* Each mutation of the good manifest is refused, with the reason in the message. */
static void test_manifest_refusals(void **state)
{
        static const struct {
                const char *path; /* "servers.N.key", "servers.N.helper.key" or "key" */
                const char *json; /* the new value, NULL: removed */
                const char *want;
        } cases[] = {
                {"version", "2", "version 1"},
                {"session", "\"../x\"", "session id"},
                {"network", "\"host\"", "network 'host'"},
                {"servers", "{}", "no server list"},
                {"servers.0.name", "\"a/b\"", "bad name"},
                {"servers.0.name", "\"gh\"", "share"},
                {"servers.0.uid", "999", "no proper uid"},
                {"servers.0.uid", "57001", "stubs' range"},
                {"servers.0.transport", "\"ws\"", "transport 'ws'"},
                {"servers.0.command", NULL, "lacks 'command'"},
                {"servers.0.command", "\"\"", "empty command"},
                {"servers.0.args", "[1]", "'args' item 0"},
                {"servers.0.env", "{\"BAD-NAME\": \"x\"}", "environment name"},
                {"servers.0.network", "\"bridge\"", "network 'bridge'"},
                {"servers.0.secrets", "[\"9lives\"]", "'secrets' item 0"},
                {"servers.0.agents", "[\"vim\"]", "'agents' item 0"},
                {"servers.1.url", "\"http://api.example.test/\"", "not https"},
                {"servers.1.uid", "61001", "helpers' range"},
                {"servers.1.bearer_token_env_var", "\"a b\"", "not a secret name"},
                {"servers.1.trust", "\"../etc\"", "trust '../etc'"},
                {"servers.1.pins", "[\"md5//x\"]", "'pins' item 0"},
                {"servers.1.allow_methods", "[\"PUT\"]", "'allow_methods' item 0"},
                {"servers.1.allow_paths", "[\"/a?b\"]", "'allow_paths' item 0"},
                {"servers.1.helper", NULL, "no helper with a port"},
                {"servers.1.helper.port", "70000", "no helper with a port"},
                {"servers.1.helper.listen", "\"0.0.0.0:52100\"", "listens on"},
                {"servers.1.helper.local_path", "\"mcp\"", "token or path"},
                {"servers.1.helper.local_token", "{}", "lacks 'env'"},
                {"servers.1.name", "\"fs\"", "share"},
                /* The model member: only on the model helper, with a known vendor. */
                {"servers.1.model", "{\"vendor\": \"anthropic\"}", "only 'model-api'"},
                {"servers.1.model", "{\"vendor\": \"gemini\"}", "without a known vendor"},
                {"servers.1.model", "\"anthropic\"", "without a known vendor"},
        };
        (void) state;

        for (size_t i = 0; i < CA_ELEMENTSOF(cases); i++) {
                json_t *j = good_json(), *parent = j, *v = NULL;
                char path[128], *key = path, *dot;
                struct manifest m = MANIFEST_INIT;
                struct ca_error err = {0};

                (void) snprintf(path, sizeof(path), "%s", cases[i].path);
                while ((dot = strchr(key, '.'))) {
                        *dot = '\0';
                        parent = json_is_array(parent)
                                         ? json_array_get(parent, (size_t) (key[0] - '0'))
                                         : json_object_get(parent, key);
                        assert_non_null(parent);
                        key = dot + 1;
                }
                if (cases[i].json) {
                        v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
                        assert_non_null(v);
                        assert_int_equal(json_object_set_new(parent, key, v), 0);
                } else {
                        assert_int_equal(json_object_del(parent, key), 0);
                }
                if (manifest_from_json(j, &m, &err) != -EINVAL || !strstr(err.msg, cases[i].want))
                        fail_msg("%s = %s: got '%s', wanted '%s'", cases[i].path,
                                 cases[i].json ? cases[i].json : "(removed)", err.msg,
                                 cases[i].want);
                assert_null(m.json);
                assert_null(m.servers);
                json_decref(j);
        }
}

static void test_manifest_load(void **state)
{
        char *dir = make_tmpdir();
        char path[256], link[256];
        struct manifest m = MANIFEST_INIT;
        struct ca_error err = {0};
        (void) state;

        (void) snprintf(path, sizeof(path), "%s/manifest.json", dir);
        (void) snprintf(link, sizeof(link), "%s/link.json", dir);
        write_file(path, good);
        assert_int_equal(manifest_load(path, &m, &err), 0);
        assert_int_equal(m.nservers, 2);
        manifest_clear(&m);
        /* Not through a link, not a directory, not garbage. */
        assert_int_equal(symlink(path, link), 0);
        assert_true(manifest_load(link, &m, &err) < 0);
        assert_int_equal(manifest_load(dir, &m, &err), -EINVAL);
        write_file(path, "{\"version\": 1");
        assert_int_equal(manifest_load(path, &m, &err), -EINVAL);
        assert_non_null(strstr(err.msg, path));
        assert_null(m.json);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_manifest_typed_servers),
                cmocka_unit_test(test_manifest_refusals),
                cmocka_unit_test(test_manifest_load),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
