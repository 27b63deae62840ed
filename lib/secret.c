/* SPDX-License-Identifier: MIT */
#include "secret.h"

#include <errno.h>
#include <stdalign.h>
#include <assert.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <sodium.h>

#include "error.h"

/* Pages kept for reuse (each one locked: 16 pages are 64 KB of RLIMIT_MEMLOCK at most). */
#define POOL_MAX 16
/* What libsodium puts before a guarded region, inside its first page: asking for a page less
 * this gives exactly one page. If it is ever more, a slot takes two pages and nothing else
 * changes: the region always ends against the guard page. */
#define SODIUM_CANARY 16

static void *pool[POOL_MAX];
static size_t pool_len;
/* Taken with test-and-set, never waited for: a thread that finds it held (or a child forked
 * while another thread held it) simply goes without the pool. */
static atomic_flag pool_busy = ATOMIC_FLAG_INIT;

/* sysconf's page size is read from memory the loader filled (no system call): asked each time,
 * so threads share no lazily written state. */
static size_t slot_size(void)
{
        long page = sysconf(_SC_PAGESIZE);

        return (page > (long) SODIUM_CANARY * 2 ? (size_t) page : 4096) - SODIUM_CANARY;
}

/* Bytes a slot holds after the struct (and a NUL) fit. */
static size_t slot_room(void)
{
        return slot_size() - sizeof(struct ca_secret);
}

static void *slot_get(void)
{
        void *slot = NULL;

        if (!atomic_flag_test_and_set_explicit(&pool_busy, memory_order_acquire)) {
                if (pool_len > 0)
                        slot = pool[--pool_len];
                atomic_flag_clear_explicit(&pool_busy, memory_order_release);
        }
        return slot ? slot : sodium_malloc(slot_size());
}

/* Zeroes the slot, then keeps it or frees it. */
static void slot_put(void *slot)
{
        sodium_memzero(slot, slot_size());
        if (!atomic_flag_test_and_set_explicit(&pool_busy, memory_order_acquire)) {
                if (pool_len < POOL_MAX) {
                        pool[pool_len++] = slot;
                        slot = NULL;
                }
                atomic_flag_clear_explicit(&pool_busy, memory_order_release);
        }
        if (slot)
                sodium_free(slot);
}

struct ca_secret *secret_new(size_t len)
{
        struct ca_secret *s;

        if (len > SECRET_MAX_LEN)
                return NULL;
        if (len < slot_room()) {
                unsigned char *slot = slot_get();

                if (!slot)
                        return NULL;
                static_assert(alignof(struct ca_secret) <= 16, "slots are 16-byte aligned");
                s = (struct ca_secret *) (void *) slot;
                s->slot = slot;
                s->len = len;
                /* The bytes end where the guarded region does: one past them is the guard. */
                s->buf = slot + slot_size() - (len + 1);
                sodium_memzero(s->buf, len + 1);
                return s;
        }
        s = sodium_malloc(sizeof(*s));
        if (!s)
                return NULL;
        s->buf = sodium_malloc(len + 1);
        if (!s->buf) {
                sodium_free(s);
                return NULL;
        }
        sodium_memzero(s->buf, len + 1);
        s->len = len;
        s->slot = NULL;
        return s;
}

struct ca_secret *secret_new_from(const void *data, size_t len)
{
        struct ca_secret *s = secret_new(len);

        if (s && len)
                memcpy(s->buf, data, len);
        return s;
}

struct ca_secret *secret_free(struct ca_secret *s)
{
        if (!s)
                return NULL;
        if (s->slot) {
                slot_put(s->slot); /* zeroes first */
                return NULL;
        }
        sodium_free(s->buf); /* zeroes before freeing */
        sodium_free(s);
        return NULL;
}

bool secret_equal(const struct ca_secret *a, const struct ca_secret *b)
{
        if (a->len != b->len)
                return false;
        return a->len == 0 || sodium_memcmp(a->buf, b->buf, a->len) == 0;
}

int secret_read_fd(int fd, bool strip_newline, struct ca_secret **ret, struct ca_error *err)
{
        struct ca_secret *big = secret_new(SECRET_MAX_LEN);
        struct ca_secret *s;
        size_t len = 0;

        if (!big)
                return ca_error_setx(err, ENOMEM, "cannot allocate secure memory");
        for (;;) {
                ssize_t n;

                if (len == SECRET_MAX_LEN) {
                        char probe;
                        n = read(fd, &probe, 1);
                        sodium_memzero(&probe, sizeof(probe));
                        if (n > 0) {
                                secret_free(big);
                                return ca_error_setx(err, EFBIG, "secret longer than %zu bytes",
                                                     SECRET_MAX_LEN);
                        }
                        if (n < 0 && errno == EINTR)
                                continue;
                        break;
                }
                n = read(fd, big->buf + len, SECRET_MAX_LEN - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        secret_free(big);
                        return ca_error_set(err, errno, "cannot read secret");
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (strip_newline && len > 0 && big->buf[len - 1] == '\n') {
                len--;
                if (len > 0 && big->buf[len - 1] == '\r')
                        len--;
        }
        s = secret_new_from(big->buf, len);
        secret_free(big);
        if (!s)
                return ca_error_setx(err, ENOMEM, "cannot allocate secure memory");
        *ret = s;
        return 0;
}

int secret_protect_process(bool leave_cwd)
{
        const struct rlimit no_core = {0, 0};

        if (setrlimit(RLIMIT_CORE, &no_core) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return -errno;
        if (leave_cwd && chdir("/") < 0)
                return -errno;
        return 0;
}
