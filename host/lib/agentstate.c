/* SPDX-License-Identifier: MIT */
/* Agent state that persists across sessions, without secrets (agentstate.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "agentstate.h"
#include "audit.h"
#include "broker_client.h"
#include "buf.h"
#include "cleanup.h"
#include "digest.h"
#include "error.h"
#include "fileio.h"
#include "json.h"
#include "paths.h"
#include "render.h"
#include "secret.h"
#include "statecopy.h"
#include "store.h"

#define NEEDLE_MIN 8       /* a stored value shorter than this is not looked for */
#define NEEDLE_JSON_MIN 16 /* a string inside a stored JSON value (a token) */
#define NEEDLES_MAX 4096
#define INSTRUCTIONS_MAX ((size_t) 1 << 20)

/* A copy's context: what no state file may hold (the values of the broker's stored secrets),
 * and where its refusals are recorded. */
struct copy_ctx {
        struct ca_secret *needle[NEEDLES_MAX];
        size_t n;
        const char *config_root, *session, *agent, *where;
};

static void needles_clear(struct copy_ctx *c)
{
        for (size_t i = 0; i < c->n; i++)
                c->needle[i] = secret_free(c->needle[i]);
        c->n = 0;
}

static void add_needle(struct copy_ctx *c, const void *data, size_t len)
{
        if (len >= NEEDLE_MIN && c->n < NEEDLES_MAX &&
            (c->needle[c->n] = secret_new_from(data, len)))
                c->n++;
}

/* Every string of NEEDLE_JSON_MIN characters or more inside `v`. */
static void add_json_strings(struct copy_ctx *c, json_t *v)
{
        const char *key;
        json_t *m;
        size_t i;

        if (json_is_string(v) && json_string_length(v) >= NEEDLE_JSON_MIN) {
                add_needle(c, json_string_value(v), json_string_length(v));
        } else if (json_is_object(v)) {
                json_object_foreach(v, key, m) {
                        add_json_strings(c, m);
                }
        } else if (json_is_array(v)) {
                json_array_foreach(v, i, m) {
                        add_json_strings(c, m);
                }
        }
}

static int needles_load(struct copy_ctx *c, struct ca_error *err)
{
        _cleanup_free_ char *dir = broker_dir(c->config_root);
        _cleanup_json_ json_t *names = NULL;
        struct store *st = NULL;
        json_t *e;
        size_t i;
        int r;

        if (!dir)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = store_open(dir, false, &st, err);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return ca_error_prefix(err, "reading the broker's store to keep secrets out of "
                                            "the agent's state");
        r = store_list(st, &names, err);
        json_array_foreach(names, i, e) {
                struct ca_secret *v = NULL;
                json_t *doc;

                if (r < 0 || store_get(st, json_string_value(json_object_get(e, "name")), &v,
                                       err) < 0)
                        continue;
                add_needle(c, v->buf, v->len);
                doc = json_loadb((const char *) v->buf, v->len, JSON_DECODE_ANY, NULL);
                add_json_strings(c, doc);
                json_decref(doc);
                secret_free(v);
        }
        (void) store_close(st);
        return r;
}

/* The copy's content check: a file that holds a stored secret stays where it is. */
static int no_secret(void *ctx, const uint8_t *data, size_t len, const char **why)
{
        const struct copy_ctx *c = ctx;

        for (size_t i = 0; i < c->n; i++)
                if (memmem(data, len, c->needle[i]->buf, c->needle[i]->len)) {
                        *why = "holds a secret the broker stores";
                        return 1;
                }
        return 0;
}

static void emit(const char *config_root, enum audit_type type, const char *session,
                 json_t *fields)
{
        _cleanup_free_ char *log = paths_events_log(config_root);
        struct ca_error err = {0};

        if (log && fields && audit_emit(log, type, session, fields, &err) < 0)
                (void) fprintf(stderr, "coding-agents: cannot write the event log: %s\n",
                               err.msg);
        json_decref(fields);
}

static void refused(void *ctx, const char *path, const char *why)
{
        const struct copy_ctx *c = ctx;

        (void) fprintf(stderr, "coding-agents: %s state: left out %s: %s\n", c->agent, path, why);
        emit(c->config_root, AUDIT_STATE_REFUSED, c->session,
             json_pack("{s:s, s:s, s:s, s:s}", "agent", c->agent, "path", path, "reason", why,
                       "where", c->where));
}

