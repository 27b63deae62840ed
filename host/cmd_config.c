/* SPDX-License-Identifier: MIT */
/* coding-agents config check|paths: load, merge and validate config.toml files. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "cleanup.h"
#include "cli.h"
#include "config.h"
#include "error.h"
#include "json.h"
#include "paths.h"
#include "trust.h"
#include "textsafe.h"
#include "url.h"
#include "workspace.h"

static const char usage[] =
        "usage: coding-agents config check [--config FILE]... [--workspace DIR] [--json]\n"
        "       coding-agents config approve [--revoke] [PATH]\n"
        "       coding-agents config paths\n"
        "\n"
        "  check           load, merge and validate the configuration, then summarise it.\n"
        "                  Without --config the sources are, lowest priority first:\n"
        "                  <workspace>/config.toml (only once approved), <config\n"
        "                  root>/config.toml (missing files are skipped). An unapproved\n"
        "                  workspace file is shown with what it would add (servers,\n"
        "                  commands, hosts, ports, secret names). Errors read\n"
        "                  FILE:LINE:COL and exit 2.\n"
        "    -c, --config FILE  use FILE (repeatable, merged in order) instead\n"
        "    -w, --workspace DIR  the repository (default: the current directory)\n"
        "        --json         print the merged model as JSON\n"
        "  approve         approve the content of PATH/config.toml (default: the current\n"
        "                  directory) as the workspace's configuration: its SHA-256 is\n"
        "                  recorded under the config root, and any change needs a new\n"
        "                  approval. Approving content grants no secret: [secrets] in your\n"
        "                  own config.toml does.\n"
        "        --revoke       withdraw the approval\n"
        "  paths           print the config root and the event log path\n"
        "  -h, --help      show this help\n"
        "\n"
        "Secrets never appear in config files: write ${NAME}, store NAME in the broker, and\n"
        "grant it to the servers that may have it in your own config.toml:\n"
        "  [secrets]\n"
        "  NAME = [\"server\"]\n";


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

/* What an unapproved workspace file would add: its own servers, hosts, ports and secrets. */
static json_t *would_add_json(const struct config *cfg)
{
        json_t *servers = json_array(), *hosts = json_array(), *ports = json_array();
        json_t *secrets = json_array();
        json_t *o;

        if (!servers || !hosts || !ports || !secrets)
                goto oom;
        for (size_t i = 0; i < cfg->nservers; i++) {
                const struct config_server *s = &cfg->servers[i];
                struct url u;

                if (!s->from_workspace)
                        continue;
                (void) json_array_append_new(servers, server_json(s));
                for (size_t j = 0; j < s->secrets.len; j++)
                        (void) json_array_append_new(secrets, json_string(s->secrets.items[j]));
                if (s->url && url_parse(s->url, &u, NULL) == 0) {
                        (void) json_array_append_new(hosts, json_string(u.host));
                        (void) json_array_append_new(ports, json_integer(u.port));
                }
        }
        for (size_t i = 0; i < cfg->allow_domains.len; i++)
                (void) json_array_append_new(hosts, json_string(cfg->allow_domains.items[i]));
        for (size_t i = 0; i < cfg->nallow_ports; i++)
                (void) json_array_append_new(ports, json_integer(cfg->allow_ports[i]));
        for (size_t i = 0; i < cfg->registries.len; i++)
                (void) json_array_append_new(hosts, json_pack("{s:s}", "registry",
                                                             cfg->registries.items[i]));
        o = json_pack("{s:o, s:o, s:o, s:o}", "mcp_servers", servers, "hosts", hosts, "ports",
                      ports, "secrets", secrets);
        return o;
oom:
        json_decref(servers);
        json_decref(hosts);
        json_decref(ports);
        json_decref(secrets);
        return NULL;
}

/* A repository's strings (commands, arguments, URLs) are printed escaped (textsafe.h). */
static void put_safe(const char *s)
{
        _cleanup_buf_ struct buf b = BUF_INIT;

        if (text_escape(s, strlen(s), 0, &b) == 0)
                (void) fwrite(b.data, 1, b.len, stdout);
}

