/* SPDX-License-Identifier: MIT */
#include "sums.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "parse.h"
#include "tree.h"

#define SUMS_FILE_MAX ((size_t) 64 << 20)
#define CHUNK ((size_t) 32 << 10)

bool sums_valid_path(const char *p)
{
        size_t n = strlen(p);
        const char *c = p;

        if (n == 0 || n > SUMS_PATH_MAX || p[0] == '/' || p[n - 1] == '/')
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char) p[i];
                if (ch < 0x20 || ch == 0x7f || ch == '\\')
                        return false;
        }
        /* Every component: not empty, not "." or "..". */
        while (*c) {
                size_t len = strcspn(c, "/");
                if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                c += len;
                if (*c == '/')
                        c++;
        }
        return true;
}

void sums_clear(struct sums *s)
{
        for (size_t i = 0; i < s->n; i++)
                free(s->e[i].path);
        free(s->e);
        s->e = NULL;
        s->n = 0;
}


/* SHA256SUMS holds lower-case hex only (its canonical form). */
static int hexval(char c)
{
        return c >= 'A' && c <= 'F' ? -1 : parse_hex_digit(c);
}

int sums_parse(const char *data, size_t len, struct sums *out, struct ca_error *err)
{
        size_t cap = 0;
        size_t line = 0;
        size_t i = 0;

        memset(out, 0, sizeof(*out));
        while (i < len) {
                const char *nl = memchr(data + i, '\n', len - i);
                size_t l;
                struct sums_entry e;

                line++;
                if (!nl) {
                        sums_clear(out);
                        return ca_error_input(err, "%s:%zu: missing final newline", SUMS_FILE,
                                              line);
                }
                l = (size_t) (nl - (data + i));
                if (l < 2 * DIGEST_SHA256_LEN + 3 || data[i + 64] != ' ' ||
                    data[i + 65] != ' ') {
                        sums_clear(out);
                        return ca_error_input(err, "%s:%zu: expected '<sha256>  <path>'",
                                              SUMS_FILE, line);
                }
                for (size_t k = 0; k < DIGEST_SHA256_LEN; k++) {
                        int hi = hexval(data[i + 2 * k]);
                        int lo = hexval(data[i + 2 * k + 1]);
                        if (hi < 0 || lo < 0) {
                                sums_clear(out);
                                return ca_error_input(err, "%s:%zu: bad SHA-256 digest",
                                                      SUMS_FILE, line);
                        }
                        e.sha256[k] = (uint8_t) (hi << 4 | lo);
                }
                e.path = strndup(data + i + 66, l - 66);
                if (!e.path) {
                        sums_clear(out);
                        return ca_error_setx(err, ENOMEM, "out of memory");
                }
                if (strlen(e.path) != l - 66 || !sums_valid_path(e.path)) {
                        free(e.path);
                        sums_clear(out);
                        return ca_error_input(err, "%s:%zu: bad path", SUMS_FILE, line);
                }
                if (out->n > 0 && strcmp(out->e[out->n - 1].path, e.path) >= 0) {
                        free(e.path);
                        sums_clear(out);
                        return ca_error_input(err,
                                              "%s:%zu: not in canonical order (sorted, unique)",
                                              SUMS_FILE, line);
                }
                if (out->n == SUMS_MAX_ENTRIES) {
                        free(e.path);
                        sums_clear(out);
                        return ca_error_input(err, "%s: more than %d entries", SUMS_FILE,
                                              SUMS_MAX_ENTRIES);
                }
                if (out->n == cap) {
                        size_t ncap = cap ? cap * 2 : 64;
                        struct sums_entry *ne = realloc(out->e, ncap * sizeof(*ne));
                        if (!ne) {
                                free(e.path);
                                sums_clear(out);
                                return ca_error_setx(err, ENOMEM, "out of memory");
                        }
                        out->e = ne;
                        cap = ncap;
                }
                out->e[out->n++] = e;
                i += l + 1;
        }
        return 0;
}

