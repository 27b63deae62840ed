/* SPDX-License-Identifier: MIT */
/* coding-agents proxy config|run|events: the egress proxy (squid + dnsmasq), ARCHITECTURE §9. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "capability.h"
#include "cleanup.h"
#include "cli.h"
#include "config.h"
#include "egress.h"
#include "error.h"
#include "fileio.h"
#include "json.h"
#include "parse.h"
#include "paths.h"
#include "session.h"
#include "spawn.h"

static const char usage[] =
        "usage: coding-agents proxy config [--config FILE]... [--workspace DIR] --out DIR\n"
        "                                  [--root PATH] [--resolver ADDRESS]... [--port N]\n"
        "       coding-agents proxy run|events ARGS...   (egress-proxy run|events, see\n"
        "                                                 'egress-proxy --help')\n"
        "\n"
        "The egress proxy: the only way out of a session's containers.\n"
        "\n"
        "config  renders squid.conf, dnsmasq.conf, error pages and proxy.json into DIR (which\n"
        "        must not exist) from [network] in config.toml plus the hosts of enabled\n"
        "        remote MCP servers. --root is where DIR will be at run time (default: DIR\n"
        "        itself; the sidecar image uses /etc/coding-agents/proxy). --resolver names\n"
        "        the upstream DNS servers (default: the non-loopback nameservers of\n"
        "        /etc/resolv.conf). --port is squid's port (default 3128).\n"
        "run, events: the proxy's supervisor, egress-proxy (a program of its own: it runs in\n"
        "        the session's sidecar); 'events' appends to this config root's event log\n"
        "        unless --log is given.\n"
        "\n"
        "See docs/network-proxy.md.\n";

#define MAX_RESOLVERS 8

/* ---- proxy config ---- */

static char *absolute_dir(const char *dir)
{
        _cleanup_free_ char *copy = strdup(dir);
        _cleanup_free_ char *parent = NULL;
        char *slash, *real, *res = NULL;
        const char *base;

        if (!copy)
                return NULL;
        while (strlen(copy) > 1 && copy[strlen(copy) - 1] == '/')
                copy[strlen(copy) - 1] = '\0';
        slash = strrchr(copy, '/');
        if (slash) {
                *slash = '\0';
                parent = strdup(slash == copy ? "/" : copy);
                base = slash + 1;
        } else {
                parent = strdup(".");
                base = copy;
        }
        if (!parent || !*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
                return NULL;
        real = realpath(parent, NULL);
        if (!real)
                return NULL;
        if (asprintf(&res, "%s/%s", strcmp(real, "/") == 0 ? "" : real, base) < 0)
                res = NULL;
        free(real);
        return res;
}

static int proxy_config(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"config", required_argument, NULL, 'c'},
                {"workspace", required_argument, NULL, 'w'},
                {"out", required_argument, NULL, 'o'},
                {"root", required_argument, NULL, 'r'},
                {"resolver", required_argument, NULL, 'R'},
                {"port", required_argument, NULL, 'p'},
                {0},
        };
        _cleanup_config_ struct config cfg = CONFIG_INIT;
        const char *sources[CLI_MAX_CONFIGS + 2];
        char *resolvers[MAX_RESOLVERS] = {0};
        _cleanup_(cli_sources_free) char *owned[2] = {NULL, NULL};
        _cleanup_free_ char *abs_out = NULL;
        const char *workspace = ".", *out = NULL, *root = NULL;
        struct egress_result res = {0};
        struct egress_opts eo = {0};
        struct ca_error err = {0};
        size_t n = 0, nres = 0;
        int c, ret;

        optind = 0;
        while ((c = getopt_long(argc, argv, "hc:w:o:", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 'c':
                        ret = cli_config_option(ctx, sources, &n, optarg);
                        if (ret >= 0)
                                return ret;
                        break;
                case 'w':
                        workspace = optarg;
                        break;
                case 'o':
                        out = optarg;
                        break;
                case 'r':
                        root = optarg;
                        break;
                case 'R':
                        if (nres == MAX_RESOLVERS)
                                return cli_usage_error(ctx, "more than %d --resolver",
                                                       MAX_RESOLVERS);
                        resolvers[nres] = strdup(optarg);
                        if (!resolvers[nres++])
                                return cli_error("out of memory");
                        break;
                case 'p': {
                        uint64_t v;

                        if (parse_uint(optarg, 1, 65535, &v) < 0)
                                return cli_usage_error(ctx, "bad --port '%s'", optarg);
                        eo.port = (uint16_t) v;
                        break;
                }
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (optind < argc)
                return cli_usage_error(ctx, "unexpected argument '%s'", argv[optind]);
        if (!out)
                return cli_usage_error(ctx, "--out DIR is required");
        if (n == 0 && cli_default_sources(ctx, workspace, owned, sources, &n) < 0)
                return cli_error("out of memory");
        abs_out = absolute_dir(out);
        if (!abs_out)
                return cli_usage_error(ctx, "bad --out '%s': its parent must exist", out);
        if (!nres && session_default_resolvers(resolvers, MAX_RESOLVERS, &nres) < 0)
                return cli_error("out of memory");
        eo.root = root ? root : abs_out;
        eo.resolvers = (const char *const *) resolvers;
        eo.nresolvers = nres;
        ret = config_load(&cfg, sources, n, &err);
        if (ret >= 0)
                ret = egress_render(&cfg, &eo, &res, &err);
        if (ret >= 0)
                ret = egress_write(&res, out, &err);
        if (ret >= 0)
                (void) printf("proxy configuration written to %s (%zu files)\n", out, res.nfiles);
        egress_result_clear(&res);
        for (size_t i = 0; i < nres; i++)
                free(resolvers[i]);
        if (ret < 0)
                return cli_fail(&err);
        return cli_finish(CLI_OK);
}

/* ---- proxy run, proxy events: the supervisor is a container-side program ---- */

/* `proxy run|events ARGS`: the sidecar's own supervisor (egress-proxy, beside this binary),
 * for the tests' network namespaces and for running a proxy by hand. */
static int forward(int argc, char **argv, struct cli_ctx *ctx, bool events)
{
        _cleanup_free_ char *prog = cli_sibling("egress-proxy");
        _cleanup_free_ char *log = paths_events_log(ctx->config_root);
        const char **args = calloc((size_t) argc + 4, sizeof(*args));
        bool has_log = false;
        size_t n = 0;

        if (!prog || !log || !args) {
                free(args);
                return cli_error("out of memory");
        }
        args[n++] = "egress-proxy";
        for (int i = 0; i < argc; i++) {
                has_log = has_log || strcmp(argv[i], "--log") == 0 ||
                          strncmp(argv[i], "--log=", 6) == 0;
                args[n++] = argv[i];
        }
        /* `events` appends to this config root's log unless told otherwise. */
        if (events && !has_log) {
                args[n++] = "--log";
                args[n++] = log;
        }
        args[n] = NULL;
        (void) fflush(stdout);
        execv(prog, (char *const *) args);
        free(args);
        return cli_error("cannot run '%s': %m", prog);
}

int cmd_proxy(int argc, char **argv, struct cli_ctx *ctx)
{
        if (argc < 2)
                return cli_usage_error(ctx, "missing subcommand (config, run or events)");
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
                return cli_help(usage);
        if (strcmp(argv[1], "config") == 0)
                return proxy_config(argc - 1, argv + 1, ctx);
        if (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "events") == 0)
                return forward(argc - 1, argv + 1, ctx, argv[1][0] == 'e');
        return cli_usage_error(ctx, "unknown subcommand '%s'", argv[1]);
}
