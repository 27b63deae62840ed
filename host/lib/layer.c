/* SPDX-License-Identifier: MIT */
#include "layer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "buf.h"
#include "cleanup.h"
#include "error.h"
#include "fileio.h"

#define CHUNK ((size_t) 1 << 20)

/* Where the archive's bytes go: a file, hashed on the way. */
struct sink {
        int fd;
        struct digest_ctx *md;
        uint64_t size;
        int error; /* errno of a failed write */
};

static la_ssize_t sink_write(struct archive *a, void *userdata, const void *data, size_t len)
{
        struct sink *s = userdata;

        if (digest_update(s->md, data, len) < 0 || fileio_write_all(s->fd, data, len) < 0) {
                s->error = errno ? errno : EIO;
                archive_set_error(a, s->error, "cannot write the archive");
                return -1;
        }
        s->size += len;
        return (la_ssize_t) len;
}

int layer_archive_fail(struct archive *a, struct ca_error *err, const char *what)
{
        const char *msg = archive_error_string(a);
        int code = archive_errno(a);

        return ca_error_setx(err, code > 0 ? code : EIO, "%s: %s", what,
                             msg ? msg : "libarchive error");
}

/* A new archive writing plain tar (pax only where a name or size needs it) into `s`. */
static struct archive *archive_open(struct sink *s, struct ca_error *err)
{
        struct archive *a = archive_write_new();

        if (!a) {
                (void) ca_error_setx(err, ENOMEM, "out of memory");
                return NULL;
        }
        /* Names are bytes, as the file system has them (no conversion by the locale). */
        if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
            archive_write_set_format_option(a, "pax", "hdrcharset", "BINARY") != ARCHIVE_OK ||
            archive_write_add_filter_none(a) != ARCHIVE_OK ||
            archive_write_open(a, s, NULL, sink_write, NULL) != ARCHIVE_OK) {
                (void) layer_archive_fail(a, err, "cannot start the archive");
                archive_write_free(a);
                return NULL;
        }
        return a;
}

/* Copies `size` bytes of `fd` as the data of the entry just written. */
static int copy_data(struct archive *a, int fd, uint64_t size, char *chunk, const char *name,
                     struct ca_error *err)
{
        uint64_t done = 0;

        while (done < size) {
                size_t want = size - done < CHUNK ? (size_t) (size - done) : CHUNK;
                ssize_t n = read(fd, chunk, want);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return ca_error_set(err, n < 0 ? errno : EIO,
                                            "'%s' changed while it was being archived", name);
                if (archive_write_data(a, chunk, (size_t) n) != n)
                        return layer_archive_fail(a, err, name);
                done += (uint64_t) n;
        }
        return 0;
}

struct link {
        dev_t dev;
        ino_t ino;
        char *name;
};

struct walk {
        struct archive *a;
        struct archive_entry *ae;
        const struct layer_opts *o;
        struct link *links;
        size_t nlinks, caplinks;
        char *chunk;
        char path[PATH_MAX];
        struct ca_error *err;
};

static bool listed(const char *const *patterns, const char *path)
{
        for (size_t i = 0; patterns && patterns[i]; i++)
                if (fnmatch(patterns[i], path, FNM_PATHNAME) == 0)
                        return true;
        return false;
}

static size_t link_slot(const struct walk *w, dev_t dev, ino_t ino)
{
        uint64_t h = ((uint64_t) dev * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t) ino * 0xc2b2ae3d27d4eb4fULL);

        return (size_t) (h ^ (h >> 29)) & (w->caplinks - 1);
}

/* The first name of a file with more than one link in the tree, or NULL (then remembered).
 * An open-addressing table: a tree hard-linked from a cache has every file in it. */
