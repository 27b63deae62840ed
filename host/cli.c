/* SPDX-License-Identifier: MIT */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "error.h"
#include "paths.h"
#include "textsafe.h"

static void vprint_error(const char *fmt, va_list ap) CA_PRINTF(1, 0);

/*
 * Errors quote untrusted text (a repository's TOML keys and values, paths, peers' answers): the
 * message is escaped as a whole before it reaches the terminal (newlines kept: some messages
 * say what to add, on lines of their own).
 */
static void vprint_error(const char *fmt, va_list ap)
{
        char msg[2 * CA_ERROR_MSG_MAX];
        _cleanup_buf_ struct buf b = BUF_INIT;

        (void) fflush(stdout);
        (void) vsnprintf(msg, sizeof(msg), fmt, ap); /* truncation is acceptable */
        (void) fputs("coding-agents: ", stderr);
        if (text_escape(msg, strlen(msg), TEXT_KEEP_NEWLINE, &b) == 0)
                (void) fwrite(b.data, 1, b.len, stderr);
        (void) fputc('\n', stderr);
}

int cli_error(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vprint_error(fmt, ap);
        va_end(ap);
        return CLI_FAIL;
}

int cli_usage_error(const struct cli_ctx *ctx, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vprint_error(fmt, ap);
        va_end(ap);
        if (ctx && ctx->command)
                (void) fprintf(stderr, "try 'coding-agents %s --help'\n", ctx->command);
        else
                (void) fprintf(stderr, "try 'coding-agents --help'\n");
        return CLI_USAGE;
}

int cli_fail(const struct ca_error *err)
{
        (void) cli_error("%s", err->msg[0] ? err->msg : "unknown error");
        return ca_error_exit_status(err);
}

int cli_finish(int status)
{
        if (fflush(stdout) != 0 || ferror(stdout)) {
                (void) fprintf(stderr, "coding-agents: cannot write to standard output: %s\n",
                               strerror(errno));
                return status == CLI_OK ? CLI_FAIL : status;
        }
        return status;
}

int cli_help(const char *text)
{
        (void) fputs(text, stdout);
        return cli_finish(CLI_OK);
}

int cli_color_option(const struct cli_ctx *ctx, const char *when, enum cli_color *out)
{
        if (!when || strcmp(when, "always") == 0)
                *out = CLI_COLOR_ALWAYS;
        else if (strcmp(when, "auto") == 0)
                *out = CLI_COLOR_AUTO;
        else if (strcmp(when, "never") == 0)
                *out = CLI_COLOR_NEVER;
        else
                return cli_usage_error(ctx, "--color takes auto, always or never, not '%s'", when);
        return -1;
}

bool cli_color_on(enum cli_color mode, int fd)
{
        const char *no = secure_getenv("NO_COLOR");
        const char *term = secure_getenv("TERM");

        if (mode != CLI_COLOR_AUTO)
                return mode == CLI_COLOR_ALWAYS;
        return (!no || !*no) && isatty(fd) && !(term && strcmp(term, "dumb") == 0);
}

int cli_config_option(const struct cli_ctx *ctx, const char **files, size_t *n, const char *file)
{
        if (*n == CLI_MAX_CONFIGS)
                return cli_usage_error(ctx, "more than %d --config files", CLI_MAX_CONFIGS);
        files[(*n)++] = file;
        return -1;
}

int cli_default_sources(const struct cli_ctx *ctx, const char *workspace, char *owned[2],
                        const char **sources, size_t *n)
{
        owned[0] = paths_join(workspace, "config.toml");
        owned[1] = paths_join(ctx->config_root, "config.toml");
        if (!owned[0] || !owned[1])
                return -ENOMEM;
        for (size_t i = 0; i < 2; i++) {
                if (access(owned[i], F_OK) == 0)
                        sources[(*n)++] = owned[i];
        }
        return 0;
}

char *cli_sibling(const char *name)
{
        char exe[PATH_MAX];
        char *slash, *out = NULL;

        if (!realpath("/proc/self/exe", exe))
                return NULL;
        slash = strrchr(exe, '/');
        if (!slash)
                return NULL;
        *slash = '\0';
        return asprintf(&out, "%s/%s", exe, name) < 0 ? NULL : out;
}

int cli_exec_sibling(const char *name, char *const *argv)
{
        _cleanup_free_ char *path = cli_sibling(name);

        if (!path)
                return cli_error("cannot find the program '%s' beside this one", name);
        (void) fflush(stdout);
        (void) execv(path, argv);
        return cli_error("cannot run '%s': %s", path, strerror(errno));
}
