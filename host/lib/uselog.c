/* SPDX-License-Identifier: MIT */
#include "uselog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "error.h"

#define CHECK_LEN 8
#define CHECK_HEX_LEN ((size_t) 2 * CHECK_LEN)
#define ID_HEX_LEN ((size_t) 2 * CAP_ID_LEN)
/* "use " + id + " " + 5 digits + " " + check: the rest is spaces and the newline. */
#define BODY_LEN (4 + 2 * CAP_ID_LEN + 1 + 5 + 1)

struct slot {
        uint8_t id[CAP_ID_LEN];
        uint16_t count;
        bool used;
};

struct uselog {
        int fd;
        off_t end;   /* where the next record goes */
        off_t alloc; /* bytes written (zeros or records) and made durable */
        struct slot *slots;
        size_t cap, len;
};

static size_t hash_id(const uint8_t id[CAP_ID_LEN])
{
        uint64_t h;

        memcpy(&h, id, sizeof(h)); /* ids are random bytes */
        return (size_t) h;
}

static struct slot *find(const struct uselog *u, const uint8_t id[CAP_ID_LEN])
{
        size_t i = hash_id(id) & (u->cap - 1);

        while (u->slots[i].used && memcmp(u->slots[i].id, id, CAP_ID_LEN) != 0)
                i = (i + 1) & (u->cap - 1);
        return &u->slots[i];
}

static int grow(struct uselog *u)
{
        struct uselog old = *u;

        u->cap = old.cap ? old.cap * 2 : 1024;
        u->slots = calloc(u->cap, sizeof(*u->slots));
        if (!u->slots) {
                *u = old;
                return -ENOMEM;
        }
        for (size_t i = 0; i < old.cap; i++) {
                if (old.slots[i].used)
                        *find(u, old.slots[i].id) = old.slots[i];
        }
        free(old.slots);
        return 0;
}

int uselog_note(struct uselog *u, const uint8_t id[CAP_ID_LEN], unsigned n)
{
        struct slot *s;

        if ((u->len + 1) * 2 > u->cap && grow(u) < 0)
                return -ENOMEM;
        s = find(u, id);
        if (!s->used) {
                memcpy(s->id, id, CAP_ID_LEN);
                s->used = true;
                u->len++;
        }
        if (n > s->count)
                s->count = (uint16_t) (n > UINT16_MAX ? UINT16_MAX : n);
        return 0;
}

unsigned uselog_count(const struct uselog *u, const uint8_t id[CAP_ID_LEN])
{
        const struct slot *s;

        if (!u->cap)
                return 0;
        s = find(u, id);
        return s->used ? s->count : 0;
}

static void check_of(const char *body, char out[2 * CHECK_LEN + 1])
{
        uint8_t md[CHECK_LEN];

        crypto_generichash(md, sizeof(md), (const unsigned char *) body, BODY_LEN,
                           (const unsigned char *) "coding-agents uselog", 20);
        sodium_bin2hex(out, 2 * CHECK_LEN + 1, md, sizeof(md));
}

static void record(char out[USELOG_RECORD], const uint8_t id[CAP_ID_LEN], unsigned n)
{
        char hex[2 * CAP_ID_LEN + 1], check[2 * CHECK_LEN + 1];

        sodium_bin2hex(hex, sizeof(hex), id, CAP_ID_LEN);
        (void) snprintf(out, USELOG_RECORD, "use %s %05u ", hex, n);
        check_of(out, check);
        memset(out + BODY_LEN, ' ', USELOG_RECORD - BODY_LEN);
        memcpy(out + BODY_LEN, check, CHECK_HEX_LEN);
        out[USELOG_RECORD - 1] = '\n';
}

/* 1: a record (id and n set), 0: free space (zeros, or a torn write). */
static int parse(const char *r, uint8_t id[CAP_ID_LEN], unsigned *n)
{
        char check[2 * CHECK_LEN + 1];
        size_t got = 0;

        if (memcmp(r, "use ", 4) != 0 || r[USELOG_RECORD - 1] != '\n')
                return 0;
        check_of(r, check);
        if (memcmp(r + BODY_LEN, check, CHECK_HEX_LEN) != 0)
                return 0;
        if (sodium_hex2bin(id, CAP_ID_LEN, r + 4, ID_HEX_LEN, NULL, &got, NULL) < 0 ||
            got != CAP_ID_LEN)
                return 0;
        *n = 0;
        for (size_t i = 0; i < 5; i++)
                *n = *n * 10 + (unsigned) (r[4 + 2 * CAP_ID_LEN + 1 + i] - '0');
        return 1;
}

