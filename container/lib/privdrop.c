/* SPDX-License-Identifier: MIT */
/* Handing a process to an unprivileged UID (privdrop.h). */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fail(const char *step, const char **ret_step)
{
        int e = errno ? errno : EPERM;

        *ret_step = step;
        return -e;
}

/* Set once this process's bounding set is empty (privdrop_clear_bounding, before any thread). */
static bool bounding_cleared;

/* Every capability out of the bounding set (EINVAL: one this kernel does not know). */
static int drop_bounding(void)
{
        for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        return -errno;
        }
        return 0;
}

int privdrop_clear_bounding(void)
{
        int r = drop_bounding();

        if (r == 0)
                bounding_cleared = true;
        return r;
}

int privdrop_become(uid_t uid, const char **ret_step)
{
        return privdrop_become_member(uid, (gid_t) uid, NULL, 0, ret_step);
}

int privdrop_become_member(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups,
                           const char **ret_step)
{
        /* The raw capset: no allocation, so this may run in a CLONE_VM child. */
        struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = {{0}};

        /* Already empty when the parent cleared it (and it is inherited): one read checks. */
        if ((!bounding_cleared || prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0) &&
            drop_bounding() < 0)
                return fail("bounding set", ret_step);
        /* Raw system calls: glibc's wrappers would also change every other thread of a
         * multithreaded parent whose memory a CLONE_VM child shares (their "setxid" broadcast);
         * this child is alone and changes only itself. */
        if (syscall(SYS_setgroups, ngroups, groups) < 0)
                return fail("setgroups", ret_step);
        if (syscall(SYS_setresgid, gid, gid, gid) < 0)
                return fail("setresgid", ret_step);
        if (syscall(SYS_setresuid, uid, uid, uid) < 0)
                return fail("setresuid", ret_step);
        if (syscall(SYS_capset, &hdr, none) < 0)
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
