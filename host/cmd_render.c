/* SPDX-License-Identifier: MIT */
/* coding-agents render: config.toml -> session manifest + per-agent MCP configs. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "buf.h"
#include "capability.h"
#include "cleanup.h"
#include "cli.h"
#include "config.h"
#include "digest.h"
#include "error.h"
#include "fileio.h"
#include "json.h"
#include "paths.h"
#include "profile.h"
#include "render.h"
#include "session.h"
#include "spawn.h"
#include "trust.h"

static const char usage[] =
        "usage: coding-agents render --agent claude|codex|copilot|all --out DIR\n"
        "                            [--config FILE]... [--workspace DIR] [--session-id ID]\n"
        "                            [--disable NAME]... [--network none|proxy] [--json]\n"
        "                            [--ignore-workspace-config]\n"
        "\n"
        "Renders a session: DIR/manifest.json (canonical JSON; its SHA-256 is printed and\n"
        "recorded in a session-config event) and each agent's MCP configuration, rewritten to\n"
        "mcp-stub-<name> (stdio) and http://127.0.0.1:<port>/ helpers (remote). No rendered\n"
        "file ever holds a secret. Sources, lowest priority first: <workspace>/config.toml,\n"
        "<config root>/config.toml, <config root>/config-<agent>.toml, each --config FILE.\n"
        "DIR must not exist (or be empty); nothing is written on error. The workspace's\n"
        "config.toml is read only once approved ('coding-agents config approve'); an unapproved\n"
        "one is refused (exit 2) unless --ignore-workspace-config.\n"
        "\n"
        "A development build measures its source tree (git trees of host/, container/, docker/,\n"
        "lib/) and refuses to render from a dirty tree unless <config root>/overrides/allow-dirty\n"
        "exists (an override-used event then lists the dirty files). The measurement is kept in\n"
        "<config root>/cache/source-tree.json while nothing under those directories, nor .git's\n"
        "HEAD, refs and index, has changed (their stat data is the key).\n";

struct render_cli {
        struct session_request rq;
        bool json;
};

static int parse_opts(int argc, char **argv, struct cli_ctx *ctx, struct render_cli *o)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"agent", required_argument, NULL, 'a'},
                {"config", required_argument, NULL, 'c'},
                {"workspace", required_argument, NULL, 'w'},
                {"session-id", required_argument, NULL, 's'},
                {"out", required_argument, NULL, 'o'},
                {"json", no_argument, NULL, 'j'},
                {"disable", required_argument, NULL, 'd'},
                {"network", required_argument, NULL, 'n'},
                {"ignore-workspace-config", no_argument, NULL, 'W'},
                {0},
        };
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 'a':
                        if (strcmp(optarg, "all") == 0) {
                                o->rq.agents = (1u << RENDER_AGENTS) - 1;
                        } else {
                                int a = render_agent_from_name(optarg);
                                if (a < 0)
                                        return cli_usage_error(
                                                ctx,
                                                "unknown agent '%s' (claude, codex, copilot or "
                                                "all)",
                                                optarg);
                                o->rq.agents |= 1u << a;
                        }
                        break;
                case 'c':
                        r = cli_config_option(ctx, o->rq.configs, &o->rq.nconfigs, optarg);
                        if (r >= 0)
                                return r;
                        break;
                case 'w':
                        o->rq.workspace = optarg;
                        break;
                case 's':
                        if (!capability_valid_session(optarg))
                                return cli_usage_error(
                                        ctx, "bad --session-id '%s': 1-64 of [A-Za-z0-9._-]",
                                        optarg);
                        o->rq.session = optarg;
                        break;
                case 'o':
                        o->rq.out = optarg;
                        break;
                case 'j':
                        o->json = true;
                        break;
                case 'W':
                        o->rq.ignore_workspace_config = true;
                        break;
                case 'd':
                        if (o->rq.ndisable == SESSION_MAX_ITEMS)
                                return cli_usage_error(ctx, "too many --disable");
                        o->rq.disable[o->rq.ndisable++] = optarg;
                        break;
                case 'n':
                        if (strcmp(optarg, "none") != 0 && strcmp(optarg, "proxy") != 0)
                                return cli_usage_error(ctx, "bad --network '%s' (none or proxy)",
                                                       optarg);
                        o->rq.network_set = true;
                        o->rq.network = optarg[0] == 'n' ? CONFIG_NETWORK_NONE
                                                      : CONFIG_NETWORK_PROXY;
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (optind < argc)
                return cli_usage_error(ctx, "unexpected argument '%s'", argv[optind]);
        if (!o->rq.agents || !o->rq.out)
                return cli_usage_error(ctx, "render needs --agent and --out");
        return -1;
}

int cmd_render(int argc, char **argv, struct cli_ctx *ctx)
{
        struct render_cli o = {.rq = {.workspace = "."}};
        struct render_result res = {0};
        struct ca_error err = {0};
        _cleanup_json_ json_t *sources = json_array();
        char session[CAP_SESSION_MAX + 1];
        char sha[65];
        int status = CLI_FAIL;
        size_t i;
        json_t *w;
        int r;

        r = parse_opts(argc, argv, ctx, &o);
        if (r >= 0)
                return r;
        if (!sources)
                return cli_error("out of memory");
        if (o.rq.session)
                (void) snprintf(session, sizeof(session), "%s", o.rq.session);
        else
                session_default_name(o.rq.agents, o.rq.workspace, session, sizeof(session));
        o.rq.session = session;

        /* Before anything else: a prod binary refuses to set up a session from a release
         * that no longer matches its SHA256SUMS. */
        if (session_integrity(ctx, session, &err) < 0)
                return cli_fail(&err);
        if (session_render(ctx, &o.rq, &res, sha, sources, &err) < 0) {
                status = cli_fail(&err);
                goto out;
        }
        json_array_foreach(res.warnings, i, w)
                (void) fprintf(stderr, "coding-agents: warning: %s\n", json_string_value(w));
        if (o.json) {
                _cleanup_json_ json_t *files = json_object();
                _cleanup_json_ json_t *summary = NULL;
                _cleanup_buf_ struct buf b = BUF_INIT;
                for (int a = 0; a < RENDER_AGENTS; a++) {
                        _cleanup_free_ char *d = NULL;
                        _cleanup_free_ char *f = NULL;
                        if (!(o.rq.agents & (1u << a)))
                                continue;
                        d = paths_join(o.rq.out, render_agent_name((enum render_agent) a));
                        f = d ? paths_join(d, render_agent_file((enum render_agent) a)) : NULL;
                        (void) json_object_set_new(files, render_agent_name((enum render_agent) a),
                                                   json_string(f ? f : ""));
                }
                summary = json_pack("{s:s, s:s, s:s, s:O, s:O, s:O}", "session", session,
                                    "manifest_sha256", sha, "out", o.rq.out, "files", files,
                                    "sources", sources, "warnings", res.warnings);
                if (!summary || ca_json_pretty(summary, &b, &err) < 0) {
                        status = cli_error("cannot build JSON output");
                        goto out;
                }
                (void) fwrite(b.data, 1, b.len, stdout);
        } else {
                (void) printf("session %s\nmanifest %s/manifest.json sha256 %s\n", session,
                              o.rq.out, sha);
                for (int a = 0; a < RENDER_AGENTS; a++) {
                        if (o.rq.agents & (1u << a))
                                (void) printf("%-8s %s/%s/%s\n",
                                              render_agent_name((enum render_agent) a), o.rq.out,
                                              render_agent_name((enum render_agent) a),
                                              render_agent_file((enum render_agent) a));
                }
        }
        status = cli_finish(CLI_OK);
out:
        render_result_clear(&res);
        return status;
}
