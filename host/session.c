/* SPDX-License-Identifier: MIT */
/* Session plumbing shared by render, run and launch (session.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "buf.h"
#include "cleanup.h"
#include "cli.h"
#include "digest.h"
#include "egress.h"
#include "error.h"
#include "fileio.h"
#include "git.h"
#include "image.h"
#include "json.h"
#include "paths.h"
#include "profile.h"
#include "runtime/runtime.h"
#include "session.h"
#include "url.h"
#include "spawn.h"
#include "treecache.h"
#include "toml.h"
#include "trust.h"
#include "workspace.h"

#define TREE_DIRS "host", "container", "docker", "lib"


/* ---- loading -------------------------------------------------------------------------------- */

static bool exists(const char *path)
{
        struct stat st;

        return stat(path, &st) == 0;
}

/* The user's files of one render, each read and parsed once however many agents it serves. */
struct parsed_files {
        char *path[2 + SESSION_MAX_ITEMS + RENDER_AGENTS];
        struct toml_doc *doc[2 + SESSION_MAX_ITEMS + RENDER_AGENTS];
        size_t n;
};

static void parsed_files_clear(struct parsed_files *pf)
{
        for (size_t i = 0; i < pf->n; i++) {
                toml_doc_free(pf->doc[i]);
                free(pf->path[i]);
        }
        pf->n = 0;
}

static int merge_file_once(struct parsed_files *pf, struct config *cfg, const char *path,
                           struct ca_error *err)
{
        size_t i;
        int r;

        for (i = 0; i < pf->n && strcmp(pf->path[i], path) != 0; i++)
                ;
        if (i == pf->n) {
                if (pf->n == CA_ELEMENTSOF(pf->doc))
                        return config_merge_file(cfg, path, err);
                pf->path[i] = strdup(path);
                if (!pf->path[i])
                        return ca_error_setx(err, ENOMEM, "out of memory");
                r = toml_parse_file(path, &pf->doc[i], err);
                if (r < 0) {
                        free(pf->path[i]);
                        return r;
                }
                pf->n++;
        }
        return config_merge_doc(cfg, pf->doc[i], err);
}

/*
 * One agent's configuration: the workspace's file (only when approved; its bytes were read and
 * hashed once, by session_render), then the user's own files, then --config files. Every secret
 * a server names must be granted by the user's own files.
 */
static int load_agent(const struct session_request *o, const char *root, const char *rc,
                      enum render_agent a, const struct workspace_config *wc,
                      struct parsed_files *pf, struct config *cfg, json_t *sources,
                      struct ca_error *err)
{
        _cleanup_free_ char *ac = NULL;
        const char *files[2 + SESSION_MAX_ITEMS];
        char name[64];
        size_t n = 0;
        int r;

        (void) snprintf(name, sizeof(name), "config-%s.toml", render_agent_name(a));
        ac = paths_join(root, name);
        if (!ac)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (wc->state == WORKSPACE_CONFIG_APPROVED && !o->ignore_workspace_config) {
                r = workspace_config_merge(wc, cfg, err);
                if (r < 0)
                        return r;
                (void) json_array_append_new(sources, json_string(wc->path));
        }
        if (exists(rc))
                files[n++] = rc;
        if (exists(ac))
                files[n++] = ac;
        for (size_t i = 0; i < o->nconfigs; i++)
                files[n++] = o->configs[i];
        for (size_t i = 0; i < n; i++) {
                r = merge_file_once(pf, cfg, files[i], err);
                if (r < 0) {
                        /* An unreadable configuration is the user's input problem: exit 2. */
                        err->bad_input = true;
                        return r;
                }
                (void) json_array_append_new(sources, json_string(files[i]));
        }
        r = config_finish(cfg, err);
        if (r >= 0)
                r = config_check_grants(cfg, rc, err);
        return r < 0 ? r : trust_check_config(root, cfg, err);
}

/*
 * The workspace's config.toml, read once: an approved one is used, an unapproved or changed
 * one refuses the session (workspace-config-refused) unless the user said to ignore it.
 */
static int load_workspace(const struct cli_ctx *ctx, const struct session_request *o,
                          struct workspace_config *wc, struct ca_error *err)
{
        int r;

