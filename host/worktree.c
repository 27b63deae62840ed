/* SPDX-License-Identifier: MIT */
/* Sessions on their own worktrees (worktree.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "capability.h"
#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "git.h"
#include "json.h"
#include "paths.h"
#include "textsafe.h"
#include "worktree.h"

#define RECORD_MAX ((size_t) 64 << 10)

static int record_path(const char *config_root, const char *session, char *out, size_t size,
                       const char *suffix, struct ca_error *err)
{
        if (!capability_valid_session(session))
                return ca_error_input(err, "bad session name '%s'", session);
        if ((size_t) snprintf(out, size, "%s/worktrees/%s%s", config_root, session, suffix) >=
            size)
                return ca_error_input(err, "the config root's path is too long");
        return 0;
}

/* git in `dir`; its output in `out` (may be NULL). Returns git's status or a negative errno. */
static int git(const char *dir, enum git_mode mode, struct buf *out, struct ca_error *err,
               const char *const *args, size_t n)
{
        return git_run(dir, mode, args, n, out, err);
}

#define GIT(dir, mode, out, err, ...)                                                        \
        git(dir, mode, out, err, (const char *const[]){__VA_ARGS__},                         \
            sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static void chomp(struct buf *b)
{
        while (b->len && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == '\r'))
                b->data[--b->len] = '\0';
}

/* A branch name for a new branch: what git takes, never an option. */
static int check_branch(const char *repo, const char *branch, struct ca_error *err)
{
        char ref[300];
        int r;

        if (!branch[0] || branch[0] == '-' || strlen(branch) >= 200)
                return ca_error_input(err, "bad branch name '%s'", branch);
        r = GIT(repo, GIT_READ, NULL, err, "check-ref-format", "--branch", branch);
        if (r < 0)
                return r;
        if (r != 0)
                return ca_error_input(err, "'%s' is not a branch name git accepts", branch);
        (void) snprintf(ref, sizeof(ref), "refs/heads/%s", branch);
        r = GIT(repo, GIT_READ, NULL, err, "rev-parse", "--verify", "--quiet", ref);
        if (r < 0)
                return r;
        if (r == 0)
                return ca_error_input(err,
                                      "branch '%s' exists: a session's worktree gets a new "
                                      "branch (name another with --worktree=BRANCH)",
                                      branch);
        return 0;
}

static int write_record(const char *config_root, const char *session, const struct worktree *wt,
                        bool keep, struct ca_error *err)
{
        _cleanup_json_ json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "session",
                                               session, "repository", wt->repository, "branch",
                                               wt->branch, "base", wt->base, "path", wt->path,
                                               "keep", keep);
        _cleanup_free_ char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
        char path[PATH_MAX];

        if (!text)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (record_path(config_root, session, path, sizeof(path), ".json", err) < 0)
                return -EINVAL;
        return fileio_write_atomic(path, text, strlen(text), 0600, err);
}

/* ---- the session's private refs ------------------------------------------------------------ */

#define REFS_DEPTH_MAX 32
#define REFS_ENTRIES_MAX 200000
#define REF_MAX 4096

static int copy_ref(int sfd, int dfd, const char *name, int depth, size_t *left,
                    struct ca_error *err);

/* Copies the directory `sfd` into the empty directory `dfd`: directories and regular files
 * only (a link is left out), modes kept, and as root the owners too (the container's git must
 * be able to write the copy as it could the original). */
static int copy_refs(int sfd, int dfd, int depth, size_t *left, struct ca_error *err)
{
        struct dirent *e;
        int dup_fd = fcntl(sfd, F_DUPFD_CLOEXEC, 3), r = 0;
        DIR *d;

        if (depth > REFS_DEPTH_MAX)
                return ca_error_setx(err, ELOOP, "the repository's refs are nested too deep");
        d = dup_fd < 0 ? NULL : fdopendir(dup_fd);
        if (!d) {
                if (dup_fd >= 0)
                        (void) close(dup_fd);
                return ca_error_set(err, errno, "cannot read the repository's refs");
        }
        while (r == 0 && (errno = 0, e = readdir(d)))
                r = copy_ref(sfd, dfd, e->d_name, depth, left, err);
        if (r == 0 && errno)
                r = ca_error_set(err, errno, "cannot read the repository's refs");
        (void) closedir(d);
        return r;
}

