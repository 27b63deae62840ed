/* SPDX-License-Identifier: MIT */
/* git on the host without running the repository's code (git.h). */
#include "git.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "spawn.h"
#include "textsafe.h"

#define GIT_OUT_MAX ((size_t) 16 << 20)
#define GIT_SMALL_MAX ((size_t) 64 << 10)
#define GIT_CONFIG_MAX ((size_t) 4 << 20)
#define MAX_ARGV 512

/* What executes, switched off by `-c` (command-line values beat every config file). */
static const char *const fixed_overrides[] = {
        "core.fsmonitor=false",
        "core.hooksPath=/dev/null",
        "core.sshCommand=false",
        "core.gitProxy=",
        "core.askPass=false",
        "core.pager=cat",
        "core.editor=false",
        "core.alternateRefsCommand=",
        "core.attributesFile=/dev/null",
        "core.untrackedCache=false",
        "credential.helper=",
        "diff.external=",
        "diff.ignoreSubmodules=all",
        "sequence.editor=false",
        "gpg.program=false",
        "gpg.ssh.program=false",
        "gpg.x509.program=false",
        "commit.gpgSign=false",
        "tag.gpgSign=false",
        "protocol.allow=never",
        "submodule.recurse=false",
        "status.submoduleSummary=false",
        "fetch.recurseSubmodules=false",
};

/* Data-only settings a private config copies from the real one (GIT_READ). */
static const char *const copied_keys[] = {
        "core.repositoryformatversion", "core.filemode", "core.symlinks", "core.ignorecase",
        "core.precomposeunicode", "core.autocrlf", "core.eol", "core.checkstat",
        "core.trustctime", "core.quotepath",
};

struct git_repo {
        char worktree[PATH_MAX];
        char gitdir[PATH_MAX];    /* per-worktree directory (HEAD, index) */
        char commondir[PATH_MAX]; /* config, objects, refs */
};

/* Reads a small regular file without following a link (a FIFO or device is refused). */
static int read_small(const char *path, size_t max, bool optional, struct buf *out,
                      struct ca_error *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
                                                    O_CLOEXEC);
        struct stat st;

        if (fd < 0 && errno == ENOENT && optional)
                return 0;
        if (fd < 0)
                return ca_error_input(err, "cannot open '%s': %s%s", path, strerror(errno),
                                      errno == ELOOP ? " (a symbolic link is refused)" : "");
        if (fstat(fd, &st) < 0)
                return ca_error_set(err, errno, "cannot stat '%s'", path);
        if (!S_ISREG(st.st_mode))
                return ca_error_input(err, "'%s' is not a regular file", path);
        return fileio_read_fd(fd, max, out, err) < 0 ? -EIO : 1;
}

/* "gitdir: X" (relative to `base`) -> its canonical path. */
static int gitfile_target(const char *file, const char *base, char out[PATH_MAX],
                          struct ca_error *err)
{
        _cleanup_buf_ struct buf b = BUF_INIT;
        _cleanup_free_ char *joined = NULL;
        char *p;
        int r = read_small(file, 4096, false, &b, err);

