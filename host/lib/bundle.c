/* SPDX-License-Identifier: MIT */
#include "bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "layer.h"
#include "tree.h"

/* Everything to bundle: regular files and directories only. */
static int list_stage(const char *stage, struct tree *t, struct ca_error *err)
{
        int r = tree_list(stage, 100000, t, err);

        if (r < 0)
                return r;
        for (size_t i = 0; i < t->n; i++) {
                if (t->items[i].kind == TREE_OTHER) {
                        r = ca_error_setx(err, EINVAL,
                                          "'%s/%s' is not a regular file or directory: refusing "
                                          "to bundle it",
                                          stage, t->items[i].path);
                        tree_clear(t);
                        return r;
                }
        }
        return 0;
}

static int add_file(struct archive *a, struct archive_entry *ae, int dfd,
                    const struct tree_item *it, struct ca_error *err)
{
        _cleanup_close_ int fd = openat(dfd, it->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        char chunk[65536];
        off_t done = 0;

        if (fd < 0)
                return ca_error_set(err, errno, "cannot open '%s'", it->path);
        if (archive_write_header(a, ae) != ARCHIVE_OK)
                return layer_archive_fail(a, err, it->path);
        while (done < it->size) {
                ssize_t n = read(fd, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return ca_error_set(err, n < 0 ? errno : EIO,
                                            "'%s' changed while being bundled", it->path);
                if (n > it->size - done)
                        n = (ssize_t) (it->size - done);
                if (archive_write_data(a, chunk, (size_t) n) != n)
                        return layer_archive_fail(a, err, it->path);
                done += n;
        }
        return 0;
}

int bundle_write(const char *stage, const char *top, int64_t mtime, const char *out,
                 struct ca_error *err)
{
        _cleanup_close_ int dfd = -1;
        _cleanup_free_ char *tmp = NULL;
        struct tree t = {0};
        struct archive *a = NULL;
        struct archive_entry *ae = NULL;
        int r;

        dfd = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return ca_error_set(err, errno, "cannot open '%s'", stage);
        r = list_stage(stage, &t, err);
        if (r < 0)
                return r;
        if (asprintf(&tmp, "%s.tmp-%d", out, (int) getpid()) < 0) {
                tmp = NULL;
                tree_clear(&t);
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        a = archive_write_new();
        ae = archive_entry_new();
        if (!a || !ae) {
                r = ca_error_setx(err, ENOMEM, "out of memory");
                goto out;
        }
        /* pax_restricted writes plain ustar headers unless a name needs more; gzip without a
         * timestamp or a file name. */
        if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
            archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
            archive_write_set_filter_option(a, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
            archive_write_open_filename(a, tmp) != ARCHIVE_OK) {
                r = layer_archive_fail(a, err, "cannot start the tarball");
                goto out;
        }
        {
                char name[4096];

                for (size_t i = 0; i <= t.n; i++) {
                        const struct tree_item *x = i == 0 ? NULL : &t.items[i - 1];
                        int len = x ? snprintf(name, sizeof(name), "%s/%s", top, x->path)
                                    : snprintf(name, sizeof(name), "%s", top);

                        if (len < 0 || (size_t) len >= sizeof(name)) {
                                r = ca_error_setx(err, ENAMETOOLONG, "path too long");
                                goto out;
                        }
                        archive_entry_clear(ae);
                        archive_entry_set_pathname(ae, name);
                        archive_entry_set_mtime(ae, mtime, 0);
                        archive_entry_set_uid(ae, 0);
                        archive_entry_set_gid(ae, 0);
                        archive_entry_set_uname(ae, "root");
                        archive_entry_set_gname(ae, "root");
                        if (!x || x->kind == TREE_DIR) {
                                archive_entry_set_filetype(ae, AE_IFDIR);
                                archive_entry_set_perm(ae, 0755);
                                if (archive_write_header(a, ae) != ARCHIVE_OK) {
                                        r = layer_archive_fail(a, err, name);
                                        goto out;
                                }
                                continue;
                        }
                        archive_entry_set_filetype(ae, AE_IFREG);
                        archive_entry_set_perm(ae, x->exec ? 0755 : 0644);
                        archive_entry_set_size(ae, x->size);
                        r = add_file(a, ae, dfd, x, err);
                        if (r < 0)
                                goto out;
                }
        }
        if (archive_write_close(a) != ARCHIVE_OK) {
                r = layer_archive_fail(a, err, "cannot finish the tarball");
                goto out;
        }
        if (rename(tmp, out) < 0) {
                r = ca_error_set(err, errno, "cannot rename '%s' to '%s'", tmp, out);
                goto out;
        }
        r = 0;
out:
        if (r < 0)
                (void) unlink(tmp);
        if (a)
                archive_write_free(a);
        archive_entry_free(ae);
        tree_clear(&t);
        return r;
}

/* "<top>/<rest>": checks the path and returns <rest> ("" for the top directory itself). */
static const char *entry_rest(const char *path, char *top, size_t toplen, bool *first)
{
        const char *slash = strchr(path, '/');
        size_t tl = slash ? (size_t) (slash - path) : strlen(path);
        const char *rest = slash ? slash + 1 : "";
        const char *c = path;

        if (!*path || path[0] == '/' || tl == 0 || tl >= toplen)
                return NULL;
        /* No "." or ".." component, no empty component except a trailing '/'. */
        while (*c) {
                size_t len = strcspn(c, "/");
                if ((len == 0 && c[len] == '/') || (len == 1 && c[0] == '.') ||
                    (len == 2 && c[0] == '.' && c[1] == '.'))
                        return NULL;
                c += len;
                if (*c == '/')
                        c++;
        }
        if (*first) {
                memcpy(top, path, tl);
                top[tl] = '\0';
                *first = false;
        } else if (strlen(top) != tl || strncmp(top, path, tl) != 0) {
                return NULL;
        }
        return rest;
}

int bundle_extract(const char *tarball, const char *dest, char *ret_top, size_t toplen,
                   struct ca_error *err)
{
        _cleanup_close_ int dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        struct archive *a = archive_read_new();
        struct archive_entry *ae;
        bool first = true;
        char buf[65536];
        int r = 0;

        if (dfd < 0 || !a) {
                if (a)
                        archive_read_free(a);
                return dfd < 0 ? ca_error_set(err, errno, "cannot open '%s'", dest)
                               : ca_error_setx(err, ENOMEM, "out of memory");
        }
        if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
            archive_read_support_format_tar(a) != ARCHIVE_OK ||
            archive_read_open_filename(a, tarball, sizeof(buf)) != ARCHIVE_OK) {
                r = layer_archive_fail(a, err, tarball);
                goto out;
        }
        for (;;) {
                const char *path;
                const char *rest;
                char clean[4096];
                size_t rl;
                int h = archive_read_next_header(a, &ae);

                if (h == ARCHIVE_EOF)
                        break;
                if (h != ARCHIVE_OK) {
                        r = layer_archive_fail(a, err, tarball);
                        goto out;
                }
                path = archive_entry_pathname(ae);
                rest = path ? entry_rest(path, ret_top, toplen, &first) : NULL;
                if (!rest || archive_entry_hardlink(ae) || archive_entry_symlink(ae) ||
                    (archive_entry_filetype(ae) != AE_IFREG &&
                     archive_entry_filetype(ae) != AE_IFDIR)) {
                        r = ca_error_setx(err, EPERM,
                                          "refusing bundle entry '%s': only regular files and "
                                          "directories under one top directory, without '..'",
                                          path ? path : "(none)");
                        goto out;
                }
                rl = strlen(rest);
                if (rl >= sizeof(clean)) {
                        r = ca_error_setx(err, ENAMETOOLONG, "entry name too long");
                        goto out;
                }
                memcpy(clean, rest, rl + 1);
                while (rl > 0 && clean[rl - 1] == '/')
                        clean[--rl] = '\0';
                if (archive_entry_filetype(ae) == AE_IFDIR) {
                        if (rl > 0 && mkdirat(dfd, clean, 0755) < 0 && errno != EEXIST) {
                                r = ca_error_set(err, errno, "cannot create '%s'", clean);
                                goto out;
                        }
                        continue;
                }
                {
                        mode_t mode = (archive_entry_perm(ae) & 0111) ? 0555 : 0444;
                        /* O_EXCL + O_NOFOLLOW: an entry can neither overwrite nor write
                         * through anything already there. */
                        _cleanup_close_ int fd = openat(dfd, clean,
                                                        O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
                                                                O_NOFOLLOW,
                                                        0600);
                        if (fd < 0) {
                                r = ca_error_set(err, errno, "cannot create '%s'", clean);
                                goto out;
                        }
                        for (;;) {
                                la_ssize_t n = archive_read_data(a, buf, sizeof(buf));
                                if (n < 0) {
                                        r = layer_archive_fail(a, err, clean);
                                        goto out;
                                }
                                if (n == 0)
                                        break;
                                r = fileio_write_all(fd, buf, (size_t) n);
                                if (r < 0) {
                                        r = ca_error_set(err, -r, "cannot write '%s'", clean);
                                        goto out;
                                }
                        }
                        if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
                                r = ca_error_set(err, errno, "cannot finish '%s'", clean);
                                goto out;
                        }
                }
        }
        if (first)
                r = ca_error_setx(err, EINVAL, "'%s' is an empty bundle", tarball);
out:
        archive_read_free(a);
        return r;
}
