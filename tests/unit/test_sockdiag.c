/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/sockdiag, on real sockets: the peer of a Unix pair, a loopback TCP peer. */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sockdiag.h"

static void test_sockdiag_unix_peer(void **state)
{
        int sv[2];
        struct stat st;
        (void) state;

        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(fstat(sv[1], &st), 0);
        assert_int_equal(sockdiag_unix_peer_inode(sv[0]), (uint64_t) st.st_ino);
        (void) close(sv[0]);
        (void) close(sv[1]);
        /* Not a socket: 0. */
        assert_int_equal(sockdiag_unix_peer_inode(STDIN_FILENO), 0);
}

static void test_sockdiag_tcp_peer_uid(void **state)
{
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        struct sockaddr_in peer, local;
        socklen_t len = sizeof(addr);
        int l, c, a;
        uid_t uid = (uid_t) -1;
        (void) state;

        l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(l >= 0);
        assert_int_equal(bind(l, (struct sockaddr *) &addr, sizeof(addr)), 0);
        assert_int_equal(listen(l, 1), 0);
        assert_int_equal(getsockname(l, (struct sockaddr *) &addr, &len), 0);
        c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(connect(c, (struct sockaddr *) &addr, sizeof(addr)), 0);
        len = sizeof(peer);
        a = accept4(l, (struct sockaddr *) &peer, &len, SOCK_CLOEXEC);
        assert_true(a >= 0);
        len = sizeof(local);
        assert_int_equal(getsockname(a, (struct sockaddr *) &local, &len), 0);
        assert_int_equal(sockdiag_tcp_peer_uid(&peer, &local, &uid), 0);
        assert_int_equal(uid, getuid());
        /* A port nobody uses: not found. */
        peer.sin_port = htons(1);
        assert_int_equal(sockdiag_tcp_peer_uid(&peer, &local, &uid), -ENOENT);
        (void) close(a);
        (void) close(c);
        (void) close(l);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sockdiag_unix_peer),
                cmocka_unit_test(test_sockdiag_tcp_peer_uid),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
