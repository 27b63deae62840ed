/* SPDX-License-Identifier: MIT */
/*
 * ca-broker: the secret broker daemon as a program of its own (docs/broker.md). It maps libc,
 * libsodium and jansson, nothing else: no HTTP, archive or engine code sits in the
 * process that holds the master key. Started by `coding-agents broker serve` (which execs it)
 * or by any broker client when no daemon answers (broker_ensure_running).
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <sodium.h>

#include "broker.h"
#include "cleanup.h"
#include "cli.h"
#include "error.h"
#include "parse.h"
#include "paths.h"
#include "profile.h"

static const char usage[] =
        "usage: ca-broker serve [--ready-fd N]\n"
        "\n"
        "Runs the secret broker daemon of this profile's config root in the foreground until\n"
        "SIGTERM or SIGINT. With --ready-fd, one byte is written to descriptor N once every\n"
        "socket listens. Users run 'coding-agents broker serve' (or nothing: clients start the\n"
        "daemon when it is not running).\n";

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"ready-fd", required_argument, NULL, 'r'},
                {0},
        };
        const struct rlimit no_core = {0, 0};
        struct cli_ctx ctx = {.command = "broker"};
        _cleanup_free_ char *root = NULL;
        struct profile_info prof;
        struct ca_error err = {0};
        uint64_t ready = 0;
        int ready_fd = -1;
        int c;

        /* The daemon holds the master key: never leave it in a core file. */
        (void) setrlimit(RLIMIT_CORE, &no_core);
        if (sodium_init() < 0)
                return cli_error("cannot initialise libsodium");
        if (argc < 2 || strcmp(argv[1], "serve") != 0) {
                if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
                        return cli_help(usage);
                (void) fputs(usage, stderr);
                return CLI_USAGE;
        }
        optind = 0;
        while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
                if (c == 'h')
                        return cli_help(usage);
                if (c != 'r' || parse_uint(optarg, 3, 1024, &ready) < 0)
                        return cli_usage_error(&ctx, c == 'r' ? "bad --ready-fd" : "unknown option");
                ready_fd = (int) ready;
        }
        if (optind < argc - 1)
                return cli_usage_error(&ctx, "unexpected argument '%s'", argv[optind + 1]);
        if (ready_fd >= 0 && fcntl(ready_fd, F_SETFD, FD_CLOEXEC) < 0)
                return cli_error("bad --ready-fd %d", ready_fd);
        profile_detect(NULL, &prof);
        if (paths_config_root(prof.profile, &root, &err) < 0)
                return cli_fail(&err);
        if (broker_daemon_run(root, ready_fd, &err) < 0)
                return cli_fail(&err);
        return CLI_OK;
}
