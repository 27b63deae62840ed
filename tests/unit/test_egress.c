/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/egress: squid.conf / dnsmasq.conf / error pages from the config. */
#include "testutil.h"

#include <errno.h>
#include <sys/stat.h>

#include "config.h"
#include "egress.h"
#include "error.h"
#include "paths.h"

static const char *const resolvers[] = {"192.0.2.53", "2001:db8::53"};

static void load(struct config *cfg, const char *toml)
{
        struct ca_error err = {0};

        assert_int_equal(config_merge_buf(cfg, toml, strlen(toml), "t.toml", &err), 0);
        assert_int_equal(config_finish(cfg, &err), 0);
}

static const struct buf *file_of(const struct egress_result *r, const char *name)
{
        for (size_t i = 0; i < r->nfiles; i++) {
                if (strcmp(r->files[i].name, name) == 0)
                        return &r->files[i].data;
        }
        fail_msg("no file %s", name);
        return NULL;
}

static char *text_of(const struct egress_result *r, const char *name)
{
        const struct buf *b = file_of(r, name);

        return strndup(b->data, b->len);
}

static void render(const char *toml, struct egress_result *out)
{
        struct config cfg = CONFIG_INIT;
        struct egress_opts o = {.root = "/etc/ca-proxy", .resolvers = resolvers,
                                .nresolvers = 2};
        struct ca_error err = {0};

        load(&cfg, toml);
        assert_int_equal(egress_render(&cfg, &o, out, &err), 0);
        config_clear(&cfg);
}

/* A remote server's explicit port joins the CONNECT ports (its helper tunnels to it); the
 * default port of its scheme adds nothing new, and duplicates appear once. */
static void test_remote_server_ports(void **state)
{
        struct egress_result r;
        char *squid;
        json_t *ports;
        (void) state;

        render("[mcp_servers.a]\nurl = \"https://a.example.test:8443/mcp\"\n"
               "[mcp_servers.b]\nurl = \"https://b.example.test/mcp\"\n"
               "[mcp_servers.c]\nurl = \"https://c.example.test:8443/mcp\"\n"
               "[mcp_servers.d]\nurl = \"https://d.example.test:9443/mcp\"\nenabled = false\n",
               &r);
        squid = text_of(&r, "squid.conf");
        assert_non_null(strstr(squid, "acl ca_connect_ports port 443 8443\n"));
        assert_non_null(strstr(squid, "acl ca_http_ports port 80 443 8443\n"));
        assert_null(strstr(squid, "9443"));
        ports = json_object_get(r.summary, "connect_ports");
        assert_int_equal(json_array_size(ports), 2);
        assert_int_equal(json_integer_value(json_array_get(ports, 1)), 8443);
        free(squid);
        egress_result_clear(&r);

        /* With allow_ports set, the servers' ports are added to it. */
        render("[network]\nallow_ports = [443, 80]\n"
               "[mcp_servers.a]\nurl = \"https://a.example.test:8443/mcp\"\n", &r);
        squid = text_of(&r, "squid.conf");
        assert_non_null(strstr(squid, "acl ca_connect_ports port 443 80 8443\n"));
        assert_non_null(strstr(squid, "acl ca_http_ports port 80 443 8443\n"));
        free(squid);
        egress_result_clear(&r);
}

/* A session's agent CLI reaches its own service: its domains join [network]'s. */
static void test_agent_domains(void **state)
{
        struct config cfg = CONFIG_INIT;
        const char *const *claude = egress_agent_domains("claude");
        struct egress_opts o = {.root = "/etc/ca-proxy", .resolvers = resolvers, .nresolvers = 2};
        struct egress_result r;
        struct ca_error err = {0};
        char *dnsmasq;
        size_t n = 0;
        (void) state;

        assert_non_null(claude);
        assert_string_equal(claude[0], "api.anthropic.com");
        assert_non_null(egress_agent_domains("codex"));
        assert_non_null(egress_agent_domains("copilot"));
        assert_null(egress_agent_domains("nosuch"));
        assert_null(egress_agent_domains(NULL));
        while (claude[n])
                n++;
        o.extra_domains = claude;
        o.nextra_domains = n;
        load(&cfg, "[network]\nallow_domains = [\"example.org\"]\n");
        assert_int_equal(egress_render(&cfg, &o, &r, &err), 0);
        dnsmasq = text_of(&r, "dnsmasq.conf");
        assert_non_null(strstr(dnsmasq, "/api.anthropic.com/"));
        assert_non_null(strstr(dnsmasq, "/example.org/"));
        free(dnsmasq);
        egress_result_clear(&r);
        config_clear(&cfg);
}