        if (r < 0)
                return r;
        if (buf_append_char(&b, '\0') < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        p = b.data;
        if (strncmp(p, "gitdir: ", 8) == 0)
                p += 8;
        p[strcspn(p, "\r\n")] = '\0';
        if (!*p)
                return ca_error_input(err, "'%s' names no directory", file);
        if (p[0] != '/' && asprintf(&joined, "%s/%s", base, p) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (!realpath(joined ? joined : p, out))
                return ca_error_input(err, "'%s' names '%s', which is not there", file, p);
        return 0;
}

/* 1 with the repository's directories, 0 when `worktree` holds no .git. */
static int resolve(const char *worktree, struct git_repo *repo, struct ca_error *err)
{
        char dotgit[PATH_MAX], commonfile[PATH_MAX + 16];
        struct stat st;
        int r;

        if (!realpath(worktree, repo->worktree))
                return ca_error_set(err, errno, "'%s'", worktree);
        if (snprintf(dotgit, sizeof(dotgit), "%s/.git", repo->worktree) >= (int) sizeof(dotgit))
                return ca_error_setx(err, ENAMETOOLONG, "'%s': path too long", worktree);
        if (lstat(dotgit, &st) < 0)
                return errno == ENOENT ? 0 : ca_error_set(err, errno, "cannot stat '%s'", dotgit);
        if (S_ISDIR(st.st_mode)) {
                (void) snprintf(repo->gitdir, sizeof(repo->gitdir), "%s", dotgit);
        } else if (S_ISREG(st.st_mode)) {
                r = gitfile_target(dotgit, repo->worktree, repo->gitdir, err);
                if (r < 0)
                        return r;
        } else {
                return ca_error_input(err, "'%s' is neither a directory nor a gitdir file",
                                      dotgit);
        }
        /* A linked worktree's directory names the repository's common one. */
        (void) snprintf(commonfile, sizeof(commonfile), "%s/commondir", repo->gitdir);
        if (access(commonfile, F_OK) == 0) {
                r = gitfile_target(commonfile, repo->gitdir, repo->commondir, err);
                if (r < 0)
                        return r;
        } else {
                (void) snprintf(repo->commondir, sizeof(repo->commondir), "%s", repo->gitdir);
        }
        return 1;
}

/* The environment every git here gets; `extra` (NULL-terminated) appended. */
struct git_env {
        char *path;
        char *vars[8];
        size_t n;
        const char *envp[24];
};

static void git_env_clear(struct git_env *e)
{
        free(e->path);
        for (size_t i = 0; i < e->n; i++)
                free(e->vars[i]);
}

static int git_env_add(struct git_env *e, const char *name, const char *value)
{
        char *v = NULL;

        if (e->n == CA_ELEMENTSOF(e->vars) || asprintf(&v, "%s=%s", name, value) < 0)
                return -ENOMEM;
        e->vars[e->n++] = v;
        return 0;
}

static int git_env_build(struct git_env *e)
{
        static const char *const fixed[] = {
                "LC_ALL=C", "HOME=/nonexistent", "XDG_CONFIG_HOME=/nonexistent",
                "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_ATTR_NOSYSTEM=1",
                "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=/bin/false", "GIT_NO_REPLACE_OBJECTS=1",
                "GIT_PROTOCOL_FROM_USER=0",
        };
        const char *path = secure_getenv("PATH");
        size_t n = 0;

        if (asprintf(&e->path, "PATH=%s", path ? path : "/usr/bin:/bin") < 0) {
                e->path = NULL;
                return -ENOMEM;
        }
        e->envp[n++] = e->path;
        for (size_t i = 0; i < CA_ELEMENTSOF(fixed); i++)
                e->envp[n++] = fixed[i];
        for (size_t i = 0; i < e->n; i++)
                e->envp[n++] = e->vars[i];
        e->envp[n] = NULL;
        return 0;
}

/* Where a git's stdio goes besides its captured stdout: -1 is /dev/null. With `out` set, its
 * stdout goes to that descriptor (not captured). */
struct git_io {
        int in, out, err;
};

#define GIT_IO_NONE ((struct git_io) {-1, -1, -1})

/* git with `argv` (argv[0] "git"), environment `e`, in `cwd`; stdout into `out`. */
static int spawn_git_io(const char *const *argv, const struct git_env *e, const char *cwd,
                        struct git_io io, struct buf *out, struct ca_error *err)
{
        struct spawn_req req = SPAWN_REQ_INIT;
        _cleanup_buf_ struct buf sink = BUF_INIT;
        pid_t pid;

        req.path = "git";
        req.search_path = true;
        req.argv = (char *const *) argv;
        req.envp = (char *const *) e->envp;
        req.cwd = cwd;
        req.stdin_fd = io.in;
        req.stderr_fd = io.err;
        if (io.out < 0)
                return spawn_capture(&req, GIT_OUT_MAX, out ? out : &sink, err);
        req.stdout_fd = io.out;
        if (spawn_start(&req, &pid, err) < 0)
                return -EIO;
        return spawn_wait(pid, err);
}

static int spawn_git(const char *const *argv, const struct git_env *e, const char *cwd,
                     struct buf *out, struct ca_error *err)
{
        return spawn_git_io(argv, e, cwd, GIT_IO_NONE, out, err);
}

/*
 * `git config --file FILE --no-includes --null --list` as "key\nvalue\0" records: the file
 * alone, never what it includes, run outside any repository.
 */
static int list_config(const char *file, struct buf *out, struct ca_error *err)
{
        _cleanup_(git_env_clear) struct git_env e = {0};
        _cleanup_buf_ struct buf probe = BUF_INIT;
        const char *argv[] = {"git", "config", "--file", file, "--no-includes", "--null",
                              "--list", NULL};
        int r = read_small(file, GIT_CONFIG_MAX, true, &probe, err);

        if (r <= 0)
                return r;
        if (git_env_build(&e) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = spawn_git(argv, &e, "/", out, err);
        if (r != 0)
                return r < 0 ? r : ca_error_input(err, "git cannot read '%s'", file);
        return 1;
}

/* Calls `cb` with each key (lower-case, as git lists it) and value of a --null listing. */
static int foreach_key(const struct buf *list, int (*cb)(const char *key, const char *value,
                                                          void *userdata),
                       void *userdata)
{
        for (size_t i = 0; list->data && i < list->len;) {
                char *rec = list->data + i;
                size_t len = strnlen(rec, list->len - i);
                char *nl = memchr(rec, '\n', len);
                int r;

                i += len + 1;
                if (nl)
                        *nl = '\0';
                r = cb(rec, nl ? nl + 1 : "", userdata);
                if (nl)
                        *nl = '\n';
                if (r < 0)
                        return r;
        }
        return 0;
}

struct includes {
        int (*cb)(const char *path, void *userdata);
        void *userdata;
};

static int include_key(const char *key, const char *value, void *userdata)
{
        const struct includes *in = userdata;
        size_t len = strlen(key);

        if (strcmp(key, "include.path") == 0 ||
            (strncmp(key, "includeif.", 10) == 0 && len > 15 &&
             strcmp(key + len - 5, ".path") == 0))
                return in->cb(value, in->userdata);
        return 0;
}

int git_config_includes(const char *config_file, int (*cb)(const char *path, void *userdata),
                        void *userdata, struct ca_error *err)
{
        _cleanup_buf_ struct buf list = BUF_INIT;
        struct includes in = {cb, userdata};
        int r = list_config(config_file, &list, err);

        return r <= 0 ? r : foreach_key(&list, include_key, &in);
}

/* ---- GIT_READ: a private GIT_DIR ---------------------------------------------------------- */

static int copy_key(const char *key, const char *value, void *userdata)
{
        struct buf *cfg = userdata;
        const char *dot = strchr(key, '.');
        bool keep = strncmp(key, "extensions.", 11) == 0;

        for (size_t i = 0; !keep && i < CA_ELEMENTSOF(copied_keys); i++)
                keep = strcasecmp(key, copied_keys[i]) == 0;
        if (!keep || !dot || strchr(dot + 1, '.') || strpbrk(value, "\"\\\n"))
                return 0;
        return buf_printf(cfg, "[%.*s]\n\t%s = %s\n", (int) (dot - key), key, dot + 1, value);
}

struct shadow {
        char dir[PATH_MAX];
};

static void shadow_clear(struct shadow *s)
{
        /* Best effort: a leftover private directory holds a copy of HEAD and links only. */
        if (s->dir[0] && fileio_remove_tree(s->dir, NULL) < 0)
                s->dir[0] = '\0';
}

static int shadow_link(const struct shadow *s, const char *name, const char *target,
                       struct ca_error *err)
{
        char link[PATH_MAX + 32];

        (void) snprintf(link, sizeof(link), "%s/%s", s->dir, name);
        if (access(target, F_OK) < 0)
                return 0;
        if (symlink(target, link) < 0)
                return ca_error_set(err, errno, "cannot link '%s'", link);
        return 0;
}

/* A config of ours for a repository of ours: the real one's format and extensions only. */
static int own_config(const struct git_repo *repo, bool bare, struct buf *cfg,
                      struct ca_error *err)
{
        _cleanup_buf_ struct buf list = BUF_INIT;
        char path[PATH_MAX + 32];
        int r;

        (void) snprintf(path, sizeof(path), "%s/config", repo->commondir);
        r = list_config(path, &list, err);
        if (r < 0)
                return r;
        if (buf_printf(cfg, "[core]\n\tbare = %s\n", bare ? "true" : "false") < 0 ||
            foreach_key(&list, copy_key, cfg) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        return 0;
}

static int shadow_make(const struct git_repo *repo, struct shadow *s, struct ca_error *err)
{
        _cleanup_buf_ struct buf cfg = BUF_INIT;
        _cleanup_buf_ struct buf head = BUF_INIT;
        char path[PATH_MAX + 32];
        const char *tmp = secure_getenv("TMPDIR");
        int dirfd, r;

        if (snprintf(s->dir, sizeof(s->dir), "%s/coding-agents-git.XXXXXX",
                     tmp && *tmp ? tmp : "/tmp") >= (int) sizeof(s->dir) ||
            !mkdtemp(s->dir)) {
                s->dir[0] = '\0';
                return ca_error_set(err, errno, "cannot create a private git directory");
        }
        r = own_config(repo, false, &cfg, err);
        if (r < 0)
                return r;
        (void) snprintf(path, sizeof(path), "%s/HEAD", repo->gitdir);
        r = read_small(path, 4096, false, &head, err);
        if (r < 0)
                return r;
        dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return ca_error_set(err, errno, "cannot open '%s'", s->dir);
        r = fileio_write_atomic_at(dirfd, "config", cfg.data, cfg.len, 0600, err);
        if (r >= 0)
                r = fileio_write_atomic_at(dirfd, "HEAD", head.data ? head.data : "", head.len,
                                           0600, err);
        (void) close(dirfd);
        if (r < 0)
                return r;
        (void) snprintf(path, sizeof(path), "%s/refs", repo->commondir);
        r = shadow_link(s, "refs", path, err);
        (void) snprintf(path, sizeof(path), "%s/packed-refs", repo->commondir);
        if (r >= 0)
                r = shadow_link(s, "packed-refs", path, err);
        (void) snprintf(path, sizeof(path), "%s/objects", repo->commondir);
        if (r >= 0)
                r = shadow_link(s, "objects", path, err);
        /* info/exclude is data; info/attributes only names drivers, which are not defined. */
        (void) snprintf(path, sizeof(path), "%s/info", repo->commondir);
        if (r >= 0)
                r = shadow_link(s, "info", path, err);
        return r;
}

/* ---- GIT_WRITE: the real config, seen whole ------------------------------------------------- */

struct drivers {
        char *items[128];
        size_t n;
        const char *refused; /* the first include key */
};

static void drivers_clear(struct drivers *d)
{
        for (size_t i = 0; i < d->n; i++)
                free(d->items[i]);
}

static int add_override(struct drivers *d, const char *key, int keylen, const char *value)
{
        char *v = NULL;

        for (size_t i = 0; i < d->n; i++) {
                if (strncmp(d->items[i], key, (size_t) keylen) == 0 &&
                    d->items[i][keylen] == '=')
                        return 0;
        }
        if (d->n == CA_ELEMENTSOF(d->items))
                return -E2BIG;
        if (asprintf(&v, "%.*s=%s", keylen, key, value) < 0)
                return -ENOMEM;
        d->items[d->n++] = v;
        return 0;
}

/* filter.<X>.*, diff.<X>.*, merge.<X>.*: every driver the config defines gets neutralised. */
static int scan_key(const char *key, const char *value, void *userdata)
{
        struct drivers *d = userdata;
        const char *last = strrchr(key, '.');
        int base;
        int r = 0;

        (void) value;
        if (strncmp(key, "include.", 8) == 0 || strncmp(key, "includeif.", 10) == 0) {
                if (!d->refused)
                        d->refused = key[7] == '.' ? "include.path" : "includeIf";
                return 0;
        }
        if (!last)
                return 0;
        base = (int) (last - key);
        if (strncmp(key, "filter.", 7) == 0 && last > key + 6) {
                char k[512];
                static const char *const subs[] = {"clean", "smudge", "process"};

                for (size_t i = 0; r >= 0 && i < CA_ELEMENTSOF(subs); i++) {
                        (void) snprintf(k, sizeof(k), "%.*s.%s", base, key, subs[i]);
                        r = add_override(d, k, (int) strlen(k), "");
                }
                (void) snprintf(k, sizeof(k), "%.*s.required", base, key);
                return r < 0 ? r : add_override(d, k, (int) strlen(k), "false");
        }
        if (strncmp(key, "diff.", 5) == 0 && last > key + 4 &&
            (strcmp(last, ".textconv") == 0 || strcmp(last, ".command") == 0))
                return add_override(d, key, (int) strlen(key), "");
        /* A custom merge driver fails: the merge stops with a conflict rather than trusting
         * what the repository would have run. */
        if (strncmp(key, "merge.", 6) == 0 && strcmp(last, ".driver") == 0)
                return add_override(d, key, (int) strlen(key), "false");
        return 0;
}

static int scan_write_config(const struct git_repo *repo, struct drivers *d,
                             struct ca_error *err)
{
        const char *files[] = {repo->commondir, repo->gitdir};
        const char *names[] = {"config", "config.worktree"};

        for (size_t i = 0; i < CA_ELEMENTSOF(files); i++) {
                _cleanup_buf_ struct buf list = BUF_INIT;
                char path[PATH_MAX + 32];
                int r;

                (void) snprintf(path, sizeof(path), "%s/%s", files[i], names[i]);
                r = list_config(path, &list, err);
                if (r < 0)
                        return r;
                r = foreach_key(&list, scan_key, d);
                if (r < 0)
                        return ca_error_setx(err, -r, "too many drivers in '%s'", path);
                if (d->refused)
                        return ca_error_input(err,
                                              "'%s' uses %s: coding-agents does not run git on a "
                                              "repository whose configuration pulls in files it "
                                              "cannot see; remove the include to continue",
                                              path, d->refused);
        }
        return 0;
}

static int run_git(const char *worktree, enum git_mode mode, const char *const *args,
                   size_t nargs, struct git_io io, struct buf *out, struct ca_error *err)
{
        _cleanup_(git_env_clear) struct git_env e = {0};
        _cleanup_(drivers_clear) struct drivers d = {0};
        _cleanup_(shadow_clear) struct shadow s = {{0}};
        struct git_repo repo;
        const char *argv[MAX_ARGV];
        char index[PATH_MAX + 16];
        size_t n = 0;
        int r;

        r = resolve(worktree, &repo, err);
        if (r <= 0)
                return r < 0 ? r : 128;
        if (mode == GIT_READ) {
                r = shadow_make(&repo, &s, err);
                (void) snprintf(index, sizeof(index), "%s/index", repo.gitdir);
                if (r >= 0 && (git_env_add(&e, "GIT_DIR", s.dir) < 0 ||
                               git_env_add(&e, "GIT_INDEX_FILE", index) < 0 ||
                               git_env_add(&e, "GIT_OPTIONAL_LOCKS", "0") < 0))
                        r = ca_error_setx(err, ENOMEM, "out of memory");
        } else {
                r = scan_write_config(&repo, &d, err);
                if (r >= 0 && git_env_add(&e, "GIT_DIR", repo.gitdir) < 0)
                        r = ca_error_setx(err, ENOMEM, "out of memory");
        }
        if (r < 0)
                return r;
        if (git_env_add(&e, "GIT_WORK_TREE", repo.worktree) < 0 || git_env_build(&e) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (1 + 2 * (CA_ELEMENTSOF(fixed_overrides) + d.n) + nargs + 1 > MAX_ARGV)
                return ca_error_setx(err, E2BIG, "too many git arguments");
        argv[n++] = "git";
        for (size_t i = 0; i < CA_ELEMENTSOF(fixed_overrides); i++) {
                argv[n++] = "-c";
                argv[n++] = fixed_overrides[i];
        }
        for (size_t i = 0; i < d.n; i++) {
                argv[n++] = "-c";
                argv[n++] = d.items[i];
        }
        for (size_t i = 0; i < nargs; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        return spawn_git_io(argv, &e, repo.worktree, io, out, err);
}

int git_run(const char *worktree, enum git_mode mode, const char *const *args, size_t nargs,
            struct buf *out, struct ca_error *err)
{
        return run_git(worktree, mode, args, nargs, GIT_IO_NONE, out, err);
}

/* ---- a session's objects, brought in verified ----------------------------------------------- */

#define IMPORT_ENTRIES_MAX 2000000 /* entries looked at in a private store */
#define IMPORT_LOG_MAX 4096
#define IMPORT_UNPACK_MAX 2000 /* objects written loose; more go in as one pack */

static bool is_hex(const char *s, size_t len)
{
        return strlen(s) == len && strspn(s, "0123456789abcdef") == len;
}

/* A loose object's file name under its two-digit directory (SHA-1 or SHA-256). */
static bool want_loose(const char *name)
{
        return is_hex(name, 38) || is_hex(name, 62);
}

static bool want_pack(const char *name)
{
        size_t len = strlen(name);

        return strncmp(name, "pack-", 5) == 0 &&
               ((len > 10 && strcmp(name + len - 5, ".pack") == 0) ||
                (len > 9 && strcmp(name + len - 4, ".idx") == 0));
}

static int copy_stream(int in, int out)
{
        char chunk[65536];

        for (;;) {
                ssize_t n = read(in, chunk, sizeof(chunk));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : 0;
                if (fileio_write_all(out, chunk, (size_t) n) < 0)
                        return -errno;
        }
}

/*
 * `name` in `sfd` brought into `dfd` when it is a regular file, never through a link: 1; 0 when
 * it is anything else. The very file opened and checked is linked there (no data copied); where
 * a link cannot be made (another file system, a file of another owner under
 * protected_hardlinks) it is copied, unless it is sparse: git never writes one, and copying a
 * terabyte of holes would fill the disk.
 */
static int copy_regular(int sfd, const char *name, int dfd, struct ca_error *err)
{
        _cleanup_close_ int in = -1;
        _cleanup_close_ int out = -1;
        char self[64];
        struct stat st;
        int r;

        if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                return 0;
        in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (in < 0 || fstat(in, &st) < 0 || !S_ISREG(st.st_mode))
                return 0;
        (void) snprintf(self, sizeof(self), "/proc/self/fd/%d", in);
        if (linkat(AT_FDCWD, self, dfd, name, AT_SYMLINK_FOLLOW) == 0)
                return 1;
        if (st.st_size > 65536 && (off_t) st.st_blocks * 512 < st.st_size / 2)
                return ca_error_setx(err, EFBIG, "'%s' is a sparse file (%lld bytes): not an "
                                                 "object git wrote",
                                     name, (long long) st.st_size);
        out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
        if (out < 0)
                return ca_error_set(err, errno, "cannot create '%s'", name);
        r = copy_stream(in, out);
        return r < 0 ? ca_error_set(err, -r, "cannot copy '%s'", name) : 1;
}

struct import_walk {
        size_t copied;
        size_t seen;
        struct buf names; /* "<dir>/<name>\0" of each file copied */
};

/* The regular files `want` accepts in the directory `name` of `sfd` (never a link), copied
 * into a new directory of the same name in `dfd`. */
static int copy_dir(int sfd, const char *name, int dfd, bool (*want)(const char *),
                    struct import_walk *w, struct ca_error *err)
{
        int src = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int dst = -1;
        DIR *d;
        const struct dirent *de;
        int r = 0;

        if (src < 0)
                return 0; /* a link, or not a directory: nothing git made */
        d = fdopendir(src);
        if (!d) {
                (void) close(src);
                return ca_error_set(err, errno, "cannot read '%s'", name);
        }
        if ((mkdirat(dfd, name, 0755) < 0 && errno != EEXIST) ||
            (dst = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                r = ca_error_set(err, errno, "cannot create '%s'", name);
        while (r >= 0 && (de = readdir(d))) {
                if (++w->seen > IMPORT_ENTRIES_MAX) {
                        r = ca_error_setx(err, E2BIG, "more than %d entries", IMPORT_ENTRIES_MAX);
                        break;
                }
                if (!want(de->d_name))
                        continue;
                r = copy_regular(src, de->d_name, dst, err);
                if (r > 0) {
                        w->copied++;
                        if (buf_printf(&w->names, "%s/%s", name, de->d_name) < 0 ||
                            buf_append_char(&w->names, '\0') < 0)
                                r = ca_error_setx(err, ENOMEM, "out of memory");
                }
        }
        (void) closedir(d);
        return r < 0 ? r : 0;
}

/* The loose objects and packs of the private store `pfd`, copied into `tobj`. */
static int copy_store(int pfd, int tobj, struct import_walk *w, struct ca_error *err)
{
        int fd = fcntl(pfd, F_DUPFD_CLOEXEC, 0);
        DIR *d = fd < 0 ? NULL : fdopendir(fd);
        const struct dirent *de;
        int r = 0;

        if (!d) {
                if (fd >= 0)
                        (void) close(fd);
                return ca_error_set(err, errno, "cannot read the session's objects");
        }
        while (r >= 0 && (de = readdir(d))) {
                if (is_hex(de->d_name, 2))
                        r = copy_dir(pfd, de->d_name, tobj, want_loose, w, err);
                else if (strcmp(de->d_name, "pack") == 0)
                        r = copy_dir(pfd, de->d_name, tobj, want_pack, w, err);
        }
        (void) closedir(d);
        return r;
}

/* The scratch repository's directories; *ret_tobj its objects directory. */
static int scratch_make(const char *scratch, int *ret_tobj, struct ca_error *err)
{
        _cleanup_close_ int dfd = -1;

        if (mkdir(scratch, 0700) < 0)
                return ca_error_set(err, errno, "cannot create '%s'", scratch);
        dfd = open(scratch, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0 || mkdirat(dfd, "objects", 0700) < 0 || mkdirat(dfd, "refs", 0700) < 0)
                return ca_error_set(err, errno, "cannot set up '%s'", scratch);
        *ret_tobj = openat(dfd, "objects", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return *ret_tobj < 0 ? ca_error_set(err, errno, "cannot open '%s/objects'", scratch) : 0;
}

/* Its config (the real one's format and extensions only) and HEAD: a repository git takes. */
static int scratch_config(const struct git_repo *repo, const char *scratch,
                          struct ca_error *err)
{
        _cleanup_buf_ struct buf cfg = BUF_INIT;
        _cleanup_close_ int dfd = open(scratch, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int r;

        if (dfd < 0)
                return ca_error_set(err, errno, "cannot open '%s'", scratch);
        r = own_config(repo, true, &cfg, err);
        if (r < 0)
                return r;
        r = fileio_write_atomic_at(dfd, "config", cfg.data, cfg.len, 0600, err);
        if (r >= 0)
                r = fileio_write_atomic_at(dfd, "HEAD", "ref: refs/heads/import\n", 23, 0600,
                                           err);
        return r;
}

/* git on the scratch repository alone (GIT_DIR is ours: no alternates, no hooks). */
static int scratch_git(const char *scratch, const char *const *args, size_t nargs,
                       struct git_io io, struct buf *out, struct ca_error *err)
{
        _cleanup_(git_env_clear) struct git_env e = {0};
        const char *argv[MAX_ARGV];
        size_t n = 0;

        if (git_env_add(&e, "GIT_DIR", scratch) < 0 || git_env_build(&e) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        argv[n++] = "git";
        for (size_t i = 0; i < CA_ELEMENTSOF(fixed_overrides); i++) {
                argv[n++] = "-c";
                argv[n++] = fixed_overrides[i];
        }
        for (size_t i = 0; i < nargs && n + 1 < MAX_ARGV; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        return spawn_git_io(argv, &e, scratch, io, out, err);
}

/* A file of the scratch directory, made new. */
static int scratch_file(const char *scratch, const char *name, int flags, struct ca_error *err)
{
        char path[PATH_MAX + 32];
        int fd;

        (void) snprintf(path, sizeof(path), "%s/%s", scratch, name);
        fd = open(path, flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        return fd < 0 ? ca_error_set(err, errno, "cannot create '%s'", path) : fd;
}

/* git's own complaint (its log's first line, escaped) for a message. */
static const char *log_line(int fd, char *out, size_t outlen)
{
        char raw[IMPORT_LOG_MAX];
        ssize_t n = pread(fd, raw, sizeof(raw) - 1, 0);

        raw[n > 0 ? n : 0] = '\0';
        raw[strcspn(raw, "\n")] = '\0';
        return text_escape_to(raw[0] ? raw : "no message", 0, out, outlen);
}

/* Lists the scratch store's objects, packs them, and feeds the pack to unpack-objects (or
 * index-pack) in the repository of `worktree`; *ret_n the objects listed. */
static int import_steps(const char *worktree, const char *scratch, size_t *ret_n,
                        struct ca_error *err)
{
        static const char *const list_args[] = {"cat-file", "--batch-all-objects",
                                                "--batch-check=%(objectname)"};
        static const char *const pack_args[] = {"pack-objects", "--stdout", "-q"};
        /* Few objects (what a session's commits make): unpack-objects, which writes each
         * one loose and takes one it already has, under whatever names it came, without
         * complaint. Many (a fetch): index-pack keeps them in one pack, and refuses a pack that
         * holds one object twice, which only a store with a rewritten object makes. */
        static const char *const unpack_args[] = {"unpack-objects", "-q", "--strict"};
        static const char *const index_args[] = {"index-pack", "--stdin", "--strict"};
        const char *const *in_args;
        _cleanup_buf_ struct buf names = BUF_INIT;
        _cleanup_close_ int log = -1;
        _cleanup_close_ int list = -1;
        _cleanup_close_ int pack = -1;
        char why[600];
        int r;

        log = scratch_file(scratch, "log", O_RDWR | O_TRUNC, err);
        list = log < 0 ? -1 : scratch_file(scratch, "list", O_RDWR | O_EXCL, err);
        pack = list < 0 ? -1 : scratch_file(scratch, "all.pack", O_RDWR | O_EXCL, err);
        if (pack < 0)
                return -EIO;
        r = scratch_git(scratch, list_args, CA_ELEMENTSOF(list_args),
                        (struct git_io) {-1, -1, log}, &names, err);
        if (r != 0)
                return r < 0 ? r
                             : ca_error_setx(err, EIO, "git cannot list them: %s",
                                             log_line(log, why, sizeof(why)));
        for (size_t i = 0; names.data && i < names.len; i++)
                *ret_n += names.data[i] == '\n';
        if (*ret_n == 0)
                return 0;
        if (fileio_write_all(list, names.data, names.len) < 0 || lseek(list, 0, SEEK_SET) < 0)
                return ca_error_set(err, errno, "cannot write '%s/list'", scratch);
        r = scratch_git(scratch, pack_args, CA_ELEMENTSOF(pack_args),
                        (struct git_io) {list, pack, log}, NULL, err);
        if (r != 0)
                return r < 0 ? r
                             : ca_error_setx(err, EIO, "git cannot read them: %s",
                                             log_line(log, why, sizeof(why)));
        if (lseek(pack, 0, SEEK_SET) < 0)
                return ca_error_set(err, errno, "cannot read '%s/all.pack'", scratch);
        in_args = *ret_n <= IMPORT_UNPACK_MAX ? unpack_args : index_args;
        r = run_git(worktree, GIT_READ, in_args, 3, (struct git_io) {pack, -1, log}, NULL, err);
        if (r != 0)
                return r < 0 ? r
                             : ca_error_setx(err, EIO, "git %s refused them: %s", in_args[0],
                                             log_line(log, why, sizeof(why)));
        return 0;
}

/* Whether `path` ("<dir>/<name>") is among the copied names. */
static bool was_copied(const struct buf *names, const char *path)
{
        for (size_t i = 0; i < names->len; i += strlen(names->data + i) + 1) {
                if (strcmp(names->data + i, path) == 0)
                        return true;
        }
        return false;
}

/* What came in leaves the store: each loose object copied, each pack whose .pack and .idx both
 * were (its .idx first, so that no git takes the pack as whole meanwhile), and directories
 * left empty. A name is removed in the directory it was copied from, never through a link. */
static void prune_store(int pfd, const struct buf *names)
{
        for (size_t i = 0; i < names->len; i += strlen(names->data + i) + 1) {
                const char *path = names->data + i;
                const char *slash = strchr(path, '/');
                char dir[8], other[PATH_MAX];
                size_t len = strlen(path);
                int dfd;

                if (!slash || (size_t) (slash - path) >= sizeof(dir))
                        continue;
                memcpy(dir, path, (size_t) (slash - path));
                dir[slash - path] = '\0';
                if (strcmp(dir, "pack") == 0) {
                        /* Handled at its .idx: the .pack must have come too. */
                        if (len < 4 || strcmp(path + len - 4, ".idx") != 0)
                                continue;
                        (void) snprintf(other, sizeof(other), "%.*s.pack", (int) (len - 4), path);
                        if (!was_copied(names, other))
                                continue;
                }
                dfd = openat(pfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (dfd < 0)
                        continue;
                (void) unlinkat(dfd, slash + 1, 0);
                if (strcmp(dir, "pack") == 0) {
                        static const char *const more[] = {".pack", ".rev", ".bitmap"};

                        for (size_t k = 0; k < CA_ELEMENTSOF(more); k++) {
                                (void) snprintf(other, sizeof(other), "%.*s%s",
                                                (int) (len - 4 - (size_t) (slash + 1 - path)),
                                                slash + 1, more[k]);
                                (void) unlinkat(dfd, other, 0);
                        }
                }
                (void) close(dfd);
                (void) unlinkat(pfd, dir, AT_REMOVEDIR); /* when empty */
        }
}

int git_import_objects(const char *worktree, const char *private_dir, const char *scratch,
                       bool prune, struct ca_error *err)
{
        _cleanup_close_ int pfd = -1;
        _cleanup_close_ int tobj = -1;
        struct import_walk w = {0};
        struct git_repo repo;
        size_t n = 0;
        int r;

        r = resolve(worktree, &repo, err);
        if (r <= 0)
                return r < 0 ? r : ca_error_input(err, "'%s' holds no .git", worktree);
        pfd = open(private_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (pfd < 0)
                return ca_error_set(err, errno, "cannot open '%s'", private_dir);
        r = fileio_remove_tree(scratch, err); /* a leftover of an import cut short */
        if (r >= 0)
                r = scratch_make(scratch, &tobj, err);
        if (r >= 0)
                r = copy_store(pfd, tobj, &w, err);
        if (r >= 0 && w.copied > 0)
                r = scratch_config(&repo, scratch, err);
        if (r >= 0 && w.copied > 0)
                r = import_steps(worktree, scratch, &n, err);
        if (r >= 0 && prune)
                prune_store(pfd, &w.names);
        buf_clear(&w.names);
        /* Nothing of the repository's is there: a leftover is only disk, and goes next time. */
        if (fileio_remove_tree(scratch, NULL) < 0 && r >= 0)
                (void) fprintf(stderr, "coding-agents: cannot remove '%s'\n", scratch);
        return r < 0 ? r : (int) (n > INT_MAX ? INT_MAX : n);
}

/* One key of the user's own global configuration (never a repository's): "" when unset. */
static int global_key(const char *home, const char *key, char *out, size_t size,
                      struct ca_error *err)
{
        _cleanup_(git_env_clear) struct git_env e = {0};
        _cleanup_buf_ struct buf b = BUF_INIT;
        const char *argv[] = {"git", "config", "--global", "--get", key, NULL};
        char *home_var = NULL;
        int r;

        out[0] = '\0';
        if (git_env_build(&e) < 0 || asprintf(&home_var, "HOME=%s", home) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        /* The fixed environment points git away from every config: here only the global one
         * is read, the user's own. */
        for (size_t i = 0; e.envp[i]; i++) {
                if (strncmp(e.envp[i], "HOME=", 5) == 0)
                        e.envp[i] = home_var;
                else if (strcmp(e.envp[i], "GIT_CONFIG_GLOBAL=/dev/null") == 0)
                        e.envp[i] = "GIT_CONFIG_NOGLOBAL_UNUSED=1";
                else if (strncmp(e.envp[i], "XDG_CONFIG_HOME=", 16) == 0)
                        e.envp[i] = "XDG_CONFIG_HOME_UNUSED=1";
        }
        r = spawn_git(argv, &e, "/", &b, err);
        free(home_var);
        if (r < 0)
                return r;
        if (r == 0 && b.data) {
                b.data[strcspn(b.data, "\n")] = '\0';
                (void) snprintf(out, size, "%s", b.data);
        }
        return 0;
}

int git_user_identity(char *name, size_t name_size, char *email, size_t email_size,
                      struct ca_error *err)
{
        const char *home = secure_getenv("HOME");

        name[0] = email[0] = '\0';
        if (!home || home[0] != '/')
                return 0;
        if (global_key(home, "user.name", name, name_size, err) < 0 ||
            global_key(home, "user.email", email, email_size, err) < 0)
                return -EIO;
        return 0;
}
