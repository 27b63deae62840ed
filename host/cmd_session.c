/* SPDX-License-Identifier: MIT */
/*
 * Sessions on the container engine: run, launch, list, stop, rm (and the container half of
 * kill). A session is a container named after the session, labelled io.coding-agents.session,
 * plus its rendered configuration in <config root>/sessions/<name>/ (0700), which is
 * bind-mounted read-only at /run/coding-agents/config where only agent-init (root) reads it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "buf.h"
#include "cleanup.h"
#include "cli.h"
#include "credential.h"
#include "digest.h"
#include "egress.h"
#include "error.h"
#include "fileio.h"
#include "image.h"
#include "json.h"
#include "manifest.h"
#include "parse.h"
#include "paths.h"
#include "profile.h"
#include "runtime/preflight.h"
#include "runtime/terminal.h"
#include "secret.h"
#include "session.h"
#include "session_launch.h"
#include "workspace.h"
#include "textsafe.h"

#define DEFAULT_MEMORY ((int64_t) 4 << 30)
#define DEFAULT_PIDS 1024
#define DEFAULT_GRACE 10
#define MAX_ARGS 256

static const char run_usage[] =
        "usage: coding-agents run|launch <agent> [PATH] [--config FILE]... [--disable NAME]...\n"
        "                        [--network proxy|none] [--proxy-network NET]\n"
        "                        [--proxy-resolver ADDRESS]... [--image REF] [--memory BYTES]\n"
        "                        [--pids N] [--grace SECONDS] [--endpoint SOCKET]\n"
        "                        [--ignore-workspace-config] [--no-state]\n"
        "                        [--worktree[=BRANCH] [--keep]]\n"
        "                        [-- COMMAND [ARGS...]]\n"
        "\n"
        "Starts a session of <agent> (claude, codex, copilot) on the workspace PATH (default:\n"
        "the current directory) in a hardened container of the agent image (see 'coding-agents\n"
        "image build'): read-only root, no-new-privileges, our seccomp profile (and AppArmor\n"
        "profile where the host enforces AppArmor), every capability dropped except the control\n"
        "plane's, tmpfs /run/coding-agents and /tmp (nosuid,nodev,noexec), pids and memory\n"
        "limits. agent-init installs the rendered MCP configuration, starts the stdio servers'\n"
        "stub launcher and one mcp-helper per remote server (each with its own capability from\n"
        "the broker), and runs the agent CLI as agentcli; COMMAND (default: the agent CLI with\n"
        "ARGS) replaces it. The CLI's login goes to the session's model helper, and the CLI\n"
        "gets a placeholder pointed at it ([model.AGENT] in your configuration; the start says\n"
        "when a login keeps today's path instead); a login it refreshed is written back to your\n"
        "login file at the end.\n"
        "\n"
        "The CLI's conversations and history on this workspace persist between sessions\n"
        "(claude --continue, codex resume, copilot --continue): brought in at the start and\n"
        "saved back at the end, never its login nor a file that holds a secret the broker\n"
        "stores; what comes back is checked as untrusted (no links, no special files, size\n"
        "limits). --no-state: start from nothing and keep nothing. 'coding-agents state'\n"
        "lists, exports and removes it. Your own CLAUDE.md (with settings.json, less the keys\n"
        "that run commands or carry credentials) and AGENTS.md come in read-only.\n"
        "\n"
        "--worktree[=BRANCH]: the session works in a new git worktree of the workspace (the\n"
        "        top of a git working tree) on a new branch, BRANCH or coding-agents/<session>,\n"
        "        so that agents on one repository do not trample each other; 'coding-agents diff\n"
        "        SESSION' shows what it changed, 'coding-agents merge SESSION' brings the branch\n"
        "        into your current branch. The worktree goes with the session (the branch\n"
        "        stays) unless --keep, or unless it holds changes not committed.\n"
        "\n"
        "--network proxy (default): the container's only peer is the session's egress proxy\n"
        "        (squid, a sidecar on an internal network), reached through HTTP(S)_PROXY; it has\n"
        "        no resolver. The sidecar goes out through --proxy-network (default 'bridge')\n"
        "        and resolves through --proxy-resolver (default: the host's nameservers).\n"
        "--network none: no network at all; remote servers are left out (render says so).\n"
        "\n"
        "run     stays attached: in a terminal, joins it to the session's (keys, screen, size);\n"
        "        otherwise prints the session's output. Stops it on SIGTERM/SIGHUP (and Ctrl-C\n"
        "        outside a terminal), removes it when it ends, exits with its status.\n"
        "launch  starts it detached, the agent in a tmux session, and prints the session name\n"
        "        (see connect, list, stop, kill, rm).\n"
        "\n"
        "The workspace's own config.toml is used only once approved ('coding-agents config\n"
        "approve PATH'); an unapproved or changed one refuses the session (exit 2) unless\n"
        "--ignore-workspace-config is given. Secrets go only to the servers your own\n"
        "configuration grants them to ([secrets], see docs/configuration.md). In the session,\n"
        "/workspace/.git/config, .git/hooks and .git/info are read-only.\n"
        "\n"
        "Before anything else, a prod install verifies itself (integrity-failed refuses), and\n"
        "the engine must pass 'coding-agents runtime check' (runtime-blocked refuses).\n";

/* --network, --proxy-network, --proxy-resolver: -1 when taken, else the exit status. */
static int parse_network_option(struct cli_ctx *ctx, struct launch_opts *o, int c)
{
        switch (c) {
        case 'n':
                if (strcmp(optarg, "none") != 0 && strcmp(optarg, "proxy") != 0)
                        return cli_usage_error(ctx, "bad --network '%s' (none or proxy)",
                                               optarg);
                o->rq.network = optarg[0] == 'n' ? CONFIG_NETWORK_NONE : CONFIG_NETWORK_PROXY;
                return -1;
        case 'N':
                if (!*optarg || strlen(optarg) > 64 || strchr(optarg, '/'))
                        return cli_usage_error(ctx, "bad --proxy-network '%s'", optarg);
                o->egress_network = optarg;
                return -1;
        case 'R': {
                unsigned char a6[16];

                if (o->nresolvers == CA_ELEMENTSOF(o->resolvers))
                        return cli_usage_error(ctx, "too many --proxy-resolver");
                if (inet_pton(AF_INET, optarg, a6) != 1 &&
                    inet_pton(AF_INET6, optarg, a6) != 1)
                        return cli_usage_error(ctx, "bad --proxy-resolver '%s' (an IP address)",
                                               optarg);
                o->resolvers[o->nresolvers++] = optarg;
                return -1;
        }
        default:
                return -1;
        }
}

