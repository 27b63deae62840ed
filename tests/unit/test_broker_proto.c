/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/broker_proto over real SOCK_SEQPACKET socketpairs and memfds. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <sodium.h>

#include "broker_proto.h"
#include "error.h"
#include "secret.h"
#include "parse.h"

static int parse(const char *s, struct broker_request *req, struct ca_error *err)
{
        return broker_request_parse(s, strlen(s), req, err);
}

static void test_broker_request_parse_valid(void **state)
{
        struct broker_request req;
        struct ca_error err = {0};
        (void) state;

        assert_int_equal(parse("{\"op\":\"issue\",\"session\":\"claude-x-1\",\"stub\":\"github\","
                               "\"secrets\":[\"A\",\"B_2\"],\"uid\":61000,\"ttl\":1800,"
                               "\"cgroup\":\"/docker/abc\",\"max_uses\":3}",
                               &req, &err),
                         0);
        assert_int_equal(req.op, BROKER_OP_ISSUE);
        assert_string_equal(req.session, "claude-x-1");
        assert_int_equal(req.nsecrets, 2);
        assert_string_equal(req.secrets[1], "B_2");
        assert_int_equal(req.uid, 61000);
        assert_int_equal(req.ttl, 1800);
        assert_int_equal(req.max_uses, 3);
        assert_string_equal(req.cgroup, "/docker/abc");
        broker_request_clear(&req);

        assert_int_equal(parse("{\"op\":\"revoke\",\"cap\":\"000102030405060708090a0b0c0d0e0f\"}",
                               &req, &err),
                         0);
        assert_true(req.has_cap_id);
        assert_int_equal(req.cap_id[15], 15);
        broker_request_clear(&req);
        assert_int_equal(parse("{\"op\":\"health\"}", &req, &err), 0);
        assert_int_equal(req.max_uses, 1);
        broker_request_clear(&req);
}

static void test_broker_request_parse_rejects(void **state)
{
        static const char *const bad[] = {
                "",
                "[]",
                "{}",
                "{\"op\":\"nope\"}",
                "{\"op\":\"health\",\"name\":\"A\"}",
                "{\"op\":\"store\"}",
                "{\"op\":\"store\",\"name\":\"1A\"}",
                "{\"op\":\"store\",\"name\":\"A\",\"name\":\"B\"}",
                "{\"op\":\"issue\",\"session\":\"s\",\"stub\":\"x\",\"secrets\":[],\"uid\":1}",
                "{\"op\":\"issue\",\"session\":\"s\",\"stub\":\"x\",\"secrets\":[\"A\",\"A\"],"
                "\"uid\":1,\"ttl\":1}",
                "{\"op\":\"issue\",\"session\":\"s\",\"stub\":\"x\",\"secrets\":[],\"uid\":-1,"
                "\"ttl\":1}",
                "{\"op\":\"issue\",\"session\":\"s\",\"stub\":\"x\",\"secrets\":[],\"uid\":1,"
                "\"ttl\":0}",
                "{\"op\":\"issue\",\"session\":\"s\",\"stub\":\"x\",\"secrets\":[],\"uid\":1,"
                "\"ttl\":9,\"cgroup\":\"/a/../b\"}",
                "{\"op\":\"issue\",\"session\":\"../x\",\"stub\":\"x\",\"secrets\":[],\"uid\":1,"
                "\"ttl\":9}",
                "{\"op\":\"revoke\"}",
                "{\"op\":\"revoke\",\"session\":\"s\",\"cap\":\"000102030405060708090a0b0c0d0e0f\"}",
                "{\"op\":\"redeem\",\"capability\":\"cap1.x\",\"nonce\":\"00\",\"proof\":\"00\"}",
        };
        (void) state;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct broker_request req;
                struct ca_error err = {0};
                if (parse(bad[i], &req, &err) != -EINVAL)
                        fail_msg("accepted: %s", bad[i]);
                assert_true(err.bad_input);
                assert_null(req.json);
        }
}

