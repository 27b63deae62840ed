/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/trust: the curated trust store under trust-overrides/. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "config.h"
#include "error.h"
#include "json.h"
#include "paths.h"
#include "testcert.h"
#include "trust.h"

#define PIN_A "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define PIN_B "sha256//BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA="

static void write_in(const char *dir, const char *name, const char *text)
{
        char *p = paths_join(dir, name);

        write_file(p, text);
        free(p);
}

static mode_t mode_of(const char *dir, const char *name)
{
        char *p = paths_join(dir, name);
        struct stat st;

        assert_int_equal(lstat(p, &st), 0);
        free(p);
        return st.st_mode & 07777;
}

static void test_trust_store(void **state)
{
        char *root = make_tmpdir();
        char *tdir = paths_join(root, "trust-overrides");
        struct ca_error err = {0};
        struct tls_cert_info *certs = NULL;
        size_t n = 0;
        json_t *list = NULL;
        const char *pins[] = {PIN_B, PIN_A, PIN_B};
        (void) state;

        /* Nothing yet: an empty list, and the directory is not created by reading. */
        assert_int_equal(trust_list(root, &list, &err), 0);
        assert_int_equal(json_array_size(list), 0);
        json_decref(list);
        assert_int_equal(access(tdir, F_OK), -1);

        write_in(root, "ca.pem", "# comment\n" TEST_CERT_PEM);
        write_in(root, "key.pem",
                 TEST_CERT_PEM "-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----\n");
        {
                char *ca = paths_join(root, "ca.pem");
                char *key = paths_join(root, "key.pem");

                assert_int_equal(trust_add_bundle(root, "corp", ca, &certs, &n, &err), 0);
                assert_int_equal(n, 1);
                assert_string_equal(certs[0].pin, TEST_CERT_PIN);
                free(certs);
                assert_int_equal(trust_add_bundle(root, "leak", key, NULL, NULL, &err), -EINVAL);
                assert_true(err.bad_input);
                assert_non_null(strstr(err.msg, "private key"));
                err = (struct ca_error) {0};
                assert_int_equal(trust_add_bundle(root, "system", ca, NULL, NULL, &err), -EINVAL);
                err = (struct ca_error) {0};
                assert_int_equal(trust_add_bundle(root, "../x", ca, NULL, NULL, &err), -EINVAL);
                err = (struct ca_error) {0};
                /* A bundle name cannot take pins, and the other way round. */
                assert_int_equal(trust_add_pins(root, "corp", pins, 1, &err), -EEXIST);
                err = (struct ca_error) {0};
                assert_int_equal(trust_add_pins(root, "api", pins, 3, &err), 0);
                assert_int_equal(trust_add_pins(root, "api", pins + 1, 1, &err), 0);
                assert_int_equal(trust_add_bundle(root, "api", ca, NULL, NULL, &err), -EEXIST);
                err = (struct ca_error) {0};
                {
                        const char *bad[] = {"sha256//short"};
                        assert_int_equal(trust_add_pins(root, "api", bad, 1, &err), -EINVAL);
                        err = (struct ca_error) {0};
                }
                free(ca);
                free(key);
        }
        assert_int_equal(mode_of(root, "trust-overrides"), 0700);
        assert_int_equal(mode_of(tdir, "corp.pem"), 0600);
        assert_int_equal(mode_of(tdir, "api.pins"), 0600);
        {
                char *leak = paths_join(tdir, "leak.pem"); /* refused: nothing was written */

                assert_int_equal(access(leak, F_OK), -1);
                free(leak);
        }

        /* The list: sorted by name, pins sorted and unique, the bundle canonical. */
        assert_int_equal(trust_list(root, &list, &err), 0);
        assert_int_equal(json_array_size(list), 2);
        {
                json_t *api = json_array_get(list, 0);
                json_t *corp = json_array_get(list, 1);

                assert_string_equal(json_string_value(json_object_get(api, "name")), "api");
                assert_string_equal(json_string_value(json_object_get(api, "kind")), "pins");
                assert_int_equal(json_array_size(json_object_get(api, "pins")), 2);
                assert_string_equal(
                        json_string_value(json_array_get(json_object_get(api, "pins"), 0)), PIN_A);
                assert_string_equal(json_string_value(json_object_get(corp, "kind")), "bundle");
                assert_string_equal(
                        json_string_value(json_object_get(
                                json_array_get(json_object_get(corp, "certificates"), 0),
                                "sha256")),
                        TEST_CERT_SHA256);
        }
        json_decref(list);

        assert_int_equal(trust_remove(root, "corp", &err), 0);
        assert_int_equal(trust_remove(root, "corp", &err), -ENOENT);
        err = (struct ca_error) {0};
        assert_int_equal(trust_remove(root, "api", &err), 0);
        assert_int_equal(trust_list(root, &list, &err), 0);
        assert_int_equal(json_array_size(list), 0);
        json_decref(list);

        free(tdir);
        rm_rf(root);
}

static void test_trust_check_config(void **state)
{
        static const char toml[] = "[mcp_servers.a]\nurl = \"https://a.test/\"\n"
                                   "trust = \"corp\"\n";
        char *root = make_tmpdir();
        struct config cfg = CONFIG_INIT;
        struct ca_error err = {0};
        (void) state;

        assert_int_equal(config_merge_buf(&cfg, toml, strlen(toml), "c.toml", &err), 0);
        assert_int_equal(config_finish(&cfg, &err), 0);
        /* No store at all, then a store without it: refused at the trust key. */
        assert_int_equal(trust_check_config(root, &cfg, &err), -EINVAL);
        assert_true(err.bad_input);
        assert_int_equal(strncmp(err.msg, "c.toml:3:9: server 'a': trust 'corp'", 36), 0);
        {
                char *p = paths_join(root, "ca.pem");
                const char *pins[] = {PIN_A};

                err = (struct ca_error) {0};
                assert_int_equal(trust_add_pins(root, "corp", pins, 1, &err), 0);
                assert_int_equal(trust_check_config(root, &cfg, &err), -EINVAL);
                assert_int_equal(trust_remove(root, "corp", &err), 0);
                write_file(p, TEST_CERT_PEM);
                assert_int_equal(trust_add_bundle(root, "corp", p, NULL, NULL, &err), 0);
                assert_int_equal(trust_check_config(root, &cfg, &err), 0);
                free(p);
        }
        config_clear(&cfg);
        rm_rf(root);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_trust_store),
                cmocka_unit_test(test_trust_check_config),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
