/* SPDX-License-Identifier: MIT */
/* Starting a session, phase by phase (session_launch.h). */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agentstate.h"
#include "broker.h"
#include "buf.h"
#include "cleanup.h"
#include "cli.h"
#include "clock.h"
#include "broker_client.h"
#include "credential.h"
#include "digest.h"
#include "egress.h"
#include "error.h"
#include "fileio.h"
#include "image.h"
#include "json.h"
#include "manifest.h"
#include "paths.h"
#include "runtime/preflight.h"
#include "runtime/terminal.h"
#include "secret.h"
#include "session_launch.h"
#include "workspace.h"
#include "worktree.h"

/* The control plane's capabilities (docs/security-model.md says why each). */
static const char *const control_caps[] = {"CHOWN", "KILL", "SETGID", "SETPCAP", "SETUID",
                                           "SYS_ADMIN", NULL};

/* What the phases share. Each phase fills its part; `issued`, `dir_made` and `parts` record
 * what exists, and the teardown reads only those. */
struct launch {
        struct cli_ctx *ctx;
        const struct launch_opts *o;
        struct session_request rq;
        struct runtime *rt;
        struct engine_facts facts;
        /* prepare */
        char workspace[PATH_MAX];
        char session[CAP_SESSION_MAX + 1];
        bool proxy_mode;
        bool interactive; /* run in a terminal: joined to the session's */
        sigset_t stop_signals;
        char init_sha256[DIGEST_SHA256_HEX_LEN + 1];
        char image_id[96];     /* the engine's id of the image (sha256:...) */
        char image_inputs[96]; /* the hash of its inputs (its label), "" when unlabelled */
        struct buf seccomp;
        const char *apparmor;
        struct ca_secret *secret;
        const struct image_credential *which;
        struct session_model model;
        /* render */
        char *sdir, *cdir, *pdir;
        char *state_in, *state_out; /* NULL with --no-state */
        char *host_resolvers[LAUNCH_MAX_RESOLVERS];
        size_t nhost_resolvers;
        struct render_result res;
        char sha[65];
        /* issue */
        char *ctl, *cred_file, *broker_sock, *cgroup, *cgroup_path;
        char *stubs_dir, *helpers_dir, *events_log;
        /* network */
        char proxy_url[64];
        char *resolv_conf;
        /* create */
        char id[65];
        struct workspace_git_mounts git_mounts;
        struct workspace_git_mounts repo_git_mounts; /* a worktree's repository's .git */
        struct workspace_git_mounts own_git_mounts;  /* and the session's own git directory */
        char objects[PATH_MAX]; /* the session's own object store (workspace.h) */
        char repo_index[PATH_MAX + 16], repo_head[PATH_MAX + 16];
        char repo_worktrees[PATH_MAX + 16], own_gitdir[PATH_MAX + 300];
        char priv_refs[PATH_MAX], priv_logs[PATH_MAX];
        char repo_refs[PATH_MAX + 16], repo_logs[PATH_MAX + 16];
        /* what exists */
        bool running; /* started: a launched session lives on */
        bool dir_made;
        bool issued;
        bool worktree_made;
        struct worktree wt;
        struct session_parts parts;
        /* timing (CODING_AGENTS_TIMING) */
        double t_entry, engine_ms, t_started, t_out, t_wait;
        double t_phase[6]; /* when each phase of session_launch() ended */
};

/* A phase's result: go on, or the exit status (already reported). */
#define LAUNCH_GO_ON (-1)

static double now_ms(void)
{
        return (double) clock_monotonic_us() / 1e3;
}

/* ---- prepare ------------------------------------------------------------------------------- */

int session_egress_network_check(struct runtime *rt, const char *name, bool named,
                                 struct ca_error *err)
{
        _cleanup_json_ json_t *net = NULL;
        int r = runtime_network_inspect(rt, name, &net, err);

        if (r == -ENOENT && named)
                return ca_error_input(err,
                                      "no network '%s' on the engine for the egress proxy's way "
                                      "out (--proxy-network). Remedy: create it ('docker network "
                                      "create %s') or name an existing one, or run with "
                                      "--network none",
                                      name, name);
        if (r == -ENOENT)
                return ca_error_input(err,
                                      "the engine has no default network '%s' for the egress "
                                      "proxy's way out (dockerd --bridge=none, or \"bridge\": "
                                      "\"none\" in daemon.json). Remedy: create a network "
                                      "('docker network create ca-egress') and pass "
                                      "--proxy-network ca-egress, or run with --network none",
                                      name);
        if (r < 0)
                return ca_error_prefix(err, "inspecting network '%s'", name);
        if (json_is_true(json_object_get(net, "Internal")))
                return ca_error_input(err,
                                      "network '%s' is internal: the egress proxy would have no "
                                      "way out. Remedy: pass --proxy-network with a network "
                                      "that reaches the upstreams, or run with --network none",
                                      name);
        return 0;
}

/* The seccomp profile and, where the host enforces AppArmor, the loaded AppArmor profile. */
static int load_profiles(struct buf *seccomp, const char **apparmor, struct ca_error *err)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_json_ json_t *v = NULL;
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
        if (!session_apparmor_profile_loaded())
                return ca_error_setx(err, EPERM,
                                     "this host enforces AppArmor but the profile '%s' is not "
                                     "loaded. Remedy: apparmor_parser -r -W "
                                     "%s/profiles/apparmor-coding-agents",
                                     SESSION_APPARMOR_PROFILE, docker);
        *apparmor = SESSION_APPARMOR_PROFILE;
        return 0;
}

