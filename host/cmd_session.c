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
#include "workspace.h"
#include "textsafe.h"

#define DEFAULT_MEMORY ((int64_t) 4 << 30)
#define DEFAULT_PIDS 1024
#define DEFAULT_GRACE 10
#define MAX_ARGS 256

/* The control plane's capabilities (docs/security-model.md says why each). */
static const char *const control_caps[] = {"CHOWN", "KILL", "SETGID", "SETPCAP", "SETUID",
                                           "SYS_ADMIN", NULL};

static const char run_usage[] =
        "usage: coding-agents run|launch <agent> [PATH] [--config FILE]... [--disable NAME]...\n"
        "                        [--network proxy|none] [--proxy-network NET]\n"
        "                        [--proxy-resolver ADDRESS]... [--image REF] [--memory BYTES]\n"
        "                        [--pids N] [--grace SECONDS] [--endpoint SOCKET]\n"
        "                        [--ignore-workspace-config] [-- COMMAND [ARGS...]]\n"
        "\n"
        "Starts a session of <agent> (claude, codex, copilot) on the workspace PATH (default:\n"
        "the current directory) in a hardened container of the agent image (see 'coding-agents\n"
        "image build'): read-only root, no-new-privileges, our seccomp profile (and AppArmor\n"
        "profile where the host enforces AppArmor), every capability dropped except the control\n"
        "plane's, tmpfs /run/coding-agents and /tmp (nosuid,nodev,noexec), pids and memory\n"
        "limits. agent-init installs the rendered MCP configuration, starts the stdio servers'\n"
        "stub launcher and one mcp-helper per remote server (each with its own capability from\n"
        "the broker), and runs the agent CLI as agentcli; COMMAND (default: the agent CLI with\n"
        "ARGS) replaces it.\n"
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

struct run_opts {
        struct session_request rq;
        const char *agent;
        const char *image;
        const char *endpoint;
        int64_t memory;
        int64_t pids;
        uint64_t grace;
        char *const *cmd; /* after "--", or NULL */
        int ncmd;
        bool detach;
        const char *egress_network;
        const char *resolvers[8];
        size_t nresolvers;
};

static int parse_run(int argc, char **argv, struct cli_ctx *ctx, struct run_opts *o)
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
                {0},
        };
        uint64_t v;
        int c, a;

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
                        if (o->rq.nconfigs == SESSION_MAX_ITEMS)
                                return cli_usage_error(ctx, "too many --config files");
                        o->rq.configs[o->rq.nconfigs++] = optarg;
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
                        if (strcmp(optarg, "none") != 0 && strcmp(optarg, "proxy") != 0)
                                return cli_usage_error(ctx, "bad --network '%s' (none or proxy)",
                                                       optarg);
                        o->rq.network = optarg[0] == 'n' ? CONFIG_NETWORK_NONE
                                                         : CONFIG_NETWORK_PROXY;
                        break;
                case 'N':
                        if (!*optarg || strlen(optarg) > 64 || strchr(optarg, '/'))
                                return cli_usage_error(ctx, "bad --proxy-network '%s'", optarg);
                        o->egress_network = optarg;
                        break;
                case 'R': {
                        unsigned char a6[16];

                        if (o->nresolvers == CA_ELEMENTSOF(o->resolvers))
                                return cli_usage_error(ctx, "too many --proxy-resolver");
                        if (inet_pton(AF_INET, optarg, a6) != 1 &&
                            inet_pton(AF_INET6, optarg, a6) != 1)
                                return cli_usage_error(ctx, "bad --proxy-resolver '%s' (an IP "
                                                            "address)",
                                                       optarg);
                        o->resolvers[o->nresolvers++] = optarg;
                        break;
                }
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (o->cmd && o->ncmd == 0)
                return cli_usage_error(ctx, "'--' needs a command after it");
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