static int parse_run(int argc, char **argv, struct cli_ctx *ctx, struct launch_opts *o)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"config", required_argument, NULL, 'c'},
                {"disable", required_argument, NULL, 'd'},
                {"image", required_argument, NULL, 'i'},
                {"memory", required_argument, NULL, 'm'},
                {"pids", required_argument, NULL, 'p'},
                {"grace", required_argument, NULL, 'g'},
                {"endpoint", required_argument, NULL, 'e'},
                {"network", required_argument, NULL, 'n'},
                {"proxy-network", required_argument, NULL, 'N'},
                {"proxy-resolver", required_argument, NULL, 'R'},
                {"ignore-workspace-config", no_argument, NULL, 'W'},
                {"no-state", no_argument, NULL, 'S'},
                {"worktree", optional_argument, NULL, 'T'},
                {"keep", no_argument, NULL, 'K'},
                {0},
        };
        uint64_t v;
        int c, a, r;

        /* "-- COMMAND [ARGS...]" is split off before option parsing (getopt would permute
         * it in with <agent> and PATH). */
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--") == 0) {
                        o->cmd = argv + i + 1;
                        o->ncmd = argc - i - 1;
                        argc = i;
                        break;
                }
        }
        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(run_usage);
                case 'c':
                        r = cli_config_option(ctx, o->rq.configs, &o->rq.nconfigs, optarg);
                        if (r >= 0)
                                return r;
                        break;
                case 'd':
                        if (o->rq.ndisable == SESSION_MAX_ITEMS)
                                return cli_usage_error(ctx, "too many --disable");
                        o->rq.disable[o->rq.ndisable++] = optarg;
                        break;
                case 'i':
                        o->image = optarg;
                        break;
                case 'W':
                        o->rq.ignore_workspace_config = true;
                        break;
                case 'S':
                        o->no_state = true;
                        break;
                case 'T':
                        o->worktree = true;
                        o->branch = optarg;
                        break;
                case 'K':
                        o->keep = true;
                        break;
                case 'm':
                        if (parse_uint(optarg, (uint64_t) 64 << 20, (uint64_t) 1 << 40, &v) < 0)
                                return cli_usage_error(ctx, "bad --memory '%s' (bytes, 64 MiB "
                                                            "to 1 TiB)",
                                                       optarg);
                        o->memory = (int64_t) v;
                        break;
                case 'p':
                        if (parse_uint(optarg, 16, 1 << 20, &v) < 0)
                                return cli_usage_error(ctx, "bad --pids '%s' (16 to 1048576)",
                                                       optarg);
                        o->pids = (int64_t) v;
                        break;
                case 'g':
                        if (parse_uint(optarg, 0, 3600, &o->grace) < 0)
                                return cli_usage_error(ctx, "bad --grace '%s' (0-3600 seconds)",
                                                       optarg);
                        break;
                case 'e':
                        o->endpoint = optarg;
                        break;
                case 'n':
                case 'N':
                case 'R':
                        r = parse_network_option(ctx, o, c);
                        if (r >= 0)
                                return r;
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (o->cmd && o->ncmd == 0)
                return cli_usage_error(ctx, "'--' needs a command after it");
        if (o->keep && !o->worktree)
                return cli_usage_error(ctx, "--keep goes with --worktree");
        if (o->ncmd > MAX_ARGS)
                return cli_usage_error(ctx, "too many command arguments");
        if (argc - optind < 1 || argc - optind > 2)
                return cli_usage_error(ctx, "%s takes an agent and an optional PATH",
                                       ctx->command);
        o->agent = argv[optind];
        a = render_agent_from_name(o->agent);
        if (a < 0)
                return cli_usage_error(ctx, "unknown agent '%s' (claude, codex or copilot)",
                                       o->agent);
        o->rq.agents = 1u << a;
        if (argc - optind == 2)
                o->rq.workspace = argv[optind + 1];
        return -1;
}