/* ---- hashing, in parallel ------------------------------------------------------------------ */

enum { ST_OK, ST_MISMATCH, ST_MISSING };

struct by_size {
        size_t index;
        off_t size;
};

struct job {
        int dirfd;
        const struct sums_entry *e;
        size_t n;
        const struct by_size *order;        /* the entries, largest file first */
        uint8_t (*got)[DIGEST_SHA256_LEN]; /* sums_write: store the digest */
        unsigned char *status;              /* sums_verify: compare */
        atomic_size_t next;
        atomic_int error; /* first hard error (ENOMEM/EIO), as a positive errno */
};

/* Opens `path` strictly beneath `dirfd`: no symlinks anywhere, no escape. */
static int open_beneath(int dirfd, const char *path)
{
        struct open_how how = {
                .flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };

        return (int) syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* SHA-256 of a regular file beneath dirfd: 0, -ENOENT (absent/not regular/symlink), -EIO. */
static int hash_one(int dirfd, const char *path, uint8_t *buf, uint8_t out[DIGEST_SHA256_LEN])
{
        _cleanup_close_ int fd = open_beneath(dirfd, path);
        struct digest_ctx *ctx;
        struct stat st;

        if (fd < 0)
                return errno == ENOMEM ? -ENOMEM : -ENOENT;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return -ENOENT;
        ctx = digest_sha256_new();
        if (!ctx)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf, CHUNK);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        digest_free(ctx);
                        return -EIO;
                }
                if (n == 0)
                        break;
                if (digest_update(ctx, buf, (size_t) n) < 0) {
                        digest_free(ctx);
                        return -EIO;
                }
        }
        return digest_final(ctx, out) < 0 ? -EIO : 0;
}

static void *worker(void *arg)
{
        struct job *j = arg;
        uint8_t *buf = malloc(CHUNK);

        if (!buf) {
                atomic_store(&j->error, ENOMEM);
                return NULL;
        }
        for (;;) {
                size_t k = atomic_fetch_add(&j->next, 1);
                uint8_t md[DIGEST_SHA256_LEN];
                size_t i;
                int r;

                if (k >= j->n)
                        break;
                i = j->order[k].index;
                r = hash_one(j->dirfd, j->e[i].path, buf, md);
                if (r == -ENOMEM || (r == -EIO && j->got)) {
                        atomic_store(&j->error, -r);
                        continue;
                }
                if (j->got) {
                        if (r < 0)
                                atomic_store(&j->error, ENOENT);
                        else
                                memcpy(j->got[i], md, sizeof(md));
                        continue;
                }
                j->status[i] = r < 0                                               ? ST_MISSING
                               : memcmp(md, j->e[i].sha256, DIGEST_SHA256_LEN) != 0 ? ST_MISMATCH
                                                                                    : ST_OK;
        }
        free(buf);
        return NULL;
}

/* Below this many bytes in all, one thread hashes everything: on a VM a second thread can take
 * milliseconds to be first scheduled (an idle virtual CPU is woken through the hypervisor),
 * longer than hashing the release tree (3-4 MB) takes on one core. */
#define PARALLEL_MIN ((uint64_t) 16 << 20)
/* And each further thread has at least this much to do. */
#define PER_THREAD_MIN ((uint64_t) 4 << 20)

static unsigned auto_threads(uint64_t bytes)
{
        long cpus;
        uint64_t most;

        if (bytes < PARALLEL_MIN)
                return 1;
        cpus = sysconf(_SC_NPROCESSORS_ONLN);
        most = bytes / PER_THREAD_MIN;
        return cpus < 1 ? 1 : (unsigned) ((uint64_t) cpus < most ? (uint64_t) cpus : most);
}

