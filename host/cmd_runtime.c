/* SPDX-License-Identifier: MIT */
/* coding-agents runtime check: is the container engine one we will use? */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "error.h"
#include "json.h"
#include "runtime/preflight.h"

static const char usage[] =
        "usage: coding-agents runtime check [--json] [--endpoint SOCKET]\n"
        "\n"
        "Asks the container engine who it is (Engine API /_ping, /version, /info) and says\n"
        "whether sessions may use it. Refused, with a runtime-blocked event and a remedy:\n"
        "Podman's Docker-compatible API, rootless or user-namespace-remapped engines, engines\n"
        "without seccomp, Engine API older than 1.41, and engines without AppArmor on a host\n"
        "that enforces it. The engine is DOCKER_HOST (unix:// only) or /var/run/docker.sock.\n"
        "Exit status: 0 usable, 1 refused or unreachable.\n";

int cmd_runtime(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"json", no_argument, NULL, 'j'},
                {"endpoint", required_argument, NULL, 'e'},
                {0},
        };
        const char *endpoint = NULL;
        struct engine_facts f;
        struct ca_error err = {0};
        bool json = false;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 'j':
                        json = true;
                        break;
                case 'e':
                        endpoint = optarg;
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (argc - optind != 1 || strcmp(argv[optind], "check") != 0)
                return cli_usage_error(ctx, "runtime takes one subcommand: check");
        r = runtime_gate(ctx->config_root, endpoint, NULL, NULL, &f, &err);
        if (json && f.api_version[0]) {
                _cleanup_json_ json_t *o = engine_facts_json(&f);
                _cleanup_buf_ struct buf b = BUF_INIT;
                struct ca_error e2 = {0};

                if (!o)
                        return cli_error("out of memory");
                (void) json_object_set_new(o, "usable", json_boolean(r == 0));
                if (r < 0)
                        (void) json_object_set_new(o, "reason", json_string(err.msg));
                if (ca_json_pretty(o, &b, &e2) < 0)
                        return cli_fail(&e2);
                (void) fwrite(b.data, 1, b.len, stdout);
        }
        if (r < 0)
                return cli_fail(&err);
        if (!json)
                (void) printf("engine: %s %s (Engine API %s, %s), seccomp %s, apparmor %s, cgroup "
                              "v%d: usable\n",
                              f.product, f.version, f.api_version, f.os[0] ? f.os : "unknown OS",
                              f.seccomp ? "yes" : "no", f.apparmor ? "yes" : "no",
                              f.cgroup_version);
        return cli_finish(CLI_OK);
}
