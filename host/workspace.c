/* SPDX-License-Identifier: MIT */
/* A workspace's config.toml and its approval (workspace.h). */
#include "workspace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capability.h"
#include "cleanup.h"
#include "config.h"
#include "digest.h"
#include "error.h"
#include "fileio.h"
#include "git.h"
#include "image.h"
#include "json.h"
#include "paths.h"
#include "runtime/runtime.h"
#include "textsafe.h"

#define APPROVALS "workspace-approvals.json"
#define APPROVALS_LOCK "workspace-approvals.lock"
#define APPROVALS_MAX ((size_t) 16 << 20)

void workspace_config_clear(struct workspace_config *wc)
{
        buf_clear(&wc->data);
}

const char *workspace_config_state_name(enum workspace_config_state state)
{
        switch (state) {
        case WORKSPACE_CONFIG_NONE:
                return "absent";
        case WORKSPACE_CONFIG_APPROVED:
                return "approved";
        case WORKSPACE_CONFIG_UNAPPROVED:
                return "not approved";
        case WORKSPACE_CONFIG_CHANGED:
                return "changed since it was approved";
        }
        return "unknown";
}

/* The approvals document, or an empty one when there is none yet. */
static int load_approvals(const char *config_root, json_t **ret, struct ca_error *err)
{
        _cleanup_free_ char *path = paths_join(config_root, APPROVALS);
        json_t *doc = NULL;
        int r;

        if (!path)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (access(path, F_OK) < 0 && errno == ENOENT) {
                doc = json_pack("{s:i, s:{}}", "version", 1, "workspaces");
                *ret = doc;
                return doc ? 0 : ca_error_setx(err, ENOMEM, "out of memory");
        }
        r = ca_json_parse_file(path, APPROVALS_MAX, &doc, err);
        if (r < 0)
                return r;
        if (!json_is_object(json_object_get(doc, "workspaces")) ||
            json_integer_value(json_object_get(doc, "version")) != 1) {
                json_decref(doc);
                return ca_error_setx(err, EINVAL, "'%s' is not a workspace approvals file",
                                     path);
        }
        *ret = doc;
        return 0;
}

int workspace_config_read(const char *config_root, const char *workspace,
                          struct workspace_config *wc, struct ca_error *err)
{
        _cleanup_close_ int dirfd = -1;
        _cleanup_close_ int fd = -1;
        _cleanup_json_ json_t *doc = NULL;
        uint8_t md[DIGEST_SHA256_LEN];
        const char *approved;
        struct stat st;
        int r;

        memset(wc, 0, sizeof(*wc));
        wc->data = (struct buf) BUF_INIT;
        if (!realpath(workspace, wc->workspace))
                return errno == ENOENT || errno == ENOTDIR
                               ? ca_error_input(err, "workspace '%s' is not a directory",
                                                workspace)
                               : ca_error_set(err, errno, "workspace '%s'", workspace);
        if (snprintf(wc->path, sizeof(wc->path), "%s/config.toml", wc->workspace) >=
            (int) sizeof(wc->path))
                return ca_error_setx(err, ENAMETOOLONG, "workspace path too long");
        dirfd = open(wc->workspace, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return ca_error_set(err, errno, "cannot open the workspace '%s'", wc->workspace);
        /* By descriptor, relative to the canonical workspace, never through a link: the file
         * read is inside the workspace and is the one hashed and parsed. O_NONBLOCK: a FIFO
         * planted as config.toml cannot hang the launcher (it is refused below). */
        fd = openat(dirfd, "config.toml", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
                wc->state = WORKSPACE_CONFIG_NONE;
                return 0;
        }
        if (fd < 0 && errno == ELOOP)
                return ca_error_input(err,
                                      "'%s' is a symbolic link: a workspace's config.toml must be "
                                      "a regular file inside it",
                                      wc->path);
        if (fd < 0)
                return ca_error_set(err, errno, "cannot open '%s'", wc->path);
        if (fstat(fd, &st) < 0)
                return ca_error_set(err, errno, "cannot stat '%s'", wc->path);
        if (!S_ISREG(st.st_mode))
                return ca_error_input(err, "'%s' is not a regular file", wc->path);
        r = fileio_read_fd(fd, WORKSPACE_CONFIG_MAX, &wc->data, err);
        if (r < 0)
                return ca_error_prefix(err, "reading '%s'", wc->path);
        if (digest_sha256(wc->data.data ? wc->data.data : "", wc->data.len, md) < 0)
                return ca_error_setx(err, EIO, "SHA-256 failed");
        digest_hex(md, sizeof(md), wc->sha256);

        r = load_approvals(config_root, &doc, err);
        if (r < 0)
                return r;
        approved = json_string_value(json_object_get(
                json_object_get(json_object_get(doc, "workspaces"), wc->workspace), "sha256"));
        if (!approved) {
                wc->state = WORKSPACE_CONFIG_UNAPPROVED;
        } else if (strcmp(approved, wc->sha256) == 0) {
                wc->state = WORKSPACE_CONFIG_APPROVED;
        } else {
                wc->state = WORKSPACE_CONFIG_CHANGED;
                (void) snprintf(wc->approved_sha256, sizeof(wc->approved_sha256), "%s", approved);
        }
        return 0;
}

static void now_rfc3339(char out[32])
{
        time_t t = time(NULL);
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                (void) snprintf(out, 32, "unknown");
}

int workspace_config_approve(const char *config_root, const struct workspace_config *wc,
                             bool revoke, struct ca_error *err)
{
        _cleanup_free_ char *path = paths_join(config_root, APPROVALS);
        _cleanup_free_ char *lock = paths_join(config_root, APPROVALS_LOCK);
        _cleanup_json_ json_t *doc = NULL;
        _cleanup_buf_ struct buf out = BUF_INIT;
        _cleanup_close_ int lockfd = -1;
        json_t *all;
        char when[32];
        int r;

        if (!path || !lock)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = fileio_mkdir_p(config_root, 0700, err);
        if (r < 0)
                return r;
        /* Read-modify-write under a lock, so that two approvals at once both land. */
        lockfd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (lockfd < 0)
                return ca_error_set(err, errno, "cannot open '%s'", lock);
        if (flock(lockfd, LOCK_EX) < 0)
                return ca_error_set(err, errno, "cannot lock '%s'", lock);
        r = load_approvals(config_root, &doc, err);
        if (r < 0)
                return r;
        all = json_object_get(doc, "workspaces");
        if (revoke) {
                if (json_object_del(all, wc->workspace) < 0)
                        return ca_error_setx(err, ENOENT, "'%s' has no approved config.toml",
                                             wc->workspace);
        } else {
                now_rfc3339(when);
                if (json_object_set_new(all, wc->workspace,
                                        json_pack("{s:s, s:s}", "sha256", wc->sha256,
                                                  "approved_at", when)) < 0)
                        return ca_error_setx(err, ENOMEM, "out of memory");
        }
        r = ca_json_pretty(doc, &out, err);
        if (r < 0)
                return r;
        return fileio_write_atomic(path, out.data, out.len, 0600, err);
}

int workspace_config_refusal(const struct workspace_config *wc, struct ca_error *err)
{
        return ca_error_input(err,
                              "the workspace's '%s' is %s (sha256 %.16s…): a repository's "
                              "configuration takes effect only once you approved its content. "
                              "Review it with 'coding-agents config check --workspace %s', then "
                              "run 'coding-agents config approve %s' (or start with "
                              "--ignore-workspace-config)",
                              wc->path, workspace_config_state_name(wc->state), wc->sha256,
                              wc->workspace, wc->workspace);
}

int workspace_config_merge(const struct workspace_config *wc, struct config *cfg,
                           struct ca_error *err)
{
        return config_merge_source(cfg, wc->data.data ? wc->data.data : "", wc->data.len,
                                   wc->path, CONFIG_SOURCE_WORKSPACE, err);
}

/* ---- the workspace's .git in a session ------------------------------------------------------ */

static int add_mount(struct workspace_git_mounts *m, struct runtime_mount *out, size_t *n,
                     const char *source, const char *target, bool read_only,
                     struct ca_error *err)
{
        char *src, *dst;

