/* SPDX-License-Identifier: MIT */
/* Handing a process to an unprivileged UID (privdrop.h). */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <sys/capability.h>

static int fail(const char *step, const char **ret_step)
{
        int e = errno ? errno : EPERM;

        *ret_step = step;
        return -e;
}

int privdrop_become(uid_t uid, const char **ret_step)
{
        cap_t none;
        int r;

        for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        return fail("bounding set", ret_step);
        }
        if (setgroups(0, NULL) < 0)
                return fail("setgroups", ret_step);
        if (setresgid(uid, uid, uid) < 0)
                return fail("setresgid", ret_step);
        if (setresuid(uid, uid, uid) < 0)
                return fail("setresuid", ret_step);
        none = cap_init();
        if (!none)
                return fail("capabilities", ret_step);
        r = cap_set_proc(none);
        (void) cap_free(none);
        if (r < 0)
                return fail("capabilities", ret_step);
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
                return fail("ambient set", ret_step);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return fail("no_new_privs", ret_step);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                return fail("pdeathsig", ret_step);
        if (prctl(PR_SET_DUMPABLE, 0) < 0)
                return fail("dumpable", ret_step);
        return 0;
}