static int cmp_by_size(const void *a, const void *b)
{
        const struct by_size *x = a, *y = b;

        if (x->size != y->size)
                return x->size > y->size ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Hashes the job's entries, the largest first (the last file a thread takes is then a small
 * one, and the threads end together). `size[i]` is entry i's size as listed (0 when it was
 * not); `threads` 0 decides from the bytes in all.
 */
static int run_jobs(struct job *j, const off_t *size, unsigned threads)
{
        _cleanup_free_ struct by_size *sorted = calloc(j->n + 1, sizeof(*sorted));
        pthread_t tid[64];
        unsigned started = 0;
        uint64_t bytes = 0;

        if (!sorted)
                return -ENOMEM;
        for (size_t i = 0; i < j->n; i++) {
                sorted[i] = (struct by_size) {.index = i, .size = size[i]};
                bytes += size[i] > 0 ? (uint64_t) size[i] : 0;
        }
        qsort(sorted, j->n, sizeof(*sorted), cmp_by_size);
        j->order = sorted;
        if (threads == 0)
                threads = auto_threads(bytes);
        if (threads > 64)
                threads = 64;
        if (threads > j->n)
                threads = j->n ? (unsigned) j->n : 1;
        for (unsigned i = 1; i < threads; i++) {
                if (pthread_create(&tid[started], NULL, worker, j) != 0)
                        break;
                started++;
        }
        (void) worker(j); /* this thread works too */
        for (unsigned i = 0; i < started; i++)
                (void) pthread_join(tid[i], NULL);
        j->order = NULL;
        return -atomic_load(&j->error);
}

/* ---- verify and write ------------------------------------------------------------------------ */

void sums_report_clear(struct sums_report *rep)
{
        buf_clear(&rep->text);
        memset(rep, 0, sizeof(*rep));
}

static int problem(struct sums_report *rep, const char *kind, const char *path)
{
        rep->problems++;
        return buf_printf(&rep->text, "%s: %s\n", kind, path);
}

int sums_verify_dir(const char *dir, unsigned threads, struct sums_report *rep,
                    struct ca_error *err)
{
        _cleanup_close_ int dfd = -1;
        _cleanup_buf_ struct buf b = BUF_INIT;
        _cleanup_free_ unsigned char *status = NULL;
        _cleanup_free_ off_t *size = NULL;
        struct tree t = {0};
        struct sums s = {0};
        struct job j;
        size_t k = 0;
        int r;