static int open_dir(const char *path, int *fd, struct ca_error *err)
{
        *fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return *fd < 0 ? ca_error_set(err, errno, "cannot open %s", path) : 0;
}

/* Copies the agent's state from `src` into `dst` (both existing directories) with the checks,
 * and flushes it. */
static int copy_checked(const char *config_root, const char *session, const char *agent,
                        const char *src, const char *dst, struct statecopy_result *res,
                        struct ca_error *err)
{
        struct copy_ctx *c = calloc(1, sizeof(*c));
        _cleanup_close_ int sfd = -1, dfd = -1;
        struct statecopy_opts o = {
                .top = statecopy_agent_top(agent),
                .lim = STATECOPY_LIMITS_DEFAULT,
                .read_fsuid = -1,
                .owner = -1,
                .check = no_secret,
                .refused = refused,
                .ctx = c,
        };
        int r;

        if (!c)
                return ca_error_setx(err, ENOMEM, "out of memory");
        *c = (struct copy_ctx){.config_root = config_root, .session = session, .agent = agent,
                               .where = "host"};
        r = !o.top ? ca_error_input(err, "unknown agent '%s'", agent) : needles_load(c, err);
        if (r >= 0)
                r = open_dir(src, &sfd, err);
        if (r >= 0)
                r = open_dir(dst, &dfd, err);
        if (r >= 0)
                r = statecopy_tree(sfd, dfd, &o, res, err);
        if (r >= 0 && syncfs(dfd) < 0)
                r = ca_error_set(err, errno, "cannot flush %s", dst);
        needles_clear(c);
        free(c);
        return r;
}

char *agentstate_root(const char *config_root)
{
        return paths_join(config_root, "state");
}

char *agentstate_dir(const char *config_root, const char *workspace, const char *agent)
{
        const char *base = strrchr(workspace, '/');
        char key[64], hex[DIGEST_SHA256_HEX_LEN + 1];
        uint8_t md[DIGEST_SHA256_LEN];
        size_t n = 0;
        char *out = NULL;

        base = base && base[1] ? base + 1 : "root";
        for (; *base && n < 32; base++)
                key[n++] = (char) ((*base >= 'a' && *base <= 'z') || (*base >= 'A' && *base <= 'Z') ||
                                                   (*base >= '0' && *base <= '9') || *base == '-' ||
                                                   *base == '_'
                                           ? *base
                                           : '_');
        if (digest_sha256(workspace, strlen(workspace), md) < 0)
                return NULL;
        digest_hex(md, sizeof(md), hex);
        (void) snprintf(key + n, sizeof(key) - n, "-%.16s", hex);
        if (asprintf(&out, "%s/state/%s/%s", config_root, key, agent) < 0)
                return NULL;
        return out;
}

/* The parent of `dir` (a copy). */
static char *parent_of(const char *dir)
{
        char *p = strdup(dir);
        char *slash = p ? strrchr(p, '/') : NULL;

        if (slash)
                *slash = '\0';
        return p;
}

int agentstate_stage(const char *config_root, const char *session, const char *sdir,
                     const char *workspace, const char *agent, struct ca_error *err)
{
        _cleanup_free_ char *dir = agentstate_dir(config_root, workspace, agent);
        _cleanup_free_ char *in = paths_join(sdir, "state-in");
        _cleanup_free_ char *out = paths_join(sdir, "state-out");
        _cleanup_free_ char *ctl = paths_join(sdir, "control");
        _cleanup_free_ char *rec_path = ctl ? paths_join(ctl, "state.json") : NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_json_ json_t *rec = NULL;
        struct statecopy_result res = {0};
        struct stat st;

        if (!dir || !in || !out || !rec_path)
                return ca_error_setx(err, ENOMEM, "out of memory");
        rec = json_pack("{s:s, s:s, s:s}", "agent", agent, "workspace", workspace, "dir", dir);
        text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
        if (!text)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (fileio_mkdir_p(in, 0700, err) < 0 || fileio_mkdir_p(out, 0700, err) < 0 ||
            fileio_mkdir_p(ctl, 0700, err) < 0 ||
            fileio_write_atomic(rec_path, text, strlen(text), 0600, err) < 0)
                return -EIO;
        if (lstat(dir, &st) < 0 && errno == ENOENT)
                return 0;
        if (copy_checked(config_root, session, agent, dir, in, &res, err) < 0)
                return ca_error_prefix(err, "bringing in the saved %s state", agent);
        emit(config_root, AUDIT_STATE_LOADED, session,
             json_pack("{s:s, s:s, s:I, s:I, s:I}", "agent", agent, "workspace", workspace,
                       "files", (json_int_t) res.files, "bytes", (json_int_t) res.bytes,
                       "refused", (json_int_t) res.refused));
        return 0;
}