static int cmd_start(int argc, char **argv, struct cli_ctx *ctx, bool detach)
{
        struct launch_opts o = {
                .rq = {.workspace = ".", .network = CONFIG_NETWORK_PROXY},
                .image = IMAGE_CURRENT,
                .memory = DEFAULT_MEMORY,
                .pids = DEFAULT_PIDS,
                .grace = DEFAULT_GRACE,
                .detach = detach,
        };
        int r = parse_run(argc, argv, ctx, &o);

        if (r >= 0)
                return r;
        return session_launch(ctx, &o);
}

int cmd_run(int argc, char **argv, struct cli_ctx *ctx)
{
        return cmd_start(argc, argv, ctx, false);
}

int cmd_launch(int argc, char **argv, struct cli_ctx *ctx)
{
        return cmd_start(argc, argv, ctx, true);
}

/* ---- list ----------------------------------------------------------------------------------- */

static const char list_usage[] =
        "usage: coding-agents list [--json] [--endpoint SOCKET]\n"
        "\n"
        "Lists the sessions on the engine (containers labelled io.coding-agents.session):\n"
        "name, agent, state, workspace.\n";

int cmd_list(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"json", no_argument, NULL, 'j'},
                {"endpoint", required_argument, NULL, 'e'},
                {0},
        };
        _cleanup_runtime_ struct runtime *rt = NULL;
        _cleanup_json_ json_t *all = NULL;
        _cleanup_json_ json_t *out = json_array();
        const char *endpoint = NULL;
        struct ca_error err = {0};
        bool json = false;
        size_t i;
        json_t *c;
        int ch;

        optind = 0;
        while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (ch) {
                case 'h':
                        return cli_help(list_usage);
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
        if (optind < argc)
                return cli_usage_error(ctx, "list takes no arguments");
        if (!out)
                return cli_error("out of memory");
        if (runtime_open("docker", endpoint, &rt, &err) < 0 ||
            runtime_list(rt, RUNTIME_LABEL_SESSION, &all, &err) < 0)
                return cli_fail(&err);
        json_array_foreach(all, i, c) {
                const json_t *l = json_object_get(c, "Labels");
                const char *mode = json_string_value(json_object_get(l, RUNTIME_LABEL_MODE));
                json_t *row;

                /* A session's egress proxy is part of it, not a session. */
                if (mode && strcmp(mode, "proxy") == 0)
                        continue;
                row = json_pack(
                        "{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:I}", "session",
                        json_string_value(json_object_get(l, RUNTIME_LABEL_SESSION)), "agent",
                        json_string_value(json_object_get(l, RUNTIME_LABEL_AGENT)), "mode",
                        json_string_value(json_object_get(l, RUNTIME_LABEL_MODE)), "workspace",
                        json_string_value(json_object_get(l, RUNTIME_LABEL_WORKSPACE)), "branch",
                        json_string_value(json_object_get(l, RUNTIME_LABEL_BRANCH)), "state",
                        json_string_value(json_object_get(c, "State")), "status",
                        json_string_value(json_object_get(c, "Status")), "created",
                        json_integer_value(json_object_get(c, "Created")));

                if (!row || json_array_append_new(out, row) < 0)
                        return cli_error("out of memory");
        }
        if (json) {
                _cleanup_buf_ struct buf b = BUF_INIT;

                if (ca_json_pretty(out, &b, &err) < 0)
                        return cli_fail(&err);
                (void) fwrite(b.data, 1, b.len, stdout);
                return cli_finish(CLI_OK);
        }
        (void) printf("%-40s %-8s %-8s %s\n", "SESSION", "AGENT", "STATE", "WORKSPACE");
        json_array_foreach(out, i, c) {
                const char *s = json_string_value(json_object_get(c, "session"));
                const char *a = json_string_value(json_object_get(c, "agent"));
                const char *st = json_string_value(json_object_get(c, "state"));
                const char *w = json_string_value(json_object_get(c, "workspace"));
                const char *b = json_string_value(json_object_get(c, "branch"));
                char ws[PATH_MAX], br[512];

                /* The workspace is a directory name: anything but '/' and NUL. */
                (void) printf("%-40s %-8s %-8s %s", s ? s : "?", a ? a : "?", st ? st : "?",
                              text_escape_to(w ? w : "?", 0, ws, sizeof(ws)));
                if (b)
                        (void) printf("  (branch %s)", text_escape_to(b, 0, br, sizeof(br)));
                (void) printf("\n");
        }
        return cli_finish(CLI_OK);
}

