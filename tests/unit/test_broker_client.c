/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/broker_client's local parts; the protocol end to end is covered by
 * tests/integration/broker.sh against a real daemon. */
#include "testutil.h"

#include <errno.h>

#include <sodium.h>

#include "broker_client.h"
#include "error.h"
#include "spawn.h"

static void test_broker_paths(void **state)
{
        char *p;
        (void) state;

        p = broker_admin_socket("/root/cfg");
        assert_string_equal(p, "/root/cfg/broker.d/run/admin.sock");
        free(p);
        p = broker_session_socket("/root/cfg", "claude-repo-1a2b");
        assert_string_equal(p, "/root/cfg/broker.d/run/sessions/claude-repo-1a2b.sock");
        free(p);
        /* A session id cannot climb out of the sessions directory. */
        assert_null(broker_session_socket("/root/cfg", "../admin"));
        assert_null(broker_session_socket("/root/cfg", "a/b"));
}

static void test_broker_wait_exit(void **state)
{
        char *const argv[] = {(char *) "true", NULL};
        char *const envp[] = {NULL};
        struct spawn_req req = SPAWN_REQ_INIT;
        struct ca_error err = {0};
        pid_t pid;
        (void) state;

        req.path = "/bin/true";
        req.argv = argv;
        req.envp = envp;
        assert_int_equal(spawn_start(&req, &pid, &err), 0);
        /* Exits on its own: the pidfd becomes readable (zombies count as exited). */
        assert_int_equal(broker_wait_exit(pid, 10000), 0);
        assert_int_equal(spawn_wait(pid, &err), 0);
        /* A pid that is gone entirely. */
        assert_int_equal(broker_wait_exit(pid, 10), 0);
        /* Ourselves: alive, so the wait times out. */
        assert_int_equal(broker_wait_exit(getpid(), 10), -ETIMEDOUT);
}

static void test_broker_redeem_refuses_bad_input(void **state)
{
        struct broker_redeemed got[1];
        struct ca_error err = {0};
        uint8_t key[CAP_KEY_LEN] = {0};
        (void) state;

        assert_int_equal(broker_redeem("/nonexistent.sock", "not-a-capability", key, got, 1, &err),
                         -EINVAL);
        assert_true(err.bad_input);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_broker_paths),
                cmocka_unit_test(test_broker_wait_exit),
                cmocka_unit_test(test_broker_redeem_refuses_bad_input),
        };
        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