        memset(rep, 0, sizeof(*rep));
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return ca_error_set(err, errno, "cannot open release directory '%s'", dir);
        {
                _cleanup_close_ int fd = open_beneath(dfd, SUMS_FILE);
                if (fd < 0)
                        return ca_error_set(err, errno, "cannot open '%s/%s'", dir, SUMS_FILE);
                r = fileio_read_fd(fd, SUMS_FILE_MAX, &b, err);
                if (r < 0)
                        return ca_error_prefix(err, "reading '%s/%s'", dir, SUMS_FILE);
        }
        r = sums_parse(b.data ? b.data : "", b.len, &s, err);
        if (r < 0)
                return r;
        /* The listing first: it finds what is not listed, and its sizes order the hashing. */
        r = tree_list(dir, SUMS_MAX_ENTRIES + 1, &t, err);
        if (r < 0) {
                sums_clear(&s);
                return r;
        }
        status = calloc(s.n + 1, 1);
        size = calloc(s.n + 1, sizeof(*size));
        if (!status || !size) {
                tree_clear(&t);
                sums_clear(&s);
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < s.n; i++) { /* both in byte order */
                while (k < t.n && strcmp(t.items[k].path, s.e[i].path) < 0)
                        k++;
                if (k < t.n && strcmp(t.items[k].path, s.e[i].path) == 0)
                        size[i] = t.items[k].size;
        }
        k = 0;
        j = (struct job) {.dirfd = dfd, .e = s.e, .n = s.n, .status = status};
        atomic_init(&j.next, 0);
        atomic_init(&j.error, 0);
        r = run_jobs(&j, size, threads);
        if (r < 0) {
                tree_clear(&t);
                sums_clear(&s);
                return ca_error_set(err, -r, "hashing failed");
        }
        /* Listed entries, in order; then anything present but not listed. */
        for (size_t i = 0; r >= 0 && i < s.n; i++) {
                rep->checked++;
                if (status[i] == ST_MISMATCH)
                        r = problem(rep, "mismatch", s.e[i].path);
                else if (status[i] == ST_MISSING)
                        r = problem(rep, "missing", s.e[i].path);
        }
        for (size_t i = 0; r >= 0 && i < t.n; i++) {
                const struct tree_item *it = &t.items[i];

                if (it->kind == TREE_DIR || strcmp(it->path, SUMS_FILE) == 0)
                        continue;
                while (k < s.n && strcmp(s.e[k].path, it->path) < 0)
                        k++;
                if (k < s.n && strcmp(s.e[k].path, it->path) == 0)
                        continue; /* listed: checked above (a non-file is "missing") */
                r = problem(rep,
                            it->kind == TREE_FILE ? "unlisted" : "unlisted (not a regular file)",
                            it->path);
        }
        tree_clear(&t);
        sums_clear(&s);
        if (r < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        return rep->problems ? 1 : 0;
}

int sums_write_dir(const char *dir, const char *const *skip, size_t nskip, struct ca_error *err)
{
        _cleanup_close_ int dfd = -1;
        _cleanup_buf_ struct buf out = BUF_INIT;
        struct tree t = {0};
        struct sums_entry *e = NULL;
        uint8_t (*got)[DIGEST_SHA256_LEN] = NULL;
        off_t *size = NULL;
        size_t n = 0;
        struct job j;
        int r;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return ca_error_set(err, errno, "cannot open '%s'", dir);
        r = tree_list(dir, SUMS_MAX_ENTRIES + 1, &t, err);
        if (r < 0)
                return r;
        e = calloc(t.n + 1, sizeof(*e));
        got = calloc(t.n + 1, sizeof(*got));
        size = calloc(t.n + 1, sizeof(*size));
        if (!e || !got || !size) {
                r = ca_error_setx(err, ENOMEM, "out of memory");
                goto out;
        }
        for (size_t i = 0; i < t.n; i++) {
                const struct tree_item *it = &t.items[i];
                bool skipped = strcmp(it->path, SUMS_FILE) == 0 || it->kind == TREE_DIR;

                for (size_t k = 0; k < nskip; k++) {
                        if (strcmp(it->path, skip[k]) == 0)
                                skipped = true;
                }
                if (skipped)
                        continue;
                if (it->kind != TREE_FILE || !sums_valid_path(it->path)) {
                        r = ca_error_setx(err, EINVAL,
                                          "'%s/%s' is not a regular file with a plain name", dir,
                                          it->path);
                        goto out;
                }
                size[n] = it->size;
                e[n++].path = it->path;
        }
        j = (struct job) {.dirfd = dfd, .e = e, .n = n, .got = got};
        atomic_init(&j.next, 0);
        atomic_init(&j.error, 0);
        r = run_jobs(&j, size, 0);
        if (r < 0) {
                r = ca_error_set(err, -r, "cannot hash the files under '%s'", dir);
                goto out;
        }
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char hex[DIGEST_SHA256_HEX_LEN + 1];
                digest_hex(got[i], DIGEST_SHA256_LEN, hex);
                r = buf_printf(&out, "%s  %s\n", hex, e[i].path);
        }
        if (r < 0) {
                r = ca_error_setx(err, ENOMEM, "out of memory");
                goto out;
        }
        r = fileio_write_atomic_at(dfd, SUMS_FILE, out.data ? out.data : "", out.len, 0644, err);
out:
        free(e);
        free(got);
        free(size);
        tree_clear(&t);
        return r;
}