        if (!o->workspace) {
                wc->state = WORKSPACE_CONFIG_NONE;
                return 0;
        }
        r = workspace_config_read(ctx->config_root, o->workspace, wc, err);
        if (r < 0) {
                if (!o->ignore_workspace_config)
                        (void) session_emit(ctx->config_root, AUDIT_WORKSPACE_CONFIG_REFUSED,
                                            o->session,
                                            json_pack("{s:s, s:s, s:s}", "path", wc->path,
                                                      "reason", r == -ELOOP ? "symlink" : "unreadable",
                                                      "message", err->msg));
                if (o->ignore_workspace_config && err->bad_input) {
                        (void) fprintf(stderr, "coding-agents: warning: ignoring %s\n", err->msg);
                        ca_error_clear(err);
                        wc->state = WORKSPACE_CONFIG_NONE;
                        return 0;
                }
                return r;
        }
        if (wc->state != WORKSPACE_CONFIG_UNAPPROVED && wc->state != WORKSPACE_CONFIG_CHANGED)
                return 0;
        if (o->ignore_workspace_config) {
                (void) fprintf(stderr,
                               "coding-agents: warning: ignoring the workspace's '%s' (%s; "
                               "--ignore-workspace-config)\n",
                               wc->path, workspace_config_state_name(wc->state));
                return 0;
        }
        (void) session_emit(ctx->config_root, AUDIT_WORKSPACE_CONFIG_REFUSED, o->session,
                            json_pack("{s:s, s:s, s:s}", "path", wc->path, "sha256", wc->sha256,
                                      "reason",
                                      wc->state == WORKSPACE_CONFIG_CHANGED ? "changed"
                                                                            : "not-approved"));
        return workspace_config_refusal(wc, err);
}

/* ---- trusted-tree measurement --------------------------------------------------------------- */

/*
 * {"kind":"git","trees":{"host":...},"dirty":bool} for a git work tree, else
 * {"kind":"unmeasured","reason":...}. Dirty file names go to *ret_dirty.
 */