static int hardlink_of(struct walk *w, const struct stat *st, const char **first)
{
        size_t i;

        *first = NULL;
        if (2 * (w->nlinks + 1) > w->caplinks) {
                size_t cap = w->caplinks ? w->caplinks * 2 : 1024;
                struct link *old = w->links, *n = calloc(cap, sizeof(*n));
                size_t oldcap = w->caplinks;

                if (!n)
                        return ca_error_setx(w->err, ENOMEM, "out of memory");
                w->links = n;
                w->caplinks = cap;
                for (size_t k = 0; k < oldcap; k++) {
                        if (!old[k].name)
                                continue;
                        i = link_slot(w, old[k].dev, old[k].ino);
                        while (n[i].name)
                                i = (i + 1) & (cap - 1);
                        n[i] = old[k];
                }
                free(old);
        }
        for (i = link_slot(w, st->st_dev, st->st_ino); w->links[i].name;
             i = (i + 1) & (w->caplinks - 1))
                if (w->links[i].dev == st->st_dev && w->links[i].ino == st->st_ino) {
                        *first = w->links[i].name;
                        return 0;
                }
        w->links[i].name = strdup(w->path);
        if (!w->links[i].name)
                return ca_error_setx(w->err, ENOMEM, "out of memory");
        w->links[i].dev = st->st_dev;
        w->links[i].ino = st->st_ino;
        w->nlinks++;
        return 0;
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The names in the directory `dfd`, sorted bytewise (. and .. left out). */
static int read_names(int dfd, char ***ret, size_t *ret_n, struct ca_error *err)
{
        int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        DIR *d;

        if (fd < 0 || !(d = fdopendir(fd))) {
                int e = errno;

                if (fd >= 0)
                        (void) close(fd);
                return ca_error_set(err, e, "cannot read a directory");
        }
        while ((errno = 0, de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (n == cap) {
                        char **g = realloc(names, (cap = cap ? cap * 2 : 32) * sizeof(*g));

                        if (!g)
                                goto oom;
                        names = g;
                }
                if (!(names[n] = strdup(de->d_name)))
                        goto oom;
                n++;
        }
        if (errno) {
                int e = errno;

                (void) closedir(d);
                for (size_t i = 0; i < n; i++)
                        free(names[i]);
                free(names);
                return ca_error_set(err, e, "cannot read a directory");
        }
        (void) closedir(d);
        if (n)
                qsort(names, n, sizeof(*names), cmp_names);
        *ret = names;
        *ret_n = n;
        return 0;
oom:
        (void) closedir(d);
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        return ca_error_setx(err, ENOMEM, "out of memory");
}

static int walk_dir(struct walk *w, int dfd, size_t plen);

/* One entry `name` of the directory `dfd`, whose relative path is w->path. */
static int add_entry(struct walk *w, int dfd, const char *name, size_t plen)
{
        struct archive_entry *ae = w->ae;
        const char *first = NULL;
        char target[PATH_MAX];
        struct stat st;
        mode_t perm;
        int r;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return ca_error_set(w->err, errno, "cannot stat '%s'", w->path);
        if (S_ISSOCK(st.st_mode) || listed(w->o->drop, w->path))
                return 0;
        perm = st.st_mode & 07777;
        if (S_ISREG(st.st_mode))
                perm &= (mode_t) ~06000;
        if (w->o->no_group_other_write)
                perm &= (mode_t) ~022;
        archive_entry_clear(ae);
        archive_entry_set_pathname(ae, w->path);
        archive_entry_set_uid(ae, st.st_uid);
        archive_entry_set_gid(ae, st.st_gid);
        archive_entry_set_mtime(ae, w->o->fixed_mtime || st.st_mtim.tv_sec > w->o->epoch
                                            ? w->o->epoch
                                            : st.st_mtim.tv_sec,
                                0);
        archive_entry_set_perm(ae, perm);
        if (S_ISLNK(st.st_mode)) {
                ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);

                if (n < 0 || (size_t) n >= sizeof(target) - 1)
                        return ca_error_set(w->err, n < 0 ? errno : ENAMETOOLONG,
                                            "cannot read the link '%s'", w->path);
                target[n] = '\0';
                archive_entry_set_filetype(ae, AE_IFLNK);
                archive_entry_set_perm(ae, 0777);
                archive_entry_set_symlink(ae, target);
        } else if (S_ISDIR(st.st_mode)) {
                archive_entry_set_filetype(ae, AE_IFDIR);
        } else if (S_ISFIFO(st.st_mode)) {
                archive_entry_set_filetype(ae, AE_IFIFO);
        } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
                archive_entry_set_filetype(ae, S_ISCHR(st.st_mode) ? AE_IFCHR : AE_IFBLK);
                archive_entry_set_rdevmajor(ae, major(st.st_rdev));
                archive_entry_set_rdevminor(ae, minor(st.st_rdev));
        } else {
                archive_entry_set_filetype(ae, AE_IFREG);
                if (st.st_nlink > 1 && (r = hardlink_of(w, &st, &first)) < 0)
                        return r;
                if (first) {
                        archive_entry_set_hardlink(ae, first);
                        archive_entry_set_size(ae, 0);
                } else {
                        archive_entry_set_size(ae, listed(w->o->empty, w->path) ? 0
                                                                                : st.st_size);
                }
        }
        if (archive_write_header(w->a, ae) != ARCHIVE_OK)
                return layer_archive_fail(w->a, w->err, w->path);
        if (S_ISREG(st.st_mode) && !first && archive_entry_size(ae) > 0) {
                _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

                if (fd < 0)
                        return ca_error_set(w->err, errno, "cannot open '%s'", w->path);
                return copy_data(w->a, fd, (uint64_t) st.st_size, w->chunk, w->path, w->err);
        }
        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int sub =
                        openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

                if (sub < 0)
                        return ca_error_set(w->err, errno, "cannot open '%s'", w->path);
                return walk_dir(w, sub, plen);
        }
        return 0;
}