/* ---- stop, rm -------------------------------------------------------------------------------- */

static int one_session(int argc, char **argv, struct cli_ctx *ctx, const char *usage,
                       const char **endpoint, uint64_t *grace, bool *force)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"endpoint", required_argument, NULL, 'e'},
                {"grace", required_argument, NULL, 'g'},
                {"force", no_argument, NULL, 'f'},
                {0},
        };
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "hf", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 'e':
                        *endpoint = optarg;
                        break;
                case 'g':
                        if (!grace || parse_uint(optarg, 0, 3600, grace) < 0)
                                return cli_usage_error(ctx, "bad --grace");
                        break;
                case 'f':
                        if (!force)
                                return cli_usage_error(ctx, "unknown option");
                        *force = true;
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (argc - optind != 1)
                return cli_usage_error(ctx, "%s takes one session", ctx->command);
        if (!capability_valid_session(argv[optind]))
                return cli_usage_error(ctx, "bad session name '%s'", argv[optind]);
        return -1;
}

int cmd_stop(int argc, char **argv, struct cli_ctx *ctx)
{
        static const char usage[] =
                "usage: coding-agents stop <session> [--grace SECONDS] [--endpoint SOCKET]\n"
                "\n"
                "Stops the session's container: SIGTERM to agent-init, which stops the agent and\n"
                "everything else, scrubs the homes and exits; SIGKILL after --grace (default 10).\n"
                "Then its egress proxy (proxy mode). The containers stay until 'rm' or 'kill'.\n"
                "Idempotent.\n";
        _cleanup_runtime_ struct runtime *rt = NULL;
        const char *endpoint = NULL;
        uint64_t grace = DEFAULT_GRACE;
        struct ca_error err = {0};
        const char *name;
        int r = one_session(argc, argv, ctx, usage, &endpoint, &grace, NULL);

        if (r >= 0)
                return r;
        name = argv[optind];
        if (runtime_open("docker", endpoint, &rt, &err) < 0)
                return cli_fail(&err);
        r = session_lookup(rt, name, NULL, &err);
        if (r < 0)
                return cli_fail(&err);
        if (r > 0 && runtime_stop(rt, name, (unsigned) grace + 2, &err) < 0)
                return cli_fail(&err);
        /* The proxy mode's sidecar stops after the agent (its helpers may still be talking). */
        if (r > 0) {
                char proxy[CAP_SESSION_MAX + 16];

                session_proxy_name(name, proxy, sizeof(proxy));
                if (runtime_stop(rt, proxy, 2, &err) < 0)
                        return cli_fail(&err);
        }
        (void) session_emit(ctx->config_root, AUDIT_SESSION_STOP, name,
                            json_pack("{s:s, s:b}", "by", "stop", "existed", r > 0));
        (void) printf("session %s: stopped\n", name);
        return cli_finish(CLI_OK);
}

