/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for host/session_launch.c and the teardown in host/session.c, against the
 * container engine's STAND-IN (runtime_stand_in.h): the prepare phase refuses a proxy-mode
 * session without a way out before anything is created, and the teardown removes what the
 * recorded state names, containers before the network, stale endpoints included, and records
 * session-removed whatever failed. tests/e2e/complete.sh runs the same on the real engine.
 */
#include "testutil.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"
#include "fileio.h"
#include "runtime/runtime.h"
#include "runtime_stand_in.h"
#include "session.h"
#include "session_launch.h"

struct fixture {
        char *root; /* the config root */
        char *ws;   /* a workspace */
        char log[512];
        struct cli_ctx ctx;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        f->root = make_tmpdir();
        f->ws = make_tmpdir();
        (void) snprintf(f->log, sizeof(f->log), "%s/security-events.log", f->root);
        f->ctx = (struct cli_ctx){.command = "run", .profile = PATHS_PROFILE_DEV, .config_root = f->root};
        stand_in_reset();
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        rm_rf(f->root);
        rm_rf(f->ws);
        free(f);
        return 0;
}

/* The event log's text ("" when there is none). */
static char *events(const struct fixture *f)
{
        struct buf b = BUF_INIT;

        if (fileio_read_path(f->log, (size_t) 1 << 20, &b, NULL) < 0 || !b.data)
                return strdup("");
        return buf_detach(&b, NULL);
}

static struct launch_opts proxy_session(const struct fixture *f)
{
        struct launch_opts o = {
                .rq = {.workspace = f->ws, .network = CONFIG_NETWORK_PROXY, .agents = 1},
                .agent = "claude",
                .image = "coding-agents-agent:current",
                .grace = 1,
                .detach = true,
        };

        return o;
}

/* Nothing of a session exists: no container, network, directory, capability. */
static void assert_nothing_created(const struct fixture *f)
{
        char sessions[600];
        char *ev = events(f);

        assert_int_equal(stand_in_count("create"), 0);
        assert_int_equal(stand_in_count("network_create"), 0);
        assert_int_equal(stand_in_count("network_connect"), 0);
        (void) snprintf(sessions, sizeof(sessions), "%s/sessions", f->root);
        assert_true(access(sessions, F_OK) < 0 || rmdir(sessions) == 0);
        assert_null(strstr(ev, "capabilities-issued"));
        assert_null(strstr(ev, "session-start"));
        free(ev);
}

static void test_launch_refuses_engine_without_bridge(void **state)
{
        struct fixture *f = *state;
        struct launch_opts o = proxy_session(f);

        stand_in_add_image(o.image);
        assert_int_equal(session_launch(&f->ctx, &o), CLI_USAGE);
        assert_int_equal(stand_in_count("network_inspect bridge"), 1);
        assert_nothing_created(f);
}

static void test_launch_refuses_missing_or_internal_egress(void **state)
{
        struct fixture *f = *state;
        struct launch_opts o = proxy_session(f);
        struct ca_error err = {0};
        struct runtime *rt = NULL;

        stand_in_add_image(o.image);
        stand_in_add_network("closed", true, NULL);
        o.egress_network = "closed";
        assert_int_equal(session_launch(&f->ctx, &o), CLI_USAGE);
        o.egress_network = "nowhere";
        assert_int_equal(session_launch(&f->ctx, &o), CLI_USAGE);
        assert_nothing_created(f);
        /* The messages name the network and the remedy. */
        assert_int_equal(runtime_open("docker", NULL, &rt, &err), 0);
        assert_int_equal(session_egress_network_check(rt, "closed", true, &err), -EINVAL);
        assert_true(err.bad_input);
        assert_non_null(strstr(err.msg, "'closed' is internal"));
        assert_int_equal(session_egress_network_check(rt, "nowhere", true, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "no network 'nowhere'"));
        assert_int_equal(session_egress_network_check(rt, "bridge", false, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "--bridge=none"));
        assert_non_null(strstr(err.msg, "Remedy"));
        stand_in_add_network("bridge", false, NULL);
        assert_int_equal(session_egress_network_check(rt, "bridge", false, &err), 0);
        /* An engine that fails to answer is a failure, not bad input. */
        stand_in_fail("network_inspect", EIO, "engine down");
        assert_int_equal(session_egress_network_check(rt, "bridge", false, &err), -EIO);
        assert_false(err.bad_input);
        rt = runtime_close(rt);
}

/* --network none needs no way out: the gate does not ask. */
static void test_launch_network_none_skips_the_check(void **state)
{
        struct fixture *f = *state;
        struct launch_opts o = proxy_session(f);

        o.rq.network = CONFIG_NETWORK_NONE;
        stand_in_add_image(o.image);
        /* It goes on past the gate (and stops where the stand-in world ends: no agent-init
         * next to the test program), having created nothing. */
        assert_int_equal(session_launch(&f->ctx, &o), CLI_FAIL);
        assert_int_equal(stand_in_count("network_inspect"), 0);
        assert_nothing_created(f);
}

/* A session dir with the git snapshot absent: what the teardown removes besides the engine's. */
static void make_session_dir(const struct fixture *f, const char *name)
{
        char dir[600];

        (void) snprintf(dir, sizeof(dir), "%s/sessions/%s/config", f->root, name);
        assert_int_equal(fileio_mkdir_p(dir, 0700, NULL), 0);
}

static bool session_dir_exists(const struct fixture *f, const char *name)
{
        char dir[600];

        (void) snprintf(dir, sizeof(dir), "%s/sessions/%s", f->root, name);
        return access(dir, F_OK) == 0;
}

