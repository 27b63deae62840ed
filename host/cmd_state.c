/* SPDX-License-Identifier: MIT */
/* coding-agents state list|rm|export: the agent CLIs' saved state (host/lib/agentstate.h). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agentstate.h"
#include "buf.h"
#include "bundle.h"
#include "cleanup.h"
#include "cli.h"
#include "error.h"
#include "fileio.h"
#include "json.h"
#include "render.h"
#include "statecopy.h"
#include "textsafe.h"

static const char usage[] =
        "usage: coding-agents state list [--json]\n"
        "       coding-agents state rm PATH [--agent AGENT]\n"
        "       coding-agents state export PATH --agent AGENT --output FILE.tar.gz\n"
        "\n"
        "The agent CLIs' saved state: per workspace and agent, the conversations and history\n"
        "a session brings in at its start and saves back at its end (never a login, nor a\n"
        "file holding a secret the broker stores), in <config root>/state/. 'run --no-state'\n"
        "starts a session without it.\n"
        "\n"
        "list     each workspace and agent with a saved state: files, size, last saved\n"
        "rm       forgets the state of the workspace PATH (of one agent with --agent)\n"
        "export   writes the state of one agent on PATH as a tarball\n";

/* PATH as a session records it: the real path of an existing directory. */
static int workspace_of(const char *arg, char out[PATH_MAX], struct ca_error *err)
{
        if (!realpath(arg, out))
                return ca_error_input(err, "no workspace '%s': %s", arg, strerror(errno));
        return 0;
}

static int state_list(const char *root, bool json)
{
        _cleanup_json_ json_t *all = NULL;
        struct ca_error err = {0};
        json_t *e;
        size_t i;

        if (agentstate_list(root, &all, &err) < 0)
                return cli_fail(&err);
        if (json) {
                _cleanup_buf_ struct buf b = BUF_INIT;

                if (ca_json_pretty(all, &b, &err) < 0)
                        return cli_fail(&err);
                (void) fwrite(b.data, 1, b.len, stdout);
                return cli_finish(CLI_OK);
        }
        if (json_array_size(all) == 0)
                (void) printf("no saved state\n");
        json_array_foreach(all, i, e) {
                char ws[PATH_MAX * 2], when[32];
                time_t t = (time_t) json_integer_value(json_object_get(e, "updated"));
                struct tm tm;

                (void) strftime(when, sizeof(when), "%Y-%m-%d %H:%M", localtime_r(&t, &tm));
                (void) printf("%-8s %6lld files %10lld bytes  %s  %s\n",
                              json_string_value(json_object_get(e, "agent")),
                              (long long) json_integer_value(json_object_get(e, "files")),
                              (long long) json_integer_value(json_object_get(e, "bytes")), when,
                              text_escape_to(json_string_value(json_object_get(e, "workspace")),
                                             0, ws, sizeof(ws)));
        }
        return cli_finish(CLI_OK);
}

static int state_rm(const char *root, const char *path, const char *agent)
{
        char ws[PATH_MAX];
        struct ca_error err = {0};
        int removed = 0;

        if (workspace_of(path, ws, &err) < 0)
                return cli_fail(&err);
        for (int a = 0; a < RENDER_AGENTS; a++) {
                const char *name = render_agent_name((enum render_agent) a);
                _cleanup_free_ char *dir = NULL;

                if (agent && strcmp(agent, name) != 0)
                        continue;
                dir = agentstate_dir(root, ws, name);
                if (!dir)
                        return cli_error("out of memory");
                if (access(dir, F_OK) < 0)
                        continue;
                if (fileio_remove_tree(dir, &err) < 0)
                        return cli_fail(&err);
                (void) printf("removed the %s state of %s\n", name, ws);
                removed++;
        }
        if (!removed)
                (void) printf("no saved state for %s\n", ws);
        return cli_finish(CLI_OK);
}

static int state_export(const char *root, const char *path, const char *agent, const char *out)
{
        _cleanup_free_ char *dir = NULL;
        char ws[PATH_MAX];
        struct ca_error err = {0};

        if (workspace_of(path, ws, &err) < 0)
                return cli_fail(&err);
        dir = agentstate_dir(root, ws, agent);
        if (!dir)
                return cli_error("out of memory");
        if (access(dir, F_OK) < 0) {
                (void) ca_error_input(&err, "no saved %s state for %s", agent, ws);
                return cli_fail(&err);
        }
        if (bundle_write(dir, agent, 0, out, &err) < 0)
                return cli_fail(&err);
        (void) printf("wrote the %s state of %s to %s\n", agent, ws, out);
        return cli_finish(CLI_OK);
}

int cmd_state(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"json", no_argument, NULL, 'j'},
                {"agent", required_argument, NULL, 'a'},
                {"output", required_argument, NULL, 'o'},
                {0},
        };
        const char *agent = NULL, *out = NULL, *sub;
        bool json = false;
        int c;

        if (argc < 2)
                return cli_usage_error(ctx, "missing subcommand (list, rm or export)");
        sub = argv[1];
        if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0)
                return cli_help(usage);
        if (strcmp(sub, "list") != 0 && strcmp(sub, "rm") != 0 && strcmp(sub, "export") != 0)
                return cli_usage_error(ctx, "unknown subcommand '%s'", sub);
        optind = 0;
        while ((c = getopt_long(argc - 1, argv + 1, "ho:", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 'j':
                        json = true;
                        break;
                case 'a':
                        if (!statecopy_agent_top(optarg))
                                return cli_usage_error(ctx, "unknown agent '%s' (claude, codex "
                                                            "or copilot)",
                                                       optarg);
                        agent = optarg;
                        break;
                case 'o':
                        out = optarg;
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        argc--;
        argv++;
        if (strcmp(sub, "list") == 0) {
                if (optind != argc || agent || out)
                        return cli_usage_error(ctx, "list takes only --json");
                return state_list(ctx->config_root, json);
        }
        if (argc - optind != 1 || json)
                return cli_usage_error(ctx, "%s takes one workspace PATH", sub);
        if (strcmp(sub, "rm") == 0) {
                if (out)
                        return cli_usage_error(ctx, "rm takes no --output");
                return state_rm(ctx->config_root, argv[optind], agent);
        }
        if (!agent || !out)
                return cli_usage_error(ctx, "export needs --agent and --output");
        return state_export(ctx->config_root, argv[optind], agent, out);
}
