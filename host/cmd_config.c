/* SPDX-License-Identifier: MIT */
/* coding-agents config check|paths: load, merge and validate config.toml files. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "cli.h"
#include "config.h"
#include "error.h"
#include "json.h"
#include "paths.h"
#include "trust.h"

static const char usage[] =
        "usage: coding-agents config check [--config FILE]... [--workspace DIR] [--json]\n"
        "       coding-agents config paths\n"
        "\n"
        "  check           load, merge and validate the configuration, then summarise it.\n"
        "                  Without --config the sources are, lowest priority first:\n"
        "                  <workspace>/config.toml, <config root>/config.toml (missing\n"
        "                  files are skipped). Errors read FILE:LINE:COL and exit 2.\n"
        "    -c, --config FILE  use FILE (repeatable, merged in order) instead\n"
        "    -w, --workspace DIR  the repository (default: the current directory)\n"
        "        --json         print the merged model as JSON\n"
        "  paths           print the config root and the event log path\n"
        "  -h, --help      show this help\n"
        "\n"
        "Secrets never appear in config files: write ${NAME} and store NAME in the broker.\n";

#define MAX_SOURCES 64

static json_t *server_json(const struct config_server *s)
{
        json_t *o = json_pack("{s:s, s:s, s:b, s:o}", "name", s->name, "transport",
                              config_transport_name(s->transport), "enabled", s->enabled,
                              "secrets", config_strv_json(&s->secrets));

        if (!o)
                return NULL;
        if (s->transport == CONFIG_TRANSPORT_STDIO) {
                if (json_object_set_new(o, "command", json_string(s->command)) < 0 ||
                    json_object_set_new(o, "args", config_strv_json(&s->args)) < 0 ||
                    json_object_set_new(o, "env", config_kv_json(s->env, s->nenv)) < 0 ||
                    json_object_set_new(o, "network",
                                        json_string(config_network_name(s->network))) < 0)
                        return json_decref(o), NULL;
        } else {
                if (json_object_set_new(o, "url", json_string(s->url)) < 0 ||
                    json_object_set_new(o, "headers", config_kv_json(s->headers, s->nheaders)) < 0 ||
                    json_object_set_new(o, "pins", config_strv_json(&s->pins)) < 0 ||
                    json_object_set_new(o, "trust", json_string(s->trust)) < 0 ||
                    json_object_set_new(o, "allow_methods",
                                        config_strv_json(&s->allow_methods)) < 0 ||
                    json_object_set_new(o, "allow_paths", config_strv_json(&s->allow_paths)) < 0)
                        return json_decref(o), NULL;
                if (s->bearer_token_env_var &&
                    json_object_set_new(o, "bearer_token_env_var",
                                        json_string(s->bearer_token_env_var)) < 0)
                        return json_decref(o), NULL;
        }
        return o;
}

static json_t *config_json(const struct config *cfg, const char *const *sources, size_t n)
{
        json_t *servers = json_array();
        json_t *ports = json_array();
        json_t *files = json_array();
        json_t *o;

        for (size_t i = 0; servers && i < cfg->nservers; i++)
                (void) json_array_append_new(servers, server_json(&cfg->servers[i]));
        for (size_t i = 0; ports && i < cfg->nallow_ports; i++)
                (void) json_array_append_new(ports, json_integer(cfg->allow_ports[i]));
        for (size_t i = 0; files && i < n; i++)
                (void) json_array_append_new(files, json_string(sources[i]));
        o = json_pack("{s:o, s:o, s:{s:o, s:o, s:o, s:I, s:I}}", "sources", files, "mcp_servers",
                      servers, "network", "allow_domains", config_strv_json(&cfg->allow_domains),
                      "allow_ports", ports, "registries", config_strv_json(&cfg->registries),
                      "max_request_bytes", (json_int_t) config_max_request(cfg),
                      "max_reply_bytes", (json_int_t) config_max_reply(cfg));
        return o;
}

static void print_human(const struct config *cfg, const char *const *sources, size_t n)
{
        (void) printf("sources:");
        for (size_t i = 0; i < n; i++)
                (void) printf(" %s", sources[i]);
        (void) printf("%s\nMCP servers: %zu\n", n ? "" : " (none found)", cfg->nservers);
        for (size_t i = 0; i < cfg->nservers; i++) {
                const struct config_server *s = &cfg->servers[i];

                (void) printf("  %-22s %-5s ", s->name, config_transport_name(s->transport));
                if (s->transport == CONFIG_TRANSPORT_STDIO) {
                        (void) printf("%s", s->command);
                        for (size_t j = 0; j < s->args.len; j++)
                                (void) printf(" %s", s->args.items[j]);
                        (void) printf("  [network %s]", config_network_name(s->network));
                } else {
                        (void) printf("%s  [trust %s, %zu pin%s]", s->url, s->trust,
                                      s->pins.len, s->pins.len == 1 ? "" : "s");
                }
                if (!s->enabled)
                        (void) printf("  (disabled)");
                (void) printf("\n");
                if (s->secrets.len) {
                        (void) printf("  %-22s secrets:", "");
                        for (size_t j = 0; j < s->secrets.len; j++)
                                (void) printf(" %s", s->secrets.items[j]);
                        (void) printf("\n");
                }
        }
        (void) printf("network: allow_domains:");
        for (size_t i = 0; i < cfg->allow_domains.len; i++)
                (void) printf(" %s", cfg->allow_domains.items[i]);
        (void) printf("%s; allow_ports:", cfg->allow_domains.len ? "" : " (none)");
        for (size_t i = 0; i < cfg->nallow_ports; i++)
                (void) printf(" %u", cfg->allow_ports[i]);
        (void) printf("%s; registries:", cfg->nallow_ports ? "" : " 443 (default)");
        for (size_t i = 0; i < cfg->registries.len; i++)
                (void) printf(" %s", cfg->registries.items[i]);
        (void) printf("%s\n", cfg->registries.len ? "" : " (none)");
        (void) printf("network: max_request_bytes: %" PRIu64 "; max_reply_bytes: %" PRIu64 "\n",
                      config_max_request(cfg), config_max_reply(cfg));
}

static int config_check(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"config", required_argument, NULL, 'c'},
                {"workspace", required_argument, NULL, 'w'},
                {"json", no_argument, NULL, 'j'},
                {0},
        };
        _cleanup_config_ struct config cfg = CONFIG_INIT;
        const char *sources[MAX_SOURCES];
        _cleanup_(cli_sources_free) char *owned[2] = {NULL, NULL};
        const char *workspace = ".";
        struct ca_error err = {0};
        size_t n = 0;
        bool json = false;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "hc:w:", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 'c':
                        if (n == MAX_SOURCES)
                                return cli_usage_error(ctx, "more than %d --config files",
                                                       MAX_SOURCES);
                        sources[n++] = optarg;
                        break;
                case 'w':
                        workspace = optarg;
                        break;
                case 'j':
                        json = true;
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (optind < argc)
                return cli_usage_error(ctx, "unexpected argument '%s'", argv[optind]);
        if (n == 0 && cli_default_sources(ctx, workspace, owned, sources, &n) < 0)
                return cli_error("out of memory");
        if (config_load(&cfg, sources, n, &err) < 0 ||
            trust_check_config(ctx->config_root, &cfg, &err) < 0)
                return cli_fail(&err);
        if (json) {
                _cleanup_json_ json_t *o = config_json(&cfg, sources, n);
                _cleanup_buf_ struct buf b = BUF_INIT;

                if (!o || ca_json_pretty(o, &b, &err) < 0)
                        return cli_error("cannot build JSON output");
                (void) fwrite(b.data, 1, b.len, stdout);
        } else {
                print_human(&cfg, sources, n);
        }
        return cli_finish(CLI_OK);
}

static int config_paths(int argc, char **argv, struct cli_ctx *ctx)
{
        _cleanup_free_ char *log = NULL;

        if (argc > 1) {
                if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
                        return cli_help(usage);
                return cli_usage_error(ctx, "unexpected argument '%s'", argv[1]);
        }
        log = paths_events_log(ctx->config_root);
        if (!log)
                return cli_error("out of memory");
        (void) printf("config root: %s\nevent log:   %s\n", ctx->config_root, log);
        return cli_finish(CLI_OK);
}

int cmd_config(int argc, char **argv, struct cli_ctx *ctx)
{
        if (argc < 2)
                return cli_usage_error(ctx, "missing subcommand (check or paths)");
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
                return cli_help(usage);
        if (strcmp(argv[1], "check") == 0)
                return config_check(argc - 1, argv + 1, ctx);
        if (strcmp(argv[1], "paths") == 0)
                return config_paths(argc - 1, argv + 1, ctx);
        return cli_usage_error(ctx, "unknown subcommand '%s'", argv[1]);
}
