/* SPDX-License-Identifier: MIT */
#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "config.h"
#include "names.h"
#include "error.h"
#include "fileio.h"
#include "paths.h"
#include "tree.h"

#define PINS_MAX 64

static int open_dir(const char *root, bool create, struct ca_error *err)
{
        _cleanup_free_ char *dir = paths_join(root, "trust-overrides");
        int fd;

        if (!dir)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (create && fileio_mkdir_p(dir, 0700, err) < 0)
                return -err->code;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT && !create ? -ENOENT
                                                  : ca_error_set(err, errno, "cannot open '%s'",
                                                                 dir);
        return fd;
}

static int check_name(const char *name, struct ca_error *err)
{
        if (!names_trust_ok(name) || strcmp(name, "system") == 0)
                return ca_error_input(err,
                                      "bad trust name '%s': 1-64 of [a-z0-9._-], not 'system'",
                                      name);
        return 0;
}

static bool exists_at(int dfd, const char *name, const char *ext)
{
        char f[96];

        (void) snprintf(f, sizeof(f), "%s%s", name, ext);
        return faccessat(dfd, f, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int trust_add_bundle(const char *root, const char *name, const char *pem_path,
                     struct tls_cert_info **ret_certs, size_t *ret_n, struct ca_error *err)
{
        _cleanup_buf_ struct buf pem = BUF_INIT;
        _cleanup_buf_ struct buf canonical = BUF_INIT;
        _cleanup_close_ int dfd = -1;
        struct tls_cert_info *certs = NULL;
        size_t n = 0;
        char file[96];
        int r;

        r = check_name(name, err);
        if (r < 0)
                return r;
        r = fileio_read_path(pem_path, TLS_BUNDLE_MAX, &pem, err);
        if (r < 0) {
                err->bad_input = true;
                return r;
        }
        r = tls_bundle_parse(pem.data ? pem.data : "", pem.len, &certs, &n, &canonical, err);
        if (r < 0)
                return ca_error_prefix(err, "'%s'", pem_path);
        dfd = open_dir(root, true, err);
        if (dfd < 0) {
                free(certs);
                return dfd;
        }
        if (exists_at(dfd, name, ".pins")) {
                free(certs);
                return ca_error_setx(err, EEXIST, "trust '%s' holds pins; remove it first", name);
        }
        (void) snprintf(file, sizeof(file), "%s.pem", name);
        r = fileio_write_atomic_at(dfd, file, canonical.data, canonical.len, 0600, err);
        if (r < 0 || !ret_certs) {
                free(certs);
                return r;
        }
        *ret_certs = certs;
        *ret_n = n;
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Reads NAME.pins into `out` (one per line); missing file = none. */
static int read_pins(int dfd, const char *name, char **out, size_t *n, struct ca_error *err)
{
        char file[96];
        _cleanup_close_ int fd = -1;
        _cleanup_buf_ struct buf b = BUF_INIT;
        char *save = NULL;
        int r;

        (void) snprintf(file, sizeof(file), "%s.pins", name);
        fd = openat(dfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : ca_error_set(err, errno, "cannot open '%s'", file);
        r = fileio_read_fd(fd, 65536, &b, err);
        if (r < 0)
                return r;
        for (char *l = strtok_r(b.data ? b.data : (char *) "", "\n", &save); l;
             l = strtok_r(NULL, "\n", &save)) {
                if (*n == PINS_MAX || !names_pin_ok(l))
                        return ca_error_setx(err, EBADMSG, "'%s' is damaged", file);
                out[*n] = strdup(l);
                if (!out[*n])
                        return ca_error_setx(err, ENOMEM, "out of memory");
                (*n)++;
        }
        return 0;
}

int trust_add_pins(const char *root, const char *name, const char *const *pins, size_t npins,
                   struct ca_error *err)
{
        _cleanup_close_ int dfd = -1;
        _cleanup_buf_ struct buf b = BUF_INIT;
        char *all[PINS_MAX * 2];
        size_t n = 0;
        char file[96];
        int r;

        r = check_name(name, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < npins; i++) {
                if (!names_pin_ok(pins[i]))
                        return ca_error_input(err,
                                              "bad pin '%.80s': expected 'sha256//' and the "
                                              "base64 of a 32-byte SPKI hash",
                                              pins[i]);
        }
        dfd = open_dir(root, true, err);
        if (dfd < 0)
                return dfd;
        if (exists_at(dfd, name, ".pem"))
                return ca_error_setx(err, EEXIST, "trust '%s' is a CA bundle; remove it first",
                                     name);
        r = read_pins(dfd, name, all, &n, err);
        for (size_t i = 0; r >= 0 && i < npins; i++) {
                bool dup = false;
                for (size_t k = 0; k < n; k++)
                        dup = dup || strcmp(all[k], pins[i]) == 0;
                if (dup)
                        continue;
                if (n == PINS_MAX) {
                        r = ca_error_input(err, "more than %d pins for '%s'", PINS_MAX, name);
                        break;
                }
                all[n] = strdup(pins[i]);
                if (!all[n]) {
                        r = ca_error_setx(err, ENOMEM, "out of memory");
                        break;
                }
                n++;
        }
        if (r >= 0 && n > 1)
                qsort(all, n, sizeof(*all), cmp_str);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                if (buf_printf(&b, "%s\n", all[i]) < 0)
                        r = ca_error_setx(err, ENOMEM, "out of memory");
        }
        if (r >= 0) {
                (void) snprintf(file, sizeof(file), "%s.pins", name);
                r = fileio_write_atomic_at(dfd, file, b.data ? b.data : "", b.len, 0600, err);
        }
        for (size_t i = 0; i < n; i++)
                free(all[i]);
        return r;
}

int trust_remove(const char *root, const char *name, struct ca_error *err)
{
        _cleanup_close_ int dfd = -1;
        char file[96];
        int removed = 0;
        int r = check_name(name, err);

        if (r < 0)
                return r;
        dfd = open_dir(root, false, err);
        if (dfd == -ENOENT)
                return ca_error_setx(err, ENOENT, "no trust named '%s'", name);
        if (dfd < 0)
                return dfd;
        for (int i = 0; i < 2; i++) {
                (void) snprintf(file, sizeof(file), "%s%s", name, i ? ".pins" : ".pem");
                if (unlinkat(dfd, file, 0) == 0)
                        removed++;
                else if (errno != ENOENT)
                        return ca_error_set(err, errno, "cannot remove '%s'", file);
        }
        if (!removed)
                return ca_error_setx(err, ENOENT, "no trust named '%s'", name);
        if (fsync(dfd) < 0)
                return ca_error_set(err, errno, "cannot persist the removal of '%s'", name);
        return 0;
}

int trust_list(const char *root, json_t **ret, struct ca_error *err)
{
        _cleanup_free_ char *dir = paths_join(root, "trust-overrides");
        _cleanup_close_ int dfd = -1;
        struct tree t = {0};
        json_t *out = json_array();
        int r;

        if (!dir || !out) {
                json_decref(out);
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        dfd = open_dir(root, false, err);
        if (dfd == -ENOENT) {
                *ret = out;
                return 0;
        }
        r = dfd < 0 ? dfd : tree_list(dir, 10000, &t, err);
        for (size_t i = 0; r >= 0 && i < t.n; i++) {
                const char *p = t.items[i].path;
                size_t len = strlen(p);
                char name[80];
                json_t *row = NULL;

                if (t.items[i].kind != TREE_FILE || len < 5 || len - 4 >= sizeof(name))
                        continue;
                memcpy(name, p, len - 4);
                name[len - 4] = '\0';
                if (strcmp(p + len - 4, ".pem") == 0 && names_trust_ok(name)) {
                        _cleanup_buf_ struct buf pem = BUF_INIT;
                        _cleanup_buf_ struct buf canonical = BUF_INIT;
                        _cleanup_free_ char *full = paths_join(dir, p);
                        struct tls_cert_info *certs = NULL;
                        size_t n = 0;
                        json_t *cj = json_array();

                        r = full ? fileio_read_path(full, TLS_BUNDLE_MAX, &pem, err) : -ENOMEM;
                        if (r >= 0)
                                r = tls_bundle_parse(pem.data ? pem.data : "", pem.len, &certs,
                                                     &n, &canonical, err);
                        for (size_t k = 0; r >= 0 && cj && k < n; k++)
                                (void) json_array_append_new(
                                        cj, json_pack("{s:s, s:s, s:s, s:b}", "subject",
                                                      certs[k].subject, "sha256", certs[k].sha256,
                                                      "pin", certs[k].pin, "ca", certs[k].ca));
                        free(certs);
                        row = json_pack("{s:s, s:s, s:I, s:o}", "name", name, "kind", "bundle",
                                        "count", (json_int_t) n, "certificates", cj);
                } else if (len > 5 && strcmp(p + len - 5, ".pins") == 0 &&
                           (name[len - 5] = '\0', names_trust_ok(name))) {
                        char *pins[PINS_MAX];
                        size_t n = 0;
                        json_t *pj = json_array();

                        r = read_pins(dfd, name, pins, &n, err);
                        for (size_t k = 0; k < n; k++) {
                                (void) json_array_append_new(pj, json_string(pins[k]));
                                free(pins[k]);
                        }
                        row = json_pack("{s:s, s:s, s:I, s:o}", "name", name, "kind", "pins",
                                        "count", (json_int_t) n, "pins", pj);
                }
                if (r >= 0 && row)
                        (void) json_array_append_new(out, row);
                else
                        json_decref(row);
        }
        tree_clear(&t);
        if (r < 0) {
                json_decref(out);
                return r;
        }
        *ret = out;
        return 0;
}

int trust_check_config(const char *root, const struct config *cfg, struct ca_error *err)
{
        _cleanup_close_ int dfd = -1;

        for (size_t i = 0; i < cfg->nservers; i++) {
                const struct config_server *s = &cfg->servers[i];
                const struct config_origin *o = &s->trust_origin;

                if (!s->enabled || !s->trust || strcmp(s->trust, "system") == 0)
                        continue;
                if (dfd == -1) {
                        dfd = open_dir(root, false, err);
                        if (dfd < 0 && dfd != -ENOENT)
                                return dfd;
                }
                if (dfd >= 0 && exists_at(dfd, s->trust, ".pem"))
                        continue;
                return ca_error_input(err,
                                      "%s:%u:%u: server '%s': trust '%s' is not a curated bundle "
                                      "(add it: coding-agents trust add %s --bundle FILE.pem)",
                                      o->file ? o->file : "?", o->line, o->col, s->name, s->trust,
                                      s->trust);
        }
        return 0;
}
