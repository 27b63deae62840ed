/* SPDX-License-Identifier: MIT */
/* Sessions on their own worktrees (worktree.h). */
#include <errno.h>
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
        return write_record(config_root, session, wt, keep, err);
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

        if (r < 0 || lstat(wt.path, &s) < 0)
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
