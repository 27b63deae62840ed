/* SPDX-License-Identifier: MIT */
#include "tree.h"

#include <errno.h>
#include <fts.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"

void tree_clear(struct tree *t)
{
        for (size_t i = 0; i < t->n; i++)
                free(t->items[i].path);
        free(t->items);
        t->items = NULL;
        t->n = 0;
}

static int cmp_item(const void *a, const void *b)
{
        return strcmp(((const struct tree_item *) a)->path, ((const struct tree_item *) b)->path);
}

int tree_list(const char *dir, size_t max, struct tree *out, struct ca_error *err)
{
        char *const roots[] = {(char *) dir, NULL};
        size_t base = strlen(dir);
        size_t cap = 0;
        FTS *fts;
        FTSENT *e;
        int r = 0;

        memset(out, 0, sizeof(*out));
        while (base > 1 && dir[base - 1] == '/')
                base--;
        fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
        if (!fts)
                return ca_error_set(err, errno, "cannot walk '%s'", dir);
        for (e = fts_read(fts); e; e = fts_read(fts)) {
                struct tree_item *it;

                if (e->fts_level == 0 || e->fts_info == FTS_DP)
                        continue;
                if (e->fts_info == FTS_DNR || e->fts_info == FTS_ERR || e->fts_info == FTS_NS) {
                        r = ca_error_set(err, e->fts_errno ? e->fts_errno : EIO,
                                         "cannot read '%s'", e->fts_path);
                        break;
                }
                if (out->n >= max) {
                        r = ca_error_setx(err, EFBIG, "more than %zu entries under '%s'", max,
                                          dir);
                        break;
                }
                if (out->n == cap) {
                        size_t ncap = cap ? cap * 2 : 128;
                        it = realloc(out->items, ncap * sizeof(*it));
                        if (!it) {
                                r = ca_error_setx(err, ENOMEM, "out of memory");
                                break;
                        }
                        out->items = it;
                        cap = ncap;
                }
                it = &out->items[out->n];
                it->path = strdup(e->fts_path + base + 1);
                if (!it->path) {
                        r = ca_error_setx(err, ENOMEM, "out of memory");
                        break;
                }
                it->kind = e->fts_info == FTS_F ? TREE_FILE
                           : e->fts_info == FTS_D ? TREE_DIR
                                                  : TREE_OTHER;
                it->exec = e->fts_statp && (e->fts_statp->st_mode & 0111) != 0;
                it->size = e->fts_statp ? e->fts_statp->st_size : 0;
                out->n++;
        }
        (void) fts_close(fts);
        if (r < 0) {
                tree_clear(out);
                return r;
        }
        if (out->n > 1)
                qsort(out->items, out->n, sizeof(*out->items), cmp_item);
        return 0;
}
