/* SPDX-License-Identifier: MIT */
#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "error.h"

int fileio_read_fd(int fd, size_t max, struct buf *out, struct ca_error *err)
{
        size_t start = out->len;

        for (;;) {
                size_t got = out->len - start;
                size_t room = out->cap > out->len + 1 ? out->cap - out->len - 1 : 0;
                size_t want = room > 0 ? room : 65536;
                ssize_t n;
                int r;

                /* Read one byte past the cap so "exactly max" and "more than max" differ. */
                if (got > max)
                        break;
                if (want > max - got + 1)
                        want = max - got + 1;
                r = buf_reserve(out, want);
                if (r < 0)
                        return ca_error_set(err, -r, "cannot grow read buffer");
                n = read(fd, out->data + out->len, want);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return ca_error_set(err, errno, "read failed");
                }
                if (n == 0)
                        return 0;
                out->len += (size_t) n;
                out->data[out->len] = '\0';
        }
        out->len = start + max;
        out->data[out->len] = '\0';
        return ca_error_setx(err, EFBIG, "input larger than %zu bytes", max);
}

int fileio_read_path(const char *path, size_t max, struct buf *out, struct ca_error *err)
{
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        if (strcmp(path, "-") == 0) {
                r = fileio_read_fd(STDIN_FILENO, max, out, err);
                if (r < 0)
                        return ca_error_prefix(err, "reading standard input");
                return 0;
        }
        /* O_NONBLOCK: a FIFO planted at a user-named path must not hang us (systemd). */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return ca_error_set(err, errno, "cannot open '%s'", path);
        if (fstat(fd, &st) < 0)
                return ca_error_set(err, errno, "cannot stat '%s'", path);
        if (!S_ISREG(st.st_mode))
                return ca_error_setx(err, S_ISDIR(st.st_mode) ? EISDIR : EINVAL,
                                     "'%s' is not a regular file", path);
        /* Size the buffer from the file once (the cap still holds if the file grows). */
        if (st.st_size > 0 && (uint64_t) st.st_size < max &&
            buf_reserve(out, (size_t) st.st_size + 1) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = fileio_read_fd(fd, max, out, err);
        if (r < 0)
                return ca_error_prefix(err, "reading '%s'", path);
        return 0;
}

int fileio_write_all(int fd, const void *data, size_t len)
{
        const char *p = data;

        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

/* Splits `path` into its directory (or ".") and last component without basename()/dirname(). */
static int split_path(const char *path, char *dir, size_t dirlen, const char **ret_name)
{
        const char *slash = strrchr(path, '/');
        size_t n;

        if (!slash) {
                if (dirlen < 2)
                        return -ENAMETOOLONG;
                memcpy(dir, ".", 2);
                *ret_name = path;
                return 0;
        }
        n = slash == path ? 1 : (size_t) (slash - path);
        if (n >= dirlen)
                return -ENAMETOOLONG;
        memcpy(dir, path, n);
        dir[n] = '\0';
        *ret_name = slash + 1;
        return 0;
}

int fileio_write_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                           struct ca_error *err)
{
        char tmp[512];
        _cleanup_close_ int fd = -1;
        unsigned char rnd[8];
        int n;
        int r;

        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd))
                return ca_error_set(err, errno, "getrandom failed");
        n = snprintf(tmp, sizeof(tmp), ".%s.tmp-%02x%02x%02x%02x%02x%02x%02x%02x", name, rnd[0],
                     rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
        if (n < 0 || (size_t) n >= sizeof(tmp) || strchr(name, '/'))
                return ca_error_setx(err, ENAMETOOLONG, "bad file name '%s'", name);

        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return ca_error_set(err, errno, "cannot create '%s'", tmp);
        /* The umask must not widen or narrow what the caller asked for. */
        if (fchmod(fd, mode) < 0) {
                r = ca_error_set(err, errno, "cannot chmod '%s'", tmp);
                goto fail;
        }
        r = fileio_write_all(fd, data, len);
        if (r < 0) {
                r = ca_error_set(err, -r, "cannot write '%s'", tmp);
                goto fail;
        }
        if (fsync(fd) < 0) {
                r = ca_error_set(err, errno, "cannot fsync '%s'", tmp);
                goto fail;
        }
        if (close(take_fd(&fd)) < 0) {
                r = ca_error_set(err, errno, "cannot close '%s'", tmp);
                goto fail;
        }
        if (renameat(dirfd, tmp, dirfd, name) < 0) {
                r = ca_error_set(err, errno, "cannot rename '%s' to '%s'", tmp, name);
                goto fail;
        }
        if (fsync(dirfd) < 0)
                return ca_error_set(err, errno, "cannot fsync the directory of '%s'", name);
        return 0;
fail:
        (void) unlinkat(dirfd, tmp, 0);
        return r;
}

int fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                        struct ca_error *err)
{
        char dir[4096];
        const char *name = NULL;
        _cleanup_close_ int dfd = -1;
        int r;

        r = split_path(path, dir, sizeof(dir), &name);
        if (r < 0 || !*name)
                return ca_error_setx(err, r < 0 ? -r : EINVAL, "bad path '%s'", path);
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return ca_error_set(err, errno, "cannot open directory '%s'", dir);
        r = fileio_write_atomic_at(dfd, name, data, len, mode, err);
        if (r < 0)
                return ca_error_prefix(err, "writing '%s'", path);
        return 0;
}

int fileio_mkdir_p(const char *path, mode_t mode, struct ca_error *err)
{
        char p[4096];
        size_t len = strlen(path);

        if (len == 0 || len >= sizeof(p))
                return ca_error_setx(err, ENAMETOOLONG, "bad directory path '%s'", path);
        memcpy(p, path, len + 1);
        for (size_t i = 1; i <= len; i++) {
                if (p[i] != '/' && p[i] != '\0')
                        continue;
                p[i] = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return ca_error_set(err, errno, "cannot create directory '%s'", p);
                p[i] = i == len ? '\0' : '/';
        }
        return 0;
}

