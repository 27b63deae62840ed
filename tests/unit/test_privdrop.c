/* SPDX-License-Identifier: MIT */
/* Unit tests for container/lib/privdrop: after it, nothing of root is left. */
#include "testutil.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/capability.h>

#include "privdrop.h"

#define NOBODY 65534

static void need_root(void)
{
        if (geteuid() != 0) {
                if (getenv("CI"))
                        fail_msg("privdrop needs root (CI runs the unit tests as root)");
                skip();
        }
}

/* In the child: 0 when every promise of privdrop.h holds, else the number of the first one
 * that does not. */
static int check_dropped(void)
{
        uid_t ru, eu, su;
        gid_t rg, eg, sg;
        cap_t now = cap_get_proc(), none = cap_init();
        int pdeath = 0;

        if (getresuid(&ru, &eu, &su) < 0 || ru != NOBODY || eu != NOBODY || su != NOBODY)
                return 2;
        if (getresgid(&rg, &eg, &sg) < 0 || rg != NOBODY || eg != NOBODY || sg != NOBODY)
                return 3;
        if (getgroups(0, NULL) != 0)
                return 4;
        if (!now || !none || cap_compare(now, none) != 0)
                return 5;
        for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
                if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
                        return 6;
                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1)
                        return 7;
        }
        if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
                return 8;
        if (prctl(PR_GET_PDEATHSIG, &pdeath) < 0 || pdeath != SIGKILL)
                return 9;
        if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
                return 10;
        /* And it cannot come back. */
        if (setuid(0) == 0 || setgroups(0, NULL) == 0)
                return 11;
        return 0;
}

static int run_child(int (*fn)(void))
{
        int st;
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0)
                _exit(fn());
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        return WEXITSTATUS(st);
}

static int become_nobody(void)
{
        const char *step = NULL;

        if (privdrop_become(NOBODY, &step) < 0)
                return 1;
        return check_dropped();
}

static void test_privdrop_become(void **state)
{
        (void) state;
        need_root();
        assert_int_equal(run_child(become_nobody), 0);
}

/* Cleared once up front (the task runner, before its threads): the set is empty, the process
 * keeps what it holds, and a later drop still ends with nothing of root. */
static int clear_then_become(void)
{
        const char *step = NULL;

        if (privdrop_clear_bounding() < 0)
                return 1;
        for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
                if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
                        return 12;
        }
        if (geteuid() != 0 || prctl(PR_CAPBSET_READ, CAP_SETUID, 0, 0, 0) != 0)
                return 13;
        if (privdrop_become(NOBODY, &step) < 0)
                return 14;
        return check_dropped();
}

static void test_privdrop_clear_bounding(void **state)
{
        (void) state;
        need_root();
        assert_int_equal(run_child(clear_then_become), 0);
}

/* A member: the primary group given, exactly the supplementary groups given. */
static int become_member(void)
{
        const char *step = NULL;
        const gid_t extra = 60031;
        gid_t got[4];

        if (privdrop_become_member(NOBODY, 60030, &extra, 1, &step) < 0)
                return 1;
        if (getuid() != NOBODY || getgid() != 60030 || getegid() != 60030)
                return 2;
        return getgroups(4, got) == 1 && got[0] == extra ? 0 : 3;
}

static void test_privdrop_member(void **state)
{
        (void) state;
        need_root();
        assert_int_equal(run_child(become_member), 0);
}

/* Once dropped, asking again fails at the first step, and says which. */
static int become_root_again(void)
{
        const char *step = NULL;
        int r;

        if (privdrop_become(NOBODY, &step) < 0)
                return 1;
        r = privdrop_become(0, &step);
        if (r != -EPERM || !step || strcmp(step, "bounding set") != 0)
                return 2;
        return getuid() == NOBODY ? 0 : 3;
}

static void test_privdrop_names_the_step(void **state)
{
        (void) state;
        need_root();
        assert_int_equal(run_child(become_root_again), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_privdrop_become),
                cmocka_unit_test(test_privdrop_clear_bounding),
                cmocka_unit_test(test_privdrop_member),
                cmocka_unit_test(test_privdrop_names_the_step),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
