/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "error.h"
#include "uselog.h"

static int open_dir(const char *d)
{
        int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        assert_true(fd >= 0);
        return fd;
}

static struct uselog *reopen(int dirfd, struct uselog *u)
{
        struct ca_error err = {0};

        uselog_close(u);
        assert_int_equal(uselog_open(dirfd, "uses.log", &u, &err), 0);
        return u;
}

/* One batch: a capability of two uses asked three times gets uses 1 and 2 and one refusal;
 * another id in the same batch gets its own use 1; all of it survives a reopen. */
static void test_uselog_batch_and_reopen(void **state)
{
        char *d = make_tmpdir();
        int dirfd = open_dir(d);
        struct uselog_claim c[4] = {{.max_uses = 2}, {.max_uses = 2}, {.max_uses = 2},
                                    {.max_uses = 1}};
        struct ca_error err = {0};
        struct uselog *u = NULL;
        uint8_t a[CAP_ID_LEN], b[CAP_ID_LEN];
        (void) state;

        randombytes_buf(a, sizeof(a));
        randombytes_buf(b, sizeof(b));
        memcpy(c[0].id, a, CAP_ID_LEN);
        memcpy(c[1].id, a, CAP_ID_LEN);
        memcpy(c[2].id, a, CAP_ID_LEN);
        memcpy(c[3].id, b, CAP_ID_LEN);
        assert_int_equal(uselog_open(dirfd, "uses.log", &u, &err), 0);
        assert_int_equal(uselog_claim(u, c, 4, &err), 0);
        assert_int_equal(c[0].result, 1);
        assert_int_equal(c[1].result, 2);
        assert_int_equal(c[2].result, -EALREADY);
        assert_int_equal(c[3].result, 1);
        u = reopen(dirfd, u);
        assert_int_equal(uselog_count(u, a), 2);
        assert_int_equal(uselog_count(u, b), 1);
        assert_int_equal(uselog_claim(u, c + 3, 1, &err), 0);
        assert_int_equal(c[3].result, -EALREADY);
        uselog_close(u);
        (void) close(dirfd);
        rm_rf(d);
}

/* A record cut short by a crash was never followed by a release: it is free space, and the
 * next claim takes its place; the journal grows past its first chunk of zeros. */
static void test_uselog_torn_record_and_growth(void **state)
{
        char *d = make_tmpdir();
        int dirfd = open_dir(d);
        struct uselog_claim c = {.max_uses = 1};
        struct ca_error err = {0};
        struct uselog *u = NULL;
        char path[512];
        struct stat st;
        int fd;
        (void) state;

        randombytes_buf(c.id, sizeof(c.id));
        assert_int_equal(uselog_open(dirfd, "uses.log", &u, &err), 0);
        assert_int_equal(uselog_claim(u, &c, 1, &err), 0);
        assert_int_equal(c.result, 1);
        uselog_close(u);

        /* Flip a byte of the record: its check no longer matches. */
        (void) snprintf(path, sizeof(path), "%s/uses.log", d);
        fd = open(path, O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, "X", 1, 10), 1);
        (void) close(fd);
        u = reopen(dirfd, NULL);
        assert_int_equal(uselog_count(u, c.id), 0);

        /* 1100 claims: past the first 64 KB chunk. */
        for (int i = 0; i < 1100; i++) {
                randombytes_buf(c.id, sizeof(c.id));
                assert_int_equal(uselog_claim(u, &c, 1, &err), 0);
                assert_int_equal(c.result, 1);
        }
        u = reopen(dirfd, u);
        assert_int_equal(uselog_count(u, c.id), 1);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size % USELOG_CHUNK, 0);
        assert_true((size_t) st.st_size >= (size_t) 1100 * USELOG_RECORD);
        uselog_close(u);
        (void) close(dirfd);
        rm_rf(d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_uselog_batch_and_reopen),
                cmocka_unit_test(test_uselog_torn_record_and_growth),
        };

        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
