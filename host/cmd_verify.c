/* SPDX-License-Identifier: MIT */
/* coding-agents verify [RELEASE_DIR]: check a release against its SHA256SUMS. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "cleanup.h"
#include "cli.h"
#include "error.h"
#include "json.h"
#include "parse.h"
#include "paths.h"
#include "sums.h"

static const char usage[] =
        "usage: coding-agents verify [--threads N] [RELEASE_DIR]\n"
        "\n"
        "Checks every file of a release against its SHA256SUMS and reports each mismatched,\n"
        "missing and unlisted file; symlinks are never followed. Without RELEASE_DIR, the\n"
        "release this binary was installed from. Records an integrity-ok or integrity-failed\n"
        "event. Exit status 1 on any problem.\n"
        "\n"
        "  --threads N   hash on N threads (default: one below 16 MB in all, else one per\n"
        "                core, at least 4 MB each)\n";

/* <release>/bin/coding-agents -> <release>, when it holds a SHA256SUMS. */
static int own_release(char *out, size_t outlen)
{
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        char *slash;

        if (n <= 0)
                return -ENOENT;
        exe[n] = '\0';
        for (int up = 0; up < 2; up++) {
                slash = strrchr(exe, '/');
                if (!slash || slash == exe)
                        return -ENOENT;
                *slash = '\0';
        }
        if (snprintf(out, outlen, "%s", exe) >= (int) outlen)
                return -ENAMETOOLONG;
        {
                _cleanup_free_ char *sums = paths_join(out, SUMS_FILE);
                if (!sums || access(sums, F_OK) < 0)
                        return -ENOENT;
        }
        return 0;
}

int cmd_verify(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"threads", required_argument, NULL, 't'},
                {0},
        };
        struct sums_report rep = {0};
        struct ca_error err = {0};
        _cleanup_free_ char *log = NULL;
        char dir[PATH_MAX];
        uint64_t threads = 0;
        json_t *fields;
        int c;
        int r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 't':
                        if (parse_uint(optarg, 1, 64, &threads) < 0)
                                return cli_usage_error(ctx, "bad --threads '%s' (1 to 64)",
                                                       optarg);
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (argc - optind > 1)
                return cli_usage_error(ctx, "verify takes at most one RELEASE_DIR");
        if (optind < argc) {
                if (snprintf(dir, sizeof(dir), "%s", argv[optind]) >= (int) sizeof(dir))
                        return cli_usage_error(ctx, "path too long");
        } else if (own_release(dir, sizeof(dir)) < 0) {
                return cli_usage_error(ctx, "this binary does not run from a release: give "
                                            "RELEASE_DIR");
        }
        r = sums_verify_dir(dir, (unsigned) threads, &rep, &err);
        if (r < 0)
                return cli_fail(&err);
        fields = json_pack("{s:s, s:I, s:I}", "release", dir, "checked", (json_int_t) rep.checked,
                           "problems", (json_int_t) rep.problems);
        if (fields && rep.problems)
                (void) json_object_set_new(fields, "first",
                                           json_stringn(rep.text.data,
                                                        rep.text.len > 2000 ? 2000 : rep.text.len));
        log = paths_events_log(ctx->config_root);
        if (!log || audit_emit(log, rep.problems ? AUDIT_INTEGRITY_FAILED : AUDIT_INTEGRITY_OK,
                               NULL, fields, &err) < 0)
                (void) cli_error("cannot record the integrity event: %s, ignoring", err.msg);
        json_decref(fields);
        if (rep.problems) {
                (void) fputs(rep.text.data, stdout);
                (void) cli_finish(CLI_OK);
                (void) cli_error("'%s' failed the integrity check: %zu problem%s (%zu files "
                                 "listed)",
                                 dir, rep.problems, rep.problems == 1 ? "" : "s", rep.checked);
                sums_report_clear(&rep);
                return CLI_FAIL;
        }
        (void) printf("ok: %zu files match %s/%s\n", rep.checked, dir, SUMS_FILE);
        sums_report_clear(&rep);
        return cli_finish(CLI_OK);
}
