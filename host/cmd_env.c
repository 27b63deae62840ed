/* SPDX-License-Identifier: MIT */
/* coding-agents env: which profile this binary runs in, and where things live. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "cleanup.h"
#include "cli.h"
#include "error.h"
#include "json.h"
#include "paths.h"
#include "profile.h"

static const char usage[] =
        "usage: coding-agents env [--json | --shell]\n"
        "\n"
        "Prints the profile (prod when running from a verified install under\n"
        "<prefix>/releases/<version>/, dev from a build tree), the config root (prod\n"
        "~/.config/coding-agents, dev ~/.config/coding-agents-dev, unless\n"
        "CODING_AGENTS_CONFIG_DIR is set) and the event log, and records an env-detect event.\n"
        "--shell prints NAME='value' lines to eval.\n";

/* Single-quotes a value for a POSIX shell. */
static void shell_value(const char *name, const char *v)
{
        (void) printf("%s='", name);
        for (; *v; v++) {
                if (*v == '\'')
                        (void) fputs("'\\''", stdout);
                else
                        (void) putchar(*v);
        }
        (void) fputs("'\n", stdout);
}

int cmd_env(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"json", no_argument, NULL, 'j'},
                {"shell", no_argument, NULL, 's'},
                {0},
        };
        struct profile_info p;
        struct ca_error err = {0};
        _cleanup_free_ char *log = NULL;
        _cleanup_json_ json_t *o = NULL;
        const char *profile;
        bool json = false;
        bool shell = false;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 'j':
                        json = true;
                        break;
                case 's':
                        shell = true;
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (optind < argc || (json && shell))
                return cli_usage_error(ctx, "env takes no arguments and one output format");
        profile_detect(NULL, &p);
        profile = p.profile == PATHS_PROFILE_PROD ? "prod" : "dev";
        log = paths_events_log(ctx->config_root);
        o = profile_env_json(&p, ctx->config_root, NULL);
        if (!o || !log)
                return cli_error("out of memory");
        if ( audit_emit(log, AUDIT_ENV_DETECT, NULL, o, &err) < 0)
                (void) cli_error("cannot record env-detect: %s, ignoring", err.msg);
        if (json) {
                _cleanup_buf_ struct buf b = BUF_INIT;
                if (ca_json_pretty(o, &b, &err) < 0)
                        return cli_fail(&err);
                (void) fwrite(b.data, 1, b.len, stdout);
        } else if (shell) {
                const char *key;
                json_t *v;
                json_object_foreach(o, key, v) {
                        char name[64];
                        (void) snprintf(name, sizeof(name), "CODING_AGENTS_%s", key);
                        for (char *n = name; *n; n++)
                                *n = (char) (*n >= 'a' && *n <= 'z' ? *n - 'a' + 'A' : *n);
                        shell_value(name, json_string_value(v));
                }
        } else {
                (void) printf("profile:     %s\nbinary:      %s\nconfig root: %s\nevent log:   %s\n",
                              profile, p.exe, ctx->config_root, log);
                if (p.profile == PATHS_PROFILE_PROD)
                        (void) printf("release:     %s (%s)\n", p.release_dir, p.version);
        }
        return cli_finish(CLI_OK);
}