/* The seccomp profile and, where the host enforces AppArmor, the loaded AppArmor profile. */
static int load_profiles(struct buf *seccomp, const char **apparmor, struct ca_error *err)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_json_ json_t *v = NULL;
        _cleanup_buf_ struct buf loaded = BUF_INIT;
        char docker[PATH_MAX];
        int r;

        r = session_docker_dir(docker, sizeof(docker), err);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/profiles/seccomp.json", docker) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = fileio_read_path(path, (size_t) 1 << 20, seccomp, err);
        if (r < 0)
                return r;
        r = ca_json_parse(seccomp->data, seccomp->len, path, &v, err);
        if (r < 0)
                return r;
        if (buf_append_char(seccomp, '\0') < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        *apparmor = NULL;
        if (!runtime_host_apparmor())
                return 0;
        if (fileio_read_path("/sys/kernel/security/apparmor/profiles", (size_t) 4 << 20, &loaded,
                             NULL) < 0 ||
            buf_append_char(&loaded, '\0') < 0 ||
            !strstr(loaded.data, SESSION_APPARMOR_PROFILE " ("))
                return ca_error_setx(err, EPERM,
                                     "this host enforces AppArmor but the profile '%s' is not "
                                     "loaded. Remedy: apparmor_parser -r -W "
                                     "%s/profiles/apparmor-coding-agents",
                                     SESSION_APPARMOR_PROFILE, docker);
        *apparmor = SESSION_APPARMOR_PROFILE;
        return 0;
}

/* Builds argv for agent-init: --agent A --grace N [--proxy URL] -- COMMAND... */
static const char **init_argv(const struct run_opts *o, char *grace, bool quiet,
                              const char *proxy_url)
{
        const char **v = calloc((size_t) o->ncmd + 12, sizeof(*v));
        size_t n = 0;

        if (!v)
                return NULL;
        if (quiet)
                v[n++] = "--quiet";
        /* launch: the agent lives in a tmux session that `connect` attaches to. */
        if (o->detach)
                v[n++] = "--tmux";
        (void) snprintf(grace, 24, "%llu", (unsigned long long) o->grace);
        v[n++] = "--agent";
        v[n++] = o->agent;
        v[n++] = "--grace";
        v[n++] = grace;
        if (proxy_url) {
                v[n++] = "--proxy";
                v[n++] = proxy_url;
        }
        v[n++] = "--";
        if (o->cmd) {
                for (int i = 0; i < o->ncmd; i++)
                        v[n++] = o->cmd[i];
        } else {
                v[n++] = o->agent;
        }
        v[n] = NULL;
        return v;
}

/* Ctrl-C / SIGTERM during `run`: stop the session (agent-init gets SIGTERM and the grace). */
/*
 * The stopper thread's own copy of what it needs: it outlives start_session()'s frame (a stop
 * request can be handled while `run` is already cleaning up), so it shares no memory with it.
 * Allocated once per process and never freed: the thread runs until the process exits.
 */
struct stopper {
        char endpoint[4096];
        char name[CAP_SESSION_MAX + 1];
        unsigned grace;
        sigset_t set;
};

static void *stopper_main(void *arg)
{
        struct stopper *s = arg;
        int sig;

        while (sigwait(&s->set, &sig) == 0) {
                _cleanup_runtime_ struct runtime *rt = NULL;
                struct ca_error err = {0};

                (void) fprintf(stderr, "coding-agents: stopping session %s\n", s->name);
                if (runtime_open("docker", s->endpoint, &rt, &err) < 0 ||
                    runtime_stop(rt, s->name, s->grace, &err) < 0)
                        (void) fprintf(stderr, "coding-agents: %s\n", err.msg);
        }
        return NULL;
}

/* The terminal's size, passed on to the container's (exec: the exec session's). */
struct resize_target {
        struct runtime *rt;
        const char *id;
        bool exec;
};

static void resize_terminal(unsigned rows, unsigned cols, void *userdata)
{
        const struct resize_target *t = userdata;
        struct ca_error err = {0};
        int r = t->exec ? runtime_exec_resize(t->rt, t->id, rows, cols, &err)
                        : runtime_resize(t->rt, t->id, rows, cols, &err);

        /* A lost resize only leaves the window size stale. */
        if (r < 0)
                err.code = 0;
}