/* The workspace, the name; `run`'s stop requests held until the follow phase takes them. */
static int prepare_session(struct launch *l)
{
        const struct launch_opts *o = l->o;
        struct stat st;

        /* run: a stop request (SIGINT/SIGTERM/SIGHUP) stays pending until the container runs
         * and the stopper thread takes it, so that none is lost or kills us half-way. */
        sigemptyset(&l->stop_signals);
        sigaddset(&l->stop_signals, SIGINT);
        sigaddset(&l->stop_signals, SIGTERM);
        sigaddset(&l->stop_signals, SIGHUP);
        if (!o->detach && pthread_sigmask(SIG_BLOCK, &l->stop_signals, NULL) != 0)
                return cli_error("cannot set up signal handling");
        if (!realpath(l->rq.workspace, l->workspace) || stat(l->workspace, &st) < 0 ||
            !S_ISDIR(st.st_mode))
                return cli_usage_error(l->ctx, "workspace '%s' is not a directory",
                                       l->rq.workspace);
        session_default_name(l->rq.agents, l->workspace, l->session, sizeof(l->session));
        l->rq.workspace = l->workspace;
        l->rq.session = l->session;
        l->rq.network_set = true;
        l->proxy_mode = l->rq.network == CONFIG_NETWORK_PROXY;
        l->interactive = !o->detach && terminal_interactive();
        return LAUNCH_GO_ON;
}

/* --worktree: the session's own worktree of the workspace, which becomes its workspace. */
static int prepare_worktree(struct launch *l)
{
        struct ca_error err = {0};

        if (!l->o->worktree)
                return LAUNCH_GO_ON;
        if (worktree_create(l->ctx->config_root, l->session, l->workspace, l->o->branch,
                            l->o->keep, &l->wt, &err) < 0)
                return cli_fail(&err);
        l->worktree_made = true;
        (void) snprintf(l->workspace, sizeof(l->workspace), "%s", l->wt.path);
        (void) fprintf(stderr, "coding-agents: the session works in %s on branch %s\n",
                       l->wt.path, l->wt.branch);
        return LAUNCH_GO_ON;
}

/* 1. integrity (prod refuses a tampered release), 2. the engine, 3. the image, and in proxy
 * mode the egress network; then this install's agent-init, the profiles, the credential. */
static int prepare(struct launch *l)
{
        const struct launch_opts *o = l->o;
        _cleanup_json_ json_t *img = NULL;
        _cleanup_free_ char *agent_init = NULL;
        struct ca_error err = {0};
        double t;
        int r = prepare_session(l);

        if (r != LAUNCH_GO_ON)
                return r;
        if (session_integrity(l->ctx, l->session, &err) < 0)
                return cli_fail(&err);
        t = now_ms();
        r = runtime_gate(l->ctx->config_root, o->endpoint, l->session, &l->rt, &l->facts, &err);
        if (r >= 0)
                r = runtime_image_inspect(l->rt, o->image, &img, &err);
        if (r > 0 && l->proxy_mode)
                r = session_egress_network_check(l->rt,
                                                 o->egress_network ? o->egress_network : "bridge",
                                                 o->egress_network != NULL, &err);
        l->engine_ms += now_ms() - t;
        if (r < 0)
                return cli_fail(&err);
        if (!img)
                return cli_error("no image '%s' on the engine: run 'coding-agents image build' "
                                 "first",
                                 o->image);
        /* This install's agent-init: the image must carry it, the credential is bound to it. */
        agent_init = cli_sibling("agent-init");
        if (!agent_init)
                return cli_error("out of memory");
        if (digest_file_hex(agent_init, l->init_sha256, &err) < 0)
                return cli_fail(&err);
        session_check_image(img, o->image, l->init_sha256);
        {
                const char *id = json_string_value(json_object_get(img, "Id"));
                const char *inputs = json_string_value(json_object_get(
                        json_object_get(json_object_get(img, "Config"), "Labels"),
                        RUNTIME_LABEL_INPUTS));

                (void) snprintf(l->image_id, sizeof(l->image_id), "%s", id ? id : "");
                (void) snprintf(l->image_inputs, sizeof(l->image_inputs), "%s",
                                inputs ? inputs : "");
        }
        if (load_profiles(&l->seccomp, &l->apparmor, &err) < 0)
                return cli_fail(&err);
        /* The agent CLI's credential: missing -> say which file to create, nothing started. */
        if (credential_load(o->agent, &l->which, &l->secret, &err) < 0)
                return cli_fail(&err);
        return prepare_worktree(l);
}

/* ---- render ------------------------------------------------------------------------------- */