/* The model helper's vendor: the helpers' alone (squid basic auth), unless the user allowed it
 * for the agent too; resolved either way. */
static void test_helper_domains(void **state)
{
        struct config cfg = CONFIG_INIT;
        const char *const helper[] = {"api.anthropic.com", "model.example.test"};
        const uint16_t ports[] = {8443};
        struct egress_opts o = {.root = "/etc/ca-proxy",
                                .resolvers = resolvers,
                                .nresolvers = 2,
                                .extra_ports = ports,
                                .nextra_ports = 1,
                                .helper_domains = helper,
                                .nhelper_domains = 2,
                                .helper_passwd = "helper:$6$salt$hash"};
        struct egress_result r;
        struct ca_error err = {0};
        char *squid, *dnsmasq, *passwd, *summary;
        (void) state;

        load(&cfg, "[network]\nallow_domains = [\"model.example.test\"]\n");
        assert_int_equal(egress_render(&cfg, &o, &r, &err), 0);
        squid = text_of(&r, "squid.conf");
        dnsmasq = text_of(&r, "dnsmasq.conf");
        passwd = text_of(&r, "helpers.passwd");
        summary = text_of(&r, "proxy.json");
        assert_non_null(strstr(squid, "auth_param basic program " EGRESS_NCSA_AUTH
                                      " /etc/ca-proxy/helpers.passwd\n"));
        assert_non_null(strstr(squid, "acl ca_helper_only dstdomain -n api.anthropic.com\n"
                                      "http_access allow ca_helper_only ca_helpers\n"));
        /* Before the domain denial, after the fixed denials. */
        assert_true(strstr(squid, "allow ca_helper_only") < strstr(squid, "deny ca_rule_domain"));
        assert_true(strstr(squid, "allow ca_helper_only") > strstr(squid, "deny ca_rule_bad_name"));
        assert_non_null(strstr(squid, "acl ca_connect_ports port 443 8443\n"));
        assert_non_null(strstr(dnsmasq, "/api.anthropic.com/"));
        assert_string_equal(passwd, "helper:$6$salt$hash\n");
        assert_non_null(strstr(summary, "\"helper_domains\":[\"api.anthropic.com\"]"));
        free(squid);
        free(dnsmasq);
        free(passwd);
        free(summary);
        egress_result_clear(&r);
        /* A passwd line that is not one: refused. */
        o.helper_passwd = "helper:x\nroot:y";
        assert_true(egress_render(&cfg, &o, &r, &err) < 0);
        config_clear(&cfg);
}

