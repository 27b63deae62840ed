/* SPDX-License-Identifier: MIT */
#include "profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "sums.h"

/* Cuts the last path component off `p` in place; false when none is left. */
static bool up(char *p)
{
        char *slash = strrchr(p, '/');

        if (!slash || slash == p)
                return false;
        *slash = '\0';
        return true;
}

void profile_detect(const char *exe, struct profile_info *out)
{
        char path[PATH_MAX];
        char sums[PATH_MAX + 16];
        struct ca_error err = {0};
        const char *version;
        struct stat st;

        memset(out, 0, sizeof(*out));
        out->profile = PATHS_PROFILE_DEV;
        if (!realpath(exe ? exe : "/proc/self/exe", out->exe))
                return;
        /* <prefix>/releases/<version>/bin/coding-agents */
        (void) snprintf(path, sizeof(path), "%s", out->exe);
        if (!up(path) || strcmp(strrchr(path, '/'), "/bin") != 0 || !up(path))
                return;
        if (snprintf(sums, sizeof(sums), "%s/%s", path, SUMS_FILE) >= (int) sizeof(sums) ||
            lstat(sums, &st) < 0 || !S_ISREG(st.st_mode))
                return;
        version = strrchr(path, '/') + 1;
        if (strlen(version) > INSTALL_VERSION_MAX)
                return;
        (void) snprintf(out->release_dir, sizeof(out->release_dir), "%s", path);
        (void) snprintf(out->version, sizeof(out->version), "%s", version);
        if (!up(path) || strcmp(strrchr(path, '/'), "/releases") != 0 || !up(path))
                return;
        if (install_check_prefix(path, &err) < 0)
                return;
        (void) snprintf(out->prefix, sizeof(out->prefix), "%s", path);
        out->profile = PATHS_PROFILE_PROD;
}