static int load(struct uselog *u, struct ca_error *err)
{
        char chunk[USELOG_RECORD * 256];
        struct stat st;
        off_t off = 0;

        if (fstat(u->fd, &st) < 0)
                return ca_error_set(err, errno, "cannot read the use journal");
        u->alloc = st.st_size - st.st_size % USELOG_RECORD;
        while (off < u->alloc) {
                ssize_t got = pread(u->fd, chunk, sizeof(chunk), off);

                if (got < 0 && errno == EINTR)
                        continue;
                if (got < USELOG_RECORD)
                        return got < 0 ? ca_error_set(err, errno, "cannot read the use journal")
                                       : 0;
                for (ssize_t i = 0; i + USELOG_RECORD <= got; i += USELOG_RECORD) {
                        uint8_t id[CAP_ID_LEN];
                        unsigned n;

                        if (!parse(chunk + i, id, &n))
                                return 0; /* u->end stays at the first free slot */
                        if (uselog_note(u, id, n) < 0)
                                return ca_error_setx(err, ENOMEM, "out of memory");
                        u->end += USELOG_RECORD;
                }
                off += got - got % USELOG_RECORD;
        }
        return 0;
}

int uselog_open(int dirfd, const char *name, struct uselog **ret, struct ca_error *err)
{
        struct uselog *u = calloc(1, sizeof(*u));
        int r;

        if (!u)
                return ca_error_setx(err, ENOMEM, "out of memory");
        u->fd = openat(dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (u->fd < 0) {
                r = ca_error_set(err, errno, "cannot open the use journal '%s'", name);
                free(u);
                return r;
        }
        /* Its name is durable before any claim is. */
        if (fsync(dirfd) < 0)
                r = ca_error_set(err, errno, "cannot persist the use journal");
        else if (grow(u) < 0)
                r = ca_error_setx(err, ENOMEM, "out of memory");
        else
                r = load(u, err);
        if (r < 0) {
                uselog_close(u);
                return r;
        }
        *ret = u;
        return 0;
}

struct uselog *uselog_close(struct uselog *u)
{
        if (!u)
                return NULL;
        if (u->fd >= 0)
                (void) close(u->fd);
        free(u->slots);
        free(u);
        return NULL;
}

/* Space for `bytes` more past u->end: zeros written and made durable, a chunk at a time. */
static int reserve(struct uselog *u, size_t bytes)
{
        static const char zeros[4096];

        while (u->end + (off_t) bytes > u->alloc) {
                for (size_t done = 0; done < USELOG_CHUNK; done += sizeof(zeros)) {
                        if (pwrite(u->fd, zeros, sizeof(zeros), u->alloc + (off_t) done) !=
                            (ssize_t) sizeof(zeros))
                                return errno ? -errno : -EIO;
                }
                if (fdatasync(u->fd) < 0)
                        return -errno;
                u->alloc += (off_t) USELOG_CHUNK;
        }
        return 0;
}

static int fail_all(struct uselog_claim *c, size_t n, int r, struct ca_error *err)
{
        for (size_t i = 0; i < n; i++)
                c[i].result = r;
        return ca_error_set(err, -r, "cannot record a capability use");
}

int uselog_claim(struct uselog *u, struct uselog_claim *c, size_t n, struct ca_error *err)
{
        char buf[USELOG_RECORD * USELOG_MAX_BATCH];
        size_t k = 0;
        int r;

        if (n > USELOG_MAX_BATCH)
                return fail_all(c, n, -E2BIG, err);
        if ((u->len + n) * 2 > u->cap && grow(u) < 0)
                return fail_all(c, n, -ENOMEM, err);
        /* Use numbers in order, counting the batch's own earlier claims of the same id. */
        for (size_t i = 0; i < n; i++) {
                unsigned used = uselog_count(u, c[i].id);

                for (size_t j = 0; j < i; j++) {
                        if (c[j].result > 0 && memcmp(c[j].id, c[i].id, CAP_ID_LEN) == 0)
                                used = (unsigned) c[j].result;
                }
                if (used >= c[i].max_uses || used >= 99999) {
                        c[i].result = -EALREADY;
                        continue;
                }
                c[i].result = (int) used + 1;
                record(buf + k * USELOG_RECORD, c[i].id, used + 1);
                k++;
        }
        if (k == 0)
                return 0;
        r = reserve(u, k * USELOG_RECORD);
        if (r == 0 && pwrite(u->fd, buf, k * USELOG_RECORD, u->end) != (ssize_t) (k * USELOG_RECORD))
                r = errno ? -errno : -EIO;
        /* Durable before any secret leaves: a crash after this point burns the uses. */
        if (r == 0 && fdatasync(u->fd) < 0)
                r = -errno;
        if (r < 0)
                return fail_all(c, n, r, err);
        u->end += (off_t) (k * USELOG_RECORD);
        for (size_t i = 0; i < n; i++) {
                if (c[i].result > 0 && uselog_note(u, c[i].id, (unsigned) c[i].result) < 0)
                        return fail_all(c, n, -ENOMEM, err);
        }
        return 0;
}