/* Proxy mode: the sidecar's files, rendered with the session's configuration. */
static int render_proxy_request(struct launch *l)
{
        const struct launch_opts *o = l->o;

        l->pdir = paths_join(l->sdir, "proxy");
        if (!l->pdir)
                return cli_error("out of memory");
        l->rq.proxy_out = l->pdir;
        if (o->nresolvers) {
                l->rq.resolvers = o->resolvers;
                l->rq.nresolvers = o->nresolvers;
                return LAUNCH_GO_ON;
        }
        if (session_default_resolvers(l->host_resolvers, CA_ELEMENTSOF(l->host_resolvers),
                                      &l->nhost_resolvers) < 0)
                return cli_error("out of memory");
        l->rq.resolvers = (const char *const *) l->host_resolvers;
        l->rq.nresolvers = l->nhost_resolvers;
        return LAUNCH_GO_ON;
}

/* Where the CLI's login goes, said once at the start (docs/security-model.md). */
static void say_model(const struct launch *l)
{
        const struct session_model *m = &l->model;

        if (m->helper)
                (void) fprintf(stderr,
                               "coding-agents: model: %s's login stays outside the agent's reach: "
                               "the CLI talks to the session's model helper, which reaches %s\n",
                               l->o->agent, m->origin);
        else
                (void) fprintf(stderr,
                               "coding-agents: model: %s keeps its login inside the container "
                               "(readable by what the CLI runs): %s\n",
                               l->o->agent, m->why);
}

/* The agent's saved state into the session (unless --no-state), and the user's own
 * instructions into its rendered configuration. */
static int render_state(struct launch *l, struct ca_error *err)
{
        _cleanup_free_ char *agent_dir = paths_join(l->cdir, l->o->agent);

        if (!agent_dir)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (agentstate_instructions(l->ctx->config_root, l->o->agent, agent_dir, err) < 0)
                return -EIO;
        if (l->o->no_state)
                return 0;
        l->state_in = paths_join(l->sdir, "state-in");
        l->state_out = paths_join(l->sdir, "state-out");
        if (!l->state_in || !l->state_out)
                return ca_error_setx(err, ENOMEM, "out of memory");
        /* A worktree's state is its repository's: the conversation goes on there. */
        return agentstate_stage(l->ctx->config_root, l->session, l->sdir,
                                l->worktree_made ? l->wt.repository : l->workspace, l->o->agent,
                                err);
}

/* The workspace's .git checked, and what its mounts cover made, before the snapshot and before
 * anything is issued: a refusal (a link a mount cannot cover) costs nothing, and what the
 * mounts make is not news at the end. The mounts themselves come with the container. */
static int check_git_mounts(struct launch *l, struct ca_error *err)
{
        struct runtime_mount out[WORKSPACE_GIT_MOUNTS];
        size_t n;

        if (workspace_git_mounts(l->workspace, IMAGE_WORKSPACE, NULL, &l->git_mounts, out, &n,
                                 err) < 0 ||
            (l->worktree_made && workspace_git_mounts(l->wt.repository, l->wt.repository, NULL,
                                                      &l->repo_git_mounts, out, &n, err) < 0))
                return -EINVAL;
        return 0;
}

/* 4. render into <config root>/sessions/<name>/config, and the .git snapshot. */
static int render(struct launch *l)
{
        struct ca_error err = {0};
        json_t *w;
        size_t i;
        int r;

        l->sdir = session_dir(l->ctx->config_root, l->session);
        l->cdir = l->sdir ? paths_join(l->sdir, "config") : NULL;
        if (!l->cdir)
                return cli_error("out of memory");
        if (fileio_mkdir_p(l->sdir, 0700, &err) < 0)
                return cli_fail(&err);
        l->dir_made = true;
        l->rq.out = l->cdir;
        l->rq.login = l->which;
        l->rq.login_value = l->secret;
        l->rq.model = &l->model;
        if (l->proxy_mode && (r = render_proxy_request(l)) != LAUNCH_GO_ON)
                return r;
        if (session_render(l->ctx, &l->rq, &l->res, l->sha, NULL, &err) < 0 ||
            check_git_mounts(l, &err) < 0 ||
            session_git_snapshot(l->ctx->config_root, l->session,
                                 l->worktree_made ? l->wt.repository : l->workspace, &err) < 0 ||
            render_state(l, &err) < 0)
                return cli_fail(&err);
        json_array_foreach(l->res.warnings, i, w)
                (void) fprintf(stderr, "coding-agents: warning: %s\n", json_string_value(w));
        say_model(l);
        return LAUNCH_GO_ON;
}

/* ---- issue -------------------------------------------------------------------------------- */

/* The MCP servers' capabilities: the redeeming programs are this install's, as in the image. */
static int issue_servers(struct launch *l, struct ca_error *err)
{
        _cleanup_free_ char *launcher = cli_sibling("mcp-stub-launcher");
        _cleanup_free_ char *helper = cli_sibling("mcp-helper");
        char launcher_sha[DIGEST_SHA256_HEX_LEN + 1], helper_sha[DIGEST_SHA256_HEX_LEN + 1];
        _cleanup_manifest_ struct manifest m = MANIFEST_INIT;

        if (!launcher || !helper)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (digest_file_hex(launcher, launcher_sha, err) < 0 ||
            digest_file_hex(helper, helper_sha, err) < 0 ||
            manifest_from_json(l->res.manifest, &m, err) < 0)
                return -EIO;
        return credential_issue_servers(l->ctx, l->session, &m, l->cgroup_path, launcher_sha,
                                        helper_sha, l->ctl, err);
}