/* Puts `fresh` in place of `dir` in one exchange of names (the old one ends at `fresh`). */
static int swap_in(const char *fresh, const char *dir, struct ca_error *err)
{
        if (renameat2(AT_FDCWD, fresh, AT_FDCWD, dir, RENAME_EXCHANGE) == 0)
                return fileio_remove_tree(fresh, err);
        if (errno != ENOENT)
                return ca_error_set(err, errno, "cannot put the new state in place of %s", dir);
        if (rename(fresh, dir) < 0)
                return ca_error_set(err, errno, "cannot put the new state at %s", dir);
        return 0;
}

/* Under the lock of the workspace's state: the copy into a fresh sibling, then the exchange. */
static int save_locked(const char *config_root, const char *session, const json_t *rec,
                       const char *tree, struct statecopy_result *res, struct ca_error *err)
{
        const char *agent = json_string_value(json_object_get(rec, "agent"));
        const char *dir = json_string_value(json_object_get(rec, "dir"));
        const char *ws = json_string_value(json_object_get(rec, "workspace"));
        _cleanup_free_ char *parent = parent_of(dir);
        _cleanup_free_ char *fresh = NULL;
        _cleanup_free_ char *ws_file = parent ? paths_join(parent, "workspace") : NULL;
        int r;

        if (!ws_file || asprintf(&fresh, "%s/.%s.new-%s", parent, agent, session) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (fileio_remove_tree(fresh, err) < 0 || fileio_mkdir_p(fresh, 0700, err) < 0)
                return -EIO;
        r = copy_checked(config_root, session, agent, tree, fresh, res, err);
        if (r >= 0)
                r = fileio_write_atomic(ws_file, ws, strlen(ws), 0600, err);
        if (r >= 0)
                r = swap_in(fresh, dir, err);
        if (r < 0 && fileio_remove_tree(fresh, NULL) < 0)
                (void) fprintf(stderr, "coding-agents: cannot remove %s\n", fresh);
        return r;
}

static int read_record(const char *sdir, json_t **ret, struct ca_error *err)
{
        _cleanup_free_ char *path = paths_join(sdir, "control/state.json");
        _cleanup_buf_ struct buf b = BUF_INIT;
        json_t *rec;
        int r;

        if (!path)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = fileio_read_path(path, 64 << 10, &b, err);
        if (r == -ENOENT)
                return -ENOENT;
        if (r < 0)
                return r;
        rec = json_loadb(b.data, b.len, 0, NULL);
        if (!json_is_string(json_object_get(rec, "agent")) ||
            !json_is_string(json_object_get(rec, "dir")) ||
            !json_is_string(json_object_get(rec, "workspace"))) {
                json_decref(rec);
                return ca_error_setx(err, EBADMSG, "%s is damaged", path);
        }
        *ret = rec;
        return 0;
}

int agentstate_save(const char *config_root, const char *session, const char *sdir,
                    struct ca_error *err)
{
        _cleanup_json_ json_t *rec = NULL;
        _cleanup_free_ char *done = paths_join(sdir, "state-out/done");
        _cleanup_free_ char *tree = paths_join(sdir, "state-out/tree");
        _cleanup_free_ char *parent = NULL, *lock = NULL;
        _cleanup_close_ int lfd = -1;
        struct statecopy_result res = {0};
        const char *agent, *ws;
        struct stat st;
        int r = read_record(sdir, &rec, err);

        if (r == -ENOENT)
                return 0;
        if (r < 0 || !done || !tree)
                return r < 0 ? r : ca_error_setx(err, ENOMEM, "out of memory");
        agent = json_string_value(json_object_get(rec, "agent"));
        ws = json_string_value(json_object_get(rec, "workspace"));
        if (lstat(done, &st) < 0 || !S_ISREG(st.st_mode)) {
                emit(config_root, AUDIT_STATE_SAVED, session,
                     json_pack("{s:s, s:s, s:b, s:s}", "agent", agent, "workspace", ws, "saved",
                               false, "reason", "the session did not hand its state back"));
                (void) fprintf(stderr, "coding-agents: the session did not hand the %s state "
                                       "back (it was killed or failed); the saved state is kept "
                                       "as it was\n",
                               agent);
                return 0;
        }
        parent = parent_of(json_string_value(json_object_get(rec, "dir")));
        lock = parent ? paths_join(parent, ".lock") : NULL;
        if (!lock)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (fileio_mkdir_p(parent, 0700, err) < 0)
                return -EIO;
        lfd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (lfd < 0 || flock(lfd, LOCK_EX) < 0)
                return ca_error_set(err, errno, "cannot lock %s", lock);
        r = save_locked(config_root, session, rec, tree, &res, err);
        if (r < 0)
                return ca_error_prefix(err, "saving the %s state (the saved state is kept as it "
                                            "was)",
                                       agent);
        emit(config_root, AUDIT_STATE_SAVED, session,
             json_pack("{s:s, s:s, s:b, s:I, s:I, s:I}", "agent", agent, "workspace", ws, "saved",
                       true, "files", (json_int_t) res.files, "bytes", (json_int_t) res.bytes,
                       "refused", (json_int_t) res.refused));
        return 0;
}

/* ---- state list ---------------------------------------------------------------------------- */

/* Files and bytes under the directory `dfd` (which it closes), links not followed. */
static void count_tree(int dfd, json_int_t *files, json_int_t *bytes, unsigned depth)
{
        DIR *d = fdopendir(dfd);
        struct dirent *e;

        if (!d) {
                (void) close(dfd);
                return;
        }
        while ((e = readdir(d))) {
                struct stat st;
                int sub;

                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
                    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISREG(st.st_mode)) {
                        (*files)++;
                        *bytes += st.st_size;
                } else if (S_ISDIR(st.st_mode) && depth < 64 &&
                           (sub = openat(dirfd(d), e->d_name,
                                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
                        count_tree(sub, files, bytes, depth + 1);
                }
        }
        (void) closedir(d);
}

/* One workspace's entries (one per agent with a state) appended to `out`. */
static int list_key(int rootfd, const char *root, const char *key, json_t *out)
{
        _cleanup_buf_ struct buf ws = BUF_INIT;
        _cleanup_free_ char *kdir = paths_join(root, key);
        _cleanup_free_ char *wsf = kdir ? paths_join(kdir, "workspace") : NULL;
        struct ca_error err = {0};

        if (!wsf)
                return -ENOMEM;
        if (fileio_read_path(wsf, 4096, &ws, &err) < 0)
                return 0;
        for (int a = 0; a < RENDER_AGENTS; a++) {
                const char *agent = render_agent_name((enum render_agent) a);
                _cleanup_free_ char *rel = paths_join(key, agent);
                json_int_t files = 0, bytes = 0;
                struct stat st;
                int fd;

                if (!rel)
                        return -ENOMEM;
                fd = openat(rootfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        continue;
                if (fstat(fd, &st) < 0) {
                        (void) close(fd);
                        continue;
                }
                count_tree(fd, &files, &bytes, 0);
                if (json_array_append_new(out, json_pack("{s:s, s:s%, s:s, s:s+++, s:I, s:I, s:I}",
                                                         "key", key, "workspace", ws.data, ws.len,
                                                         "agent", agent, "dir", root, "/", rel,
                                                         "", "files", files, "bytes", bytes,
                                                         "updated",
                                                         (json_int_t) st.st_mtime)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

struct row {
        json_t *j;
};

static int by_workspace(const void *a, const void *b)
{
        const json_t *x = ((const struct row *) a)->j, *y = ((const struct row *) b)->j;
        int c = strcmp(json_string_value(json_object_get(x, "workspace")),
                       json_string_value(json_object_get(y, "workspace")));

        return c ? c
                 : strcmp(json_string_value(json_object_get(x, "agent")),
                          json_string_value(json_object_get(y, "agent")));
}

int agentstate_list(const char *config_root, json_t **ret, struct ca_error *err)
{
        _cleanup_free_ char *root = agentstate_root(config_root);
        _cleanup_json_ json_t *out = json_array();
        _cleanup_free_ struct row *v = NULL;
        _cleanup_close_ int rootfd = -1;
        size_t n;
        DIR *d;
        struct dirent *e;
        int r = 0;

        if (!root || !out)
                return ca_error_setx(err, ENOMEM, "out of memory");
        rootfd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (rootfd < 0 && errno != ENOENT)
                return ca_error_set(err, errno, "cannot open %s", root);
        d = rootfd < 0 ? NULL
                       : fdopendir(openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        while (d && r >= 0 && (e = readdir(d)))
                if (e->d_name[0] != '.')
                        r = list_key(rootfd, root, e->d_name, out);
        if (d)
                (void) closedir(d);
        if (r < 0)
                return ca_error_set(err, -r, "listing %s", root);
        /* Sorted by workspace, then agent: a stable listing. */
        n = json_array_size(out);
        v = calloc(n + 1, sizeof(*v));
        if (!v)
                return ca_error_setx(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++)
                v[i].j = json_incref(json_array_get(out, i));
        qsort(v, n, sizeof(struct row), by_workspace);
        *ret = json_array();
        for (size_t i = 0; i < n; i++)
                if (!*ret || json_array_append_new(*ret, v[i].j) < 0)
                        json_decref(v[i].j);
        return *ret ? 0 : ca_error_setx(err, ENOMEM, "out of memory");
}

/* ---- the user's instructions ----------------------------------------------------------------- */

/* Keys of Claude Code's settings that run commands or carry credentials, or that would start
 * the MCP servers a repository's .mcp.json names (a poisoned repository's code, in the
 * session): never brought in. */
static const char *const settings_dropped[] = {
        "env",       "apiKeyHelper", "awsAuthRefresh",    "awsCredentialExport",
        "hooks",     "statusLine",   "otelHeadersHelper", "enableAllProjectMcpServers",
        "enabledMcpjsonServers"};

static int filter_settings(struct buf *b, const char **why)
{
        _cleanup_json_ json_t *doc = json_loadb(b->data ? b->data : "", b->len, 0, NULL);
        _cleanup_free_ char *text = NULL;

        if (!json_is_object(doc)) {
                *why = "not a JSON object";
                return -1;
        }
        for (size_t i = 0; i < CA_ELEMENTSOF(settings_dropped); i++)
                (void) json_object_del(doc, settings_dropped[i]);
        text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (!text)
                return -ENOMEM;
        b->len = 0;
        return buf_append(b, text, strlen(text));
}

static const struct instruction {
        const char *agent, *from, *to;
        bool settings;
} instructions[] = {
        {"claude", ".claude/CLAUDE.md", "CLAUDE.md", false},
        {"claude", ".claude/settings.json", "settings.json", true},
        {"codex", ".codex/AGENTS.md", "AGENTS.md", false},
};

/* One file of the user's: read, checked, filtered, written. A refusal is a warning. */
static int bring_instruction(struct copy_ctx *c, const struct instruction *in, const char *home,
                             const char *agent_dir, struct ca_error *err)
{
        _cleanup_free_ char *from = paths_join(home, in->from);
        _cleanup_free_ char *to = paths_join(agent_dir, in->to);
        _cleanup_buf_ struct buf b = BUF_INIT;
        const char *why = NULL;
        struct ca_error e = {0};
        int r;

        if (!from || !to)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = fileio_read_path(from, INSTRUCTIONS_MAX, &b, &e);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                why = r == -EFBIG ? "larger than 1 MiB" : e.msg;
        else if (no_secret(c, (const uint8_t *) (b.data ? b.data : ""), b.len, &why) == 0 &&
                 in->settings && filter_settings(&b, &why) == -ENOMEM)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (why) {
                (void) fprintf(stderr, "coding-agents: warning: %s is not brought into the "
                                       "session: %s\n",
                               from, why);
                return 0;
        }
        return fileio_write_atomic(to, b.data ? b.data : "", b.len, 0600, err);
}

int agentstate_instructions(const char *config_root, const char *agent, const char *agent_dir,
                            struct ca_error *err)
{
        const char *home = secure_getenv("HOME");
        struct copy_ctx *c;
        int r = 0;

        if (!home || home[0] != '/')
                return 0;
        c = calloc(1, sizeof(*c));
        if (!c)
                return ca_error_setx(err, ENOMEM, "out of memory");
        c->config_root = config_root;
        r = needles_load(c, err);
        for (size_t i = 0; r >= 0 && i < CA_ELEMENTSOF(instructions); i++)
                if (strcmp(instructions[i].agent, agent) == 0)
                        r = bring_instruction(c, &instructions[i], home, agent_dir, err);
        needles_clear(c);
        free(c);
        return r;
}