static int measure_git(const char *src, json_t **ret, json_t **ret_dirty, struct ca_error *err)
{
        /* git on a tree an agent may have written into (our own checkout as a workspace): the
         * safe git of git.h, which never reads the repository's config. */
        static const char *const ls[] = {"ls-tree", "HEAD", "--", TREE_DIRS};
        static const char *const st[] = {"status", "--porcelain=v1", "-z",
                                         "--untracked-files=all", "--ignore-submodules=all",
                                         "--", TREE_DIRS};
        _cleanup_buf_ struct buf out = BUF_INIT;
        json_t *trees;
        json_t *dirty;
        char *save = NULL;
        int r;

        *ret_dirty = NULL;
        if (!src || !*src) {
                *ret = json_pack("{s:s, s:s}", "kind", "unmeasured", "reason", "no source tree");
                return *ret ? 0 : -ENOMEM;
        }
        r = git_run(src, GIT_READ, ls, CA_ELEMENTSOF(ls), &out, err);
        /* A tree whose .git is refused (a link, a FIFO) is not silently "unmeasured". */
        if (r < 0 && err->bad_input)
                return ca_error_prefix(err, "measuring the source tree");
        if (r != 0) {
                *ret = json_pack("{s:s, s:s}", "kind", "unmeasured", "reason",
                                 r < 0 ? "git is not available" : "not a git work tree");
                return *ret ? 0 : -ENOMEM;
        }
        trees = json_object();
        /* "040000 tree <hash>\t<dir>" per line. */
        for (char *line = strtok_r(out.data ? out.data : (char *) "", "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
                char *tab = strchr(line, '\t');
                char *hash = strstr(line, " tree ");
                if (!tab || !hash)
                        continue;
                *tab = '\0';
                (void) json_object_set_new(trees, tab + 1, json_string(hash + 6));
        }
        buf_reset(&out);
        r = git_run(src, GIT_READ, st, CA_ELEMENTSOF(st), &out, err);
        if (r != 0) {
                json_decref(trees);
                return r < 0 ? r : ca_error_setx(err, EIO, "git status failed in '%s'", src);
        }
        dirty = json_array();
        for (size_t i = 0; out.data && i < out.len;) {
                const char *entry = out.data + i;
                size_t len = strlen(entry);
                if (len > 3)
                        (void) json_array_append_new(dirty, json_string(entry + 3));
                i += len + 1;
        }
        *ret = json_pack("{s:s, s:o, s:b}", "kind", "git", "trees", trees, "dirty",
                         json_array_size(dirty) > 0);
        *ret_dirty = dirty;
        return *ret ? 0 : -ENOMEM;
}

/* measure_git, reused from <config root>/cache/source-tree.json while the tree's key holds
 * (host/lib/treecache.h). */
static int measure(const char *config_root, const char *src, json_t **ret, json_t **ret_dirty,
                   struct ca_error *err)
{
        static const char *const dirs[] = {TREE_DIRS};
        _cleanup_free_ char *cache = paths_join(config_root, "cache/source-tree.json");
        struct treecache_key key;
        int r;

        if (!src || !*src || !cache || treecache_key(src, dirs, CA_ELEMENTSOF(dirs), time(NULL), &key) < 0)
                return measure_git(src, ret, ret_dirty, err);
        if (treecache_load(cache, src, &key, ret, ret_dirty) == 1)
                return 0;
        r = measure_git(src, ret, ret_dirty, err);
        if (r == 0 && *ret_dirty)
                treecache_store(cache, src, &key, *ret, *ret_dirty);
        return r;
}

static int measure_release(const struct profile_info *p, json_t **ret, struct ca_error *err)
{
        _cleanup_free_ char *sums = paths_join(p->release_dir, "SHA256SUMS");
        _cleanup_buf_ struct buf b = BUF_INIT;
        uint8_t md[DIGEST_SHA256_LEN];
        char hex[DIGEST_SHA256_HEX_LEN + 1];
        int r;

        if (!sums)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = fileio_read_path(sums, (size_t) 64 << 20, &b, err);
        if (r < 0)
                return r;
        if (digest_sha256(b.data ? b.data : "", b.len, md) < 0)
                return ca_error_setx(err, EIO, "SHA-256 failed");
        digest_hex(md, sizeof(md), hex);
        *ret = json_pack("{s:s, s:s, s:s, s:s}", "kind", "release", "version", p->version,
                         "release", p->release_dir, "sha256sums_sha256", hex);
        return *ret ? 0 : ca_error_setx(err, ENOMEM, "out of memory");
}

void session_default_name(unsigned agents, const char *workspace, char *out, size_t outlen)
{
        char cwd[4096];
        const char *repo = "repo";
        uint8_t rnd[3];
        char agent[16];
        size_t n;

        if (realpath(workspace, cwd)) {
                const char *slash = strrchr(cwd, '/');
                if (slash && slash[1])
                        repo = slash + 1;
        }
        randombytes_buf(rnd, sizeof(rnd));
        (void) snprintf(agent, sizeof(agent), "%s",
                        __builtin_popcount(agents) == 1
                                ? render_agent_name((enum render_agent) __builtin_ctz(agents))
                                : "all");
        (void) snprintf(out, outlen, "%s-%.40s-%02x%02x%02x", agent, repo, rnd[0], rnd[1],
                        rnd[2]);
        /* Session ids are [A-Za-z0-9._-]. */
        n = strlen(out);
        for (size_t i = 0; i < n; i++) {
                char c = out[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
                        out[i] = '_';
        }
}

int session_emit(const char *root, enum audit_type type, const char *session, json_t *fields)
{
        _cleanup_free_ char *log = paths_events_log(root);
        struct ca_error err = {0};
        int r;

        if (!log) {
                json_decref(fields);
                return -ENOMEM;
        }
        r = audit_emit(log, type, session, fields, &err);
        json_decref(fields);
        if (r < 0)
                (void) cli_error("cannot write the event log: %s", err.msg);
        return r;
}

int session_integrity(const struct cli_ctx *ctx, const char *session, struct ca_error *err)
{
        _cleanup_free_ char *log = paths_events_log(ctx->config_root);
        struct profile_info prof;

        if (!log)
                return ca_error_setx(err, ENOMEM, "out of memory");
        profile_detect(NULL, &prof);
        /* Every launch says where it runs from (env-detect), then checks it (integrity). */
        if (session_emit(ctx->config_root, AUDIT_ENV_DETECT, session,
                         profile_env_json(&prof, ctx->config_root, ctx->command)) < 0)
                return ca_error_setx(err, EIO, "cannot record the env-detect event");
        return profile_preflight(&prof, log, session, err);
}

/* The egress proxy's files for the session's agent (its [network] and remote servers). */
static int render_proxy(const struct session_request *o, const struct config *const *cfgp,
                        struct ca_error *err)
{
        struct egress_opts eo = {.root = SESSION_PROXY_ROOT,
                                 .resolvers = o->resolvers,
                                 .nresolvers = o->nresolvers};
        struct egress_result er = {0};
        const struct config *cfg = NULL;
        const char *const *agent = NULL;
        const char *domains[16];
        uint16_t ports[2];
        struct url u[2];
        size_t n = 0;
        _cleanup_free_ char *run = NULL;
        int r;

        for (int a = 0; a < RENDER_AGENTS && !cfg; a++) {
                cfg = cfgp[a];
                if (cfg)
                        agent = egress_agent_domains(render_agent_name((enum render_agent) a));
        }
        if (!cfg)
                return ca_error_setx(err, EINVAL, "no agent to render the proxy for");
        if (!o->nresolvers)
                return ca_error_input(err, "no DNS server for the egress proxy (the host's "
                                           "/etc/resolv.conf names only loopback ones): give "
                                           "--proxy-resolver ADDRESS, or use --network none");
        /* The agent CLI's own service (its API, its login's refresh), and where the model
         * helper reaches it when configured elsewhere ([model.AGENT] url, token_url). With the
         * model helper they are the helpers' alone: the agent cannot go there itself. */
        while (agent && agent[n] && n < CA_ELEMENTSOF(domains) - 2)
                domains[n] = agent[n], n++;
        if (o->model && o->model->helper) {
                const char *urls[2] = {o->model->origin, o->model->token_url};

                for (size_t i = 0; i < 2; i++) {
                        if (!urls[i][0] || url_parse(urls[i], &u[i], NULL) < 0)
                                continue;
                        domains[n++] = u[i].host;
                        ports[eo.nextra_ports++] = u[i].port;
                }
                eo.helper_domains = domains;
                eo.nhelper_domains = n;
                eo.helper_passwd = o->model->proxy_passwd;
        } else {
                eo.extra_domains = domains;
                eo.nextra_domains = n;
        }
        eo.extra_ports = ports;
        r = egress_render(cfg, &eo, &er, err);
        if (r == 0)
                r = egress_write(&er, o->proxy_out, err);
        egress_result_clear(&er);
        if (r < 0)
                return r;
        /* The sidecar mounts the directory read-only and a tmpfs on run/ (its logs). */
        run = paths_join(o->proxy_out, "run");
        if (!run)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (mkdir(run, 0755) < 0 && errno != EEXIST)
                return ca_error_set(err, errno, "cannot create '%s'", run);
        return 0;
}

int session_default_resolvers(char **out, size_t max, size_t *n)
{
        _cleanup_fclose_ FILE *f = fopen("/etc/resolv.conf", "re");
        char line[512];

        *n = 0;
        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f) && *n < max) {
                char *save = NULL, *key = strtok_r(line, " \t\n", &save);
                char *addr = key ? strtok_r(NULL, " \t\n", &save) : NULL;
                struct in6_addr a6;
                struct in_addr a4;

                if (!key || !addr || strcmp(key, "nameserver") != 0)
                        continue;
                /* The proxy's namespace cannot reach the host's loopback resolvers. */
                if ((inet_pton(AF_INET, addr, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127) ||
                    (inet_pton(AF_INET6, addr, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6)))
                        continue;
                out[*n] = strdup(addr);
                if (!out[*n])
                        return -ENOMEM;
                (*n)++;
        }
        return 0;
}

int session_render(const struct cli_ctx *ctx, const struct session_request *o,
                   struct render_result *res, char sha[65], json_t *sources, struct ca_error *err)
{
        struct config cfgs[RENDER_AGENTS] = {CONFIG_INIT, CONFIG_INIT, CONFIG_INIT};
        struct workspace_config wc = {.data = BUF_INIT};
        const struct config *cfgp[RENDER_AGENTS] = {NULL, NULL, NULL};
        struct render_opts ro = {0};
        _cleanup_json_ json_t *tree = NULL;
        _cleanup_json_ json_t *dirty = NULL;
        _cleanup_json_ json_t *srcs = sources ? json_incref(sources) : json_array();
        _cleanup_free_ char *override = NULL;
        _cleanup_free_ char *rc = paths_join(ctx->config_root, "config.toml");
        const char *src = secure_getenv("CODING_AGENTS_SOURCE_DIR");
        struct parsed_files pf = {.n = 0};
        struct profile_info prof;
        int r = 0;

        if (!srcs || !rc)
                return ca_error_setx(err, ENOMEM, "out of memory");
        profile_detect(NULL, &prof);
        r = load_workspace(ctx, o, &wc, err);
        for (int a = 0; a < RENDER_AGENTS && r == 0; a++) {
                if (!(o->agents & (1u << a)))
                        continue;
                r = load_agent(o, ctx->config_root, rc, (enum render_agent) a, &wc, &pf,
                               &cfgs[a], srcs, err);
                cfgp[a] = &cfgs[a];
        }
        parsed_files_clear(&pf);
        if (r < 0)
                goto out;
#ifdef CA_SOURCE_DIR
        if (!src)
                src = CA_SOURCE_DIR;
#endif
        /* In prod the release was just verified against its SHA256SUMS: that file is the
         * measurement of the trusted tree. */
        r = prof.profile == PATHS_PROFILE_PROD ? measure_release(&prof, &tree, err)
                                               : measure(ctx->config_root, src, &tree, &dirty, err);
        if (r < 0)
                goto out;
        if (json_array_size(dirty) > 0) {
                override = paths_join(ctx->config_root, "overrides/allow-dirty");
                if (!override || !exists(override)) {
                        r = ca_error_setx(err, EPERM,
                                          "the source tree '%s' has %zu uncommitted change%s in "
                                          "host/, container/, docker/ or lib/: commit them, "
                                          "or create '%s' to render anyway",
                                          src, json_array_size(dirty),
                                          json_array_size(dirty) == 1 ? "" : "s",
                                          override ? override : "overrides/allow-dirty");
                        goto out;
                }
        }
        ro.session = o->session;
        ro.agents = o->agents;
        ro.network_set = o->network_set;
        ro.network = o->network;
        ro.disable = o->disable;
        ro.ndisable = o->ndisable;
        ro.tree = tree;
        if (o->model && o->login) {
                enum render_agent a = (enum render_agent) __builtin_ctz(o->agents);

                r = session_model_plan(a, &cfgs[a], o->login, o->login_value,
                                       o->network_set && o->network == CONFIG_NETWORK_NONE,
                                       o->model, err);
                if (r < 0)
                        goto out;
                ro.model = o->model->helper ? &o->model->render : NULL;
        }
        r = render_build(cfgp, &ro, res, err);
        if (r == 0)
                r = render_write(res, o->out, sha, err);
        if (r == 0 && o->proxy_out)
                r = render_proxy(o, cfgp, err);
        if (r < 0)
                goto out;
        if (override && session_emit(ctx->config_root, AUDIT_OVERRIDE_USED, o->session,
                                     json_pack("{s:s, s:O, s:s}", "override", "allow-dirty",
                                               "dirty_files", dirty, "source", src)) < 0) {
                r = ca_error_setx(err, EIO, "cannot record the override-used event");
                goto out;
        }
        if (session_emit(ctx->config_root, AUDIT_SESSION_CONFIG, o->session,
                         json_pack("{s:s, s:O, s:I, s:s, s:O}", "manifest_sha256", sha, "agents",
                                   json_object_get(res->manifest, "agents"), "servers",
                                   (json_int_t) json_array_size(
                                           json_object_get(res->manifest, "servers")),
                                   "network",
                                   json_string_value(json_object_get(res->manifest, "network")),
                                   "tree", tree)) < 0)
                r = ca_error_setx(err, EIO, "cannot record the session-config event");
out:
        for (int a = 0; a < RENDER_AGENTS; a++)
                config_clear(&cfgs[a]);
        workspace_config_clear(&wc);
        return r;
}

/* ---- sessions on the engine ------------------------------------------------------------------ */

char *session_dir(const char *config_root, const char *name)
{
        char *p = NULL;

        return asprintf(&p, "%s/sessions/%s", config_root, name) < 0 ? NULL : p;
}

/* The source tree of a development build; release builds carry no path. */
#ifdef CA_SOURCE_DIR
static const char source_dir[] = CA_SOURCE_DIR;
#else
static const char source_dir[] = "";
#endif

/* A file or directory this install ships: <release>/share/coding-agents/<in_release> in prod,
 * <source>/<in_source> in a development build. */
static int shipped_path(const char *in_release, const char *in_source, char *out, size_t size,
                        struct ca_error *err)
{
        struct profile_info p;
        int n;

        profile_detect(NULL, &p);
        if (p.profile == PATHS_PROFILE_PROD)
                n = snprintf(out, size, "%s/share/coding-agents/%s", p.release_dir, in_release);
        else if (source_dir[0])
                n = snprintf(out, size, "%s/%s", source_dir, in_source);
        else
                return ca_error_setx(err, ENOENT, "this build ships no %s", in_release);
        if (n < 0 || (size_t) n >= size)
                return ca_error_setx(err, ENAMETOOLONG, "the path of %s is too long", in_release);
        return 0;
}

int session_docker_dir(char *out, size_t size, struct ca_error *err)
{
        return shipped_path("docker", "docker", out, size, err);
}

int session_trusted_root(char *out, size_t size, struct ca_error *err)
{
        return shipped_path("sigstore/trusted_root.json", "packaging/sigstore/trusted_root.json",
                            out, size, err);
}

bool session_image_current(const json_t *image, const char *agent_init_sha256)
{
        const char *want = json_string_value(json_object_get(
                json_object_get(json_object_get(image, "Config"), "Labels"), IMAGE_LABEL_AGENT_INIT));

        return want && strcmp(want, agent_init_sha256) == 0;
}

bool session_apparmor_profile_loaded(void)
{
        _cleanup_buf_ struct buf loaded = BUF_INIT;

        return fileio_read_path("/sys/kernel/security/apparmor/profiles", (size_t) 4 << 20,
                                &loaded, NULL) == 0 &&
               buf_append_char(&loaded, '\0') == 0 &&
               strstr(loaded.data, SESSION_APPARMOR_PROFILE " (") != NULL;
}

void session_check_image(const json_t *image, const char *ref, const char *agent_init_sha256)
{
        if (!session_image_current(image, agent_init_sha256))
                (void) fprintf(stderr,
                               "coding-agents: warning: image '%s' was not built from this "
                               "install's agent-init; run 'coding-agents image build'\n",
                               ref);
}

void session_proxy_name(const char *session, char *out, size_t size)
{
        (void) snprintf(out, size, "%s-proxy", session);
}

int session_cgroup(const char *session, bool systemd, char **parent, char **path)
{
        char unit[CAP_SESSION_MAX + 1];
        size_t i;

        *parent = *path = NULL;
        if (!systemd) {
                if (asprintf(parent, "/coding-agents/%s", session) < 0) {
                        *parent = NULL;
                        return -ENOMEM;
                }
                *path = strdup(*parent);
                return *path ? 0 : -ENOMEM;
        }
        /* In slice names '-' means nesting: the session's own dashes become '_'. */
        for (i = 0; i < CAP_SESSION_MAX && session[i]; i++)
                unit[i] = session[i] == '-' || session[i] == '.' ? '_' : session[i];
        unit[i] = '\0';
        if (asprintf(parent, "codingagents-%s.slice", unit) < 0) {
                *parent = NULL;
                return -ENOMEM;
        }
        if (asprintf(path, "/codingagents.slice/%s", *parent) < 0) {
                *path = NULL;
                return -ENOMEM;
        }
        return 0;
}
