/* SPDX-License-Identifier: MIT */
/*
 * coding-agents: the host CLI. A sorted table of {name, function, flags, summary} (git.c);
 * main() parses the global options, finds the command and provides what its flags ask for.
 *
 * Built twice (host/CMakeLists.txt). As `coding-agents` (CA_FRONT), the program users run: the
 * commands wrapped in ENGINE() in the table are not linked in, and are run by exec'ing
 * ca-engine with the same arguments, so a command that prints a version or reads the event
 * log maps libc, libsodium, jansson and libcrypt, not libcurl and libarchive with their forty
 * dependencies (git's git-remote-https split). As ca-engine, every command runs in process.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <sodium.h>

#include "cleanup.h"
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

/* ENGINE(cmd): the command drives the container engine or reads archives (libcurl,
 * libarchive); in the front its entry is NULL and run_command execs ca-engine. */
#ifdef CA_FRONT
#define ENGINE(fn) NULL
#else
#define ENGINE(fn) fn
#endif
#define NEEDS_ROOT CMD_NEEDS_CONFIG_ROOT

/* Sorted by name. */
static const struct command commands[] = {
        {"audit", cmd_audit, NEEDS_ROOT, "a signed report of a session; verify one"},
        {"broker", cmd_broker, NEEDS_ROOT, "the secret broker: store, issue, revoke"},
        {"config", cmd_config, NEEDS_ROOT, "check and show the merged configuration"},
        {"connect", ENGINE(cmd_connect), NEEDS_ROOT, "join this terminal to a launched session"},
        {"diff", cmd_diff, NEEDS_ROOT, "what a --worktree session changed on its branch"},
        {"doctor", ENGINE(cmd_doctor), NEEDS_ROOT, "check this machine's posture, with remedies"},
        {"env", cmd_env, NEEDS_ROOT, "show the profile (prod or dev) and paths"},
        {"events", cmd_events, NEEDS_ROOT, "verify and read the security event log"},
        {"image", ENGINE(cmd_image), NEEDS_ROOT, "build the agent image"},
        {"install", ENGINE(cmd_install), NEEDS_ROOT, "install a signed release bundle"},
        {"kill", ENGINE(cmd_kill), NEEDS_ROOT, "revoke a session's capabilities and remove it"},
        {"launch", ENGINE(cmd_launch), NEEDS_ROOT, "start a session detached"},
        {"list", ENGINE(cmd_list), NEEDS_ROOT, "list the sessions"},
        {"merge", cmd_merge, NEEDS_ROOT, "merge a --worktree session's branch into yours"},
        {"proxy", cmd_proxy, NEEDS_ROOT, "the egress proxy: render, run, read its logs"},
        {"release", ENGINE(cmd_release), 0, "sign and verify release bundles (minisign format)"},
        {"render", cmd_render, NEEDS_ROOT, "render a session's manifest and agent configs"},
        {"rm", ENGINE(cmd_rm), NEEDS_ROOT, "remove a stopped session"},
        {"rollback", ENGINE(cmd_rollback), 0, "switch back to the previous release"},
        {"run", ENGINE(cmd_run), NEEDS_ROOT, "run an agent in a session, attached"},
        {"runtime", ENGINE(cmd_runtime), NEEDS_ROOT, "check the container engine"},
        {"state", ENGINE(cmd_state), NEEDS_ROOT, "the agents' saved state: list, rm, export"},
        {"stop", ENGINE(cmd_stop), NEEDS_ROOT, "stop a session"},
        {"trust", cmd_trust, NEEDS_ROOT, "manage CA bundles and pins for helpers"},
        {"uninstall", ENGINE(cmd_uninstall), 0, "remove every installed release"},
        {"verify", cmd_verify, NEEDS_ROOT, "check a release against its SHA256SUMS"},
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

/* The front's way to an engine command: ca-engine, beside us, with the same arguments. */
static int run_in_engine(int argc, char **argv)
{
        _cleanup_free_ char **args = calloc((size_t) argc + 2, sizeof(*args));

        if (!args)
                return cli_error("out of memory");
        args[0] = (char *) "coding-agents";
        for (int i = 0; i < argc; i++)
                args[i + 1] = argv[i];
        return cli_exec_sibling(CLI_ENGINE_PROGRAM, args);
}

static int run_command(const struct command *cmd, int argc, char **argv)
{
        struct cli_ctx ctx = {.command = cmd->name};
        struct profile_info prof;
        struct ca_error err = {0};
        int status;

        if (!cmd->fn)
                return run_in_engine(argc, argv);

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
                /* Not in --help: the command table as "name<TAB>summary" lines, for the
                 * generated man pages and completions (packaging/gen-cli-docs.py). */
                {"list-commands", no_argument, NULL, 'L'},
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
                case 'L':
                        for (size_t i = 0; i < CA_ELEMENTSOF(commands); i++)
                                (void) printf("%s\t%s\n", commands[i].name, commands[i].summary);
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