int cmd_rm(int argc, char **argv, struct cli_ctx *ctx)
{
        static const char usage[] =
                "usage: coding-agents rm <session> [--force] [--endpoint SOCKET]\n"
                "\n"
                "Removes a stopped session: its container and its rendered configuration. A\n"
                "running session is refused unless --force (which kills it without revoking its\n"
                "capabilities; 'kill' does both). Idempotent.\n";
        _cleanup_runtime_ struct runtime *rt = NULL;
        _cleanup_json_ json_t *ins = NULL;
        const char *endpoint = NULL;
        struct ca_error err = {0};
        bool force = false;
        const char *name;
        int r = one_session(argc, argv, ctx, usage, &endpoint, NULL, &force);

        if (r >= 0)
                return r;
        name = argv[optind];
        if (runtime_open("docker", endpoint, &rt, &err) < 0)
                return cli_fail(&err);
        r = session_lookup(rt, name, &ins, &err);
        if (r < 0)
                return cli_fail(&err);
        if (r > 0 && !force &&
            json_is_true(json_object_get(json_object_get(ins, "State"), "Running")))
                return cli_error("session %s is running: stop it first (or kill it)", name);
        if (session_remove(ctx->config_root, rt, name, false, &err) < 0)
                return cli_fail(&err);
        (void) printf("session %s: removed\n", name);
        return cli_finish(CLI_OK);
}

/* ---- connect --------------------------------------------------------------------------------- */