/* 5. the credential's capability, bound to agent-init (uid 0, its hash) in this session's
 * cgroup, which the container is created under; each MCP server's, bound to its UID and the
 * program that redeems it. */
static int issue(struct launch *l)
{
        struct ca_error err = {0};

        l->ctl = paths_join(l->sdir, "control");
        l->cred_file = l->ctl ? paths_join(l->ctl, "credential.json") : NULL;
        l->stubs_dir = l->ctl ? paths_join(l->ctl, "stubs") : NULL;
        l->helpers_dir = l->ctl ? paths_join(l->ctl, "helpers") : NULL;
        l->events_log = paths_events_log(l->ctx->config_root);
        if (!l->cred_file || !l->stubs_dir || !l->helpers_dir || !l->events_log ||
            session_cgroup(l->session, l->facts.cgroup_systemd, &l->cgroup, &l->cgroup_path) < 0)
                return cli_error("out of memory");
        if (fileio_mkdir_p(l->ctl, 0700, &err) < 0)
                return cli_fail(&err);
        l->issued = true;
        /* Through the model helper the login is its alone (issued with the servers below):
         * agent-init gets no capability for it. */
        if (l->model.helper ? credential_store(l->ctx, l->which, l->secret, &err) < 0 ||
                                      session_model_record(&l->model, l->ctl, &err) < 0 ||
                                      session_model_proxy_auth(&l->model, l->helpers_dir,
                                                               &err) < 0 ||
                                      !(l->broker_sock = broker_session_socket(
                                                l->ctx->config_root, l->session))
                            : credential_issue(l->ctx, l->session, l->which, l->secret,
                                               l->cgroup_path, l->init_sha256, l->cred_file,
                                               &l->broker_sock, &err) < 0)
                return cli_fail(&err);
        l->secret = secret_free(l->secret);
        if (issue_servers(l, &err) < 0)
                return cli_fail(&err);
        return LAUNCH_GO_ON;
}

/* ---- network ------------------------------------------------------------------------------ */

/* 6. proxy mode: the session's network and its egress proxy; the container gets no resolver. */
static int network(struct launch *l)
{
        static const char no_resolver[] = "# coding-agents: no resolver; the network is reached "
                                          "only through HTTP(S)_PROXY\n";
        const struct session_proxy_opts po = {
                .session = l->session,
                .image = l->o->image,
                .proxy_dir = l->pdir,
                .events_log = l->events_log,
                .egress_network = l->o->egress_network ? l->o->egress_network : "bridge",
                .cgroup_parent = l->cgroup,
                .seccomp_json = l->seccomp.data,
                .port = EGRESS_DEFAULT_PORT,
        };
        struct ca_error err = {0};
        double t;
        int r;

        if (!l->proxy_mode)
                return LAUNCH_GO_ON;
        /* From here on, whatever session_proxy_start got to is there to remove. */
        l->parts.network = l->parts.sidecar = true;
        t = now_ms();
        r = session_proxy_start(l->rt, &po, l->proxy_url, sizeof(l->proxy_url), &err);
        l->engine_ms += now_ms() - t;
        if (r < 0)
                return cli_fail(&err);
        l->resolv_conf = paths_join(l->sdir, "resolv.conf");
        if (!l->resolv_conf)
                return cli_error("out of memory");
        if (fileio_write_atomic(l->resolv_conf, no_resolver, sizeof(no_resolver) - 1, 0644,
                                &err) < 0)
                return cli_fail(&err);
        return LAUNCH_GO_ON;
}

/* ---- create ------------------------------------------------------------------------------- */

