/* SPDX-License-Identifier: MIT */
#include "treecache.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "digest.h"
#include "error.h"
#include "fileio.h"

#define CACHE_MAX ((size_t) 1 << 20)
#define HEAD_MAX 4096
/* Deeper than any source tree; a loop of bind mounts stops here. */
#define TREECACHE_DEPTH_MAX 64

struct walk {
        struct digest_ctx *md;
        time_t newest;
        int r;
};

/* What the key covers of one entry, as bytes (no formatting: a walk is hundreds of these). */
struct stat_rec {
        uint64_t mode;
        int64_t size;
        uint64_t ino;
        int64_t mtime_sec, mtime_nsec;
        int64_t ctime_sec, ctime_nsec;
};

static void add_stat(struct walk *w, const char *path, const struct stat *st)
{
        const struct stat_rec rec = {
                .mode = st->st_mode,
                .size = st->st_size,
                .ino = st->st_ino,
                .mtime_sec = st->st_mtim.tv_sec,
                .mtime_nsec = st->st_mtim.tv_nsec,
                .ctime_sec = st->st_ctim.tv_sec,
                .ctime_nsec = st->st_ctim.tv_nsec,
        };

        if (w->r == 0 && (digest_update(w->md, path, strlen(path) + 1) < 0 ||
                          digest_update(w->md, &rec, sizeof(rec)) < 0))
                w->r = -EIO;
        if (st->st_mtim.tv_sec > w->newest)
                w->newest = st->st_mtim.tv_sec;
        if (st->st_ctim.tv_sec > w->newest)
                w->newest = st->st_ctim.tv_sec;
}

/* A file that may be missing (packed-refs, info/exclude): its absence is part of the key. */
static void add_path(struct walk *w, const char *path)
{
        struct stat st;

        if (lstat(path, &st) == 0)
                add_stat(w, path, &st);
        else if (w->r == 0 && digest_update(w->md, path, strlen(path) + 1) < 0)
                w->r = -EIO;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
        return strcmp((*a)->d_name, (*b)->d_name);
}

static int skip_dots(const struct dirent *e)
{
        return strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
}

/*
 * Directory `fd` (whose path, `path`, is `len` long in a buffer of `cap`), its entries in name
 * order, each followed by its own entries when a directory: the order of a pre-order walk. Each
 * entry is looked up by name in its directory (fstatat/openat relative to the directory's fd),
 * not by its whole path: a walk of a few hundred files is mostly path lookups otherwise.
 */
static void add_dir(struct walk *w, int fd, char *path, size_t len, size_t cap, unsigned depth)
{
        struct dirent **list = NULL;
        int n;

        if (depth > TREECACHE_DEPTH_MAX) {
                w->r = -ELOOP;
                return;
        }
        n = scandirat(fd, ".", &list, skip_dots, by_name);
        if (n < 0) {
                w->r = -errno;
                return;
        }
        for (int i = 0; i < n; i++) {
                const char *name = list[i]->d_name;
                size_t nlen = strlen(name);
                struct stat st;

                if (w->r < 0)
                        continue;
                if (len + 1 + nlen >= cap) {
                        w->r = -ENAMETOOLONG;
                        continue;
                }
                path[len] = '/';
                memcpy(path + len + 1, name, nlen + 1);
                if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        /* Gone since the directory was read: its absence is what counts. */
                        if (errno == ENOENT)
                                add_path(w, path);
                        else
                                w->r = -errno;
                        continue;
                }
                add_stat(w, path, &st);
                if (S_ISDIR(st.st_mode)) {
                        int sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0) {
                                w->r = -errno;
                                continue;
                        }
                        add_dir(w, sub, path, len + 1 + nlen, cap, depth + 1);
                        (void) close(sub);
                }
        }
        for (int i = 0; i < n; i++)
                free(list[i]);
        free(list);
        path[len] = '\0';
}

static void add_tree(struct walk *w, const char *root)
{
        char path[4096];
        size_t len = strlen(root);
        struct stat st;
        int fd;

        if (len >= sizeof(path)) {
                w->r = -ENAMETOOLONG;
                return;
        }
        memcpy(path, root, len + 1);
        if (lstat(root, &st) < 0) {
                /* A missing directory is a fact of the tree; anything else unreadable makes
                 * the tree unkeyable. */
                if (errno == ENOENT)
                        add_path(w, root);
                else
                        w->r = -errno;
                return;
        }
        add_stat(w, path, &st);
        if (!S_ISDIR(st.st_mode))
                return;
        fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                w->r = -errno;
                return;
        }
        if (w->r == 0)
                add_dir(w, fd, path, len, sizeof(path), 0);
        (void) close(fd);
}