        if (m->n + 2 > CA_ELEMENTSOF(m->paths))
                return ca_error_setx(err, E2BIG, "too many .git mounts");
        src = m->paths[m->n];
        dst = m->paths[m->n + 1];
        if (snprintf(src, PATH_MAX, "%s", source) >= PATH_MAX ||
            snprintf(dst, PATH_MAX, "%s", target) >= PATH_MAX)
                return ca_error_setx(err, ENAMETOOLONG, "path too long: '%s'", source);
        m->n += 2;
        out[*n] = (struct runtime_mount) {src, dst, read_only};
        (*n)++;
        return 0;
}

/* What a mount covers, made (empty) when the repository has none: a directory, or a file. */
static int create_covered(const char *path, bool file, struct ca_error *err)
{
        int fd;

        if (!file)
                return mkdir(path, 0755) < 0 && errno != EEXIST
                               ? ca_error_set(err, errno, "cannot create '%s'", path)
                               : 0;
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
                return ca_error_set(err, errno, "cannot create '%s'", path);
        if (fd >= 0)
                (void) close(fd);
        return 0;
}

/* What a covered name is when the repository has none, made empty: a file or a directory. */
static bool covered_file(const char *name)
{
        return strcmp(name, "packed-refs") == 0 || strcmp(name, "config.worktree") == 0 ||
               strcmp(name, "commondir") == 0 || strcmp(name, "gitdir") == 0;
}

/* `path` canonical as far as it exists (the rest appended as written): 0, or -errno when no
 * part of it resolves. A dangling link resolves to itself. */
static int resolve_existing(const char *path, char out[PATH_MAX])
{
        char head[PATH_MAX];
        char *cut;

        if (realpath(path, out))
                return 0;
        if (snprintf(head, sizeof(head), "%s", path) >= (int) sizeof(head))
                return -ENAMETOOLONG;
        while ((cut = strrchr(head, '/')) && cut != head) {
                *cut = '\0';
                if (realpath(head, out)) {
                        size_t len = strlen(out);

                        return snprintf(out + len, PATH_MAX - len, "/%s", path + (cut - head) + 1) >=
                                               (int) (PATH_MAX - len)
                                       ? -ENAMETOOLONG
                                       : 0;
                }
        }
        return -ENOENT;
}

/* Whether `path` (resolved as far as it exists) is `root` or under it; unresolvable counts as
 * under (the caller refuses). */
static bool inside(const char *path, const char *root)
{
        char res[PATH_MAX], top[PATH_MAX];
        size_t len;

        if (resolve_existing(path, res) < 0 || !realpath(root, top))
                return true;
        len = strlen(top);
        return strncmp(res, top, len) == 0 && (res[len] == '/' || res[len] == '\0' ||
                                                 strcmp(top, "/") == 0);
}

/*
 * A link where a mount must cover git's own file or directory: the mount would not follow it,
 * so what it leads to stays writable. Refused when that is in `root` (the tree the session
 * mounts) or nowhere yet (the agent could make it there); a link to an existing place outside
 * leads to nothing the container has.
 */
static int check_link(const char *path, const char *root, struct ca_error *err)
{
        if (!inside(path, root))
                return 0;
        return ca_error_input(err,
                              "'%s' is a symbolic link to a place in the workspace, or to none: "
                              "a session could change what git on the host follows there, and "
                              "a mount cannot cover it; make it a file or directory of its own "
                              "to run a session here",
                              path);
}

/* Each of `names` under `dir` mounted read-only at the same name under `target`; with
 * `make`, a missing one made (empty) first, except config (git needs none, and makes none). A
 * link is refused as check_link says (`root`: the tree the session mounts). */
static int cover(const char *dir, const char *target, const char *root,
                 const char *const *names, size_t nnames, bool make,
                 struct workspace_git_mounts *m, struct runtime_mount *out, size_t *n,
                 struct ca_error *err)
{
        for (size_t i = 0; i < nnames; i++) {
                char src[PATH_MAX + 16], dst[PATH_MAX + 16];
                struct stat st;
                int r;

                (void) snprintf(src, sizeof(src), "%s/%s", dir, names[i]);
                (void) snprintf(dst, sizeof(dst), "%s/%s", target, names[i]);
                if (lstat(src, &st) < 0) {
                        if (errno != ENOENT)
                                return ca_error_set(err, errno, "cannot stat '%s'", src);
                        if (!make || strcmp(names[i], "config") == 0)
                                continue;
                        r = create_covered(src, covered_file(names[i]), err);
                        if (r < 0)
                                return r;
                        if (lstat(src, &st) < 0)
                                return ca_error_set(err, errno, "cannot stat '%s'", src);
                }
                if (S_ISLNK(st.st_mode)) {
                        r = check_link(src, root, err);
                        if (r < 0)
                                return r;
                } else if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
                        r = add_mount(m, out, n, src, dst, true, err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

struct include_check {
        const char *dir;    /* where a relative include starts: the config file's directory */
        const char *root;   /* the tree the session mounts */
        const char *config; /* the file, for the message */
        struct ca_error *err;
};

static int include_in_root(const char *path, void *userdata)
{
        const struct include_check *c = userdata;
        const char *home = secure_getenv("HOME");
        char full[PATH_MAX * 2];

        if (path[0] == '~' && (path[1] == '/' || !path[1]))
                (void) snprintf(full, sizeof(full), "%s%s", home ? home : "", path + 1);
        else if (path[0] == '/')
                (void) snprintf(full, sizeof(full), "%s", path);
        else
                (void) snprintf(full, sizeof(full), "%s/%s", c->dir, path);
        if (strlen(full) >= PATH_MAX || !inside(full, c->root))
                return 0;
        return ca_error_input(c->err,
                              "'%s' includes '%s', which is in the workspace: the agent could "
                              "write what git on the host then reads as config (and runs); move "
                              "it out of the workspace, or remove the include, to run a session "
                              "here",
                              c->config, path);
}

/* The repository's config files include nothing the session can write. */
static int check_includes(const char *git, const char *root, struct ca_error *err)
{
        static const char *const files[] = {"config", "config.worktree"};

        for (size_t i = 0; i < CA_ELEMENTSOF(files); i++) {
                char path[PATH_MAX + 32];
                struct include_check c = {git, root, path, err};
                int r;

                (void) snprintf(path, sizeof(path), "%s/%s", git, files[i]);
                r = git_config_includes(path, include_in_root, &c, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int workspace_git_mounts(const char *workspace, const char *target, const char *objects,
                         struct workspace_git_mounts *m, struct runtime_mount *out,
                         size_t *ret_n, struct ca_error *err)
{
        /* refs/replace: a replace ref makes git use another object in place of one (a
         * checkout would write the agent's content for a file it never touched); packed-refs
         * can hold replace refs too. config.worktree: read as config when the repository
         * enables worktreeConfig. modules: a submodule's git directory has a config, hooks
         * and objects of its own, and git on the host takes one it finds there for a
         * submodule it initialises. worktrees: a linked worktree's commondir names the
         * directory whose config git uses there. lfs: git-lfs checks out the file it has for
         * an object without hashing it again. */
        static const char *const covered[] = {"config",      "config.worktree", "hooks",
                                              "info",        "refs/replace",    "packed-refs",
                                              "modules",     "worktrees",       "lfs"};
        char git[PATH_MAX], in[PATH_MAX];
        struct stat st;
        size_t n = 0;
        int r;

        *ret_n = 0;
        m->n = 0;
        if (snprintf(git, sizeof(git), "%s/.git", workspace) >= (int) sizeof(git) ||
            snprintf(in, sizeof(in), "%s/.git", target) >= (int) sizeof(in))
                return ca_error_setx(err, ENAMETOOLONG, "workspace path too long");
        if (lstat(git, &st) < 0)
                return errno == ENOENT ? 0 : ca_error_set(err, errno, "cannot stat '%s'", git);
        if (S_ISLNK(st.st_mode))
                return check_link(git, workspace, err);
        if (S_ISREG(st.st_mode)) {
                r = add_mount(m, out, &n, git, in, true, err);
                *ret_n = n;
                return r;
        }
        if (!S_ISDIR(st.st_mode))
                return 0;
        r = check_includes(git, workspace, err);
        if (r < 0)
                return r;
        /* The object store behind a link: the session's own store cannot be put in its place
         * (workspace_objects_prepare), so one the agent can reach is refused. */
        {
                char objects_path[PATH_MAX + 16];

                (void) snprintf(objects_path, sizeof(objects_path), "%s/objects", git);
                if (lstat(objects_path, &st) == 0 && S_ISLNK(st.st_mode) &&
                    check_link(objects_path, workspace, err) < 0)
                        return -EINVAL;
        }
        /* .git itself a mount point: it cannot be renamed away and replaced by another. */
        r = add_mount(m, out, &n, git, in, false, err);
        if (r >= 0 && objects) {
                char src[PATH_MAX + 16], dst[PATH_MAX + 16];

                (void) snprintf(src, sizeof(src), "%s/objects", git);
                (void) snprintf(dst, sizeof(dst), "%s/objects", in);
                r = add_mount(m, out, &n, objects, dst, false, err);
                if (r >= 0)
                        r = add_mount(m, out, &n, src, IMAGE_GIT_OBJECTS, true, err);
        }
        if (r >= 0)
                r = cover(git, in, workspace, covered, CA_ELEMENTSOF(covered), true, m, out, &n,
                          err);
        *ret_n = n;
        return r;
}

int workspace_gitdir_mounts(const char *gitdir, struct workspace_git_mounts *m,
                            struct runtime_mount *out, size_t *ret_n, struct ca_error *err)
{
        static const char *const covered[] = {"commondir", "gitdir", "config.worktree"};
        /* Not made when missing: git will not remove a worktree whose git directory has one. */
        static const char *const existing[] = {"modules"};
        size_t n = 0;
        int r;

        m->n = 0;
        r = cover(gitdir, gitdir, gitdir, covered, CA_ELEMENTSOF(covered), true, m, out, &n,
                  err);
        if (r >= 0)
                r = cover(gitdir, gitdir, gitdir, existing, CA_ELEMENTSOF(existing), false, m,
                          out, &n, err);
        *ret_n = n;
        return r;
}

/* ---- the session's own object store ----------------------------------------------------- */

#define OBJECTS_DIR "git-objects"
#define OBJECTS_RECORD_MAX ((size_t) 64 << 10)

static int objects_paths(const char *config_root, const char *session, char dir[PATH_MAX],
                         char rec[PATH_MAX], struct ca_error *err)
{
        if (!capability_valid_session(session))
                return ca_error_input(err, "bad session name '%s'", session);
        if (snprintf(dir, PATH_MAX, "%s/" OBJECTS_DIR "/%s", config_root, session) >= PATH_MAX ||
            snprintf(rec, PATH_MAX, "%s/" OBJECTS_DIR "/%s.json", config_root, session) >=
                    PATH_MAX)
                return ca_error_input(err, "the config root's path is too long");
        return 0;
}

/* As the repository's objects directory is (git inside writes as its owner does). */
static int objects_own(int fd, const struct stat *like, mode_t mode)
{
        if (geteuid() == 0 && fchown(fd, like->st_uid, like->st_gid) < 0)
                return -errno;
        return fchmod(fd, mode) < 0 ? -errno : 0;
}

int workspace_objects_prepare(const char *config_root, const char *session,
                              const char *repository, char dir[PATH_MAX], struct ca_error *err)
{
        static const char alternates[] = IMAGE_GIT_OBJECTS "\n";
        char real[PATH_MAX + 16], rec[PATH_MAX], parent[PATH_MAX + 16];
        _cleanup_json_ json_t *doc = NULL;
        _cleanup_buf_ struct buf b = BUF_INIT;
        _cleanup_close_ int dfd = -1;
        _cleanup_close_ int ifd = -1;
        _cleanup_close_ int afd = -1;
        struct stat st;
        int r;

        (void) snprintf(real, sizeof(real), "%s/.git/objects", repository);
        if (lstat(real, &st) < 0)
                return 0;
        if (S_ISLNK(st.st_mode))
                return check_link(real, repository, err) < 0 ? -EINVAL : 0;
        if (!S_ISDIR(st.st_mode))
                return 0;
        if (objects_paths(config_root, session, dir, rec, err) < 0)
                return -EINVAL;
        (void) snprintf(parent, sizeof(parent), "%s/" OBJECTS_DIR, config_root);
        if (fileio_mkdir_p(parent, 0700, err) < 0)
                return -EIO;
        if (mkdir(dir, 0700) < 0)
                return errno == EEXIST
                               ? ca_error_input(err,
                                                "'%s' holds the objects of an earlier session "
                                                "named %s that were not brought in yet: "
                                                "'coding-agents rm %s' tries again",
                                                dir, session, session)
                               : ca_error_set(err, errno, "cannot create '%s'", dir);
        doc = json_pack("{s:s}", "repository", repository);
        if (!doc || ca_json_pretty(doc, &b, err) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = fileio_write_atomic(rec, b.data, b.len, 0600, err);
        if (r < 0)
                return r;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0 || mkdirat(dfd, "info", 0755) < 0 ||
            (ifd = openat(dfd, "info", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
            (afd = openat(ifd, "alternates", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0 ||
            fileio_write_all(afd, alternates, sizeof(alternates) - 1) < 0)
                return ca_error_set(err, errno, "cannot set up '%s'", dir);
        r = objects_own(dfd, &st, st.st_mode & 07777);
        if (r >= 0)
                r = objects_own(ifd, &st, 0755);
        if (r >= 0)
                r = objects_own(afd, &st, 0644);
        return r < 0 ? ca_error_set(err, -r, "cannot set up '%s'", dir) : 1;
}

/* The session's store and the repository its record names: 1, 0 when it has none. */
static int objects_record(const char *config_root, const char *session, char dir[PATH_MAX],
                          char repo[PATH_MAX], struct ca_error *err)
{
        char rec[PATH_MAX];
        _cleanup_json_ json_t *doc = NULL;
        const char *r;

        repo[0] = '\0';
        if (objects_paths(config_root, session, dir, rec, err) < 0)
                return -EINVAL;
        if (access(rec, F_OK) < 0)
                return 0;
        if (ca_json_parse_file(rec, OBJECTS_RECORD_MAX, &doc, err) < 0)
                return -EIO;
        r = json_string_value(json_object_get(doc, "repository"));
        if (!r || snprintf(repo, PATH_MAX, "%s", r) >= PATH_MAX)
                return ca_error_setx(err, EINVAL, "'%s' names no repository", rec);
        return 1;
}

int workspace_objects_sync(const char *config_root, const char *session, struct ca_error *err)
{
        char dir[PATH_MAX], repo[PATH_MAX], scratch[PATH_MAX + 16];
        int r = objects_record(config_root, session, dir, repo, err);

        if (r <= 0)
                return r;
        (void) snprintf(scratch, sizeof(scratch), "%s.import", dir);
        return git_import_objects(repo, dir, scratch, true, err);
}

json_t *workspace_objects_end(const char *config_root, const char *session)
{
        char dir[PATH_MAX], rec[PATH_MAX], repo[PATH_MAX], scratch[PATH_MAX + 16];
        struct ca_error err = {0};
        int n = objects_record(config_root, session, dir, repo, &err);

        if (n == 0)
                return NULL;
        if (n < 0)
                return json_pack("{s:s, s:s, s:s}", "workspace", repo, "kept", dir, "reason",
                                 err.msg);
        (void) snprintf(scratch, sizeof(scratch), "%s.import", dir);
        n = git_import_objects(repo, dir, scratch, false, &err);
        if (n < 0) {
                (void) fprintf(stderr,
                               "coding-agents: warning: the objects session %s wrote could not "
                               "be brought into the repository of %s: %s. They are kept in %s; "
                               "until they are, what the session committed or staged may be "
                               "missing there. 'coding-agents rm %s' tries again.\n",
                               session, text_escape_tmp(repo), err.msg, text_escape_tmp(dir),
                               session);
                return json_pack("{s:s, s:s, s:s}", "workspace", repo, "kept", dir, "reason",
                                 err.msg);
        }
        ca_error_clear(&err);
        (void) objects_paths(config_root, session, dir, rec, &err);
        if (fileio_remove_tree(dir, &err) < 0 || (unlink(rec) < 0 && errno != ENOENT))
                (void) fprintf(stderr, "coding-agents: cannot remove '%s': %s\n", dir,
                               err.msg[0] ? err.msg : strerror(errno));
        /* Nothing new at the end (none written, or all brought in while it ran): no news. */
        return n > 0 ? json_pack("{s:s, s:i}", "workspace", repo, "imported", n) : NULL;
}

#define SNAPSHOT_MAX_ENTRIES 20000
#define SNAPSHOT_MAX_DEPTH 16
#define SNAPSHOT_HASH_MAX ((size_t) 16 << 20)

/* "sha256:<hex>", "link:<target>", "dir", or "size:<n>" for a file too large to hash. */
static int entry_value(int dirfd, const char *name, const struct stat *st, char *out,
                       size_t outlen)
{
        if (S_ISLNK(st->st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);

                if (n < 0)
                        return -errno;
                target[n] = '\0';
                (void) snprintf(out, outlen, "link:%s", target);
                return 0;
        }
        if (S_ISDIR(st->st_mode)) {
                (void) snprintf(out, outlen, "dir");
                return 0;
        }
        if (S_ISREG(st->st_mode) && (size_t) st->st_size <= SNAPSHOT_HASH_MAX) {
                _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
                                                                     O_NOCTTY | O_CLOEXEC);
                _cleanup_buf_ struct buf b = BUF_INIT;
                uint8_t md[DIGEST_SHA256_LEN];
                char hex[DIGEST_SHA256_HEX_LEN + 1];

                if (fd < 0 || fileio_read_fd(fd, SNAPSHOT_HASH_MAX, &b, NULL) < 0 ||
                    digest_sha256(b.data ? b.data : "", b.len, md) < 0)
                        return -EIO;
                digest_hex(md, sizeof(md), hex);
                (void) snprintf(out, outlen, "sha256:%s", hex);
                return 0;
        }
        (void) snprintf(out, outlen, "%s:%lld", S_ISREG(st->st_mode) ? "size" : "special",
                        (long long) st->st_size);
        return 0;
}

/* Names whose content git executes or follows; and the heads of a merge, cherry-pick or
 * revert in progress, which your next `git commit` (even `-a`) acts on: MERGE_HEAD makes it a
 * merge that takes in a commit of the agent's choosing, unreviewed, as a parent. */
static bool watched_name(const char *name)
{
        return strcmp(name, "config") == 0 || strcmp(name, "config.worktree") == 0 ||
               strcmp(name, "commondir") == 0 || strcmp(name, "gitdir") == 0 ||
               strcmp(name, "MERGE_HEAD") == 0 || strcmp(name, "CHERRY_PICK_HEAD") == 0 ||
               strcmp(name, "REVERT_HEAD") == 0;
}

/* Directories whose every file counts: hooks and info, and the state of a rebase, cherry-pick
 * or revert in progress, whose todo list (`exec` lines) git runs on --continue. */
static bool walked_whole(const char *name)
{
        return strcmp(name, "hooks") == 0 || strcmp(name, "info") == 0 ||
               strcmp(name, "rebase-merge") == 0 || strcmp(name, "rebase-apply") == 0 ||
               strcmp(name, "sequencer") == 0;
}

/* Data only, and large: not walked. */
static bool skipped_dir(const char *name)
{
        return strcmp(name, "objects") == 0 || strcmp(name, "refs") == 0 ||
               strcmp(name, "logs") == 0 || strcmp(name, "lfs") == 0;
}

static void closedirp(DIR **d)
{
        if (*d)
                (void) closedir(*d);
}

/*
 * obj[key] = value, both escaped (textsafe.h) first: names and link targets are the agent's
 * bytes, and JSON holds only UTF-8. Stored raw, a name that is not (a file `x\377` in
 * .git/rebase-merge, a hidden `tool\377.sh`, a branch) failed the whole snapshot, and with it
 * every report of the session's end. 0 or -ENOMEM.
 */
static int set_escaped(json_t *obj, const char *key, const char *value)
{
        _cleanup_buf_ struct buf k = BUF_INIT;
        _cleanup_buf_ struct buf v = BUF_INIT;

        if (text_escape(key, strlen(key), 0, &k) < 0 || text_escape(value, strlen(value), 0, &v) < 0)
                return -ENOMEM;
        return json_object_set_new(obj, k.data ? k.data : "", json_string(v.data ? v.data : "")) < 0
                       ? -ENOMEM
                       : 0;
}

static int walk_git(int parent, const char *rel, unsigned depth, bool all, json_t *entries)
{
        _cleanup_(closedirp) DIR *d = NULL;
        int fd = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        const struct dirent *de;

        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                (void) close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                char key[PATH_MAX], value[PATH_MAX + 16];
                struct stat st;
                bool in = all || walked_whole(de->d_name);
                int r;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (snprintf(key, sizeof(key), "%s/%s", rel, de->d_name) >= (int) sizeof(key))
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sub = -1;

                        if ((!all && skipped_dir(de->d_name)) || depth >= SNAPSHOT_MAX_DEPTH)
                                continue;
                        if (in && set_escaped(entries, key, "dir") < 0)
                                return -ENOMEM;
                        sub = openat(dirfd(d), de->d_name,
                                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0)
                                continue;
                        r = walk_git(sub, key, depth + 1, in, entries);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (!in && !watched_name(de->d_name))
                        continue;
                /* An empty config.worktree reads as none (and is what a session's mount
                 * makes to cover a missing one): the same as absent. */
                if (!in && S_ISREG(st.st_mode) && st.st_size == 0)
                        continue;
                if (json_object_size(entries) >= SNAPSHOT_MAX_ENTRIES)
                        return -E2BIG;
                if (entry_value(dirfd(d), de->d_name, &st, value, sizeof(value)) < 0)
                        (void) snprintf(value, sizeof(value), "unreadable");
                if (set_escaped(entries, key, value) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* A listing read with git for the snapshot: git's output, the first entries, a digest of all
 * of them and their count. */
struct listing {
        struct buf out;
        json_t *listed;
        struct digest_ctx *md;
        size_t count;
};

/* Runs `git args...` for a listing: git's exit status, or a negative errno. */
static int listing_begin(struct listing *l, const char *workspace, const char *const *args,
                         size_t nargs)
{
        struct ca_error err = {0};

        *l = (struct listing) {.out = BUF_INIT, .listed = json_object(),
                               .md = digest_sha256_new()};
        if (!l->listed || !l->md)
                return -ENOMEM;
        return git_run(workspace, GIT_READ, args, nargs, &l->out, &err);
}

/* What the snapshot keeps of a listing: its count, the digest of all of it and the first
 * entries; NULL when reading it failed (`r` not 0). Frees the rest. */
static json_t *listing_end(struct listing *l, int r)
{
        uint8_t sum[DIGEST_SHA256_LEN];
        char hex[DIGEST_SHA256_HEX_LEN + 1];
        json_t *ret = NULL;

        buf_clear(&l->out);
        if (r == 0 && digest_final(l->md, sum) == 0) {
                digest_hex(sum, sizeof(sum), hex);
                ret = json_pack("{s:I, s:s, s:O}", "count", (json_int_t) l->count, "digest", hex,
                                "listed", l->listed);
        } else
                (void) digest_free(l->md);
        l->md = NULL;
        json_decref(l->listed);
        l->listed = NULL;
        return ret;
}

/*
 * Index entries that git status and git diff do not look at: assume-unchanged ("git ls-files -v"
 * tags them in lower case) and skip-worktree ("S"). An agent that edits a tracked file and then
 * marks it so leaves a work tree whose change neither command shows: reviewed as clean, built,
 * run. The snapshot keeps their count, a digest of the whole list and the first
 * HIDDEN_LISTED of them; NULL (no field) when git cannot read an index there.
 */
#define HIDDEN_LISTED 64
static json_t *hidden_entries(const char *workspace)
{
        static const char *const args[] = {"ls-files", "-v", "-z"};
        struct listing l;
        int r = listing_begin(&l, workspace, args, CA_ELEMENTSOF(args));

        for (size_t i = 0; r == 0 && i + 2 < l.out.len;) {
                const char *rec = l.out.data + i;
                size_t len = strnlen(rec, l.out.len - i);
                char tag = rec[0];
                bool assumed = tag >= 'a' && tag <= 'z', skipped = tag == 'S' || tag == 's';

                i += len + 1;
                if (len < 3 || rec[1] != ' ' || (!assumed && !skipped))
                        continue;
                if (digest_update(l.md, rec, len + 1) < 0) {
                        r = -EIO;
                        break;
                }
                if (l.count++ < HIDDEN_LISTED &&
                    set_escaped(l.listed, rec + 2,
                                skipped ? (assumed ? "assume-unchanged, skip-worktree"
                                                   : "skip-worktree")
                                        : "assume-unchanged") < 0)
                        r = -ENOMEM;
        }
        return listing_end(&l, r);
}

/*
 * The repository's refs and HEAD ("git show-ref --head": every branch, tag, remote-tracking
 * ref, the stash). A commit the agent made on your branch leaves git status and git diff
 * clean, and so does a remote-tracking ref it moved to the branch it changed (a review with
 * `git diff origin/main` would show nothing): the end of the session names what moved. The
 * snapshot keeps their count, a digest of the whole list and the first REFS_LISTED; NULL (no
 * field) when git cannot list them. Refs whose objects git cannot find are not listed (git
 * skips them), so this is read once the session's objects came in.
 */
#define REFS_LISTED 1024
static json_t *ref_entries(const char *workspace)
{
        static const char *const args[] = {"show-ref", "--head"};
        struct listing l;
        int r = listing_begin(&l, workspace, args, CA_ELEMENTSOF(args));

        /* 1: no refs at all (a repository without a commit). */
        if (r == 1 && l.out.len == 0)
                r = 0;
        for (size_t i = 0; r == 0 && i < l.out.len;) {
                char *line = l.out.data + i;
                char *nl = memchr(line, '\n', l.out.len - i);
                char *sp;

                if (!nl)
                        break;
                *nl = '\0';
                i = (size_t) (nl - l.out.data) + 1;
                sp = strchr(line, ' ');
                /* An object id is hex (SHA-1 or SHA-256); anything else is not git's. */
                if (!sp || !sp[1] || ((size_t) (sp - line) != 40 && (size_t) (sp - line) != 64) ||
                    strspn(line, "0123456789abcdef") != (size_t) (sp - line))
                        continue;
                /* "<oid> <ref>" and its NUL: one record of the digest each. */
                if (digest_update(l.md, line, (size_t) (nl - line) + 1) < 0) {
                        r = -EIO;
                        break;
                }
                *sp = '\0';
                if (l.count++ < REFS_LISTED && set_escaped(l.listed, sp + 1, line) < 0)
                        r = -ENOMEM;
        }
        return listing_end(&l, r);
}

int workspace_git_snapshot(const char *workspace, json_t **ret, struct ca_error *err)
{
        _cleanup_close_ int wsfd = open(workspace, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_json_ json_t *entries = json_object();
        char value[PATH_MAX + 16];
        struct stat st;
        bool gitdir = false;
        int r = 0;

        if (wsfd < 0)
                return ca_error_set(err, errno, "cannot open the workspace '%s'", workspace);
        if (!entries)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (fstatat(wsfd, ".git", &st, AT_SYMLINK_NOFOLLOW) == 0) {
                gitdir = S_ISDIR(st.st_mode);
                if (entry_value(wsfd, ".git", &st, value, sizeof(value)) < 0)
                        (void) snprintf(value, sizeof(value), "unreadable");
                if (set_escaped(entries, ".git", value) < 0)
                        return ca_error_setx(err, ENOMEM, "out of memory");
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int gitfd = openat(wsfd, ".git", O_RDONLY | O_DIRECTORY |
                                                                                 O_NOFOLLOW |
                                                                                 O_CLOEXEC);
                        r = gitfd < 0 ? -errno : walk_git(gitfd, ".git", 0, false, entries);
                }
        }
        /* Too many to keep: what was read stays, and a mark that more was there (an agent that
         * floods .git/rebase-merge must not make the check fail whole). */
        if (r == -E2BIG)
                r = json_object_set_new(entries, ".git/...", json_string("more entries")) < 0
                            ? -ENOMEM
                            : 0;
        if (r < 0)
                return ca_error_setx(err, -r, "cannot read '%s/.git'", workspace);
        *ret = json_pack("{s:s, s:O}", "workspace", workspace, "entries", entries);
        if (*ret && gitdir) {
                json_t *hidden = hidden_entries(workspace);
                json_t *refs = ref_entries(workspace);

                if (hidden && json_object_set_new(*ret, "index_hidden", hidden) < 0)
                        return ca_error_setx(err, ENOMEM, "out of memory");
                if (refs && json_object_set_new(*ret, "refs", refs) < 0)
                        return ca_error_setx(err, ENOMEM, "out of memory");
        }
        return *ret ? 0 : ca_error_setx(err, ENOMEM, "out of memory");
}

/* Index entries hidden since the snapshot (hidden_entries): {"change": "hidden", "path", "how"}
 * each. Entries un-hidden are not news: git shows them again. */
static void hidden_changes(const json_t *before, const json_t *after, json_t *changed)
{
        const json_t *listed = json_object_get(after, "listed");
        const json_t *was_listed = json_object_get(before, "listed");
        json_int_t count = json_integer_value(json_object_get(after, "count"));
        json_int_t was_count = json_integer_value(json_object_get(before, "count"));
        /* Without a list at launch (no index then), everything hidden now is new. */
        bool known = !before || was_count <= HIDDEN_LISTED;
        size_t reported = 0;
        const char *path;
        const json_t *how;

        if (!after || (before && json_equal(json_object_get(before, "digest"),
                                            json_object_get(after, "digest"))))
                return;
        json_object_foreach((json_t *) listed, path, how) {
                const json_t *was = was_listed ? json_object_get(was_listed, path) : NULL;

                if ((was && json_equal(was, how)) || (!was && !known))
                        continue;
                (void) json_array_append_new(changed, json_pack("{s:s, s:s, s:O}", "change",
                                                                "hidden", "path", path, "how",
                                                                how));
                reported++;
        }
        if (reported == 0 && count > (json_int_t) json_object_size(listed) &&
            count != was_count)
                (void) json_array_append_new(changed,
                                             json_pack("{s:s, s:s, s:s, s:I}", "change", "hidden",
                                                       "path", ".git/index", "how",
                                                       "entries beyond the first listed",
                                                       count));
}

/* The event holding the changes is one line of the log (AUDIT_MAX_LINE): an agent that made
 * thousands of branches must not push it, and the hooks it lists with them, out of the log.
 * The refs' changes take at most this much of it; the rest are counted. */
#define REFS_CHANGES_BYTES ((size_t) 16 << 10)

static bool ref_room(size_t *budget, const char *ref, size_t *more)
{
        size_t cost = strlen(ref) + (size_t) 2 * DIGEST_SHA256_HEX_LEN + 64;

        if (*more || cost > *budget) {
                (*more)++;
                return false;
        }
        *budget -= cost;
        return true;
}

/* Refs that moved, came or went since the snapshot (ref_entries): {"change": "moved", "path":
 * REF, "from", "to"}, "created" (with "to" and "base", HEAD at launch) or "deleted" (with
 * "from"). HEAD itself is not reported: it follows its branch, whose move is. */
static void ref_changes(const json_t *before, const json_t *after, json_t *changed)
{
        size_t budget = REFS_CHANGES_BYTES, more = 0;
        const json_t *listed = json_object_get(after, "listed");
        const json_t *was_listed = json_object_get(before, "listed");
        const json_t *base = json_object_get(was_listed, "HEAD");
        bool complete = json_integer_value(json_object_get(before, "count")) <= REFS_LISTED &&
                        json_integer_value(json_object_get(after, "count")) <= REFS_LISTED;
        const char *ref;
        const json_t *oid;

        if (!before || !after ||
            json_equal(json_object_get(before, "digest"), json_object_get(after, "digest")))
                return;
        if (!complete) {
                (void) json_array_append_new(changed, json_pack("{s:s, s:s, s:s}", "change",
                                                                "moved", "path", "refs", "how",
                                                                "more refs than listed"));
                return;
        }
        /* Most telling first, so that refs the agent made by the thousand (sorted before yours,
         * say) cannot push them out of the event or the warnings: refs that were where HEAD was
         * (your branch), then your other refs, then new remote-tracking refs (what a review
         * diffs against), then the other new ones. */
        for (int pass = 0; pass < 4; pass++) {
                json_object_foreach((json_t *) listed, ref, oid) {
                        const json_t *was = json_object_get(was_listed, ref);
                        int rank = was                                         ? !json_equal(was, base)
                                   : strncmp(ref, "refs/remotes/", 13) == 0 ? 2
                                                                             : 3;

                        if (strcmp(ref, "HEAD") == 0 || (was && json_equal(was, oid)) ||
                            rank != pass || !ref_room(&budget, ref, &more))
                                continue;
                        if (was)
                                (void) json_array_append_new(
                                        changed, json_pack("{s:s, s:s, s:O, s:O}", "change",
                                                           "moved", "path", ref, "from", was,
                                                           "to", oid));
                        else
                                (void) json_array_append_new(
                                        changed, json_pack("{s:s, s:s, s:O, s:O*}", "change",
                                                           "created", "path", ref, "to", oid,
                                                           "base", base));
                }
                json_object_foreach((json_t *) was_listed, ref, oid) {
                        int rank = json_equal(oid, base) ? 0 : 1;

                        if (strcmp(ref, "HEAD") == 0 || json_object_get(listed, ref) ||
                            rank != pass || !ref_room(&budget, ref, &more))
                                continue;
                        (void) json_array_append_new(changed,
                                                     json_pack("{s:s, s:s, s:O}", "change",
                                                               "deleted", "path", ref, "from",
                                                               oid));
                }
        }
        if (more)
                (void) json_array_append_new(changed,
                                             json_pack("{s:s, s:s, s:s, s:I}", "change", "moved",
                                                       "path", "refs", "how",
                                                       "more refs than listed", "count",
                                                       (json_int_t) more));
}

/* The paths `git diff <args>` names (NUL-separated in `out`), or a negative errno. */
static int diff_names(const char *workspace, const char *against, struct buf *out)
{
        const char *const args[] = {"diff", "--no-ext-diff", "--no-textconv", "--name-only", "-z",
                                    against, "--"};
        struct ca_error err = {0};
        int r = git_run(workspace, GIT_READ, args, CA_ELEMENTSOF(args), out, &err);

        return r == 0 ? 0 : r < 0 ? r : -EIO;
}

/*
 * Changes staged in the index that the work tree does not have (it is as at HEAD): `git diff`
 * shows each as its own removal, `git status` as staged and then undone, and the next `git
 * commit` commits it. An agent can stage an edit and put the file back: {"change": "staged",
 * "path"} each, at most STAGED_LISTED.
 */
#define STAGED_LISTED 64
static void staged_changes(const char *workspace, json_t *changed)
{
        _cleanup_buf_ struct buf cached = BUF_INIT;
        _cleanup_buf_ struct buf head = BUF_INIT;
        /* The paths changed against HEAD, as a set (the raw bytes as keys: names need not be
         * UTF-8): a session that staged 50,000 files is looked up in, not scanned that often. */
        _cleanup_json_ json_t *changed_now = json_object();
        size_t listed = 0;

        if (!changed_now || diff_names(workspace, "--cached", &cached) < 0 || cached.len == 0 ||
            diff_names(workspace, "HEAD", &head) < 0)
                return;
        for (size_t i = 0; i < head.len;) {
                const char *n = head.data + i;

                i += strnlen(n, head.len - i) + 1;
                if (json_object_set_new_nocheck(changed_now, n, json_true()) < 0)
                        return;
        }
        for (size_t i = 0; i < cached.len && listed < STAGED_LISTED;) {
                const char *n = cached.data + i;
                size_t len = strnlen(n, cached.len - i);
                _cleanup_buf_ struct buf shown = BUF_INIT;

                i += len + 1;
                if (len == 0 || json_object_get(changed_now, n) ||
                    text_escape(n, len, 0, &shown) < 0)
                        continue;
                (void) json_array_append_new(changed, json_pack("{s:s, s:s}", "change", "staged",
                                                                "path", shown.data));
                listed++;
        }
}

int workspace_git_changes(const json_t *snapshot, json_t **ret_changed, struct ca_error *err)
{
        const char *ws = json_string_value(json_object_get(snapshot, "workspace"));
        const json_t *before = json_object_get(snapshot, "entries");
        _cleanup_json_ json_t *now = NULL;
        _cleanup_json_ json_t *changed = json_array();
        const json_t *after;
        const char *key;
        const json_t *v;
        int r;

        if (!ws || !json_is_object(before))
                return ca_error_setx(err, EINVAL, "not a .git snapshot");
        if (!changed)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = workspace_git_snapshot(ws, &now, err);
        if (r < 0)
                return r;
        after = json_object_get(now, "entries");
        json_object_foreach((json_t *) before, key, v) {
                const char *was = json_string_value(v);
                const char *is = json_string_value(json_object_get(after, key));

                if (!is || strcmp(was, is) != 0)
                        (void) json_array_append_new(changed, json_pack("{s:s, s:s}", "path", key,
                                                                        "change",
                                                                        is ? "modified"
                                                                           : "removed"));
        }
        json_object_foreach((json_t *) after, key, v) {
                if (!json_object_get(before, key))
                        (void) json_array_append_new(changed, json_pack("{s:s, s:s}", "path", key,
                                                                        "change", "added"));
        }
        hidden_changes(json_object_get(snapshot, "index_hidden"),
                       json_object_get(now, "index_hidden"), changed);
        ref_changes(json_object_get(snapshot, "refs"), json_object_get(now, "refs"), changed);
        if (json_object_get(now, "index_hidden"))
                staged_changes(ws, changed);
        *ret_changed = changed;
        changed = NULL;
        return 0;
}