static int walk_dir(struct walk *w, int dfd, size_t plen)
{
        char **names = NULL;
        size_t n = 0, i;
        int r = read_names(dfd, &names, &n, w->err);

        for (i = 0; r == 0 && i < n; i++) {
                size_t len = strlen(names[i]);

                if (plen + len + 2 > sizeof(w->path)) {
                        r = ca_error_setx(w->err, ENAMETOOLONG, "path too long under '%s'",
                                          w->path);
                        break;
                }
                if (plen)
                        w->path[plen] = '/';
                memcpy(w->path + plen + (plen ? 1 : 0), names[i], len + 1);
                r = add_entry(w, dfd, names[i], plen + (plen ? 1 : 0) + len);
                w->path[plen] = '\0';
        }
        for (i = 0; i < n; i++)
                free(names[i]);
        free(names);
        return r;
}

/* Opens `out`'s temporary file and a sink hashing into it. */
static int sink_open(struct sink *s, const char *tmp, struct ca_error *err)
{
        s->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (s->fd < 0)
                return ca_error_set(err, errno, "cannot create '%s'", tmp);
        s->md = digest_sha256_new();
        if (!s->md)
                return ca_error_setx(err, ENOMEM, "out of memory");
        return 0;
}

/* Closes the archive and the sink; on success renames `tmp` to `out` and fills `info`. */
static int sink_finish(struct sink *s, struct archive *a, int r, const char *tmp,
                       const char *out, bool sync, struct layer_info *info, struct ca_error *err)
{
        if (a) {
                if (r == 0 && archive_write_close(a) != ARCHIVE_OK)
                        r = layer_archive_fail(a, err, "cannot finish the archive");
                archive_write_free(a);
        }
        if (r == 0 && s->md) {
                if (digest_final(s->md, info->diff_id) < 0)
                        r = ca_error_setx(err, EIO, "SHA-256 failed");
        } else {
                (void) digest_free(s->md);
        }
        s->md = NULL;
        info->size = s->size;
        if (r == 0 && sync && fsync(s->fd) < 0)
                r = ca_error_set(err, errno, "cannot write '%s'", tmp);
        if (s->fd >= 0 && close(s->fd) < 0 && r == 0)
                r = ca_error_set(err, errno, "cannot write '%s'", tmp);
        s->fd = -1;
        if (r == 0 && rename(tmp, out) < 0)
                r = ca_error_set(err, errno, "cannot rename '%s' to '%s'", tmp, out);
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

int layer_write(const char *root, const char *out, const struct layer_opts *o,
                struct layer_info *info, struct ca_error *err)
{
        _cleanup_close_ int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *tmp = NULL;
        struct sink s = {.fd = -1};
        struct walk w = {.o = o, .err = err};
        int r;

        if (dfd < 0)
                return ca_error_set(err, errno, "cannot open '%s'", root);
        if (asprintf(&tmp, "%s.tmp-%d", out, (int) getpid()) < 0) {
                tmp = NULL;
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        r = sink_open(&s, tmp, err);
        if (r == 0 && !(w.a = archive_open(&s, err)))
                r = -EIO;
        if (r == 0 && (!(w.ae = archive_entry_new()) || !(w.chunk = malloc(CHUNK))))
                r = ca_error_setx(err, ENOMEM, "out of memory");
        if (r == 0)
                r = walk_dir(&w, dfd, 0);
        if (r < 0 && s.error)
                r = ca_error_set(err, s.error, "cannot write '%s'", tmp);
        r = sink_finish(&s, w.a, r, tmp, out, o->sync, info, err);
        archive_entry_free(w.ae);
        free(w.chunk);
        for (size_t i = 0; i < w.caplinks; i++)
                free(w.links[i].name);
        free(w.links);
        return r;
}

int layer_measure(const char *path, struct layer_info *info, struct ca_error *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        _cleanup_free_ char *chunk = malloc(CHUNK);
        struct digest_ctx *md = digest_sha256_new();
        uint64_t size = 0;
        ssize_t n;

        if (fd < 0 || !chunk || !md) {
                int e = fd < 0 ? errno : ENOMEM;

                (void) digest_free(md);
                return ca_error_set(err, e, "cannot read '%s'", path);
        }
        while ((n = read(fd, chunk, CHUNK)) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || digest_update(md, chunk, (size_t) n) < 0) {
                        int e = n < 0 ? errno : EIO;

                        (void) digest_free(md);
                        return ca_error_set(err, e, "cannot read '%s'", path);
                }
                size += (uint64_t) n;
        }
        info->size = size;
        if (digest_final(md, info->diff_id) < 0)
                return ca_error_setx(err, EIO, "SHA-256 failed");
        return 0;
}

/* A regular file entry of the image archive (root, 0644, at `epoch`), its header written. */
static int archive_file(struct archive *a, struct archive_entry *ae, const char *name,
                        uint64_t size, int64_t epoch, struct ca_error *err)
{
        archive_entry_clear(ae);
        archive_entry_set_pathname(ae, name);
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_perm(ae, 0644);
        archive_entry_set_mtime(ae, epoch, 0);
        archive_entry_set_size(ae, (la_int64_t) size);
        if (archive_write_header(a, ae) != ARCHIVE_OK)
                return layer_archive_fail(a, err, name);
        return 0;
}

static int archive_bytes(struct archive *a, struct archive_entry *ae, const char *name,
                         const void *data, size_t len, int64_t epoch, struct ca_error *err)
{
        int r = archive_file(a, ae, name, len, epoch, err);

        if (r == 0 && archive_write_data(a, data, len) != (la_ssize_t) len)
                r = layer_archive_fail(a, err, name);
        return r;
}

static int write_archive(struct archive *a, struct archive_entry *ae, const char *const *layers,
                         const struct layer_info *infos, size_t n, const char *config,
                         size_t config_len, const char *tag, int64_t epoch, char *chunk,
                         struct ca_error *err)
{
        _cleanup_buf_ struct buf manifest = BUF_INIT;
        char hex[DIGEST_SHA256_HEX_LEN + 1], name[96];
        uint8_t md[DIGEST_SHA256_LEN];
        int r;

        if (digest_sha256(config, config_len, md) < 0)
                return ca_error_setx(err, EIO, "SHA-256 failed");
        digest_hex(md, sizeof(md), hex);
        (void) snprintf(name, sizeof(name), "blobs/sha256/%s", hex);
        /* The tag is ours (repo:16 hex); nothing in it needs JSON escaping. */
        if (buf_printf(&manifest, "[{\"Config\":\"%s\",\"RepoTags\":[\"%s\"],\"Layers\":[", name,
                       tag) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = archive_bytes(a, ae, name, config, config_len, epoch, err);
        for (size_t i = 0; r == 0 && i < n; i++) {
                _cleanup_close_ int fd = open(layers[i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

                digest_hex(infos[i].diff_id, sizeof(infos[i].diff_id), hex);
                (void) snprintf(name, sizeof(name), "blobs/sha256/%s", hex);
                if (fd < 0)
                        return ca_error_set(err, errno, "cannot open '%s'", layers[i]);
                if (buf_printf(&manifest, "%s\"%s\"", i ? "," : "", name) < 0)
                        return ca_error_setx(err, ENOMEM, "out of memory");
                r = archive_file(a, ae, name, infos[i].size, epoch, err);
                if (r == 0)
                        r = copy_data(a, fd, infos[i].size, chunk, layers[i], err);
        }
        if (r == 0 && buf_printf(&manifest, "]}]\n") < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (r == 0)
                r = archive_bytes(a, ae, "manifest.json", manifest.data, manifest.len, epoch, err);
        return r;
}

int layer_archive_write(const char *out, const char *const *layers,
                        const struct layer_info *infos, size_t n, const char *config,
                        size_t config_len, const char *tag, int64_t epoch, struct ca_error *err)
{
        _cleanup_free_ char *tmp = NULL, *chunk = malloc(CHUNK);
        struct archive_entry *ae = archive_entry_new();
        struct sink s = {.fd = -1};
        struct layer_info whole;
        struct archive *a = NULL;
        int r = 0;

        if (!chunk || !ae || asprintf(&tmp, "%s.tmp-%d", out, (int) getpid()) < 0) {
                tmp = NULL;
                archive_entry_free(ae);
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        r = sink_open(&s, tmp, err);
        if (r == 0 && !(a = archive_open(&s, err)))
                r = -EIO;
        if (r == 0)
                r = write_archive(a, ae, layers, infos, n, config, config_len, tag, epoch, chunk,
                                  err);
        if (r < 0 && s.error)
                r = ca_error_set(err, s.error, "cannot write '%s'", tmp);
        r = sink_finish(&s, a, r, tmp, out, false, &whole, err);
        archive_entry_free(ae);
        return r;
}
