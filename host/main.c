/* SPDX-License-Identifier: MIT */
/*
 * coding-agents: the host CLI. A sorted table of {name, function, flags, summary} (git.c);
 * main() parses the global options, finds the command and provides what its flags ask for.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <sodium.h>

#include "cli.h"
#include "error.h"
#include "macro.h"
#include "paths.h"
#include "profile.h"

struct command {
        const char *name;
        int (*fn)(int argc, char **argv, struct cli_ctx *ctx);
        unsigned flags;
        const char *summary;
};

/* Sorted by name. */
static const struct command commands[] = {
        {"audit", cmd_audit, CMD_NEEDS_CONFIG_ROOT, "a signed report of a session; verify one"},
        {"broker", cmd_broker, CMD_NEEDS_CONFIG_ROOT, "the secret broker: store, issue, revoke"},
        {"config", cmd_config, CMD_NEEDS_CONFIG_ROOT, "check and show the merged configuration"},
        {"connect", cmd_connect, CMD_NEEDS_CONFIG_ROOT, "join this terminal to a launched session"},
        {"doctor", cmd_doctor, CMD_NEEDS_CONFIG_ROOT, "check this machine's posture, with remedies"},
        {"env", cmd_env, CMD_NEEDS_CONFIG_ROOT, "show the profile (prod or dev) and paths"},
        {"events", cmd_events, CMD_NEEDS_CONFIG_ROOT, "verify and read the security event log"},
        {"image", cmd_image, CMD_NEEDS_CONFIG_ROOT, "build the agent image"},
        {"install", cmd_install, CMD_NEEDS_CONFIG_ROOT, "install a signed release bundle"},
        {"kill", cmd_kill, CMD_NEEDS_CONFIG_ROOT, "revoke a session's capabilities and remove it"},
        {"launch", cmd_launch, CMD_NEEDS_CONFIG_ROOT, "start a session detached"},
        {"list", cmd_list, CMD_NEEDS_CONFIG_ROOT, "list the sessions"},
        {"proxy", cmd_proxy, CMD_NEEDS_CONFIG_ROOT, "the egress proxy: render, run, read its logs"},
        {"release", cmd_release, 0, "sign and verify release bundles (minisign format)"},
        {"render", cmd_render, CMD_NEEDS_CONFIG_ROOT, "render a session's manifest and agent configs"},
        {"rm", cmd_rm, CMD_NEEDS_CONFIG_ROOT, "remove a stopped session"},
        {"rollback", cmd_rollback, 0, "switch back to the previous release"},
        {"run", cmd_run, CMD_NEEDS_CONFIG_ROOT, "run an agent in a session, attached"},
        {"runtime", cmd_runtime, CMD_NEEDS_CONFIG_ROOT, "check the container engine"},
        {"stop", cmd_stop, CMD_NEEDS_CONFIG_ROOT, "stop a session"},
        {"trust", cmd_trust, CMD_NEEDS_CONFIG_ROOT, "manage CA bundles and pins for helpers"},
        {"uninstall", cmd_uninstall, 0, "remove every installed release"},
        {"verify", cmd_verify, CMD_NEEDS_CONFIG_ROOT, "check a release against its SHA256SUMS"},
        {"version", cmd_version, 0, "print the version"},
};

static void print_usage(FILE *f)
{
        (void) fprintf(f, "usage: coding-agents [--version] [--help] <command> [<args>]\n\n"
                          "Run AI coding agents in hardened containers; secrets stay on the "
                          "host.\n\ncommands:\n");
        for (size_t i = 0; i < CA_ELEMENTSOF(commands); i++)
                (void) fprintf(f, "   %-10s %s\n", commands[i].name, commands[i].summary);
        (void) fprintf(f, "\n'coding-agents <command> --help' describes a command.\n"
                          "Environment: CODING_AGENTS_CONFIG_DIR overrides the config root "
                          "(default: $XDG_CONFIG_HOME/coding-agents, or coding-agents-dev\n"
                          "for a binary run from a build tree; see 'coding-agents env').\n");
}

int cmd_version(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'h')
                        return cli_help("usage: coding-agents version\n\nPrints the version.\n");
                return cli_usage_error(ctx, "unknown option");
        }
        if (optind < argc)
                return cli_usage_error(ctx, "unexpected argument '%s'", argv[optind]);
        (void) printf("coding-agents %s\n", CA_VERSION);
        return cli_finish(CLI_OK);
}

static const struct command *find_command(const char *name)
{
        for (size_t i = 0; i < CA_ELEMENTSOF(commands); i++) {
                if (strcmp(commands[i].name, name) == 0)
                        return &commands[i];
        }
        return NULL;
}

/* True when the command's own arguments ask for help: then it must run without config. */
static bool wants_help(int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--") == 0)
                        return false;
                if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
                        return true;
        }
        return false;
}

static int run_command(const struct command *cmd, int argc, char **argv)
{
        struct cli_ctx ctx = {.command = cmd->name};
        struct profile_info prof;
        struct ca_error err = {0};
        int status;

        /* prod from a verified install, dev from a build tree: they use separate config
         * roots, so a development build never touches an installed release's secrets. */
        profile_detect(NULL, &prof);
        ctx.profile = prof.profile;
        if ((cmd->flags & CMD_NEEDS_CONFIG_ROOT) && !wants_help(argc, argv)) {
                if (paths_config_root(ctx.profile, &ctx.config_root, &err) < 0)
                        return cli_fail(&err);
        }
        status = cmd->fn(argc, argv, &ctx);
        free(ctx.config_root);
        return status;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {0},
        };
        const struct rlimit no_core = {0, 0};
        const struct command *cmd;
        int c;

        /* The CLI may hold secrets (broker store, redeem): never leave them in a core file. */
        (void) setrlimit(RLIMIT_CORE, &no_core);
        if (sodium_init() < 0)
                return cli_error("cannot initialise libsodium");

        /* '+': stop at the first non-option, which is the command. */
        while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        print_usage(stdout);
                        return cli_finish(CLI_OK);
                case 'V':
                        (void) printf("coding-agents %s\n", CA_VERSION);
                        return cli_finish(CLI_OK);
                default:
                        return cli_usage_error(NULL, "unknown global option");
                }
        }
        if (optind >= argc) {
                print_usage(stderr);
                return CLI_USAGE;
        }
        if (strcmp(argv[optind], "help") == 0) {
                if (optind + 1 >= argc) {
                        print_usage(stdout);
                        return cli_finish(CLI_OK);
                }
                cmd = find_command(argv[optind + 1]);
                if (!cmd)
                        return cli_usage_error(NULL, "unknown command '%s'", argv[optind + 1]);
                {
                        char *help_argv[] = {argv[optind + 1], (char *) "--help", NULL};
                        return run_command(cmd, 2, help_argv);
                }
        }
        cmd = find_command(argv[optind]);
        if (!cmd)
                return cli_usage_error(NULL, "unknown command '%s'", argv[optind]);
        return run_command(cmd, argc - optind, argv + optind);
}