int cmd_connect(int argc, char **argv, struct cli_ctx *ctx)
{
        static const char usage[] =
                "usage: coding-agents connect <session> [--shell] [--endpoint SOCKET]\n"
                "\n"
                "Joins this terminal to a launched session: its agent's tmux session (as\n"
                "agentcli; detach with C-b d, the agent keeps running), or with --shell a new\n"
                "shell as agentuser, the workload user, who can read neither the agent's\n"
                "credential nor its configuration. Exits with the status of what ran.\n";
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"shell", no_argument, NULL, 's'},
                {"endpoint", required_argument, NULL, 'e'},
                {0},
        };
        static const char *const attach_cmd[] = {"tmux", "attach-session", "-t", "agent", NULL};
        static const char *const shell_cmd[] = {"bash", NULL};
        _cleanup_runtime_ struct runtime *rt = NULL;
        _cleanup_json_ json_t *ins = NULL;
        _cleanup_buf_ struct buf early = BUF_INIT;
        _cleanup_close_ int fd = -1;
        const char *endpoint = NULL, *name, *term = secure_getenv("TERM");
        char exec_id[65], env_term[96], env_home[128], env_tmux[128];
        const char *env[4] = {env_term, env_home, NULL, NULL};
        struct ca_error err = {0};
        bool shell = false;
        int c, r, code = 0;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 's':
                        shell = true;
                        break;
                case 'e':
                        endpoint = optarg;
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (argc - optind != 1 || !capability_valid_session(argv[optind]))
                return cli_usage_error(ctx, "connect takes one session");
        name = argv[optind];
        if (!terminal_interactive())
                return cli_usage_error(ctx, "connect needs a terminal on stdin and stdout");
        if (runtime_open("docker", endpoint, &rt, &err) < 0)
                return cli_fail(&err);
        r = session_lookup(rt, name, &ins, &err);
        if (r < 0)
                return cli_fail(&err);
        if (r == 0 || !json_is_true(json_object_get(json_object_get(ins, "State"), "Running")))
                return cli_error("no running session %s (see 'coding-agents list')", name);
        (void) snprintf(env_term, sizeof(env_term), "TERM=%s",
                        term && strlen(term) < 64 ? term : "xterm-256color");
        (void) snprintf(env_home, sizeof(env_home), "HOME=%s/%s", IMAGE_HOME_DIR,
                        shell ? "agentuser" : "agentcli");
        if (!shell) {
                (void) snprintf(env_tmux, sizeof(env_tmux), "TMUX_TMPDIR=%s/agentcli",
                                IMAGE_HOME_DIR);
                env[2] = env_tmux;
        }
        if (runtime_exec_create(rt, name, shell ? "1000:1000" : "1001:1001",
                                shell ? shell_cmd : attach_cmd, env, exec_id, &err) < 0 ||
            runtime_exec_start(rt, exec_id, &fd, &early, &err) < 0)
                return cli_fail(&err);
        {
                struct terminal_target tt = {rt, exec_id, true};

                if (terminal_pump(fd, &early, terminal_resize_container, &tt) < 0)
                        return cli_error("cannot use the terminal");
        }
        if (runtime_exec_status(rt, exec_id, &code, &err) < 0)
                return cli_fail(&err);
        return cli_finish(code);
}

int cmd_kill(int argc, char **argv, struct cli_ctx *ctx)
{
        static const char kill_usage[] =
                "usage: coding-agents kill <session> [--endpoint SOCKET]\n"
                "\n"
                "The kill switch: first revokes every capability of the session at once (later\n"
                "redemptions fail and its broker socket is removed), then removes its container\n"
                "(SIGKILL, whatever state it is in) and its rendered configuration. Idempotent:\n"
                "a session that is already gone is success.\n";
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
                                             {"endpoint", required_argument, NULL, 'e'},
                                             {0}};
        _cleanup_runtime_ struct runtime *rt = NULL;
        const char *endpoint = NULL;
        struct ca_error err = {0};
        const char *name;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'h')
                        return cli_help(kill_usage);
                if (c == 'e') {
                        endpoint = optarg;
                        continue;
                }
                return cli_usage_error(ctx, "unknown option");
        }
        if (argc - optind != 1)
                return cli_usage_error(ctx, "kill takes one session");
        name = argv[optind];
        if (!capability_valid_session(name))
                return cli_usage_error(ctx, "bad session name '%s'", name);
        if (broker_admin_revoke_session(ctx, name, &err) < 0)
                return cli_fail(&err);
        (void) printf("session %s: all capabilities revoked\n", name);
        if (runtime_open("docker", endpoint, &rt, &err) < 0)
                return cli_fail(&err);
        if (access(runtime_endpoint(rt), F_OK) < 0 && errno == ENOENT) {
                /* No engine listens there, so no container of ours runs there. */
                (void) fprintf(stderr, "coding-agents: no container engine at '%s': no container "
                                       "to remove\n",
                               runtime_endpoint(rt));
                rt = runtime_close(rt);
        }
        if (session_remove(ctx->config_root, rt, name, false, &err) < 0)
                return cli_fail(&err);
        (void) printf("session %s: container and configuration removed\n", name);
        return cli_finish(CLI_OK);
}