/* agent-init's argv: [--quiet] [--tmux] --agent A --grace N [--proxy URL] -- COMMAND... */
static const char **init_argv(const struct launch *l, char grace[24])
{
        const struct launch_opts *o = l->o;
        const char **v = calloc((size_t) o->ncmd + 12, sizeof(*v));
        size_t n = 0;

        if (!v)
                return NULL;
        if (l->interactive)
                v[n++] = "--quiet";
        /* launch: the agent lives in a tmux session that `connect` attaches to. */
        if (o->detach)
                v[n++] = "--tmux";
        (void) snprintf(grace, 24, "%llu", (unsigned long long) o->grace);
        v[n++] = "--agent";
        v[n++] = o->agent;
        v[n++] = "--grace";
        v[n++] = grace;
        if (l->proxy_mode) {
                v[n++] = "--proxy";
                v[n++] = l->proxy_url;
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

/* The container's mounts: the workspace (its .git's control files read-only), the rendered
 * configuration, the credential, the broker socket, the servers' credentials, the log. */
static int session_mounts(struct launch *l, struct runtime_mount *mounts, size_t *n,
                          struct ca_error *err)
{
        size_t ngit = 0;
        int own_objects;

        mounts[(*n)++] = (struct runtime_mount){l->workspace, IMAGE_WORKSPACE, false};
        mounts[(*n)++] = (struct runtime_mount){l->cdir, IMAGE_CONFIG_DIR, true};
        if (!l->model.helper)
                mounts[(*n)++] = (struct runtime_mount){l->cred_file, IMAGE_CREDENTIAL, true};
        mounts[(*n)++] = (struct runtime_mount){l->broker_sock, IMAGE_BROKER_SOCKET, false};
        mounts[(*n)++] = (struct runtime_mount){l->stubs_dir, IMAGE_STUB_CREDENTIALS, true};
        mounts[(*n)++] = (struct runtime_mount){l->helpers_dir, IMAGE_HELPER_CREDENTIALS, true};
        mounts[(*n)++] = (struct runtime_mount){l->events_log, IMAGE_EVENTS_LOG, false};
        if (l->resolv_conf)
                mounts[(*n)++] = (struct runtime_mount){l->resolv_conf, "/etc/resolv.conf", true};
        if (l->state_in) {
                mounts[(*n)++] = (struct runtime_mount){l->state_in, IMAGE_STATE_IN, true};
                mounts[(*n)++] = (struct runtime_mount){l->state_out, IMAGE_STATE_OUT, false};
        }
        /* The objects it writes go to a store of its own, brought in verified at the end: the
         * repository's own are read-only to it (workspace.h). */
        own_objects = workspace_objects_prepare(l->ctx->config_root, l->session,
                                                l->worktree_made ? l->wt.repository
                                                                 : l->workspace,
                                                l->objects, err);
        if (own_objects < 0)
                return -EINVAL;
        /* The workspace's .git: nothing the agent writes there may later run on the host
         * (hooks, config, info), and what it changes anyway is reported at the end
         * (workspace-git-changed). */
        if (workspace_git_mounts(l->workspace, IMAGE_WORKSPACE,
                                 own_objects && !l->worktree_made ? l->objects : NULL,
                                 &l->git_mounts, mounts + *n, &ngit, err) < 0)
                return -EINVAL;
        *n += ngit;
        /* A worktree's .git file names its repository's .git by its host path: mounted there,
         * protected as any workspace's, and the user's own index and HEAD read-only (their
         * working tree is not in the session; what is staged there and checked out stays
         * theirs). */
        if (l->worktree_made) {
                if (workspace_git_mounts(l->wt.repository, l->wt.repository,
                                         own_objects ? l->objects : NULL, &l->repo_git_mounts,
                                         mounts + *n, &ngit, err) < 0)
                        return -EINVAL;
                *n += ngit;
                (void) snprintf(l->repo_index, sizeof(l->repo_index), "%s/.git/index",
                                l->wt.repository);
                (void) snprintf(l->repo_head, sizeof(l->repo_head), "%s/.git/HEAD",
                                l->wt.repository);
                mounts[(*n)++] = (struct runtime_mount){l->repo_head, l->repo_head, true};
                if (access(l->repo_index, F_OK) == 0)
                        mounts[(*n)++] = (struct runtime_mount){l->repo_index, l->repo_index, true};
                /* The other worktrees' git directories (the user's, other sessions') are
                 * read-only (as in any session: workspace_git_mounts), this one's own
                 * writable. */
                (void) snprintf(l->repo_worktrees, sizeof(l->repo_worktrees), "%s/.git/worktrees",
                                l->wt.repository);
                (void) snprintf(l->own_gitdir, sizeof(l->own_gitdir), "%s/%s", l->repo_worktrees,
                                l->session);
                mounts[(*n)++] = (struct runtime_mount){l->own_gitdir, l->own_gitdir, false};
                if (workspace_gitdir_mounts(l->own_gitdir, &l->own_git_mounts, mounts + *n,
                                            &ngit, err) < 0)
                        return -EINVAL;
                *n += ngit;
                /* The repository's refs as a private copy, its logs an empty directory (its
                 * packed-refs is read-only, as in any session): no branch or tag of the user's
                 * moves; only the session's own branch is brought back at the end
                 * (worktree.h). */
                if (worktree_private_dirs(l->ctx->config_root, l->session, l->priv_refs,
                                          l->priv_logs, err) < 0)
                        return -EINVAL;
                (void) snprintf(l->repo_refs, sizeof(l->repo_refs), "%s/.git/refs",
                                l->wt.repository);
                (void) snprintf(l->repo_logs, sizeof(l->repo_logs), "%s/.git/logs",
                                l->wt.repository);
                mounts[(*n)++] = (struct runtime_mount){l->priv_refs, l->repo_refs, false};
                mounts[(*n)++] = (struct runtime_mount){l->priv_logs, l->repo_logs, false};
        }
        return 0;
}

/* 7. the container, and session-start. */

/* A string member of an inspect object, "" when absent. */
static const char *str_of(const json_t *o, const char *key)
{
        const char *v = json_string_value(json_object_get(o, key));

        return v ? v : "";
}

/* An array member of an inspect object, an empty array's stand-in (null) when absent. */
static json_t *array_of(const json_t *o, const char *key)
{
        json_t *v = json_object_get(o, key);

        return json_is_array(v) ? v : json_null();
}

/* What the engine applied to the container, as it reports it (not what we asked for): the
 * session's enforcement decisions on record (session-enforcement). */
static void record_enforcement(struct launch *l)
{
        _cleanup_json_ json_t *ins = NULL;
        struct ca_error err = {0};
        const json_t *hc, *opt;
        const char *seccomp = "default", *apparmor = "none";
        char seccomp_sha[DIGEST_SHA256_HEX_LEN + 8] = "";
        bool nnp = false;
        size_t i;

        if (runtime_inspect(l->rt, l->id, &ins, &err) < 0) {
                (void) cli_error("cannot inspect the session's container: %s", err.msg);
                return;
        }
        hc = json_object_get(ins, "HostConfig");
        json_array_foreach(json_object_get(hc, "SecurityOpt"), i, opt) {
                const char *v = json_string_value(opt);

                if (!v)
                        continue;
                if (strncmp(v, "seccomp=", 8) == 0) {
                        uint8_t md[DIGEST_SHA256_LEN];

                        seccomp = strcmp(v + 8, "unconfined") == 0 ? "unconfined" : "profile";
                        if (strcmp(seccomp, "profile") == 0 &&
                            digest_sha256(v + 8, strlen(v + 8), md) == 0) {
                                (void) snprintf(seccomp_sha, sizeof(seccomp_sha), "sha256:");
                                digest_hex(md, sizeof(md), seccomp_sha + 7);
                        }
                } else if (strncmp(v, "apparmor=", 9) == 0) {
                        apparmor = v + 9;
                } else if (strcmp(v, "no-new-privileges:true") == 0 ||
                           strcmp(v, "no-new-privileges") == 0) {
                        nnp = true;
                }
        }
        if (strcmp(apparmor, "none") == 0 && str_of(ins, "AppArmorProfile")[0])
                apparmor = str_of(ins, "AppArmorProfile");
        (void) session_emit(
                l->ctx->config_root, AUDIT_SESSION_ENFORCEMENT, l->session,
                json_pack("{s:s, s:s, s:s, s:b, s:{s:O, s:O}, s:b, s:s, s:s, s:I, s:I}", "user",
                          str_of(json_object_get(ins, "Config"), "User"), "seccomp",
                          seccomp_sha[0] ? seccomp_sha : seccomp, "apparmor", apparmor,
                          "no_new_privileges", nnp, "capabilities", "drop",
                          array_of(hc, "CapDrop"), "add", array_of(hc, "CapAdd"),
                          "read_only_root", json_is_true(json_object_get(hc, "ReadonlyRootfs")),
                          "network", str_of(hc, "NetworkMode"), "cgroup_parent",
                          str_of(hc, "CgroupParent"), "memory_bytes",
                          json_integer_value(json_object_get(hc, "Memory")), "pids_limit",
                          json_integer_value(json_object_get(hc, "PidsLimit"))));
}

static int create(struct launch *l)
{
        static const char *const no_dns[] = {"127.0.0.1", NULL};
        const struct launch_opts *o = l->o;
        const struct runtime_tmpfs tmpfs[] = {
                {IMAGE_RUN_DIR, "mode=0711,size=512m"},
                {"/tmp", "mode=1777,size=512m"},
        };
        struct runtime_mount mounts[16 + 3 * WORKSPACE_GIT_MOUNTS];
        char env_session[CAP_SESSION_MAX + 32], grace[24];
        const char *env[] = {env_session, NULL};
        _cleanup_free_ const char **cmd = init_argv(l, grace);
        _cleanup_json_ json_t *labels = NULL;
        struct ca_error err = {0};
        size_t nmounts = 0;
        double t;
        int r;

        (void) snprintf(env_session, sizeof(env_session), "CODING_AGENTS_SESSION=%s", l->session);
        labels = json_pack("{s:s, s:s, s:s, s:s, s:s}", RUNTIME_LABEL_SESSION, l->session,
                           RUNTIME_LABEL_AGENT, o->agent, RUNTIME_LABEL_WORKSPACE, l->workspace,
                           RUNTIME_LABEL_MODE, o->detach ? "launch" : "run",
                           "io.coding-agents.manifest-sha256", l->sha);
        if (labels && l->worktree_made &&
            json_object_set_new(labels, RUNTIME_LABEL_BRANCH, json_string(l->wt.branch)) < 0)
                return cli_error("out of memory");
        if (!cmd || !labels)
                return cli_error("out of memory");
        if (session_mounts(l, mounts, &nmounts, &err) < 0)
                return cli_fail(&err);
        {
                const struct runtime_spec spec = {
                        .name = l->session,
                        .image = o->image,
                        .cmd = cmd,
                        .env = env,
                        .labels = labels,
                        .mounts = mounts,
                        .nmounts = nmounts,
                        .tmpfs = tmpfs,
                        .ntmpfs = CA_ELEMENTSOF(tmpfs),
                        .cap_add = control_caps,
                        .seccomp_json = l->seccomp.data,
                        .apparmor = l->apparmor,
                        .network = l->proxy_mode ? l->session : "none",
                        .dns = l->proxy_mode ? no_dns : NULL,
                        .workdir = IMAGE_WORKSPACE,
                        .cgroup_parent = l->cgroup,
                        .memory_bytes = o->memory,
                        .pids_limit = o->pids,
                        .tty = l->interactive,
                };

                t = now_ms();
                r = runtime_create(l->rt, &spec, l->id, &err);
                l->engine_ms += now_ms() - t;
        }
        if (r < 0)
                return cli_fail(&err);
        l->parts.container = true;
        (void) session_emit(l->ctx->config_root, AUDIT_SESSION_START, l->session,
                            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "agent",
                                      o->agent, "mode", o->detach ? "launch" : "run", "container",
                                      l->id, "image", o->image, "image_id", l->image_id,
                                      "image_inputs", l->image_inputs, "agent_init_sha256",
                                      l->init_sha256, "workspace", l->workspace,
                                      "manifest_sha256", l->sha));
        record_enforcement(l);
        return LAUNCH_GO_ON;
}

/* ---- follow ------------------------------------------------------------------------------- */

/*
 * Ctrl-C / SIGTERM during `run`: stop the session (agent-init gets SIGTERM and the grace). The
 * stopper thread's own copy of what it needs: it outlives session_launch()'s frame (a stop
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

static int start_stopper(const struct launch *l)
{
        struct stopper *stopper = calloc(1, sizeof(*stopper));
        pthread_t thread;

        if (!stopper)
                return -ENOMEM;
        (void) snprintf(stopper->endpoint, sizeof(stopper->endpoint), "%s",
                        runtime_endpoint(l->rt));
        (void) snprintf(stopper->name, sizeof(stopper->name), "%s", l->session);
        stopper->grace = (unsigned) l->o->grace;
        stopper->set = l->stop_signals;
        if (pthread_create(&thread, NULL, stopper_main, stopper) != 0) {
                free(stopper);
                return -EAGAIN;
        }
        (void) pthread_detach(thread);
        return 0;
}

/*
 * While `run` follows the session, what git wrote in the session's own object store comes into
 * the repository every SYNC_SECONDS (workspace_objects_sync): git on the host then sees a
 * commit the agent made on the user's branch while it still works. Quiet (the terminal is the
 * session's); each batch that came in is a workspace-objects event, and whatever could not come
 * in is said at the end, when the rest comes in.
 */
#define SYNC_SECONDS 3

struct syncer {
        char config_root[PATH_MAX];
        char session[CAP_SESSION_MAX + 1];
        pthread_mutex_t lock;
        pthread_cond_t wake;
        bool stop;
        pthread_t thread;
};

static void *syncer_main(void *arg)
{
        struct syncer *s = arg;
        struct timespec at;

        (void) pthread_mutex_lock(&s->lock);
        while (!s->stop) {
                (void) clock_gettime(CLOCK_REALTIME, &at);
                at.tv_sec += SYNC_SECONDS;
                (void) pthread_cond_timedwait(&s->wake, &s->lock, &at);
                if (s->stop)
                        break;
                (void) pthread_mutex_unlock(&s->lock);
                {
                        struct ca_error err = {0};
                        int n = workspace_objects_sync(s->config_root, s->session, &err);

                        if (n > 0)
                                (void) session_emit(s->config_root, AUDIT_WORKSPACE_OBJECTS,
                                                    s->session,
                                                    json_pack("{s:i, s:b}", "imported", n,
                                                              "while_running", true));
                }
                (void) pthread_mutex_lock(&s->lock);
        }
        (void) pthread_mutex_unlock(&s->lock);
        return NULL;
}

/* NULL when the session has no store of its own, or the thread cannot start (then the objects
 * come in at the end only). */
static struct syncer *start_syncer(const struct launch *l)
{
        struct syncer *s;

        if (!l->objects[0] || !(s = calloc(1, sizeof(*s))))
                return NULL;
        (void) snprintf(s->config_root, sizeof(s->config_root), "%s", l->ctx->config_root);
        (void) snprintf(s->session, sizeof(s->session), "%s", l->session);
        if (pthread_mutex_init(&s->lock, NULL) != 0) {
                free(s);
                return NULL;
        }
        if (pthread_cond_init(&s->wake, NULL) != 0 ||
            pthread_create(&s->thread, NULL, syncer_main, s) != 0) {
                (void) pthread_mutex_destroy(&s->lock);
                free(s);
                return NULL;
        }
        return s;
}

/* Stops it, after a sync under way has finished (the end's own import comes next). */
static void stop_syncer(struct syncer *s)
{
        if (!s)
                return;
        (void) pthread_mutex_lock(&s->lock);
        s->stop = true;
        (void) pthread_cond_signal(&s->wake);
        (void) pthread_mutex_unlock(&s->lock);
        (void) pthread_join(s->thread, NULL);
        (void) pthread_cond_destroy(&s->wake);
        (void) pthread_mutex_destroy(&s->lock);
        free(s);
}

/* With CODING_AGENTS_TIMING set: how long `run` spent on the host before the container
 * started, without the engine's own work (bench/sessions.sh reads this line). */
static void report_timing(const struct launch *l)
{
        static const char *const names[] = {"prepare", "render", "issue", "network", "create"};
        double at = l->t_entry, t = now_ms();

        if (!secure_getenv("CODING_AGENTS_TIMING"))
                return;
        (void) fprintf(stderr, "coding-agents: timing: host %.3f ms engine %.3f ms\n",
                       t - l->t_entry - l->engine_ms, l->engine_ms);
        (void) fprintf(stderr, "coding-agents: timing: phases");
        for (size_t i = 0; i < CA_ELEMENTSOF(names); i++) {
                (void) fprintf(stderr, " %s %.1f", names[i], l->t_phase[i] - at);
                at = l->t_phase[i];
        }
        (void) fprintf(stderr, " start %.1f ms\n", t - at);
}

/* run: the terminal or the output until the container ends, then its status (session-stop). */
static int follow_run(struct launch *l, int attach_fd, struct buf *early)
{
        struct ca_error err = {0};
        struct syncer *syncer;
        int code = 0;

        if (start_stopper(l) < 0)
                return cli_error("cannot set up signal handling");
        syncer = start_syncer(l);
        (void) fflush(stdout);
        if (l->interactive) {
                struct terminal_target tt = {l->rt, l->id, false};

                if (terminal_pump(attach_fd, early, terminal_resize_container, &tt) < 0)
                        (void) fprintf(stderr, "coding-agents: cannot use the terminal\n");
        } else if (runtime_copy_output(attach_fd, early, false, STDOUT_FILENO, STDERR_FILENO) < 0) {
                (void) fprintf(stderr, "coding-agents: the session's output was cut short\n");
        }
        stop_syncer(syncer);
        l->t_out = now_ms();
        if (runtime_wait(l->rt, l->id, &code, &err) < 0)
                return cli_fail(&err);
        l->t_wait = now_ms();
        (void) session_emit(l->ctx->config_root, AUDIT_SESSION_STOP, l->session,
                            json_pack("{s:s, s:i}", "container", l->id, "exit_status", code));
        return code;
}

/* 8. start it: launch prints the name and leaves it running; run attaches first (so that
 * nothing it prints is lost, and it learns that it stopped the moment its output ends). */
static int follow(struct launch *l)
{
        _cleanup_buf_ struct buf early = BUF_INIT;
        _cleanup_close_ int attach_fd = -1;
        struct ca_error err = {0};
        double t;
        int r;

        if (!l->o->detach &&
            runtime_attach(l->rt, l->id, l->interactive, &attach_fd, &early, &err) < 0)
                return cli_fail(&err);
        t = now_ms();
        r = runtime_start(l->rt, l->id, &err);
        l->engine_ms += now_ms() - t;
        if (r < 0)
                return cli_fail(&err);
        l->running = true;
        report_timing(l);
        l->t_started = now_ms();
        if (l->o->detach) {
                (void) printf("%s\n", l->session);
                return cli_finish(CLI_OK);
        }
        return follow_run(l, attach_fd, &early);
}

/* ---- teardown ----------------------------------------------------------------------------- */

/* The capabilities revoked and what was created removed: for `run` always, for `launch` when
 * it failed. A render that failed leaves only its directory to remove. */
static int teardown(struct launch *l, int status)
{
        struct ca_error err = {0};
        const struct session_parts *p = &l->parts;
        double t_revoke;

        if (l->issued && broker_admin_revoke_session(l->ctx, l->session, &err) < 0)
                (void) cli_fail(&err);
        t_revoke = now_ms();
        if (l->issued || p->container || p->sidecar || p->network) {
                if (session_teardown(l->ctx->config_root, l->rt, l->session, p, &err) < 0) {
                        (void) cli_fail(&err);
                        status = CLI_FAIL;
                }
        } else {
                if (l->dir_made)
                        session_remove_dir(l->ctx->config_root, l->session);
                json_decref(workspace_objects_end(l->ctx->config_root, l->session));
                if (l->worktree_made)
                        worktree_end(l->ctx->config_root, l->session);
        }
        if (l->t_out > 0 && secure_getenv("CODING_AGENTS_TIMING"))
                (void) fprintf(stderr,
                               "coding-agents: timing: output %.3f ms wait %.3f ms revoke %.3f "
                               "ms remove %.3f ms\n",
                               l->t_out - l->t_started, l->t_wait - l->t_out,
                               t_revoke - l->t_wait, now_ms() - t_revoke);
        return status;
}

static void launch_clear(struct launch *l)
{
        for (size_t i = 0; i < l->nhost_resolvers; i++)
                free(l->host_resolvers[i]);
        render_result_clear(&l->res);
        session_model_clear(&l->model);
        buf_clear(&l->seccomp);
        l->secret = secret_free(l->secret);
        free(l->sdir);
        free(l->cdir);
        free(l->state_in);
        free(l->state_out);
        free(l->pdir);
        free(l->ctl);
        free(l->cred_file);
        free(l->broker_sock);
        free(l->cgroup);
        free(l->cgroup_path);
        free(l->stubs_dir);
        free(l->helpers_dir);
        free(l->events_log);
        free(l->resolv_conf);
        l->rt = runtime_close(l->rt);
}

int session_launch(struct cli_ctx *ctx, const struct launch_opts *o)
{
        static int (*const phases[])(struct launch *) = {prepare, render, issue, network, create,
                                                         follow};
        struct launch l = {.ctx = ctx, .o = o, .rq = o->rq, .seccomp = BUF_INIT};
        int status = LAUNCH_GO_ON;

        l.t_entry = now_ms();
        static_assert(CA_ELEMENTSOF(phases) == CA_ELEMENTSOF(l.t_phase), "a time per phase");
        for (size_t i = 0; i < CA_ELEMENTSOF(phases) && status == LAUNCH_GO_ON; i++) {
                status = phases[i](&l);
                l.t_phase[i] = now_ms();
        }
        /* A launched session lives on; anything else goes now. */
        if (!(o->detach && l.running))
                status = teardown(&l, status);
        launch_clear(&l);
        return status;
}