static void test_broker_send_recv_with_fds(void **state)
{
        int sv[2];
        char buf[BROKER_MSG_MAX + 1];
        int fds[BROKER_MAX_FDS];
        size_t nfds = 0;
        struct ca_error err = {0};
        struct ca_secret *s = secret_new_from("s3cr3t", 6);
        struct ca_secret *back = NULL;
        json_t *msg = json_pack("{s:b}", "ok", 1);
        int memfd;
        int n;
        (void) state;

        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        memfd = broker_secret_memfd(s, &err);
        assert_true(memfd >= 0);
        /* Sealed: no way to change it after the fact. */
        assert_int_equal(write(memfd, "x", 1), -1);
        assert_int_equal(ftruncate(memfd, 0), -1);
        assert_int_equal(broker_send(sv[0], msg, &memfd, 1, &err), 0);
        (void) close(memfd);
        n = broker_recv(sv[1], buf, fds, BROKER_MAX_FDS, &nfds, &err);
        assert_int_equal(n, (int) strlen("{\"ok\":true}"));
        assert_string_equal(buf, "{\"ok\":true}");
        assert_int_equal(nfds, 1);
        /* Arrived close-on-exec. */
        assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
        assert_int_equal(broker_secret_from_memfd(fds[0], &back, &err), 0);
        assert_true(secret_equal(s, back));
        (void) close(fds[0]);
        secret_free(back);

        /* More fds than the receiver takes: refused, and the extras are closed. */
        {
                int two[2] = {sv[0], sv[0]};
                assert_int_equal(broker_send(sv[0], msg, two, 2, &err), 0);
                assert_int_equal(broker_recv(sv[1], buf, fds, 1, &nfds, &err), -EPROTO);
        }
        /* An unsealed memfd is refused by the receiver. */
        {
                int plain = memfd_create("plain", MFD_CLOEXEC);
                assert_true(plain >= 0);
                assert_int_equal(broker_secret_from_memfd(plain, &back, &err), -EPERM);
                (void) close(plain);
        }
        /* Peer gone. */
        (void) close(sv[0]);
        assert_int_equal(broker_recv(sv[1], buf, fds, 1, &nfds, &err), -ECONNRESET);
        (void) close(sv[1]);
        json_decref(msg);
        secret_free(s);
}

static void test_broker_recv_refuses_oversized(void **state)
{
        int sv[2];
        char *big = malloc(BROKER_MSG_MAX + 100);
        char buf[BROKER_MSG_MAX + 1];
        int fds[1];
        size_t nfds = 0;
        struct ca_error err = {0};
        (void) state;

        assert_non_null(big);
        memset(big, ' ', BROKER_MSG_MAX + 100);
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(send(sv[0], big, BROKER_MSG_MAX + 100, 0), BROKER_MSG_MAX + 100);
        assert_int_equal(broker_recv(sv[1], buf, fds, 1, &nfds, &err), -EMSGSIZE);
        (void) close(sv[0]);
        (void) close(sv[1]);
        free(big);
}

static void test_broker_proof(void **state)
{
        uint8_t key[CAP_KEY_LEN] = {1};
        uint8_t nonce[BROKER_NONCE_LEN] = {2};
        uint8_t id[CAP_ID_LEN] = {3};
        uint8_t a[CAP_MAC_LEN];
        uint8_t b[CAP_MAC_LEN];
        uint8_t hex[4];
        (void) state;

        broker_proof(key, NULL, nonce, id, a);
        broker_proof(key, "broker", nonce, id, b);
        assert_memory_not_equal(a, b, CAP_MAC_LEN);
        broker_proof(key, NULL, nonce, id, b);
        assert_memory_equal(a, b, CAP_MAC_LEN);
        assert_true(parse_hex("00ff10ab", hex, 4));
        assert_int_equal(hex[1], 0xff);
        assert_false(parse_hex("00ff10a", hex, 4));
        assert_false(parse_hex("00ff10ag", hex, 4));
        assert_false(parse_hex(NULL, hex, 4));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_broker_request_parse_valid),
                cmocka_unit_test(test_broker_request_parse_rejects),
                cmocka_unit_test(test_broker_send_recv_with_fds),
                cmocka_unit_test(test_broker_recv_refuses_oversized),
                cmocka_unit_test(test_broker_proof),
        };
        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