static void test_teardown_takes_stale_endpoints_away(void **state)
{
        struct fixture *f = *state;
        const struct session_parts all = {true, true, true};
        struct ca_error err = {0};
        struct runtime *rt = NULL;
        char *ev;

        /* The engine without a default bridge: the started sidecar's endpoint outlives it. */
        stand_in_stale_endpoints(true);
        stand_in_add_network("s1", true, "s1");
        stand_in_add_container("s1", "s1", true);
        stand_in_add_container("s1-proxy", "s1", true);
        make_session_dir(f, "s1");
        assert_int_equal(runtime_open("docker", NULL, &rt, &err), 0);
        assert_int_equal(session_teardown(f->root, rt, "s1", &all, &err), 0);
        assert_false(stand_in_has_container("s1"));
        assert_false(stand_in_has_container("s1-proxy"));
        assert_false(stand_in_has_network("s1"));
        assert_false(session_dir_exists(f, "s1"));
        /* Containers first, the network last, its stale endpoints disconnected by force. */
        assert_string_equal(stand_in_call(1), "remove s1");
        assert_string_equal(stand_in_call(2), "remove s1-proxy");
        assert_string_equal(stand_in_call(3), "network_remove s1");
        assert_int_equal(stand_in_count("network_disconnect s1 s1-proxy force"), 1);
        assert_int_equal(stand_in_count("network_disconnect s1 s1 force"), 1);
        assert_int_equal(stand_in_count("network_disconnect"), 2);
        assert_string_equal(stand_in_call(stand_in_ncalls() - 1), "network_remove s1");
        ev = events(f);
        assert_non_null(strstr(ev, "\"session\":\"s1\""));
        assert_non_null(strstr(ev, "session-removed"));
        assert_null(strstr(ev, "\"left\""));
        free(ev);
        rt = runtime_close(rt);
}

/* A network that is not the session's is never emptied by force, even under its name. */
static void test_teardown_leaves_others_endpoints(void **state)
{
        struct fixture *f = *state;
        const struct session_parts all = {true, true, true};
        struct ca_error err = {0};
        struct runtime *rt = NULL;
        char *ev;

        stand_in_add_network("s2", false, "someone-else");
        stand_in_add_container("theirs", "s2", true);
        make_session_dir(f, "s2");
        assert_int_equal(runtime_open("docker", NULL, &rt, &err), 0);
        assert_int_equal(session_teardown(f->root, rt, "s2", &all, &err), -EIO);
        assert_non_null(strstr(err.msg, "rm s2"));
        assert_true(stand_in_has_container("theirs"));
        assert_true(stand_in_has_network("s2"));
        assert_int_equal(stand_in_count("network_disconnect"), 0);
        /* Still: the directory is gone and the log says so, with what is left. */
        assert_false(session_dir_exists(f, "s2"));
        ev = events(f);
        assert_non_null(strstr(ev, "session-removed"));
        assert_non_null(strstr(ev, "\"left\":[\"network\"]"));
        free(ev);
        rt = runtime_close(rt);
}

/* One part that cannot go does not keep the others. */
static void test_teardown_goes_on_after_a_failure(void **state)
{
        struct fixture *f = *state;
        const struct session_parts all = {true, true, true};
        struct ca_error err = {0};
        struct runtime *rt = NULL;
        char *ev;

        stand_in_add_network("s3", true, "s3");
        stand_in_add_container("s3", "s3", true);
        stand_in_add_container("s3-proxy", "s3", true);
        make_session_dir(f, "s3");
        stand_in_fail("remove", EIO, "the engine hiccupped");
        assert_int_equal(runtime_open("docker", NULL, &rt, &err), 0);
        assert_int_equal(session_teardown(f->root, rt, "s3", &all, &err), -EIO);
        assert_true(stand_in_has_container("s3"));
        assert_false(stand_in_has_container("s3-proxy"));
        /* The container that stayed is a live member: the network stays with it. */
        assert_int_equal(stand_in_count("network_disconnect"), 0);
        assert_true(stand_in_has_network("s3"));
        assert_false(session_dir_exists(f, "s3"));
        ev = events(f);
        assert_non_null(strstr(ev, "\"left\":[\"container\",\"network\"]"));
        free(ev);
        /* rm tries again, and then everything goes. */
        assert_int_equal(session_teardown(f->root, rt, "s3", &all, &err), 0);
        assert_false(stand_in_has_container("s3"));
        assert_false(stand_in_has_network("s3"));
        rt = runtime_close(rt);
}

/* The recorded state decides: what was never created is not touched. */
static void test_teardown_follows_the_record(void **state)
{
        struct fixture *f = *state;
        const struct session_parts only_container = {.container = true};
        struct ca_error err = {0};
        struct runtime *rt = NULL;

        stand_in_add_network("s4", true, "s4");
        stand_in_add_container("s4", NULL, false);
        make_session_dir(f, "s4");
        assert_int_equal(runtime_open("docker", NULL, &rt, &err), 0);
        assert_int_equal(session_teardown(f->root, rt, "s4", &only_container, &err), 0);
        assert_false(stand_in_has_container("s4"));
        assert_true(stand_in_has_network("s4"));
        assert_int_equal(stand_in_count("network_"), 0);
        assert_int_equal(stand_in_count("remove s4-proxy"), 0);
        rt = runtime_close(rt);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_launch_refuses_engine_without_bridge, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_launch_refuses_missing_or_internal_egress,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_launch_network_none_skips_the_check, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_teardown_takes_stale_endpoints_away, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_teardown_leaves_others_endpoints, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_teardown_goes_on_after_a_failure, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_teardown_follows_the_record, setup,
                                                teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
