/* SPDX-License-Identifier: MIT */
/* coding-agents diff|merge SESSION: a --worktree session's branch (host/worktree.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "worktree.h"

static const char diff_usage[] =
        "usage: coding-agents diff SESSION\n"
        "\n"
        "Shows what a session started with --worktree changed: its branch against the commit\n"
        "it started from, then what is not committed in its worktree (while it exists).\n";

static const char merge_usage[] =
        "usage: coding-agents merge SESSION\n"
        "\n"
        "Merges the branch of a session started with --worktree into the current branch of\n"
        "its repository (a fast-forward when it can be). Refuses, and touches nothing, when\n"
        "your working tree has changes not committed, or when the merge would conflict (the\n"
        "files are named). git's hooks, filters and drivers of the repository never run; a\n"
        "merge commit is made with your user.name and user.email (~/.gitconfig).\n";

/* DIFF or MERGE SESSION: its one argument, then `fn`. */
static int on_session(int argc, char **argv, struct cli_ctx *ctx, const char *usage,
                      int (*fn)(const char *config_root, const char *session,
                                struct ca_error *err))
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        struct ca_error err = {0};
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'h')
                        return cli_help(usage);
                return cli_usage_error(ctx, "unknown option");
        }
        if (argc - optind != 1)
                return cli_usage_error(ctx, "%s takes one SESSION", ctx->command);
        if (fn(ctx->config_root, argv[optind], &err) < 0)
                return cli_fail(&err);
        return cli_finish(CLI_OK);
}

int cmd_diff(int argc, char **argv, struct cli_ctx *ctx)
{
        return on_session(argc, argv, ctx, diff_usage, worktree_diff);
}

int cmd_merge(int argc, char **argv, struct cli_ctx *ctx)
{
        return on_session(argc, argv, ctx, merge_usage, worktree_merge);
}