static void test_squid_conf(void **state)
{
        struct egress_result r;
        char *squid, *deny_meta, *deny_private, *allow, *deny_all, *connect;
        (void) state;

        render("[network]\n"
               "allow_domains = [\"api.example.com\", \".example.com\", \"x.example.org\"]\n"
               "allow_ports = [443, 8443]\n"
               "registries = [\"npm\"]\n"
               "max_request_bytes = 1024\n"
               "[mcp_servers.gh]\nurl = \"https://mcp.remote.test/mcp\"\n"
               "[mcp_servers.off]\nurl = \"https://disabled.test/mcp\"\nenabled = false\n"
               "[mcp_servers.local]\ncommand = \"npx\"\n",
               &r);
        squid = text_of(&r, "squid.conf");
        /* Deny rules on the resolved address come before the only allow. */
        deny_meta = strstr(squid, "http_access deny ca_metadata\n");
        deny_private = strstr(squid, "http_access deny ca_private_address\n");
        allow = strstr(squid, "http_access allow ca_allowed\n");
        deny_all = strstr(squid, "http_access deny ca_rule_domain\n");
        connect = strstr(squid, "http_access deny ca_connect !ca_connect_ports ca_rule_connect_port");
        assert_non_null(deny_meta);
        assert_non_null(deny_private);
        assert_non_null(allow);
        assert_non_null(deny_all);
        assert_non_null(connect);
        assert_true(connect < deny_meta && deny_meta < deny_private && deny_private < allow &&
                    allow < deny_all);
        assert_null(strstr(allow + 1, "http_access allow"));
        assert_non_null(strstr(squid, "acl ca_metadata dst 169.254.169.254/32 100.100.100.200/32 "
                                      "fd00:ec2::254/128"));
        assert_non_null(strstr(squid, "fc00::/7"));
        assert_non_null(strstr(squid, "acl ca_embedded_ipv4 dst 64:ff9b::/96"));
        /* Squid stores IPv4 as mapped IPv6: ::ffff:0:0/96 would deny every IPv4 address. */
        assert_null(strstr(squid, "::ffff:0:0/96"));
        /* ".example.com" covers api.example.com; registries and enabled remote servers join. */
        assert_non_null(strstr(squid, "acl ca_allowed dstdomain -n .example.com "
                                      "mcp.remote.test registry.npmjs.org x.example.org\n"));
        assert_null(strstr(squid, "disabled.test"));
        assert_non_null(strstr(squid, "acl ca_connect_ports port 443 8443\n"));
        assert_non_null(strstr(squid, "acl ca_http_ports port 80 443 8443\n"));
        assert_non_null(strstr(squid, "request_body_max_size 1024 bytes\n"));
        assert_non_null(strstr(squid, "reply_body_max_size 104857600 bytes\n"));
        assert_non_null(strstr(squid, "via off\n"));
        assert_non_null(strstr(squid, "forwarded_for delete\n"));
        assert_non_null(strstr(squid, "cache deny all\n"));
        assert_non_null(strstr(squid, "hosts_file none\n"));
        assert_non_null(strstr(squid, "dns_nameservers 127.0.0.1\n"));
        assert_non_null(strstr(squid, "access_log stdio:/etc/ca-proxy/run/access.log ca1\n"));
        assert_non_null(strstr(squid, "error_directory /etc/ca-proxy/errors\n"));
        free(squid);
        egress_result_clear(&r);
}

static void test_dnsmasq_conf(void **state)
{
        struct egress_result r;
        char *d;
        (void) state;

        render("[network]\nallow_domains = [\"exact.test\", \".wild.test\"]\n", &r);
        d = text_of(&r, "dnsmasq.conf");
        assert_non_null(strstr(d, "no-resolv\n"));
        assert_non_null(strstr(d, "no-hosts\n"));
        assert_non_null(strstr(d, "listen-address=127.0.0.1\n"));
        assert_non_null(strstr(d, "address=/#/\n"));
        assert_non_null(strstr(d, "filter-rr=TXT,ANY,"));
        assert_non_null(strstr(d, "log-queries=extra\n"));
        assert_non_null(strstr(d, "server=/exact.test/192.0.2.53\nserver=/exact.test/2001:db8::53\n"
                                  "address=/*.exact.test/\n"));
        assert_non_null(strstr(d, "server=/wild.test/192.0.2.53\n"));
        assert_null(strstr(d, "address=/*.wild.test/"));
        free(d);
        egress_result_clear(&r);
}

