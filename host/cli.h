/* SPDX-License-Identifier: MIT */
/*
 * Shared plumbing of the host CLI: the command table entry, the context `main()` prepares for
 * each command, and the one place that prints errors and maps exit statuses.
 *
 * Adding a command: write host/cmd_<name>.c with `int cmd_<name>(int argc, char **argv,
 * struct cli_ctx *ctx)`, declare it below, add a row to the table in host/main.c (sorted), and
 * give it `-h/--help` that works without config or broker.
 */
#pragma once

#include <stdlib.h>

#include <stdbool.h>

#include "macro.h"
#include "paths.h"

struct ca_error;

enum {
        CLI_OK = 0,
        CLI_FAIL = 1,  /* runtime failure */
        CLI_USAGE = 2, /* usage error or bad input */
};

enum {
        CMD_NEEDS_CONFIG_ROOT = 1 << 0, /* main() resolves ctx->config_root first */
};

/*
 * The host programs (docs/layout.md, "Programs"): `coding-agents`, the front every user runs,
 * maps only libc, libsodium, jansson and libcrypt; the commands that drive the container engine
 * or read archives run in CLI_ENGINE_PROGRAM, which the front execs with the same arguments; the
 * broker daemon is CLI_BROKER_PROGRAM. All three live side by side in one bin/ directory, under
 * one SHA256SUMS.
 */
#define CLI_ENGINE_PROGRAM "ca-engine"
#define CLI_BROKER_PROGRAM "ca-broker"

/* `name` in the directory of the running program (malloc'd), or NULL. */
char *cli_sibling(const char *name);

/* Replaces this process with sibling `name` run with `argv` (argv[0] is kept as given).
 * Returns only on failure, with the error printed: CLI_FAIL. */
int cli_exec_sibling(const char *name, char *const *argv);

struct cli_ctx {
        const char *command;   /* "events" */
        enum paths_profile profile;
        char *config_root;     /* set for CMD_NEEDS_CONFIG_ROOT commands, else NULL */
};

/* Prints "coding-agents: <message>" on stderr. Returns CLI_FAIL. */
int cli_error(const char *fmt, ...) CA_PRINTF(1, 2);

/* Prints the error line plus "try 'coding-agents <cmd> --help'". Returns CLI_USAGE. */
int cli_usage_error(const struct cli_ctx *ctx, const char *fmt, ...) CA_PRINTF(2, 3);

/* Prints err->msg and returns 2 for bad input, 1 otherwise. */
int cli_fail(const struct ca_error *err);

/* Flushes stdout; a failed write (full disk, closed pipe) turns success into CLI_FAIL. */
int cli_finish(int status);

/* Prints `text` to stdout and returns cli_finish(CLI_OK): for --help. */
int cli_help(const char *text);

/*
 * Colour (https://no-color.org): --color=auto (the default; also a bare --color=... of none),
 * always or never. auto colours only a terminal that is not "dumb", and only when NO_COLOR is
 * unset or empty; the option, when given, wins over NO_COLOR.
 */
enum cli_color { CLI_COLOR_AUTO, CLI_COLOR_ALWAYS, CLI_COLOR_NEVER };

/* Parses WHEN (NULL: a bare --color, which is "always"). Returns -1 to go on, or the usage
 * error's exit status. */
int cli_color_option(const struct cli_ctx *ctx, const char *when, enum cli_color *out);

/* Whether output to `fd` is coloured under `mode`. */
bool cli_color_on(enum cli_color mode, int fd);

/* --config FILE, repeatable: render, run, launch, config check, proxy config. */
#define CLI_MAX_CONFIGS 64

/* Appends `file` to `files` (*n of at most CLI_MAX_CONFIGS). Returns -1 to go on, or the usage
 * error's exit status. */
int cli_config_option(const struct cli_ctx *ctx, const char **files, size_t *n, const char *file);

/*
 * The default configuration sources when no --config was given: <workspace>/config.toml and
 * <config root>/config.toml, those that exist, lowest priority first. The paths are allocated
 * into `owned` (freed by the caller) and appended to `sources` (*n updated). -ENOMEM on OOM.
 */
int cli_default_sources(const struct cli_ctx *ctx, const char *workspace, char *owned[2],
                        const char **sources, size_t *n);

static inline void cli_sources_free(char *(*owned)[2])
{
        free((*owned)[0]);
        free((*owned)[1]);
}

/* `release verify-sigstore` (host/cmd_sigstore.c), called by cmd_release. */
int release_verify_sigstore(int argc, char **argv, struct cli_ctx *ctx);
int cmd_audit(int argc, char **argv, struct cli_ctx *ctx);
int cmd_broker(int argc, char **argv, struct cli_ctx *ctx);
int cmd_config(int argc, char **argv, struct cli_ctx *ctx);
int cmd_connect(int argc, char **argv, struct cli_ctx *ctx);
int cmd_diff(int argc, char **argv, struct cli_ctx *ctx);
int cmd_doctor(int argc, char **argv, struct cli_ctx *ctx);
int cmd_env(int argc, char **argv, struct cli_ctx *ctx);
int cmd_events(int argc, char **argv, struct cli_ctx *ctx);
int cmd_image(int argc, char **argv, struct cli_ctx *ctx);
/* image pull (cmd_image_pull.c); image_usage covers both subcommands. */
int image_pull(int argc, char **argv, struct cli_ctx *ctx);
extern const char image_usage[];
int cmd_install(int argc, char **argv, struct cli_ctx *ctx);
int cmd_kill(int argc, char **argv, struct cli_ctx *ctx);
int cmd_launch(int argc, char **argv, struct cli_ctx *ctx);
int cmd_list(int argc, char **argv, struct cli_ctx *ctx);
int cmd_merge(int argc, char **argv, struct cli_ctx *ctx);
int cmd_proxy(int argc, char **argv, struct cli_ctx *ctx);
int cmd_release(int argc, char **argv, struct cli_ctx *ctx);
int cmd_render(int argc, char **argv, struct cli_ctx *ctx);
int cmd_rm(int argc, char **argv, struct cli_ctx *ctx);
int cmd_rollback(int argc, char **argv, struct cli_ctx *ctx);
int cmd_run(int argc, char **argv, struct cli_ctx *ctx);
int cmd_runtime(int argc, char **argv, struct cli_ctx *ctx);
int cmd_state(int argc, char **argv, struct cli_ctx *ctx);
int cmd_stop(int argc, char **argv, struct cli_ctx *ctx);
int cmd_trust(int argc, char **argv, struct cli_ctx *ctx);
int cmd_uninstall(int argc, char **argv, struct cli_ctx *ctx);
int cmd_verify(int argc, char **argv, struct cli_ctx *ctx);
int cmd_version(int argc, char **argv, struct cli_ctx *ctx);