static int publish_one(int dfd, const struct fileio_entry *e, mode_t file_mode, mode_t dir_mode,
                       struct ca_error *err)
{
        const char *slash = strchr(e->name, '/');
        _cleanup_close_ int sfd = -1;
        _cleanup_close_ int fd = -1;
        const char *base = e->name;
        int r;

        if (slash) {
                _cleanup_free_ char *sub = strndup(e->name, (size_t) (slash - e->name));

                if (!sub)
                        return ca_error_setx(err, ENOMEM, "out of memory");
                if (mkdirat(dfd, sub, dir_mode) < 0 && errno != EEXIST)
                        return ca_error_set(err, errno, "cannot create '%s'", sub);
                sfd = openat(dfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (sfd < 0)
                        return ca_error_set(err, errno, "cannot open '%s'", sub);
                if (fchmod(sfd, dir_mode) < 0)
                        return ca_error_set(err, errno, "cannot set the mode of '%s'", sub);
                base = slash + 1;
        }
        fd = openat(sfd >= 0 ? sfd : dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                    file_mode);
        if (fd < 0)
                return ca_error_set(err, errno, "cannot create '%s'", e->name);
        if (fchmod(fd, file_mode) < 0)
                return ca_error_set(err, errno, "cannot set the mode of '%s'", e->name);
        r = fileio_write_all(fd, e->data ? e->data : "", e->len);
        if (r < 0)
                return ca_error_set(err, -r, "cannot write '%s'", e->name);
        if (close(take_fd(&fd)) < 0)
                return ca_error_set(err, errno, "cannot close '%s'", e->name);
        return 0;
}

static void unpublish(const char *tmp, const struct fileio_entry *entries, size_t n)
{
        _cleanup_close_ int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

        if (dfd >= 0) {
                /* Files first, then their directories (rmdir of a non-empty one just fails). */
                for (size_t i = 0; i < n; i++)
                        (void) unlinkat(dfd, entries[i].name, 0);
                for (size_t i = 0; i < n; i++) {
                        const char *slash = strchr(entries[i].name, '/');
                        _cleanup_free_ char *sub =
                                slash ? strndup(entries[i].name,
                                                (size_t) (slash - entries[i].name))
                                      : NULL;

                        if (sub)
                                (void) unlinkat(dfd, sub, AT_REMOVEDIR);
                }
        }
        (void) rmdir(tmp);
}

int fileio_publish_dir(const char *dir, const struct fileio_entry *entries, size_t n,
                       mode_t file_mode, mode_t dir_mode, struct ca_error *err)
{
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int dfd = -1;
        struct stat st;
        int r = 0;

        if (lstat(dir, &st) == 0 && (!S_ISDIR(st.st_mode) || rmdir(dir) < 0))
                return ca_error_setx(err, EEXIST,
                                     "'%s' exists and is not an empty directory: choose another "
                                     "--out",
                                     dir);
        if (asprintf(&tmp, "%s.tmp-XXXXXX", dir) < 0) {
                tmp = NULL;
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        if (!mkdtemp(tmp))
                return ca_error_set(err, errno, "cannot create a directory next to '%s'", dir);
        dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
                r = ca_error_set(err, errno, "cannot open '%s'", tmp);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = publish_one(dfd, &entries[i], file_mode, dir_mode, err);
        if (r >= 0 && fchmod(dfd, dir_mode) < 0)
                r = ca_error_set(err, errno, "cannot set the mode of '%s'", tmp);
        if (r >= 0 && rename(tmp, dir) < 0)
                r = ca_error_set(err, errno, "cannot move the new directory to '%s'", dir);
        if (r < 0)
                unpublish(tmp, entries, n);
        return r;
}

/* Empties the directory `fd` (consumed), staying on device `dev`. */
static int remove_below(int fd, dev_t dev)
{
        DIR *d = fdopendir(fd);
        struct dirent *e;
        int r = 0;

        if (!d) {
                r = -errno;
                (void) close(fd);
                return r;
        }
        while ((e = readdir(d))) {
                struct stat st;

                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT && r == 0)
                                r = -errno;
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        int sub;

                        if (st.st_dev != dev) {
                                if (r == 0)
                                        r = -EXDEV;
                                continue;
                        }
                        sub = openat(dirfd(d), e->d_name,
                                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0) {
                                if (r == 0)
                                        r = -errno;
                                continue;
                        }
                        {
                                int r2 = remove_below(sub, dev);

                                if (r2 < 0 && r == 0)
                                        r = r2;
                        }
                }
                if (unlinkat(dirfd(d), e->d_name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0 &&
                    errno != ENOENT && r == 0)
                        r = -errno;
        }
        (void) closedir(d);
        return r;
}

int fileio_remove_tree(const char *path, struct ca_error *err)
{
        struct stat st;
        int fd, r;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : ca_error_set(err, errno, "cannot remove '%s'", path);
        if (S_ISDIR(st.st_mode)) {
                fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return ca_error_set(err, errno, "cannot remove '%s'", path);
                r = remove_below(fd, st.st_dev);
                if (r < 0)
                        return ca_error_set(err, -r, "cannot remove everything under '%s'", path);
                if (rmdir(path) < 0 && errno != ENOENT)
                        return ca_error_set(err, errno, "cannot remove '%s'", path);
                return 0;
        }
        if (unlink(path) < 0 && errno != ENOENT)
                return ca_error_set(err, errno, "cannot remove '%s'", path);
        return 0;
}
