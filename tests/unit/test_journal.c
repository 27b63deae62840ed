/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "journal.h"

#define HASH "0000000000000000000000000000000000000000000000000000000000000000"

/* The mirror is best effort: with or without journald it must not fail the caller's flow, and
 * without a journal it reports why instead of pretending to have sent. */
static void test_journal_send_event_reports_availability(void **state)
{
        int r;
        (void) state;

        r = journal_send_event("stub-start", "s", 1, HASH, "{}", 2);
        if (journal_available())
                assert_int_equal(r, 0);
        else
                assert_int_equal(r, -ENOTCONN);
}

struct peer {
        char path[108];
        int fd;
};

static void peer_bind(struct peer *p)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int big = 4 << 20;

        (void) snprintf(p->path, sizeof(p->path), "/tmp/ca-journal-test.%d", (int) getpid());
        (void) unlink(p->path);
        memcpy(sa.sun_path, p->path, strlen(p->path) + 1);
        p->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(p->fd >= 0);
        (void) setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
        assert_int_equal(bind(p->fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
}

/* One datagram as journald would read it: inline, or from the memfd passed with it. */
static size_t peer_read(struct peer *p, char *out, size_t size)
{
        union {
                struct cmsghdr h;
                char space[CMSG_SPACE(sizeof(int))];
        } control;
        struct iovec iov = {out, size};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space,
                            .msg_controllen = sizeof(control.space)};
        ssize_t n = recvmsg(p->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        struct cmsghdr *c;
        int fd;

        assert_true(n >= 0);
        c = CMSG_FIRSTHDR(&mh);
        if (!c)
                return (size_t) n;
        assert_int_equal(n, 0);
        assert_int_equal(c->cmsg_type, SCM_RIGHTS);
        memcpy(&fd, CMSG_DATA(c), sizeof(fd));
        n = pread(fd, out, size, 0);
        assert_true(n > 0);
        /* Sealed: journald refuses a memfd the sender could still change. */
        assert_true(write(fd, "x", 1) < 0);
        (void) close(fd);
        return (size_t) n;
}

static const char *field(const char *d, size_t n, const char *name, size_t *len)
{
        size_t nl = strlen(name);

        for (size_t i = 0; i < n;) {
                const char *end = memchr(d + i, '\n', n - i);
                const char *eq = memchr(d + i, '=', (size_t) ((end ? end : d + n) - (d + i)));
                uint64_t v = 0;

                assert_non_null(end);
                if (!end)
                        return NULL;
                if (eq) {
                        if ((size_t) (eq - (d + i)) == nl && memcmp(d + i, name, nl) == 0) {
                                *len = (size_t) (end - eq - 1);
                                return eq + 1;
                        }
                        i = (size_t) (end - d) + 1;
                        continue;
                }
                for (int k = 7; k >= 0; k--)
                        v = (v << 8) | (unsigned char) end[1 + k];
                if ((size_t) (end - (d + i)) == nl && memcmp(d + i, name, nl) == 0) {
                        *len = (size_t) v;
                        return end + 9;
                }
                i = (size_t) (end - d) + 9 + (size_t) v + 1;
        }
        return NULL;
}

static void assert_field(const char *d, size_t n, const char *name, const char *want,
                         size_t want_len)
{
        size_t len = 0;
        const char *v = field(d, n, name, &len);

        assert_non_null(v);
        assert_int_equal(len, want_len);
        assert_memory_equal(v, want, want_len);
}

/* The wire format journald parses: the fields an operator queries, a line with a newline in
 * it as a binary field, and an entry too large for a datagram through a sealed memfd. */
static void test_journal_wire_format(void **state)
{
        static const char line[] = "{\"type\":\"stub-start\",\n\"seq\":7}";
        size_t big_len = (size_t) 600 * 1024, n;
        char *big = malloc(big_len), *got = malloc(big_len + 4096);
        struct peer p = {{0}, -1};
        (void) state;

        assert_non_null(big);
        assert_non_null(got);
        peer_bind(&p);
        assert_int_equal(journal_send_event_to(p.path, "stub-start", "s1", 7, HASH, line,
                                               sizeof(line) - 1),
                         0);
        n = peer_read(&p, got, big_len + 4096);
        assert_field(got, n, "CODING_AGENTS_EVENT", "stub-start", 10);
        assert_field(got, n, "CODING_AGENTS_SESSION", "s1", 2);
        assert_field(got, n, "CODING_AGENTS_SEQ", "7", 1);
        assert_field(got, n, "CODING_AGENTS_LINE_SHA256", HASH, 64);
        assert_field(got, n, "CODING_AGENTS_LINE", line, sizeof(line) - 1);
        assert_field(got, n, "SYSLOG_IDENTIFIER", "coding-agents", 13);

        memset(big, 'a', big_len);
        assert_int_equal(journal_send_event_to(p.path, "denial", "s1", 8, HASH, big, big_len),
                         0);
        n = peer_read(&p, got, big_len + 4096);
        assert_field(got, n, "CODING_AGENTS_LINE", big, big_len);
        assert_field(got, n, "CODING_AGENTS_EVENT", "denial", 6);

        (void) close(p.fd);
        (void) unlink(p.path);
        assert_int_equal(journal_send_event_to(p.path, "denial", "s1", 9, HASH, "{}", 2),
                         -ENOTCONN);
        free(big);
        free(got);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_journal_send_event_reports_availability),
                cmocka_unit_test(test_journal_wire_format),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