/* One entry of copy_refs. */
static int copy_ref(int sfd, int dfd, const char *name, int depth, size_t *left,
                    struct ca_error *err)
{
        _cleanup_close_ int in = -1, out = -1;
        struct stat st;

        if (!strcmp(name, ".") || !strcmp(name, ".."))
                return 0;
        if (*left == 0)
                return ca_error_setx(err, E2BIG, "the repository has more than %d refs",
                                     REFS_ENTRIES_MAX);
        (*left)--;
        if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return ca_error_set(err, errno, "cannot stat ref '%s'", name);
        if (S_ISDIR(st.st_mode)) {
                if (mkdirat(dfd, name, 0700) < 0 ||
                    (in = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
                    (out = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                        return ca_error_set(err, errno, "cannot copy refs '%s'", name);
                if (copy_refs(in, out, depth + 1, left, err) < 0)
                        return -EIO;
        } else if (S_ISREG(st.st_mode) && st.st_size <= REF_MAX) {
                _cleanup_buf_ struct buf b = BUF_INIT;

                in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                if (in < 0 || out < 0 || fileio_read_fd(in, REF_MAX, &b, err) < 0 ||
                    fileio_write_all(out, b.data, b.len) < 0)
                        return ca_error_set(err, errno ? errno : EIO, "cannot copy ref '%s'",
                                            name);
        } else {
                return 0;
        }
        if ((geteuid() == 0 && fchown(out, st.st_uid, st.st_gid) < 0) ||
            fchmod(out, st.st_mode & 07777) < 0)
                return ca_error_set(err, errno, "cannot copy ref '%s'", name);
        return 0;
}

int worktree_private_dirs(const char *config_root, const char *session, char refs[PATH_MAX],
                          char logs[PATH_MAX], struct ca_error *err)
{
        if (record_path(config_root, session, refs, PATH_MAX, ".refs", err) < 0 ||
            record_path(config_root, session, logs, PATH_MAX, ".logs", err) < 0)
                return -EINVAL;
        return 0;
}

/* The private copy of the repository's refs and an empty logs directory (the repository's
 * packed-refs is read-only in every session: workspace_git_mounts). */
static int make_private(const char *config_root, const char *session, const struct worktree *wt,
                        struct ca_error *err)
{
        char refs[PATH_MAX], logs[PATH_MAX], path[PATH_MAX + 32];
        _cleanup_close_ int src = -1, dst = -1;
        size_t left = REFS_ENTRIES_MAX;
        struct stat st;

        if (worktree_private_dirs(config_root, session, refs, logs, err) < 0)
                return -EINVAL;
        (void) snprintf(path, sizeof(path), "%s/.git/refs", wt->repository);
        src = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (src < 0 || fstat(src, &st) < 0)
                return ca_error_set(err, errno, "cannot open '%s'", path);
        if (mkdir(refs, 0700) < 0 || mkdir(logs, 0700) < 0 ||
            (dst = open(refs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                return ca_error_set(err, errno, "cannot create '%s'", refs);
        if (copy_refs(src, dst, 0, &left, err) < 0)
                return -EIO;
        /* Both as the repository's refs directory is: git inside writes to them. */
        if ((geteuid() == 0 && (chown(refs, st.st_uid, st.st_gid) < 0 ||
                                chown(logs, st.st_uid, st.st_gid) < 0)) ||
            chmod(refs, st.st_mode & 07777) < 0 || chmod(logs, st.st_mode & 07777) < 0)
                return ca_error_set(err, errno, "cannot set up '%s'", refs);
        (void) snprintf(path, sizeof(path), "%s/.git/logs", wt->repository);
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return ca_error_set(err, errno, "cannot create '%s'", path);
        return 0;
}

/* The private copies go; with `bring_back`, the session's branch as the session left it is
 * set in the repository first (by our git, only from the commit it started at). */
static void end_private(const char *config_root, const char *session, const struct worktree *wt)
{
        _cleanup_buf_ struct buf b = BUF_INIT;
        struct ca_error err = {0};
        char refs[PATH_MAX], logs[PATH_MAX], ref[PATH_MAX + 300], name[300];
        int r;

        if (worktree_private_dirs(config_root, session, refs, logs, &err) < 0)
                return;
        (void) snprintf(ref, sizeof(ref), "%s/heads/%s", refs, wt->branch);
        (void) snprintf(name, sizeof(name), "refs/heads/%s", wt->branch);
        r = fileio_read_path(ref, REF_MAX, &b, &err);
        if (r == 0) {
                chomp(&b);
                if (b.len != strlen(wt->base) || strspn(b.data, "0123456789abcdef") != b.len) {
                        (void) fprintf(stderr, "coding-agents: the session left its branch %s "
                                               "as something other than a commit: not brought "
                                               "back\n",
                                       wt->branch);
                } else if (strcmp(b.data, wt->base) != 0) {
                        r = GIT(wt->repository, GIT_WRITE, NULL, &err, "update-ref", "-m",
                                "coding-agents: the session's commits", name, b.data, wt->base);
                        if (r != 0)
                                (void) fprintf(stderr, "coding-agents: cannot bring back the "
                                                       "session's branch %s: %s\n",
                                               wt->branch,
                                               r < 0 ? err.msg : "git update-ref refused it");
                }
        } else if (r != -ENOENT) {
                (void) fprintf(stderr, "coding-agents: cannot read the session's branch %s: %s\n",
                               wt->branch, err.msg);
        }
        ca_error_clear(&err);
        if (fileio_remove_tree(refs, &err) < 0 || fileio_remove_tree(logs, &err) < 0)
                (void) fprintf(stderr, "coding-agents: %s\n", err.msg);
}

int worktree_create(const char *config_root, const char *session, const char *repository,
                    const char *branch, bool keep, struct worktree *wt, struct ca_error *err)
{
        _cleanup_buf_ struct buf head = BUF_INIT;
        char gitdir[PATH_MAX + 8], parent[PATH_MAX];
        struct stat st;
        int r;

        *wt = (struct worktree){{0}};
        (void) snprintf(wt->repository, sizeof(wt->repository), "%s", repository);
        (void) snprintf(gitdir, sizeof(gitdir), "%s/.git", repository);
        if (lstat(gitdir, &st) < 0 || !S_ISDIR(st.st_mode))
                return ca_error_input(err,
                                      "--worktree: '%s' is not the top of a git working tree "
                                      "(its .git is missing, or is a file: a linked worktree "
                                      "or a submodule)",
                                      repository);
        r = GIT(repository, GIT_READ, &head, err, "rev-parse", "--verify", "HEAD^{commit}");
        if (r < 0)
                return r;
        chomp(&head);
        if (r != 0 || head.len < 40 || head.len >= sizeof(wt->base))
                return ca_error_input(err, "--worktree: '%s' has no commit to start from",
                                      repository);
        memcpy(wt->base, head.data, head.len + 1);
        (void) snprintf(wt->branch, sizeof(wt->branch), "%s%s", branch ? "" : "coding-agents/",
                        branch ? branch : session);
        if (check_branch(repository, wt->branch, err) < 0)
                return -EINVAL;
        if (record_path(config_root, session, wt->path, sizeof(wt->path), "", err) < 0 ||
            record_path(config_root, session, parent, sizeof(parent), "", err) < 0)
                return -EINVAL;
        *strrchr(parent, '/') = '\0';
        if (fileio_mkdir_p(parent, 0700, err) < 0)
                return -EIO;
        r = GIT(repository, GIT_WRITE, NULL, err, "worktree", "add", "--quiet", "-b", wt->branch,
                wt->path, wt->base);
        if (r < 0)
                return r;
        if (r != 0)
                return ca_error_setx(err, EIO, "git worktree add failed (status %d) for '%s'", r,
                                     wt->path);
        r = write_record(config_root, session, wt, keep, err);
        if (r == 0)
                r = make_private(config_root, session, wt, err);
        if (r < 0) {
                /* Nothing half-made stays: the worktree, its branch, its record. */
                char rec[PATH_MAX];

                end_private(config_root, session, wt);
                (void) GIT(repository, GIT_WRITE, NULL, NULL, "worktree", "remove", "--force",
                           wt->path);
                (void) GIT(repository, GIT_WRITE, NULL, NULL, "branch", "-D", wt->branch);
                if (record_path(config_root, session, rec, sizeof(rec), ".json", NULL) == 0)
                        (void) unlink(rec);
        }
        return r;
}

static int load(const char *config_root, const char *session, struct worktree *wt, bool *keep,
                struct ca_error *err)
{
        _cleanup_buf_ struct buf b = BUF_INIT;
        _cleanup_json_ json_t *rec = NULL;
        const char *fields[] = {"repository", "path", "branch", "base"};
        char *dst[] = {wt->repository, wt->path, wt->branch, wt->base};
        const size_t sizes[] = {sizeof(wt->repository), sizeof(wt->path), sizeof(wt->branch),
                                sizeof(wt->base)};
        char path[PATH_MAX];
        int r;

        if (record_path(config_root, session, path, sizeof(path), ".json", err) < 0)
                return -EINVAL;
        r = fileio_read_path(path, RECORD_MAX, &b, err);
        if (r == -ENOENT)
                return -ENOENT;
        if (r < 0)
                return r;
        rec = json_loadb(b.data, b.len, 0, NULL);
        for (size_t i = 0; i < CA_ELEMENTSOF(fields); i++) {
                const char *v = json_string_value(json_object_get(rec, fields[i]));

                if (!v || strlen(v) >= sizes[i])
                        return ca_error_setx(err, EBADMSG, "%s is damaged", path);
                memcpy(dst[i], v, strlen(v) + 1);
        }
        *keep = json_is_true(json_object_get(rec, "keep"));
        return 0;
}

int worktree_load(const char *config_root, const char *session, struct worktree *wt,
                  struct ca_error *err)
{
        bool keep;

        return load(config_root, session, wt, &keep, err);
}

/* The record a command names: a session without one is bad input. */
static int load_named(const char *config_root, const char *session, struct worktree *wt,
                      struct ca_error *err)
{
        int r = worktree_load(config_root, session, wt, err);

        if (r == -ENOENT)
                return ca_error_input(err, "session '%s' has no worktree", session);
        return r;
}

/* `git status --porcelain` of `dir` (untracked files too, unless `tracked_only`). */
static int status_of(const char *dir, bool tracked_only, struct buf *out, struct ca_error *err)
{
        int r = tracked_only ? GIT(dir, GIT_READ, out, err, "status", "--porcelain",
                                   "--untracked-files=no")
                             : GIT(dir, GIT_READ, out, err, "status", "--porcelain");

        if (r > 0)
                return ca_error_setx(err, EIO, "git status failed in '%s' (status %d)", dir, r);
        return r;
}

void worktree_end(const char *config_root, const char *session)
{
        _cleanup_buf_ struct buf st = BUF_INIT;
        struct ca_error err = {0};
        struct worktree wt;
        struct stat s;
        bool keep;
        int r = load(config_root, session, &wt, &keep, &err);

        if (r < 0)
                return;
        end_private(config_root, session, &wt);
        if (lstat(wt.path, &s) < 0)
                return;
        if (keep) {
                (void) fprintf(stderr, "coding-agents: kept the worktree %s (branch %s)\n",
                               wt.path, wt.branch);
                return;
        }
        r = status_of(wt.path, false, &st, &err);
        if (r < 0 || st.len) {
                (void) fprintf(stderr,
                               "coding-agents: kept the worktree %s: %s; branch %s holds what "
                               "was committed\n",
                               wt.path, r < 0 ? err.msg : "it holds changes not committed",
                               wt.branch);
                return;
        }
        r = GIT(wt.repository, GIT_WRITE, NULL, &err, "worktree", "remove", wt.path);
        if (r != 0)
                (void) fprintf(stderr, "coding-agents: cannot remove the worktree %s: %s\n",
                               wt.path, r < 0 ? err.msg : "git worktree remove failed");
        else
                (void) fprintf(stderr,
                               "coding-agents: the session's worktree is gone; its branch %s "
                               "stays ('coding-agents diff|merge %s')\n",
                               wt.branch, session);
}

int worktree_diff(const char *config_root, const char *session, struct ca_error *err)
{
        _cleanup_buf_ struct buf out = BUF_INIT;
        _cleanup_buf_ struct buf st = BUF_INIT;
        struct worktree wt;
        struct stat s;
        int r = load_named(config_root, session, &wt, err);

        if (r < 0)
                return r;
        r = GIT(wt.repository, GIT_READ, &out, err, "diff", "--no-color", "--no-ext-diff",
                "--no-textconv", wt.base, wt.branch, "--");
        if (r > 0)
                return ca_error_setx(err, EIO, "git diff failed (status %d)", r);
        if (r < 0)
                return r;
        (void) printf("# session %s, branch %s, since %.12s\n", session, wt.branch, wt.base);
        (void) fwrite(out.data ? out.data : "", 1, out.len, stdout);
        if (lstat(wt.path, &s) == 0 && status_of(wt.path, false, &st, err) >= 0 && st.len) {
                (void) printf("# not committed in %s:\n", wt.path);
                (void) fwrite(st.data, 1, st.len, stdout);
        }
        return 0;
}

/* The files a merge of `branch` into HEAD would conflict in, comma-separated into `out`; 0
 * when it would merge cleanly, 1 when it would conflict. */
static int conflicts(const char *repo, const char *branch, struct buf *names,
                     struct ca_error *err)
{
        _cleanup_buf_ struct buf out = BUF_INIT;
        int r = GIT(repo, GIT_READ, &out, err, "merge-tree", "--write-tree", "--name-only",
                    "--no-messages", "HEAD", branch);
        char *line, *save = NULL;
        bool first = true;

        if (r < 0)
                return r;
        if (r != 1)
                return r == 0 ? 0
                              : ca_error_setx(err, EIO, "git merge-tree failed (status %d)", r);
        /* The tree's id, then one conflicted file per line. */
        for (line = strtok_r(out.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (first) {
                        first = false;
                        continue;
                }
                if ((names->len && buf_append_str(names, ", ") < 0) ||
                    buf_append_str(names, line) < 0)
                        return ca_error_setx(err, ENOMEM, "out of memory");
        }
        return 1;
}

int worktree_merge(const char *config_root, const char *session, struct ca_error *err)
{
        _cleanup_buf_ struct buf st = BUF_INIT;
        _cleanup_buf_ struct buf names = BUF_INIT;
        char name[256], email[256], name_opt[300], email_opt[300], esc[1024];
        struct worktree wt;
        int r = load_named(config_root, session, &wt, err);

        if (r < 0)
                return r;
        if (status_of(wt.repository, true, &st, err) < 0)
                return -EIO;
        if (st.len)
                return ca_error_input(err,
                                      "'%s' has changes not committed: commit or stash them "
                                      "first; nothing was merged",
                                      wt.repository);
        r = conflicts(wt.repository, wt.branch, &names, err);
        if (r < 0)
                return r;
        if (r == 1)
                return ca_error_input(err,
                                      "merging %s would conflict in %s: nothing was merged "
                                      "(resolve it by hand: git merge %s)",
                                      wt.branch,
                                      text_escape_to(names.data ? names.data : "?", 0, esc,
                                                     sizeof(esc)),
                                      wt.branch);
        if (git_user_identity(name, sizeof(name), email, sizeof(email), err) < 0)
                return -EIO;
        (void) snprintf(name_opt, sizeof(name_opt), "user.name=%s", name);
        (void) snprintf(email_opt, sizeof(email_opt), "user.email=%s", email);
        if (name[0] && email[0])
                r = GIT(wt.repository, GIT_WRITE, NULL, err, "-c", name_opt, "-c", email_opt,
                        "merge", "--no-edit", "--quiet", wt.branch);
        else
                r = GIT(wt.repository, GIT_WRITE, NULL, err, "merge", "--no-edit", "--quiet",
                        wt.branch);
        if (r < 0)
                return r;
        if (r != 0) {
                struct ca_error e = {0};

                if (GIT(wt.repository, GIT_WRITE, NULL, &e, "merge", "--abort") != 0)
                        (void) fprintf(stderr, "coding-agents: git merge --abort failed in %s\n",
                                       wt.repository);
                return ca_error_setx(err, EIO,
                                     "git merge of %s failed (status %d; is a user.name and "
                                     "user.email configured?); nothing was merged",
                                     wt.branch, r);
        }
        (void) printf("merged %s into %s\n", wt.branch, wt.repository);
        return 0;
}