static void print_server(const struct config_server *s)
{
        (void) printf("  %-22s %-5s ", s->name, config_transport_name(s->transport));
        if (s->transport == CONFIG_TRANSPORT_STDIO) {
                put_safe(s->command);
                for (size_t j = 0; j < s->args.len; j++) {
                        (void) fputc(' ', stdout);
                        put_safe(s->args.items[j]);
                }
                (void) printf("  [network %s]", config_network_name(s->network));
        } else {
                put_safe(s->url);
                (void) printf("  [trust %s, %zu pin%s]", s->trust, s->pins.len,
                              s->pins.len == 1 ? "" : "s");
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

static void print_would_add(const struct workspace_config *wc, const struct config *cfg,
                            bool approving)
{
        _cleanup_json_ json_t *add = would_add_json(cfg);
        const json_t *v;
        size_t i;

        if (approving)
                (void) printf("workspace: %s (sha256 %s) adds:\n", wc->path, wc->sha256);
        else
                (void) printf("workspace: %s is %s (sha256 %s); it is not used. It would add:\n",
                              wc->path, workspace_config_state_name(wc->state), wc->sha256);
        for (size_t k = 0; k < cfg->nservers; k++) {
                if (cfg->servers[k].from_workspace)
                        print_server(&cfg->servers[k]);
        }
        (void) printf("  hosts:");
        json_array_foreach(json_object_get(add, "hosts"), i, v) {
                if (json_is_string(v)) {
                        (void) fputc(' ', stdout);
                        put_safe(json_string_value(v));
                } else {
                        (void) printf(" registry:%s",
                                      json_string_value(json_object_get(v, "registry")));
                }
        }
        (void) printf("\n  ports:");
        json_array_foreach(json_object_get(add, "ports"), i, v)
                (void) printf(" %" JSON_INTEGER_FORMAT, json_integer_value(v));
        (void) printf("\n  secret names:");
        json_array_foreach(json_object_get(add, "secrets"), i, v)
                (void) printf(" %s", json_string_value(v));
        (void) printf("\n");
        if (!approving)
                (void) printf("Review it, then approve it with: coding-agents config approve "
                              "'%s'\n",
                              wc->workspace);
}

static void print_human(const struct config *cfg, const char *const *sources, size_t n)
{
        (void) printf("sources:");
        for (size_t i = 0; i < n; i++)
                (void) printf(" %s", sources[i]);
        (void) printf("%s\nMCP servers: %zu\n", n ? "" : " (none found)", cfg->nservers);
        for (size_t i = 0; i < cfg->nservers; i++)
                print_server(&cfg->servers[i]);
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

static bool file_exists(const char *path)
{
        return access(path, F_OK) == 0;
}

/*
 * The workspace's file merged before the user's own files (so that shadowing is caught), then
 * validated: what it would be in a session. Used to preview an unapproved file and to
 * validate one before approving it.
 */
static int preview_workspace(const struct workspace_config *wc, const char *user_config,
                             struct config *cfg, struct ca_error *err)
{
        int r = workspace_config_merge(wc, cfg, err);

        if (r >= 0 && file_exists(user_config))
                r = config_merge_file(cfg, user_config, err);
        return r < 0 ? r : config_finish(cfg, err);
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
        _cleanup_config_ struct config preview = CONFIG_INIT;
        _cleanup_(workspace_config_clear) struct workspace_config wc = {.data = BUF_INIT};
        _cleanup_free_ char *user_config = NULL;
        const char *sources[CLI_MAX_CONFIGS + 2];
        const char *workspace = ".";
        struct ca_error err = {0};
        size_t n = 0;
        bool json = false, defaults;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "hc:w:", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 'c':
                        r = cli_config_option(ctx, sources, &n, optarg);
                        if (r >= 0)
                                return r;
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
        user_config = paths_join(ctx->config_root, "config.toml");
        if (!user_config)
                return cli_error("out of memory");
        defaults = n == 0;
        if (defaults) {
                /* The workspace's file counts only once approved (workspace.h). */
                if (workspace_config_read(ctx->config_root, workspace, &wc, &err) < 0)
                        return cli_fail(&err);
                if (wc.state == WORKSPACE_CONFIG_APPROVED) {
                        if (workspace_config_merge(&wc, &cfg, &err) < 0)
                                return cli_fail(&err);
                        sources[n++] = wc.path;
                }
                if (file_exists(user_config))
                        sources[n++] = user_config;
        }
        for (size_t i = defaults && wc.state == WORKSPACE_CONFIG_APPROVED ? 1 : 0; i < n; i++) {
                if (config_merge_file(&cfg, sources[i], &err) < 0)
                        return cli_fail(&err);
        }
        if (config_finish(&cfg, &err) < 0 || config_check_grants(&cfg, user_config, &err) < 0 ||
            trust_check_config(ctx->config_root, &cfg, &err) < 0)
                return cli_fail(&err);
        if (defaults && (wc.state == WORKSPACE_CONFIG_UNAPPROVED ||
                         wc.state == WORKSPACE_CONFIG_CHANGED) &&
            preview_workspace(&wc, user_config, &preview, &err) < 0)
                return cli_fail(&err);
        if (json) {
                _cleanup_json_ json_t *o = config_json(&cfg, sources, n);
                _cleanup_buf_ struct buf b = BUF_INIT;

                if (o && wc.state != WORKSPACE_CONFIG_NONE) {
                        json_t *w = json_pack("{s:s, s:s, s:s}", "path", wc.path, "state",
                                              workspace_config_state_name(wc.state), "sha256",
                                              wc.sha256);
                        if (w && wc.state != WORKSPACE_CONFIG_APPROVED)
                                (void) json_object_set_new(w, "would_add",
                                                           would_add_json(&preview));
                        (void) json_object_set_new(o, "workspace", w);
                }
                if (!o || ca_json_pretty(o, &b, &err) < 0)
                        return cli_error("cannot build JSON output");
                (void) fwrite(b.data, 1, b.len, stdout);
        } else {
                print_human(&cfg, sources, n);
                if (wc.state == WORKSPACE_CONFIG_APPROVED)
                        (void) printf("workspace: %s is approved (sha256 %s)\n", wc.path,
                                      wc.sha256);
                else if (wc.state != WORKSPACE_CONFIG_NONE)
                        print_would_add(&wc, &preview, false);
        }
        return cli_finish(CLI_OK);
}

/* Approving content grants nothing: say which of its secrets still need a grant. */
static void warn_ungranted(const struct config *cfg, const char *user_config)
{
        for (size_t i = 0; i < cfg->nservers; i++) {
                const struct config_server *s = &cfg->servers[i];

                for (size_t j = 0; s->from_workspace && j < s->secrets.len; j++) {
                        if (config_granted(cfg, s->name, s->secrets.items[j]))
                                continue;
                        (void) fprintf(stderr,
                                       "coding-agents: warning: MCP server '%s' names the secret "
                                       "'%s', which is not granted to it: it will not start until "
                                       "'%s' grants it ([secrets] %s = [..., \"%s\"])\n",
                                       s->name, s->secrets.items[j], user_config,
                                       s->secrets.items[j], s->name);
                }
        }
}

static int config_approve(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"revoke", no_argument, NULL, 'r'},
                {0},
        };
        _cleanup_config_ struct config preview = CONFIG_INIT;
        _cleanup_(workspace_config_clear) struct workspace_config wc = {.data = BUF_INIT};
        _cleanup_free_ char *user_config = paths_join(ctx->config_root, "config.toml");
        _cleanup_free_ char *log = paths_events_log(ctx->config_root);
        struct ca_error err = {0};
        bool revoke = false;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 'r':
                        revoke = true;
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (argc - optind > 1)
                return cli_usage_error(ctx, "approve takes at most one PATH");
        if (!user_config || !log)
                return cli_error("out of memory");
        if (workspace_config_read(ctx->config_root, optind < argc ? argv[optind] : ".", &wc,
                                  &err) < 0)
                return cli_fail(&err);
        if (wc.state == WORKSPACE_CONFIG_NONE)
                return cli_usage_error(ctx, "'%s' has no config.toml to approve", wc.workspace);
        if (!revoke) {
                /* Only valid content can be approved: reserved secrets, [secrets] tables and
                 * servers shadowing the user's are refused here, with file:line:col. */
                if (preview_workspace(&wc, user_config, &preview, &err) < 0)
                        return cli_fail(&err);
                print_would_add(&wc, &preview, true);
                warn_ungranted(&preview, user_config);
        }
        if (workspace_config_approve(ctx->config_root, &wc, revoke, &err) < 0)
                return cli_fail(&err);
        {
                json_t *fields = json_pack("{s:s, s:s, s:s}", "path", wc.path, "sha256",
                                           wc.sha256, "action", revoke ? "revoke" : "approve");

                if (audit_emit(log, AUDIT_WORKSPACE_CONFIG_APPROVED, NULL, fields, &err) < 0) {
                        json_decref(fields);
                        return cli_fail(&err);
                }
                json_decref(fields);
        }
        (void) printf("%s %s (sha256 %s)\n", revoke ? "approval withdrawn:" : "approved:",
                      wc.path, wc.sha256);
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
                return cli_usage_error(ctx, "missing subcommand (check, approve or paths)");
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
                return cli_help(usage);
        if (strcmp(argv[1], "check") == 0)
                return config_check(argc - 1, argv + 1, ctx);
        if (strcmp(argv[1], "approve") == 0)
                return config_approve(argc - 1, argv + 1, ctx);
        if (strcmp(argv[1], "paths") == 0)
                return config_paths(argc - 1, argv + 1, ctx);
        return cli_usage_error(ctx, "unknown subcommand '%s'", argv[1]);
}