/* The repository files git's answer depends on; -ENOTDIR when .git is not a directory (a
 * linked work tree, a submodule): those are measured by git every time. */
static void add_repo(struct walk *w, const char *src)
{
        static const char *const files[] = {"HEAD", "packed-refs", "index", "config",
                                            "info/exclude"};
        _cleanup_buf_ struct buf head = BUF_INIT;
        char git[4096], path[4096 + 512];
        struct stat st;

        (void) snprintf(git, sizeof(git), "%s/.git", src);
        if (lstat(git, &st) < 0 || !S_ISDIR(st.st_mode)) {
                w->r = -ENOTDIR;
                return;
        }
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                (void) snprintf(path, sizeof(path), "%s/%s", git, files[i]);
                add_path(w, path);
        }
        (void) snprintf(path, sizeof(path), "%s/HEAD", git);
        if (fileio_read_path(path, HEAD_MAX, &head, NULL) < 0) {
                w->r = -EIO;
                return;
        }
        if (w->r == 0 && digest_update(w->md, head.data ? head.data : "", head.len) < 0)
                w->r = -EIO;
        if (head.len > 5 && memcmp(head.data, "ref: ", 5) == 0) {
                head.data[strcspn(head.data, "\n")] = '\0';
                /* "ref: refs/heads/<name>": a name with ".." would leave the repository. */
                if (strstr(head.data, "..")) {
                        w->r = -EINVAL;
                        return;
                }
                (void) snprintf(path, sizeof(path), "%s/%s", git, head.data + 5);
                add_path(w, path);
        }
}

int treecache_key(const char *src, const char *const *dirs, size_t ndirs, time_t now,
                  struct treecache_key *out)
{
        struct walk w = {.md = digest_sha256_new()};
        uint8_t md[DIGEST_SHA256_LEN];
        char path[4096];

        memset(out, 0, sizeof(*out));
        if (!w.md)
                return -ENOMEM;
        add_repo(&w, src);
        for (size_t i = 0; i < ndirs && w.r == 0; i++) {
                (void) snprintf(path, sizeof(path), "%s/%s", src, dirs[i]);
                add_tree(&w, path);
        }
        if (w.r < 0) {
                digest_free(w.md);
                return w.r;
        }
        if (digest_final(w.md, md) < 0)
                return -EIO;
        digest_hex(md, sizeof(md), out->hex);
        out->racy = w.newest >= now - TREECACHE_RACY_SECONDS;
        return 0;
}

int treecache_load(const char *cache_file, const char *src, const struct treecache_key *key,
                   json_t **tree, json_t **dirty)
{
        _cleanup_json_ json_t *c = NULL;
        const char *k, *s;
        json_t *t, *d;

        *tree = *dirty = NULL;
        if (ca_json_parse_file(cache_file, CACHE_MAX, &c, NULL) < 0)
                return 0;
        if (json_unpack(c, "{s:s, s:s, s:o, s:o}", "key", &k, "src", &s, "tree", &t, "dirty",
                        &d) < 0 ||
            strcmp(k, key->hex) != 0 || strcmp(s, src) != 0 || !json_is_object(t) ||
            !json_is_array(d))
                return 0;
        *tree = json_incref(t);
        *dirty = json_incref(d);
        return 1;
}

void treecache_store(const char *cache_file, const char *src, const struct treecache_key *key,
                     const json_t *tree, const json_t *dirty)
{
        _cleanup_json_ json_t *c = NULL;
        _cleanup_buf_ struct buf b = BUF_INIT;
        char dir[4096];
        char *slash;

        if (key->racy)
                return;
        c = json_pack("{s:s, s:s, s:O, s:O}", "key", key->hex, "src", src, "tree", tree,
                      "dirty", dirty);
        if (!c || ca_json_canonical(c, &b, NULL) < 0)
                return;
        (void) snprintf(dir, sizeof(dir), "%s", cache_file);
        slash = strrchr(dir, '/');
        if (slash) {
                *slash = '\0';
                if (fileio_mkdir_p(dir, 0700, NULL) < 0)
                        return;
        }
        if (fileio_write_atomic(cache_file, b.data, b.len, 0600, NULL) < 0)
                return; /* a cache: the next command measures again */
}