static double now_ms(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

/* With CODING_AGENTS_TIMING set: how long `run` spent on the host before the container
 * started, without the engine's own work (bench/sessions.sh reads this line). */
static void report_timing(double t_entry, double engine_ms)
{
        if (secure_getenv("CODING_AGENTS_TIMING"))
                (void) fprintf(stderr, "coding-agents: timing: host %.3f ms engine %.3f ms\n",
                               now_ms() - t_entry - engine_ms, engine_ms);
}

/* The MCP servers' capabilities: the redeeming programs are this install's, as in the image. */
static int issue_servers(const struct cli_ctx *ctx, const char *session, json_t *manifest,
                         const char *cgroup, const char *ctl, struct ca_error *err)
{
        _cleanup_free_ char *launcher = session_sibling("mcp-stub-launcher");
        _cleanup_free_ char *helper = session_sibling("mcp-helper");
        char launcher_sha[DIGEST_SHA256_HEX_LEN + 1], helper_sha[DIGEST_SHA256_HEX_LEN + 1];
        _cleanup_manifest_ struct manifest m = MANIFEST_INIT;

        if (!launcher || !helper)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (digest_file_hex(launcher, launcher_sha, err) < 0 ||
            digest_file_hex(helper, helper_sha, err) < 0 ||
            manifest_from_json(manifest, &m, err) < 0)
                return -EIO;
        return credential_issue_servers(ctx, session, &m, cgroup, launcher_sha, helper_sha, ctl,
                                        err);
}

static int start_session(struct cli_ctx *ctx, const struct run_opts *o)
{
        struct session_request rq = o->rq;
        double t_entry = now_ms(), t, engine_ms = 0;
        double t_started = 0, t_out = 0, t_wait = 0, t_revoke = 0;
        _cleanup_runtime_ struct runtime *rt = NULL;
        _cleanup_buf_ struct buf seccomp = BUF_INIT;
        _cleanup_json_ json_t *labels = NULL;
        _cleanup_json_ json_t *img = NULL;
        _cleanup_free_ char *sdir = NULL;
        _cleanup_free_ char *cdir = NULL;
        _cleanup_free_ const char **cmd = NULL;
        _cleanup_free_ char *ctl = NULL, *cred_file = NULL, *broker_sock = NULL;
        _cleanup_free_ char *agent_init = NULL, *cgroup = NULL, *cgroup_path = NULL;
        _cleanup_free_ char *stubs_dir = NULL, *helpers_dir = NULL, *events_log = NULL;
        _cleanup_free_ char *pdir = NULL, *resolv_conf = NULL;
        char *host_resolvers[8] = {0};
        size_t nhost_resolvers = 0;
        char proxy_url[64] = "";
        bool proxy_mode;
        _cleanup_secret_ struct ca_secret *secret = NULL;
        const struct image_credential *which = NULL;
        struct engine_facts facts;
        sigset_t stop_signals;
        bool issued = false, created = false;
        /* In a terminal, `run` joins it to the session's; otherwise it streams the output. */
        bool interactive = !o->detach && terminal_interactive();
        _cleanup_buf_ struct buf early = BUF_INIT;
        _cleanup_close_ int attach_fd = -1;
        struct render_result res = {0};
        struct ca_error err = {0};
        struct workspace_git_mounts git_mounts;
        char workspace[PATH_MAX], session[CAP_SESSION_MAX + 1], sha[65], id[65], grace[24];
        char env_session[CAP_SESSION_MAX + 32], init_sha256[DIGEST_SHA256_HEX_LEN + 1];
        const char *apparmor = NULL;
        const char *env[3] = {env_session, NULL, NULL};
        struct stat st;
        int r, status = CLI_FAIL;

        /* run: a stop request (SIGINT/SIGTERM/SIGHUP) stays pending until the container runs
         * and the stopper thread takes it, so that none is lost or kills us half-way. */
        sigemptyset(&stop_signals);
        sigaddset(&stop_signals, SIGINT);
        sigaddset(&stop_signals, SIGTERM);
        sigaddset(&stop_signals, SIGHUP);
        if (!o->detach && pthread_sigmask(SIG_BLOCK, &stop_signals, NULL) != 0)
                return cli_error("cannot set up signal handling");
        if (!realpath(rq.workspace, workspace) || stat(workspace, &st) < 0 ||
            !S_ISDIR(st.st_mode))
                return cli_usage_error(ctx, "workspace '%s' is not a directory", rq.workspace);
        session_default_name(rq.agents, workspace, session, sizeof(session));
        rq.workspace = workspace;
        rq.session = session;
        rq.network_set = true;
        proxy_mode = rq.network == CONFIG_NETWORK_PROXY;

        /* 1. integrity (prod refuses a tampered release), 2. the engine, 3. the image. */
        if (session_integrity(ctx, session, &err) < 0)
                return cli_fail(&err);
        t = now_ms();
        if (runtime_gate(ctx->config_root, o->endpoint, session, &rt, &facts, &err) < 0)
                return cli_fail(&err);
        r = runtime_image_inspect(rt, o->image, &img, &err);
        engine_ms += now_ms() - t;
        if (r < 0)
                return cli_fail(&err);
        if (r == 0)
                return cli_error("no image '%s' on the engine: run 'coding-agents image build' "
                                 "first",
                                 o->image);
        /* This install's agent-init: the image must carry it, the credential is bound to it. */
        agent_init = session_sibling("agent-init");
        if (!agent_init)
                return cli_error("out of memory");
        if (digest_file_hex(agent_init, init_sha256, &err) < 0)
                return cli_fail(&err);
        session_check_image(img, o->image, init_sha256);
        if (load_profiles(&seccomp, &apparmor, &err) < 0)
                return cli_fail(&err);
        /* The agent CLI's credential: missing -> say which file to create, nothing started. */
        if (credential_load(o->agent, &which, &secret, &err) < 0)
                return cli_fail(&err);

        /* 4. render into <config root>/sessions/<name>/config. */
        sdir = session_dir(ctx->config_root, session);
        cdir = sdir ? paths_join(sdir, "config") : NULL;
        if (!cdir)
                return cli_error("out of memory");
        if (fileio_mkdir_p(sdir, 0700, &err) < 0)
                return cli_fail(&err);
        rq.out = cdir;
        if (proxy_mode) {
                /* The sidecar's files, rendered with the session's configuration. */
                pdir = paths_join(sdir, "proxy");
                if (!pdir) {
                        status = cli_error("out of memory");
                        goto out;
                }
                rq.proxy_out = pdir;
                if (o->nresolvers) {
                        rq.resolvers = o->resolvers;
                        rq.nresolvers = o->nresolvers;
                } else {
                        if (session_default_resolvers(host_resolvers,
                                                      CA_ELEMENTSOF(host_resolvers),
                                                      &nhost_resolvers) < 0) {
                                status = cli_error("out of memory");
                                goto out;
                        }
                        rq.resolvers = (const char *const *) host_resolvers;
                        rq.nresolvers = nhost_resolvers;
                }
        }
        if (session_render(ctx, &rq, &res, sha, NULL, &err) < 0) {
                status = cli_fail(&err);
                session_remove_dir(ctx->config_root, session);
                goto out;
        }
        if (session_git_snapshot(ctx->config_root, session, workspace, &err) < 0) {
                status = cli_fail(&err);
                session_remove_dir(ctx->config_root, session);
                goto out;
        }
        {
                json_t *w;
                size_t i;

                json_array_foreach(res.warnings, i, w)
                        (void) fprintf(stderr, "coding-agents: warning: %s\n",
                                       json_string_value(w));
        }

        /* 5. the credential's capability, bound to agent-init (uid 0, its hash) in this
         * session's cgroup, which the container is created under. */
        ctl = paths_join(sdir, "control");
        cred_file = ctl ? paths_join(ctl, "credential.json") : NULL;
        if (!cred_file || session_cgroup(session, facts.cgroup_systemd, &cgroup, &cgroup_path) < 0) {
                status = cli_error("out of memory");
                goto fail;
        }
        if (fileio_mkdir_p(ctl, 0700, &err) < 0) {
                status = cli_fail(&err);
                goto fail;
        }
        issued = true;
        if (credential_issue(ctx, session, which, secret, cgroup_path, init_sha256,
                             cred_file, &broker_sock, &err) < 0) {
                status = cli_fail(&err);
                goto fail;
        }
        secret = secret_free(secret);
        /* ... and each MCP server's, bound to its UID and the program that redeems it. */
        stubs_dir = paths_join(ctl, "stubs");
        helpers_dir = paths_join(ctl, "helpers");
        events_log = paths_events_log(ctx->config_root);
        if (!stubs_dir || !helpers_dir || !events_log) {
                status = cli_error("out of memory");
                goto fail;
        }
        if (issue_servers(ctx, session, res.manifest, cgroup_path, ctl, &err) < 0) {
                status = cli_fail(&err);
                goto fail;
        }

        /* 6. proxy mode: the session's network and its egress proxy. */
        if (proxy_mode) {
                const struct session_proxy_opts po = {
                        .session = session,
                        .image = o->image,
                        .proxy_dir = pdir,
                        .events_log = events_log,
                        .egress_network = o->egress_network ? o->egress_network : "bridge",
                        .cgroup_parent = cgroup,
                        .seccomp_json = seccomp.data,
                        .port = EGRESS_DEFAULT_PORT,
                };
                _cleanup_free_ char *rc = paths_join(sdir, "resolv.conf");
                static const char no_resolver[] =
                        "# coding-agents: no resolver; the network is reached only through "
                        "HTTP(S)_PROXY\n";

                created = true; /* from here on, removal looks for the sidecar and network */
                t = now_ms();
                r = session_proxy_start(rt, &po, proxy_url, sizeof(proxy_url), &err);
                engine_ms += now_ms() - t;
                if (r < 0) {
                        status = cli_fail(&err);
                        goto fail;
                }
                resolv_conf = rc ? strdup(rc) : NULL;
                if (!resolv_conf || fileio_write_atomic(resolv_conf, no_resolver,
                                                        sizeof(no_resolver) - 1, 0644, &err) < 0) {
                        status = resolv_conf ? cli_fail(&err) : cli_error("out of memory");
                        goto fail;
                }
        }

        /* 7. the container. */
        (void) snprintf(env_session, sizeof(env_session), "CODING_AGENTS_SESSION=%s", session);
        cmd = init_argv(o, grace, interactive, proxy_mode ? proxy_url : NULL);
        labels = json_pack("{s:s, s:s, s:s, s:s, s:s}", RUNTIME_LABEL_SESSION, session,
                           RUNTIME_LABEL_AGENT, o->agent, RUNTIME_LABEL_WORKSPACE, workspace,
                           RUNTIME_LABEL_MODE, o->detach ? "launch" : "run",
                           "io.coding-agents.manifest-sha256", sha);
        if (!cmd || !labels) {
                status = cli_error("out of memory");
                goto fail;
        }
        {
                struct runtime_mount mounts[8 + WORKSPACE_GIT_MOUNTS] = {
                        {workspace, IMAGE_WORKSPACE, false},
                        {cdir, IMAGE_CONFIG_DIR, true},
                        {cred_file, IMAGE_CREDENTIAL, true},
                        {broker_sock, IMAGE_BROKER_SOCKET, false},
                        {stubs_dir, IMAGE_STUB_CREDENTIALS, true},
                        {helpers_dir, IMAGE_HELPER_CREDENTIALS, true},
                        {events_log, IMAGE_EVENTS_LOG, false},
                };
                size_t nmounts = 7, ngit = 0;
                if (resolv_conf)
                        mounts[nmounts++] = (struct runtime_mount) {resolv_conf,
                                                                     "/etc/resolv.conf", true};
                /* The workspace's .git: nothing the agent writes there may later run on the
                 * host (hooks, config, info), and what it changes anyway is reported at the
                 * end (workspace-git-changed). */
                if (workspace_git_mounts(workspace, IMAGE_WORKSPACE, &git_mounts,
                                         mounts + nmounts, &ngit, &err) < 0) {
                        status = cli_fail(&err);
                        goto fail;
                }
                nmounts += ngit;
                static const char *const no_dns[] = {"127.0.0.1", NULL};
                const struct runtime_tmpfs tmpfs[] = {
                        {IMAGE_RUN_DIR, "mode=0711,size=512m"},
                        {"/tmp", "mode=1777,size=512m"},
                };
                const struct runtime_spec spec = {
                        .name = session,
                        .image = o->image,
                        .cmd = cmd,
                        .env = env,
                        .labels = labels,
                        .mounts = mounts,
                        .nmounts = nmounts,
                        .tmpfs = tmpfs,
                        .ntmpfs = CA_ELEMENTSOF(tmpfs),
                        .cap_add = control_caps,
                        .seccomp_json = seccomp.data,
                        .apparmor = apparmor,
                        .network = proxy_mode ? session : "none",
                        .dns = proxy_mode ? no_dns : NULL,
                        .workdir = IMAGE_WORKSPACE,
                        .cgroup_parent = cgroup,
                        .memory_bytes = o->memory,
                        .pids_limit = o->pids,
                        .tty = interactive,
                };

                t = now_ms();
                r = runtime_create(rt, &spec, id, &err);
                engine_ms += now_ms() - t;
                if (r < 0) {
                        status = cli_fail(&err);
                        goto fail;
                }
                created = true;
        }
        (void) session_emit(ctx->config_root, AUDIT_SESSION_START, session,
                            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "agent", o->agent,
                                      "mode", o->detach ? "launch" : "run", "container", id,
                                      "image", o->image, "workspace", workspace,
                                      "manifest_sha256", sha));
        /* run attaches before it starts, so that nothing it prints is lost (and learns that it
         * stopped the moment its output ends). */
        if (!o->detach && runtime_attach(rt, id, interactive, &attach_fd, &early, &err) < 0) {
                status = cli_fail(&err);
                goto fail;
        }
        t = now_ms();
        r = runtime_start(rt, id, &err);
        engine_ms += now_ms() - t;
        if (r < 0) {
                status = cli_fail(&err);
                goto fail;
        }
        report_timing(t_entry, engine_ms);
        t_started = now_ms();
        if (o->detach) {
                (void) printf("%s\n", session);
                status = cli_finish(CLI_OK);
                goto out;
        }

        /* 7. run: follow the output until the container ends, then remove it. */
        {
                struct stopper *stopper = calloc(1, sizeof(*stopper));
                pthread_t thread;
                int code = 0;

                if (stopper) {
                        (void) snprintf(stopper->endpoint, sizeof(stopper->endpoint), "%s",
                                        runtime_endpoint(rt));
                        (void) snprintf(stopper->name, sizeof(stopper->name), "%s", session);
                        stopper->grace = (unsigned) o->grace;
                        stopper->set = stop_signals;
                }
                if (!stopper || pthread_create(&thread, NULL, stopper_main, stopper) != 0) {
                        free(stopper);
                        status = cli_error("cannot set up signal handling");
                        goto fail;
                }
                (void) pthread_detach(thread);
                (void) fflush(stdout);
                if (interactive) {
                        struct resize_target rz = {rt, id, false};

                        if (terminal_pump(attach_fd, &early, resize_terminal, &rz) < 0)
                                (void) fprintf(stderr, "coding-agents: cannot use the terminal\n");
                } else if (runtime_copy_output(attach_fd, &early, false, STDOUT_FILENO,
                                               STDERR_FILENO) < 0) {
                        (void) fprintf(stderr, "coding-agents: the session's output was cut "
                                               "short\n");
                }
                t_out = now_ms();
                if (runtime_wait(rt, id, &code, &err) < 0) {
                        status = cli_fail(&err);
                        goto fail;
                }
                t_wait = now_ms();
                (void) session_emit(ctx->config_root, AUDIT_SESSION_STOP, session,
                                    json_pack("{s:s, s:i}", "container", id, "exit_status",
                                              code));
                status = code;
        }
fail:
        /* An ephemeral session (or one that failed to start) leaves nothing behind, and its
         * capabilities die with it. */
        if (issued) {
                _cleanup_json_ json_t *reply = NULL;

                if (broker_admin_revoke_session(ctx, session, &err) < 0)
                        (void) cli_fail(&err);
        }
        t_revoke = now_ms();
        if (session_remove(ctx->config_root, rt, session, created, &err) < 0) {
                (void) cli_fail(&err);
                status = CLI_FAIL;
        }
        if (t_out > 0 && secure_getenv("CODING_AGENTS_TIMING"))
                (void) fprintf(stderr,
                               "coding-agents: timing: output %.3f ms wait %.3f ms revoke %.3f "
                               "ms remove %.3f ms\n",
                               t_out - t_started, t_wait - t_out, t_revoke - t_wait,
                               now_ms() - t_revoke);
out:
        for (size_t i = 0; i < nhost_resolvers; i++)
                free(host_resolvers[i]);
        render_result_clear(&res);
        return status;
}

static int cmd_start(int argc, char **argv, struct cli_ctx *ctx, bool detach)
{
        struct run_opts o = {
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
        return start_session(ctx, &o);
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
                        "{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:I}", "session",
                        json_string_value(json_object_get(l, RUNTIME_LABEL_SESSION)), "agent",
                        json_string_value(json_object_get(l, RUNTIME_LABEL_AGENT)), "mode",
                        json_string_value(json_object_get(l, RUNTIME_LABEL_MODE)), "workspace",
                        json_string_value(json_object_get(l, RUNTIME_LABEL_WORKSPACE)), "state",
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

                char ws[PATH_MAX];

                /* The workspace is a directory name: anything but '/' and NUL. */
                (void) printf("%-40s %-8s %-8s %s\n", s ? s : "?", a ? a : "?", st ? st : "?",
                              text_escape_to(w ? w : "?", 0, ws, sizeof(ws)));
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
                struct resize_target rz = {rt, exec_id, true};

                if (terminal_pump(fd, &early, resize_terminal, &rz) < 0)
                        return cli_error("cannot use the terminal");
        }
        if (runtime_exec_status(rt, exec_id, &code, &err) < 0)
                return cli_fail(&err);
        return cli_finish(code);
}