static void test_pages_and_summary(void **state)
{
        struct egress_result r;
        char *p, *s;
        size_t n;
        const struct egress_rule *rules = egress_rules(&n);
        (void) state;

        render("[network]\nmax_reply_bytes = 2_097_152\n", &r);
        p = text_of(&r, "errors/ERR_TOO_BIG");
        assert_non_null(strstr(p, "Request bodies are limited to 10 MB (10485760 bytes)"));
        assert_non_null(strstr(p, "Responses are limited to 2 MB (2097152 bytes)"));
        free(p);
        for (size_t i = 0; i < n; i++) {
                char name[96], want[96];
                const struct egress_rule *back;
                size_t k;

                (void) snprintf(want, sizeof(want), "(rule: %s)", rules[i].name);
                k = (size_t) snprintf(name, sizeof(name), "errors/ERR_CA_");
                for (const char *c = rules[i].name; *c && k + 1 < sizeof(name); c++)
                        name[k++] = *c == '-' ? '_' : (char) (*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
                name[k] = '\0';
                p = text_of(&r, name);
                assert_non_null(strstr(p, want));
                free(p);
                back = egress_rule_for_error(name + strlen("errors/"));
                assert_ptr_equal(back, &rules[i]);
        }
        assert_null(egress_rule_for_error("ERR_ACCESS_DENIED"));
        (void) file_of(&r, "errors/ERR_ACCESS_DENIED");
        s = text_of(&r, "proxy.json");
        assert_non_null(strstr(s, "\"max_reply_bytes\":2097152"));
        assert_non_null(strstr(s, "\"connect_ports\":[443]"));
        assert_non_null(strstr(s, "\"root\":\"/etc/ca-proxy\""));
        free(s);
        egress_result_clear(&r);
}

static void test_bad_options(void **state)
{
        struct config cfg = CONFIG_INIT;
        struct egress_result r;
        struct ca_error err = {0};
        const char *bad[] = {"10.0.0.1; rm", NULL};
        struct egress_opts o = {.root = "/x", .resolvers = bad, .nresolvers = 1};
        (void) state;

        load(&cfg, "");
        assert_int_equal(egress_render(&cfg, &o, &r, &err), -EINVAL);
        assert_true(err.bad_input);
        assert_non_null(strstr(err.msg, "bad resolver"));
        o.resolvers = resolvers;
        o.nresolvers = 0;
        assert_int_equal(egress_render(&cfg, &o, &r, &err), -EINVAL);
        o.nresolvers = 1;
        o.root = "relative";
        assert_int_equal(egress_render(&cfg, &o, &r, &err), -EINVAL);
        o.root = "/with space";
        assert_int_equal(egress_render(&cfg, &o, &r, &err), -EINVAL);
        config_clear(&cfg);
}

static void test_write(void **state)
{
        char *dir = make_tmpdir();
        char *out = paths_join(dir, "proxy");
        char *conf = paths_join(out, "squid.conf");
        char *page = paths_join(out, "errors/ERR_CA_METADATA");
        struct egress_result r;
        struct ca_error err = {0};
        struct stat st;
        (void) state;

        render("", &r);
        assert_int_equal(egress_write(&r, out, &err), 0);
        assert_int_equal(stat(conf, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0644);
        assert_int_equal(stat(page, &st), 0);
        assert_int_equal(stat(out, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0755);
        /* Never over an existing, non-empty directory. */
        assert_int_equal(egress_write(&r, out, &err), -EEXIST);
        egress_result_clear(&r);
        free(conf);
        free(page);
        free(out);
        rm_rf(dir);
}

static void test_config_network_keys(void **state)
{
        struct config cfg = CONFIG_INIT;
        struct ca_error err = {0};
        const char *bad = "[network]\nregistries = [\"npm\", \"cpan\"]\n";
        const char *big = "[network]\nmax_reply_bytes = 0\n";
        (void) state;

        assert_int_equal(config_merge_buf(&cfg, bad, strlen(bad), "b.toml", &err), -EINVAL);
        assert_string_equal(err.msg, "b.toml:2:22: unknown registry 'cpan' (known: crates, "
                                     "debian, go, maven, npm, pypi, rubygems)");
        config_clear(&cfg);
        assert_int_equal(config_merge_buf(&cfg, big, strlen(big), "c.toml", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "c.toml:2:19: 'max_reply_bytes' must be an integer"));
        config_clear(&cfg);
        load(&cfg, "");
        assert_int_equal(config_max_request(&cfg), 10 << 20);
        assert_int_equal(config_max_reply(&cfg), 100 << 20);
        config_clear(&cfg);
        assert_non_null(config_registry_domains("pypi"));
        assert_null(config_registry_domains("PyPI"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_helper_domains),
                cmocka_unit_test(test_squid_conf),
                cmocka_unit_test(test_remote_server_ports),
                cmocka_unit_test(test_agent_domains),
                cmocka_unit_test(test_dnsmasq_conf),
                cmocka_unit_test(test_pages_and_summary),
                cmocka_unit_test(test_bad_options),
                cmocka_unit_test(test_write),
                cmocka_unit_test(test_config_network_keys),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
