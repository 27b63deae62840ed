/* SPDX-License-Identifier: MIT */
#include "secret.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <sodium.h>

#include "error.h"

struct ca_secret *secret_new(size_t len)
{
        struct ca_secret *s;

        if (len > SECRET_MAX_LEN)
                return NULL;
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
